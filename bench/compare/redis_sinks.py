"""The cache side against the reference pipeline: Kafka Connect with a last-write-wins Redis sink
(connect/RedisSetSink.java: SET key value per record, what the key/value Redis sinks do) against
gridgate-cache, on the same topic and the same Redis.

The topic holds N readings in time order and then the same readings again, shuffled: a replay
with duplicates and every station's readings out of order. Each sink consumes it from the start;
then every station's stored value is compared with the newest reading it should hold (for the
SET sink any reading of the station, for gridgate-cache the newest real_time one, the reading
GET /v1/stations/{id}/latest answers). Produce-to-visible is measured by the same prober for
both: readings at a steady rate, each looked for in Redis (Connect) or through the service's
HTTP read (gridgate-cache) every millisecond."""
import decimal
import json
import os
import random
import socket
import subprocess
import threading
import time

import sinks
from benchlib import Http, Service, pct

STRING = "org.apache.kafka.connect.storage.StringConverter"
# Probe stations: at 100 readings/s each gets one every 0.5 s, well apart from its next one.
VIS_STATIONS = 50


class Resp:
    """A minimal Redis client (RESP over one socket) for GET/MGET/INCR-style commands."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", int(port)))
        self.buf = b""

    def call(self, *args):
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return int(rest) if kind == b":" else rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")

    def close(self):
        self.sock.close()


def reading(station, seq, seed, aspect="real_time", t=None):
    """A reading as tool_ingest_kafka synth produces them."""
    payload = json.dumps({"sensor_id": station, "modality": seq % 1201 - 600, "unit": "MW",
                          "temporal_aspect": aspect})
    return json.dumps({"payload": payload,
                       "correlation_id": f"{seed:08x}-0000-4000-8000-{seq:012x}",
                       "created_at": time.time() if t is None else t, "schema_version": 1})


def produce_file(brokers, topic, path):
    subprocess.run(["kcat", "-P", "-b", brokers, "-t", topic, "-K", "\t", "-l", path],
                   check=True)


def build_topic(bin_dir, env, topic, n, stations, work_dir):
    """N readings in time order, then the same again shuffled. Returns the truth per station:
    {"any": station -> newest created_at, "real_time": the same over real_time readings}."""
    saved = os.path.join(work_dir, f"{topic}.tsv")
    out = subprocess.run([os.path.join(bin_dir, "tool_ingest_kafka"), "synth",
                          env["GRIDGATE_KAFKA_BROKERS"], topic, str(n),
                          f"{random.randrange(1 << 32):08x}", str(stations), "0", saved],
                         check=True, capture_output=True, text=True)
    if json.loads(out.stdout)["produced"] != n:
        raise SystemExit(f"producing to {topic}: {out.stdout}")
    with open(saved) as f:
        lines = f.read().splitlines()
    truth = {"any": {}, "real_time": {}}
    for line in lines:
        key, value = line.split("\t", 1)
        v = json.loads(value, parse_float=decimal.Decimal)  # exact, to the microsecond
        t = v["created_at"]
        truth["any"][key] = max(truth["any"].get(key, 0), t)
        if json.loads(v["payload"])["temporal_aspect"] == "real_time":
            truth["real_time"][key] = max(truth["real_time"].get(key, 0), t)
    random.shuffle(lines)
    shuffled = os.path.join(work_dir, f"{topic}-shuffled.tsv")
    with open(shuffled, "w") as f:
        f.write("\n".join(lines) + "\n")
    produce_file(env["GRIDGATE_KAFKA_BROKERS"], topic, shuffled)
    return truth


def redis_cpu(r):
    """Seconds of CPU Redis has used (user + system), from INFO cpu: the SET sink leaves Redis
    little to do, gridgate-cache runs its newer-wins step there as a script."""
    info = r.call("INFO", "cpu").decode()
    f = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return float(f["used_cpu_user"]) + float(f["used_cpu_sys"])


def follow(proc, progress, total, timeout, r):
    """Samples the process until progress() >= total; the figures of the run."""
    t_spawn = time.monotonic()
    first = last = None
    peak = 0.0
    deadline = t_spawn + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sink exited with {proc.returncode}")
        try:
            done = progress()
        except (OSError, RuntimeError, ValueError):
            done = 0
        cpu, rss, hwm = sinks.proc_sample(proc.pid)
        peak = max(peak, hwm)
        now = time.monotonic()
        if done > 0 and first is None:
            first = (now, done, cpu, redis_cpu(r))
        last = (now, done, cpu)
        if done >= total:
            break
        time.sleep(0.05)
    if not last or last[1] < total:
        raise SystemExit(f"{total} updates were not applied within {timeout} s "
                         f"(last {last[1] if last else 0})")
    rcpu = redis_cpu(r) - first[3]
    work = max(total - first[1], 1)
    secs = max(last[0] - first[0], 1e-3)
    return {"updates": total, "startup_s": round(first[0] - t_spawn, 2),
            "per_second": round(work / secs), "cpu_s_per_million": round(
                (last[2] - first[2]) * 1e6 / work, 1), "peak_rss_mb": round(peak),
            "redis_cpu_s_per_million": round(rcpu * 1e6 / work, 1),
            "load": sinks.loadavg()}


def visibility(brokers, topic, seen, rate, seconds, stations, seed):
    """Produces rate readings/s for seconds over `stations` stations (ids 900001...) and
    returns the produce-to-visible latencies in ms; seen(pending) -> the correlation ids of
    `pending` ({station: correlation id}) that are visible now."""
    kcat = subprocess.Popen(["kcat", "-P", "-b", brokers, "-t", topic, "-K", "\t", "-X",
                             "linger.ms=0"], stdin=subprocess.PIPE, text=True)
    sent, lat, lock = {}, [], threading.Lock()
    done = threading.Event()

    def poll():
        while not done.is_set() or sent:
            with lock:
                pending = {s: c for s, (c, _) in sent.items()}
            if pending:
                for s in seen(pending):
                    with lock:
                        if s in sent and sent[s][0] == pending[s]:
                            lat.append((time.monotonic() - sent.pop(s)[1]) * 1000)
            time.sleep(0.001)
            if done.is_set() and time.monotonic() > done.deadline:
                break

    t = threading.Thread(target=poll)
    t.start()
    total = rate * seconds
    t0 = time.monotonic()
    lost = 0
    for i in range(total):
        station = str(900001 + i % stations)
        line = f"{station}\t{reading(int(station), i, seed)}\n"
        cid = f"{seed:08x}-0000-4000-8000-{i:012x}"
        with lock:
            if station in sent:
                lost += 1  # overtaken before it showed: newer-wins hides it for good
            sent[station] = (cid, time.monotonic())
        kcat.stdin.write(line)
        kcat.stdin.flush()
        pause = t0 + (i + 1) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    done.deadline = time.monotonic() + 5
    done.set()
    t.join()
    kcat.stdin.close()
    kcat.wait()
    return {"p50_ms": round(pct(lat, 50), 1) if lat else None,
            "p99_ms": round(pct(lat, 99), 1) if lat else None, "seen": len(lat),
            "overtaken": lost, "never_seen": len(sent)}


def settled(count_stale, seconds=5):
    """The stale count once every update has been applied: both sinks may still be making the
    last writes visible (the service's in-process copy follows Redis asynchronously), so the
    count is taken again until it is 0 or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        n = count_stale()
        if n == 0 or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def measure(bin_dir, connect_home, env, run, work_dir, n, stations, vis_rate, vis_seconds):
    brokers, port = env["GRIDGATE_KAFKA_BROKERS"], env["GG_REDIS_PORT"]
    topic = f"compare-{run}-redis"
    truth = build_topic(bin_dir, env, topic, n, stations, work_dir)
    out = {"readings": n, "stations": stations, "updates": 2 * n}
    r = Resp(port)
    # Kafka Connect + the SET sink.
    prefix = f"ggcmp{run}c:"
    conn = sinks.Connect(connect_home, brokers, f"redis-{run}",
                         {"connector.class": "gridgate.bench.RedisSetSink", "topics": topic,
                          "key.converter": STRING, "value.converter": STRING,
                          "redis.host": "127.0.0.1", "redis.port": port,
                          "redis.prefix": prefix}, os.path.join(work_dir, "redis-connect"))
    try:
        def applied_connect():
            v = r.call("GET", prefix + "__applied")
            return int(v) if v else 0
        out["connect"] = follow(conn.proc, applied_connect, 2 * n, 600, r)
        def stale_connect():
            stale = 0
            for s, t in truth["any"].items():
                v = r.call("GET", prefix + s)
                if v is None or json.loads(v, parse_float=decimal.Decimal)["created_at"] != t:
                    stale += 1
            return stale
        stale = settled(stale_connect)
        out["connect"]["stale"] = stale
        out["connect"]["compared"] = len(truth["any"])
        out["connect"].update(visibility(
            brokers, topic, lambda p: [s for s, v in zip(p, r.call("MGET", *[
                prefix + s for s in p])) if v and p[s].encode() in v], vis_rate, vis_seconds,
            10, random.randrange(1 << 32)))
    finally:
        conn.stop()
        drop_keys(r, prefix)
    # gridgate-cache.
    prefix = f"ggcmp{run}g:"
    svc = Service(bin_dir, "cache", {"GRIDGATE_KAFKA_BROKERS": brokers,
                                     "GRIDGATE_KAFKA_TOPIC": topic,
                                     "GRIDGATE_KAFKA_GROUP": f"{topic}-cache",
                                     "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                                     "GRIDGATE_REDIS_PREFIX": prefix}, work_dir)
    try:
        def applied_cache():
            return (svc.metric("gridgate_cache_readings_applied_total") +
                    svc.metric("gridgate_cache_readings_ignored_total"))
        out["gridgate"] = follow(svc.proc, applied_cache, 2 * n, 600, r)
        def stale_cache():
            stale = 0
            for s, t in truth["real_time"].items():
                status, body = svc.http.json("GET", f"/v1/stations/{s}/latest")
                if status != 200 or body["created_at_us"] != int(t * 1000000):
                    stale += 1
            return stale
        stale = settled(stale_cache)
        out["gridgate"]["stale"] = stale
        out["gridgate"]["compared"] = len(truth["real_time"])
        http = Http(svc.port)

        def seen_cache(p):
            status, body = http.json("GET", "/v1/latest?stations=" + ",".join(p))
            latest = body["latest"] if status == 200 else {}
            return [s for s in p if latest.get(s) and latest[s].get("correlation_id") == p[s]]
        out["gridgate"].update(visibility(brokers, topic, seen_cache, vis_rate, vis_seconds,
                                          VIS_STATIONS, random.randrange(1 << 32)))
    finally:
        svc.stop()
        drop_keys(r, prefix)
        r.close()
    return out


def drop_keys(r, prefix):
    cursor = b"0"
    while True:
        cursor, keys = r.call("SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000")
        if keys:
            r.call("DEL", *keys)
        if cursor == b"0":
            break


def report(res):
    print(f"\n## Cache: Kafka Connect + a last-write-wins Redis sink against gridgate-cache, "
          f"{res['readings']} readings over {res['stations']} stations, then the same "
          f"readings shuffled ({res['updates']} updates)\n")
    print("| sink | updates/s after the first | start-up s | sink CPU s per million | Redis CPU s "
          "per million (shared) | peak RSS MB | produce-to-visible p50 / p99 ms | stations left "
          "stale | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, key in (("Kafka Connect + RedisSetSink (SET per record)", "connect"),
                      ("gridgate-cache", "gridgate")):
        x = res[key]
        print(f"| {name} | {x['per_second']} | {x['startup_s']} | {x['cpu_s_per_million']} | "
              f"{x.get('redis_cpu_s_per_million', '')} | {x['peak_rss_mb']} | "
              f"{x['p50_ms']} / {x['p99_ms']} ({x['seen']} seen) | "
              f"{x['stale']} of {x['compared']} | {x['load']} |")
