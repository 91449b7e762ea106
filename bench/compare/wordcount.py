"""Hive job start-up against data: the same word count (gridgate-analytics' HiveQL on the WebHCat
stand-in) over texts of very different sizes, a HiveQL job without MapReduce stages, and the
same count done directly in this process (from memory, and after a WebHDFS read of the file)."""
import collections
import datetime
import json
import os
import re
import time
import uuid

from benchlib import Http, wait_for

WORD = re.compile(rb"[A-Za-z0-9']+")
TIME_TAKEN = re.compile(r"^Time taken: ([0-9.]+) seconds", re.M)


def local_count(data, top):
    """The service's tokenisation rule (services/analytics/README.md), done in Python."""
    counts = collections.Counter()
    for w in WORD.findall(data):
        w = w.strip(b"'").lower()
        if w:
            counts[w] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [(w.decode(), n) for w, n in ranked]


class Analytics:
    """Jobs through a running gridgate-analytics, timed end to end."""

    def __init__(self, svc, admin, hdfs, jobs_dir):
        self.http, self.admin, self.hdfs, self.jobs_dir = Http(svc.port, 900), admin, hdfs, jobs_dir
        wait_for(lambda: self.http.call("GET", "/v1/jobs", headers=self.auth())[0] == 200, 60,
                 "gridgate-analytics to read its job records")

    def auth(self):
        return {"Authorization": f"Bearer {self.admin}", "Content-Type": "application/json"}

    def run(self, path, body):
        """POSTs with ?wait and returns (seconds, job) once the job has ended."""
        t0 = time.perf_counter()
        status, job = self.http.json("POST", f"{path}?wait=600", json.dumps(body), self.auth())
        secs = time.perf_counter() - t0
        if status != 200 or job.get("state") != "succeeded":
            raise SystemExit(f"{path} {body}: {status} {job}")
        return secs, job

    def hive_seconds(self, job):
        """The sum of Hive's own 'Time taken' lines of the job (its statusdir stderr)."""
        err = self.hdfs.read(f"{self.jobs_dir}/{job['id']}/status/stderr").decode()
        return sum(float(x) for x in TIME_TAKEN.findall(err))


def when(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def queue(executed_log, job):
    """(seconds from submission to Hive's first statement of the job, other jobs Hive ran
    meanwhile), from the stand-in's log of executed statements; (None, None) without it."""
    if not executed_log or not os.path.exists(executed_log):
        return None, None
    t_sub, t_end = when(job["submitted_at"]), when(job["finished_at"])
    first, others = None, set()
    with open(executed_log) as f:
        for line in f:
            e = json.loads(line)
            t = when(e["time"])
            if e["job"] == job["webhcat_job"]:
                first = t if first is None else min(first, t)
            elif t_sub <= t <= t_end:
                others.add(e["job"])
    return (first - t_sub if first is not None else None), len(others)


def texts(alice):
    """name -> bytes: one line, the book, the book 20 and 100 times."""
    first = alice.split(b"\n", 1)[0] + b"\n"
    return {"one line": first, "alice (1x)": alice, "alice (20x)": alice * 20,
            "alice (100x)": alice * 100}


def measure(svc, admin, hdfs, base, alice, executed_log, top=10):
    """Runs every job once, in order; returns the rows of the report."""
    a = Analytics(svc, admin, hdfs, f"{base}/jobs")
    rows = []
    secs, job = a.run("/v1/queries", {"hiveql": f"SELECT {uuid.uuid4().int % 100000}"})
    queued, others = queue(executed_log, job)
    rows.append({"job": "SELECT n (no MapReduce stage)", "bytes": 0, "end_to_end_s": secs,
                 "queued_s": queued, "other_jobs": others, "hive_s": a.hive_seconds(job)})
    for name, data in texts(alice).items():
        d = f"{base}/text/{len(data)}"
        hdfs.create(f"{d}/part-0.txt", data)
        secs, job = a.run("/v1/wordcount", {"path": d, "top": top})
        if job.get("cached"):
            raise SystemExit(f"word count over {d} was answered from an earlier job")
        t0 = time.perf_counter()
        local = local_count(data, top)
        local_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        local_hdfs = local_count(hdfs.read(f"{d}/part-0.txt"), top)
        local_hdfs_s = time.perf_counter() - t0
        hive = [(e["word"], e["count"]) for e in job["result"]["top"]]
        queued, others = queue(executed_log, job)
        rows.append({"job": f"word count, {name}", "bytes": len(data), "end_to_end_s": secs,
                     "queued_s": queued, "other_jobs": others,
                     "hive_s": a.hive_seconds(job), "local_s": local_s,
                     "local_webhdfs_s": local_hdfs_s,
                     "same_top": hive == local and local_hdfs == local, "top3": hive[:3]})
    return rows
