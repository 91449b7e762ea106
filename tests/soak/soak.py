#!/usr/bin/env python3
"""Soak: gridgate-ingest, gridgate-cache and gridgate-analytics against the real stack for a
fixed time under steady traffic, with each process's resident memory, open descriptors and
threads sampled from /proc all along.

Traffic: readings produced to a fresh topic at a steady rate by an idempotent kcat producer (a
malformed message now and then, so the dead-letter path runs too); lookups one after another
on ingest (a reading by correlation id, a station's page, the ingest status) and on the cache
(latest, many latest, recent, the station list); on analytics a word count every
GG_SOAK_JOB_EVERY seconds (each with another `top`, so none is a cached repeat) and a job list
or a job's status every second.

Verdict (soak_measure.py explains the windows and allowances): for each service RSS grows less
than 10 % after warm-up and its descriptors and threads end where they were after warm-up; no
answer is a 5xx (a 503 included: every server is up) and no request is refused or unanswered;
every reading produced is stored exactly once; every station's latest value in the cache is the
newest reading produced; each service exits 0 on SIGTERM. The table of figures, then one
verdict line, last.

Settings: GG_SOAK_SECONDS (600), GG_SOAK_WARMUP (0.2 of the run), GG_SOAK_RATE (100 readings/s),
GG_SOAK_STATIONS (40), GG_SOAK_JOB_EVERY (30 s), GG_SOAK_RSS_GROWTH (0.10). Needs the whole
stack (tests/stack/up) and GG_BIN_DIR; tests/soak/run starts the stack first."""
import collections
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))
from faults_stack import (BIN_DIR, SOURCE_DIR, Replica, Timeout, http_get,  # noqa: E402
                          load_stack_env, wait_for)
from faults_traffic import Lookups, Producer, cid  # noqa: E402
from soak_measure import Series, fd_kinds, judge, sockets, table  # noqa: E402

SECONDS = float(os.environ.get("GG_SOAK_SECONDS", "600"))
WARMUP = float(os.environ.get("GG_SOAK_WARMUP", "0.2"))
RATE = int(os.environ.get("GG_SOAK_RATE", "100"))
STATIONS = int(os.environ.get("GG_SOAK_STATIONS", "40"))
JOB_EVERY = float(os.environ.get("GG_SOAK_JOB_EVERY", "30"))
RSS_GROWTH = float(os.environ.get("GG_SOAK_RSS_GROWTH", "0.10"))
# About a hundred samples a run: 5 s apart over ten minutes, 1 s apart over one.
SAMPLE_EVERY = max(1.0, min(5.0, SECONDS / 100))
BAD_EVERY = 1009  # one malformed message in about a thousand
ALICE = os.path.join(SOURCE_DIR, "tests", "demo-data", "alice_in_wonderland.txt")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class WebHdfs:
    """The two calls the soak needs: a file written (CREATE, then the DataNode the NameNode
    redirects to) and a directory removed."""

    def __init__(self, url, user):
        u = urllib.parse.urlsplit(url)
        self.port, self.prefix, self.user = u.port, u.path.rstrip("/"), user

    def _url(self, path, op, **params):
        q = urllib.parse.urlencode({"op": op, "user.name": self.user, **params})
        return f"{self.prefix}{urllib.parse.quote(path)}?{q}"

    def put(self, path, data):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("PUT", self._url(path, "CREATE", overwrite="true"))
        r = conn.getresponse()
        r.read()
        conn.close()
        if r.status != 307:
            raise AssertionError(f"WebHDFS CREATE {path}: {r.status}")
        u = urllib.parse.urlsplit(r.getheader("Location"))
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.request("PUT", f"{u.path}?{u.query}", body=data)
        r = conn.getresponse()
        r.read()
        conn.close()
        if r.status != 201:
            raise AssertionError(f"WebHDFS write {path}: {r.status}")

    def delete(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("DELETE", self._url(path, "DELETE", recursive="true"))
        conn.getresponse().read()
        conn.close()


class AnalyticsTraffic(threading.Thread):
    """A word count every `every` seconds, a job list or a job's status every second between;
    counts answers by class; any 5xx, refused connection or timeout is a failure."""

    def __init__(self, replica, token, input_dir, every):
        super().__init__(daemon=True)
        self.replica, self.input_dir, self.every = replica, input_dir, every
        self.auth = {"Authorization": f"Bearer {token}"}
        self.halt = threading.Event()
        self.counts = {"submitted": 0, "ok": 0, "4xx": 0, "5xx": 0, "refused": 0}
        self.failures = []
        self.jobs = []

    def call(self, method, path, body=None):
        try:
            status, raw = request(self.replica.port, method, path, body, self.auth)
        except (OSError, http.client.HTTPException) as e:
            self.counts["refused"] += 1
            self.failures.append(("analytics", method, path, None, repr(e)))
            return None, None
        kind = "5xx" if status >= 500 else "4xx" if status >= 400 else "ok"
        self.counts[kind] += 1
        if kind != "ok":
            self.failures.append(("analytics", method, path, status, raw[:200]))
        return status, raw

    def run(self):
        next_job, n = time.monotonic(), 0
        while not self.halt.is_set():
            n += 1
            if time.monotonic() >= next_job:
                next_job += self.every
                status, raw = self.call("POST", "/v1/wordcount",
                                        {"path": self.input_dir, "top": 1 + len(self.jobs) % 50})
                if status in (200, 202):
                    self.jobs.append(json.loads(raw)["id"])
                    self.counts["submitted"] += 1
            elif self.jobs and n % 2:
                self.call("GET", f"/v1/jobs/{self.jobs[-1 - n % len(self.jobs)]}")
            else:
                self.call("GET", "/v1/jobs?limit=5")
            self.halt.wait(1.0)

    def states(self):
        out = {}
        for j in self.jobs:
            try:
                status, raw = request(self.replica.port, "GET", f"/v1/jobs/{j}", None, self.auth)
                state = json.loads(raw)["state"] if status == 200 else f"http {status}"
            except (OSError, http.client.HTTPException, ValueError):
                state = "unanswered"
            out[state] = out.get(state, 0) + 1
        return out

    def stop(self):
        self.halt.set()
        self.join(40)


class Soak:
    def __init__(self):
        self.t0 = None
        stack = load_stack_env()
        for k in ("GRIDGATE_KAFKA_BROKERS", "GRIDGATE_MONGO_URI", "GRIDGATE_REDIS_URL",
                  "GRIDGATE_WEBHCAT_URL", "GRIDGATE_WEBHDFS_URL"):
            if k not in stack:
                raise AssertionError(f"{k} missing from tests/stack/env: run tests/stack/up")
        tag = uuid.uuid4().hex[:10]
        self.run_id = random.getrandbits(32)
        self.brokers, self.topic = stack["GRIDGATE_KAFKA_BROKERS"], f"soak-{tag}"
        self.mongo_uri, self.db = stack["GRIDGATE_MONGO_URI"], f"soak_{tag}"
        self.hdfs = WebHdfs(stack["GRIDGATE_WEBHDFS_URL"], stack["GRIDGATE_HADOOP_USER"])
        self.hdfs_dir = f"/tmp/gridgate-soak/{tag}"
        self.token = uuid.uuid4().hex
        self.logs = tempfile.mkdtemp(prefix="gg-soak-")
        common = {"GRIDGATE_KAFKA_BROKERS": self.brokers, "GRIDGATE_KAFKA_TOPIC": self.topic}
        self.envs = {
            "ingest": dict(common, GRIDGATE_KAFKA_GROUP=f"soak-ingest-{tag}",
                           GRIDGATE_MONGO_URI=self.mongo_uri, GRIDGATE_MONGO_DB=self.db),
            "cache": dict(common, GRIDGATE_KAFKA_GROUP=f"soak-cache-{tag}",
                          GRIDGATE_REDIS_URL=stack["GRIDGATE_REDIS_URL"],
                          GRIDGATE_REDIS_PREFIX=f"ggsoak-{tag}:"),
            "analytics": {
                "GRIDGATE_WEBHCAT_URL": stack["GRIDGATE_WEBHCAT_URL"],
                "GRIDGATE_WEBHDFS_URL": stack["GRIDGATE_WEBHDFS_URL"],
                "GRIDGATE_HADOOP_USER": stack["GRIDGATE_HADOOP_USER"],
                "GRIDGATE_JOBS_DIR": f"{self.hdfs_dir}/jobs",
                "GRIDGATE_INPUT_ROOTS": "/tmp/gridgate-soak",
                "GRIDGATE_API_TOKEN": self.token,
                "GRIDGATE_POLL_INTERVAL_MS": "1000",
            },
        }
        self.replicas, self.series, self.lookups = {}, {}, []
        self.producer = self.analytics = None

    def ingest_paths(self, n):
        produced = self.producer.produced
        if n % 3 == 2 or produced == 0:
            return "/v1/ingest/status" if n % 2 else f"/v1/readings?station={1 + n % STATIONS}&limit=5"
        # A reading a little behind the producer: mostly stored, sometimes not yet (404).
        return f"/v1/readings/{cid(self.run_id, max(0, produced - 1 - (n * 7) % 400))}"

    def cache_paths(self, n):
        s = 1 + n % STATIONS
        return [f"/v1/stations/{s}/latest", f"/v1/latest?stations={s},{1 + s % STATIONS}",
                f"/v1/stations/{s}/recent?limit=5", "/v1/stations?limit=100"][n % 4]

    def ingest_lag(self):
        """Readings on the topic that ingest has not committed yet: what its Kafka client may
        hold in memory, fetched ahead of the store."""
        try:
            return self.replicas["ingest"].json("/v1/ingest/status")["total_lag"]
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            return "?"

    def start(self):
        log(f"topic {self.topic}, database {self.db}, HDFS {self.hdfs_dir}, logs in {self.logs}")
        with open(ALICE, "rb") as f:
            self.hdfs.put(f"{self.hdfs_dir}/in/alice.txt", f.read())
        wait_for(lambda: "4 partitions" in subprocess.run(
            ["kcat", "-b", self.brokers, "-L", "-t", self.topic], capture_output=True,
            text=True, timeout=10).stdout, 30, "the topic created")
        for name in ("ingest", "cache", "analytics"):
            r = Replica(name, name, self.envs[name], self.logs).start()
            self.replicas[name] = r
        wait_for(lambda: all(http_get(r.port, "/readyz")[0] == 200
                             for r in self.replicas.values()), 120, "every service ready", 0.5)
        self.t0 = time.monotonic()
        for name, r in self.replicas.items():
            self.series[name] = Series(name, r.proc.pid, r.port)
            self.series[name].sample(self.t0)
        self.producer = Producer(self.brokers, self.topic, self.run_id, STATIONS, RATE,
                                 BAD_EVERY, 1 << 30)
        self.producer.start()
        self.lookups = [Lookups(self.replicas["ingest"], self.ingest_paths),
                        Lookups(self.replicas["cache"], self.cache_paths)]
        for lk in self.lookups:
            lk.start()
        self.analytics = AnalyticsTraffic(self.replicas["analytics"], self.token,
                                          f"{self.hdfs_dir}/in", JOB_EVERY)
        self.analytics.start()

    def run(self):
        self.start()
        log(f"traffic on: {RATE} readings/s over {STATIONS} stations, a word count every "
            f"{JOB_EVERY:g} s; {SECONDS:g} s, warm-up {WARMUP * SECONDS:g} s, a sample every "
            f"{SAMPLE_EVERY:g} s")
        next_sample, next_note = self.t0 + SAMPLE_EVERY, self.t0 + 60
        while time.monotonic() < self.t0 + SECONDS:
            time.sleep(max(0.0, next_sample - time.monotonic()))
            next_sample += SAMPLE_EVERY
            inodes = sockets()
            for name, r in self.replicas.items():
                if r.proc.poll() is not None:
                    raise AssertionError(f"{name} exited ({r.proc.returncode}):\n{r.log_tail()}")
                self.series[name].sample(self.t0, inodes)
            if time.monotonic() >= next_note:
                next_note += 60
                log(" ".join(f"{n} {s.samples[-1][1]} kB/{s.samples[-1][2]} fds/"
                             f"{s.samples[-1][3]} thr" for n, s in self.series.items()) +
                    f"; produced {self.producer.produced}; ingest lag {self.ingest_lag()}; "
                    f"load {os.getloadavg()[0]:.2f}")
        return self.finish()

    def finish(self):
        load = os.getloadavg()
        duration = time.monotonic() - self.t0
        lag = self.ingest_lag()
        self.producer.halt.set()  # the count stops here; finish() below lets kcat deliver
        for lk in self.lookups:
            lk.halt.set()
        self.analytics.halt.set()
        for lk in self.lookups:
            lk.stop()
        self.analytics.stop()
        figures, failed = [], []
        for name, s in self.series.items():
            f, bad = judge(s, SECONDS, WARMUP, RSS_GROWTH)
            figures.append((name, f))
            failed += bad
        # The figures first: the checks of the store below may take minutes on a busy machine.
        print(table(figures), flush=True)
        delivered = self.producer.finish()
        produced = self.producer.produced
        want = {cid(self.run_id, i) for i in range(produced)}

        def tool(what):
            return subprocess.run([os.path.join(BIN_DIR, "tool_ingest_mongo"), what,
                                   self.mongo_uri, self.db, "readings"], capture_output=True,
                                  text=True, timeout=600, check=True).stdout.split()
        notes = []
        ingest = self.replicas["ingest"]
        try:  # ingest's own count while waiting (a count in the store is a scan), then every id
            wait_for(lambda: ingest.json("/v1/ingest/status")["counters"]["stored"] >= produced,
                     300, "every reading stored", pause=1)
        except Timeout as e:
            notes.append(str(e))
        try:
            stored = tool("ids")
        except subprocess.SubprocessError as e:
            notes.append(f"stored ids unread: {e}")
            stored = []
        stored_ok = len(stored) == len(set(stored)) == produced and set(stored) == want

        cache = self.replicas["cache"]

        def latest_ok():
            good = 0
            for s, c in self.producer.newest.items():
                st, _, body = http_get(cache.port, f"/v1/stations/{s}/latest")
                good += st == 200 and json.loads(body)["correlation_id"] == c
            return good
        try:
            wait_for(lambda: latest_ok() == len(self.producer.newest), 60,
                     "every station's latest reading cached", pause=0.5)
        except Timeout as e:
            notes.append(str(e))
        latest = latest_ok()
        jobs = self.analytics.states()

        fds = {name: fd_kinds(r.proc.pid) for name, r in self.replicas.items()}
        exits = {name: r.terminate(30) for name, r in self.replicas.items()}
        lk = {k: sum(x.counts[k] for x in self.lookups) for k in self.lookups[0].counts}
        a = self.analytics.counts
        fivexx = lk["5xx"] + lk["bad503"] + lk["unavailable"] + a["5xx"]
        unanswered = lk["refused"] + lk["hang"] + a["refused"]
        if not delivered:
            failed.append(f"kcat did not deliver everything: {self.producer.stderr[-300:]!r}")
        if not stored_ok:
            failed.append(f"stored {len(set(stored) & want)} of {produced} produced "
                          f"({len(stored) - len(set(stored))} duplicated)")
        if latest != len(self.producer.newest):
            failed.append(f"cache latest right for {latest} of {len(self.producer.newest)} stations")
        if fivexx or unanswered:
            failed.append(f"{fivexx} 5xx answers, {unanswered} refused or unanswered requests")
        if a["4xx"]:
            failed.append(f"analytics answered {a['4xx']} requests with a 4xx")
        for name, rc in exits.items():
            if rc != 0:
                failed.append(f"{name} exited {rc} on SIGTERM")
        failures = [f for x in self.lookups for f in x.failures] + self.analytics.failures
        if failures:
            log(f"failed requests by kind and service: "
                f"{dict(collections.Counter((f[0], f[1]) for f in failures))}")
        for f in failures[:10]:
            log(f"failed request: {f}")
        for n in notes:
            log(n)
        for name, kinds in fds.items():
            if any(f.startswith(name + ":") and ("descriptors" in f or "connections" in f
                                                 or "unix" in f) for f in failed):
                log(f"{name} descriptors at the end: {sorted(kinds.items(), key=lambda kv: -kv[1])}")
        log(f"lookups {lk}; analytics {a}; jobs {jobs}; ingest lag at the end of the run {lag}; "
            f"logs in {self.logs}")
        for f in failed:
            print(f"FAILED: {f}", flush=True)
        flat = ("descriptors", "connections", "unix sockets", "threads")
        rss = " ".join(f"{n} {100 * (f['rss'][2] / f['rss'][1] - 1):+.1f}%" for n, f in figures)
        print(f"soak: {'PASS' if not failed else 'FAIL'} {duration:.0f} s, load "
              f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; produced {produced} stored "
              f"{len(set(stored) & want)}; lookups {sum(lk.values()) + sum(a.values()) - a['submitted']} "
              f"5xx {fivexx}; jobs {a['submitted']}; rss {rss}; fds and threads "
              f"{'NOT flat' if any(k in f for f in failed for k in flat) else 'flat'}",
              flush=True)
        return not failed

    def close(self):
        for r in self.replicas.values():
            r.terminate(15)
        if self.producer and self.producer.kcat.poll() is None:
            self.producer.halt.set()
            self.producer.kcat.kill()
        subprocess.run([os.path.join(BIN_DIR, "tool_ingest_mongo"), "drop", self.mongo_uri,
                        self.db], capture_output=True, timeout=60)
        try:
            self.hdfs.delete(self.hdfs_dir)
        except OSError:
            pass


def main():
    soak = Soak()
    try:
        ok = soak.run()
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        for r in soak.replicas.values():
            log(f"--- {r.name} log tail:\n{r.log_tail(15)}")
        print(f"soak: FAIL: {e}", flush=True)
        return 1
    finally:
        soak.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
