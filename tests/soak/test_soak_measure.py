"""The soak's verdict on made-up series: what passes as flat and what is a leak."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_measure import Series, judge, proc_sample, table  # noqa: E402

T = 60


def series(rss=lambda t: 1000, threads=lambda t: 17, other=lambda t: 12, conns=lambda t: 3,
           unix=lambda t: 4):
    s = Series("svc", 0, 0)
    # (t, rss, fds, threads, other, most connections to one backend, unix sockets)
    s.samples = [(t, rss(t), other(t) + 2 * conns(t) + unix(t), threads(t), other(t), conns(t),
                  unix(t)) for t in range(T + 1)]
    return s


def test_flat_series_passes_and_tabulates():
    figures, failed = judge(series(), T)
    assert failed == []
    assert figures["rss"] == (1000, 1000, 1000) and figures["other"] == (12, 12, 12)
    assert "svc" in table([("svc", figures)])


def test_rss_growth_is_measured_from_the_end_of_warm_up():
    # 40 % growth during the warm-up (first 12 s), then 5 %: passes; 20 % after it: fails.
    assert judge(series(rss=lambda t: 1000 + 400 * min(t, 12) / 12 + 50 * max(0, t - 12) / 48),
                 T)[1] == []
    failed = judge(series(rss=lambda t: 1000 + 250 * t / T), T)[1]
    assert len(failed) == 1 and "RSS grew" in failed[0]


def test_a_file_or_pipe_a_few_seconds_is_a_leak():
    failed = judge(series(other=lambda t: 12 + t // 5), T)[1]
    assert len(failed) == 1 and "other than connections" in failed[0]


def test_one_descriptor_in_flight_or_one_closed_is_not():
    assert judge(series(other=lambda t: 12 + (t % 3 == 0)), T)[1] == []
    assert judge(series(other=lambda t: 13 - (t > 30)), T)[1] == []


def test_pools_may_grow_up_to_one_connection_per_thread():
    assert judge(series(conns=lambda t: 3 + t // 10, unix=lambda t: 4 + 2 * (t // 10)), T)[1] == []
    failed = judge(series(conns=lambda t: 3 + t // 3), T)[1]
    assert len(failed) == 1 and "connections to one backend port, 17 threads" in failed[0]
    failed = judge(series(unix=lambda t: 4 + t), T)[1]
    assert len(failed) == 1 and "unix sockets, 17 threads" in failed[0]


def test_threads_must_end_where_they_were():
    failed = judge(series(threads=lambda t: 17 + (t > 50)), T)[1]
    assert len(failed) == 1 and "threads 17 -> 18" in failed[0]


def test_proc_sample_sorts_this_process_descriptors():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted_by_client = socket.create_connection(("127.0.0.1", port))
    server_side, _ = listener.accept()
    base = proc_sample(os.getpid(), port)
    rss, fds, threads, other, per_backend, unix = base
    # The client's end is a connection to a "backend" (the port); the accepted end is not
    # judged; the listening socket is among the others.
    assert rss > 0 and threads >= 1 and per_backend == 1 and unix >= 0 and fds >= other + 1
    a, b = socket.socketpair()
    with open(__file__):
        after = proc_sample(os.getpid(), port)
        assert after[3] == other + 1 and after[4] == 1 and after[5] == unix + 2
    for s in (a, b, server_side, accepted_by_client, listener):
        s.close()
