"""gridgate-analytics against the stack's HDFS (WebHDFS) and WebHCat stand-in (Hive 4.1): word
counts checked against an independent count, the cache of repeated word counts, hostile input
that never reaches Hive, raw HiveQL with pagination, kills, failures, a restart while a job runs,
and WebHCat or WebHDFS going away."""
import collections
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import SOURCE_DIR, Service, free_port, load_stack_env, wait_for

ALICE = os.path.join(SOURCE_DIR, "tests", "demo-data", "alice_in_wonderland.txt")
ADMIN = "admin-" + uuid.uuid4().hex
API = "api-" + uuid.uuid4().hex
RUN = uuid.uuid4().hex[:10]
BASE = f"/tmp/gridgate-it/analytics-{RUN}"
JOB_WAIT = 600  # seconds a Hive job may take on a busy 2-core machine

# The tokenisation rule of the API documentation, implemented independently of the service: a
# word is a maximal run of [A-Za-z0-9'] with its leading and trailing apostrophes removed, empty
# ones dropped, lower-cased unless case-sensitive.
WORD = re.compile(r"[A-Za-z0-9']+")


def count_words(texts, case_sensitive=False):
    counts = collections.Counter()
    for text in texts:
        for line in text.decode("utf-8", errors="replace").splitlines():
            for w in WORD.findall(line):
                w = w.strip("'")
                if w:
                    counts[w if case_sensitive else w.lower()] += 1
    return counts


def top(counts, n):
    return [{"word": w, "count": c} for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


# --- clients (standard library only) -------------------------------------------------------

def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        ctype = r.getheader("Content-Type", "")
        return r.status, dict(r.getheaders()), json.loads(raw) if "json" in ctype else raw
    finally:
        conn.close()


class WebHdfs:
    def __init__(self, url, user):
        u = urllib.parse.urlsplit(url)
        self.port, self.prefix, self.user = u.port, u.path.rstrip("/"), user

    def _call(self, method, path, op, body=None, port=None, url=None, **params):
        if url is None:
            q = urllib.parse.urlencode({"op": op, "user.name": self.user, **params})
            url = f"{self.prefix}{urllib.parse.quote(path)}?{q}"
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=60)
        try:
            conn.request(method, url, body=body)
            r = conn.getresponse()
            return r.status, r.getheader("Location"), r.read()
        finally:
            conn.close()

    def _redirected(self, method, location, body=None):
        u = urllib.parse.urlsplit(location)
        return self._call(method, None, None, body=body, port=u.port, url=f"{u.path}?{u.query}")

    def put(self, path, data):
        st, loc, body = self._call("PUT", path, "CREATE", overwrite="true")
        assert st == 307, (st, body)
        st, _, body = self._redirected("PUT", loc, data)
        assert st == 201, (st, body)

    def read(self, path):
        st, loc, body = self._call("GET", path, "OPEN")
        assert st == 307, (st, body)
        st, _, body = self._redirected("GET", loc)
        assert st == 200, st
        return body

    def list(self, path):
        st, _, body = self._call("GET", path, "LISTSTATUS")
        assert st == 200, (st, body)
        return json.loads(body)["FileStatuses"]["FileStatus"]

    def delete(self, path):
        return self._call("DELETE", path, "DELETE", recursive="true")[0]

    def texts_below(self, path):
        """Every visible file below path, as the service's word count reads them."""
        out = []
        for st in self.list(path):
            name = st["pathSuffix"]
            if name.startswith(("_", ".")):
                continue
            if st["type"] == "DIRECTORY":
                out += self.texts_below(f"{path}/{name}")
            else:
                out.append(self.read(f"{path}/{name}"))
        return out


class Proxy:
    """A TCP relay in front of a server that can be switched off (connections cut, port
    closed) and on again on the same port: WebHCat going away and coming back."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = free_port()
        self.socks = []
        self.lock = threading.Lock()
        self.listener = None

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self):
        try:  # wakes the accept() blocked on it; close() alone would leave the port listening
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.socks.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    e = load_stack_env()
    if "GRIDGATE_WEBHCAT_URL" not in e or "GRIDGATE_WEBHDFS_URL" not in e:
        subprocess.run([os.path.join(SOURCE_DIR, "tests", "stack", "up"), "hdfs", "webhcat"],
                       check=True, timeout=1500, stdout=subprocess.DEVNULL)
        e = load_stack_env()
    for k in ("GRIDGATE_WEBHCAT_URL", "GRIDGATE_WEBHDFS_URL", "GRIDGATE_HADOOP_USER"):
        if k not in e:
            pytest.fail(f"{k} is missing from tests/stack/env: run tests/stack/up hdfs webhcat")
    return e


@pytest.fixture(scope="module")
def hdfs(env):
    h = WebHdfs(env["GRIDGATE_WEBHDFS_URL"], env["GRIDGATE_HADOOP_USER"])
    yield h
    h.delete(BASE)  # this run's inputs, job records and statusdirs


@pytest.fixture(scope="module")
def alice(hdfs):
    """alice_in_wonderland.txt in /data/text (uploaded unless the same bytes are there)."""
    with open(ALICE, "rb") as f:
        data = f.read()
    names = {s["pathSuffix"]: s for s in hdfs.list("/data/text")} if _exists(hdfs, "/data/text") else {}
    st = names.get("alice_in_wonderland.txt")
    if not st or st["length"] != len(data) or hdfs.read("/data/text/alice_in_wonderland.txt") != data:
        hdfs.put("/data/text/alice_in_wonderland.txt", data)
    return data


def _exists(hdfs, path):
    return hdfs._call("GET", path, "GETFILESTATUS")[0] == 200


def analytics_env(env, jobs_dir, **extra):
    e = {
        "GRIDGATE_WEBHCAT_URL": env["GRIDGATE_WEBHCAT_URL"],
        "GRIDGATE_WEBHDFS_URL": env["GRIDGATE_WEBHDFS_URL"],
        "GRIDGATE_HADOOP_USER": env["GRIDGATE_HADOOP_USER"],
        "GRIDGATE_JOBS_DIR": jobs_dir,
        "GRIDGATE_ADMIN_TOKEN": ADMIN,
        "GRIDGATE_POLL_INTERVAL_MS": "500",
        # These tests read without a token (the token test closes it again) and count words in
        # their own directory besides /data.
        "GRIDGATE_OPEN_ACCESS": "true",
        "GRIDGATE_INPUT_ROOTS": "/data,/tmp/gridgate-it",
    }
    e.update(extra)
    return e


def records_loaded(port):
    """The job endpoints answer 503 until the job records are read from HDFS, which may come
    after /readyz turns ready."""
    return request(port, "GET", "/v1/jobs")[0] == 200


@pytest.fixture
def analytics(service, env, hdfs, request):
    s = service("analytics", analytics_env(env, f"{BASE}/{request.node.name}/jobs"))
    wait_for(s.ready, timeout=60, what="analytics ready")
    wait_for(lambda: records_loaded(s.port), timeout=60, what="job records loaded")
    return s


@pytest.fixture(scope="module")
def schema():
    """check(name, body): validates an answer against api/analytics/<name>."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    api = os.path.join(SOURCE_DIR, "api")

    def load(uri):
        path = (os.path.join(api, "common", "problem.json") if uri.endswith("common/problem.json")
                else os.path.join(api, "analytics", os.path.basename(uri)))
        with open(path) as f:
            return referencing.Resource.from_contents(json.load(f))
    registry = referencing.Registry(retrieve=load)

    def check(name, body):
        with open(os.path.join(api, "analytics", name)) as f:
            s = json.load(f)
        jsonschema.Draft202012Validator(s, registry=registry).validate(body)
    return check


def admin():
    return {"Authorization": f"Bearer {ADMIN}"}


def executed_log(env):
    return env.get("GG_WEBHCAT_EXECUTED_LOG",
                   os.path.join(SOURCE_DIR, "tests", "stack", "run", "webhcat", "executed.log"))


def job(port, job_id, **q):
    path = f"/v1/jobs/{job_id}" + ("?" + urllib.parse.urlencode(q) if q else "")
    st, _, body = request(port, "GET", path, headers=admin())  # raw queries are the admin's
    assert st == 200, (st, body)
    return body


def wait_job(port, job_id, states=("succeeded", "failed", "killed"), timeout=JOB_WAIT):
    return wait_for(lambda: (lambda b: b if b["state"] in states else None)(job(port, job_id)),
                    timeout=timeout, what=f"job {job_id} in {states}")


def submit(port, body, wait=None, headers=None):
    path = "/v1/wordcount" + (f"?wait={wait}" if wait else "")
    return request(port, "POST", path, body, headers, timeout=(wait or 0) + 60)


# --- Must show 1: end to end ---------------------------------------------------------------------

def test_wordcount_over_data_text_equals_independent_count(analytics, hdfs, alice, schema):
    words = ["alice", "queen", "hatter", "turtle", "don't", "xyzzy"]
    st, h, body = submit(analytics.port, {"path": "/data/text", "words": words, "top": 10},
                         wait=JOB_WAIT)
    assert st == 200, body
    assert body["state"] == "succeeded" and body["cached"] is False
    assert h["Location"] == f"/v1/jobs/{body['id']}"
    expected = count_words(hdfs.texts_below("/data/text"))
    assert expected["alice"] > 0  # alice_in_wonderland.txt is among them
    assert body["result"]["top"] == top(expected, 10)
    assert body["result"]["words"] == {w: expected[w] for w in words}
    assert body["rows_total"] == len(body["rows"]) and body["next_offset"] is None
    assert "LOCATION '/data/text'" in body["hiveql"]
    schema("job.json", body)
    st, _, listed = request(analytics.port, "GET", "/v1/jobs?kind=wordcount")
    assert st == 200 and listed["jobs"][0]["id"] == body["id"]
    schema("job-list.json", listed)


def test_repeat_is_answered_from_cache_until_the_input_changes(analytics, hdfs, env):
    d = f"{BASE}/cache/text"
    hdfs.put(f"{d}/a.txt", b"Tea, tea and more 'tea'.\nThe Hatter's tea party.\n")
    hdfs.put(f"{d}/sub/b.txt", b"tea for two\n")
    req = {"path": d, "words": ["tea", "hatter's"], "top": 3}
    st, _, first = submit(analytics.port, req, wait=JOB_WAIT)
    assert st == 200 and first["state"] == "succeeded", first
    assert first["result"]["words"] == {"tea": 5, "hatter's": 1}
    st, _, jobs_before = request(analytics.port, "GET", "/v1/jobs")
    t0 = time.monotonic()
    # The same words in another order, repeated: the same question.
    st, h, again = submit(analytics.port, {**req, "words": ["Hatter's", "tea", "tea"]})
    cached_s = time.monotonic() - t0
    assert st == 200 and again["cached"] is True and again["id"] == first["id"], again
    assert again["result"] == first["result"] and cached_s < 5
    st, _, jobs_after = request(analytics.port, "GET", "/v1/jobs")
    assert jobs_after["total"] == jobs_before["total"]
    # Changed bytes below the directory: a new job with the new count.
    hdfs.put(f"{d}/sub/b.txt", b"tea for two, tea for three\n")
    st, _, third = submit(analytics.port, req, wait=JOB_WAIT)
    assert st == 200 and third["cached"] is False and third["id"] != first["id"], third
    assert third["result"]["words"]["tea"] == 6


# --- Must show 2: hostile input ----------------------------------------------------------------

HOSTILE = [
    # (body, field); every string carries the marker so that the executed log can be searched.
    ({"path": "/data/text'; DROP TABLE MARK; --"}, "path"),
    ({"path": "/data/text\"; DROP TABLE MARK"}, "path"),
    ({"path": "/data/`MARK`"}, "path"),
    ({"path": "/data/text/* MARK */"}, "path"),
    ({"path": "/data/text -- MARK"}, "path"),
    ({"path": "/data/text;MARK"}, "path"),
    ({"path": "/${hiveconf:MARK}"}, "path"),
    ({"path": "/${env:HOME}/MARK"}, "path"),
    ({"path": "/${system:user.name}MARK"}, "path"),
    ({"path": "/data/../../MARK"}, "path"),
    ({"path": "/data/./MARK"}, "path"),
    ({"path": "../MARK"}, "path"),
    ({"path": "/d\u0430ta/MARK"}, "path"),             # Cyrillic a
    ({"path": "/data\u2215MARK"}, "path"),              # division slash
    ({"path": "/data\uff0fMARK"}, "path"),              # fullwidth solidus
    ({"path": "/data/MARK\u200b"}, "path"),             # zero-width space
    ({"path": "/data/MARK\n; DROP TABLE x"}, "path"),
    ({"path": "hdfs://evil:8020/MARK"}, "path"),
    ({"path": "/" + "MARK" * 400}, "path"),             # huge
    ({"path": "/data/text", "words": ["MARK'; DROP TABLE t; --"]}, "words[0]"),
    ({"path": "/data/text", "words": ["alice", "MARK\" OR 1=1"]}, "words[1]"),
    ({"path": "/data/text", "words": ["`MARK`"]}, "words[0]"),
    ({"path": "/data/text", "words": ["${hivevar:MARK}"]}, "words[0]"),
    ({"path": "/data/text", "words": ["MARK--"]}, "words[0]"),
    ({"path": "/data/text", "words": ["MARK/**/x"]}, "words[0]"),
    ({"path": "/data/text", "words": ["MARK;"]}, "words[0]"),
    ({"path": "/data/text", "words": ["\u0430liceMARK"]}, "words[0]"),   # Cyrillic a
    ({"path": "/data/text", "words": ["\uff41liceMARK"]}, "words[0]"),   # fullwidth a
    ({"path": "/data/text", "words": ["MARK" * 20]}, "words[0]"),        # 80 characters
    ({"path": "/data/text", "words": ["'MARK"]}, "words[0]"),
    ({"path": "/data/text", "words": ["MARK\\"]}, "words[0]"),
    ({"path": "/data/text", "words": "MARK"}, "words"),
    ({"path": "/data/text", "words": [f"w{i}MARK" for i in range(101)]}, "words"),
    ({"path": "/data/text", "top": "10; DROP TABLE MARK"}, "top"),
    ({"path": "/data/text", "top": 10 ** 12}, "top"),
    ({"path": "/data/text", "top": -1}, "top"),
    ({"path": "/data/text", "case_sensitive": "MARK"}, "case_sensitive"),
    ({"path": "/data/text", "hiveql": "DROP TABLE MARK"}, "body"),
]


def test_hostile_input_is_refused_and_never_executed(analytics, env, alice, schema):
    marker = "ggx" + RUN
    log = executed_log(env)
    before = os.path.getsize(log) if os.path.exists(log) else 0
    st, _, jobs_before = request(analytics.port, "GET", "/v1/jobs")
    assert len(HOSTILE) >= 30
    for body, field in HOSTILE:
        text = json.dumps(body).replace("MARK", marker)
        st, h, problem = submit(analytics.port, text)
        assert st == 400, (text, st, problem)
        assert h["Content-Type"] == "application/problem+json"
        assert problem["field"] == field and problem["detail"].startswith(field), (text, problem)
        assert marker not in problem["detail"]  # values are never echoed
        schema("analytics-problem.json", problem)
    # Hostile query parameters and ids, and HiveQL without the admin token.
    for method, path, body in [("POST", "/v1/wordcount?wait=1;DROP", {"path": "/data/text"}),
                               ("POST", "/v1/wordcount?wait=-1", {"path": "/data/text"}),
                               ("GET", f"/v1/jobs/20250101-000000-0000000g", None),
                               ("GET", "/v1/jobs?state=" + marker, None),
                               ("GET", "/v1/jobs?limit=100000", None)]:
        st, _, problem = request(analytics.port, method, path, body)
        assert st == 400, (path, st, problem)
    st, _, _ = request(analytics.port, "POST", "/v1/queries", {"hiveql": f"DROP TABLE {marker}"})
    assert st == 401
    st, _, jobs_after = request(analytics.port, "GET", "/v1/jobs")
    assert jobs_after["total"] == jobs_before["total"]
    with open(log, "rb") as f:
        f.seek(before)
        assert marker.encode() not in f.read()


# --- raw HiveQL, pagination, failures, kills ----------------------------------------------------

def test_raw_query_needs_admin_and_pages_through_rows(analytics, schema):
    q = {"hiveql": "SELECT pos FROM (SELECT posexplode(split(space(2499), ' ')) AS (pos, v)) t "
                   "ORDER BY pos"}
    assert request(analytics.port, "POST", "/v1/queries", q)[0] == 401
    assert request(analytics.port, "POST", "/v1/queries", q,
                   {"Authorization": "Bearer wrong"})[0] == 401
    st, _, body = request(analytics.port, "POST", f"/v1/queries?wait={JOB_WAIT}&limit=1000", q,
                          admin(), timeout=JOB_WAIT + 60)
    assert st == 200 and body["state"] == "succeeded", body
    assert body["rows_total"] == 2500 and body["next_offset"] == 1000
    rows = body["rows"]
    offset = body["next_offset"]
    while offset is not None:
        page = job(analytics.port, body["id"], offset=offset, limit=1000)
        assert page["offset"] == offset and len(page["rows"]) <= 1000
        schema("job.json", page)
        rows += page["rows"]
        offset = page["next_offset"]
    assert rows == [[str(i)] for i in range(2500)]
    page = job(analytics.port, body["id"], offset=2498, limit=10)
    assert page["rows"] == [["2498"], ["2499"]] and page["next_offset"] is None


def test_raw_query_rows_keep_their_shape(analytics, schema):
    """Column names, SQL NULL as null, tabs and newlines inside values, whatever the CLI prints:
    one job, a few seconds."""
    q = {"hiveql": "SET hive.cli.print.header=true;\n"  # a site default must change nothing
                   "WITH t AS (SELECT 1 AS n)\n"  # the result clause goes after the WITH clause
                   "SELECT n, 'a\\tb' AS tabbed, NULL, 'l1\\nl2\\r' AS lines, "
                   "'\\\\N' AS not_null, '' AS empty, 'x;y' AS `select` FROM t"}
    st, _, body = request(analytics.port, "POST", f"/v1/queries?wait={JOB_WAIT}", q, admin(),
                          timeout=JOB_WAIT + 60)
    assert st == 200 and body["state"] == "succeeded", body
    assert [c["name"] for c in body["columns"]] == [
        "n", "tabbed", "_c2", "lines", "not_null", "empty", "select"]
    assert body["columns"][0]["type"] == "int"
    assert body["rows"] == [["1", "a\tb", None, "l1\nl2\r", "\\N", "", "x;y"]]
    assert body["rows_total"] == 1
    schema("job.json", body)


def test_query_over_a_temporary_table_keeps_its_rows(analytics):
    """Hive makes no view over a temporary table: the rows still keep their shape, unnamed."""
    q = {"hiveql": "CREATE TEMPORARY TABLE gg_tmp AS SELECT 'x\\ty' AS s, CAST(NULL AS INT) AS i;\n"
                   "SELECT s, i FROM gg_tmp"}
    st, _, body = request(analytics.port, "POST", f"/v1/queries?wait={JOB_WAIT}", q, admin(),
                          timeout=JOB_WAIT + 60)
    assert st == 200 and body["state"] == "succeeded", body
    assert body["rows"] == [["x\ty", None]] and body["columns"] is None


def test_failed_query_reports_hive_error(analytics, schema):
    """A caller that waits gets a failed job as an error status (curl -f fails a CI step), with
    the job in the problem; without waiting the job is a resource like any other."""
    st, h, problem = request(analytics.port, "POST", f"/v1/queries?wait={JOB_WAIT}",
                             {"hiveql": "SELECT * FROM gridgate_no_such_table"}, admin(),
                             timeout=JOB_WAIT + 60)
    assert st == 422, problem
    assert h["Content-Type"] == "application/problem+json"
    assert problem["type"] == "urn:gridgate:problem:job-failed"
    body = problem["job"]
    assert body["state"] == "failed" and h["Location"] == f"/v1/jobs/{body['id']}"
    assert "gridgate_no_such_table" in body["error"] and body["exit_value"] != 0
    assert "rows" not in body
    schema("analytics-problem.json", problem)
    assert job(analytics.port, body["id"])["state"] == "failed"


def test_every_statement_hive_runs_runs(analytics):
    """SHOW TABLES reads the metastore through its filter parser (ANTLR 4): the stand-in must run
    it as Hive does. A script that does not end in a query gives the lines Hive printed."""
    view = f"gridgate_show_{RUN}"
    q = {"hiveql": f"CREATE VIEW {view} AS SELECT 1 AS x;\nSHOW TABLES LIKE '{view}';\n"
                   f"DROP VIEW {view}"}
    st, _, body = request(analytics.port, "POST", f"/v1/queries?wait={JOB_WAIT}", q, admin(),
                          timeout=JOB_WAIT + 60)
    assert st == 200 and body["state"] == "succeeded", body
    assert body["rows"] == [[view]] and body["rows_total"] == 1


def test_kill_running_job(analytics, alice):
    st, _, body = submit(analytics.port, {"path": "/data/text", "top": 3, "case_sensitive": True})
    assert st == 202 and body["state"] in ("queued", "running"), body
    assert request(analytics.port, "DELETE", f"/v1/jobs/{body['id']}")[0] == 401
    st, _, killed = request(analytics.port, "DELETE", f"/v1/jobs/{body['id']}", headers=admin())
    assert st == 202 and (killed.get("kill_requested") or killed["state"] == "killed"), killed
    final = wait_job(analytics.port, body["id"])
    assert final["state"] == "killed", final
    assert request(analytics.port, "DELETE", f"/v1/jobs/{body['id']}", headers=admin())[0] == 409
    st, _, listed = request(analytics.port, "GET", "/v1/jobs?state=killed")
    assert body["id"] in [j["id"] for j in listed["jobs"]]
    # A killed word count does not answer the same question later: a new job does.
    st, _, again = submit(analytics.port, {"path": "/data/text", "top": 3, "case_sensitive": True})
    assert st == 202 and again["cached"] is False and again["id"] != body["id"], again
    assert request(analytics.port, "DELETE", f"/v1/jobs/{again['id']}", headers=admin())[0] == 202
    assert wait_job(analytics.port, again["id"])["state"] == "killed"


# --- Must show 3: restart, WebHCat down, WebHDFS down --------------------------------------------

def test_job_survives_a_killed_and_restarted_service(env, hdfs, alice, tmp_path):
    e = analytics_env(env, f"{BASE}/restart/jobs")
    s = Service("analytics", e, tmp_path).start()
    wait_for(s.ready, timeout=60, what="analytics ready")
    st, _, body = submit(s.port, {"path": "/data/text", "top": 4, "words": ["rabbit"]})
    assert st == 202, body
    s.proc.send_signal(signal.SIGKILL)  # no goodbye: the record in HDFS is all that is left
    s.stop()
    (tmp_path / "again").mkdir()
    s2 = Service("analytics", e, tmp_path / "again").start()
    try:
        st, _, listed = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
            request(s2.port, "GET", "/v1/jobs")), timeout=60, what="job records loaded")
        assert body["id"] in [j["id"] for j in listed["jobs"]]
        final = wait_job(s2.port, body["id"])
        assert final["state"] == "succeeded", final
        expected = count_words(hdfs.texts_below("/data/text"))
        assert final["result"]["top"] == top(expected, 4)
        assert final["result"]["words"] == {"rabbit": expected["rabbit"]}
    finally:
        s2.stop()


def test_webhcat_down_is_503_and_submitted_jobs_survive(env, hdfs, alice, tmp_path):
    proxy = Proxy(urllib.parse.urlsplit(env["GRIDGATE_WEBHCAT_URL"]).port)
    proxy.start()
    e = analytics_env(env, f"{BASE}/outage/jobs",
                      GRIDGATE_WEBHCAT_URL=f"http://127.0.0.1:{proxy.port}/templeton/v1",
                      GRIDGATE_BACKEND_TIMEOUT_MS="2000")
    s = Service("analytics", e, tmp_path).start()
    try:
        wait_for(s.ready, timeout=60, what="analytics ready")
        st, _, body = submit(s.port, {"path": "/data/text", "top": 5, "words": ["cat"]})
        assert st == 202, body
        proxy.stop()

        def webhcat_down():
            st, _, r = request(s.port, "GET", "/readyz")
            return st == 503 and r["dependencies"]["webhcat"]["status"] == "down"
        wait_for(webhcat_down, timeout=30, what="readyz names webhcat")
        st, h, problem = submit(s.port, {"path": "/data/text", "top": 6})
        assert st == 503 and h["Content-Type"] == "application/problem+json", problem
        assert problem["type"] == "urn:gridgate:problem:webhcat-unavailable"
        assert "webhcat" in problem["detail"]
        st, _, metrics = request(s.port, "GET", "/metrics")
        assert b'gridgate_analytics_dependency_up{dependency="webhcat"} 0' in metrics
        assert job(s.port, body["id"])["state"] in ("queued", "running")  # not given up
        assert s.proc.poll() is None
        proxy.start()
        final = wait_job(s.port, body["id"])
        assert final["state"] == "succeeded", final
        assert final["result"]["words"]["cat"] > 0
    finally:
        s.stop()
        proxy.stop()


def test_webhdfs_down_is_503_naming_webhdfs(env, service):
    closed = free_port()
    s = service("analytics", analytics_env(
        env, "/tmp/unused", GRIDGATE_WEBHDFS_URL=f"http://127.0.0.1:{closed}/webhdfs/v1"))

    def webhdfs_down():
        st, _, r = request(s.port, "GET", "/readyz")
        return st == 503 and r["dependencies"]["webhdfs"]["status"] == "down"
    wait_for(webhdfs_down, timeout=30, what="readyz names webhdfs")
    st, _, problem = submit(s.port, {"path": "/data/text"})
    assert st == 503 and problem["type"] == "urn:gridgate:problem:webhdfs-unavailable", problem
    st, _, problem = request(s.port, "GET", "/v1/jobs")
    assert st == 503 and "webhdfs" in problem["type"]


def test_api_token_guards_reads_and_word_counts(env, service):
    s = service("analytics", analytics_env(env, f"{BASE}/auth/jobs", GRIDGATE_API_TOKEN=API,
                                           GRIDGATE_ADMIN_TOKEN=""))
    wait_for(s.ready, timeout=60, what="analytics ready")
    st, h, _ = request(s.port, "GET", "/v1/jobs")
    assert st == 401 and h["WWW-Authenticate"].startswith("Bearer")
    # 200 once the job records are read (503 webhdfs-unavailable until then).
    wait_for(lambda: request(s.port, "GET", "/v1/jobs",
                             headers={"Authorization": f"Bearer {API}"})[0] == 200,
             timeout=60, what="job records loaded")
    assert submit(s.port, {"path": "/data/text"})[0] == 401
    # No admin token configured: raw HiveQL and kills are switched off.
    st, _, problem = request(s.port, "POST", "/v1/queries", {"hiveql": "SELECT 1"},
                             {"Authorization": f"Bearer {API}"})
    assert st == 403 and "admin" in problem["detail"]
