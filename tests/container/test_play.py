"""The images and the chart, run for real: the chart's render with the default values (plus what a
local play needs: the just-built images, host networking, the local stack's addresses, names of
this run's own), played with `podman kube play` against the local stack. Every container must
come to ready, run as 10001 on a read-only root, and carry the sample readings from Kafka to the
services' APIs: ingest's stored readings and the cache's latest, compared with what the sample
file says. Run by tests/container/check, which builds the images first; GG_HELM names helm,
GG_IMAGE_TAG the images' tag."""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import SOURCE_DIR, free_port, http_get, load_stack_env, wait_for  # noqa: E402
from test_cache import delete_keys, expected_latest, produce, sample_lines  # noqa: E402
from test_ingest_api import expected_reading  # noqa: E402

SERVICES = ("ingest", "cache", "analytics")
CHART = os.path.join(SOURCE_DIR, "helm", "gridgate")
READY_TIMEOUT = 240  # analytics waits for Hive; a cold JVM on a busy 2-core machine is slow
PODMAN = ["podman", "--runtime", "runc"]


def podman(*args, check=True, timeout=120):
    r = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def local_values(stack, run, ports, tokens):
    """What the play changes from the chart's defaults: where the images and the stack are,
    this run's own topic, groups, database and key prefix (the stack is shared), and tokens:
    shared ones at the top, analytics' own API token in its own Secret."""
    return {
        "image": {"registry": "localhost", "tag": os.environ["GG_IMAGE_TAG"], "pullPolicy": "Never"},
        "config": {
            "kafka": {"brokers": stack["GRIDGATE_KAFKA_BROKERS"], "topic": f"{run}-readings"},
            "mongo": {"db": run.replace("-", "_")},
            "webhcatUrl": stack["GRIDGATE_WEBHCAT_URL"],
            "webhdfsUrl": stack["GRIDGATE_WEBHDFS_URL"],
            "hadoopUser": stack["GRIDGATE_HADOOP_USER"],
        },
        "secrets": {"mongoUri": stack["GRIDGATE_MONGO_URI"], "redisUrl": stack["GRIDGATE_REDIS_URL"],
                    "apiToken": tokens["shared"], "adminToken": uuid.uuid4().hex},
        # Host networking: each service listens on a free loopback port of this machine, one
        # replica each (two would share the port).
        **{s: {"port": ports[s], "replicaCount": 1, "autoscaling": {"enabled": False},
               "extraEnv": {"GRIDGATE_LISTEN": f"127.0.0.1:{ports[s]}",
                            **({"GRIDGATE_REDIS_PREFIX": f"{run}:"} if s == "cache" else {})},
               **({"kafkaGroup": f"{run}-{s}"} if s != "analytics" else {}),
               **({"secrets": {"apiToken": tokens["analytics"]}} if s == "analytics" else {})}
           for s in SERVICES},
    }


def render(values_file, release):
    # The oldest Kubernetes the chart supports: helm's built-in default is older than that.
    out = subprocess.run([os.environ["GG_HELM"], "template", release, CHART, "--kube-version",
                          "1.27.0", "-f", values_file],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def for_podman(docs):
    """The render as podman 4.3's kube play takes it: Deployments and ConfigMaps only, on the
    host's network without port mappings, and each service's Secret's values inlined as env
    (podman 4.3 mishandles Secret objects)."""
    secrets, probes = {}, []
    for d in docs:
        if d["kind"] == "Secret":
            secrets[d["metadata"]["name"]] = d.get("stringData") or {}
    out = []
    for d in docs:
        if d["kind"] == "ConfigMap":
            out.append(d)
        elif d["kind"] == "Deployment":
            spec = d["spec"]["template"]["spec"]
            spec["hostNetwork"] = True
            for c in spec["containers"]:
                port = {p["name"]: p["containerPort"] for p in c.pop("ports", [])}
                env = []
                for e in c.get("env", []):
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                    if ref is None:
                        env.append(e)
                    elif ref["key"] in secrets.get(ref["name"], {}):
                        env.append({"name": e["name"], "value": secrets[ref["name"]][ref["key"]]})
                    else:
                        assert ref.get("optional"), f"{ref['name']} lacks required {ref['key']}"
                c["env"] = env
                # podman 4.3 turns probes into health checks that run curl inside the image
                # (which has none) from systemd timers: the test asks the probes' paths itself.
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    get = c.pop(probe)["httpGet"]
                    probes.append((c["name"], port.get(get["port"], get["port"]), get["path"]))
            out.append(d)
    kinds = sorted(d["kind"] for d in out)
    assert kinds == ["ConfigMap"] * 3 + ["Deployment"] * 3, kinds
    return out, probes


def ready(port):
    try:
        return http_get(port, "/readyz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def containers(pods):
    """{service: container name} of the played pods (<deployment>-pod-N, container <service>)."""
    out, seen = {}, []
    for c in json.loads(podman("ps", "-a", "--pod", "--format", "json").stdout or "[]"):
        for deployment, svc in pods.items():
            if c.get("PodName", "").startswith(deployment + "-pod") and \
                    c["Names"][0].endswith("-" + svc):
                out[svc] = c["Names"][0]
                seen.append(svc)
    assert sorted(seen) == sorted(SERVICES), f"one container per service expected: {seen}"
    return out


def restarts(name):
    out = podman("inspect", name, "--format", "{{.RestartCount}}", check=False).stdout.strip()
    return int(out) if out.isdigit() else 0


def diagnose(names):
    for svc, name in names.items():
        state = podman("inspect", name, "--format",
                       "{{.State.Status}} exit={{.State.ExitCode}} restarts={{.RestartCount}}",
                       check=False).stdout.strip()
        logs = podman("logs", "--tail", "15", name, check=False)
        print(f"--- {svc} ({name}): {state}\n{logs.stdout}{logs.stderr}", file=sys.stderr)


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    stack = load_stack_env()
    run = f"ct-{uuid.uuid4().hex[:10]}"
    ports = {s: free_port() for s in SERVICES}
    work = tmp_path_factory.mktemp("play")
    values = work / "values.yaml"
    tokens = {"shared": uuid.uuid4().hex, "analytics": uuid.uuid4().hex}
    values.write_text(yaml.safe_dump(local_values(stack, run, ports, tokens)))
    docs, probes = for_podman(render(str(values), run))
    play = work / "play.yaml"
    play.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["name"]
            for d in docs if d["kind"] == "Deployment"}

    start = time.monotonic()
    try:
        podman("kube", "play", str(play), timeout=300)
        names = containers(pods)
        deadline = start + READY_TIMEOUT
        pending = set(SERVICES)
        while pending and time.monotonic() < deadline:
            pending = {s for s in pending if not ready(ports[s])}
            looping = [s for s in pending if restarts(names[s]) >= 3]
            if looping:
                diagnose(names)
                pytest.fail(f"crash-looping (restarted 3 times) after kube play: {looping}")
            if pending:
                time.sleep(0.25)
        if pending:
            diagnose(names)
            pytest.fail(f"not ready {READY_TIMEOUT} s after kube play: {sorted(pending)}")
        to_ready = time.monotonic() - start
        print(f"\ncontainer: play to all ready: {to_ready:.1f} s", flush=True)
        yield {"stack": stack, "run": run, "ports": ports, "names": names, "probes": probes,
               "tokens": tokens}
    finally:
        podman("kube", "down", str(play), check=False, timeout=300)
        # The pods' emptyDir, a named volume in podman 4.3 that kube down leaves behind.
        podman("volume", "rm", "tmp", check=False)
        delete_keys(int(stack["GG_REDIS_PORT"]), f"{run}:")
        tool = os.path.join(os.environ.get("GG_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin")),
                            "tool_ingest_mongo")
        if os.path.exists(tool):
            subprocess.run([tool, "drop", stack["GRIDGATE_MONGO_URI"], run.replace("-", "_")],
                           capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def fed(played):
    """The sample readings on this run's topic, consumed by both containerised consumers."""
    lines = sample_lines()
    start = time.monotonic()
    produce(played["stack"]["GRIDGATE_KAFKA_BROKERS"], f"{played['run']}-readings", lines)
    p = played["ports"]

    def ingest_stored():
        c = json.loads(http_get(p["ingest"], "/v1/ingest/status")[2])["counters"]
        return c["stored"] + c["duplicates"] + c["dead_lettered"] >= len(lines)

    def cache_applied():
        text = http_get(p["cache"], "/metrics")[2].decode()
        n = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("gridgate_cache_readings_applied_total"))
        return n >= len(lines)

    wait_for(ingest_stored, timeout=120, what="ingest to settle every sample reading")
    wait_for(cache_applied, timeout=120, what="the cache to apply every sample reading")
    print(f"container: {len(lines)} readings produced and consumed by both in "
          f"{time.monotonic() - start:.1f} s", flush=True)
    return played, lines


def test_each_container_is_uid_10001_without_privileges_on_a_read_only_root(played):
    for svc, name in played["names"].items():
        status = podman("exec", name, "cat", "/proc/1/status").stdout
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split() == ["10001"] * 4, (svc, fields["Uid"])
        assert fields["Gid"].split() == ["10001"] * 4, (svc, fields["Gid"])
        # The chart's securityContext: every capability dropped, no privilege escalation.
        assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0, (svc, fields)
        assert fields["NoNewPrivs"].strip() == "1", (svc, fields["NoNewPrivs"])
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001", svc
        assert podman("inspect", name, "--format", "{{.HostConfig.ReadonlyRootfs}}").stdout.strip() \
            == "true", svc
        # A write to the root filesystem fails for being read-only (not for permissions: root
        # tries it too); the chart's /tmp stays writable.
        for user in ("10001", "0"):
            w = podman("exec", "--user", user, name, "touch", "/gridgate-write-probe", check=False)
            assert w.returncode != 0 and "Read-only file system" in w.stderr, (svc, user, w.stderr)
        assert podman("exec", name, "touch", "/tmp/gridgate-write-probe", check=False).returncode == 0


def test_ingest_stores_every_sample_reading(fed):
    played, lines = fed
    want = {}
    for line in lines:
        w = expected_reading(*line.split("\t", 1))
        want[w["correlation_id"]] = w
    got = {}
    for station in sorted({w["station_id"] for w in want.values()}):
        cursor = None
        while True:
            q = f"/v1/readings?station={station}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
            status, _, body = http_get(played["ports"]["ingest"], q)
            assert status == 200, body
            page = json.loads(body)
            for r in page["readings"]:
                got[r["correlation_id"]] = r
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert set(got) == set(want)
    for cid, w in want.items():
        r = got[cid]
        assert (r["station_id"], float(r["modality"]), r["unit"], r["temporal_aspect"],
                r["created_at_us"]) == \
            (w["station_id"], w["modality"], w["unit"], w["temporal_aspect"], w["created_at_us"]), cid
        assert r["kafka"]["topic"] == f"{played['run']}-readings"


def test_cache_serves_each_stations_latest(fed):
    played, lines = fed
    want = expected_latest(lines)
    assert want
    for (station, aspect), r in want.items():
        status, _, body = http_get(played["ports"]["cache"],
                                   f"/v1/stations/{station}/latest?aspect={aspect}")
        assert status == 200, body
        doc = json.loads(body)
        assert (doc["station_id"], doc["temporal_aspect"], doc["created_at_us"],
                doc["correlation_id"], doc["modality"]) == (station, aspect, r[2], r[3], r[4])


def test_the_chart_probes_answer(played):
    assert len(played["probes"]) == 3 * len(SERVICES)
    for svc, port, path in played["probes"]:
        assert port == played["ports"][svc], (svc, port)
        status, _, body = http_get(port, path)
        assert status == 200, (svc, path, body)


def test_every_dependency_of_every_container_is_up(played):
    for svc in SERVICES:
        status, _, body = http_get(played["ports"][svc], "/readyz")
        doc = json.loads(body)
        assert status == 200 and doc["status"] == "ready", (svc, doc)
        assert doc["dependencies"], (svc, doc)
        assert {d["status"] for d in doc["dependencies"].values()} == {"up"}, (svc, doc)


def test_analytics_takes_the_token_of_its_own_secret(played):
    """analytics.secrets.apiToken reaches the analytics pod in place of the shared one."""
    port, tokens = played["ports"]["analytics"], played["tokens"]
    auth = {name: {"Authorization": f"Bearer {tok}"} for name, tok in tokens.items()}
    status, _, body = http_get(port, "/v1/jobs?limit=1", auth["analytics"])
    assert status == 200, body
    status, _, body = http_get(port, "/v1/jobs?limit=1", auth["shared"])
    assert status == 401, body
