"""One API, not three: the same reading, the same problem types, the same paging and the same
strictness about query parameters on gridgate-ingest, gridgate-cache and gridgate-analytics,
each checked as rows of one table against the real binaries on the stack (Kafka, MongoDB and
Redis; analytics runs without its backends, which none of its rows needs).

The problem types a row expects, and the status that goes with each, come from the one table
of the vocabulary in common/gg_problem.c, not from this file."""
import json
import os
import re
import urllib.parse
import uuid

import pytest

from conftest import SOURCE_DIR, Service, free_port, load_stack_env, wait_for
from test_ingest_api import http_call, tool

TOKEN = "consistency-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
STATION = "cst-3"  # the station the readings below belong to
OTHERS = ("cst-1", "cst-2")  # stations with one reading each, so that the station list pages
JOB = "20250101-000000-0000abcd"  # a well-formed analytics job id


def vocabulary():
    """{slug: status} from the table in common/gg_problem.c."""
    with open(os.path.join(SOURCE_DIR, "common", "gg_problem.c")) as f:
        rows = re.findall(r'^\s*\{"([a-z0-9-]+)", ([0-9]{3}), "', f.read(), re.M)
    assert rows, "no entries found in common/gg_problem.c"
    return {slug: int(status) for slug, status in rows}


VOCABULARY = vocabulary()


def reading_members():
    """The members of a reading, from the one schema every service's readings follow."""
    with open(os.path.join(SOURCE_DIR, "api", "common", "reading.json")) as f:
        return list(json.load(f)["$defs"]["members"]["properties"])


# ---- the stack: ingest and cache on one topic, analytics without backends ----------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    env = load_stack_env()
    tag = uuid.uuid4().hex[:10]
    topic, tmp = f"consistency-{tag}", tmp_path_factory.mktemp("consistency")
    kafka = {"GRIDGATE_KAFKA_BROKERS": env["GRIDGATE_KAFKA_BROKERS"], "GRIDGATE_KAFKA_TOPIC": topic}
    started = []

    def start(name, settings):
        s = Service(name, {**kafka, **settings}, tmp).start()
        started.append(s)
        return s

    try:
        ingest = start("ingest", {"GRIDGATE_MONGO_URI": env["GRIDGATE_MONGO_URI"],
                                  "GRIDGATE_MONGO_DB": f"consistency_{tag}",
                                  "GRIDGATE_KAFKA_GROUP": f"consistency-ingest-{tag}",
                                  "GRIDGATE_API_TOKEN": TOKEN})
        posted = post_readings(ingest)
        # Started once the topic exists (the POST made it), reading it from the start.
        cache = start("cache", {"GRIDGATE_REDIS_URL": env["GRIDGATE_REDIS_URL"],
                                "GRIDGATE_REDIS_PREFIX": f"consistency:{tag}:",
                                "GRIDGATE_KAFKA_GROUP": f"consistency-cache-{tag}"})
        closed = free_port()
        analytics = start("analytics", {
            "GRIDGATE_WEBHCAT_URL": f"http://127.0.0.1:{closed}/templeton/v1",
            "GRIDGATE_WEBHDFS_URL": f"http://127.0.0.1:{closed}/webhdfs/v1",
            "GRIDGATE_API_TOKEN": TOKEN, "GRIDGATE_ADMIN_TOKEN": TOKEN})
        services = {"ingest": ingest, "cache": cache, "analytics": analytics}
        wait_for(lambda: stored(ingest) == len(posted), timeout=60, what="ingest to store")
        wait_for(lambda: cached(cache) == len(posted), timeout=60, what="cache to apply")
        yield services, posted
    finally:
        for s in started:
            s.stop()
        tool("tool_ingest_mongo", "drop", env["GRIDGATE_MONGO_URI"], f"consistency_{tag}")


def post_readings(ingest):
    """Readings of STATION (one in the reading shape, one in the wire format) and of OTHERS;
    returns {correlation_id: what was posted, as a reading}."""
    readings = [
        {"station_id": STATION, "temporal_aspect": "real_time", "modality": -204, "unit": "MW",
         "created_at": "2025-11-24T16:08:19.003008Z", "correlation_id": str(uuid.uuid4())},
        {"station_id": STATION, "temporal_aspect": "real_time", "modality": 12.5, "unit": "MW",
         "created_at": "2025-11-24T16:08:20.000001Z", "correlation_id": str(uuid.uuid4())},
    ] + [{"station_id": s, "temporal_aspect": "real_time", "modality": 7, "unit": "MW",
          "created_at": "2025-11-24T16:08:21.500000Z", "correlation_id": str(uuid.uuid4())}
         for s in OTHERS]
    wire = {"payload": json.dumps({"sensor_id": STATION, "modality": 421.0, "unit": "MW",
                                   "temporal_aspect": "edge_prediction"}),
            "correlation_id": str(uuid.uuid4()), "created_at": 1764000501.25, "schema_version": 1}
    status, _, body = http_call(ingest.port, "POST", "/v1/readings",
                                json.dumps(readings + [wire]), AUTH)
    assert status == 202, body
    assert json.loads(body)["accepted"] == len(readings) + 1, body
    readings.append({"station_id": STATION, "temporal_aspect": "edge_prediction",
                     "modality": 421, "unit": "MW", "created_at": "2025-11-24T16:08:21.250000Z",
                     "correlation_id": wire["correlation_id"]})
    return {r["correlation_id"]: r for r in readings}


def stored(ingest):
    return json.loads(ingest.get("/v1/ingest/status")[2])["counters"]["stored"]


def cached(cache):
    for line in cache.get("/metrics")[2].decode().splitlines():
        if line.startswith("gridgate_cache_readings_applied_total "):
            return int(float(line.split()[-1]))
    return 0


def get(services, service, path, method="GET", body=None):
    headers = dict(AUTH) if body is not None else {"Authorization": AUTH["Authorization"]}
    status, hdrs, raw = http_call(services[service].port, method, path, body, headers)
    return status, hdrs, raw


# ---- one reading shape ------------------------------------------------------------------------

# Where each service serves a reading of STATION: (service, path, how to find the reading).
READING_SOURCES = [
    ("ingest", "/v1/readings/{cid}", lambda b, cid: b),
    ("ingest", "/v1/readings?station={station}&limit=1000",
     lambda b, cid: next(r for r in b["readings"] if r["correlation_id"] == cid)),
    ("cache", "/v1/stations/{station}/recent",
     lambda b, cid: next(r for r in b["readings"] if r["correlation_id"] == cid)),
    ("cache", "/v1/stations/{station}/latest?aspect={aspect}", lambda b, cid: b),
    ("cache", "/v1/latest?stations={station}&aspect={aspect}",
     lambda b, cid: b["latest"][STATION]),
    ("cache", "/v1/stations?limit=1000",
     lambda b, cid: next(s["latest"] for s in b["stations"] if s["station_id"] == STATION)),
]


def newest(posted, aspect):
    mine = [r for r in posted.values() if r["station_id"] == STATION and
            r["temporal_aspect"] == aspect]
    return max(mine, key=lambda r: r["created_at"])


@pytest.mark.parametrize("service,template,pick", READING_SOURCES,
                         ids=[f"{s} {t}" for s, t, _ in READING_SOURCES])
def test_a_reading_reads_the_same_everywhere(api, service, template, pick):
    """Every source gives the newest reading of each aspect with the same members, in the same
    order, with the same JSON text per member (-204, not -204.0; RFC 3339 created_at) as what
    was posted; only the latest lookups are limited to the newest reading of an aspect."""
    services, posted = api
    members = reading_members()
    for aspect in ("real_time", "edge_prediction"):
        want = newest(posted, aspect)
        if "stations?" in template and aspect != "real_time":
            continue  # the station list shows real_time readings only
        path = template.format(cid=want["correlation_id"], station=STATION, aspect=aspect)
        status, _, raw = get(services, service, path)
        assert status == 200, raw
        got = pick(json.loads(raw), want["correlation_id"])
        assert list(got)[:len(members)] == members, got
        texts = {m: json.dumps(got[m]) for m in members if m != "created_at_us"}
        assert texts == {m: json.dumps(want[m]) for m in members if m != "created_at_us"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", got["created_at"])


def test_a_reading_read_back_can_be_posted_as_is(api):
    services, posted = api
    cid = newest(posted, "real_time")["correlation_id"]
    status, _, raw = get(services, "ingest", f"/v1/readings/{cid}")
    assert status == 200
    status, _, raw = get(services, "ingest", "/v1/readings", "POST", raw.decode())
    assert status == 202, raw
    assert json.loads(raw)["items"] == [{"index": 0, "status": "accepted", "correlation_id": cid}]


# ---- one problem vocabulary, one strictness about parameters -----------------------------------

EVERY = ("ingest", "cache", "analytics")
WORDCOUNT = json.dumps({"path": "/user/gridgate/text"})

# (services, method, path, body, slug): the same kind of mistake gets the same problem type
# (and the status the vocabulary gives it) from every service that can see it.
PROBLEMS = [
    # A query parameter the resource does not take, or one given twice.
    (("ingest",), "GET", f"/v1/readings?station={STATION}&aspect=real_time", None, "invalid-parameter"),
    (("ingest",), "GET", f"/v1/readings?station={STATION}&station=cst-1", None, "invalid-parameter"),
    (("ingest",), "GET", f"/v1/readings/{uuid.uuid4()}?fields=all", None, "invalid-parameter"),
    (("ingest",), "GET", "/v1/ingest/status?verbose=1", None, "invalid-parameter"),
    (("cache",), "GET", "/v1/latest?stations=cst-1&stations=cst-2", None, "invalid-parameter"),
    (("cache",), "GET", "/v1/stations?limits=2", None, "invalid-parameter"),
    (("cache",), "GET", f"/v1/stations/{STATION}/latest?aspect=real_time&aspect=real_time", None,
     "invalid-parameter"),
    (("cache",), "GET", f"/v1/stations/{STATION}/recent?count=2", None, "invalid-parameter"),
    (("analytics",), "GET", "/v1/jobs?status=running", None, "invalid-parameter"),
    (("analytics",), "GET", "/v1/jobs?limit=1&limit=2", None, "invalid-parameter"),
    (("analytics",), "GET", f"/v1/jobs/{JOB}?wait=5", None, "invalid-parameter"),
    (("analytics",), "DELETE", f"/v1/jobs/{JOB}?force=1", None, "invalid-parameter"),
    (("analytics",), "POST", "/v1/wordcount?top=3", WORDCOUNT, "invalid-parameter"),
    (EVERY, "GET", "/healthz?verbose=1", None, "invalid-parameter"),
    (EVERY, "GET", "/metrics?name=up", None, "invalid-parameter"),
    # A malformed parameter.
    (("ingest",), "GET", "/v1/readings?station=a%20b", None, "invalid-parameter"),
    (("ingest",), "GET", "/v1/readings", None, "invalid-parameter"),
    (("ingest",), "GET", "/v1/readings/not-a-uuid", None, "invalid-parameter"),
    (("ingest",), "GET", f"/v1/readings?station={STATION}&cursor=bm9wZQ", None,
     "invalid-parameter"),
    (("cache",), "GET", "/v1/stations/a%20b/latest", None, "invalid-parameter"),
    (("cache",), "GET", "/v1/stations?cursor=%25", None, "invalid-parameter"),
    (("cache",), "GET", "/v1/stations?limit=0", None, "invalid-parameter"),
    (("ingest",), "GET", f"/v1/readings?station={STATION}&limit=0", None, "invalid-parameter"),
    (("analytics",), "GET", "/v1/jobs?limit=0", None, "invalid-parameter"),
    (("analytics",), "GET", "/v1/jobs/not-a-job", None, "invalid-parameter"),
    # Nothing there.
    (("ingest",), "GET", f"/v1/readings/{uuid.uuid4()}", None, "not-found"),
    (("cache",), "GET", "/v1/stations/nobody/latest", None, "not-found"),
    (EVERY, "GET", "/v1/nothing", None, "not-found"),
    # A body that is not JSON, and a switched-off or refused write.
    (("ingest",), "POST", "/v1/readings", "{", "invalid-json"),
    (("analytics",), "POST", "/v1/wordcount", "{", "invalid-json"),
    (("ingest",), "POST", "/v1/readings", "[]", "invalid-body"),
    (("analytics",), "POST", "/v1/wordcount", '{"path": 5}', "invalid-body"),
    (("analytics",), "POST", "/v1/queries", '{"hiveql": 5}', "invalid-body"),
    # JSON, but text no backend takes (a schema-valid body, so never 400).
    (("analytics",), "POST", "/v1/queries", '{"hiveql": "SELECT 1\\u0000"}', "invalid-text"),
    (("analytics",), "POST", "/v1/wordcount", '{"path": "/a\\u0000b"}', "invalid-text"),
]


def _rows():
    for p in PROBLEMS:
        values, marks = (p.values, p.marks) if hasattr(p, "values") else (p, ())
        services, method, path, body, slug = values
        for service in services:
            yield pytest.param(service, method, path, body, slug, marks=marks,
                               id=f"{service} {method} {path}")


@pytest.mark.parametrize("service,method,path,body,slug", list(_rows()))
def test_problems_are_one_vocabulary(api, service, method, path, body, slug):
    services, _ = api
    assert slug in VOCABULARY
    status, hdrs, raw = get(services, service, path, method, body)
    assert hdrs.get("Content-Type") == "application/problem+json", (status, raw)
    problem = json.loads(raw)
    assert problem["type"] == f"urn:gridgate:problem:{slug}", problem
    assert status == problem["status"] == VOCABULARY[slug], problem


def test_the_vocabulary_is_documented_as_it_is():
    """api/README.md lists exactly the table's slugs, with their statuses."""
    with open(os.path.join(SOURCE_DIR, "api", "README.md")) as f:
        listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ([0-9]{3}) \|", f.read(), re.M))
    assert {k: int(v) for k, v in listed.items()} == VOCABULARY


# ---- one paging model -------------------------------------------------------------------------

# (service, first page, member holding the items, sort key of an item, descending?)
LISTS = [
    ("ingest", f"/v1/readings?station={STATION}&limit=1", "readings",
     lambda r: (r["created_at_us"],), True),
    ("cache", "/v1/stations?limit=1", "stations", None, False),
]


@pytest.mark.parametrize("service,first,member,key,descending", LISTS,
                         ids=[f"{s} {p}" for s, p, *_ in LISTS])
def test_lists_page_alike(api, service, first, member, key, descending):
    """limit and cursor in; count, the items and next_cursor (null on the last page) out;
    following next_cursor walks the whole list once, in its documented order."""
    services, posted = api
    items, path = [], first
    while True:
        status, _, raw = get(services, service, path)
        assert status == 200, raw
        page = json.loads(raw)
        assert page["count"] == len(page[member]) <= 1
        items += page[member]
        if page["next_cursor"] is None:
            break
        path = f"{first}&cursor={urllib.parse.quote(page['next_cursor'])}"
    if service == "ingest":
        assert sorted(r["correlation_id"] for r in items) == sorted(
            c for c, r in posted.items() if r["station_id"] == STATION)
    else:
        assert [s["station_id"] for s in items] == sorted(
            {r["station_id"] for r in posted.values()})
    if key:
        keys = [key(i) for i in items]
        assert keys == sorted(keys, reverse=descending)


# ---- the contract, served -----------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _points_somewhere(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


@pytest.mark.parametrize("service", ["ingest", "cache", "analytics"])
def test_each_service_serves_its_part_of_the_contract(api, service):
    """GET /openapi.json: a self-contained document with exactly the paths openapi.yaml gives
    the service, the same operations, and every $ref resolving inside it."""
    import yaml
    services, _ = api
    status, hdrs, raw = get(services, service, "/openapi.json")
    assert status == 200 and hdrs.get("Content-Type") == "application/json", (status, hdrs)
    doc = json.loads(raw)
    with open(os.path.join(SOURCE_DIR, "openapi.yaml"), encoding="utf-8") as f:
        whole = yaml.safe_load(f)
    mine = {p: item for p, item in whole["paths"].items()
            if any(service in op.get("tags", []) for op in item.values() if isinstance(op, dict))}
    assert sorted(doc["paths"]) == sorted(mine)
    for path, item in mine.items():
        ops = {m for m in item if m in ("get", "post", "put", "delete", "patch")}
        assert {m for m in doc["paths"][path] if m in ops} == ops, path
    refs = set(_refs(doc))
    assert refs and all(r.startswith("#/") for r in refs), [r for r in refs if r[:2] != "#/"]
    assert [r for r in refs if not _points_somewhere(doc, r)] == []
    assert doc["servers"][0]["url"].endswith(str({"ingest": 8081, "cache": 8082,
                                                  "analytics": 8083}[service]))


def test_the_published_document_stands_on_its_own():
    """openapi.yaml holds every schema itself: no $ref leaves the file."""
    import yaml
    with open(os.path.join(SOURCE_DIR, "openapi.yaml"), encoding="utf-8") as f:
        whole = yaml.safe_load(f)
    refs = set(_refs(whole))
    assert all(r.startswith("#/") for r in refs), [r for r in refs if r[:2] != "#/"]
    assert [r for r in refs if not _points_somewhere(whole, r)] == []
