"""What the soak measures of each service process (/proc: resident memory, open descriptors,
threads) and how it judges the series.

The windows. A run of T seconds has a warm-up of its first `warmup` fraction (0.2: two minutes of
ten, 12 s of the 60-s CI run) in which connection pools fill, librdkafka's buffers and threads
start, the cache's in-process copy reaches every station, malloc's per-thread arenas get their
first chunks. The "after warm-up" value is the median of the samples in the window that starts
where the warm-up ends and is one tenth of the run long; the "end" value is the median of the
samples in the last tenth of the run. Medians, not single samples: a sample may catch a request
in flight (an accepted socket, a reply buffer being built) and a median of several ignores it.

The criteria, per service:
- resident memory (VmRSS) at the end less than `rss_growth` (10 %) above its value after warm-up;
- open descriptors at the end at most `fd_allowance` above their value after warm-up. The
  allowance is the number of clients that can hold a connection to the service at the instant
  of a sample (the soak's lookup threads on it: one socket each) - a descriptor leak grows with
  every request or reconnect, thousands over a run, and shows far above it;
- threads at the end equal to their value after warm-up (the thread pools are fixed in size; a
  thread per request or per reconnect would show at once)."""
import os
import statistics
import time


def _unix_inodes():
    inodes = set()
    try:
        with open("/proc/net/unix") as f:
            for row in f.read().splitlines()[1:]:
                inodes.add(row.split()[6])
    except OSError:
        pass
    return inodes


def proc_sample(pid):
    """(rss_kb, fds, threads, unix_sockets) of a live process, from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    unix, fds, unix_sockets = _unix_inodes(), 0, 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in unix:
            unix_sockets += 1
    return rss, fds, threads, unix_sockets


def _socket_peers():
    """socket inode -> "local port>remote address" of every TCP connection, from /proc/net."""
    peers = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            peers[inode] = f"{int(local.split(':')[1], 16)}>{int(remote.split(':')[1], 16)}"
    return peers


def fd_kinds(pid):
    """What a process's descriptors are, counted: files by path, TCP sockets by remote port
    (listening ones as >0), pipes, eventfds; to name what grew when descriptors are not flat."""
    peers = _socket_peers()
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            peer = peers.get(target[8:-1])
            target = f"tcp to port {peer.split('>')[1]}" if peer else "socket (not TCP)"
        elif target.startswith("pipe:["):
            target = "pipe"
        kinds[target] = kinds.get(target, 0) + 1
    return kinds


class Series:
    """Samples of one process: (seconds since the run started, rss_kb, fds, threads,
    unix_sockets)."""

    def __init__(self, name, pid):
        self.name, self.pid = name, pid
        self.samples = []

    def sample(self, t0):
        self.samples.append((time.monotonic() - t0, *proc_sample(self.pid)))

    def window(self, start, end, column):
        values = [s[column] for s in self.samples if start <= s[0] < end]
        return statistics.median(values) if values else None


COLUMNS = {"rss": 1, "fds": 2, "threads": 3}
UNIX_SOCKETS = 4
# A libcurl handle (gridgate-analytics keeps one per thread that calls a backend) holds two
# descriptors of its own, the wake-up socket pair of its internal multi handle (two unix
# sockets), and a cache of at most CURLOPT_MAXCONNECTS (5 by default) kept-alive connections.
CLIENT_HANDLE_FDS = 2 + 5


def judge(series, duration, warmup=0.2, rss_growth=0.10, clients=1):
    """{metric: (start, after_warmup, end)} and the list of failed criteria of one series.
    `clients`: the soak's lookup threads on this service, each holding at most one accepted
    socket at the instant of a sample."""
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
    (_, rss0, rss1), (_, fd0, fd1), (_, th0, th1) = (figures[m] for m in COLUMNS)
    if rss1 > rss0 * (1 + rss_growth):
        failed.append(f"{series.name}: RSS grew {100 * (rss1 / rss0 - 1):.1f} % after warm-up "
                      f"({rss0:.0f} -> {rss1:.0f} kB; limit {100 * rss_growth:.0f} %)")
    # Handles opened after the warm-up by threads that had not called a backend yet: each may
    # add its own descriptors, once; more handles than threads would be handles leaked.
    handles0 = series.window(w0, w0 + tenth, UNIX_SOCKETS) // 2
    handles1 = series.window(duration - tenth, duration + 1, UNIX_SOCKETS) // 2
    allowance = clients + CLIENT_HANDLE_FDS * max(0, handles1 - handles0)
    if fd1 > fd0 + allowance:
        failed.append(f"{series.name}: open fds {fd0:g} -> {fd1:g} after warm-up "
                      f"(allowance {allowance:g}: {clients} client(s), "
                      f"{max(0, handles1 - handles0):g} new client handle(s))")
    if handles1 > th1:
        failed.append(f"{series.name}: {handles1:g} client handles for {th1:g} threads")
    if th1 != th0:
        failed.append(f"{series.name}: threads {th0:g} -> {th1:g} after warm-up")
    figures["handles"] = (series.samples[0][UNIX_SOCKETS] // 2, handles0, handles1)
    return figures, failed


def growth(figures):
    start, after, end = figures["rss"]
    return 100 * (end / after - 1) if after and end else float("nan")


def table(rows):
    """rows: [(name, figures)]; the soak's table of start / after warm-up / end per service
    (client handles: the libcurl handles, counted by their wake-up socket pairs)."""
    out = [f"{'service':<10} {'RSS kB start':>12} {'warm-up':>8} {'end':>7} {'growth':>7} |"
           f" {'fds':>3} {'warm':>4} {'end':>3} | {'threads':>7} {'warm':>4} {'end':>3} |"
           f" {'handles':>7} {'warm':>4} {'end':>3}"]
    for name, f in rows:
        r, d, t = f["rss"], f["fds"], f["threads"]
        h = f.get("handles", (None, None, None))
        out.append(f"{name:<10} {_n(r[0]):>12} {_n(r[1]):>8} {_n(r[2]):>7} {growth(f):>6.1f}% |"
                   f" {_n(d[0]):>3} {_n(d[1]):>4} {_n(d[2]):>3} | {_n(t[0]):>7} {_n(t[1]):>4}"
                   f" {_n(t[2]):>3} | {_n(h[0]):>7} {_n(h[1]):>4} {_n(h[2]):>3}")
    return "\n".join(out)


def _n(v):
    return "-" if v is None else f"{v:g}" if isinstance(v, float) and v != int(v) else f"{int(v)}"
