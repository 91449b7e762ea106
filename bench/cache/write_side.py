"""The body of bench/cache/write-side: the same topic applied by two builds of gridgate-cache,
alternately, with Redis CPU per 1,000 readings from INFO cpu and produce-to-visible latency from
tool_cache_visibility. Redis is shared with whatever else runs: its CPU figure is an upper
bound, which is why the two builds alternate."""
import json
import os
import random
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "compare"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from benchlib import Service, free_port, stack_env, wait_for  # noqa: E402
import procmem  # noqa: E402

BASE = os.environ["GG_BASELINE_BIN"]
CUR = os.environ["GG_CURRENT_BIN"]
# GG_WRITE_COMPARE=queues: the baseline is the current build with librdkafka's own queue bounds
# (what it had before gg_kafka_sizing), to show what the sized queues cost in rate.
LIBRDKAFKA_DEFAULTS = {"GRIDGATE_KAFKA_PROP_QUEUED_MIN_MESSAGES": "100000",
                       "GRIDGATE_KAFKA_PROP_QUEUED_MAX_MESSAGES_KBYTES": "65536",
                       "GRIDGATE_KAFKA_PROP_FETCH_MAX_BYTES": "52428800",
                       "GRIDGATE_KAFKA_PROP_MAX_PARTITION_FETCH_BYTES": "1048576",
                       "GRIDGATE_KAFKA_PROP_MESSAGE_MAX_BYTES": "1000000"}
BASE_ENV = LIBRDKAFKA_DEFAULTS if os.environ.get("GG_WRITE_COMPARE") == "queues" else {}
N = int(os.environ.get("GG_WRITE_READINGS", "100000"))
ROUNDS = int(os.environ.get("GG_WRITE_ROUNDS", "2"))
STATIONS = 16
VIS_SECONDS = int(os.environ.get("GG_WRITE_VIS_SECONDS", "10"))


ORDER = os.environ.get("GG_WRITE_ORDER", "time")


def produce_topic(env, topic):
    """N readings over STATIONS stations. ORDER "time": event times ascending in produce order,
    no duplicates (a live feed, as the topic of BENCHMARKS X2 and X3); "shuffled": event times
    at random over a day, and 10 % of the readings resent (late data and a replay)."""
    rnd = random.Random(7)
    lines = []
    for i in range(N):
        st = i % STATIONS + 1
        at = (1764000000 + i / 1000) if ORDER == "time" else 1764000000 + rnd.random() * 86400
        env_ = {"payload": json.dumps({"sensor_id": st, "modality": rnd.randint(-600, 600),
                                       "unit": "MW", "temporal_aspect": "edge_prediction"
                                       if i % 5 == 0 else "real_time"}),
                "correlation_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "created_at": at, "schema_version": 1}
        lines.append(f"{st}\t{json.dumps(env_)}")
    if ORDER != "time":
        lines += rnd.sample(lines, N // 10)
        rnd.shuffle(lines)
    data = "".join(l + "\n" for l in lines).encode()
    subprocess.run(["kcat", "-P", "-b", env["GRIDGATE_KAFKA_BROKERS"], "-t", topic, "-K", "\t"],
                   input=data, check=True, timeout=600)
    return len(lines)


def redis_cpu(env):
    out = subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "info", "cpu"], check=True,
                         capture_output=True, text=True).stdout
    f = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return float(f["used_cpu_user"]) + float(f["used_cpu_sys"])


def drop_keys(env, prefix):
    keys = subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "--scan", "--pattern",
                           prefix + "*"], capture_output=True, text=True).stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-p", env["GG_REDIS_PORT"], "del"] + keys[i:i + 500],
                       capture_output=True)


def cache(bin_dir, env, topic, group, prefix, log_dir, extra=None):
    extra = extra or {}
    return Service(bin_dir, "cache", {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
                                      "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": group,
                                      "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                                      "GRIDGATE_REDIS_PREFIX": prefix,
                                      "GRIDGATE_LOG_LEVEL": "warn", **extra}, log_dir)


def apply_rate(bin_dir, env, topic, count, tag, log_dir, extra=None):
    prefix = f"ggwrite{tag}:"
    s = cache(bin_dir, env, topic, f"{topic}-{tag}", prefix, log_dir, extra)

    def applied():
        return s.metric("gridgate_cache_readings_applied_total")
    try:
        wait_for(lambda: applied() > 0, 120, "the first applied reading")
        t0, cpu0 = time.monotonic(), redis_cpu(env)
        wait_for(lambda: applied() >= count, 900, f"{count} applied readings")
        secs, cpu = time.monotonic() - t0, redis_cpu(env) - cpu0
        mem = procmem.status(s.proc.pid) or {}
        return {"per_second": count / secs, "seconds": secs, "redis_ms_per_1000": cpu * 1e6 / count,
                "rss_kb": mem.get("VmRSS"), "hwm_kb": mem.get("VmHWM")}
    finally:
        s.stop()
        drop_keys(env, prefix)


def visibility(bin_dir, env, tag, log_dir, extra=None):
    topic = f"gg-write-vis-{tag}-{uuid.uuid4().hex[:8]}"
    prefix = f"ggwritevis{tag}:"
    # The topic exists and the cache has applied from it before the clock starts: a consumer
    # that subscribed to a topic not yet created first waits for a metadata refresh.
    warm = {"payload": json.dumps({"sensor_id": 999, "modality": 1, "unit": "MW",
                                   "temporal_aspect": "real_time"}),
            "correlation_id": str(uuid.uuid4()), "created_at": 1764000000, "schema_version": 1}
    subprocess.run(["kcat", "-P", "-b", env["GRIDGATE_KAFKA_BROKERS"], "-t", topic, "-K", "\t"],
                   input=f"999\t{json.dumps(warm)}\n".encode(), check=True, timeout=60)
    s = cache(bin_dir, env, topic, topic, prefix, log_dir, extra)
    try:
        wait_for(lambda: s.metric("gridgate_cache_readings_applied_total") >= 1, 60,
                 "the warm-up reading applied")
        out = subprocess.run([os.path.join(CUR, "tool_cache_visibility"),
                              env["GRIDGATE_KAFKA_BROKERS"], topic, f"http://127.0.0.1:{s.port}",
                              "1000", str(VIS_SECONDS), "10"], capture_output=True, text=True,
                             timeout=VIS_SECONDS + 120)
        fields = dict(kv.split("=", 1) for kv in out.stdout.split() if "=" in kv)
        return fields
    finally:
        s.stop()
        drop_keys(env, prefix)


def main():
    env = stack_env()
    log_dir = os.path.join("/tmp", f"gridgate-write-side-{os.getpid()}")
    os.makedirs(log_dir, exist_ok=True)
    topic = f"gg-write-{uuid.uuid4().hex[:8]}"
    count = produce_topic(env, topic)
    print(f"topic {topic}: {count} readings ({N} distinct, the rest resent), {STATIONS} "
          f"stations, order {ORDER}")
    rows = []
    for r in range(ROUNDS):
        for name, b in (("baseline", BASE), ("current", CUR)):
            extra = BASE_ENV if name == "baseline" else {}
            a = apply_rate(b, env, topic, count, f"{name}{r}", log_dir, extra)
            v = visibility(b, env, f"{name}{r}", log_dir, extra)
            rows.append((name, r + 1, a, v))
            print(f"{name} round {r + 1}: {a['per_second']:.0f} readings/s in {a['seconds']:.2f} s, "
                  f"Redis {a['redis_ms_per_1000']:.1f} ms CPU per 1000; visible "
                  f"{v.get('visible', '?')} p50 {v.get('p50_ms', '?')} ms p99 "
                  f"{v.get('p99_ms', '?')} ms; VmRSS {a['rss_kb'] / 1024:.1f} MiB, "
                  f"VmHWM {a['hwm_kb'] / 1024:.1f} MiB after the topic", flush=True)
    print("\n| build | round | readings/s | Redis CPU ms per 1000 | visible p50 ms | visible p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r, a, v in rows:
        print(f"| {name} | {r} | {a['per_second']:.0f} | {a['redis_ms_per_1000']:.1f} | "
              f"{v.get('p50_ms', '?')} | {v.get('p99_ms', '?')} |")

    def mean(name, key, src):
        xs = [x[src][key] if src == 2 else float(x[src].get(key, "nan")) for x in rows
              if x[0] == name]
        return sum(xs) / len(xs)
    for key, label in (("per_second", "readings/s"), ("redis_ms_per_1000", "Redis CPU per 1000")):
        b, c = mean("baseline", key, 2), mean("current", key, 2)
        print(f"{label}: baseline {b:.1f}, current {c:.1f}, current/baseline {c / b:.2f}")
    b, c = mean("baseline", "p99_ms", 3), mean("current", "p99_ms", 3)
    print(f"visible p99 ms: baseline {b:.2f}, current {c:.2f}, current/baseline {c / b:.2f}")
    print(f"load average after: {open('/proc/loadavg').read()[:14]}")


if __name__ == "__main__":
    main()
