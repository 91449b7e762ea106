"""The long-lived Hive engine (HiveEngine.java) as seen from the stand-in: starts the JVM, speaks
its line protocol, and kills it to kill a running job."""
import base64
import logging
import os
import signal
import subprocess
import threading
import time

log = logging.getLogger("webhcat.engine")

# Java 17 closes the JDK internals that Hive (Kryo, its reflection helpers) and Hadoop reach
# into; these are the packages Hive 4's own launch scripts open.
JAVA_OPENS = [
    "java.base/java.lang", "java.base/java.lang.invoke", "java.base/java.lang.reflect",
    "java.base/java.io", "java.base/java.net", "java.base/java.nio", "java.base/java.math",
    "java.base/java.text", "java.base/java.time", "java.base/java.util",
    "java.base/java.util.concurrent", "java.base/java.util.concurrent.atomic",
    "java.base/java.util.regex", "java.base/sun.nio.ch", "java.sql/java.sql",
]


class EngineDied(Exception):
    """The engine process ended (killed on purpose, or crashed) in the middle of a request."""


def _b64(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def _unb64(s):
    return base64.b64decode(s).decode("utf-8", "replace")


class Engine:
    def __init__(self, classpath, settings, log_dir, work_dir, heap="1g", start_timeout=300.0):
        self.classpath = classpath
        self.settings = settings  # HiveConf NAME -> VALUE for every job
        self.log_dir = log_dir
        self.work_dir = work_dir  # the JVM's working directory
        self.heap = heap
        self.start_timeout = start_timeout
        self.proc = None
        self._state = "down"
        self.starts = 0
        self.was_ready = False
        self._lock = threading.Lock()  # guards proc for kill() from other threads

    @property
    def state(self):
        """down | starting | ready."""
        return self._state

    @state.setter
    def state(self, value):
        # Also in RUN_DIR/engine.state for tests/stack/lib/webhcat.sh: "starting" before the
        # first READY, then "ready", or "restarting" while a new engine replaces a killed one.
        self._state = value
        if value == "ready":
            self.was_ready = True
        shown = "restarting" if value != "ready" and self.was_ready else value
        path = os.path.join(self.log_dir, "engine.state")
        with open(path + ".tmp", "w") as f:
            f.write(shown + "\n")
        os.replace(path + ".tmp", path)

    def command(self):
        cmd = ["java", f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
               "-Djava.awt.headless=true"]
        cmd += [f"--add-opens={p}=ALL-UNNAMED" for p in JAVA_OPENS]
        here = os.path.dirname(os.path.abspath(__file__))
        cmd += [f"-Dlog4j2.configurationFile={here}/engine-log4j2.properties",
                f"-Dgg.engine.log={self.log_dir}/engine.log",
                f"-Dderby.stream.error.file={self.log_dir}/derby.log"]
        # Also as system properties: parts of Hive (the metastore's background threads) build
        # their configuration from scratch, and read those.
        cmd += [f"-D{k}={v}" for k, v in self.settings.items()]
        cmd += ["-cp", self.classpath, "HiveEngine"]
        for k, v in self.settings.items():
            cmd += ["--set", f"{k}={v}"]
        return cmd

    def start(self):
        """Starts the JVM and waits until it has opened its metastore (READY)."""
        self.stop()
        self.starts += 1
        self.state = "starting"
        t0 = time.monotonic()
        err = open(os.path.join(self.log_dir, "engine.out"), "ab")
        try:
            proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err, close_fds=True, cwd=self.work_dir)
        finally:
            err.close()
        with self._lock:
            self.proc = proc
        deadline = t0 + self.start_timeout
        timer = threading.Timer(self.start_timeout, self.kill)
        timer.daemon = True
        timer.start()
        try:
            while True:
                kind, arg = self._read()
                if kind == "READY":
                    break
                if kind == "LOG":
                    log.debug("engine warm-up: %s", _unb64(arg))
                if time.monotonic() > deadline:
                    raise EngineDied("no READY in time")
        except EngineDied:
            self.state = "down"
            raise EngineDied(f"the engine did not start; see {self.log_dir}/engine.out")
        finally:
            timer.cancel()
        self.state = "ready"
        log.info("engine ready (pid %d) in %.1f s", proc.pid, time.monotonic() - t0)

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise EngineDied("the engine exited")
        kind, _, arg = line.decode("ascii", "replace").rstrip("\n").partition(" ")
        return kind, arg

    def _send(self, line):
        try:
            self.proc.stdin.write(line.encode("ascii") + b"\n")
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            raise EngineDied(f"writing to the engine: {e}") from e

    def _expect(self, want):
        while True:
            kind, arg = self._read()
            if kind == want:
                return arg
            if kind == "ERROR":
                raise EngineDied(f"protocol error: {_unb64(arg)}")
            if kind == "LOG":
                continue
            raise EngineDied(f"unexpected {kind} while waiting for {want}")

    def run_job(self, job_id, user, hiveconf, hivevar, statements, on_start, on_log, on_row):
        """Runs the statements in one fresh session, in order, stopping at the first failure.
        Returns (code, index of the failed statement or None). on_start(i, stmt) is called
        before each statement is handed to Hive; on_log/on_row receive its stderr/stdout
        lines. Raises EngineDied when the engine goes away meanwhile."""
        if self.state != "ready":
            raise EngineDied("the engine is not running")
        self._send(f"BEGIN {job_id} {_b64(user)}")
        self._expect("OK")
        for k, v in hiveconf.items():
            self._send(f"CONF {_b64(k)} {_b64(v)}")
            self._expect("OK")
        for k, v in hivevar.items():
            self._send(f"VAR {_b64(k)} {_b64(v)}")
            self._expect("OK")
        code, failed = 0, None
        for i, stmt in enumerate(statements):
            on_start(i, stmt)
            self._send(f"EXEC {_b64(stmt)}")
            while True:
                kind, arg = self._read()
                if kind == "LOG":
                    on_log(_unb64(arg))
                elif kind == "ROW":
                    on_row(_unb64(arg))
                elif kind == "DONE":
                    code = int(arg)
                    break
                else:
                    raise EngineDied(f"unexpected {kind} during a statement")
            if code != 0:
                failed = i
                break
        self._send("END")
        self._expect("ENDED")
        return code, failed

    def alive(self):
        with self._lock:
            return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Kills the engine at once (a job kill, or a stuck start) and waits until it is gone,
        so that nobody hands the dead process the next job. Its reader sees EOF."""
        with self._lock:
            proc = self.proc
        if proc and proc.poll() is None:
            log.info("killing the engine (pid %d)", proc.pid)
            try:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass

    def stop(self):
        with self._lock:
            proc, self.proc = self.proc, None
        self.state = "down"
        if not proc:
            return
        if proc.poll() is None:
            try:
                proc.stdin.close()  # the engine exits on EOF
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        for f in (proc.stdout, proc.stdin):
            try:
                f.close()
            except OSError:
                pass
