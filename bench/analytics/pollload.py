"""Poll load of gridgate-analytics on WebHCat: how many GET jobs/:jobid calls the service makes per
job and per minute of the job's life, for N jobs at once, waited for (?wait) or not. Counted in
the stand-in's request log (tests/stack/run/webhcat/webhcat.log), which logs every request; run
via ./pollload (the running local stack, the service with its default settings)."""
import json
import os
import re
import sys
import threading
import time
import uuid

import bench

LOG = os.path.join(bench.ROOT, "tests", "stack", "run", "webhcat", "webhcat.log")
COUNTS = [int(n) for n in os.environ.get("GG_POLL_JOBS", "1,4,8").split(",")]


def status_calls(wid):
    pat = re.compile(r'"GET [^ ]*/templeton/v1/jobs/' + re.escape(wid) + r'\?')
    with open(LOG, errors="replace") as f:
        return sum(1 for line in f if pat.search(line))


def run(port, text_dir, n, wait, tag):
    """Submits n word counts at once (distinct `top`, so none is answered from the cache) and
    follows them to their end; returns [(webhcat job id, seconds from submission to end)]."""
    out = [None] * n

    def one(i):
        c, h = bench.Conn(port), {"Content-Type": "application/json"}
        body = json.dumps({"path": text_dir, "top": 100 + tag * 100 + i})
        t0 = time.monotonic()
        _, st, loc, data = c.call("POST", "/v1/wordcount" + ("?wait=900" if wait else ""), body, h)
        assert st in (200, 202), data
        j = json.loads(data)
        while j["state"] in ("queued", "running"):
            time.sleep(0.5)  # answered from the service's memory: no WebHCat call
            _, st, _, data = c.call("GET", f"/v1/jobs/{j['id']}", headers=h)
            j = json.loads(data)
        assert j["state"] == "succeeded", j
        out[i] = (j["webhcat_job"], time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main():
    env = bench.stack_env()
    d = f"/tmp/gridgate-bench/{bench.RUN}/poll-text"
    with open(os.path.join(bench.ROOT, "tests", "demo-data", "alice_in_wonderland.txt"), "rb") as f:
        bench.put(env["GRIDGATE_WEBHDFS_URL"], f"{d}/alice.txt", f.read(),
                  env["GRIDGATE_HADOOP_USER"])
    os.environ.update(GRIDGATE_OPEN_ACCESS="true", GRIDGATE_INPUT_ROOTS=d)
    proc, port = bench.start_service(env, f"/tmp/gridgate-bench/{bench.RUN}/poll-jobs")
    print("| jobs at once | waited for | job life s (mean) | status calls per job (mean) "
          "| status calls per job per minute |")
    print("| --- | --- | --- | --- | --- |")
    try:
        tag = 0
        for n in COUNTS:
            for wait in (False, True):
                tag += 1
                jobs = run(port, d, n, wait, tag)
                time.sleep(1)  # the log line of the last call is written after its answer
                calls = [status_calls(w) for w, _ in jobs]
                life = [s for _, s in jobs]
                per_min = sum(c / (s / 60) for c, s in zip(calls, life)) / n
                print(f"| {n} | {'yes' if wait else 'no'} | {sum(life) / n:.1f} "
                      f"| {sum(calls) / n:.1f} | {per_min:.1f} |", flush=True)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
