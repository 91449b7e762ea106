"""The gridgate binaries under test, started on free loopback ports against the running stack
(tests/stack/env), each run with its own topic, consumer groups, database and key prefix so it
neither sees nor disturbs other users of the stack; and the sample readings that give the
operations something real to find."""
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

# The tests' wait on a condition, shared by every launcher of the binaries.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "demo-data" / "readings-sample.tsv"
TEXT = ROOT / "tests" / "demo-data" / "alice_in_wonderland.txt"


class ServiceError(Exception):
    pass


def load_stack_env():
    """The export lines of tests/stack/env; variables already set win."""
    path = ROOT / "tests" / "stack" / "env"
    if not path.exists():
        raise ServiceError("tests/stack/env is missing: start the stack with tests/stack/up")
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = os.environ.get(key, value.strip("'\""))
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what):
    """The tests' wait (tests/integration/harness.py), failing with ServiceError at the deadline."""
    try:
        return harness.wait_for(cond, timeout, what, pause=0.1)
    except harness.Timeout as e:
        raise ServiceError(str(e)) from None


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class Service:
    """One gridgate binary on a free port, its log in the run directory."""

    def __init__(self, name, bin_dir, env, run_dir, label=None):
        self.name = label or name
        self.binary = pathlib.Path(bin_dir) / f"gridgate-{name}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, **env)
        self.env["GRIDGATE_LISTEN"] = f"127.0.0.1:{self.port}"
        self.env.setdefault("GRIDGATE_PROBE_INTERVAL_MS", "500")
        self.log_path = pathlib.Path(run_dir) / f"{self.name}.log"
        self.proc = None
        self.log = None

    def start(self, ready=True, timeout=60):
        """Starts the binary and waits until /readyz answers 200, or 503 when not ready is
        what the caller expects (a dependency down on purpose)."""
        if not os.access(self.binary, os.X_OK):
            raise ServiceError(f"{self.binary} is missing: build first, or set GG_BIN_DIR")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(self.binary)], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        want = 200 if ready else 503

        def settled():
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"log: {self.log_path}")
            status, body = request(self.port, "GET", "/readyz", timeout=5)
            return status == want and (ready or b'"down"' in body)

        wait_until(settled, timeout, f"{self.name} /readyz {want}")
        return self

    def stop(self, timeout=20):
        """SIGTERM, as an orchestrator stops it; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
        return self.proc.returncode

    def access_log(self):
        """(method, path, status) of every request the service logged."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("message") == "request":
                out.append((rec.get("method"), rec.get("path"), rec.get("status")))
        return out


def sample_readings(n):
    """The first n messages of the sample data, as the JSON objects producers send."""
    out = []
    with open(SAMPLE, encoding="utf-8") as f:
        for line in f:
            if len(out) == n:
                break
            _, _, value = line.rstrip("\n").partition("\t")
            out.append(json.loads(value))
    return out


def seed_readings(ingest, cache, token, n):
    """Feeds n sample readings through ingest's POST /v1/readings and waits until ingest has
    stored them and the cache knows every station. Returns (station ids, correlation ids)."""
    readings = sample_readings(n)
    status, body = request(ingest.port, "POST", "/v1/readings", json.dumps(readings),
                           {"Content-Type": "application/json",
                            "Authorization": f"Bearer {token}"})
    if status != 202 or json.loads(body).get("accepted") != n:
        raise ServiceError(f"seeding: POST /v1/readings answered {status}: {body[:300]!r}")
    stations = sorted({str(json.loads(r["payload"])["sensor_id"]) for r in readings}, key=int)
    cids = [r["correlation_id"] for r in readings]

    def stored():
        st, b = request(ingest.port, "GET", "/v1/ingest/status")
        return st == 200 and json.loads(b)["counters"]["stored"] >= n

    def cached():
        st, b = request(cache.port, "GET", "/v1/stations")
        return st == 200 and json.loads(b)["count"] >= len(stations)

    wait_until(stored, 60, f"ingest to store {n} readings")
    if cache is not None:
        wait_until(cached, 60, f"cache to know {len(stations)} stations")
    return stations, cids


class WebHdfs:
    """The few WebHDFS calls the analytics run needs: a text to count, and cleaning up."""

    def __init__(self, url, user):
        u = urllib.parse.urlsplit(url)
        self.port, self.prefix, self.user = u.port, u.path.rstrip("/"), user

    def _call(self, method, path, op, body=None, **params):
        q = urllib.parse.urlencode({"op": op, "user.name": self.user, **params})
        return self._at(self.port, method, f"{self.prefix}{urllib.parse.quote(path)}?{q}", body)

    @staticmethod
    def _at(port, method, target, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request(method, target, body=body)
            r = conn.getresponse()
            return r.status, r.getheader("Location"), r.read()
        finally:
            conn.close()

    def put(self, path, data):
        """CREATE: the NameNode redirects the data to a DataNode (on loopback here)."""
        status, location, body = self._call("PUT", path, "CREATE", overwrite="true")
        if status != 307 or not location:
            raise ServiceError(f"WebHDFS CREATE {path}: {status} {body[:200]!r}")
        u = urllib.parse.urlsplit(location)
        if u.hostname not in ("127.0.0.1", "localhost"):
            raise ServiceError(f"WebHDFS redirects off the loopback: {location}")
        status, _, body = self._at(u.port, "PUT", f"{u.path}?{u.query}", data)
        if status != 201:
            raise ServiceError(f"WebHDFS CREATE {path} on the DataNode: {status} {body[:200]!r}")

    def delete(self, path):
        return self._call("DELETE", path, "DELETE", recursive="true")[0]


def seed_text(hdfs, directory):
    """The sample text in directory, for word counts that find their input."""
    hdfs.put(f"{directory}/alice.txt", TEXT.read_bytes())
    return directory


def kill_open_jobs(analytics, admin_token):
    """Kills the run's queued and running jobs, so none is left to the shared Hive runner."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    killed = 0
    for state in ("queued", "running"):
        status, body = request(analytics.port, "GET", f"/v1/jobs?state={state}&limit=1000",
                               headers=headers)
        if status != 200:
            continue
        for job in json.loads(body).get("jobs", []):
            st, _ = request(analytics.port, "DELETE", f"/v1/jobs/{job['id']}", headers=headers)
            killed += st == 202
    return killed
