"""What the soak measures of each service process (/proc: resident memory, open descriptors,
threads) and how it judges the series.

The windows. A run of T seconds has a warm-up of its first `warmup` fraction (0.2: two minutes of
ten, 12 s of the 60-s CI run) in which connection pools fill, librdkafka's buffers and threads
start, the cache's in-process copy reaches every station, malloc's per-thread arenas get their
first chunks. The "after warm-up" value is the median of the samples in the window that starts
where the warm-up ends and is one tenth of the run long; the "end" value is the median of the
samples in the last tenth of the run. Medians, not single samples: a sample may catch a request
in flight (an accepted socket, a reply buffer being built) and a median of several ignores it.

Descriptors, sorted by what holds them:
- accepted: connections of the soak's clients to the service (its listening port); they come and
  go with the clients, at most one per client, and are not judged;
- connections: TCP connections the service opened to a backend (Kafka, MongoDB, Redis, WebHCat,
  WebHDFS), and unix sockets (libcurl's wake-up socket pair, two per handle; gridgate-analytics
  keeps one handle per thread that calls a backend). Pools and per-thread handles open them on
  demand: the MongoDB pool adds a client when every pooled one is in use at once, a thread's
  libcurl handle is made on its first call. So they may still grow after the warm-up, towards a
  ceiling set by the threads: at most one connection per thread per backend port, at most two
  unix sockets per thread. More than that is a leak;
- other: everything else (files, pipes, eventfds, epoll, the listening socket), which must end
  where it was after the warm-up.

The criteria, per service: resident memory (VmRSS) at the end less than `rss_growth` (10 %)
above its value after warm-up; "other" descriptors at the end equal to their value after warm-up;
after the warm-up, never more connections to one backend port than threads and never more unix
sockets than two per thread; threads at the end equal to their value after warm-up (every pool
is of fixed size; a thread per request or per reconnect would show at once)."""
import os
import statistics
import time


def sockets():
    """socket inode -> (local port, remote port) of every TCP socket, and the set of unix
    socket inodes, from /proc/net (all processes: shared by the services sampled together)."""
    tcp, unix = {}, set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            tcp[cols[9]] = (int(cols[1].split(":")[1], 16), int(cols[2].split(":")[1], 16))
    try:
        with open("/proc/net/unix") as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                if len(cols) >= 7:
                    unix.add(cols[6])
    except OSError:
        pass
    return tcp, unix


def proc_sample(pid, port, inodes=None):
    """(rss_kb, fds, threads, other, most connections to one backend port, unix sockets) of a
    live process listening on port."""
    tcp, unix = inodes or sockets()
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed meanwhile
    inodes_of = [t[8:-1] if t.startswith("socket:[") else None for t in targets]
    if any(i and i not in tcp and i not in unix for i in inodes_of):
        tcp, unix = sockets()  # a socket opened since the tables were read: read them again
    fds = len(targets)
    other = unix_sockets = 0
    backends = {}
    for inode in inodes_of:
        if inode in tcp:
            local, remote = tcp[inode]
            if local == port:
                other += remote == 0  # the listening socket; accepted ones are not judged
            else:
                backends[remote] = backends.get(remote, 0) + 1
        elif inode in unix:
            unix_sockets += 1
        else:
            other += 1
    return rss, fds, threads, other, max(backends.values(), default=0), unix_sockets


def fd_kinds(pid):
    """What a process's descriptors are, counted: files by path, TCP sockets by remote port
    (listening ones: port 0), unix sockets, pipes; to name what grew when they are not flat."""
    tcp, unix = sockets()
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = target[8:-1]
            target = (f"tcp to port {tcp[inode][1]}" if inode in tcp
                      else "unix socket" if inode in unix else "socket")
        elif target.startswith("pipe:["):
            target = "pipe"
        kinds[target] = kinds.get(target, 0) + 1
    return kinds


class Series:
    """Samples of one process: (seconds since the run started, *proc_sample)."""

    def __init__(self, name, pid, port):
        self.name, self.pid, self.port = name, pid, port
        self.samples = []

    def sample(self, t0, inodes=None):
        self.samples.append((time.monotonic() - t0, *proc_sample(self.pid, self.port, inodes)))

    def window(self, start, end, column):
        values = [s[column] for s in self.samples if start <= s[0] < end]
        return statistics.median(values) if values else None


COLUMNS = {"rss": 1, "fds": 2, "threads": 3, "other": 4}
PER_BACKEND, UNIX = 5, 6


def judge(series, duration, warmup=0.2, rss_growth=0.10):
    """{metric: (start, after_warmup, end)} and the list of failed criteria of one series."""
    tenth = duration / 10
    w0 = duration * warmup
    figures, failed = {}, []
    for metric, col in COLUMNS.items():
        start = series.samples[0][col] if series.samples else None
        after = series.window(w0, w0 + tenth, col)
        end = series.window(duration - tenth, duration + 1, col)
        figures[metric] = (start, after, end)
        if after is None or end is None:
            failed.append(f"{series.name}: too few {metric} samples")
    if failed:
        return figures, failed
    (_, rss0, rss1), (_, th0, th1), (_, ot0, ot1) = (figures[m] for m in ("rss", "threads", "other"))
    if rss1 > rss0 * (1 + rss_growth):
        failed.append(f"{series.name}: RSS grew {100 * (rss1 / rss0 - 1):.1f} % after warm-up "
                      f"({rss0:.0f} -> {rss1:.0f} kB; limit {100 * rss_growth:.0f} %)")
    if ot1 > ot0:
        failed.append(f"{series.name}: descriptors other than connections {ot0:g} -> {ot1:g} "
                      "after warm-up")
    if th1 != th0:
        failed.append(f"{series.name}: threads {th0:g} -> {th1:g} after warm-up")
    late = [s for s in series.samples if s[0] >= w0]
    per_backend = max(s[PER_BACKEND] for s in late)
    unix = max(s[UNIX] for s in late)
    threads = max(s[3] for s in late)
    if per_backend > threads:
        failed.append(f"{series.name}: {per_backend} connections to one backend port, "
                      f"{threads} threads")
    if unix > 2 * threads:
        failed.append(f"{series.name}: {unix} unix sockets, {threads} threads")
    figures["peak"] = (per_backend, unix)
    return figures, failed


def growth(figures):
    start, after, end = figures["rss"]
    return 100 * (end / after - 1) if after and end else float("nan")


def table(rows):
    """rows: [(name, figures)]; the soak's table of start / after warm-up / end per service;
    "other" are the descriptors but connections; "peak" the most connections to one backend
    port and the most unix sockets after warm-up."""
    out = [f"{'service':<10} {'RSS kB start':>12} {'warm-up':>8} {'end':>7} {'growth':>7} |"
           f" {'fds':>3} {'warm':>4} {'end':>3} | {'other':>5} {'end':>3} |"
           f" {'threads':>7} {'warm':>4} {'end':>3} | {'peak conn/unix':>14}"]
    for name, f in rows:
        r, d, t, o = f["rss"], f["fds"], f["threads"], f["other"]
        p = f.get("peak", (None, None))
        out.append(f"{name:<10} {_n(r[0]):>12} {_n(r[1]):>8} {_n(r[2]):>7} {growth(f):>6.1f}% |"
                   f" {_n(d[0]):>3} {_n(d[1]):>4} {_n(d[2]):>3} | {_n(o[1]):>5} {_n(o[2]):>3} |"
                   f" {_n(t[0]):>7} {_n(t[1]):>4} {_n(t[2]):>3} | {_n(p[0]):>8}/{_n(p[1])}")
    return "\n".join(out)


def _n(v):
    return "-" if v is None else f"{v:g}" if isinstance(v, float) and v != int(v) else f"{int(v)}"
