#!/usr/bin/env python3
"""A stand-in for Apache Hive's WebHCat (Templeton) v1 server, for the local test stack.

It answers the calls a client of Hive jobs makes (status, version, POST hive, GET jobs,
GET/DELETE jobs/:jobid) with WebHCat's JSON shapes, parameter names, error bodies
({"error": ...}) and status codes, and runs the HiveQL on a real engine: Apache Hive 4.1 in
embedded mode (HiveEngine.java), over the HDFS of the stack. Each job's statusdir gets the files
stdout, stderr and exit, written over WebHDFS. Every statement handed to Hive is appended to
LOG_DIR/executed.log (one JSON line each, append-only).

  webhcat.py --listen 127.0.0.1:PORT --webhdfs URL --namenode hdfs://127.0.0.1:NN
             --run-dir DIR --log-dir DIR --classpath 'LIBS/*:CLASSES'

RUN_DIR holds the state (job records, the metastore); LOG_DIR the engine's logs, engine.state
and executed.log.
"""
import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import beans
import modes as modes_mod
from engine import Engine
from jobs import JobNotFound, JobStore, Runner
from webhdfs import WebHdfs, WebHdfsError

log = logging.getLogger("webhcat")
PREFIX = "/templeton/v1"
MAX_BODY = 8 << 20


class ApiError(Exception):
    """An answer {"error": message} with an HTTP status (WebHCat's SimpleWebException)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _flag(value):
    """A boolean query or form parameter as JAX-RS reads it: "true" (any case) or false."""
    return value is not None and value.lower() == "true"


class Handler(BaseHTTPRequestHandler):
    server_version = "WebHCat-standin/1"
    protocol_version = "HTTP/1.1"
    modes = {}  # of the request being answered (modes.py)

    # --- plumbing -------------------------------------------------------------------------

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def _send_json(self, status, obj):
        body = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _params(self):
        """Query parameters, and for a form POST the form fields too (as a servlet's
        getParameter sees them): name -> list of values."""
        url = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "bad Content-Length") from None
        if n > MAX_BODY or n < 0:
            self.close_connection = True
            raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
        # Read any body, whatever the method, so that the next request on this connection
        # starts where it should.
        body = self.rfile.read(n) if n else b""
        if self.command in ("POST", "PUT"):
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if body and ctype != "application/x-www-form-urlencoded":
                raise ApiError(415, f"Unsupported Media Type: {ctype or 'none'} "
                                    "(expected application/x-www-form-urlencoded)")
            try:
                form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise ApiError(400, "the form is not UTF-8") from None
            for k, v in form.items():
                params.setdefault(k, []).extend(v)
        return url.path, params

    @staticmethod
    def _one(params, name):
        v = params.get(name)
        return v[0] if v else None

    def _user(self, params):
        user = self._one(params, "user.name")
        if not user:
            raise ApiError(401, "No user found.  Missing user.name parameter.")
        return user

    def _send_html(self, status):
        body = modes_mod.proxy_page(status)
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_unauthorized(self):
        """A Knox gateway's answer to missing or wrong credentials (modes.py, basicauth)."""
        body = b"<html><body><h2>HTTP ERROR 401 Unauthorized</h2></body></html>\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'BASIC realm="application"')
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self):
        try:
            path, params = self._params()
            try:
                path, self.modes = modes_mod.split(path)
            except modes_mod.ModeError as e:
                raise ApiError(400, str(e)) from None
            if not modes_mod.basic_auth_ok(self.modes, self.headers.get("Authorization")):
                self._send_unauthorized()
                return
            if path != PREFIX and not path.startswith(PREFIX + "/"):
                raise ApiError(404, f"Not found: {path}")
            route = path[len(PREFIX):].strip("/")
            status, obj = self.server.app.route(self.command, route, params, self)
            if isinstance(obj, modes_mod.ProxyAnswer):
                self._send_html(status)
                return
            self._send_json(status, obj)
        except ApiError as e:
            self._send_json(e.status, {"error": str(e)})
        except Exception as e:  # answer 500 like WebHCat's catch-all mapper, keep serving
            log.exception("internal error on %s %s", self.command, self.path)
            self._send_json(500, {"error": f"{type(e).__name__}: {e}"})

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch


class App:
    def __init__(self, store, runner, hdfs, base_url):
        self.mode_state = modes_mod.State()
        self.store = store
        self.runner = runner
        self.hdfs = hdfs
        self.base_url = base_url

    def route(self, method, route, params, h):
        parts = route.split("/") if route else []
        if not parts:
            self._allow(method, "GET")
            return 200, {"responseTypes": ["application/json"]}
        if parts == ["status"]:
            self._allow(method, "GET")
            return 200, {"status": "ok", "version": "v1"}
        if parts == ["version"]:
            self._allow(method, "GET")
            return 200, {"supportedVersions": ["v1"], "version": "v1"}
        if parts == ["hive"]:
            self._allow(method, "POST")
            job_id = self.post_hive(params, h)
            if "lostsubmit" in h.modes:
                return 504, modes_mod.ProxyAnswer()
            return 200, {"id": job_id}
        if parts == ["jobs"]:
            self._allow(method, "GET")
            return 200, self.list_jobs(params, h)
        if len(parts) == 2 and parts[0] == "jobs":
            self._allow(method, "GET", "DELETE")
            if method == "GET" and self.mode_state.proxy_error(h.modes, parts[1]):
                return self.mode_state.proxy_error_status(h.modes), modes_mod.ProxyAnswer()
            user = h._user(params)
            job = self._job(parts[1])
            if method == "DELETE":
                log.info("%s: DELETE by %s", job["id"], user)
                job = self.delete(job["id"], h.modes)
            return 200, beans.queue_status(job, self.base_url, "nullexit" in h.modes)
        raise ApiError(404, f"Not found: {PREFIX}/{route}")

    @staticmethod
    def _allow(method, *methods):
        if method not in methods:
            raise ApiError(405, f"Method Not Allowed: {method}")

    def _job(self, job_id):
        if beans.job_id_parts(job_id) is None:
            raise ApiError(400, f"JobId string : {job_id} is not properly formed")
        try:
            job = self.store.get(job_id)
        except JobNotFound:
            job = None
        if job is None or modes_mod.hidden(job):
            raise ApiError(400, f"Could not find job {job_id}")
        return job

    def delete(self, job_id, modes):
        """DELETE jobs/:jobid, with the slow and failing kills of the modes (modes.py)."""
        fail = modes.get("killfail")
        if fail == "first" and self.mode_state.first_delete(job_id):
            raise ApiError(500, "java.io.IOException: Failed on local exception: "
                                "connection to the ResourceManager refused")
        job = self.runner.kill(job_id)
        if "slowkill" in modes:
            time.sleep(modes["slowkill"])
        if fail == "after":
            raise ApiError(500, "non-zero exit code 1 when running [hive, "
                                "--getUrlsFromBeelineSite]\nstdout: \nstderr: \n")
        return job

    def post_hive(self, params, h):
        user = h._user(params)
        execute = h._one(params, "execute")
        file = h._one(params, "file")
        if execute is None and file is None:
            raise ApiError(400, "Either execute or file parameter required")
        statusdir = h._one(params, "statusdir")
        enablelog = _flag(h._one(params, "enablelog"))
        if enablelog and not statusdir:
            raise ApiError(400, "enablelog is only applicable when statusdir is set")
        callback = h._one(params, "callback")
        defines = params.get("define", [])
        args = params.get("arg", [])
        reconnect = h._one(params, "enablejobreconnect")
        # The keys WebHCat's Server.hive() records (it leaves `arg` out).
        userargs = {
            "user.name": user, "execute": execute, "file": file, "define": defines,
            "files": h._one(params, "files"), "statusdir": statusdir, "callback": callback,
            "enablelog": "true" if enablelog else "false",
            "enablejobreconnect": None if reconnect is None else _flag(reconnect),
        }
        # Submitting needs HDFS, as WebHCat's does (it stages the job there as itself).
        try:
            self.hdfs.status("/", "webhcat")
        except WebHdfsError as e:
            raise ApiError(500, f"Queue error: HDFS is not available: {e}") from None
        lost = h.modes.get("lostsubmit")
        job = self.store.create(user, userargs, execute, file, defines, args, statusdir,
                                callback, hidden_until=time.time() + lost if lost else None)
        if "retry" in h.modes:
            job = self.store.update(job["id"], launcher_retries=int(h.modes["retry"]))
        if "latestdout" in h.modes:
            job = self.store.update(job["id"], stdout_limit=int(h.modes["latestdout"]))
        for fmt in ("header", "beeline"):
            if fmt in h.modes:
                job = self.store.update(job["id"], cli_output=fmt)
        if lost:
            # Not in "YARN" yet: it is queued once it is registered (modes.py, lostsubmit).
            t = threading.Timer(lost, self.runner.submit, (job["id"],))
            t.daemon = True
            t.start()
        else:
            self.runner.submit(job["id"])
        log.info("%s: queued for %s", job["id"], user)
        return job["id"]

    def list_jobs(self, params, h):
        user = h._user(params)
        fields = h._one(params, "fields")
        if fields is not None and fields != "*":
            raise ApiError(400, "fields value other than * is not supported")
        showall = _flag(h._one(params, "showall"))
        after = h._one(params, "jobid")
        numrecords = h._one(params, "numrecords")
        limit = -1
        if numrecords is not None:
            try:
                limit = int(numrecords)
            except ValueError:
                limit = 0
            if limit <= 0:
                raise ApiError(400, "Invalid numrecords format: numrecords should be an "
                                    "integer > 0")
        if "slowlist" in h.modes:
            time.sleep(h.modes["slowlist"])
        jobs = sorted((j for j in self.store.list(None if showall else user)
                       if not modes_mod.hidden(j)), key=lambda j: j["id"])
        # As WebHCat's showJobList: `jobid` applies only together with `numrecords`.
        if limit != -1 and after and after.strip():
            jobs = [j for j in jobs if j["id"] > after]
        if limit != -1:
            jobs = jobs[:limit]
        return [beans.job_item(j, self.base_url, fields == "*", "nullexit" in h.modes)
                for j in jobs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--webhdfs", required=True, help="http://127.0.0.1:P/webhdfs/v1")
    ap.add_argument("--namenode", required=True, help="hdfs://127.0.0.1:NN (fs.defaultFS)")
    ap.add_argument("--run-dir", required=True, help="state: job records, metastore")
    ap.add_argument("--log-dir", required=True, help="engine logs, engine.state, executed.log")
    ap.add_argument("--classpath", required=True, help="the engine's Java classpath")
    ap.add_argument("--heap", default="1g", help="the engine's -Xmx")
    a = ap.parse_args(argv)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_dir = os.path.abspath(a.run_dir)
    log_dir = os.path.abspath(a.log_dir)
    os.makedirs(run_dir, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    host, _, port = a.listen.rpartition(":")
    hdfs = WebHdfs(a.webhdfs)
    store = JobStore(run_dir)
    local = os.path.join(run_dir, "hive")
    os.makedirs(local, exist_ok=True)
    engine = Engine(a.classpath, {
        "fs.defaultFS": a.namenode,
        # The embedded metastore: Derby in the run directory, tables created on first use.
        "javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={local}/metastore_db;create=true",
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "hive.metastore.warehouse.dir": "/user/hive/warehouse",
        # MapReduce in local mode: stages run inside the engine's JVM, reading HDFS.
        "hive.execution.engine": "mr",
        "mapreduce.framework.name": "local",
        "mapreduce.cluster.local.dir": f"{local}/mapred",
        "hadoop.tmp.dir": f"{local}/tmp",
        "hive.exec.scratchdir": "/tmp/hive",
        "hive.exec.local.scratchdir": f"{local}/scratch",
        "hive.downloaded.resources.dir": f"{local}/resources",
        "hive.querylog.location": f"{local}/querylog",
        "hive.support.concurrency": "false",
        "hive.stats.autogather": "false",
    }, log_dir, local, heap=a.heap)
    runner = Runner(store, engine, hdfs, run_dir, os.path.join(log_dir, "executed.log"))
    for job_id in store.load():
        runner.submit(job_id)
    base_url = f"http://{host}:{port}{PREFIX}"
    httpd = ThreadingHTTPServer((host, int(port)), Handler)
    httpd.daemon_threads = True
    httpd.app = App(store, runner, hdfs, base_url)

    def stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        runner.stopping.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.start()
    log.info("listening on %s", base_url)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        engine.kill()
        engine.stop()
        httpd.server_close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
