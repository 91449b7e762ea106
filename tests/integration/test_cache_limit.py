"""gridgate-cache's station cap (GRIDGATE_MAX_STATIONS) against the real broker and Redis: a
producer that invents thousands of station ids cannot grow Redis or the service beyond the cap;
the readings of new stations past it are dropped, counted by reason and logged, and the
stations already kept go on updating."""
import json
import uuid

from conftest import Service, load_stack_env, wait_for
from test_cache import delete_keys, metric, produce, reading_of, sample_lines, shifted, unique

CAP = 4
INVENTED = 5000


def reading_line(station, created_at, modality):
    env = {"payload": json.dumps({"sensor_id": station, "modality": modality, "unit": "MW",
                                  "temporal_aspect": "real_time"}),
           "correlation_id": str(uuid.uuid4()), "created_at": created_at, "schema_version": 1}
    return f"{station}\t{json.dumps(env)}"


def redis_keys(port, prefix):
    import subprocess
    out = subprocess.run(["redis-cli", "-p", str(port), "--scan", "--pattern", prefix + "*"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    return out


def test_new_stations_past_the_cap_are_dropped_counted_and_logged(tmp_path):
    env = load_stack_env()
    brokers, topic, prefix = env["GRIDGATE_KAFKA_BROKERS"], unique("cache-limit"), unique("l") + ":"
    lines = sample_lines()
    stations = sorted({reading_of(l)[0] for l in lines})
    kept = stations[:CAP]
    first = [l for l in lines if reading_of(l)[0] in kept]
    s = Service("cache", {"GRIDGATE_KAFKA_BROKERS": brokers,
                          "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                          "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": unique("g"),
                          "GRIDGATE_REDIS_PREFIX": prefix,
                          "GRIDGATE_MAX_STATIONS": str(CAP)}, tmp_path).start()
    try:
        produce(brokers, topic, first)
        wait_for(lambda: metric(s, "readings_applied_total") == len(first), timeout=60,
                 what=f"the {len(first)} readings of the first {CAP} stations applied")
        # Thousands of invented stations, the sample's other stations, and newer readings of a
        # kept one.
        invented = [reading_line(f"x{i}", 1764100000 + i / 1000, i % 600) for i in range(INVENTED)]
        others = [l for l in lines if reading_of(l)[0] not in kept]
        newer = [l for l in shifted(first, 86400) if reading_of(l)[0] == kept[0]]
        produce(brokers, topic, invented + others + newer)
        refused = len(invented) + len(others)
        wait_for(lambda: metric(s, 'readings_rejected_total{reason="station_limit"}') == refused
                 and metric(s, "readings_applied_total") == len(first) + len(newer), timeout=90,
                 what=f"{refused} readings refused by the cap, {len(newer)} newer ones applied")

        status, _, body = s.get("/v1/stations?limit=1000")
        assert status == 200
        assert sorted(st["station_id"] if isinstance(st, dict) else st
                      for st in json.loads(body)["stations"]) == sorted(kept)
        # Redis holds the kept stations' keys and the index only: nothing of the refused ones.
        keys = redis_keys(env["GG_REDIS_PORT"], prefix)
        assert not [k for k in keys if "{x" in k], keys[:5]
        assert len(keys) <= CAP * 4 + 2, keys
        # A kept station still advances.
        newest = max((reading_of(l) for l in newer), key=lambda r: (r[2], r[3]))
        status, _, body = s.get(f"/v1/stations/{kept[0]}/latest?aspect={newest[1]}")
        assert status == 200 and json.loads(body)["correlation_id"] == newest[3]
        # Said once, with the cap, not once per reading.
        said = [l for l in s.logs().splitlines() if "station limit reached" in l]
        assert len(said) == 1, said
        assert json.loads(said[0])["max_stations"] == CAP
    finally:
        s.stop()
        delete_keys(env["GG_REDIS_PORT"], prefix)
