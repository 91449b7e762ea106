"""Black-box tests of how the three binaries take their configuration and start, without any
backing server: --check-config, unknown GRIDGATE_* names, Kafka pass-through properties, --help
against README.md's configuration table, a second instance on a port in use, and a clean start
log. Every dependency address points at a closed port, so nothing here needs tests/stack."""
import json
import os
import re
import subprocess
import threading

import pytest

SOURCE_DIR = os.environ.get("GG_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("GG_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
SERVICES = ("ingest", "cache", "analytics")

# Addresses nothing answers on: a start may try them, and fails over to "not ready".
DEAD = {
    "GRIDGATE_KAFKA_BROKERS": "127.0.0.1:1",
    "GRIDGATE_MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200",
    "GRIDGATE_REDIS_URL": "redis://127.0.0.1:1/0",
    "GRIDGATE_WEBHCAT_URL": "http://127.0.0.1:1/templeton/v1",
    "GRIDGATE_WEBHDFS_URL": "http://127.0.0.1:1/webhdfs/v1",
}

# libmongoc's load-time initialiser maps /dev/shm/mongoc-<pid> for its statistics tools and warns
# on stderr, before main, when a process killed earlier with the same pid left the file behind
# (the fault tests kill with SIGKILL). That line is the host's state, not the binary's output.
QUIET_HOST = {"MONGOC_DISABLE_SHM": "1"}


def binary(service):
    path = os.path.join(BIN_DIR, "gridgate-" + service)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (GG_BIN_DIR names the build's bin directory)" % path)
    return path


def run(service, *args, env=None):
    """The binary with exactly env (plus the dead addresses), as a container would run it."""
    full = dict(DEAD, **QUIET_HOST)
    full.update(env or {})
    return subprocess.run([binary(service)] + list(args), env=full, capture_output=True,
                          text=True, timeout=30)


# ---- --check-config ----------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_check_config_accepts_defaults(service):
    p = run(service, "--check-config")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n") == 1 and "configuration OK" in p.stdout
    assert p.stdout.startswith("gridgate-%s:" % service)
    assert p.stderr == ""  # no log line: nothing was started


@pytest.mark.parametrize("service", SERVICES)
def test_check_config_rejects_like_a_start(service):
    bad = {"GRIDGATE_MAX_BODY": "1.048576e+06"}
    checked = run(service, "--check-config", env=bad)
    started = run(service, env=bad)
    assert checked.returncode == 2 and started.returncode == 2
    assert checked.stderr == started.stderr
    assert checked.stderr.count("\n") == 1 and "GRIDGATE_MAX_BODY" in checked.stderr


@pytest.mark.parametrize("service", ["ingest", "cache"])
def test_kafka_props_checked_by_librdkafka(service):
    good = run(service, "--check-config", env={"GRIDGATE_KAFKA_PROP_SECURITY_PROTOCOL": "SASL_SSL",
                                               "GRIDGATE_KAFKA_PROP_SASL_MECHANISM": "PLAIN"})
    assert good.returncode == 0, good.stderr
    assert "2 Kafka properties" in good.stdout
    for extra in ({"GRIDGATE_KAFKA_PROP_no.such.property": "1"},
                  {"GRIDGATE_KAFKA_PROP_SECURITY_PROTOCOL": "carrier-pigeon"},
                  {"GRIDGATE_KAFKA_PROP_ENABLE_AUTO_OFFSET_STORE": "true"}):
        name = next(iter(extra)).split("GRIDGATE_KAFKA_PROP_")[1]
        for args in (["--check-config"], []):  # a start exits 2 too, before anything starts
            p = run(service, *args, env=extra)
            assert p.returncode == 2, (extra, args, p.stderr)
            assert p.stderr.count("\n") == 1, p.stderr
            assert "GRIDGATE_KAFKA_PROP_" in p.stderr
            assert name.lower().replace("_", ".") in p.stderr.lower().replace("_", ".")


def test_stream_cap_must_leave_connections_for_lookups():
    """Open event streams hold connections: a cap at the connection limit would let them
    take every one, so the cache refuses it before starting."""
    p = run("cache", "--check-config", env={"GRIDGATE_STREAM_MAX": "1024"})
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "GRIDGATE_STREAM_MAX" in p.stderr and "GRIDGATE_MAX_CONNECTIONS" in p.stderr
    ok = run("cache", "--check-config",
             env={"GRIDGATE_STREAM_MAX": "1000", "GRIDGATE_MAX_CONNECTIONS": "2048"})
    assert ok.returncode == 0, ok.stderr


# ---- unknown names ---------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_setting_names_closest(service):
    p = run(service, env={"GRIDGATE_REDIS_ULR": "redis://:pw-not-shown@127.0.0.1:1/0"})
    assert p.returncode == 2, p.stderr
    assert "GRIDGATE_REDIS_ULR" in p.stderr and "did you mean GRIDGATE_REDIS_URL" in p.stderr
    assert "pw-not-shown" not in p.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_settings_of_other_services_pass(service):
    """tests/stack/env and the demo export every service's settings to every service."""
    env = {"GRIDGATE_REDIS_PREFIX": "gg:", "GRIDGATE_JOBS_DIR": "/tmp/jobs",
           "GRIDGATE_BATCH_SIZE": "10", "GRIDGATE_KAFKA_PROP_SASL_MECHANISM": "PLAIN",
           "GRIDGATE_HADOOP_USER": "gridgate", "GRIDGATE_MONGO_DB": "x"}
    p = run(service, "--check-config", env=env)
    assert p.returncode == 0, p.stderr


# ---- --help and README.md ----------------------------------------------------------------


def readme_rows():
    """{env name: (services, default cell)} from README.md's configuration table."""
    rows = {}
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\| `(GRIDGATE_[A-Z0-9_]+)` \| ([^|]*) \| ([^|]*) \|", line)
            if m:
                svcs = m.group(2).strip()
                rows[m.group(1)] = (SERVICES if svcs == "all" else
                                    tuple(s.strip() for s in svcs.split(",")), m.group(3).strip())
    assert len(rows) > 30, "README.md's configuration table not found"
    return rows


def readme_default(cell, service, services):
    """The default README.md gives service, or None for unset and derived defaults."""
    if cell in ("", "unset") or "<" in cell:
        return None
    if " / " in cell:  # `a` / `b`, one per service in the row's order
        return readme_default(cell.split(" / ")[services.index(service)], service, services)
    parts = re.findall(r"`([^`]*)`(?: ([a-z]+))?", cell)
    if len(parts) > 1:  # `0.0.0.0:8081` ingest, `:8082` cache: a bare :port keeps the host
        first = parts[0][0]
        for value, svc in parts:
            if svc == service:
                return first.rsplit(":", 1)[0] + value if value.startswith(":") else value
        pytest.fail("README.md gives no default of %r for %s" % (cell, service))
    return parts[0][0] if parts else pytest.fail("unreadable default %r" % cell)


def help_settings(service):
    """{env name: (default or None, secret)} from the binary's --help."""
    p = run(service, "--help")
    assert p.returncode == 0
    out = {}
    for m in re.finditer(r"^      env (GRIDGATE_[A-Z0-9_]+)(;.*)?$", p.stdout, re.M):
        attrs = m.group(2) or ""
        d = re.search(r'; default ("([^"]*)"|[^;]+)', attrs)
        out[m.group(1)] = ((d.group(2) if d.group(2) is not None else d.group(1)) if d else None,
                           "; secret" in attrs)
    return out, p.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_help_and_readme_agree(service):
    rows = readme_rows()
    helped, text = help_settings(service)
    documented = {k for k, (svcs, _) in rows.items() if service in svcs}
    documented.discard("GRIDGATE_KAFKA_PROP_")
    assert set(helped) == documented
    assert ("GRIDGATE_KAFKA_PROP_" in text) == (service != "analytics")
    for name, (default, secret) in helped.items():
        svcs, cell = rows[name]
        if secret:  # --help never prints a secret's value, not even its default; README says so
            assert readme_default(cell, service, svcs) is None or \
                "(secret)" in README_MEANINGS[name], name
            continue
        assert default == readme_default(cell, service, svcs), name


def _meanings():
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        return {m.group(1): m.group(2) for m in
                re.finditer(r"^\| `(GRIDGATE_[A-Z0-9_]+)` \|[^|]*\|[^|]*\| (.*) \|$", f.read(),
                            re.M)}


README_MEANINGS = _meanings()


# ---- starting ----------------------------------------------------------------------------


class Started:
    """A binary started with env, its stderr (JSON lines) collected by a reader thread."""

    def __init__(self, service, env):
        full = dict(DEAD, **QUIET_HOST)
        full.update(env)
        self.proc = subprocess.Popen([binary(service)], env=full, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_line(self, pred, timeout=20):
        """The first log line pred accepts, or None once the process has closed stderr."""
        with self.cond:
            found = self.cond.wait_for(lambda: self.eof or any(pred(l) for l in self.lines),
                                       timeout)
            if not found:
                pytest.fail("timed out waiting for a log line; got %r" % self.lines)
            return next((l for l in self.lines if pred(l)), None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        self.proc.stderr.close()


def message(line):
    try:
        return json.loads(line).get("message")
    except ValueError:
        return None


def test_second_instance_on_a_port_in_use_fails():
    first = Started("analytics", {"GRIDGATE_LISTEN": "127.0.0.1:0"})
    try:
        line = first.wait_line(lambda l: message(l) == "listening")
        assert line, first.lines
        port = json.loads(line)["port"]
        second = Started("analytics", {"GRIDGATE_LISTEN": "127.0.0.1:%d" % port})
        try:
            # It must not come up: either it says it listens (the defect) or it exits.
            got = second.wait_line(lambda l: message(l) == "listening")
            assert got is None, "a second instance listens on port %d too" % port
            assert second.proc.wait(timeout=30) != 0
            text = "".join(second.lines)
            assert "127.0.0.1:%d" % port in text and "already in use" in text, text
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.mark.parametrize("service", SERVICES)
def test_start_log_has_no_libmicrohttpd_warning(service):
    s = Started(service, {"GRIDGATE_LISTEN": "127.0.0.1:0"})
    try:
        assert s.wait_line(lambda l: message(l) == "listening"), s.lines
    finally:
        s.stop()
    assert s.proc.returncode == 0
    assert not [l for l in s.lines if "EXTERNAL_LOGGER" in l or message(l) == "http server"]

