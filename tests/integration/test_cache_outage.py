"""gridgate-cache through a Redis outage during traffic: 503 problems while Redis is down, no
crash, answers again within 2 s once Redis is back; after Redis loses its data (FLUSHALL), the
cache follows Redis (no stale answers), and a restart in rebuild mode restores every station's
latest reading from the topic. Runs against its own redis-server, never the shared one."""
import json
import subprocess
import threading
import time

from test_cache import (Redis, expected_latest, expected_recent, metric, produce, sample_lines,
                           shifted, shuffled_with_duplicates, unique)
from conftest import Service, wait_for


def latest_matches(s, want):
    for (station, aspect), r in want.items():
        status, _, body = s.get(f"/v1/stations/{station}/latest?aspect={aspect}")
        if status != 200 or json.loads(body)["correlation_id"] != r[3]:
            return False
    return True


class Traffic(threading.Thread):
    """Produces lines through one kcat process at a steady pace until told to finish."""

    def __init__(self, brokers, topic, lines, per_second):
        super().__init__(daemon=True)
        self.lines, self.pause = lines, 1.0 / per_second
        self.kcat = subprocess.Popen(["kcat", "-P", "-b", brokers, "-t", topic, "-K", "\t"],
                                     stdin=subprocess.PIPE)
        self.hurry = threading.Event()

    def run(self):
        for line in self.lines:
            self.kcat.stdin.write((line + "\n").encode())
            self.kcat.stdin.flush()
            if not self.hurry.is_set():
                self.hurry.wait(self.pause)
        self.kcat.stdin.close()
        self.kcat.wait(60)

    def finish(self):
        self.hurry.set()
        self.join(90)
        assert self.kcat.returncode == 0


def test_redis_outage_recovery_and_rebuild(stack_env, tmp_path):
    brokers = stack_env["GRIDGATE_KAFKA_BROKERS"]
    redis = Redis(tmp_path).start()
    topic, group = unique("cache-outage"), unique("g")
    lines = shuffled_with_duplicates(sample_lines(), seed=7, dup_fraction=0.1)
    first, rest = lines[:1500], lines[1500:]
    # Produced once Redis is back: later than every sample reading, so what the cache must show
    # then does not depend on which readings died with the first Redis.
    after = shifted(sample_lines()[-60:], 100000)
    produce(brokers, topic, first)
    env = {"GRIDGATE_KAFKA_BROKERS": brokers, "GRIDGATE_REDIS_URL": redis.url,
           "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": group,
           "GRIDGATE_REDIS_PREFIX": "gg:", "GRIDGATE_REDIS_TIMEOUT_MS": "500"}
    (tmp_path / "serving").mkdir()
    (tmp_path / "rebuild").mkdir()
    s = Service("cache", env, tmp_path / "serving").start()
    rebuilt = None
    try:
        wait_for(lambda: latest_matches(s, expected_latest(first)), timeout=60,
                 what="first half visible")
        traffic = Traffic(brokers, topic, rest, per_second=300)
        traffic.start()

        # Redis goes away during traffic: every lookup answers 503 problem+json, /readyz too.
        redis.stop()

        def unavailable():
            st, h, body = s.get("/v1/stations/1/latest")
            return st == 503 and h["Content-Type"] == "application/problem+json" and \
                h.get("Retry-After") == "1" and json.loads(body)["status"] == 503
        wait_for(unavailable, timeout=10, what="503 while redis is down")
        for path in ["/v1/stations", "/v1/latest?stations=1,2", "/v1/stations/1/recent"]:
            assert s.get(path)[0] == 503, path
        ready_status, _, ready = s.get("/readyz")
        assert ready_status == 503 and json.loads(ready)["dependencies"]["redis"]["status"] == "down"
        wait_for(lambda: metric(s, "consumer_paused") == 1, timeout=10, what="consumption paused")
        assert s.proc.poll() is None

        # Back on the same port, empty: answers (not 503) within 2 s of Redis answering PING.
        redis.start()
        back = time.monotonic()
        wait_for(lambda: s.get("/v1/stations/1/latest")[0] != 503, timeout=10,
                 what="answers once redis is back")
        assert time.monotonic() - back < 2.0
        wait_for(lambda: s.ready(), timeout=10, what="ready again")
        traffic.finish()
        wait_for(lambda: metric(s, "consumer_paused") == 0, timeout=10, what="consumption resumed")
        produce(brokers, topic, after)
        wait_for(lambda: latest_matches(s, expected_latest(after)), timeout=60,
                 what="readings after the outage visible")

        # Redis loses everything: the cache notices and answers what Redis has, nothing stale.
        refreshes = metric(s, "local_refreshes_total")
        assert redis.cli("FLUSHALL") == "OK"
        wait_for(lambda: metric(s, "local_refreshes_total") > refreshes, timeout=5,
                 what="flush noticed")
        status, _, body = s.get("/v1/stations")
        assert status == 200 and json.loads(body)["count"] == 0
        assert s.get("/v1/stations/1/latest")[0] == 404
        assert s.stop() == 0

        # Rebuild mode replays the topic and restores every station's latest reading.
        rebuilt = Service("cache", {**env, "GRIDGATE_REBUILD": "1"}, tmp_path / "rebuild").start()
        produced = lines + after
        want = expected_latest(produced)
        wait_for(lambda: latest_matches(rebuilt, want), timeout=60, what="rebuild restores latest")
        wait_for(lambda: metric(rebuilt, "rebuild_running") == 0, timeout=30, what="rebuild ends")
        assert metric(rebuilt, "rebuild_readings_total") >= len(produced)
        assert '"rebuild finished"' in rebuilt.logs()
        status, _, body = rebuilt.get("/v1/stations")
        assert [x["station_id"] for x in json.loads(body)["stations"]] == ["1", "2", "3", "4", "5", "6"]
        for station in ["1", "2", "3", "4", "5", "6"]:  # recent lists come back as well
            status, _, body = rebuilt.get(f"/v1/stations/{station}/recent")
            assert [r["correlation_id"] for r in json.loads(body)["readings"]] == \
                [r[3] for r in expected_recent(produced, station, 100)]
        assert rebuilt.stop() == 0
    finally:
        s.stop()
        if rebuilt:
            rebuilt.stop()
        redis.stop()


def test_without_its_subscription_the_cache_answers_from_redis(stack_env, tmp_path):
    """A Redis user that may not SUBSCRIBE: the in-process copy can never be trusted, so every
    answer must come from Redis, still exactly right, and the service stays ready."""
    brokers = stack_env["GRIDGATE_KAFKA_BROKERS"]
    redis = Redis(tmp_path).start()
    assert redis.cli("ACL", "SETUSER", "dash", "on", ">s3cret", "~*", "&*", "+@all",
                     "-subscribe") == "OK"
    topic = unique("cache-nosub")
    lines = sample_lines()
    produce(brokers, topic, shuffled_with_duplicates(lines, seed=11))
    s = Service("cache", {"GRIDGATE_KAFKA_BROKERS": brokers,
                          "GRIDGATE_REDIS_URL": f"redis://dash:s3cret@127.0.0.1:{redis.port}/0",
                          "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": unique("g"),
                          "GRIDGATE_RECENT_SIZE": "10"}, tmp_path).start()
    try:
        want = expected_latest(lines)
        wait_for(lambda: latest_matches(s, want), timeout=60, what="latest readings from redis")
        status, h, body = s.get("/v1/stations")
        assert status == 200 and h["ETag"]
        stations = json.loads(body)["stations"]
        assert [(x["station_id"], x["latest"]["correlation_id"]) for x in stations] == \
            [(st, want[(st, "real_time")][3]) for st in ["1", "2", "3", "4", "5", "6"]]
        status, _, body = s.get("/v1/latest?stations=3,8&aspect=edge_prediction")
        many = json.loads(body)["latest"]
        assert status == 200 and many["8"] is None
        assert many["3"]["correlation_id"] == want[("3", "edge_prediction")][3]
        etag = s.get("/v1/stations/2/latest")[1]["ETag"]
        assert s.get("/v1/stations/2/latest", {"If-None-Match": etag})[0] == 304
        assert s.get("/v1/stations/9/latest")[0] == 404
        assert metric(s, "local_coherent") == 0
        assert metric(s, 'lookups_total{source="memory"') == 0
        assert metric(s, 'lookups_total{source="redis"') >= 13
        assert s.ready()["dependencies"]["redis"]["status"] == "up"
        assert "not following redis" in s.logs() and "NOPERM" in s.logs()
    finally:
        s.stop()
        redis.stop()
