"""Hive job start-up against data: the same word count (gridgate-analytics' HiveQL on the WebHCat
stand-in) over texts of very different sizes, a HiveQL job without MapReduce stages, and the
same count done directly in this process (from memory, and after a WebHDFS read of the file)."""
import collections
import datetime
import json
import os
import re
import subprocess
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
        # The same request again: answered from the record of the first job, no Hive job.
        again_s, again = a.run("/v1/wordcount", {"path": d, "top": top})
        rows.append({"job": f"word count, {name}", "bytes": len(data), "end_to_end_s": secs,
                     "queued_s": queued, "other_jobs": others,
                     "hive_s": a.hive_seconds(job), "local_s": local_s,
                     "local_webhdfs_s": local_hdfs_s,
                     "same_top": hive == local and local_hdfs == local, "top3": hive[:3],
                     "cached_s": again_s, "cached": bool(again.get("cached")),
                     "dir": d, "local_top": local})
    return rows


def spark(python, hdfs_uri, user, rows, top=10):
    """Runs spark_wc.py (one pyspark process, local[2]) over the directories of the word-count
    rows; adds its figures to them and returns the process's own: wall time, import and
    session start-up."""
    dirs = [r["dir"] for r in rows if "dir" in r]
    t0 = time.monotonic()
    out = subprocess.run([python, "-B", os.path.join(os.path.dirname(__file__), "spark_wc.py"),
                          hdfs_uri, str(top)] + dirs, capture_output=True, text=True,
                         env=dict(os.environ, HADOOP_USER_NAME=user), timeout=1800)
    wall = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"spark_wc.py failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    by_dir = {j["path"]: j for j in res["jobs"]}
    for r in rows:
        j = by_dir.get(r.get("dir"))
        if j:
            r["spark_first_s"], r["spark_repeat_s"] = j["first_s"], j["repeat_s"]
            r["spark_same_top"] = [tuple(x) for x in j["top"]] == r["local_top"]
    return {"wall_s": wall, "import_s": res["import_s"], "session_s": res["session_s"]}


def crossover(fixed_s, small, large):
    """Bytes at which the work (linear between two sizes) equals a fixed cost."""
    (b1, t1), (b2, t2) = small, large
    per_byte = (t2 - t1) / max(b2 - b1, 1)
    return fixed_s / per_byte if per_byte > 0 else float("inf")


def report(rows, spark_run):
    """The table of part 4; spark_run is spark()'s figures, or why Spark did not run."""
    has_spark = isinstance(spark_run, dict)
    print("\n## Word count: Hive (through gridgate-analytics) vs Spark vs one process, same HDFS "
          "files\n")
    if has_spark:
        print(f"Spark: one pyspark process, local[2]: import {spark_run['import_s']:.1f} s, "
              f"SparkSession ready after {spark_run['session_s']:.1f} s (the start-up, paid once "
              f"per process), process wall {spark_run['wall_s']:.1f} s\n")
    else:
        print(f"Spark: not run ({spark_run})\n")
    print("| job | input bytes | Hive end to end s (first) | Hive cached repeat s | queued s "
          "(other jobs) | Hive's 'Time taken' s | Spark first job s | Spark repeat s "
          "| one process: count s | one process: WebHDFS read + count s | same top 10 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for h in rows:
        def f(k, fmt="{:.2f}"):
            return fmt.format(h[k]) if h.get(k) is not None else ""
        queued = (f"{h['queued_s']:.2f} ({h['other_jobs']})" if h["queued_s"] is not None
                  else "?")
        same = ""
        if "same_top" in h:
            same = "yes" if h["same_top"] and h.get("spark_same_top", True) else "NO"
        cached = f("cached_s", "{:.3f}") + ("" if h.get("cached", True) else " (not cached)")
        print(f"| {h['job']} | {h['bytes']} | {h['end_to_end_s']:.2f} | {cached} | {queued} | "
              f"{h['hive_s']:.2f} | {f('spark_first_s')} | {f('spark_repeat_s')} | "
              f"{f('local_s', '{:.3f}')} | {f('local_webhdfs_s', '{:.3f}')} | {same} |")
    counts = [h for h in rows if "local_s" in h]
    if len(counts) < 2:
        return
    small, large = counts[0], counts[-1]
    hive_x = crossover(small["end_to_end_s"], (small["bytes"], small["end_to_end_s"]),
                       (large["bytes"], large["end_to_end_s"]))
    print(f"\nwhere the work catches up with the fixed cost (linear between "
          f"{small['bytes']} and {large['bytes']} bytes): Hive, whose job on one line takes "
          f"{small['end_to_end_s']:.1f} s, at ~{hive_x / 1e6:.0f} MB", end="")
    if has_spark and "spark_repeat_s" in small:
        # The first job of a session also warms the JVM up (it can take longer on one line than
        # later jobs on 100 copies): the per-byte cost comes from the repeats, the fixed cost is
        # the session's start-up plus that first job.
        fixed = spark_run["session_s"] + small["spark_first_s"]
        spark_x = crossover(fixed, (small["bytes"], small["spark_repeat_s"]),
                            (large["bytes"], large["spark_repeat_s"]))
        print(f"; Spark, start-up + first job on one line {fixed:.1f} s, at "
              f"~{spark_x / 1e6:.0f} MB", end="")
    local_rate = large["bytes"] / max(large["local_webhdfs_s"], 1e-6)
    print(f"; one process reads and counts {local_rate / 1e6:.0f} MB/s, so it would count for "
          f"as long as Hive's fixed cost at ~{small['end_to_end_s'] * local_rate / 1e6:.0f} MB")
