"""The station board (GET / on gridgate-cache) in a real browser: Debian's headless chromium,
driven over the DevTools protocol (cdp.py), against a cache on the stack's Kafka and Redis.

The board must list every station with its latest value, unit, aspect, age and a sparkline of
its recent readings; a reading produced to Kafka must appear on it within a second, through
the stream; it must fit a phone's width; and it must run under its Content-Security-Policy
without a single violation or script error. The test saves screenshots (desktop and phone) in
its temporary directory, or the desktop one where GG_BOARD_SCREENSHOT says.
"""
import base64
import json
import math
import os
import re
import time
import uuid

import pytest

from cdp import Browser
from conftest import SOURCE_DIR, Service, http_get, load_stack_env, wait_for
from test_cache import delete_keys, metric, produce, unique

STATIONS = ["1", "2", "3", "4", "5", "6", "7", "north-7"]
UNITS = {"7": "Hz", "north-7": "kV"}
HISTORY = 40          # real_time readings per station, one every 6 s up to now
APPEAR_WITHIN_S = 1.0
ROUNDS = 5            # readings produced one at a time, each timed (one per station)


def value_of(station, i):
    """A smooth, station-specific curve, so the sparklines show something like load."""
    k = STATIONS.index(station)
    if UNITS.get(station) == "Hz":
        return round(50 + 0.05 * math.sin(i / 4 + k), 3)
    if UNITS.get(station) == "kV":
        return round(110 + 2 * math.sin(i / 6 + k), 2)
    return round(300 + 120 * k + 80 * math.sin(i / 5 + k) + 15 * math.sin(i * 1.7), 1)


def line(station, modality, at, aspect="real_time"):
    cid = str(uuid.uuid4())
    payload = json.dumps({"sensor_id": station, "modality": modality,
                          "unit": UNITS.get(station, "MW"), "temporal_aspect": aspect})
    env = {"payload": payload, "correlation_id": cid, "created_at": "%.6f" % at,
           "schema_version": 1}
    # created_at is a JSON number on the wire (docs/RECORD-FORMAT.md)
    return cid, "%s\t%s" % (station, json.dumps(env).replace('"%.6f"' % at, "%.6f" % at))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    env = load_stack_env()
    topic, prefix = unique("board"), unique("b") + ":"
    now = time.time()
    lines = []
    for station in STATIONS:
        for i in range(HISTORY):
            lines.append(line(station, value_of(station, i), now - (HISTORY - i) * 6)[1])
        lines.append(line(station, value_of(station, HISTORY) * 1.01, now + 900,
                          "edge_prediction")[1])
    produce(env["GRIDGATE_KAFKA_BROKERS"], topic, lines)
    s = Service("cache", {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"],
                          "GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                          "GRIDGATE_KAFKA_TOPIC": topic, "GRIDGATE_KAFKA_GROUP": unique("g"),
                          "GRIDGATE_REDIS_PREFIX": prefix},
                tmp_path_factory.mktemp("cache")).start()
    try:
        wait_for(lambda: metric(s, "readings_applied_total") == len(lines), timeout=60,
                 what="the history applied")
        yield s, env, topic
    finally:
        s.stop()
        delete_keys(env["GG_REDIS_PORT"], prefix)


@pytest.fixture(scope="module")
def page(cache, tmp_path_factory):
    """The board loaded in a fresh headless chromium, every station on it."""
    s = cache[0]
    tmp = tmp_path_factory.mktemp("browser")
    browser = Browser(tmp / "profile", tmp / "chromium.log")
    p = None
    try:
        p = browser.page()
        for domain in ("Page", "Runtime", "Log"):
            p.call(domain + ".enable")
        p.call("Emulation.setDeviceMetricsOverride", width=1100, height=420,
               deviceScaleFactor=1, mobile=False)
        p.call("Page.navigate", url="http://127.0.0.1:%d/" % s.port)
        wait_for(lambda: p.evaluate("document.querySelectorAll('.card[data-created]').length")
                 == len(STATIONS), timeout=30, what="a card per station")
        wait_for(lambda: p.evaluate("document.querySelectorAll('svg.spark[data-points]').length")
                 == len(STATIONS), timeout=30, what="a sparkline per station")
        p.tmp = tmp
        yield p
    finally:
        if p:
            p.close()
        browser.close()


def cards(p):
    return p.evaluate("""[...document.querySelectorAll('.card')].map(c => ({
        station: c.dataset.station, cid: c.dataset.correlationId,
        value: c.querySelector('.num').textContent, unit: c.querySelector('.unit').textContent,
        aspect: c.querySelector('.aspect').textContent, age: c.querySelector('.age').textContent,
        points: Number(c.querySelector('svg.spark').dataset.points || 0),
        line: c.querySelector('polyline').getAttribute('points') || '',
        x: c.getBoundingClientRect().left, w: c.getBoundingClientRect().width}))""")


def problems(p):
    """Script errors, console errors and policy violations the page reported so far."""
    p.pump()
    out = []
    for ev in p.events:
        m, params = ev.get("method"), ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append(params["exceptionDetails"].get("text"))
        elif m == "Log.entryAdded" and params["entry"]["level"] == "error":
            out.append(params["entry"].get("text"))
        elif m == "Runtime.consoleAPICalled" and params.get("type") == "error":
            out.append(json.dumps(params.get("args")))
    return out


def screenshot(p, path):
    data = p.call("Page.captureScreenshot", format="png")["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    print("screenshot: %s" % path)


def test_assets_carry_a_strict_policy(cache):
    s = cache[0]
    for path, ctype in (("/", "text/html"), ("/board.js", "text/javascript"),
                        ("/board.css", "text/css")):
        status, headers, body = http_get(s.port, path)
        assert status == 200 and headers["Content-Type"].startswith(ctype), (path, headers)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "connect-src 'self'" in csp and "unsafe" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
    # Nothing inline that the policy would have to allow, nothing from elsewhere.
    html = http_get(s.port, "/")[2].decode()
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert "http://" not in html.replace('"http://www.w3.org', "") and "https://" not in html
    assert http_get(s.port, "/?x=1")[0] == 400


def test_every_station_with_value_unit_age_and_sparkline(cache, page):
    s = cache[0]
    got = {c["station"]: c for c in cards(page)}
    assert list(got) == STATIONS  # the API's order: numbers by value, then the others
    for station in STATIONS:
        status, _, body = http_get(s.port, "/v1/stations/%s/latest" % station)
        latest = json.loads(body)
        c = got[station]
        assert c["cid"] == latest["correlation_id"]
        assert float(c["value"]) == latest["modality"]
        assert c["unit"] == UNITS.get(station, "MW")
        assert c["aspect"] == "real time"
        assert re.fullmatch(r"[0-9]+ (s|min) ago", c["age"]), c["age"]
        assert c["points"] == HISTORY and c["line"].count(",") == HISTORY
    assert problems(page) == []


def test_a_produced_reading_appears_within_a_second(cache, page):
    _, env, topic = cache
    wait_for(lambda: page.evaluate("document.getElementById('status').dataset.state") == "live",
             timeout=10, what="the board following the stream")
    took = []
    for i in range(ROUNDS):
        station = STATIONS[i % len(STATIONS)]
        value = value_of(station, HISTORY + 1)  # the curve goes on, the sparkline stays readable
        cid, msg = line(station, value, time.time())
        # Armed before the produce: resolves at the first DOM change that shows the reading.
        watch = page.send("Runtime.evaluate", awaitPromise=True, returnByValue=True,
                          expression="""new Promise(resolve => {
              const shown = () => {
                const c = document.querySelector('.card[data-station="%s"]');
                return c && c.dataset.correlationId === '%s';
              };
              if (shown()) return resolve(true);
              const mo = new MutationObserver(() => {
                if (shown()) { mo.disconnect(); resolve(true); }
              });
              mo.observe(document.getElementById('board'),
                         {subtree: true, childList: true, attributes: true, characterData: true});
              setTimeout(() => { mo.disconnect(); resolve(false); }, 10000);
            })""" % (station, cid))
        page.pump(0.05)  # the observer is in place before the reading exists
        start = time.monotonic()
        produce(env["GRIDGATE_KAFKA_BROKERS"], topic, [msg])
        shown = page.wait(watch, timeout=15)["result"]["value"]
        took.append(time.monotonic() - start)
        assert shown, "reading %s of station %s never appeared" % (cid, station)
        got = {c["station"]: c for c in cards(page)}[station]
        assert float(got["value"]) == value and got["points"] == HISTORY + 1
    took.sort()
    print("produce to shown on the page, %d readings: min %.0f ms, median %.0f ms, max %.0f ms"
          % (ROUNDS, took[0] * 1000, took[len(took) // 2] * 1000, took[-1] * 1000))
    assert took[-1] < APPEAR_WITHIN_S, took
    page.pump(1.3)  # let the highlight fade before the picture
    path = os.environ.get("GG_BOARD_SCREENSHOT") or str(page.tmp / "board.png")
    screenshot(page, path)
    assert problems(page) == []


def test_fits_a_phone(page):
    page.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2,
              mobile=True)
    try:
        wait_for(lambda: page.evaluate("window.innerWidth") == 390, what="the phone viewport")
        # No sideways scrolling, one column of cards as wide as the screen allows.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        cs = cards(page)
        assert len({round(c["x"]) for c in cs}) == 1
        assert all(c["w"] >= 300 for c in cs), cs
        # Text stays legible: the value is not shrunk below 20 px.
        assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('.value'))"
                             ".fontSize)") >= 20
        screenshot(page, str(page.tmp / "board-phone.png"))
    finally:
        page.call("Emulation.clearDeviceMetricsOverride")
    assert problems(page) == []


def test_aspect_switch_shows_predictions(cache, page):
    s = cache[0]
    page.evaluate("document.querySelector('button[data-aspect=edge_prediction]').click()")
    wait_for(lambda: {c["aspect"] for c in cards(page)} == {"edge prediction"} and
             len(cards(page)) == len(STATIONS), what="the prediction cards")
    for c in cards(page):
        latest = json.loads(http_get(s.port, "/v1/stations/%s/latest?aspect=edge_prediction"
                                     % c["station"])[2])
        assert c["cid"] == latest["correlation_id"]
    # The choice survives a reload (a bookmark, a refresh on the phone).
    page.call("Page.reload")
    wait_for(lambda: page.evaluate("document.readyState") == "complete" and
             {c["aspect"] for c in cards(page)} == {"edge prediction"} and
             len(cards(page)) == len(STATIONS), what="the prediction cards after a reload")
    assert problems(page) == []


def test_polls_when_the_stream_is_refused(cache, page, tmp_path):
    """A replica with streams off (GRIDGATE_STREAM_MAX=0) refuses the stream: the board falls
    back to polling /v1/latest and still shows a new reading, within a poll period."""
    s, env, topic = cache
    other = Service("cache", dict(s.env, GRIDGATE_STREAM_MAX="0",
                                  GRIDGATE_KAFKA_GROUP=unique("g")), tmp_path).start()
    try:
        page.call("Page.navigate", url="http://127.0.0.1:%d/" % other.port)
        wait_for(lambda: page.evaluate("document.getElementById('status')?.dataset.state")
                 == "polling" and len(cards(page)) == len(STATIONS), timeout=30,
                 what="the board polling")
        station = STATIONS[-1]
        value = value_of(station, HISTORY + 2)
        cid, msg = line(station, value, time.time())
        start = time.monotonic()
        produce(env["GRIDGATE_KAFKA_BROKERS"], topic, [msg])
        wait_for(lambda: {c["station"]: c for c in cards(page)}[station]["cid"] == cid,
                 timeout=10, what="the reading through polling")
        took = time.monotonic() - start
        print("with the stream refused, produce to shown by polling: %.0f ms" % (took * 1000))
        assert took < 4.0  # a 2 s poll period, the way through Kafka and Redis, and slack
        # The refused stream is the only error the page may report.
        assert [p for p in problems(page) if "503" not in p] == []
    finally:
        other.stop()


def test_the_dashboard_metrics_of_the_cache_are_served(cache):
    """The Grafana dashboard's gridgate_cache_* series exist on a running cache (the offline
    deploy check reads them from the sources; this confirms that reading)."""
    s = cache[0]
    s.get("/v1/latest?stations=1")
    with open(os.path.join(SOURCE_DIR, "helm", "gridgate", "dashboards", "gridgate.json")) as f:
        used = set(re.findall(r"gridgate_cache_[a-z_]+", f.read()))
    served = {l.split("{")[0].split(" ")[0] for l in s.get("/metrics")[2].decode().splitlines()
              if l.startswith("gridgate_cache_")}
    assert used and used <= served, sorted(used - served)
