"""gridgate-ingest over REST, against the real broker and MongoDB-wire server: POST /v1/readings,
reading one reading back, paging a station's readings (checked against a plain sort of what was
produced), the status endpoint and the metrics. Also holds what the other ingest tests share:
each test gets its own topic, consumer group and database, and reads the store and the
topics through the tool_ingest_* programs, never through the service under test."""
import decimal
import http.client
import json
import os
import subprocess
import uuid

import pytest

from conftest import BIN_DIR, Service, free_port, load_stack_env, wait_for

# ---- shared by the test_ingest_* files ----------------------------------------------------------


def tool(name, *args, timeout=300):
    r = subprocess.run([os.path.join(BIN_DIR, name)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{name} {args[0]} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def cid(seed, i):
    """The correlation id tool_ingest_kafka synth gives reading i."""
    return f"{seed:08x}-0000-4000-8000-{i:012x}"


def http_call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


class Ingest(Service):
    def status(self):
        status, _, body = self.get("/v1/ingest/status")
        assert status == 200
        return json.loads(body)

    def counters(self):
        return self.status()["counters"]

    def settled(self):
        """Messages consumed and settled so far (stored, duplicate or dead-lettered)."""
        c = self.counters()
        return c["stored"] + c["duplicates"] + c["dead_lettered"]

    def metric(self, name, labels=""):
        _, _, body = self.get("/metrics")
        prefix = f"gridgate_ingest_{name}{'{' + labels + '}' if labels else ''} "
        for line in body.decode().splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
        return None


class Harness:
    """One test's own topic, group and database on the shared stack."""

    def __init__(self, tmp_path, **settings):
        self.stack = load_stack_env()
        self.tmp_path = tmp_path
        tag = uuid.uuid4().hex[:10]
        self.topic = f"ingest-test-{tag}"
        self.db = f"ingest_test_{tag}"
        self.brokers = self.stack["GRIDGATE_KAFKA_BROKERS"]
        self.uri = self.stack["GRIDGATE_MONGO_URI"]
        self.env = {
            "GRIDGATE_KAFKA_BROKERS": self.brokers,
            "GRIDGATE_MONGO_URI": self.uri,
            "GRIDGATE_KAFKA_TOPIC": self.topic,
            "GRIDGATE_KAFKA_GROUP": f"ingest-test-{tag}",
            "GRIDGATE_MONGO_DB": self.db,
            # A killed member leaves the group after 6 s (the broker's minimum), not 45 s.
            "GRIDGATE_KAFKA_PROP_session.timeout.ms": "6000",
            "GRIDGATE_KAFKA_PROP_heartbeat.interval.ms": "1000",
        }
        self.env.update({k: str(v) for k, v in settings.items()})
        self.services = []
        self.files = 0

    def start(self, **extra):
        env = dict(self.env)
        env.update({k: str(v) for k, v in extra.items()})
        s = Ingest("ingest", env, self.tmp_path)
        s.log_path = self.tmp_path / f"ingest-{len(self.services)}.log"
        self.services.append(s.start())
        return s

    def produce(self, messages):
        """messages: (key, value) pairs of bytes or str or None."""
        self.files += 1
        path = self.tmp_path / f"produce-{self.files}.jsonl"
        with open(path, "w") as f:
            for key, value in messages:
                f.write(json.dumps({**field("k", key), **field("v", value)}) + "\n")
        out = json.loads(tool("tool_ingest_kafka", "produce", self.brokers, self.topic, path))
        assert out["produced"] == len(messages) and out["failed"] == 0
        return out

    def synth(self, count, seed, stations=6, rate=0):
        out = json.loads(tool("tool_ingest_kafka", "synth", self.brokers, self.topic, count,
                              f"{seed:08x}", stations, rate))
        assert out["produced"] == count
        return [cid(seed, i) for i in range(count)]

    def dump(self, uri=None):
        text = tool("tool_ingest_mongo", "dump", uri or self.uri, self.db, "readings")
        return [json.loads(line) for line in text.splitlines()]

    def ids(self, uri=None):
        return tool("tool_ingest_mongo", "ids", uri or self.uri, self.db, "readings").split()

    def dead_letters(self):
        text = tool("tool_ingest_kafka", "consume", self.brokers, f"{self.topic}.dlq")
        return [json.loads(line) for line in text.splitlines()]

    def committed(self):
        return json.loads(tool("tool_ingest_kafka", "committed", self.brokers,
                               self.env["GRIDGATE_KAFKA_GROUP"], self.topic))

    def close(self):
        for s in self.services:
            if s.proc and s.proc.poll() is None:
                s.stop()
        subprocess.run([os.path.join(BIN_DIR, "tool_ingest_mongo"), "drop", self.uri, self.db],
                       capture_output=True, timeout=60)


def field(name, data):
    if data is None:
        return {name: None}
    if isinstance(data, str):
        data = data.encode()
    try:
        return {name: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {name + "x": data.hex()}


@pytest.fixture
def harness(tmp_path):
    made = []

    def make(**settings):
        h = Harness(tmp_path, **settings)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def envelope(sensor_id, modality, created_at, correlation_id=None, unit="MW",
             aspect="real_time", string_payload=True):
    payload = {"sensor_id": sensor_id, "modality": modality, "unit": unit,
               "temporal_aspect": aspect}
    env = {"payload": json.dumps(payload) if string_payload else payload,
           "created_at": created_at, "schema_version": 1}
    if correlation_id:
        env["correlation_id"] = correlation_id
    return json.dumps(env)


def expected_reading(key, value):
    """What the wire format says a message stores, computed here from its text alone."""
    env = json.loads(value, parse_float=decimal.Decimal)
    payload = env["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload, parse_float=decimal.Decimal)
    us = int((decimal.Decimal(env["created_at"]) * 1000000).to_integral_value())
    sensor = payload.get("sensor_id", key)
    return {"_id": env["correlation_id"].lower(), "station_id": str(sensor),
            "modality": float(payload["modality"]), "unit": payload.get("unit", ""),
            "temporal_aspect": payload["temporal_aspect"], "created_at_us": us,
            "correlation_id": env["correlation_id"].lower(),
            "schema_version": env.get("schema_version", 1)}


def plain(ejson):
    """Canonical extended JSON to (type, value) pairs, so a test can check both."""
    if isinstance(ejson, dict):
        if "$numberDouble" in ejson:
            return ("double", float(ejson["$numberDouble"]))
        if "$numberInt" in ejson:
            return ("int32", int(ejson["$numberInt"]))
        if "$numberLong" in ejson:
            return ("int64", int(ejson["$numberLong"]))
        if "$date" in ejson:
            return ("date", int(ejson["$date"]["$numberLong"]))
        return ("document", {k: plain(v) for k, v in ejson.items()})
    if isinstance(ejson, str):
        return ("string", ejson)
    if ejson is None:
        return ("null", None)
    return (type(ejson).__name__, ejson)


def check_document(doc, want, topic):
    """The stored document has exactly the documented fields, types and values."""
    d = {k: plain(v) for k, v in doc.items()}
    assert set(d) == {"_id", "station_id", "modality", "unit", "temporal_aspect", "created_at",
                      "created_at_us", "correlation_id", "schema_version", "kafka",
                      "ingested_at"}, d.keys()
    assert d["_id"] == ("string", want["_id"])
    assert d["station_id"] == ("string", want["station_id"])
    assert d["modality"] == ("double", want["modality"])
    assert d["unit"] == ("string", want["unit"])
    assert d["temporal_aspect"] == ("string", want["temporal_aspect"])
    assert d["created_at_us"] == ("int64", want["created_at_us"])
    assert d["created_at"] == ("date", want["created_at_us"] // 1000)
    assert d["correlation_id"] == ("string", want["correlation_id"])
    assert d["schema_version"] == ("int32", want["schema_version"])
    kind, kafka = d["kafka"]
    assert kind == "document" and set(kafka) == {"topic", "partition", "offset"}
    assert kafka["topic"] == ("string", topic)
    assert kafka["partition"][0] == "int32" and kafka["partition"][1] >= 0
    assert kafka["offset"][0] == "int64" and kafka["offset"][1] >= 0
    assert d["ingested_at"][0] == "date"


# ---- POST /v1/readings -------------------------------------------------------------------------

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def test_post_needs_a_configured_token_and_the_right_one(harness):
    h = harness()
    s = h.start()
    body = envelope(1, 5, 1764000000.5)
    status, _, resp = http_call(s.port, "POST", "/v1/readings", body, AUTH)
    assert status == 403 and json.loads(resp)["type"] == "urn:gridgate:problem:forbidden"
    s.stop()
    s = h.start(GRIDGATE_API_TOKEN=TOKEN)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        status, hdrs, resp = http_call(s.port, "POST", "/v1/readings", body,
                                       {**headers, "Content-Type": "application/json"})
        assert status == 401 and hdrs.get("WWW-Authenticate") == "Bearer"
        assert hdrs["Content-Type"] == "application/problem+json"
    status, _, _ = http_call(s.port, "POST", "/v1/readings", body,
                             {"Authorization": AUTH["Authorization"], "Content-Type": "text/plain"})
    assert status == 415
    for bad, slug in (("{", "invalid-json"), ("[]", "invalid-body"), ("42", "invalid-body"),
                      ('{"a": 1, "a": 2}', "invalid-json")):
        status, _, resp = http_call(s.port, "POST", "/v1/readings", bad, AUTH)
        assert status == 400, bad
        assert json.loads(resp)["type"] == f"urn:gridgate:problem:{slug}"


def test_post_produces_good_readings_and_reports_bad_ones(harness):
    h = harness(GRIDGATE_API_TOKEN=TOKEN)
    s = h.start()
    mine = str(uuid.uuid4()).upper()
    items = [
        json.loads(envelope(4, 12.5, 1764000100.000001, mine)),
        json.loads(envelope(4, 13, 1764000100.25, string_payload=False)),  # no id: gets one
        {"payload": {"sensor_id": 4, "modality": "high", "temporal_aspect": "real_time"},
         "created_at": 1764000100},
        {"payload": {"sensor_id": 4, "modality": 1, "temporal_aspect": "real_time"}},
        "not an object",
    ]
    status, _, resp = http_call(s.port, "POST", "/v1/readings", json.dumps(items), AUTH)
    assert status == 202, resp
    r = json.loads(resp)
    assert (r["accepted"], r["rejected"], r["failed"]) == (2, 3, 0)
    res = r["items"]
    assert [i["index"] for i in res] == list(range(5))
    assert res[0] == {"index": 0, "status": "accepted", "correlation_id": mine.lower()}
    assert res[1]["status"] == "accepted" and uuid.UUID(res[1]["correlation_id"]).version == 4
    assert (res[2]["status"], res[2]["reason"]) == ("rejected", "modality_bad_type")
    assert (res[3]["status"], res[3]["reason"]) == ("rejected", "created_at_missing")
    assert (res[4]["status"], res[4]["reason"]) == ("rejected", "value_not_object")
    assert all(i["message"] for i in res[2:])

    # 202 came after Kafka's acknowledgement; the pipeline then stores them.
    wait_for(lambda: s.counters()["stored"] == 2, timeout=30, what="posted readings stored")
    for i, want_mod, want_us in ((0, 12.5, 1764000100000001), (1, 13.0, 1764000100250000)):
        status, _, body = s.get(f"/v1/readings/{res[i]['correlation_id'].upper()}")
        assert status == 200
        got = json.loads(body)
        assert (got["station_id"], got["modality"], got["created_at_us"]) == ("4", want_mod,
                                                                              want_us)
        assert got["correlation_id"] == res[i]["correlation_id"]
        assert got["kafka"]["topic"] == h.topic
    assert s.metric("posted_readings_total", 'outcome="accepted"') == 2
    assert s.metric("posted_readings_total", 'outcome="rejected"') == 3

    # Nothing good: 400, still with the per-item reasons.
    status, hdrs, resp = http_call(s.port, "POST", "/v1/readings", json.dumps(items[2:]), AUTH)
    assert status == 400 and hdrs["Content-Type"] == "application/problem+json"
    p = json.loads(resp)
    assert p["type"] == "urn:gridgate:problem:invalid-body"
    assert [i["reason"] for i in p["items"]] == ["modality_bad_type", "created_at_missing",
                                                "value_not_object"]


def test_post_answers_503_when_kafka_is_down(harness):
    h = harness(GRIDGATE_API_TOKEN=TOKEN)
    closed = free_port()
    s = h.start(GRIDGATE_KAFKA_BROKERS=f"127.0.0.1:{closed}",
                **{"GRIDGATE_KAFKA_PROP_message.timeout.ms": "2000"})
    status, hdrs, resp = http_call(s.port, "POST", "/v1/readings",
                                   envelope(1, 5, 1764000000.5), AUTH)
    assert status == 503 and hdrs["Content-Type"] == "application/problem+json"
    assert hdrs["Retry-After"] == "1"
    p = json.loads(resp)
    assert p["type"] == "urn:gridgate:problem:kafka-unavailable"
    assert p["items"][0]["status"] == "failed"
    status, _, body = s.get("/readyz")
    assert status == 503 and json.loads(body)["dependencies"]["kafka"]["status"] != "up"
    assert s.proc.poll() is None


# ---- reading back ------------------------------------------------------------------------------


def test_station_pages_follow_a_plain_sort(harness):
    h = harness()
    base = 1764000000 * 1000000
    msgs, truth = [], []
    for i in range(250):
        us = base + (i % 60) * 500 + (i % 7 == 0)  # ~2 readings per ms, ~4 per us
        c = str(uuid.uuid4())
        truth.append((us, c))
        msgs.append(("st-7", '{"payload": {"sensor_id": "st-7", "modality": %d, '
                     '"temporal_aspect": "real_time"}, "correlation_id": "%s", '
                     '"created_at": %d.%06d}' % (i, c, us // 1000000, us % 1000000)))
    msgs.append(("st-8", envelope("st-8", 1, 1764000000.01, str(uuid.uuid4()))))
    h.produce(msgs)
    s = h.start()
    wait_for(lambda: s.counters()["stored"] == 251, timeout=60, what="readings stored")
    order = sorted(truth, key=lambda t: (t[0], t[1]), reverse=True)

    def walk(query, limit):
        got, cursor, pages = [], None, 0
        while True:
            q = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            status, _, body = s.get(f"/v1/readings?{q}")
            assert status == 200, body
            page = json.loads(body)
            assert page["station_id"] == "st-7" and page["count"] == len(page["readings"])
            assert len(page["readings"]) <= limit
            got += [(r["created_at_us"], r["correlation_id"]) for r in page["readings"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                return got, pages

    got, pages = walk("station=st-7", 40)
    assert got == order and pages == 7
    got, _ = walk("station=st-7", 1000)
    assert got == order

    # [from, to): RFC 3339 and epoch seconds, in any combination.
    lo, hi = base + 10000, base + 20500
    want = [t for t in order if lo <= t[0] < hi]
    assert want
    for q in (f"station=st-7&from=2025-11-24T16:00:00.010Z&to={hi // 1000000}.{hi % 1000000:06d}",
              f"station=st-7&from={lo // 1000000}.{lo % 1000000:06d}"
              "&to=2025-11-24T17:00:00.0205%2B01:00"):
        got, _ = walk(q, 9)
        assert got == want, q

    status, _, body = s.get("/v1/readings?station=st-7&limit=1")
    first = json.loads(body)["readings"][0]
    assert list(first) == ["station_id", "temporal_aspect", "modality", "unit", "created_at",
                           "created_at_us", "correlation_id", "schema_version", "kafka",
                           "ingested_at"]
    us = first["created_at_us"]
    assert first["created_at"] == f"2025-11-24T16:00:00.{us % 1000000:06d}Z"
    status, _, body = s.get("/v1/readings?station=nobody")
    assert status == 200 and json.loads(body) == {"station_id": "nobody", "count": 0,
                                                  "readings": [], "next_cursor": None}


@pytest.mark.parametrize("query,slug", [
    ("limit=0", "invalid-parameter"), ("limit=1001", "invalid-parameter"),
    ("limit=ten", "invalid-parameter"), ("from=yesterday", "invalid-parameter"),
    ("to=2025-02-30T00:00:00Z", "invalid-parameter"),
    ("from=1764000001&to=1764000000", "invalid-parameter"),
    ("cursor=bm90LWEtY3Vyc29y", "invalid-parameter"), ("cursor=%25%25", "invalid-parameter"),
    ("station=a%20b", "invalid-parameter"), ("station=7&station=8", "invalid-parameter"),
    ("station=7&aspect=real_time", "invalid-parameter"),
])
def test_station_query_errors(harness, query, slug):
    s = harness().start()
    if "station=" not in query:
        query = "station=7&" + query
    status, hdrs, body = s.get(f"/v1/readings?{query}")
    assert status == 400 and hdrs["Content-Type"] == "application/problem+json"
    assert json.loads(body)["type"] == f"urn:gridgate:problem:{slug}"


def test_reading_by_id_errors(harness):
    s = harness().start()
    status, _, body = s.get("/v1/readings/not-a-uuid")
    assert status == 400
    assert json.loads(body)["type"] == "urn:gridgate:problem:invalid-parameter"
    status, _, body = s.get(f"/v1/readings/{uuid.uuid4()}")
    assert status == 404 and json.loads(body)["type"] == "urn:gridgate:problem:not-found"
    status, _, _ = s.get("/v1/readings")
    assert status == 400  # no station


def test_status_and_metrics(harness):
    h = harness(GRIDGATE_BATCH_SIZE=50, GRIDGATE_BATCH_LINGER_MS=20)
    h.synth(300, 0xabc)
    s = h.start()
    wait_for(lambda: s.counters()["stored"] == 300, timeout=60, what="readings stored")
    st = s.status()
    assert (st["topic"], st["dlq_topic"], st["group"]) == (h.topic, h.topic + ".dlq",
                                                          h.env["GRIDGATE_KAFKA_GROUP"])
    assert st["store"] == {"database": h.db, "collection": "readings"}
    assert st["batch"] == {"size": 50, "linger_ms": 20}
    assert st["paused"] is False and st["last_error"] is None
    assert sorted(p["partition"] for p in st["assignment"]) == [0, 1, 2, 3]
    c = st["counters"]
    assert (c["consumed"], c["stored"], c["duplicates"], c["dead_lettered"]) == (300, 300, 0, 0)
    # Lag comes from librdkafka's statistics, every 5 s: wait for a report after the commit.
    wait_for(lambda: (lambda x: len(x["lag"]) == 4 and x["total_lag"] == 0 and
                      sum(p["high_watermark"] for p in x["lag"]) == 300)(s.status()),
             timeout=30, what="lag reported as zero")
    assert s.metric("stored_total") == 300 and s.metric("consumed_total") == 300
    assert s.metric("batch_documents_count") >= 6
    assert s.metric("batch_documents_sum") == 300
    assert s.metric("batch_write_seconds_count") == s.metric("batch_documents_count")
    assert s.metric("produce_to_stored_seconds_count") == 300
    assert s.metric("consumer_lag") == 0 and s.metric("consumption_paused") == 0
    assert s.metric("dead_lettered_total", 'reason="malformed_json"') == 0


def test_bad_write_concern_is_refused_at_start():
    for value in ("0", ""):
        r = subprocess.run([os.path.join(BIN_DIR, "gridgate-ingest"),
                            f"--mongo-write-concern={value}"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2
        assert "--mongo-write-concern" in r.stderr and "GRIDGATE_MONGO_WRITE_CONCERN" in r.stderr
