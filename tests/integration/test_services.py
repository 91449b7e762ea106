"""Black-box tests of the three binaries: flags, health endpoints, metrics, keep-alive, start-up
without dependencies and orderly shutdown, against the real servers of tests/stack."""
import http.client
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN_DIR, free_port, wait_for

SERVICES = ["ingest", "cache", "analytics"]


def binary(name):
    return os.path.join(BIN_DIR, f"gridgate-{name}")


@pytest.mark.parametrize("name", SERVICES)
def test_help_lists_every_setting(name):
    r = subprocess.run([binary(name), "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    for flag, env in [("--listen", "GRIDGATE_LISTEN"), ("--log-level", "GRIDGATE_LOG_LEVEL")]:
        assert flag in r.stdout and env in r.stdout
    if name in ("ingest", "cache"):
        assert "GRIDGATE_KAFKA_BROKERS" in r.stdout and "INGESTION" in r.stdout
    if name == "analytics":
        assert "GRIDGATE_WEBHCAT_URL" in r.stdout and "GRIDGATE_HADOOP_USER" in r.stdout


@pytest.mark.parametrize("name", SERVICES)
@pytest.mark.parametrize("args,env,names", [
    (["--listen", "no-port-here"], {}, ["GRIDGATE_LISTEN", "--listen"]),
    ([], {"GRIDGATE_HTTP_THREADS": "many"}, ["GRIDGATE_HTTP_THREADS", "--http-threads"]),
    (["--log-level", "loud"], {}, ["GRIDGATE_LOG_LEVEL", "--log-level"]),
    (["--no-such-flag"], {}, ["--no-such-flag"]),
])
def test_bad_setting_exits_2_naming_it(name, args, env, names):
    r = subprocess.run([binary(name)] + args, capture_output=True, text=True, timeout=10,
                       env={**os.environ, **env})
    assert r.returncode == 2
    for n in names:
        assert n in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2


def test_ingest_ready_with_real_stack(service, stack_env):
    s = service("ingest", {"GRIDGATE_KAFKA_BROKERS": stack_env["GRIDGATE_KAFKA_BROKERS"],
                           "GRIDGATE_MONGO_URI": stack_env["GRIDGATE_MONGO_URI"]})
    body = wait_for(s.ready, what="ingest ready")
    assert body["dependencies"]["mongodb"]["status"] == "up"
    assert body["dependencies"]["kafka"]["status"] == "up"


def test_cache_ready_with_real_stack(service, stack_env):
    s = service("cache", {"GRIDGATE_KAFKA_BROKERS": stack_env["GRIDGATE_KAFKA_BROKERS"],
                          "GRIDGATE_REDIS_URL": stack_env["GRIDGATE_REDIS_URL"]})
    body = wait_for(s.ready, what="cache ready")
    assert body["dependencies"]["redis"]["status"] == "up"


def test_analytics_not_ready_names_missing_backends(service):
    closed = free_port()
    s = service("analytics", {"GRIDGATE_WEBHCAT_URL": f"http://127.0.0.1:{closed}/templeton/v1",
                              "GRIDGATE_WEBHDFS_URL": f"http://127.0.0.1:{closed}/webhdfs/v1"})

    def down():
        status, headers, body = s.get("/readyz")
        deps = json.loads(body)["dependencies"]
        return status == 503 and deps["webhcat"]["status"] == "down" and deps["webhdfs"]["status"] == "down"
    wait_for(down, what="analytics reports its backends down")
    assert s.get("/healthz")[0] == 200


def test_metrics_in_prometheus_format(service, stack_env):
    s = service("cache", {"GRIDGATE_REDIS_URL": stack_env["GRIDGATE_REDIS_URL"],
                          "GRIDGATE_KAFKA_BROKERS": stack_env["GRIDGATE_KAFKA_BROKERS"]})
    for _ in range(3):
        s.get("/healthz")
    status, headers, body = s.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert '# TYPE gridgate_cache_http_requests_total counter' in text
    line = [l for l in text.splitlines()
            if l.startswith('gridgate_cache_http_requests_total{route="/healthz",method="GET",status="200"}')]
    assert line and int(float(line[0].split()[-1])) >= 3
    assert '# TYPE gridgate_cache_http_request_duration_seconds histogram' in text
    assert 'gridgate_cache_dependency_up{dependency="redis"}' in text


def test_unknown_path_is_problem_json(service, stack_env):
    s = service("ingest", {"GRIDGATE_MONGO_URI": stack_env["GRIDGATE_MONGO_URI"]})
    status, headers, body = s.get("/v1/nope")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    p = json.loads(body)
    assert p["status"] == 404 and p["title"] == "Not Found" and "detail" in p


def test_two_requests_share_one_connection(service, stack_env):
    s = service("cache", {"GRIDGATE_REDIS_URL": stack_env["GRIDGATE_REDIS_URL"]})
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.request("GET", "/healthz")
    r1 = conn.getresponse()
    r1.read()
    sock = conn.sock
    conn.request("GET", "/metrics")
    r2 = conn.getresponse()
    r2.read()
    assert r1.status == 200 and r2.status == 200
    assert (r1.getheader("Connection") or "").lower() != "close"
    assert conn.sock is sock  # http.client reopens (a new socket) after a close
    conn.close()


def test_starts_without_redis_and_connects_when_it_appears(service, stack_env, tmp_path):
    port = free_port()
    s = service("cache", {"GRIDGATE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
                          "GRIDGATE_KAFKA_BROKERS": stack_env["GRIDGATE_KAFKA_BROKERS"]})

    def redis_down():
        status, _, body = s.get("/readyz")
        return status == 503 and json.loads(body)["dependencies"]["redis"]["status"] == "down"
    wait_for(redis_down, what="cache reports redis down")
    redis = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                             stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: s.ready() and s.ready()["dependencies"]["redis"]["status"] == "up",
                 what="cache connects to redis once it appears")
    finally:
        redis.terminate()
        redis.wait(10)


@pytest.mark.parametrize("name", SERVICES)
def test_sigterm_exits_zero_promptly(service, name):
    s = service(name, {})
    assert s.stop(timeout=15) == 0
    assert '"shutdown requested"' in s.logs()
