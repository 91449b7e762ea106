"""Traffic of the fault suite: a steady producer of readings (through kcat) and HTTP lookups
against every replica, classified as they come back."""
import http.client
import json
import subprocess
import tempfile
import threading
import time

from faults_stack import http_get

BASE_TIME = 1764000000  # created_at of reading 0; reading i is BASE_TIME + i ms


def cid(run, i):
    return f"{run:08x}-0000-4000-8000-{i:012x}"


def reading(run, i, stations):
    station = 1 + i % stations
    payload = json.dumps({"sensor_id": station, "modality": (i * 37) % 1000 - 500, "unit": "MW",
                          "temporal_aspect": "real_time"})
    at = f"{BASE_TIME + i / 1000:.6f}"  # a JSON number, as producers send it
    value = (f'{{"payload": {json.dumps(payload)}, "correlation_id": "{cid(run, i)}", '
             f'"created_at": {at}, "schema_version": 1}}')
    return str(station), value


class Producer(threading.Thread):
    """Writes KEY<TAB>VALUE lines to one idempotent kcat producer at a steady rate until told to
    stop; every `bad_every`-th message (up to `bad_max`) is a malformed one with key bad-<n>."""

    def __init__(self, brokers, topic, run, stations, rate, bad_every, bad_max):
        super().__init__(daemon=True)
        # A file, not a pipe: kcat's complaints while the broker is away must never block it.
        self.errors = tempfile.TemporaryFile()
        self.run_id, self.stations, self.rate = run, stations, rate
        self.bad_every, self.bad_max = bad_every, bad_max
        self.kcat = subprocess.Popen(
            # -E: keep going while the broker is away (kcat exits on "all brokers down"
            # otherwise); librdkafka retries until message.timeout.ms.
            ["kcat", "-P", "-E", "-b", brokers, "-t", topic, "-K", "\t",
             "-X", "enable.idempotence=true", "-X", "message.timeout.ms=600000",
             "-X", "linger.ms=5"],
            stdin=subprocess.PIPE, stderr=self.errors)
        self.produced = 0  # good readings written to kcat
        self.bad = []  # keys of the malformed messages
        self.newest = {}  # station -> correlation id of its newest reading
        self.halt = threading.Event()
        self.stderr = b""

    def run(self):
        tick, t0, sent = 0.02, time.monotonic(), 0
        while not self.halt.is_set():
            due = int((time.monotonic() - t0) * self.rate)
            lines = []
            while sent < due:
                sent += 1
                if self.bad_every and sent % self.bad_every == 0 and len(self.bad) < self.bad_max:
                    key = f"bad-{len(self.bad)}"
                    self.bad.append(key)
                    lines.append(f"{key}\tnot a reading {len(self.bad)} {{")
                    continue
                i = self.produced
                station, value = reading(self.run_id, i, self.stations)
                self.newest[station] = cid(self.run_id, i)
                self.produced += 1
                lines.append(f"{station}\t{value}")
            if lines:
                self.kcat.stdin.write("".join(l + "\n" for l in lines).encode())
                self.kcat.stdin.flush()
            self.halt.wait(tick)

    def finish(self, timeout=300):
        """Stops producing, lets kcat deliver everything it holds; True if it all went out."""
        self.halt.set()
        self.join(30)
        self.kcat.stdin.close()
        self.kcat.wait(timeout)
        self.errors.seek(0)
        self.stderr = self.errors.read()
        return self.kcat.returncode == 0 and b"Delivery failed" not in self.stderr and \
            b"Failed to produce" not in self.stderr


class Lookups(threading.Thread):
    """Lookups against one replica, one at a time, all run long. An answer is fine when it is
    2xx, 304, 404 or a 503 application/problem+json; any other 5xx, a 503 without a problem, a
    refused connection or a timeout while the replica is live count as failures (with the
    replica's generation unchanged during the request, so a kill in flight is not one)."""

    def __init__(self, replica, paths, timeout=10.0):
        super().__init__(daemon=True)
        self.replica, self.paths, self.timeout = replica, paths, timeout
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.counts = {"ok": 0, "unavailable": 0, "5xx": 0, "bad503": 0, "refused": 0, "hang": 0}
        self.failures = []  # (what, path, detail)
        self.window = None  # while set: list of (latency, status) of lookups started in it

    def run(self):
        n = 0
        while not self.halt.is_set():
            path = self.paths(n)
            n += 1
            self.lookup(path)
            self.halt.wait(0.05)

    def lookup(self, path):
        r = self.replica
        gen, live = r.generation, r.live
        t0 = time.monotonic()
        status, kind, detail = None, None, ""
        try:
            status, headers, body = http_get(r.port, path, timeout=self.timeout)
            if status < 400 or status == 404:
                kind = "ok"
            elif status == 503 and headers.get("content-type", "").startswith(
                    "application/problem+json"):
                kind = "unavailable"
            elif status == 503:
                kind, detail = "bad503", body[:200]
            elif status >= 500:
                kind, detail = "5xx", body[:200]
            else:
                kind = "ok"  # 4xx for a well-formed lookup would be a contract test's business
        except (TimeoutError, http.client.HTTPException, OSError) as e:
            if not (live and r.live and r.generation == gen):
                return  # killed or restarted meanwhile: expected
            kind = "hang" if isinstance(e, TimeoutError) or "timed out" in str(e) else "refused"
            detail = repr(e)
        latency = time.monotonic() - t0
        with self.lock:
            self.counts[kind] += 1
            if kind not in ("ok", "unavailable"):
                self.failures.append((kind, r.name, path, status, detail))
            if self.window is not None and live:
                self.window.append((latency, status))

    def open_window(self):
        with self.lock:
            self.window = []

    def close_window(self):
        with self.lock:
            w, self.window = self.window, None
        return w

    def stop(self):
        self.halt.set()
        self.join(self.timeout + 5)
