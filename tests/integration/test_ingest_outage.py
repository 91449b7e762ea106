"""A store outage under gridgate-ingest: its own MongoDB-wire server (FerretDB, the stack's
binary, on a free port with its own data directory, so the shared stack is not touched) is
stopped for 20 s while readings keep arriving, then started again. Meanwhile /readyz answers
503 naming mongodb, consumption pauses with at most two batches in hand, the process stays up;
afterwards everything is stored, nothing lost, and the service is ready again by itself."""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import SOURCE_DIR, free_port, wait_for
from test_ingest_api import harness  # noqa: F401

OUTAGE_S = 20
BATCH = 500


def ferretdb_binary():
    """The binary tests/stack/up built (or, if the stack runs one, that one)."""
    lib = os.path.join(SOURCE_DIR, "tests", "stack", "lib")
    r = subprocess.run(["bash", "-c", f'source "{lib}/common.sh"; source "{lib}/mongo.sh"; '
                        "mongo_bin || mongo_bin_wanted"], capture_output=True, text=True,
                       timeout=30)
    path = r.stdout.strip()
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"no FerretDB binary ({path!r}): run tests/stack/up first")
    return path


class OwnStore:
    def __init__(self, tmp_path):
        self.bin = ferretdb_binary()
        self.port = free_port()
        self.data = tmp_path / "ferretdb-data"
        self.data.mkdir()
        self.log = open(tmp_path / "ferretdb.log", "a")
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.proc = None

    def answers(self):
        return subprocess.run([self.bin, "-ping", f"127.0.0.1:{self.port}", "-timeout", "1s"],
                              capture_output=True, timeout=10).returncode == 0

    def start(self):
        self.proc = subprocess.Popen([self.bin, "-listen", f"127.0.0.1:{self.port}", "-data",
                                      str(self.data)], stdout=self.log, stderr=self.log)
        wait_for(self.answers, timeout=30, what="own FerretDB answers")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def own_store(tmp_path):
    s = OwnStore(tmp_path)
    yield s
    s.stop()
    s.log.close()


def readyz(svc):
    status, _, body = svc.get("/readyz")
    return status, json.loads(body)["dependencies"]["mongodb"]["status"]


def test_store_outage_loses_nothing(harness, own_store):
    store = own_store.start()
    h = harness(GRIDGATE_RETRY_MAX_MS=1000, GRIDGATE_BATCH_SIZE=BATCH)
    h.uri = store.uri  # where the harness reads and drops
    s = h.start(GRIDGATE_MONGO_URI=store.uri)
    before = h.synth(4000, 0xfeed0001)
    wait_for(lambda: s.counters()["stored"] == 4000, timeout=60, what="first readings stored")
    assert readyz(s) == (200, "up")

    store.stop()
    stopped = time.monotonic()
    during = {}
    producer = threading.Thread(
        target=lambda: during.update(ids=h.synth(6000, 0xfeed0002, rate=6000 / (OUTAGE_S - 4))))
    producer.start()
    wait_for(lambda: readyz(s) == (503, "down"), timeout=10, what="/readyz 503 naming mongodb")
    wait_for(lambda: s.status()["paused"], timeout=15, what="consumption paused")
    samples = 0
    while time.monotonic() - stopped < OUTAGE_S:
        assert s.proc.poll() is None
        assert s.get("/healthz")[0] == 200
        assert readyz(s) == (503, "down")
        st = s.status()
        c = st["counters"]
        assert st["paused"] and st["last_error"]["message"].startswith("mongodb")
        held = c["consumed"] - c["stored"] - c["duplicates"] - c["dead_lettered"]
        assert 0 < held <= 2 * BATCH  # paused: the failed batch and the next one, no more
        samples += 1
        time.sleep(0.5)
    producer.join(60)
    assert len(during.get("ids", [])) == 6000 and samples >= 20

    store.start()  # same port, same data
    after = h.synth(2000, 0xfeed0003)
    wait_for(lambda: s.settled() == 12000, timeout=120, what="everything stored after the outage")
    wait_for(lambda: readyz(s) == (200, "up"), timeout=15, what="ready again")
    assert not s.status()["paused"]
    ids = h.ids(store.uri)
    assert len(ids) == 12000 and set(ids) == set(before + during["ids"] + after)
    assert s.metric("store_retries_total") >= 2
    assert s.metric("dependency_failures_total", 'dependency="mongodb"') >= 1
    assert s.metric("consumption_paused") == 0
    assert s.proc.poll() is None and s.stop() == 0


def test_sigterm_during_an_outage_exits_in_time_and_loses_nothing(harness):
    h = harness(GRIDGATE_SHUTDOWN_TIMEOUT_MS=5000)
    ids = h.synth(1000, 0xfeed0004)
    s = h.start(GRIDGATE_MONGO_URI=f"mongodb://127.0.0.1:{free_port()}/")
    wait_for(lambda: s.status()["paused"], timeout=30, what="consumption paused")
    t0 = time.monotonic()
    assert s.stop(timeout=15) == 0
    assert time.monotonic() - t0 < 5.5
    assert "unsettled messages will be redelivered" in s.logs()
    assert h.committed()["committed"] == 0  # nothing unstored was committed
    s = h.start()  # the store is back (the stack's): everything is stored now
    wait_for(lambda: s.counters()["stored"] == 1000, timeout=60, what="all stored after restart")
    assert sorted(h.ids()) == sorted(ids)
