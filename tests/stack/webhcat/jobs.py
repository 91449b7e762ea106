"""Jobs of the WebHCat stand-in: the records (kept as JSON files so that they survive a restart),
the queue, and the one runner thread that hands them to the Hive engine and writes each job's
statusdir (stdout, stderr, exit) into HDFS, as WebHCat's launcher task does."""
import datetime
import json
import logging
import os
import queue
import re
import threading
import time
import urllib.request

import hiveql
import modes
from engine import EngineDied
from webhdfs import WebHdfsError

log = logging.getLogger("webhcat.jobs")

# Hive prints MapReduce progress as "Stage-1 map = 100%,  reduce = 0%"; WebHCat turns it into
# percentComplete "map 100% reduce 0%" (TempletonUtils.extractPercentComplete).
_PROGRESS = re.compile(r" map = (\d+%),\s+reduce = (\d+%)")
SCRIPT_LIMIT = 16 << 20  # bytes of a `file` script


class JobNotFound(Exception):
    pass


def _now_ms():
    return int(time.time() * 1000)


def resolve_statusdir(statusdir, user):
    """An absolute HDFS path: hdfs://host:port/p -> /p; relative -> /user/<user>/p (WebHCat's
    TempletonUtils.addUserHomeDirectoryIfApplicable)."""
    if not statusdir:
        return None
    if "://" in statusdir:
        statusdir = "/" + statusdir.split("://", 1)[1].partition("/")[2]
    if not statusdir.startswith("/"):
        statusdir = f"/user/{user}/{statusdir}"
    return statusdir.rstrip("/") or "/"


class JobStore:
    """Every job record, by id, guarded by one lock; a condition wakes waiters on changes."""

    def __init__(self, run_dir):
        self.dir = os.path.join(run_dir, "jobs")
        os.makedirs(self.dir, exist_ok=True)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.jobs = {}
        self.jt = str(_now_ms())  # like a cluster timestamp: ids sort in submission order
        self.seq = 0

    def load(self):
        """Reads the records of an earlier run; returns the ids of jobs still queued then. A job
        that was running when the stand-in stopped has lost its launcher: it failed."""
        requeue = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.dir, name)) as f:
                    job = json.load(f)
            except (OSError, ValueError) as e:
                log.warning("skipping unreadable job record %s: %s", name, e)
                continue
            if job["state"] == "RUNNING":
                job.update(state="FAILED", finish_ms=_now_ms(),
                           failure_info="the WebHCat stand-in restarted while the job ran")
                self._save(job)
            elif job["state"] == "PREP":
                requeue.append(job["id"])
            self.jobs[job["id"]] = job
        return requeue

    def _save(self, job):
        path = os.path.join(self.dir, job["id"] + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(job, f)
        os.replace(path + ".tmp", path)

    def create(self, user, userargs, execute, file, defines, args, statusdir, callback,
               hidden_until=None):
        with self.lock:
            self.seq += 1
            job = {
                "id": f"job_{self.jt}_{self.seq:04d}", "user": user, "userargs": userargs,
                "execute": execute, "file": file, "defines": defines, "args": args,
                "statusdir": resolve_statusdir(statusdir, user), "callback": callback,
                "state": "PREP", "submit_ms": _now_ms(), "start_ms": None, "finish_ms": None,
                "exit_value": None, "completed": None, "percent": None, "failure_info": None,
                "msg": None, "kill_requested": False, "hidden_until": hidden_until,
            }
            self.jobs[job["id"]] = job
            self._save(job)
            return dict(job)

    def get(self, job_id):
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise JobNotFound(job_id)
            return dict(job)

    def update(self, job_id, persist=True, **fields):
        with self.lock:
            job = self.jobs[job_id]
            job.update(fields)
            if persist:
                self._save(job)
            self.changed.notify_all()
            return dict(job)

    def list(self, user=None):
        with self.lock:
            return [dict(j) for j in self.jobs.values() if user is None or j["user"] == user]

    def wait_for(self, job_id, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not pred(self.jobs[job_id]):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return dict(self.jobs[job_id])


class Runner(threading.Thread):
    """Takes queued jobs one by one: the engine runs one session at a time."""

    def __init__(self, store, engine, hdfs, run_dir, executed_path):
        super().__init__(name="runner", daemon=True)
        self.store = store
        self.engine = engine
        self.hdfs = hdfs
        self.run_dir = run_dir
        self.queue = queue.Queue()
        self.stopping = threading.Event()
        self.executed_lock = threading.Lock()
        self.executed_path = executed_path
        self.work = os.path.join(run_dir, "work")
        os.makedirs(self.work, exist_ok=True)

    # --- submission and kill ----------------------------------------------------------

    def submit(self, job_id):
        self.queue.put(job_id)

    def kill(self, job_id, wait=10.0):
        """Kills a queued job at once, a running one by killing the engine; returns the record
        after the kill took effect (or after `wait` seconds)."""
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None:
                raise JobNotFound(job_id)
            state = job["state"]
            if state == "PREP":
                job.update(state="KILLED", finish_ms=_now_ms())
                self.store._save(job)
                self.store.changed.notify_all()
            elif state == "RUNNING":
                job["kill_requested"] = True
        if state == "RUNNING":
            log.info("%s: kill requested while running", job_id)
            self.engine.kill()
            return self.store.wait_for(job_id, lambda j: j["state"] != "RUNNING", wait)
        return self.store.get(job_id)

    # --- the loop -----------------------------------------------------------------------

    def run(self):
        backoff = 1.0
        while not self.stopping.is_set():
            if self.engine.state != "ready" or not self.engine.alive():
                try:
                    self.engine.start()
                    backoff = 1.0
                except (EngineDied, OSError) as e:
                    log.error("engine start failed: %s; retrying in %.0f s", e, backoff)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
            try:
                job_id = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            job = self.store.get(job_id)
            if job["state"] != "PREP":
                continue  # killed while queued
            try:
                self.run_job(job)
            except Exception:  # a bug here must not stop the queue
                log.exception("%s: unexpected error", job_id)
                self.store.update(job_id, state="FAILED", finish_ms=_now_ms(),
                                  failure_info="internal error of the WebHCat stand-in")

    def _executed(self, job, i, stmt):
        now = datetime.datetime.now(datetime.timezone.utc)
        line = json.dumps({"time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           "job": job["id"], "user": job["user"], "seq": i,
                           "statement": stmt})
        with self.executed_lock, open(self.executed_path, "a") as f:
            f.write(line + "\n")

    def _script(self, job):
        """The HiveQL text of the job, and None; or None and (exit code, stderr text)."""
        if job["execute"] is not None:
            return job["execute"], None
        path = job["file"]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        try:
            st = self.hdfs.status(path, job["user"])
            if st is None or st["type"] != "FILE":
                return None, (3, f"Could not open input file for reading. "
                                 f"(File {job['file']} does not exist)")
            if st["length"] > SCRIPT_LIMIT:
                return None, (3, f"Could not open input file for reading. "
                                 f"(File {job['file']} is larger than {SCRIPT_LIMIT} bytes)")
            return self.hdfs.read(path, job["user"], SCRIPT_LIMIT).decode("utf-8",
                                                                          "replace"), None
        except WebHdfsError as e:
            return None, (3, f"Could not open input file for reading. ({e})")

    def run_job(self, job):
        jid = job["id"]
        self.store.update(jid, state="RUNNING", start_ms=_now_ms())
        log.info("%s: running for %s", jid, job["user"])
        out_path = os.path.join(self.work, jid + ".stdout")
        err_path = os.path.join(self.work, jid + ".stderr")
        retries = job.get("launcher_retries") or 0  # modes.py, retry
        for attempt in range(retries + 1):
            dies = attempt < retries
            outcome = self._attempt(job, out_path, err_path, dies)
            if dies and not self.store.get(jid)["kill_requested"]:
                log.info("%s: launcher attempt %d died; Hadoop runs it again", jid, attempt + 1)
                continue
            break
        try:
            self._write_statusdir(job, out_path, err_path, outcome)
        except WebHdfsError as e:
            log.error("%s: writing statusdir %s failed: %s", jid, job["statusdir"], e)
            outcome = {"state": "FAILED", "failure_info": f"statusdir: {e}",
                       "exit_value": None, "completed": None}
        finally:
            for p in (out_path, err_path):
                try:
                    os.unlink(p)
                except OSError:
                    pass
        final = self.store.update(jid, finish_ms=_now_ms(), **outcome)
        log.info("%s: %s (exit %s)", jid, final["state"], final["exit_value"])
        if final["callback"]:
            threading.Thread(target=self._callback, args=(final,), daemon=True).start()

    def _attempt(self, job, out_path, err_path, dies=False):
        """One launcher attempt: the statusdir's stdout and stderr created anew, the script run
        (when it dies, as its container does with a lost node, all but its last statement).
        Returns the fields of the job's final record."""
        out = open(out_path, "w", encoding="utf-8")
        err = open(err_path, "w", encoding="utf-8")
        try:
            if job["statusdir"]:
                self.hdfs.mkdirs(job["statusdir"], job["user"])
                # LaunchMapper's Watchers create stdout and stderr as the launcher starts; the
                # stand-in fills them when the job ends.
                for name in ("stdout", "stderr"):
                    self.hdfs.create(f"{job['statusdir']}/{name}", job["user"], b"")
            return self._execute(job, out, err, dies)
        except WebHdfsError as e:
            return {"state": "FAILED", "failure_info": f"statusdir: {e}"}
        finally:
            out.close()
            err.close()

    def _execute(self, job, out, err, dies=False):
        """Runs the job on the engine; returns the fields of its final record."""
        jid = job["id"]
        text, failure = self._script(job)
        beeline = job.get("cli_output") == "beeline"
        if failure is None:
            try:
                conf, var, conn = hiveql.parse_options(job["defines"], job["args"], beeline)
                failure = modes.beeline_connect(conn) if beeline else None
            except hiveql.HiveArgError as e:
                failure = (1, str(e))
        if failure is not None:
            err.write(failure[1] + "\n")
            return {"state": "SUCCEEDED", "exit_value": failure[0], "completed": "done"}
        statements = hiveql.split_statements(text)
        if dies:
            statements = statements[:-1]
        cli = modes.CliOutput(job.get("cli_output"), conf, out)

        def on_log(line):
            err.write(cli.log(line) + "\n")
            m = _PROGRESS.search(line)
            if m:
                self.store.update(jid, persist=False, percent=f"map {m[1]} reduce {m[2]}")

        def on_row(line):
            cli.row(line)

        try:
            code, _ = self.engine.run_job(jid, job["user"], conf, var, statements,
                                          lambda i, s: self._executed(job, i, s), on_log, on_row)
        except EngineDied as e:
            self.engine.stop()  # the loop starts a new one before the next job
            if self.store.get(jid)["kill_requested"]:
                err.write("Job killed\n")
                return {"state": "KILLED"}
            err.write(f"FAILED: the Hive engine died ({e})\n")
            return {"state": "FAILED", "failure_info": f"the Hive engine died: {e}"}
        # The launcher succeeded whatever Hive's exit status: like `hive`, a failed statement
        # shows as a non-zero exitValue ((code & 0xff) as a process exit status).
        exit_value = 0 if code == 0 else (code & 0xFF) or 1
        return {"state": "SUCCEEDED", "exit_value": exit_value, "completed": "done"}

    def _write_statusdir(self, job, out_path, err_path, outcome):
        d = job["statusdir"]
        if not d or (outcome.get("failure_info") or "").startswith("statusdir:"):
            return
        with open(out_path, "rb") as f:
            limit = job.get("stdout_limit")  # modes.py, latestdout
            self.hdfs.create(d + "/stdout", job["user"], f if limit is None else f.read(limit))
        with open(err_path, "rb") as f:
            self.hdfs.create(d + "/stderr", job["user"], f)
        if outcome.get("completed") == "done":
            self.hdfs.create(d + "/exit", job["user"], f"{outcome['exit_value']}\n".encode())

    @staticmethod
    def _callback(job):
        url = job["callback"].replace("$jobId", job["id"])
        if not url.startswith(("http://", "https://")):
            log.warning("%s: callback %s is not an http URL; not called", job["id"], url)
            return
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                log.info("%s: callback %s answered %d", job["id"], url, r.status)
        except Exception as e:  # any failure of somebody else's server is only logged
            log.warning("%s: callback %s failed: %s", job["id"], url, e)
