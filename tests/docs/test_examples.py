"""The doc-example runner's own rules (tests/docs/examples.py), without the stack: what it
extracts from Markdown, what status it expects, how it maps documented addresses to the demo,
which paths it checks, and its verdicts on real curl runs against a local HTTP server."""
import http.server
import os
import sys
import tempfile
import threading

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import examples  # noqa: E402

DEMO = {"ingest": "http://127.0.0.1:28081", "cache": "http://127.0.0.1:28082",
        "analytics": "http://127.0.0.1:28083"}


def write_doc(tmp_path, text, name="DOC.md"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_commands_join_lines_and_read_the_expected_status():
    body = [
        "# a comment line",
        "curl -s -X POST -H 'Content-Type: application/json' \\",
        "  -d '{\"a\": \"# not a comment\"}' \\",
        "  http://127.0.0.1:18081/v1/readings   # HTTP 202/409: queued",
        "job=$(curl -s http://127.0.0.1:18083/v1/jobs |",
        "  python3 -c 'import sys; print(sys.stdin.read())')",
        "curl -s 'http://x/y?q=1' | grep z   # no status here",
        "echo 'two",
        "lines' # HTTP 404 or 410",
    ]
    got = list(examples.commands(10, body))
    assert [c[0] for c in got] == [11, 14, 16, 17]
    assert "# not a comment" in got[0][2] and "HTTP" not in got[0][2]
    assert examples.expectation(got[0][3]) == [202, 409]
    assert got[1][1].count("\n") == 1 and examples.runs_curl(got[1][2])
    assert examples.expectation(got[2][3]) is None
    assert examples.expectation(got[3][3]) == [404, 410]


def test_extract_takes_curl_and_state_only_and_honours_skip_markers(tmp_path):
    doc = write_doc(tmp_path, "\n".join([
        "```sh",
        "GG_DEMO_KEEP=1 tests/stack/demo",
        "API=http://127.0.0.1:18083 TOKEN=demo",
        "source tests/stack/env",
        "kcat -b localhost:29092 -t INGESTION -P -l x.tsv",
        "curl -s $API/healthz",
        "```",
        "",
        "<!-- not run by tests/docs: needs a cluster -->",
        "",
        "```bash",
        "curl -s https://gridgate.example.com/v1/stations",
        "```",
        "```json",
        "{\"curl\": 1}",
        "```",
    ]))
    run, skipped = examples.extract(doc)
    assert [(e.line, e.curl) for e in run] == [(3, False), (4, False), (6, True)]
    assert skipped == [(11, "needs a cluster")]  # the fence line


def test_addresses_map_to_the_demo():
    prefixes = examples.ingress_paths()
    assert prefixes["analytics"] and prefixes["cache"] and prefixes["ingest"]
    cases = [
        ("curl -s http://127.0.0.1:18081/v1/ingest/status", DEMO["ingest"] + "/v1/ingest/status"),
        ("curl -s localhost:8083/v1/jobs", DEMO["analytics"] + "/v1/jobs"),
        ("curl -s 'localhost:8082/v1/latest?stations=1'", "'" + DEMO["cache"] + "/v1/latest?stations=1'"),
        ("curl -s https://gridgate.example.com/v1/wordcount?wait=600",
         DEMO["analytics"] + "/v1/wordcount?wait=600"),
        ("curl -s https://gridgate.example.com/v1/stations/3/latest", DEMO["cache"] + "/v1/stations/3/latest"),
        ("curl -s https://ingest.gridgate.example.com/v1/stations/3/readings",
         DEMO["ingest"] + "/v1/stations/3/readings"),
    ]
    for doc, want in cases:
        text, notes = examples.localize(doc, DEMO, prefixes)
        assert text == "curl -s " + want and notes, (doc, text)
    same = {s: "http://127.0.0.1:%d" % p for s, p in examples.DEMO_PORTS.items()}
    text, notes = examples.localize("curl -s http://127.0.0.1:18082/v1/stations", same, prefixes)
    assert text == "curl -s http://127.0.0.1:18082/v1/stations" and notes == []


def test_paths_missing_from_the_repository_fail(tmp_path):
    doc = write_doc(tmp_path, "\n".join([
        "`data/readings-sample.tsv` and `tests/demo-data/readings-sample.tsv`,",
        "`application/json`, `networking.k8s.io/v1`, `services/{ingest,cache}/`,",
        "`ci/all-enabled-values.yaml`, `docker/Dockerfile.<service>`",
        "```sh",
        "kcat -l tests/demo-data/nothing-here.tsv",
        "```",
    ]))
    results = []
    examples.check_paths([doc], results)
    assert results[0][0] == "fail"
    assert "line 1: data/readings-sample.tsv" in results[0][2]
    assert "line 5: tests/demo-data/nothing-here.tsv" in results[0][2]
    assert "application" not in results[0][2] and "ci/all" not in results[0][2]
    assert "services" not in results[0][2] and "Dockerfile" not in results[0][2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        status = int(self.path.strip("/") or 200)
        self.send_response(status)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()


def test_verdicts_on_real_curl_runs(tmp_path, server):
    doc = write_doc(tmp_path, "\n".join([
        "```sh",
        "curl -s %s/200" % server,
        "curl -s %s/404" % server,
        "curl -s %s/409   # HTTP 409: ended" % server,
        "curl -fsS %s/500" % server,
        "body=$(curl -s %s/201)" % server,
        "code=202",
        "curl -s %s/$code   # HTTP 202/204" % server,
        "curl -s %s/404   # HTTP 202/204" % server,
        "curl -s http://127.0.0.1:1/ # nothing listens there",
        "```",
    ]))
    run, _ = examples.extract(doc)
    with tempfile.TemporaryDirectory() as work:
        examples.run_doc(run, work)
    verdicts = [examples.verdict(e) for e in run]
    assert verdicts[0] is None and run[0].statuses == [200]
    assert verdicts[1] == "HTTP 404, documented HTTP 2xx"
    assert verdicts[2] is None
    assert verdicts[3] == "HTTP 500, documented HTTP 2xx"
    assert verdicts[4] is None and run[4].statuses == [201]
    assert not run[5].curl and verdicts[5] is None
    assert verdicts[6] is None and run[6].statuses == [202]
    assert verdicts[7] == "HTTP 404, documented HTTP 202/204"
    assert verdicts[8] == "HTTP 0, documented HTTP 2xx"
