"""gridgate-analytics killed with SIGKILL right after it answered a submission, against the stack's
HDFS and WebHCat stand-in: once restarted, the job is listed and its result can be fetched,
whether or not the job's record had reached HDFS when the process died.

The second test holds every file creation in the jobs directory (a relay in front of WebHDFS that
never forwards those requests): the submission must still be answered, because the record is
written after WebHCat accepted the job, and after the kill nothing of the job is in HDFS but
what WebHCat has (its job list and the statusdir its launcher writes). Two Hive jobs."""
import re
import signal
import socket
import threading
import urllib.parse
import uuid

import pytest

from conftest import Service, free_port, wait_for
from test_analytics import (JOB_WAIT, WebHdfs, analytics_env, count_words, env,  # noqa: F401
                            records_loaded, request, top, wait_job)

RUN = uuid.uuid4().hex[:10]
BASE = f"/tmp/gridgate-it/submit-{RUN}"
TEXT = b"the cat sat on the mat\nthe end of the cat\n"


@pytest.fixture(scope="module")
def hdfs(env):
    h = WebHdfs(env["GRIDGATE_WEBHDFS_URL"], env["GRIDGATE_HADOOP_USER"])
    h.put(f"{BASE}/in/a.txt", TEXT)
    yield h
    h.delete(BASE)


class HoldingRelay:
    """A TCP relay in front of WebHDFS that never forwards a request whose request line matches
    `hold` (the connection stays open, unanswered) and passes everything else."""

    def __init__(self, target_port, hold):
        self.target, self.hold = target_port, re.compile(hold)
        self.port = free_port()
        self.held = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port), backlog=64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.release.set()
        self.listener.close()

    def count(self):
        with self.lock:
            return self.held

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=30)
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, requests):
        try:
            while data := src.recv(65536):
                # libcurl sends a request's line and headers in one write: a chunk that starts a
                # request starts with its request line.
                if requests and self.hold.match(data.split(b"\r\n", 1)[0]):
                    with self.lock:
                        self.held += 1
                    self.release.wait()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def start(env, jobs_dir, tmp, **extra):
    s = Service("analytics", analytics_env(env, jobs_dir, **extra), tmp).start()
    wait_for(s.ready, timeout=60, what="analytics ready")
    wait_for(lambda: records_loaded(s.port), timeout=60, what="job records loaded")
    return s


def record_exists(hdfs, jobs_dir, jid):
    return hdfs._call("GET", f"{jobs_dir}/{jid}/job.json", "GETFILESTATUS")[0] == 200


def restarted_and_finished(env, hdfs, jobs_dir, tmp, jid, words):
    tmp.mkdir()
    s = start(env, jobs_dir, tmp)
    try:
        def listed():
            st, _, body = request(s.port, "GET", "/v1/jobs")
            return st == 200 and jid in [j["id"] for j in body["jobs"]]
        wait_for(listed, timeout=60, what="the job listed after the restart")
        final = wait_job(s.port, jid)
        assert final["state"] == "succeeded", final
        expected = count_words([TEXT])
        assert final["result"]["top"] == top(expected, 2)
        assert final["result"]["words"] == {w: expected[w] for w in words}
        wait_for(lambda: record_exists(hdfs, jobs_dir, jid), timeout=30, what="record written")
        return final
    finally:
        s.stop()


def test_kill9_right_after_the_answer_keeps_the_job(env, hdfs, tmp_path):
    jobs_dir = f"{BASE}/plain/jobs"
    s = start(env, jobs_dir, tmp_path)
    try:
        st, _, body = request(s.port, "POST", "/v1/wordcount",
                              {"path": f"{BASE}/in", "top": 2, "words": ["cat"]})
        s.proc.send_signal(signal.SIGKILL)  # at once: whatever the service does after the answer
        s.proc.wait()
    finally:
        s.stop()
    assert st == 202, body
    recorded = record_exists(hdfs, jobs_dir, body["id"])
    restarted_and_finished(env, hdfs, jobs_dir, tmp_path / "again", body["id"], ["cat"])
    print(f"record in HDFS when the service died: {recorded}")


def test_submission_answered_while_record_writes_hang(env, hdfs, tmp_path):
    jobs_dir = f"{BASE}/held/jobs"
    u = urllib.parse.urlsplit(env["GRIDGATE_WEBHDFS_URL"])
    relay = HoldingRelay(u.port, rb"PUT \S*" + re.escape(jobs_dir.encode()) + rb"/\S*op=CREATE")
    relay.start()
    s = None
    try:
        s = start(env, jobs_dir, tmp_path, GRIDGATE_BACKEND_TIMEOUT_MS="3000",
                  GRIDGATE_WEBHDFS_URL=f"http://127.0.0.1:{relay.port}{u.path}")
        st, _, body = request(s.port, "POST", "/v1/wordcount",
                              {"path": f"{BASE}/in", "top": 2, "words": ["mat"]}, timeout=60)
        assert st == 202, body
        wait_for(lambda: relay.count() > 0, timeout=10, what="a record write held")
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
    finally:
        if s:
            s.stop()  # a no-op after the kill; stops the service when an assertion failed
        relay.stop()
    assert not record_exists(hdfs, jobs_dir, body["id"])
    restarted_and_finished(env, hdfs, jobs_dir, tmp_path / "again", body["id"], ["mat"])
