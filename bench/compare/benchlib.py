"""Plumbing of the comparison benchmark: the stack's addresses, the gridgate processes it
starts, WebHDFS calls, waiting on conditions, percentiles. Python standard library only."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse

# The tests' wait on a condition, shared by every launcher of the binaries.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "integration"))
import harness  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def stack_env():
    """The export lines of tests/stack/env; variables already set win."""
    env = {}
    with open(os.path.join(ROOT, "tests", "stack", "env")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, v = line[7:].split("=", 1)
                env[k] = os.environ.get(k, v)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what):
    """The tests' wait (tests/integration/harness.py); a bench ends with the message instead."""
    try:
        return harness.wait_for(cond, timeout, what)
    except harness.Timeout as e:
        raise SystemExit(str(e)) from None


def pct(xs, p):
    """Nearest-rank percentile."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Http:
    """One keep-alive connection to 127.0.0.1:port, reopened once when the server closed it."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout, self.conn = port, timeout, None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                           timeout=self.timeout)
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, r.getheader("Location"), r.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 1:
                    raise
        return 0, None, b""

    def json(self, method, path, body=None, headers=None):
        status, _, data = self.call(method, path, body, headers)
        return status, json.loads(data) if data else None


class Service:
    """One gridgate binary on a free loopback port; its log goes to log_dir."""

    def __init__(self, bin_dir, name, env, log_dir):
        self.name, self.port = name, free_port()
        e = dict(os.environ, GRIDGATE_LISTEN=f"127.0.0.1:{self.port}", GRIDGATE_LOG_LEVEL="warn")
        e.update(env)
        self.log = open(os.path.join(log_dir, f"{name}.log"), "w")
        self.proc = subprocess.Popen([os.path.join(bin_dir, f"gridgate-{name}")], env=e,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.http = Http(self.port)
        try:
            wait_for(self.alive, 30, f"gridgate-{name} to answer /healthz")
        except BaseException:
            self.stop()
            raise

    def alive(self):
        if self.proc.poll() is not None:
            raise SystemExit(f"gridgate-{self.name} exited with {self.proc.returncode}")
        return self.http.call("GET", "/healthz")[0] == 200

    def metric(self, name):
        """The value of an unlabelled series of /metrics, 0 when absent."""
        _, _, body = self.http.call("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class WebHdfs:
    """CREATE, OPEN (streamed) and DELETE over WebHDFS, following the DataNode redirects."""

    def __init__(self, base_url, user):
        u = urllib.parse.urlsplit(base_url)
        self.port, self.prefix, self.user = u.port, u.path, user

    def _redirected(self, method, path, op, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request(method, f"{self.prefix}{path}?op={op}&user.name={self.user}")
        r = c.getresponse()
        r.read()
        if r.status != 307:
            raise SystemExit(f"WebHDFS {op} {path}: {r.status}")
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        d = http.client.HTTPConnection("127.0.0.1", loc.port, timeout=60)
        d.request(method, f"{loc.path}?{loc.query}", body=body)
        return d.getresponse()

    def create(self, path, data):
        r = self._redirected("PUT", path, "CREATE&overwrite=true", data)
        r.read()
        if r.status != 201:
            raise SystemExit(f"WebHDFS CREATE {path}: {r.status}")

    def open(self, path):
        """The response to read the file from (a stream)."""
        r = self._redirected("GET", path, "OPEN")
        if r.status != 200:
            raise SystemExit(f"WebHDFS OPEN {path}: {r.status}")
        return r

    def read(self, path):
        r = self.open(path)
        return r.read()

    def delete(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("DELETE", f"{self.prefix}{path}?op=DELETE&recursive=true&user.name={self.user}")
        c.getresponse().read()
