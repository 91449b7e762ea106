"""gridgate-cache against the real broker and Redis: the sample readings, produced in shuffled
order with duplicates and some bad messages, must leave every station's latest reading per
aspect equal to its reading with the greatest created_at, and recent lists in event-time order
and capped; plus the HTTP contract (ETag/304, Cache-Control, CORS, 400/404 problems)."""
import decimal
import json
import os
import random
import shutil
import subprocess
import uuid

import pytest

from conftest import SOURCE_DIR, Service, free_port, load_stack_env, wait_for

# ---- helpers, shared with test_cache_outage.py ------------------------------------------------
# What the cache must show is computed here from the sample file, independently of the service.

SAMPLE = os.path.join(SOURCE_DIR, "tests", "demo-data", "readings-sample.tsv")


def sample_lines():
    with open(SAMPLE) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def reading_of(line):
    """(station, aspect, created_at_us, correlation_id, modality) of one sample line."""
    key, value = line.split("\t", 1)
    env = json.loads(value, parse_float=decimal.Decimal)
    payload = env["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload, parse_float=decimal.Decimal)
    station = str(payload.get("sensor_id", key))
    us = int(decimal.Decimal(env["created_at"]) * 1000000)
    return station, payload["temporal_aspect"], us, env.get("correlation_id", "").lower(), payload["modality"]


def expected_latest(lines):
    """{(station, aspect): reading} with the greatest (created_at, correlation_id)."""
    best = {}
    for line in lines:
        r = reading_of(line)
        k = (r[0], r[1])
        if k not in best or (r[2], r[3]) > (best[k][2], best[k][3]):
            best[k] = r
    return best


def expected_recent(lines, station, size):
    """The newest size distinct readings of a station, oldest first."""
    seen = {}
    for line in lines:
        r = reading_of(line)
        if r[0] == station:
            seen[r[3]] = r
    return sorted(seen.values(), key=lambda r: (r[2], r[3]))[-size:]


def shifted(lines, seconds):
    """Copies of lines moved later by seconds, with new correlation ids: newer than all of lines."""
    out = []
    for line in lines:
        key, value = line.split("\t", 1)
        env = json.loads(value, parse_float=decimal.Decimal)
        at = str(env["created_at"])
        new_at = str(decimal.Decimal(at) + seconds)
        cid = env["correlation_id"]
        new_cid = str(uuid.uuid5(uuid.NAMESPACE_URL, cid))
        value = value.replace(f'"created_at": {at}', f'"created_at": {new_at}', 1)
        out.append(f"{key}\t{value.replace(cid, new_cid, 1)}")
    return out


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:12]}"


def produce(brokers, topic, lines):
    """Produces KEY<TAB>VALUE lines with kcat and waits until the broker acknowledged them."""
    data = "".join(l + "\n" for l in lines)
    subprocess.run(["kcat", "-P", "-b", brokers, "-t", topic, "-K", "\t"], input=data.encode(),
                   check=True, timeout=120)


def shuffled_with_duplicates(lines, seed, dup_fraction=0.2):
    rnd = random.Random(seed)
    out = list(lines) + rnd.sample(lines, int(len(lines) * dup_fraction))
    rnd.shuffle(out)
    return out


class Redis:
    """A private redis-server on a free loopback port, without persistence."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path / f"redis-{self.port}"
        self.dir.mkdir()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(self.port),
                                      "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        wait_for(lambda: self.cli("PING") == "PONG", what="redis-server answers")
        return self

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip()

    def stop(self):
        """SHUTDOWN NOSAVE, then waits for the process to end (by its own pid)."""
        if self.proc and self.proc.poll() is None:
            self.cli("SHUTDOWN", "NOSAVE")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def delete_keys(port, prefix):
    """Removes a test's keys from the shared Redis (the stack keeps data between runs)."""
    keys = subprocess.run(["redis-cli", "-p", str(port), "--scan", "--pattern", prefix + "*"],
                          capture_output=True, text=True, timeout=60).stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-p", str(port), "DEL", *keys[i:i + 500]],
                       capture_output=True, timeout=60)


def metric(service, name):
    """Sum of the series of gridgate_cache_<name>; a name with "{labels" picks series by label."""
    _, _, body = service.get("/metrics")
    full = f"gridgate_cache_{name}"
    starts = (full,) if "{" in name else (full + "{", full + " ")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(starts):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ---- the cache over the shuffled sample -------------------------------------------------------

RECENT = 40
ORIGIN = "https://dash.example"
BAD = ["1\tnot json", "2\t{\"payload\": {\"sensor_id\": 2}}", "a/b\t{\"payload\": {}}",
       "3\t{\"payload\": {\"sensor_id\": 3, \"modality\": 1, \"temporal_aspect\": \"later\"}, "
       "\"created_at\": 1764000000}"]


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """One cache over one topic holding the whole shuffled sample, fully consumed."""
    env = load_stack_env()
    topic = unique("cache-test")
    lines = sample_lines()
    traffic = shuffled_with_duplicates(lines, seed=4) + BAD
    produce(env["GRIDGATE_KAFKA_BROKERS"], topic, traffic[:1700])
    prefix = unique("t") + ":"
    s = Service("cache", {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
                          "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                          "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": unique("g"),
                          "GRIDGATE_REDIS_PREFIX": prefix,
                          "GRIDGATE_RECENT_SIZE": str(RECENT), "GRIDGATE_CORS_ORIGIN": ORIGIN},
                tmp_path_factory.mktemp("cache")).start()
    try:
        produce(env["GRIDGATE_KAFKA_BROKERS"], topic, traffic[1700:])  # while it consumes
        valid = len(traffic) - len(BAD)
        wait_for(lambda: metric(s, "readings_applied_total") == valid, timeout=60,
                 what=f"all {valid} readings applied")
        yield s, lines
    finally:
        s.stop()
        delete_keys(env["GG_REDIS_PORT"], prefix)


def get_json(s, path, headers=None):
    status, h, body = s.get(path, headers)
    return status, h, (json.loads(body) if body else None)


def test_latest_per_station_and_aspect_is_the_newest(fed):
    s, lines = fed
    want = expected_latest(lines)
    assert len(want) == 12  # 6 stations x 2 aspects in the sample
    for (station, aspect), r in want.items():
        status, h, doc = get_json(s, f"/v1/stations/{station}/latest?aspect={aspect}")
        assert status == 200, doc
        assert (doc["station_id"], doc["temporal_aspect"]) == (station, aspect)
        assert doc["created_at_us"] == r[2]
        assert doc["correlation_id"] == r[3]
        assert doc["modality"] == r[4]
        assert doc["unit"] == "MW"
    # real_time is the default aspect
    status, _, doc = get_json(s, "/v1/stations/4/latest")
    assert status == 200 and doc["created_at_us"] == want[("4", "real_time")][2]


def test_recent_lists_are_in_event_time_order_and_capped(fed):
    s, lines = fed
    for station in ["1", "2", "3", "4", "5", "6"]:
        want = expected_recent(lines, station, RECENT)
        status, _, body = get_json(s, f"/v1/stations/{station}/recent")
        assert status == 200
        got = body["readings"]
        assert body["count"] == len(got) == RECENT
        assert [g["correlation_id"] for g in got] == [w[3] for w in want]
        stamps = [g["created_at_us"] for g in got]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    status, _, body = get_json(s, "/v1/stations/2/recent?limit=5")
    assert [g["correlation_id"] for g in body["readings"]] == [w[3] for w in expected_recent(lines, "2", 5)]


def test_station_list_and_many_in_one_request(fed):
    s, lines = fed
    want = expected_latest(lines)
    status, _, body = get_json(s, "/v1/stations")
    assert status == 200 and body["count"] == 6
    assert [x["station_id"] for x in body["stations"]] == ["1", "2", "3", "4", "5", "6"]
    for x in body["stations"]:
        assert x["latest"]["correlation_id"] == want[(x["station_id"], "real_time")][3]
    status, _, body = get_json(s, "/v1/latest?stations=6,2,99,2&aspect=edge_prediction")
    assert status == 200 and body["aspect"] == "edge_prediction"
    assert list(body["latest"]) == ["6", "2", "99"]
    assert body["latest"]["99"] is None
    assert body["latest"]["6"]["correlation_id"] == want[("6", "edge_prediction")][3]


def test_bad_messages_are_counted_by_reason(fed):
    s, _ = fed
    _, _, text = s.get("/metrics")
    text = text.decode()
    for reason in ["malformed_json", "modality_missing", "key_invalid", "temporal_aspect_invalid"]:
        assert f'gridgate_cache_readings_rejected_total{{reason="{reason}"}} 1' in text


def test_etag_304_and_cache_headers(fed):
    s, _ = fed
    for path in ["/v1/stations/1/latest", "/v1/stations", "/v1/latest?stations=1,2",
                 "/v1/stations/1/recent?limit=3"]:
        status, h, body = s.get(path)
        assert status == 200 and h["Cache-Control"] == "no-cache"
        assert h["Access-Control-Allow-Origin"] == ORIGIN
        etag = h["ETag"]
        assert etag.startswith('"') and etag.endswith('"')
        status2, h2, body2 = s.get(path, {"If-None-Match": etag})
        assert status2 == 304 and body2 == b"" and h2["ETag"] == etag
        status3, _, body3 = s.get(path, {"If-None-Match": '"0000000000000000"'})
        assert status3 == 200 and body3 == body


def test_errors_are_problems_naming_the_parameter(fed):
    s, _ = fed
    cases = [("/v1/stations/no%21pe/latest", 400, "'id'"),
             ("/v1/stations/1/latest?aspect=forecast", 400, "'aspect'"),
             ("/v1/stations/1/recent?limit=0", 400, "'limit'"),
             (f"/v1/stations/1/recent?limit={RECENT + 1}", 400, "'limit'"),
             ("/v1/latest", 400, "'stations'"),
             ("/v1/latest?stations=1,,2", 400, "'stations'"),
             ("/v1/stations/77/latest", 404, "77"),
             ("/v1/stations/77/recent", 404, "77")]
    for path, code, text in cases:
        status, h, body = s.get(path)
        assert status == code, path
        assert h["Content-Type"] == "application/problem+json"
        p = json.loads(body)
        assert p["status"] == code and text in p["detail"], p


def test_readiness_and_own_metrics(fed):
    s, _ = fed
    body = s.ready()
    assert body["dependencies"]["redis"]["status"] == "up"
    assert metric(s, "local_coherent") == 1
    assert metric(s, "local_stations") == 6
    assert metric(s, 'lookups_total{source="memory"') > 0


def test_bodies_keep_to_the_published_schemas(fed):
    """Served bodies have every required field of api/cache/*.json and nothing undeclared."""
    def schema(name, service="cache"):
        with open(os.path.join(SOURCE_DIR, "api", service, name)) as f:
            return json.load(f)

    def conforms(obj, sch):
        assert set(sch["required"]) <= set(obj), (sch["$id"], obj)
        assert set(obj) <= set(sch["properties"]), (sch["$id"], obj)

    s, _ = fed
    reading = schema("reading.json", "common")["$defs"]["members"]
    reading["$id"] = "reading.json"
    body = get_json(s, "/v1/stations")[2]
    conforms(body, schema("station-list.json"))
    for x in body["stations"]:
        conforms(x["latest"], reading)
    body = get_json(s, "/v1/stations/5/recent")[2]
    conforms(body, schema("recent.json"))
    for x in body["readings"]:
        conforms(x, reading)
        assert x["temporal_aspect"] in reading["properties"]["temporal_aspect"]["enum"]
    body = get_json(s, "/v1/latest?stations=1,5")[2]
    conforms(body, schema("latest-many.json"))
    for x in body["latest"].values():
        conforms(x, reading)
