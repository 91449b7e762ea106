"""The latest reading of a station, asked three ways over the same data: gridgate-cache's
GET /v1/stations/{id}/latest, gridgate-ingest's GET /v1/readings?station={id}&limit=1 (the same
HTTP layer in front of MongoDB), and MongoDB itself through mongo-c-driver (latest_mongo.c)."""
import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
RESULT = re.compile(r"^RESULT (.*)$", re.M)


def wrk(port, stations, path, seconds, threads=1, connections=1):
    """wrk asking stations 1..n in turn on one keep-alive connection (by default)."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "--timeout", "10s", "-s", os.path.join(HERE, "rotate.lua"),
                          f"http://127.0.0.1:{port}", "--", str(stations), path],
                         check=True, capture_output=True, text=True).stdout
    m = RESULT.search(out)
    if not m:
        raise SystemExit(f"wrk printed no result:\n{out}")
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    if r["errors"] > 0:
        raise SystemExit(f"wrk saw {r['errors']:.0f} errors on {path}")
    return r


def cache_answers(http, stations):
    """Station -> created_at_us of the cache's latest real_time reading."""
    out = {}
    for s in range(1, stations + 1):
        status, body = http.json("GET", f"/v1/stations/{s}/latest")
        out[str(s)] = body["created_at_us"] if status == 200 else 0
    return out


def mongo(tool, uri, db, stations, queries, id_queries):
    """latest_mongo's JSON (see latest_mongo.c)."""
    out = subprocess.run([tool, uri, db, "readings", str(stations), str(queries),
                          str(id_queries)], check=True, capture_output=True, text=True,
                         timeout=900).stdout
    return json.loads(out)


def plan(explain):
    """What the store says about how it ran a query, in a few words."""
    if not explain:
        return "no explain output"
    if "ferretdbVersion" in explain.get("serverInfo", {}):
        pushed = [k[:-8] for k in ("filterPushdown", "sortPushdown", "limitPushdown")
                  if explain.get(k)]
        steps = "; ".join(explain.get("queryPlanner", {}).get("Plan", []))
        return f"FerretDB: {steps or '?'}; pushed down: {', '.join(pushed) or 'nothing'}"
    stage = explain.get("queryPlanner", {}).get("winningPlan", {})
    names = []
    while stage:
        names.append(stage.get("stage", "?"))
        stage = stage.get("inputStage")
    return "MongoDB: " + " <- ".join(names)
