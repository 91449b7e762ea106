"""GET /v1/stream of gridgate-cache against the real broker and Redis: readings produced to Kafka
arrive as Server-Sent Events on the streams that follow their stations, on both of two
replicas, with created_at_us as id; Last-Event-ID resumes from the recent lists; a client that
stops reading is cut while another keeps receiving; the cap answers 503 problem+json; quiet
streams get heartbeats."""
import http.client
import json
import socket
import time
import uuid

import pytest

from conftest import Service, load_stack_env, wait_for
from test_cache import delete_keys, metric, produce, unique

BASE_S = 1800000000  # event times of this test, seconds: later than any sample reading


def reading(station, us, modality=1, aspect="real_time"):
    """One KEY<TAB>VALUE line in the wire format, event time us."""
    env = {"payload": {"sensor_id": station, "modality": modality, "unit": "MW",
                       "temporal_aspect": aspect},
           "created_at": float(f"{us // 1000000}.{us % 1000000:06d}"),
           "correlation_id": str(uuid.uuid4())}
    return f"{station}\t{json.dumps(env)}"


class Stream:
    """A GET /v1/stream client: events as (id, reading) pairs, comments counted."""

    def __init__(self, port, path, headers=None, timeout=15):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())
        self.comments = 0
        self.retry = None

    def body(self):
        return self.resp.read()

    def next_event(self):
        """The next event, or None when the server ended the stream."""
        eid, data = None, None
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if data is not None:
                    return int(eid), json.loads(data)
                continue
            if line.startswith(":"):
                self.comments += 1
            elif line.startswith("id: "):
                eid = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line.startswith("retry: "):
                self.retry = int(line[7:])

    def events(self, n):
        """Up to n events: fewer when the stream ends or stays silent past the timeout."""
        out = []
        while len(out) < n:
            try:
                e = self.next_event()
            except TimeoutError:
                break
            if e is None:
                break
            out.append(e)
        return out

    def close(self):
        self.conn.close()


def cache(tmp_path, topic, group, prefix, **extra):
    env = load_stack_env()
    settings = {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
                "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": group,
                "GRIDGATE_REDIS_PREFIX": prefix, "GRIDGATE_RECENT_SIZE": "50"}
    settings.update(extra)
    s = Service("cache", settings, tmp_path).start()
    wait_for(lambda: metric(s, "local_coherent") == 1, what="the local copy follows redis")
    return s


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two replicas of one cache (one group, one prefix) over a fresh topic."""
    env = load_stack_env()
    topic, group, prefix = unique("stream-test"), unique("g"), unique("st") + ":"
    produce(env["GRIDGATE_KAFKA_BROKERS"], topic, [reading("0", BASE_S * 1000000)])
    a = cache(tmp_path_factory.mktemp("a"), topic, group, prefix)
    b = cache(tmp_path_factory.mktemp("b"), topic, group, prefix)
    try:
        wait_for(lambda: a.get("/v1/stations/0/latest")[0] == 200, what="the first reading")
        yield a, b, env["GRIDGATE_KAFKA_BROKERS"], topic
    finally:
        a.stop()
        b.stop()
        delete_keys(env["GG_REDIS_PORT"], prefix)


def test_events_follow_the_chosen_stations_on_both_replicas(pair):
    a, b, brokers, topic = pair
    sa = Stream(a.port, "/v1/stream?stations=1,2")
    sb = Stream(b.port, "/v1/stream?stations=2,1&aspect=real_time")
    assert sa.status == 200 and sb.status == 200
    assert sa.headers["Content-Type"] == "text/event-stream"
    assert sa.headers["Cache-Control"] == "no-cache"
    assert sa.headers["X-Accel-Buffering"] == "no"
    t0 = (BASE_S + 10) * 1000000
    lines = [reading(str(1 + i % 3), t0 + i * 1000, modality=i) for i in range(30)]
    lines += [reading("1", t0 + 999, aspect="edge_prediction")]  # another aspect
    produce(brokers, topic, lines)
    want = [(t0 + i * 1000, str(1 + i % 3), i) for i in range(30) if i % 3 != 2]
    for s in (sa, sb):
        got = s.events(len(want))
        seen = [(e[0], e[1]["station_id"], e[1]["modality"]) for e in got]
        # Each station's readings in order (stations of one poll batch may interleave).
        for station in ("1", "2"):
            assert [x for x in seen if x[1] == station] == [x for x in want if x[1] == station]
        assert len(seen) == len(want)
        assert all(e[0] == e[1]["created_at_us"] for e in got)
        assert s.retry == 2000
    got = [e for e in got if e[1]["station_id"] == "2"]
    # The event is the reading as the lookup serves it, byte for byte.
    status, _, body = a.get("/v1/stations/2/latest")
    assert status == 200 and json.loads(body) == got[-1][1]
    sa.close()
    sb.close()


def test_last_event_id_resumes_from_the_recent_lists(pair):
    a, b, brokers, topic = pair
    s = Stream(a.port, "/v1/stream?stations=4")
    t0 = (BASE_S + 20) * 1000000
    produce(brokers, topic, [reading("4", t0 + i, modality=i) for i in range(10)])
    got = s.events(10)
    assert [e[0] for e in got] == [t0 + i for i in range(10)]
    s.close()
    # Disconnected after the fourth; meanwhile two more arrive. Resuming on the other replica
    # replays the rest from Redis, then goes on live.
    produce(brokers, topic, [reading("4", t0 + 10 + i, modality=10 + i) for i in range(2)])
    wait_for(lambda: json.loads(b.get("/v1/stations/4/latest")[2])["created_at_us"] == t0 + 11,
             what="the two newer readings applied")
    r = Stream(b.port, "/v1/stream?stations=4", headers={"Last-Event-ID": str(t0 + 3)})
    assert r.status == 200
    replayed = r.events(8)
    assert [e[0] for e in replayed] == [t0 + i for i in range(4, 12)]
    produce(brokers, topic, [reading("4", t0 + 12, modality=12)])
    live = r.events(1)
    assert [e[0] for e in live] == [t0 + 12]  # nothing replayed twice, nothing lost
    r.close()


def test_bad_parameters_are_400_problems(pair):
    a, _, _, _ = pair
    for path, headers in [("/v1/stream?aspect=soon", {}), ("/v1/stream?stations=a/b", {}),
                          ("/v1/stream?limit=3", {}),
                          ("/v1/stream", {"Last-Event-ID": "yesterday"})]:
        status, h, body = a.get(path, headers)
        assert status == 400, (path, body)
        assert h["Content-Type"] == "application/problem+json"
        assert json.loads(body)["type"] == "urn:gridgate:problem:invalid-parameter"


def test_a_stalled_client_is_cut_while_another_keeps_receiving(pair):
    a, _, brokers, topic = pair
    # The stalled client sends its request, then never reads: a small receive buffer fills, then
    # the server's socket buffer, then the stream's queue of GRIDGATE_STREAM_QUEUE events.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", a.port))
    stalled.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    good = Stream(a.port, "/v1/stream?stations=6")
    wait_for(lambda: metric(a, "streams_open") >= 2, what="both streams open")
    cut_before = metric(a, "streams_cut_total")
    t = (BASE_S + 30) * 1000000
    sent_good = 0
    for _ in range(20):
        lines = [reading(str(100 + i % 50), t + i, modality=i) for i in range(3000)]
        lines.append(reading("6", t + 3000, modality=sent_good))
        produce(brokers, topic, lines)
        t += 3001
        sent_good += 1
        got = good.events(1)
        assert got and got[0][1]["modality"] == sent_good - 1
        if metric(a, "streams_cut_total") > cut_before:
            break
    assert metric(a, "streams_cut_total") == cut_before + 1
    # The stalled connection was closed by the server: its socket reads to the end.
    stalled.settimeout(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stalled.recv(65536):
        pass
    stalled.close()
    # The good client still gets what comes next.
    produce(brokers, topic, [reading("6", t + 1, modality=777)])
    assert good.events(1)[0][1]["modality"] == 777
    good.close()


def test_the_cap_answers_503_problem(tmp_path):
    env = load_stack_env()
    topic, prefix = unique("stream-cap"), unique("sc") + ":"
    s = cache(tmp_path, topic, unique("g"), prefix, GRIDGATE_STREAM_MAX="2",
              GRIDGATE_STREAM_HEARTBEAT_S="1")
    try:
        one, two = Stream(s.port, "/v1/stream"), Stream(s.port, "/v1/stream?stations=1")
        assert one.status == 200 and two.status == 200
        status, h, body = s.get("/v1/stream")
        assert status == 503
        assert h["Content-Type"] == "application/problem+json"
        assert h["Retry-After"] == "5"
        assert json.loads(body)["type"] == "urn:gridgate:problem:too-many-streams"
        assert metric(s, "streams_refused_total") == 1
        # A quiet stream gets heartbeat comments (every second here).
        one.conn.sock.settimeout(5)
        beats = 0
        while beats < 2:
            line = one.resp.readline()
            assert line
            beats += line == b":\n"
        # Closing one frees its place (noticed at the next heartbeat at the latest).
        two.close()
        wait_for(lambda: metric(s, "streams_open") == 1, timeout=10, what="the closed stream gone")
        three = Stream(s.port, "/v1/stream?stations=9")
        assert three.status == 200
        three.close()
        one.close()
    finally:
        s.stop()
        delete_keys(env["GG_REDIS_PORT"], prefix)
