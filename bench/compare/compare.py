"""Figures for the architecture discussion, from one run on the local stack (run via ./run):

1. latest reading of a station: gridgate-cache (Redis, served from its in-process copy) against
   MongoDB (through gridgate-ingest's REST read, and straight through mongo-c-driver), over the
   same readings and stations, after a quarter and after all of them are stored;
2. the same question without an indexed store: reading the topic back from Kafka (kcat -C -e)
   or a file of the readings from HDFS (WebHDFS OPEN), filtering in the client; on the same
   readings, and on a topic GG_COMPARE_SCAN_READINGS long to see how the cost grows;
3. the write side of the cache: how fast one gridgate-cache applies a topic that already holds
   GG_COMPARE_SCAN_READINGS readings, and the Redis CPU time that costs (INFO cpu);
4. Hive job start-up against data: word counts through gridgate-analytics over a line, the book
   and the book 20 and 100 times, a HiveQL job without MapReduce, and the same count done
   locally.
Every answer is checked against the others (the stores must agree on each station's latest,
Hive and the local count on the top words), so a fast wrong answer cannot pass."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lookups  # noqa: E402
import redis_sinks  # noqa: E402
import scans  # noqa: E402
import sinks  # noqa: E402
import wordcount  # noqa: E402
from benchlib import ROOT, Service, WebHdfs, stack_env, wait_for  # noqa: E402

BIN = os.environ["GG_BIN_DIR"]
TOOL = os.environ["GG_COMPARE_TOOL"]
N = int(os.environ.get("GG_COMPARE_READINGS", "10000"))
STATIONS = int(os.environ.get("GG_COMPARE_STATIONS", "16"))
RATE = int(os.environ.get("GG_COMPARE_RATE", "2000"))
SCAN_N = int(os.environ.get("GG_COMPARE_SCAN_READINGS", "100000"))
ID_QUERIES = int(os.environ.get("GG_COMPARE_ID_QUERIES", "200"))
SECONDS = int(os.environ.get("GG_BENCH_SECONDS", "5"))
CONNECT_HOME = os.environ["GG_CONNECT_HOME"]
PROGRESS = os.environ["GG_COMPARE_PROGRESS"]
SINK_N = {"upsert": int(os.environ.get("GG_COMPARE_UPSERT_READINGS", "2000")),
          "insert": int(os.environ.get("GG_COMPARE_SINK_READINGS", "20000"))}
REDIS_N = int(os.environ.get("GG_COMPARE_REDIS_READINGS", "20000"))
REDIS_STATIONS = int(os.environ.get("GG_COMPARE_REDIS_STATIONS", "1000"))
VIS_RATE = int(os.environ.get("GG_COMPARE_VISIBLE_RATE", "100"))
SMOKE = os.environ.get("GG_COMPARE_SMOKE") == "1"
PARTS = os.environ.get("GG_COMPARE_PARTS", "ingest,cache,latest,words").split(",")
SPARK_PYTHON = os.environ.get("GG_COMPARE_SPARK_PYTHON")  # unset: no Spark (reason in _SKIPPED)


def synth(env, topic, count, seed, rate):
    out = subprocess.run([os.path.join(BIN, "tool_ingest_kafka"), "synth",
                          env["GRIDGATE_KAFKA_BROKERS"], topic, str(count), f"{seed:08x}",
                          str(STATIONS), str(rate)], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    if r["produced"] != count or r["failed"]:
        raise SystemExit(f"producing to {topic}: {r}")


def stored(ingest, cache, target):
    _, st = ingest.http.json("GET", "/v1/ingest/status")
    c = st["counters"]
    return (c["stored"] + c["duplicates"] >= target and
            cache.metric("gridgate_cache_readings_applied_total") >= target)


def load(env, topic, ingest, cache, count, seed, total):
    synth(env, topic, count, seed, RATE)
    wait_for(lambda: stored(ingest, cache, total), 600,
             f"{total} readings stored by gridgate-ingest and applied by gridgate-cache")


def stores(env, run, log_dir):
    """Part 1: the readings loaded through both services, then every way of asking for the
    latest. Returns the topic (read again by the scans) and the figures."""
    topic, db, prefix = f"compare-{run}", f"compare{run}", f"ggcompare{run}:"
    common = {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
              "GRIDGATE_KAFKA_TOPIC": topic}
    r = {"readings": N, "stations": STATIONS}
    ingest = cache = None
    try:
        ingest = Service(BIN, "ingest", dict(common, GRIDGATE_MONGO_URI=env["GRIDGATE_MONGO_URI"],
                                             GRIDGATE_MONGO_DB=db, GRIDGATE_KAFKA_GROUP=topic),
                         log_dir)
        cache = Service(BIN, "cache", dict(common, GRIDGATE_REDIS_URL=env["GRIDGATE_REDIS_URL"],
                                           GRIDGATE_REDIS_PREFIX=prefix,
                                           GRIDGATE_KAFKA_GROUP=topic + "-cache"), log_dir)
        quarter = N // 4
        load(env, topic, ingest, cache, quarter, 0xC0DE0001, quarter)
        r["mongo_quarter"] = lookups.mongo(TOOL, env["GRIDGATE_MONGO_URI"], db, STATIONS,
                                           STATIONS, 0)
        load(env, topic, ingest, cache, N - quarter, 0xC0DE0002, N)
        r["mongo"] = lookups.mongo(TOOL, env["GRIDGATE_MONGO_URI"], db, STATIONS, STATIONS,
                                   ID_QUERIES)
        r["ingest_http"] = lookups.wrk(ingest.port, STATIONS, "/v1/readings?station=%d&limit=1",
                                       SECONDS)
        r["cache_http"] = lookups.wrk(cache.port, STATIONS, "/v1/stations/%d/latest", SECONDS)
        r["cache_http_c16"] = lookups.wrk(cache.port, STATIONS, "/v1/stations/%d/latest",
                                          SECONDS, 2, 16)
        cached = lookups.cache_answers(cache.http, STATIONS)
        mongo_answers = r["mongo"]["latest_us"]
        r["agree"] = sum(1 for s, us in cached.items() if us and mongo_answers.get(s) == us)
        r["cache_station_1_us"] = cached["1"]
    finally:
        for svc in (ingest, cache):
            if svc:
                svc.stop()
        subprocess.run([os.path.join(BIN, "tool_ingest_mongo"), "drop",
                        env["GRIDGATE_MONGO_URI"], db], capture_output=True)
        drop_keys(env, prefix)
    return topic, r


def redis_cpu(env):
    """Seconds of CPU Redis has used (user + system), from INFO cpu."""
    out = subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "info", "cpu"], check=True,
                         capture_output=True, text=True).stdout
    f = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return float(f["used_cpu_user"]) + float(f["used_cpu_sys"])


def apply_rate(env, run, topic, count, log_dir):
    """A fresh gridgate-cache consuming a full topic: readings/s from its first applied reading
    to its last, and Redis CPU seconds per 1000 readings (Redis is shared: an upper bound)."""
    prefix = f"ggcompare{run}a:"
    cache = Service(BIN, "cache", {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
                                   "GRIDGATE_KAFKA_TOPIC": topic,
                                   "GRIDGATE_KAFKA_GROUP": f"{topic}-apply",
                                   "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                                   "GRIDGATE_REDIS_PREFIX": prefix}, log_dir)
    name = "gridgate_cache_readings_applied_total"
    try:
        wait_for(lambda: cache.metric(name) > 0, 120, "the first applied reading")
        t0, cpu0 = time.monotonic(), redis_cpu(env)
        wait_for(lambda: cache.metric(name) >= count, 600, f"{count} applied readings")
        secs, cpu = time.monotonic() - t0, redis_cpu(env) - cpu0
        return {"readings": count, "seconds": secs, "per_second": count / secs,
                "redis_cpu_ms_per_1000": cpu * 1e6 / count}
    finally:
        cache.stop()
        drop_keys(env, prefix)


def drop_keys(env, prefix):
    keys = subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "--scan", "--pattern",
                           prefix + "*"], capture_output=True, text=True).stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "del"] + keys[i:i + 500],
                       capture_output=True)


def ms(us):
    return f"{us / 1000:.3f}"


def report(a, same, big, applied, hive, spark, load_before):
    m, mq = a["mongo"], a["mongo_quarter"]
    print(f"\n## Latest reading of a station: {a['readings']} readings, {a['stations']} "
          f"stations, one request at a time\n")
    print("| path | requests | per second | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- |")
    for name, w in (("gridgate-cache GET /v1/stations/{id}/latest (wrk -t1 -c1)", a["cache_http"]),
                    ("gridgate-cache, same, wrk -t2 -c16", a["cache_http_c16"]),
                    ("gridgate-ingest GET /v1/readings?station={id}&limit=1 (wrk -t1 -c1)",
                     a["ingest_http"])):
        print(f"| {name} | {w['requests']:.0f} | {w['rps']:.1f} | {ms(w['p50_us'])} | "
              f"{ms(w['p99_us'])} |")
    for label, r, n in (("MongoDB find {station_id} sort created_at -1 limit 1", m["any"], N),
                        ("MongoDB, same, with temporal_aspect real_time", m["real_time"], N),
                        ("MongoDB find {station_id} ...", mq["any"], N // 4),
                        ("MongoDB, same, with temporal_aspect real_time", mq["real_time"], N // 4),
                        ("MongoDB find {_id} limit 1 (primary-key point read)", m["by_id"], N),
                        ("MongoDB, the real_time query on an absent collection (round trip)",
                         m["empty"], 0)):
        print(f"| {label}, {n} documents | {r['queries']} | {r['per_second']:.1f} | "
              f"{ms(r['p50_us'])} | {ms(r['p99_us'])} |")
    for label, res in (("same readings", same), ("scaling", big)):
        print(f"| Kafka: kcat -C -e of the topic + filter, {res['readings']} readings ({label}) "
              f"| 1 | | {res['kafka_latest_s'] * 1000:.0f} | |")
        print(f"| HDFS: WebHDFS OPEN of the file + filter, {res['hdfs_readings']} readings "
              f"({label}) | 1 | | {res['hdfs_latest_s'] * 1000:.0f} | |")
    print(f"\nstore plans: real_time: {lookups.plan(m['explain']['real_time'])}; by _id: "
          f"{lookups.plan(m['explain']['by_id'])}")
    ok = (a["cache_station_1_us"] == same["kafka_answer_us"] == same["hdfs_answer_us"])
    print(f"answers: cache and MongoDB agree on {a['agree']}/{a['stations']} stations; Kafka and "
          f"HDFS scans {'agree' if ok else 'DISAGREE'} with the cache on station 1")
    for label, res in (("same readings", same), ("scaling", big)):
        per_m = 1e6 / res["readings"]
        print(f"{label}: {res['readings']} readings, {res['bytes'] / 1e6:.1f} MB: kcat read "
              f"{res['kafka_read_s']:.2f} s ({res['kafka_read_s'] * per_m:.1f} s per million), "
              f"with filter {res['kafka_latest_s']:.2f} s ({res['kafka_latest_s'] * per_m:.1f} s "
              f"per million); WebHDFS CREATE {res['hdfs_put_s']:.2f} s, OPEN "
              f"{res['hdfs_read_s']:.2f} s, with filter {res['hdfs_latest_s']:.2f} s "
              f"({res['hdfs_latest_s'] * per_m:.1f} s per million)")
    print(f"\ncache write side: {applied['readings']} readings applied by one gridgate-cache in "
          f"{applied['seconds']:.2f} s ({applied['per_second']:.0f}/s); Redis CPU "
          f"{applied['redis_cpu_ms_per_1000']:.1f} ms per 1000 readings")
    if hive:
        wordcount.report(hive, spark)
    else:
        print(f"\n(Hive and Spark skipped: {spark})")
    print(f"\nload average before: {load_before}, after: {open('/proc/loadavg').read()[:14]}")


def words(env, hdfs, base, log_dir):
    """Part 4: the word counts through Hive (gridgate-analytics), Spark and one process."""
    with open(os.path.join(ROOT, "tests", "demo-data", "alice_in_wonderland.txt"), "rb") as f:
        alice = f.read()
    admin = uuid.uuid4().hex
    svc = Service(BIN, "analytics", {
        "GRIDGATE_WEBHCAT_URL": env["GRIDGATE_WEBHCAT_URL"],
        "GRIDGATE_WEBHDFS_URL": env["GRIDGATE_WEBHDFS_URL"],
        "GRIDGATE_HADOOP_USER": env["GRIDGATE_HADOOP_USER"],
        "GRIDGATE_JOBS_DIR": f"{base}/jobs", "GRIDGATE_ADMIN_TOKEN": admin,
        "GRIDGATE_INPUT_ROOTS": f"{base}/text"}, log_dir)
    try:
        hive = wordcount.measure(svc, admin, hdfs, base, alice,
                                 env.get("GG_WEBHCAT_EXECUTED_LOG"))
    finally:
        svc.stop()
    if not SPARK_PYTHON:
        return hive, os.environ.get("GG_COMPARE_SPARK_SKIPPED", "no Spark")
    print("words: Spark (pyspark, local[2]) over the same HDFS files", flush=True)
    return hive, wordcount.spark(SPARK_PYTHON, env["GG_HDFS_URI"], env["GRIDGATE_HADOOP_USER"],
                                 hive)


def main():
    load_before = open("/proc/loadavg").read()[:14]
    env = stack_env()
    run = uuid.uuid4().hex[:8]
    log_dir = tempfile.mkdtemp(prefix="gridgate-compare-")
    hdfs = WebHdfs(env["GRIDGATE_WEBHDFS_URL"], env["GRIDGATE_HADOOP_USER"])
    base = f"/tmp/gridgate-bench-compare/{run}"
    t0 = time.monotonic()
    sink_rows = redis_rows = None
    if "ingest" in PARTS:
        print(f"ingest: Kafka Connect + MongoDB sink against gridgate-ingest (load "
              f"{sinks.loadavg()})", flush=True)
        sink_rows = sinks.measure(BIN, PROGRESS, CONNECT_HOME, env, run, log_dir, SINK_N)
        sinks.report(sink_rows)
    if "cache" in PARTS:
        print(f"cache: Kafka Connect + Redis sink against gridgate-cache (load "
              f"{sinks.loadavg()})", flush=True)
        redis_rows = redis_sinks.measure(BIN, CONNECT_HOME, env, run, log_dir, REDIS_N,
                                         REDIS_STATIONS, VIS_RATE, SECONDS)
        redis_sinks.report(redis_rows)
    hive, spark = [], ("GG_COMPARE_SMOKE=1 (the smoke covers the Kafka Connect parts)" if SMOKE
                       else f"not in GG_COMPARE_PARTS={','.join(PARTS)}")
    try:
        print(f"latest value: MongoDB, Redis, Kafka, HDFS (load {sinks.loadavg()})", flush=True)
        topic, a = stores(env, run, log_dir)
        same = scans.scan_all(env, hdfs, topic, f"{base}/readings-same.tsv", "1")
        big_topic = f"compare-{run}-scan"
        synth(env, big_topic, SCAN_N, 0xC0DE0003, 0)
        big = scans.scan_all(env, hdfs, big_topic, f"{base}/readings-scan.tsv", "1")
        applied = apply_rate(env, run, big_topic, SCAN_N, log_dir)
        if not SMOKE and "words" in PARTS:
            print(f"words: Hive through gridgate-analytics (load {sinks.loadavg()})", flush=True)
            hive, spark = words(env, hdfs, base, log_dir)
    finally:
        hdfs.delete(base)
    print(f"\n# All figures, one run, {os.cpu_count()} cores (total "
          f"{time.monotonic() - t0:.0f} s)")
    if sink_rows:
        sinks.report(sink_rows)
    if redis_rows:
        redis_sinks.report(redis_rows)
    report(a, same, big, applied, hive, spark, load_before)
    for x in (a["mongo"], a["mongo_quarter"]):
        x.pop("latest_us", None)
        x["explain"] = {k: lookups.plan(v) for k, v in x["explain"].items()}
    print(json.dumps({"sinks": sink_rows, "redis_sinks": redis_rows, "stores": a,
                      "scan_same": same, "scan_big": big, "cache_apply": applied,
                      "hive": hive, "spark": spark}, default=str))
    shutil.rmtree(log_dir, ignore_errors=True)  # kept, with the services' logs, when a run fails


if __name__ == "__main__":
    main()
