"""The Hadoop part of the local stack: HDFS (MiniDFSCluster with WebHDFS) and the WebHCat
stand-in running HiveQL on Hive 4.1 in embedded mode. Checks WebHDFS's two-step writes and
redirected reads, a word count whose result equals an independent count in Python, job listing,
kills, failures, statusdir files, the log of executed statements, and that the stand-in's answers
have the shapes of the examples in the WebHCat reference."""
import collections
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import SOURCE_DIR, load_stack_env, wait_for

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "stack", "webhcat"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import hiveql  # noqa: E402  (the stand-in's statement splitter, unit-tested below)

ALICE = os.path.join(SOURCE_DIR, "tests", "demo-data", "alice_in_wonderland.txt")
USER = "gridgate"
# The tokenisation both sides use: lower-case, split on every run of characters outside a-z,
# drop empty tokens. In HiveQL: explode(split(lower(line), '[^a-z]+')) ... WHERE word != ''.
TOKEN_SPLIT = re.compile(r"[^a-z]+")
JOB_ID = re.compile(r"^job_\d+_\d+$")


# --- clients (standard library only) -----------------------------------------------------

class Http:
    def __init__(self, base_url):
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")

    def request(self, method, path, params=None, body=None, headers=None, host=None, port=None):
        """path is below the base URL unless it starts with '//' (then it is taken as is)."""
        url = path[1:] if path.startswith("//") else self.prefix + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        conn = http.client.HTTPConnection(host or self.host, port or self.port, timeout=30)
        try:
            conn.request(method, url, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()


class WebHdfs(Http):
    def create_two_step(self, path, data):
        """CREATE as the WebHDFS docs describe it: the NameNode answers 307 with the DataNode's
        address, the data goes there. Returns the redirect's Location."""
        st, h, _ = self.request("PUT", path, {"op": "CREATE", "user.name": USER,
                                              "overwrite": "true"})
        assert st == 307, st
        loc = urllib.parse.urlsplit(h["Location"])
        assert loc.hostname == "127.0.0.1", h["Location"]
        st, _, body = self.request("PUT", "/" + loc.path + "?" + loc.query, body=data,
                                   host=loc.hostname, port=loc.port,
                                   headers={"Content-Type": "application/octet-stream"})
        assert st == 201, (st, body)
        return h["Location"]

    def read(self, path):
        st, h, body = self.request("GET", path, {"op": "OPEN", "user.name": USER})
        assert st == 307, (st, body)
        loc = urllib.parse.urlsplit(h["Location"])
        assert loc.hostname == "127.0.0.1", h["Location"]
        st, _, body = self.request("GET", "/" + loc.path + "?" + loc.query,
                                   host=loc.hostname, port=loc.port)
        assert st == 200, (st, body)
        return body

    def status(self, path):
        st, _, body = self.request("GET", path, {"op": "GETFILESTATUS", "user.name": USER})
        return st, json.loads(body)


class WebHcat(Http):
    def get(self, path, **params):
        params.setdefault("user.name", USER)
        st, _, body = self.request("GET", path, params)
        return st, json.loads(body)

    def submit(self, execute=None, **form):
        fields = {"user.name": USER, **form}
        if execute is not None:
            fields["execute"] = execute
        st, h, body = self.request("POST", "/hive", body=urllib.parse.urlencode(fields, doseq=True),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert st == 200, (st, body)
        assert h["Content-Type"].startswith("application/json")
        job = json.loads(body)
        assert set(job) == {"id"} and JOB_ID.match(job["id"]), job
        return job["id"]

    def job(self, job_id):
        st, body = self.get(f"/jobs/{job_id}")
        assert st == 200, body
        return body

    def wait(self, job_id, pred, timeout=240, what="job state"):
        return wait_for(lambda: (lambda j: j if pred(j) else None)(self.job(job_id)),
                        timeout=timeout, what=f"{job_id}: {what}")

    def wait_done(self, job_id, timeout=240):
        return self.wait(job_id, lambda j: j["status"]["jobComplete"], timeout, "completion")


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    e = load_stack_env()
    for k in ("GRIDGATE_WEBHDFS_URL", "GRIDGATE_WEBHCAT_URL", "GG_HDFS_NN_PORT"):
        if k not in e:
            pytest.fail(f"{k} is missing from tests/stack/env: run tests/stack/up hdfs webhcat")
    return e


@pytest.fixture(scope="module")
def hdfs(env):
    return WebHdfs(env["GRIDGATE_WEBHDFS_URL"])


@pytest.fixture(scope="module")
def hcat(env):
    return WebHcat(env["GRIDGATE_WEBHCAT_URL"])


@pytest.fixture(scope="module")
def executed_log(env):
    return env.get("GG_WEBHCAT_EXECUTED_LOG",
                   os.path.join(SOURCE_DIR, "tests", "stack", "run", "webhcat", "executed.log"))


@pytest.fixture(scope="module")
def alice_dir(hdfs):
    """A directory of its own holding alice_in_wonderland.txt (uploaded in two steps), so that
    the count does not depend on what else is in /data/text. Hive reads every file of a table's
    directory and fails on subdirectories: nothing is created below /data/text."""
    d = f"/tmp/gridgate-test/text-{uuid.uuid4().hex[:12]}"
    with open(ALICE, "rb") as f:
        data = f.read()
    hdfs.create_two_step(f"{d}/alice_in_wonderland.txt", data)
    return d, data


def executed_statements(path, job_id):
    with open(path) as f:
        return [json.loads(line) for line in f if f'"{job_id}"' in line]


def independent_counts(data):
    counts = collections.Counter()
    for line in data.decode("utf-8").splitlines():
        counts.update(w for w in TOKEN_SPLIT.split(line.lower()) if w)
    return counts


# --- WebHDFS ---------------------------------------------------------------------------------

def test_webhdfs_two_step_create_and_read_back(hdfs, alice_dir):
    _, data = alice_dir
    path = "/data/text/alice_in_wonderland.txt"  # where the demo and the analytics service look
    location = hdfs.create_two_step(path, data)
    assert f"/webhdfs/v1{path}?op=CREATE" in location
    assert hdfs.read(path) == data
    st, body = hdfs.status(path)
    assert st == 200 and body["FileStatus"]["type"] == "FILE"
    assert body["FileStatus"]["length"] == len(data)
    assert body["FileStatus"]["owner"] == USER
    st, body = hdfs.status("/no/such/file")
    assert st == 404 and body["RemoteException"]["exception"] == "FileNotFoundException"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_webhdfs_redirects_work_with_curl_follow(env, tmp_path):
    base = env["GRIDGATE_WEBHDFS_URL"]
    src = tmp_path / "small.txt"
    src.write_bytes(b"one line\nand another\n")
    url = f"{base}/tmp/gridgate-test/curl-{uuid.uuid4().hex}.txt"
    put = subprocess.run(["curl", "-sS", "-L", "-X", "PUT", "-T", str(src), "-o", "/dev/null",
                          "-w", "%{http_code}", f"{url}?op=CREATE&user.name={USER}"],
                         capture_output=True, text=True, timeout=30)
    assert put.returncode == 0 and put.stdout == "201", (put.stdout, put.stderr)
    get = subprocess.run(["curl", "-sS", "-L", f"{url}?op=OPEN&user.name={USER}"],
                         capture_output=True, timeout=30)
    assert get.returncode == 0 and get.stdout == src.read_bytes()


# --- WebHCat: documented shapes --------------------------------------------------------------

def test_status_version_and_formats(hcat):
    assert hcat.get("/status") == (200, {"status": "ok", "version": "v1"})
    assert hcat.get("/version") == (200, {"supportedVersions": ["v1"], "version": "v1"})
    assert hcat.get("") == (200, {"responseTypes": ["application/json"]})


@pytest.mark.parametrize("method,path,form,status,words", [
    ("GET", "/jobs", None, 401, "user.name"),             # no user: NotAuthorizedException
    ("POST", "/hive", {"user.name": USER}, 400, "execute or file"),
    ("POST", "/hive", {"user.name": USER, "execute": "SELECT 1", "enablelog": "true"}, 400,
     "statusdir"),
    ("GET", "/jobs?user.name=gridgate&fields=id", None, 400, "fields"),
    ("GET", "/jobs?user.name=gridgate&numrecords=0", None, 400, "numrecords"),
    ("GET", "/jobs?user.name=gridgate&numrecords=x", None, 400, "numrecords"),
    ("GET", "/jobs/not-a-job?user.name=gridgate", None, 400, "not properly formed"),
    ("GET", "/jobs/job_1_9999?user.name=gridgate", None, 400, "Could not find job"),
    ("DELETE", "/jobs/job_1_9999?user.name=gridgate", None, 400, "Could not find job"),
    ("GET", "/nothing-here", None, 404, "Not found"),
])
def test_errors_are_json_with_webhcat_codes(hcat, method, path, form, status, words):
    body = urllib.parse.urlencode(form) if form else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    st, h, raw = hcat.request(method, path, body=body, headers=headers)
    assert st == status, raw
    assert h["Content-Type"].startswith("application/json")
    err = json.loads(raw)
    assert set(err) == {"error"} and words in err["error"], err


@pytest.mark.parametrize("ctype,body,status", [
    ("application/json", b'{"execute": "SELECT 1"}', 415),
    ("application/x-www-form-urlencoded", b"user.name=gridgate&execute=\xff\xfe", 400),
    ("application/x-www-form-urlencoded", b"%%%&&&===", 401),
])
def test_garbage_submissions_get_json_errors_and_the_server_goes_on(hcat, ctype, body, status):
    st, h, raw = hcat.request("POST", "/hive", body=body, headers={"Content-Type": ctype})
    assert st == status and "error" in json.loads(raw), raw
    assert hcat.get("/status") == (200, {"status": "ok", "version": "v1"})


# GET jobs/:jobid in the WebHCat reference (Hive 0.12+), trimmed to its keys and value types:
# `status` is Hadoop's JobStatus and `profile` its JobProfile (Hadoop 2 adds fields to both).
DOC_JOB = {
    "status": {"startTime": 1324529476131, "username": "ctdean",
               "jobID": {"jtIdentifier": "201112212038", "id": 4}, "jobACLs": {},
               "schedulingInfo": "NA", "failureInfo": "NA", "jobId": "job_201112212038_0004",
               "jobPriority": "NORMAL", "runState": 2, "jobComplete": True},
    "profile": {"url": "http://localhost:50030/jobdetails.jsp?jobid=job_201112212038_0004",
                "jobID": {"jtIdentifier": "201112212038", "id": 4}, "user": "ctdean",
                "queueName": "default", "jobFile": "hdfs://localhost:9000/tmp/job.xml",
                "jobName": "PigLatin:DefaultJobName", "jobId": "job_201112212038_0004"},
    "id": "job_201112212038_0004", "parentId": "job_201112212038_0003",
    "percentComplete": "100% complete", "exitValue": 0, "user": "ctdean", "callback": None,
    "completed": "done",
    "userargs": {"callback": None, "define": [], "enablelog": "false",
                 "execute": "select a,rand(b) from mynums", "file": None, "files": [],
                 "statusdir": None, "user.name": "hadoopqa"},
}


def assert_shape(doc, got, where="job"):
    """Every documented key is there, with the documented type (None stands for any)."""
    for k, v in doc.items():
        assert k in got, f"{where}: missing {k}"
        if v is None or got[k] is None:
            continue
        if isinstance(v, dict):
            assert isinstance(got[k], dict), f"{where}.{k}: {got[k]!r}"
            if v:
                assert_shape(v, got[k], f"{where}.{k}")
        elif isinstance(v, bool):
            assert isinstance(got[k], bool), f"{where}.{k}: {got[k]!r}"
        elif isinstance(v, int):
            assert isinstance(got[k], int) and not isinstance(got[k], bool), f"{where}.{k}"
        elif isinstance(v, (str, list)) and k not in ("files",):
            assert isinstance(got[k], type(v)), f"{where}.{k}: {got[k]!r}"


# --- WebHCat: a word count end to end ---------------------------------------------------------

WORDS = ["alice", "queen", "rabbit", "hatter", "turtle"]


def wordcount_hiveql(nn_port, table, path, top):
    loc = f"hdfs://127.0.0.1:{nn_port}{path}"
    words = ", ".join(f"'{w}'" for w in WORDS)
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (line STRING) LOCATION '{loc}';\n"
            f"-- top words, then the chosen ones\n"
            f"SELECT word, count(*) AS n FROM {table} "
            f"LATERAL VIEW explode(split(lower(line), '[^a-z]+')) w AS word "
            f"WHERE word != '' GROUP BY word ORDER BY n DESC, word LIMIT {top};\n"
            f"SELECT word, count(*) AS n FROM {table} "
            f"LATERAL VIEW explode(split(lower(line), '[^a-z]+')) w AS word "
            f"WHERE word IN ({words}) GROUP BY word ORDER BY word;")


@pytest.fixture(scope="module")
def wordcount_job(env, hcat, alice_dir):
    d, data = alice_dir
    table = f"words_{uuid.uuid4().hex[:8]}"
    statusdir = f"/tmp/gridgate-test/{table}"
    execute = wordcount_hiveql(env["GG_HDFS_NN_PORT"], table, d, 25)
    t0 = time.monotonic()
    job_id = hcat.submit(execute, statusdir=statusdir, define="hive.cli.print.header=false")
    job = hcat.wait_done(job_id)
    return {"id": job_id, "job": job, "statusdir": statusdir, "execute": execute, "data": data,
            "seconds": time.monotonic() - t0}


def test_wordcount_equals_an_independent_count(hdfs, wordcount_job):
    j = wordcount_job["job"]
    assert j["status"]["runState"] == 2 and j["status"]["state"] == "SUCCEEDED"
    assert j["exitValue"] == 0 and j["completed"] == "done"
    assert j["percentComplete"] == "map 100% reduce 100%"
    stdout = hdfs.read(wordcount_job["statusdir"] + "/stdout").decode("utf-8")
    rows = [tuple(line.split("\t")) for line in stdout.splitlines()]
    assert all(len(r) == 2 for r in rows), rows
    rows = [(w, int(n)) for w, n in rows]

    counts = independent_counts(wordcount_job["data"])
    expected_top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    expected_words = sorted((w, counts[w]) for w in WORDS if counts[w])
    assert rows == expected_top + expected_words
    assert hdfs.read(wordcount_job["statusdir"] + "/exit") == b"0\n"
    stderr = hdfs.read(wordcount_job["statusdir"] + "/stderr").decode("utf-8")
    assert stderr.count("\nOK\n") + stderr.startswith("OK\n") == 3, stderr
    print(f"word count job: {wordcount_job['seconds']:.1f} s from submit to completion")


def test_job_status_has_the_documented_shape(wordcount_job):
    j = wordcount_job["job"]
    assert_shape(DOC_JOB, j)
    assert j["id"] == j["status"]["jobId"] == j["profile"]["jobId"] == wordcount_job["id"]
    assert j["user"] == j["status"]["username"] == j["profile"]["user"] == USER
    assert j["status"]["startTime"] <= j["status"]["finishTime"]
    ua = j["userargs"]
    assert ua["execute"] == wordcount_job["execute"] and ua["file"] is None
    assert ua["statusdir"] == wordcount_job["statusdir"] and ua["user.name"] == USER
    assert ua["define"] == ["hive.cli.print.header=false"] and ua["enablelog"] == "false"


def test_executed_log_lists_each_statement_in_order(executed_log, wordcount_job):
    lines = executed_statements(executed_log, wordcount_job["id"])
    expected = hiveql.split_statements(wordcount_job["execute"])
    assert [e["statement"] for e in lines] == expected and len(expected) == 3
    assert [e["seq"] for e in lines] == [0, 1, 2]
    assert all(e["user"] == USER and e["time"].endswith("Z") for e in lines)
    assert not any("--" in e["statement"] for e in lines)  # comments never reach Hive


def test_job_list_with_details_and_paging(hcat, wordcount_job):
    job_id = wordcount_job["id"]
    st, items = hcat.get("/jobs")
    assert st == 200 and {"id": job_id, "detail": None} in items
    ids = [i["id"] for i in items]
    assert ids == sorted(ids)
    st, items = hcat.get("/jobs", fields="*")
    mine = [i for i in items if i["id"] == job_id]
    assert len(mine) == 1 and set(mine[0]) == {"id", "detail"}
    assert_shape(DOC_JOB, mine[0]["detail"])
    # Paging: the records after `jobid`, at most `numrecords`.
    st, page = hcat.get("/jobs", numrecords="1")
    assert st == 200 and [p["id"] for p in page] == ids[:1]
    # (Jobs submitted meanwhile have greater ids: they can only add to the end.)
    st, page = hcat.get("/jobs", jobid=ids[0], numrecords="2")
    assert [p["id"] for p in page] == ids[1:3]
    # Another user sees only their own jobs, unless showall=true.
    st, other = hcat.get("/jobs", **{"user.name": "somebody-else"})
    assert st == 200 and job_id not in [i["id"] for i in other]
    st, every = hcat.get("/jobs", **{"user.name": "somebody-else", "showall": "true"})
    assert job_id in [i["id"] for i in every]


# --- WebHCat: failures, kills, options ---------------------------------------------------------

def test_bad_hiveql_fails_on_the_first_error_with_stderr(hdfs, hcat, executed_log):
    statusdir = f"/tmp/gridgate-test/bad-{uuid.uuid4().hex[:8]}"
    bad = "SELECT nope FROM no_such_table_here"
    job_id = hcat.submit(f"{bad}; SELECT 'never runs'", statusdir=statusdir)
    j = hcat.wait_done(job_id)
    # As with WebHCat's launcher, the controller job ends normally and the failure of `hive`
    # shows in exitValue (and in the statusdir's exit and stderr files).
    assert j["completed"] == "done" and j["exitValue"] not in (None, 0)
    assert j["status"]["runState"] == 2 and j["status"]["jobComplete"] is True
    stderr = hdfs.read(statusdir + "/stderr").decode("utf-8")
    assert "FAILED: SemanticException" in stderr and "no_such_table_here" in stderr, stderr
    assert hdfs.read(statusdir + "/exit") == f"{j['exitValue']}\n".encode()
    assert hdfs.read(statusdir + "/stdout") == b""
    assert [e["statement"] for e in executed_statements(executed_log, job_id)] == [bad]


LONG = "SELECT reflect('java.lang.Thread', 'sleep', cast(600000 as bigint))"


def test_delete_kills_running_and_queued_jobs(hcat):
    running = hcat.submit(LONG)
    queued = hcat.submit("SELECT 'queued'")
    hcat.wait(running, lambda j: j["status"]["runState"] == 1, timeout=120, what="running")
    assert hcat.job(queued)["status"]["runState"] == 4  # PREP: behind the running one

    st, _, body = hcat.request("DELETE", f"/jobs/{queued}?user.name={USER}")
    assert st == 200 and json.loads(body)["status"]["runState"] == 5
    t0 = time.monotonic()
    st, _, body = hcat.request("DELETE", f"/jobs/{running}?user.name={USER}")
    assert st == 200, body
    j = hcat.wait(running, lambda j: j["status"]["runState"] == 5, timeout=30, what="killed")
    assert time.monotonic() - t0 < 30
    assert j["status"]["state"] == "KILLED" and j["status"]["jobComplete"] is True
    assert j["completed"] is None and j["exitValue"] is None

    # The engine comes back for the next job.
    after = hcat.submit("SELECT 1 + 1", statusdir=f"/tmp/gridgate-test/after-{queued}")
    j = hcat.wait_done(after, timeout=180)
    assert j["exitValue"] == 0


def test_defines_args_file_and_callback(hdfs, hcat):
    calls = []

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        script = f"/tmp/gridgate-test/script-{uuid.uuid4().hex[:8]}.hql"
        hdfs.create_two_step(script, b"SELECT '${hiveconf:greeting}', '${hivevar:who}';\n")
        statusdir = script + ".status"
        job_id = hcat.submit(None, file=script, statusdir=statusdir, define="greeting=hello",
                             arg=["--hivevar", "who=world"],
                             callback=f"http://127.0.0.1:{srv.server_port}/done/$jobId")
        j = hcat.wait_done(job_id)
        assert j["exitValue"] == 0 and j["userargs"]["file"] == script
        assert hdfs.read(statusdir + "/stdout") == b"hello\tworld\n"
        wait_for(lambda: calls, timeout=20, what="the callback")
        assert calls == [f"/done/{job_id}"]
    finally:
        srv.shutdown()
        srv.server_close()


def test_header_only_when_defined(hdfs, hcat):
    statusdir = f"/tmp/gridgate-test/header-{uuid.uuid4().hex[:8]}"
    q = "SELECT 1 AS one, 'x' AS two"
    j = hcat.wait_done(hcat.submit(q, statusdir=statusdir, define="hive.cli.print.header=true"))
    assert j["exitValue"] == 0
    assert hdfs.read(statusdir + "/stdout") == b"one\ttwo\n1\tx\n"


def test_unknown_hive_option_fails_the_job(hcat):
    j = hcat.wait_done(hcat.submit("SELECT 1", arg=["--no-such-option"]))
    assert j["completed"] == "done" and j["exitValue"] == 1


# --- the statement splitter ----------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';' ; SELECT \"a;b\";", ["SELECT ';'", 'SELECT "a;b"']),
    ("SELECT 'it\\'s; fine'; SELECT 2", ["SELECT 'it\\'s; fine'", "SELECT 2"]),
    ("SELECT `odd;name` FROM t", ["SELECT `odd;name` FROM t"]),
    ("-- a comment; with a semicolon\nSELECT 1 -- trailing; too\n;\n", ["SELECT 1"]),
    ("SELECT '--not a comment'; ;;  ", ["SELECT '--not a comment'"]),
    ("", []),
])
def test_split_statements_like_the_hive_cli(text, expected):
    assert hiveql.split_statements(text) == expected


def test_hive_options_are_read_like_the_cli():
    conf, var, conn = hiveql.parse_options(["a=1", "b=x=y"],
                                           ["--hiveconf", "c=3", "-d", "v=w", "-S"])
    assert conf == {"a": "1", "b": "x=y", "c": "3"} and var == {"v": "w"} and conn == {}
    for bad in (["--hiveconf"], ["--hivevar", "novalue"], ["-e", "SELECT 1"], ["-u", "jdbc:x"]):
        with pytest.raises(hiveql.HiveArgError):
            hiveql.parse_options([], bad)
    # Hive 4's bin/hive hands its arguments to Beeline, which reads its connection options.
    _, _, conn = hiveql.parse_options([], ["-u", "jdbc:hive2://h:1/", "-n", "u"], beeline=True)
    assert conn == {"url": "jdbc:hive2://h:1/", "user": "u"}
