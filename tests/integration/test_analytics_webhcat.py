"""gridgate-analytics against the WebHCat stand-in playing a production WebHCat
(tests/stack/webhcat/modes.py, selected by the base URL): a proxy answering HTML 404 to every
second status call and a job state store that lost exit values; a kill that takes seconds and
answers 500, and one whose first DELETE fails; a submission whose answer a gateway replaced by a
504 while WebHCat lists the job late and slowly; stdout cut by the launcher; results printed by
the plain command line, with a header or as Beeline tables (which need a JDBC URL); a launcher
that Hadoop runs a second time. Each job ends as it would against the plain stand-in, except that
a second launch fails its job rather than run it twice. About fifteen Hive jobs, most of them
short; and HTTP Basic credentials through a gateway that asks for them."""
import json
import re
import urllib.parse
import uuid

import pytest

from conftest import wait_for
from test_analytics import (BASE, JOB_WAIT, admin, alice, analytics_env, count_words,  # noqa: F401
                            env, hdfs, job, records_loaded, submit, top, wait_job)
from test_analytics import request as call


def with_modes(env, modes):
    """The stand-in's base URL with modes selected (modes.py); none: the plain stand-in."""
    u = urllib.parse.urlsplit(env["GRIDGATE_WEBHCAT_URL"])
    if not modes:
        return env["GRIDGATE_WEBHCAT_URL"]
    return urllib.parse.urlunsplit(u._replace(path=f"/modes/{modes}{u.path}"))


def start(service, env, request_node, modes, **extra):
    name = re.sub(r"[^\w-]", "_", request_node.name)  # a jobs directory name
    s = service("analytics", analytics_env(
        env, f"{BASE}/{name}/jobs", GRIDGATE_WEBHCAT_URL=with_modes(env, modes), **extra))
    wait_for(s.ready, timeout=60, what="analytics ready")
    wait_for(lambda: records_loaded(s.port), timeout=60, what="job records loaded")
    return s


def test_proxy_404s_and_lost_exit_values_decide_nothing(service, env, hdfs, alice, request):
    s = start(service, env, request.node, "proxy404,nullexit")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 3})
    assert st == 202, body
    st, _, bad = request_query(s.port, "SELECT * FROM gridgate_no_such_table")
    assert st == 202, bad
    final = wait_job(s.port, body["id"])
    assert final["state"] == "succeeded", final
    assert final["result"]["top"] == top(count_words(hdfs.texts_below("/data/text")), 3)
    failed = wait_job(s.port, bad["id"])
    assert failed["state"] == "failed" and "hive exited with status" in failed["error"], failed


def request_query(port, hiveql):
    return call(port, "POST", "/v1/queries", {"hiveql": hiveql}, admin())


def test_slow_kill_answering_500_is_confirmed_by_status(service, env, alice, request):
    s = start(service, env, request.node, "slowkill=3,killfail",
              GRIDGATE_BACKEND_TIMEOUT_MS="2000")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 5, "case_sensitive": True})
    assert st == 202, body
    wait_for(lambda: job(s.port, body["id"])["state"] == "running", timeout=JOB_WAIT,
             what="job running")
    st, _, killed = call(s.port, "DELETE", f"/v1/jobs/{body['id']}", headers=admin())
    assert st == 202, killed
    final = wait_job(s.port, body["id"])
    assert final["state"] == "killed" and final["error"] == "killed on request", final


def test_kill_whose_first_delete_failed_is_sent_again(service, env, alice, request):
    s = start(service, env, request.node, "killfail=first")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 6, "case_sensitive": True})
    assert st == 202, body
    wait_for(lambda: job(s.port, body["id"])["state"] == "running", timeout=JOB_WAIT,
             what="job running")
    st, _, asked = call(s.port, "DELETE", f"/v1/jobs/{body['id']}", headers=admin())
    assert st == 202 and asked.get("kill_requested"), asked
    final = wait_job(s.port, body["id"])  # the tracker sends the DELETE again
    assert final["state"] == "killed" and final["error"] == "killed on request", final


def test_lost_submission_is_found_in_a_late_slow_listing(service, env, hdfs, alice, request):
    s = start(service, env, request.node, "lostsubmit=3,slowlist=3",
              GRIDGATE_BACKEND_TIMEOUT_MS="2000")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 2, "words": ["alice"]})
    assert st == 202 and body["state"] == "queued", body
    final = wait_job(s.port, body["id"])
    assert final["state"] == "succeeded" and final["webhcat_job"], final
    expected = count_words(hdfs.texts_below("/data/text"))
    assert final["result"]["top"] == top(expected, 2)
    assert final["result"]["words"] == {"alice": expected["alice"]}


def test_stdout_cut_by_the_launcher_fails_only_stdout_results(service, env, hdfs, alice, request):
    s = start(service, env, request.node, "latestdout=200")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 3})
    assert st == 202, body
    st, _, shown = request_query(s.port, "SHOW FUNCTIONS")  # rows on stdout, hundreds of them
    assert st == 202, shown
    final = wait_job(s.port, body["id"])  # rows in result files: untouched
    assert final["state"] == "succeeded", final
    assert final["result"]["top"] == top(count_words(hdfs.texts_below("/data/text")), 3)
    cut = wait_job(s.port, shown["id"])
    assert cut["state"] == "failed" and "cut short" in cut["error"], cut


QUERY = "SELECT 'a\tb' AS x, CAST(NULL AS STRING) AS y, 3 AS z UNION ALL SELECT 'c', 'd', 4"


JDBC_URL = "jdbc:hive2://hs2.example:10000/default;transportMode=binary"


# Hive 3.1's command line as it comes, with hive.cli.print.header=true, and Hive 4's Beeline
# (which needs GRIDGATE_HIVE_JDBC_URL): the same word count and the same rows.
@pytest.mark.parametrize("cli", ["", "header", "beeline"])
def test_results_do_not_depend_on_the_cli_output_format(service, env, hdfs, alice, request, cli):
    extra = {"GRIDGATE_HIVE_JDBC_URL": JDBC_URL} if cli == "beeline" else {}
    s = start(service, env, request.node, cli, **extra)
    st, _, wc = submit(s.port, {"path": "/data/text", "top": 4, "words": ["queen"]})
    assert st == 202, wc
    st, _, q = request_query(s.port, QUERY)
    assert st == 202, q
    final = wait_job(s.port, wc["id"])
    expected = count_words(hdfs.texts_below("/data/text"))
    assert final["state"] == "succeeded", final
    assert final["result"]["top"] == top(expected, 4)
    assert final["result"]["words"] == {"queen": expected["queen"]}
    rows = wait_job(s.port, q["id"])
    assert rows["state"] == "succeeded", rows
    assert sorted(rows["rows"], key=lambda r: r[2]) == [["a\tb", None, "3"], ["c", "d", "4"]]
    assert [c["name"] for c in rows["columns"]] == ["x", "y", "z"]


def test_beeline_without_a_jdbc_url_runs_nothing(service, env, alice, request):
    """Hive 4's bin/hive runs Beeline, which runs nothing without a connection: without
    GRIDGATE_HIVE_JDBC_URL every job fails, saying why; with it (above) jobs run."""
    s = start(service, env, request.node, "beeline")
    st, _, q = request_query(s.port, "SELECT 1")
    assert st == 202, q
    failed = wait_job(s.port, q["id"])
    assert failed["state"] == "failed" and "No current connection" in failed["error"], failed


def test_a_retried_launcher_does_not_run_a_query_twice(service, env, alice, request):
    """Hadoop runs a failed launcher task again (retry): its second run of the script stops at
    the job's guard, and the job fails rather than showing what a double INSERT left."""
    s = start(service, env, request.node, "retry")
    table = f"gg_retry_{uuid.uuid4().hex[:12]}"
    st, _, q = request_query(s.port, f"CREATE TABLE IF NOT EXISTS {table} (x INT); "
                                     f"INSERT INTO {table} VALUES (1); "
                                     f"SELECT count(*) FROM {table}")
    assert st == 202, q
    final = wait_job(s.port, q["id"])
    assert final["state"] == "failed" and "gridgate_once_" in final["error"], final


def test_basic_auth_through_a_knox_like_gateway(service, env, hdfs, alice, request):
    """GRIDGATE_BACKEND_AUTH=basic against the stand-in playing a Knox gateway (basicauth): the
    right credentials run a word count; wrong ones leave the service unready, naming the 401."""
    creds = "basicauth=gridgate-svc:s3cret-9f"
    bad = service("analytics", analytics_env(
        env, f"{BASE}/basic-wrong/jobs", GRIDGATE_WEBHCAT_URL=with_modes(env, creds),
        GRIDGATE_BACKEND_AUTH="basic", GRIDGATE_BACKEND_USER="gridgate-svc",
        GRIDGATE_BACKEND_PASSWORD="wrong"))

    def webhcat_refused():
        status, _, body = bad.get("/readyz")
        w = json.loads(body)["dependencies"].get("webhcat", {})
        return status == 503 and w.get("status") == "down" and "401" in w.get("last_error", "")
    wait_for(webhcat_refused, timeout=60, what="webhcat down with 401 on /readyz")
    bad.stop()

    s = start(service, env, request.node, creds, GRIDGATE_BACKEND_AUTH="basic",
              GRIDGATE_BACKEND_USER="gridgate-svc", GRIDGATE_BACKEND_PASSWORD="s3cret-9f")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 3})
    assert st == 202, body
    final = wait_job(s.port, body["id"])
    assert final["state"] == "succeeded", final
    assert final["result"]["top"] == top(count_words(hdfs.texts_below("/data/text")), 3)
