"""The servers of tests/stack and the gridgate replicas, as the fault suite kills and restarts them.

`tests/stack/up` formats Kafka's storage and empties FerretDB's data directory whenever it
starts one of them, so a crashed broker or store restarted through `up` would come back empty
and take every stored reading with it. A crash in production keeps the disks, so the suite
restarts Kafka and FerretDB in place instead: the command line recorded in /proc before the
kill is started again, detached like `up` starts it, on the same port and data directory, and
the stack's pid file is updated so that `tests/stack/down` still stops it. Redis runs without
persistence (as in the stack), so it comes back empty, as it would after a crash; it is started
with lib/redis.sh's arguments on its old port."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

SOURCE_DIR = os.environ.get("GG_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("GG_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
STACK_DIR = os.path.join(SOURCE_DIR, "tests", "stack")

# The integration tests' wait and launch helpers, shared by every launcher of the binaries.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Timeout, scaled, service_command, wait_for  # noqa: E402,F401


def load_stack_env():
    env = {}
    with open(os.path.join(STACK_DIR, "env")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, v = line[7:].split("=", 1)
                env[k] = v.strip("'\"")
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class StackServer:
    """One server of tests/stack (redis, kafka or mongo), found through run/<name>/pid."""

    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(STACK_DIR, "run", name)
        self.kills = 0
        self.stops = 0

    def pid(self):
        with open(os.path.join(self.dir, "pid")) as f:
            return int(f.read().split()[0])

    def port(self):
        with open(os.path.join(self.dir, "port")) as f:
            return int(f.read().split()[0])

    def ready(self):
        port = self.port()
        if self.name == "redis":
            r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"],
                               capture_output=True, text=True, timeout=5)
            return r.stdout.strip() == "PONG"
        if self.name == "kafka":
            r = subprocess.run(["kcat", "-b", f"127.0.0.1:{port}", "-L", "-m", "3"],
                               capture_output=True, text=True, timeout=10)
            return f"broker 1 at 127.0.0.1:{port}" in r.stdout
        with open(os.path.join(self.dir, "bin")) as f:
            binary = f.read().strip()
        r = subprocess.run([binary, "-ping", f"127.0.0.1:{port}", "-timeout", "2s"],
                           capture_output=True, timeout=10)
        return r.returncode == 0

    def kill_and_restart(self, timeout=90):
        """kill -9, then the same server on the same port (and, but for Redis, the same data)."""
        pid, port = self.pid(), self.port()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        cwd = os.readlink(f"/proc/{pid}/cwd")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 10,
                 f"{self.name} pid {pid} gone")
        self.kills += 1
        if self.name == "redis":
            # As lib/redis.sh starts it, but in the foreground, so that a start that fails is seen
            # and tried again with its output kept, as for the others. Not through `up`: it takes
            # a port with connections in TIME_WAIT for a busy one and would move Redis elsewhere.
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--dir",
                    os.path.join(self.dir, "data")]
            cwd = self.dir
        self._relaunch(argv, cwd, timeout)
        if self.port() != port:
            raise AssertionError(f"{self.name} came back on port {self.port()}, not {port}")

    def _relaunch(self, argv, cwd, timeout):
        """The killed server's own command line again, as often as it takes within timeout: a
        start that exits at once or never answers is retried (with its log's tail kept for the
        failure message), as a supervisor would."""
        log = os.path.join(self.dir, {"kafka": "stdout.log", "redis": "redis.log"}.get(
            self.name, "ferretdb.log"))
        deadline, attempt, tails = time.monotonic() + timeout, 0, []
        while time.monotonic() < deadline:
            attempt += 1
            start = os.path.getsize(log) if os.path.exists(log) else 0
            with open(log, "ab") as out:
                proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        close_fds=True)
            with open(os.path.join(self.dir, "pid"), "w") as f:
                f.write(f"{proc.pid}\n")
            try:
                wait_for(lambda: proc.poll() is not None or self.ready(),
                         min(45, max(1, deadline - time.monotonic())),
                         f"{self.name} answering after kill -9", pause=0.2)
            except Timeout:
                pass
            if proc.poll() is None and self.ready():
                if attempt > 1:
                    print(f"{self.name}: answering after {attempt} starts", flush=True)
                return
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            with open(log, "rb") as f:
                f.seek(start)
                tails.append(f.read()[-2000:].decode(errors="replace"))
        raise Timeout(f"timed out after {timeout} s waiting for {self.name} answering after "
                      f"kill -9 ({attempt} starts); the last start's log:\n"
                      f"{tails[-1] if tails else ''}")

    def stop(self):
        os.kill(self.pid(), signal.SIGSTOP)
        self.stops += 1

    def cont(self):
        os.kill(self.pid(), signal.SIGCONT)


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Replica:
    """One gridgate-ingest or gridgate-cache process; keeps its port across restarts, so the
    lookup threads always know where it answers. `live` is true between a good /healthz after
    a start and the moment the suite decides to kill or stop it; `generation` counts starts."""

    def __init__(self, service, name, env, log_dir):
        self.service, self.name = service, name
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(env)
        self.env["GRIDGATE_LISTEN"] = f"127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.proc = None
        self.live = False
        self.generation = 0
        self.kills = 0

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(service_command(os.path.join(BIN_DIR, f"gridgate-{self.service}")),
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: self.proc.poll() is None and http_get(self.port, "/healthz")[0] == 200,
                 timeout, f"{self.name} /healthz")
        self.generation += 1
        self.live = True
        return self

    def kill9(self):
        self.live = False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def terminate(self, timeout=20):
        self.live = False
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode if self.proc else None

    def crashed(self):
        """An exit the suite did not cause."""
        return self.live and self.proc.poll() is not None

    def threads(self):
        return threads_of(self.proc.pid)

    def json(self, path):
        status, _, body = http_get(self.port, path)
        if status != 200:
            raise ValueError(f"{self.name} {path}: {status}")
        return json.loads(body)

    def log_tail(self, lines=30):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
