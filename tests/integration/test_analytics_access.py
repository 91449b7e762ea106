"""The access matrix of gridgate-analytics against the stack's HDFS and WebHCat stand-in: no token,
a wrong token, the API token and the admin token against every route and both job kinds, each
answer as services/analytics/README.md documents it; word counts outside GRIDGATE_INPUT_ROOTS or
over the jobs directory are refused; with nothing configured the service is closed. Two Hive
jobs (one word count, one raw query)."""
import uuid

import pytest

from conftest import wait_for
from test_analytics import JOB_WAIT, WebHdfs, env, request  # noqa: F401

RUN = uuid.uuid4().hex[:10]
BASE = f"/tmp/gridgate-it/access-{RUN}"
API = "api-" + uuid.uuid4().hex
ADMIN = "admin-" + uuid.uuid4().hex
WHO = {"none": None, "wrong": "wrong-" + uuid.uuid4().hex, "api": API, "admin": ADMIN}
SECRET = "never-shown-" + RUN


def h(who):
    return {"Authorization": f"Bearer {WHO[who]}"} if WHO[who] else {}


def settings(env, **extra):
    e = {
        "GRIDGATE_WEBHCAT_URL": env["GRIDGATE_WEBHCAT_URL"],
        "GRIDGATE_WEBHDFS_URL": env["GRIDGATE_WEBHDFS_URL"],
        "GRIDGATE_HADOOP_USER": env["GRIDGATE_HADOOP_USER"],
        "GRIDGATE_JOBS_DIR": f"{BASE}/jobs",
        "GRIDGATE_INPUT_ROOTS": BASE,  # holds the jobs directory, which stays refused
        "GRIDGATE_POLL_INTERVAL_MS": "500",
    }
    e.update(extra)
    return e


@pytest.fixture(scope="module")
def hdfs(env):
    h_ = WebHdfs(env["GRIDGATE_WEBHDFS_URL"], env["GRIDGATE_HADOOP_USER"])
    h_.put(f"{BASE}/in/a.txt", b"one two two\n")
    yield h_
    h_.delete(BASE)


def finished(port, jid):
    st, _, b = request(port, "GET", f"/v1/jobs/{jid}", headers=h("admin"))
    return b if st == 200 and b["state"] in ("succeeded", "failed", "killed") else None


def test_access_matrix(service, env, hdfs):
    s = service("analytics", settings(env, GRIDGATE_API_TOKEN=API, GRIDGATE_ADMIN_TOKEN=ADMIN))
    wait_for(s.ready, timeout=60, what="analytics ready")
    wc = {"path": f"{BASE}/in", "top": 2}
    q = {"hiveql": f"SELECT '{SECRET}' AS s"}
    got = {}
    for who in WHO:
        got[("wordcount", who)] = request(s.port, "POST", "/v1/wordcount", wc, h(who))
    for who in WHO:
        got[("query", who)] = request(s.port, "POST", "/v1/queries", q, h(who))
    expect = {"wordcount": {"none": 401, "wrong": 401, "api": 202, "admin": (200, 202)},
              "query": {"none": 401, "wrong": 401, "api": 403, "admin": 202}}
    for (route, who), (st, hdrs, body) in got.items():
        want = expect[route][who]
        assert st in (want if isinstance(want, tuple) else (want,)), (route, who, st, body)
        if st == 401:
            assert hdrs["WWW-Authenticate"].startswith("Bearer")
            assert hdrs["Content-Type"].startswith("application/problem+json")
    wc_id, q_id = got[("wordcount", "api")][2]["id"], got[("query", "admin")][2]["id"]
    wait_for(lambda: finished(s.port, wc_id), timeout=JOB_WAIT, what="word count")
    assert wait_for(lambda: finished(s.port, q_id), timeout=JOB_WAIT,
                    what="query")["state"] == "succeeded"
    reads = {"none": (401, 401, 401), "wrong": (401, 401, 401), "api": (200, 404, 200),
             "admin": (200, 200, 200)}
    for who, (want_wc, want_q, want_list) in reads.items():
        assert request(s.port, "GET", f"/v1/jobs/{wc_id}", headers=h(who))[0] == want_wc, who
        st, _, body = request(s.port, "GET", f"/v1/jobs/{q_id}", headers=h(who))
        assert st == want_q, who
        for query in ("", "?kind=query"):
            st, _, listing = request(s.port, "GET", f"/v1/jobs{query}", headers=h(who))
            assert st == want_list, who
            text = repr(listing)
            assert (q_id in text) == (who == "admin") and SECRET not in text, (who, listing)
    # The query's rows reach the admin only.
    assert SECRET in repr(request(s.port, "GET", f"/v1/jobs/{q_id}", headers=h("admin"))[2])
    for who, want in (("none", 401), ("wrong", 401), ("api", 403), ("admin", 409)):
        assert request(s.port, "DELETE", f"/v1/jobs/{q_id}", headers=h(who))[0] == want, who
    # Input: only below the roots, never the jobs directory (even where a root would hold it).
    for path in ("/data", f"{BASE}/jobs", f"{BASE}/jobs/{q_id}/result", BASE):
        st, _, problem = request(s.port, "POST", "/v1/wordcount", {"path": path}, h("admin"))
        assert st == 403 and problem["field"] == "path", (path, st, problem)


def test_closed_unless_opened(service, env, hdfs):
    closed = service("analytics", settings(env))
    opened = service("analytics", settings(env, GRIDGATE_OPEN_ACCESS="true",
                                           GRIDGATE_JOBS_DIR=f"{BASE}/jobs-open"))
    for s in (closed, opened):
        wait_for(s.ready, timeout=60, what="analytics ready")
    assert request(closed.port, "GET", "/v1/jobs")[0] == 401
    assert request(closed.port, "GET", "/v1/jobs/20250101-000000-0000000a")[0] == 401
    assert request(closed.port, "POST", "/v1/wordcount", {"path": f"{BASE}/in"})[0] == 401
    assert request(closed.port, "POST", "/v1/queries", {"hiveql": "SELECT 1"})[0] == 403
    assert request(opened.port, "GET", "/v1/jobs")[0] == 200
    assert request(opened.port, "POST", "/v1/queries", {"hiveql": "SELECT 1"})[0] == 403
