"""Crash safety of gridgate-ingest against the real broker and MongoDB-wire server: the service
is killed with SIGKILL several times while 100,000 readings are being produced and stored, and
restarted each time; in the end every reading is stored exactly once. A SIGTERM in the middle
of a run, likewise, loses and repeats nothing and exits 0."""
import signal
import threading
import time

from conftest import wait_for
from test_ingest_api import harness  # noqa: F401

READINGS = 100_000
KILLS = 3


def background_synth(h, count, seed, rate):
    """Produces while the test goes on; the result lands in the returned dict."""
    result = {}

    def run():
        try:
            result["ids"] = h.synth(count, seed, stations=1000, rate=rate)
        except Exception as e:  # reported by the test through result
            result["error"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, result


def all_committed(h, total):
    c = h.committed()
    return c["end"] == total and c["committed"] == total


def test_kill_9_during_a_100k_run_loses_and_repeats_nothing(harness):
    h = harness()
    t0 = time.monotonic()
    seed = 0x5eed0001
    producer, produced = background_synth(h, READINGS, seed, rate=8000)
    s = h.start()
    kills = []
    for k in range(KILLS):
        # Kill once this process has stored a good share, while consumption is in full flow.
        c = wait_for(lambda: (lambda c: c if c["stored"] >= 12_000 else None)(s.counters()),
                     timeout=120, what=f"progress before kill {k + 1}")
        s.proc.send_signal(signal.SIGKILL)
        assert s.stop() == -signal.SIGKILL
        kills.append((c["stored"], c["duplicates"]))
        s = h.start()
    producer.join(300)
    assert "error" not in produced, produced.get("error")
    assert len(produced["ids"]) == READINGS

    # Everything consumed and committed by the last process.
    wait_for(lambda: all_committed(h, READINGS), timeout=180, what="all offsets committed")
    ids = h.ids()
    assert len(ids) == READINGS, f"{len(ids)} documents"
    assert set(ids) == set(produced["ids"])  # none missing, and (same size) none extra
    assert s.proc.poll() is None and s.stop() == 0
    assert len(kills) == KILLS
    print(f"100k readings, {KILLS} kills after (stored, duplicates) {kills}: "
          f"{time.monotonic() - t0:.1f} s")


def test_sigterm_mid_run_commits_what_is_stored(harness):
    h = harness(GRIDGATE_BATCH_SIZE=200)
    ids = h.synth(20_000, 0x5eed0002)
    s = h.start()
    wait_for(lambda: s.counters()["stored"] >= 5_000, timeout=60, what="progress")
    assert s.stop(timeout=15) == 0
    log = s.logs()
    assert '"pipeline stopped"' in log and '"commit":"ok"' in log
    # A clean stop commits what it stored: the next process only does the rest.
    c = h.committed()
    assert 5_000 <= c["committed"] <= 20_000
    s = h.start()
    wait_for(lambda: all_committed(h, 20_000), timeout=120, what="the rest consumed")
    wait_for(lambda: s.counters()["stored"] == 20_000 - c["committed"], timeout=30,
             what="the second process's share")
    assert s.counters()["duplicates"] == 0
    got = h.ids()
    assert len(got) == 20_000 and set(got) == set(ids)


def test_two_replicas_share_the_topic_and_take_over(harness):
    """Scale-out is more replicas in one group: they split the partitions (the first one gives
    up half of its own, in-flight batches and all, when the second joins), and when one dies
    the other takes its partitions over from the committed offsets."""
    h = harness(GRIDGATE_BATCH_SIZE=200)
    producer, produced = background_synth(h, 30_000, 0x5eed0003, rate=5000)
    a = h.start()
    wait_for(lambda: a.counters()["stored"] >= 2_000, timeout=60, what="first replica working")
    b = h.start()
    wait_for(lambda: len(b.status()["assignment"]) == 2 and len(a.status()["assignment"]) == 2,
             timeout=60, what="partitions split between the replicas")
    wait_for(lambda: b.counters()["stored"] >= 2_000, timeout=60, what="second replica working")
    b.proc.send_signal(signal.SIGKILL)
    assert b.stop() == -signal.SIGKILL
    wait_for(lambda: len(a.status()["assignment"]) == 4, timeout=60,
             what="the survivor takes all partitions")
    producer.join(120)
    assert len(produced.get("ids", [])) == 30_000
    wait_for(lambda: all_committed(h, 30_000), timeout=120, what="all offsets committed")
    ids = h.ids()
    assert len(ids) == 30_000 and set(ids) == set(produced["ids"])
    assert a.proc.poll() is None and a.stop() == 0
