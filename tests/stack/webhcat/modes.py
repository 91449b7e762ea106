"""Behaviours of a production WebHCat that the stand-in shows only when asked to, selected per
request by a path prefix in front of /templeton/v1:

    http://127.0.0.1:PORT/modes/MODE[=VALUE][,MODE[=VALUE]...]/templeton/v1/...

so that one test (one service pointed at that base URL) gets them and every other client of the
same stand-in does not. Without the prefix the stand-in is the fastest faithful WebHCat. Each mode
names the WebHCat (hcatalog/webhcat/svr) source it follows:

proxy404, proxy502
    Every second GET jobs/:jobid of a job is answered by "a reverse proxy" with an HTML 404 or
    502 page. WebHCat's own errors are always JSON {"error": ...}
    (SimpleWebException.buildMessage, used by SimpleExceptionMapper and by
    CatchallExceptionMapper for 404 and 500); HTML comes from a gateway in front of it (Knox,
    nginx) or a wrong base URL, and says nothing about the job.
slowkill[=SECONDS] (default 10)
    DELETE jobs/:jobid answers only SECONDS after the kill took effect. DeleteDelegator.run
    kills the YARN application (WebHCatJTShim23.killJob), then for a Hive job runs
    `hive --getUrlsFromBeelineSite` and `beeline -e "kill query '<jobid>'"` (killHiveQuery), two
    JVM starts, before it answers.
killfail
    DELETE jobs/:jobid kills the job, then answers 500 {"error": "non-zero exit code 1 when
    running [hive, --getUrlsFromBeelineSite] ..."}: killHiveQuery's runProgram throws an
    IOException after the YARN kill, which CatchallExceptionMapper turns into a 500.
killfail=first
    The first DELETE of each job answers that 500 without killing (the YARN kill itself failed,
    e.g. during a ResourceManager fail-over); later ones work.
nullexit
    A job that ended reports "exitValue": null and "completed": null. QueueStatusBean takes both
    from the job state store (JobState), which WebHCat's cleanup (HDFSCleanup /
    ZooKeeperCleanup, templeton.storage.cleanup.maxage) deletes; statusdir/exit
    (LaunchMapper.writeExitValue) stays.
lostsubmit[=SECONDS] (default 5)
    POST hive queues the job but answers 504 with a gateway's HTML page (the gateway gave up
    waiting), and for SECONDS the job is neither listed nor known to GET jobs/:jobid: WebHCat
    lists and finds what YARN knows (ListDelegator: tracker.getAllJobs(), StatusDelegator:
    "Could not find job"), and a controller job reaches YARN only once LauncherDelegator has
    staged it. Its statusdir files appear when it runs, as LaunchMapper's Watchers create them.
latestdout[=BYTES] (default 0)
    A job submitted in this mode ends with only the first BYTES bytes of its output in
    statusdir/stdout, exit 0 all the same: LaunchMapper waits at most WATCHER_TIMEOUT_SECS
    (10 s) for its Watcher threads to copy the process's stdout after it exited, then
    shutdownNow(), writeExitValue and returns, so a large output can lose its tail.
header
    Jobs print a header line before each result, as the hive command line does with a
    site-wide hive.cli.print.header=true (hive-site.xml; the job may still override it).
beeline
    Jobs print as Hive 4's bin/hive does, which runs Beeline for the command line
    (USE_BEELINE_FOR_HIVE_CLI=true, outputformat=table): each result is a bordered table with a
    header row, and stderr says "N rows selected (S seconds)" or "No rows affected (S seconds)"
    instead of the command line's "Time taken: S seconds, Fetched: N row(s)". Beeline runs
    nothing without a connection: a job whose arguments (`arg`) lack `-u jdbc:hive2://...`
    ends with exit 1 and "Cannot run commands specified using -e. No current connection"
    (BeeLine.initArgs: connectUsingArgs, then defaultBeelineConnect, which finds no
    beeline-site.xml here); a URL of another scheme fails as "No known driver". The stand-in
    has no HiveServer2: any jdbc:hive2:// URL connects.
basicauth=USER:PASSWORD
    Every request must carry HTTP Basic credentials USER:PASSWORD, else it is answered 401 with
    `WWW-Authenticate: BASIC realm="application"` and an HTML page, as an Apache Knox gateway in
    front of WebHCat does (its ShiroBasicAuthProvider, the default authentication of a Knox
    topology); behind Knox the cluster sees the authenticated user, whatever user.name says.
retry[=N] (default 1)
    The first N launcher attempts of a job die before the last statement of its script (the
    container is lost with its node), and the job runs again from the start, as Hadoop retries a failed map task of TempletonControllerJob (up to
    mapreduce.map.maxattempts, 4 by default, from WebHCat's own configuration; the client's
    `define` only reaches hive's --hiveconf) and LaunchMapper.run then kills the children of
    the earlier attempt and starts the same hive command again (reconnecting is for jar and
    streaming jobs only). Each attempt's Watchers create statusdir/stdout and stderr anew, so
    only the last attempt's output is left.
slowlist[=SECONDS] (default 8)
    GET jobs answers after SECONDS: ListDelegator fetches the status of every job
    (StatusDelegator per job, several YARN and job-store calls each) before it answers.
"""
import base64
import re
import threading
import time

PREFIX = "/modes/"

KNOWN = {
    "proxy404": None, "proxy502": None, "slowkill": 10.0, "killfail": None, "nullexit": None,
    "lostsubmit": 5.0, "slowlist": 8.0, "latestdout": 0.0, "header": None, "beeline": None,
    "basicauth": "", "retry": 1.0,
}

_PROXY_PAGES = {
    404: "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
         "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
         "</body>\r\n</html>\r\n",
    502: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
         "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
         "</body>\r\n</html>\r\n",
    504: "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
         "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n"
         "</body>\r\n</html>\r\n",
}


class ModeError(ValueError):
    pass


class ProxyAnswer:
    """An answer that is a gateway's HTML page, not WebHCat's JSON."""


def split(path):
    """("/templeton/v1/...", {mode: value}) of a request path; no prefix, no modes."""
    if not path.startswith(PREFIX):
        return path, {}
    spec, _, rest = path[len(PREFIX):].partition("/")
    modes = {}
    for item in filter(None, spec.split(",")):
        name, eq, value = item.partition("=")
        if name not in KNOWN:
            raise ModeError(f"unknown stand-in mode {name!r}")
        if name == "killfail":
            modes[name] = value if eq else "after"
            continue
        if name == "basicauth":
            if ":" not in value:
                raise ModeError("stand-in mode basicauth needs USER:PASSWORD")
            modes[name] = value
            continue
        default = KNOWN[name]
        try:
            modes[name] = float(value) if eq else default
        except ValueError:
            raise ModeError(f"stand-in mode {name}: {value!r} is not a number") from None
    return "/" + rest, modes


def basic_auth_ok(modes, header):
    """Whether an Authorization header carries the credentials of the basicauth mode."""
    want = modes.get("basicauth")
    if not want:
        return True
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8") == want
    except (ValueError, UnicodeDecodeError):
        return False


def proxy_page(status):
    return _PROXY_PAGES[status].encode("ascii")


class State:
    """What the modes remember across requests: polls per job, DELETEs per job."""

    def __init__(self):
        self.lock = threading.Lock()
        self.polls = {}
        self.deletes = {}

    def proxy_error(self, modes, job_id):
        """The proxy status to answer this GET jobs/:jobid with, or None."""
        status = 404 if "proxy404" in modes else 502 if "proxy502" in modes else None
        if status is None:
            return None
        with self.lock:
            n = self.polls[job_id] = self.polls.get(job_id, 0) + 1
        return status if n % 2 == 1 else None

    @staticmethod
    def proxy_error_status(modes):
        return 404 if "proxy404" in modes else 502

    def first_delete(self, job_id):
        with self.lock:
            n = self.deletes[job_id] = self.deletes.get(job_id, 0) + 1
        return n == 1


_TIME_TAKEN = re.compile(r"^Time taken: ([0-9.]+) seconds(?:, Fetched: (\d+) row\(s\))?$")


class CliOutput:
    """How a job prints its results: "header", "beeline" or None (the command line without a
    header). Rows arrive tab-separated, after the header when there is one; the engine's
    "Time taken" line ends each statement."""

    def __init__(self, fmt, conf, out):
        self.fmt, self.out, self.table = fmt, out, []
        if fmt in ("header", "beeline"):
            conf.setdefault("hive.cli.print.header", "true")

    def row(self, line):
        if self.fmt == "beeline":
            self.table.append(line.split("\t"))
        else:
            self.out.write(line + "\n")

    def log(self, line):
        m = _TIME_TAKEN.match(line) if self.fmt == "beeline" else None
        if not m:
            return line
        self._flush()
        if m[2] is None:
            return f"No rows affected ({m[1]} seconds)"
        n = int(m[2])
        return f"{n} row{'' if n == 1 else 's'} selected ({m[1]} seconds)"

    def _flush(self):
        if not self.table:
            return
        widths = [max(len(r[i]) if i < len(r) else 0 for r in self.table)
                  for i in range(max(len(r) for r in self.table))]
        border = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"
        lines = [border]
        for k, r in enumerate(self.table):
            cells = [(r[i] if i < len(r) else "").ljust(w) for i, w in enumerate(widths)]
            lines.append("| " + " | ".join(cells) + " |\n")
            if k == 0:
                lines.append(border)
        lines.append(border)
        self.out.write("".join(lines))
        self.table = []


def beeline_connect(conn):
    """None when Beeline connects with these -u/-n/-p options (modes.py, beeline), else the
    (exit code, stderr) of a Beeline that could not (BeeLine.initArgs)."""
    url = conn.get("url")
    if not url:
        return 1, "Cannot run commands specified using -e. No current connection"
    if not url.startswith("jdbc:hive2://"):
        return 1, (f"No known driver to handle \"{url}\"\n"
                   "Cannot run commands specified using -e. No current connection")
    return None


def hidden(job, now=None):
    """Whether a job submitted in lostsubmit mode has not reached "YARN" yet."""
    until = job.get("hidden_until")
    return until is not None and (now or time.time()) < until
