"""The ingest pipeline against the real broker and MongoDB-wire server: the 3,000 sample
readings, 500 resends of some of them and hundreds of malformed messages of every rejection kind
go in; exactly 3,000 typed documents come out, every malformed message is on the dead-letter
topic with its reason and origin, and the service is still up. A kill -9 right after
dead-lettering, before any periodic commit, repeats no dead letter after the restart."""
import collections
import os
import random
import signal
import uuid

import pytest

from conftest import SOURCE_DIR, wait_for
from test_ingest_api import check_document, expected_reading, harness  # noqa: F401

SAMPLE = os.path.join(SOURCE_DIR, "tests", "demo-data", "readings-sample.tsv")
MAX_BYTES = 4096


def sample():
    with open(SAMPLE) as f:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in f if line.strip()]


def env_text(payload=None, cid=None, created_at="1764000000.5", schema="1", extra=""):
    """An envelope built as text, so that any field can be broken on purpose."""
    if payload is None:
        payload = '{"sensor_id": 3, "modality": 7, "unit": "MW", "temporal_aspect": "real_time"}'
    cid = cid if cid is not None else f'"{uuid.uuid4()}"'
    parts = [f'"payload": {payload}', f'"correlation_id": {cid}', f'"created_at": {created_at}',
             f'"schema_version": {schema}']
    return "{" + ", ".join(p for p in parts if p) + extra + "}"


def pay(sensor='3', modality='7', unit='"MW"', aspect='"real_time"'):
    fields = [("sensor_id", sensor), ("modality", modality), ("unit", unit),
              ("temporal_aspect", aspect)]
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields if v is not None) + "}"


def malformed_kinds():
    """(reason, key, value) makers: each message is valid but for one defect, and unique."""
    u = lambda: f'"{uuid.uuid4()}"'  # noqa: E731
    n = iter(range(10**6))
    return [
        ("empty_value", lambda: (f"e{next(n)}", b"")),
        ("empty_value", lambda: (f"e{next(n)}", None)),
        ("value_too_large", lambda: ("3", env_text(extra=f', "pad": "{"x" * MAX_BYTES}{next(n)}"'))),
        ("nul_byte", lambda: ("3", env_text().encode()[:-1] + b', "z": "\x00"}')),
        ("nul_byte", lambda: ("3", env_text(extra=', "z": "a\\u0000b"'))),
        ("invalid_utf8", lambda: ("3", env_text(extra=', "z": "').encode()[:-1] + b'\xff\xfe"}')),
        ("malformed_json", lambda: ("3", env_text()[:-1])),
        ("malformed_json", lambda: ("3", env_text().replace('"payload":', 'payload:'))),
        ("duplicate_key", lambda: ("3", env_text(extra=f', "created_at": 1764000000.{next(n)}'))),
        ("duplicate_key", lambda: ("3", env_text(payload=pay()[:-1] + ', "unit": "kW"}'))),
        ("number_out_of_range", lambda: ("3", env_text(payload=pay(modality="1e999")))),
        ("value_not_object", lambda: ("3", f'[{next(n)}, {u()}]')),
        ("value_not_object", lambda: ("3", f'"reading {next(n)}"')),
        ("schema_version_bad_type", lambda: ("3", env_text(schema='"1"'))),
        ("unsupported_schema_version", lambda: ("3", env_text(schema="2"))),
        ("payload_missing", lambda: ("3", env_text(payload="null"))),
        ("payload_bad_type", lambda: ("3", env_text(payload="[3, 7]"))),
        ("payload_bad_json", lambda: ("3", env_text(payload='"{sensor_id: 3"'))),
        ("payload_not_object", lambda: ("3", env_text(payload='"[1, 2]"'))),
        ("key_invalid", lambda: ("bad key!", env_text())),
        ("key_mismatch", lambda: ("4", env_text())),
        ("key_mismatch", lambda: ("03", env_text())),
        ("sensor_id_missing", lambda: (None, env_text(payload=pay(sensor=None)))),
        ("sensor_id_bad_type", lambda: ("3", env_text(payload=pay(sensor="3.0")))),
        ("sensor_id_bad_type", lambda: (None, env_text(payload=pay(sensor="true")))),
        ("sensor_id_invalid", lambda: (None, env_text(payload=pay(sensor='"../etc"')))),
        ("sensor_id_invalid", lambda: (None, env_text(payload=pay(sensor="-3")))),
        ("modality_missing", lambda: ("3", env_text(payload=pay(modality=None)))),
        ("modality_bad_type", lambda: ("3", env_text(payload=pay(modality='"421"')))),
        ("unit_bad_type", lambda: ("3", env_text(payload=pay(unit="5")))),
        ("unit_invalid", lambda: ("3", env_text(payload=pay(unit='"MWMWMWMWMWMWMWMWMW"')))),
        ("unit_invalid", lambda: ("3", env_text(payload=pay(unit='"M\\nW"')))),
        ("temporal_aspect_missing", lambda: ("3", env_text(payload=pay(aspect=None)))),
        ("temporal_aspect_bad_type", lambda: ("3", env_text(payload=pay(aspect="1")))),
        ("temporal_aspect_invalid", lambda: ("3", env_text(payload=pay(aspect='"REAL_TIME"')))),
        ("created_at_missing", lambda: ("3", env_text(created_at="null"))),
        ("created_at_bad_type", lambda: ("3", env_text(created_at='"1764000000"'))),
        ("created_at_out_of_range", lambda: ("3", env_text(created_at="1764000000000"))),
        ("created_at_out_of_range", lambda: ("3", env_text(created_at="-1"))),
        ("correlation_id_bad_type", lambda: ("3", env_text(cid="7", created_at=f"1764000000.{next(n)}"))),
        ("correlation_id_invalid", lambda: ("3", env_text(cid='"not-a-uuid"', created_at=f"1764000001.{next(n)}"))),
    ]


def as_bytes(x):
    return None if x is None else x if isinstance(x, bytes) else x.encode()


# Both ways of committing: dead letters and offsets in Kafka transactions (the default), and the
# at-least-once way for brokers without transactions.
@pytest.mark.parametrize("transactions", ["true", "false"])
def test_sample_resends_and_malformed(harness, transactions):
    h = harness(GRIDGATE_MAX_MESSAGE_BYTES=MAX_BYTES, GRIDGATE_KAFKA_TRANSACTIONS=transactions)
    rng = random.Random(1)
    good = sample()
    assert len(good) == 3000
    resends = rng.sample(good, 500)
    bad = []  # (reason, key, value)
    kinds = malformed_kinds()
    for i in range(6 * len(kinds)):
        reason, make = kinds[i % len(kinds)]
        key, value = make()
        bad.append((reason, as_bytes(key), as_bytes(value)))
    assert len(bad) >= 200 and len({r for r, _, _ in bad}) >= 15
    assert len({(k, v) for _, k, v in bad}) == len(bad)  # each one can be told apart

    # Resends and malformed messages are mixed into the stream after the originals.
    rest = [(k, v) for k, v in resends] + [(k, v) for _, k, v in bad]
    rng.shuffle(rest)
    h.produce(good)
    h.produce(rest)
    total = len(good) + len(rest)

    s = h.start(GRIDGATE_BATCH_SIZE=200)
    wait_for(lambda: s.settled() == total, timeout=120, what="every message settled")
    c = s.counters()
    assert (c["consumed"], c["stored"], c["duplicates"], c["dead_lettered"]) == \
        (total, 3000, 500, len(bad))

    # Exactly 3,000 documents, each with the fields its message says, typed.
    docs = {d["_id"]: d for d in h.dump()}
    assert len(docs) == 3000
    for key, value in good:
        want = expected_reading(key, value)
        check_document(docs[want["_id"]], want, h.topic)

    # Every malformed message is on the dead-letter topic with its reason and origin.
    dead = h.dead_letters()
    assert len(dead) == len(bad)
    found = {}
    for d in dead:
        key = None if d["kx"] is None else bytes.fromhex(d["kx"])
        value = None if d["vx"] is None else bytes.fromhex(d["vx"])
        found[(key, value or b"")] = d
    for reason, key, value in bad:
        d = found.get((key, value or b""))
        assert d is not None, (reason, key, value)
        hdr = d["headers"]
        assert hdr["gridgate.reason"] == reason, (hdr, key, value)
        assert hdr["gridgate.message"]
        assert hdr["gridgate.source.topic"] == h.topic
        assert int(hdr["gridgate.source.partition"]) in range(4)
        assert int(hdr["gridgate.source.offset"]) >= 0
    per_reason = {}
    for reason, _, _ in bad:
        per_reason[reason] = per_reason.get(reason, 0) + 1
    for reason, count in per_reason.items():
        assert s.metric("dead_lettered_total", f'reason="{reason}"') == count
    assert c["dead_lettered_by_reason"] == per_reason

    # Still up and ready; nothing was paused or retried.
    assert s.proc.poll() is None
    assert s.get("/healthz")[0] == 200 and s.ready()
    assert c["store_retries"] == 0
    assert s.stop() == 0


def test_kill_after_dead_letters_does_not_repeat_them(harness):
    """A dead letter and the offset of the message it copies become visible together: a process
    killed right after dead-lettering, before the consumer's periodic commit (made ten minutes
    long here, so the window is certain), leaves nothing for its successor to dead-letter again.
    The dead-letter topic is read as its readers must read it, read_committed."""
    h = harness(GRIDGATE_BATCH_SIZE=50, GRIDGATE_MAX_MESSAGE_BYTES=MAX_BYTES)
    good = sample()[:200]
    bad = [(f"bad-{i}", f"not json {i}") for i in range(20)]
    mixed = good + bad
    random.Random(2).shuffle(mixed)
    h.produce(mixed)
    total = len(mixed)

    s = h.start(**{"GRIDGATE_KAFKA_PROP_auto.commit.interval.ms": 600000})
    wait_for(lambda: s.settled() == total, timeout=60, what="every message settled")
    assert s.counters()["dead_lettered"] == len(bad)
    s.proc.send_signal(signal.SIGKILL)
    assert s.stop() == -signal.SIGKILL

    s = h.start()
    wait_for(lambda: (lambda c: c["committed"] == c["end"] == total)(h.committed()),
             timeout=60, what="every offset committed after the restart")
    dead = collections.Counter(bytes.fromhex(d["kx"]).decode() for d in h.dead_letters())
    assert dead == collections.Counter(k for k, _ in bad), \
        f"dead-lettered more than once: {sorted(k for k, n in dead.items() if n > 1)}"
    assert len(h.ids()) == len(good)  # the replayed readings were absorbed by their _id
    assert s.stop() == 0
