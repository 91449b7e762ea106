"""Shared helpers for the black-box tests of the gridgate binaries against the local stack."""
import http.client
import json
import os
import socket
import subprocess

import pytest

# One wait for every test helper (the fault suite and the soak use it too), and the settings
# that let the services run under a wrapper such as valgrind: see harness.py.
from harness import Timeout, scaled, service_command, wait_for  # noqa: F401

SOURCE_DIR = os.environ.get("GG_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("GG_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))


def load_stack_env():
    """The export lines of tests/stack/env; variables already set win."""
    env = {}
    path = os.path.join(SOURCE_DIR, "tests", "stack", "env")
    if not os.path.exists(path):
        pytest.fail("tests/stack/env is missing: run tests/stack/up first")
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[7:]
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k] = os.environ.get(k, v.strip("'\""))
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(10))
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


class Service:
    """One gridgate binary started on a free port with the given environment."""

    def __init__(self, name, env, tmp_path):
        self.name = name
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(env)
        self.env["GRIDGATE_LISTEN"] = f"127.0.0.1:{self.port}"
        self.env.setdefault("GRIDGATE_PROBE_INTERVAL_MS", "500")
        self.log_path = tmp_path / f"{name}.log"
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(service_command(os.path.join(BIN_DIR, f"gridgate-{self.name}")),
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is None and http_get(self.port, "/healthz")[0] == 200,
                 what=f"{self.name} /healthz")
        return self

    def get(self, path, headers=None):
        return http_get(self.port, path, headers)

    def ready(self):
        status, _, body = self.get("/readyz")
        return status == 200 and json.loads(body)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def logs(self):
        return self.log_path.read_text()


@pytest.fixture
def stack_env():
    return load_stack_env()


@pytest.fixture
def service(tmp_path):
    started = []

    def make(name, env):
        s = Service(name, env, tmp_path).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
