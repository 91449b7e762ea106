"""Rules for the chart's Grafana dashboard (helm/gridgate/dashboards/gridgate.json).

Grafana accepts almost any JSON as a dashboard and shows a broken panel at run time, so these
rules check what Grafana would only find out then: the fields Grafana's dashboard model needs
(schemaVersion, uid, panels with ids, grid positions, a data source and targets), every
Prometheus query naming only metric series the services really export, every query of the
JSON data source (Infinity) asking for a GET route gridgate-cache serves according to
openapi.yaml, with parameters that route takes, and every ${variable} defined. Each check_*
returns a list of problems; empty means the rule holds.
"""

import json
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join("helm", "gridgate", "dashboards", "gridgate.json")

PROMETHEUS = "prometheus"
INFINITY = "yesoreyeram-infinity-datasource"
# The service whose API the JSON data source reads (its base URL is that service's address).
JSON_SOURCE_SERVICE = "cache"
# Grafana's current dashboard model; panels name their data source as {type, uid} since 33.
MIN_SCHEMA_VERSION = 36
PANEL_TYPES = {"row", "timeseries", "table", "stat", "gauge", "state-timeline", "bargauge",
               "text", "heatmap", "status-history", "barchart"}
GRID_WIDTH = 24

# PromQL words that are not metric names when they are not followed by "(".
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                "group_left", "group_right", "inf", "nan", "atan2"}
_METRIC_CALL = re.compile(
    r'gg_metrics_(counter|gauge|histogram)\(\s*[^,()]+,\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|([A-Za-z0-9_]+))")


def service_metrics(root=ROOT):
    """{series name: family type} of every series the services can export, read from the
    registrations in the C sources: the families of common/ (registered by the shared layer
    in every service) and of services/<service>/, each under its gridgate_<service>_ prefix
    (gg_service_init). A histogram family gives its _bucket, _sum and _count series."""
    families = {}  # service or None (every service) -> {name: type}
    for where, service in [("common", None)] + [
            (os.path.join("services", s), s) for s in ("ingest", "cache", "analytics")]:
        base = os.path.join(root, where)
        for name in sorted(os.listdir(base)):
            if not name.endswith(".c"):
                continue
            with open(os.path.join(base, name), encoding="utf-8") as f:
                text = f.read()
            for kind, family in _METRIC_CALL.findall(text):
                families.setdefault(service, {})[family] = kind
    series = {}
    for service in ("ingest", "cache", "analytics"):
        own = dict(families.get(None, {}))
        own.update(families.get(service, {}))
        for family, kind in own.items():
            name = "gridgate_%s_%s" % (service, family)
            if kind == "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    series[name + suffix] = kind
            else:
                series[name] = kind
    return series


def promql_metric_names(expr):
    """The metric names a PromQL expression selects: identifiers outside strings, label
    matchers, ranges and grouping clauses that are neither functions, aggregations nor
    keywords."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        tok = m.group(0)
        if m.start() > 0 and (s[m.start() - 1] in "$." or s[m.start() - 1].isdigit()):
            continue  # a Grafana variable, or part of a number such as 1e3
        if s[m.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if tok.lower() in PROMQL_WORDS:
            continue
        names.append(tok)
    return names


def api_get_routes(root=ROOT):
    """{path template: (tags, query parameter names)} of every GET operation of openapi.yaml."""
    with open(os.path.join(root, "openapi.yaml"), encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    components = (spec.get("components") or {}).get("parameters") or {}
    routes = {}
    for path, item in (spec.get("paths") or {}).items():
        op = item.get("get")
        if not op:
            continue
        params = set()
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            if "$ref" in p:
                p = components.get(p["$ref"].rsplit("/", 1)[-1], {})
            if p.get("in") == "query":
                params.add(p["name"])
        routes[path] = (set(op.get("tags") or []), params)
    return routes


def match_route(url_path, routes):
    """The openapi.yaml path template a dashboard URL path stands for: literal segments equal,
    and a segment holding a ${variable} takes the place of a {parameter}."""
    segs = url_path.split("/")
    for template in routes:
        tsegs = template.split("/")
        if len(tsegs) != len(segs):
            continue
        if all(t == s or (t.startswith("{") and t.endswith("}") and "$" in s)
               for t, s in zip(tsegs, segs)):
            return template
    return None


def all_panels(dash):
    """Every panel, the ones inside collapsed rows included."""
    out = []
    for p in dash.get("panels") or []:
        out.append(p)
        out.extend(p.get("panels") or [])
    return out


def _variables_used(value):
    found = set()
    if isinstance(value, str):
        for braced, bare in _VARIABLE.findall(value):
            found.add(braced or bare)
    elif isinstance(value, dict):
        for v in value.values():
            found |= _variables_used(v)
    elif isinstance(value, list):
        for v in value:
            found |= _variables_used(v)
    return found


def check_model(dash):
    """The fields Grafana's dashboard model needs, ids and grid positions that do not clash."""
    problems = []
    if not isinstance(dash.get("title"), str) or not dash["title"]:
        problems.append("no title")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", str(dash.get("uid", ""))):
        problems.append("uid %r is not 1-40 letters, digits, - or _" % dash.get("uid"))
    sv = dash.get("schemaVersion")
    if not isinstance(sv, int) or sv < MIN_SCHEMA_VERSION:
        problems.append("schemaVersion %r is not an integer >= %d" % (sv, MIN_SCHEMA_VERSION))
    if "id" in dash and dash["id"] is not None:
        problems.append("a provisioned dashboard must not carry a database id (id: %r)"
                        % dash["id"])
    panels = all_panels(dash)
    if not [p for p in panels if p.get("type") != "row"]:
        problems.append("no panels")
    ids, cells = set(), {}
    for p in panels:
        where = "panel %r" % p.get("title", p.get("id"))
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            problems.append("%s: id %r missing or not unique" % (where, p.get("id")))
        ids.add(p.get("id"))
        if p.get("type") not in PANEL_TYPES:
            problems.append("%s: unknown panel type %r" % (where, p.get("type")))
        if not p.get("title"):
            problems.append("%s: no title" % where)
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) and g[k] >= 0 for k in ("h", "w", "x", "y")) \
                or g.get("w", 0) < 1 or g.get("h", 0) < 1:
            problems.append("%s: gridPos %r needs non-negative integers h, w, x, y" % (where, g))
            continue
        if g["x"] + g["w"] > GRID_WIDTH:
            problems.append("%s: gridPos reaches past column %d" % (where, GRID_WIDTH))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    problems.append("%s overlaps %s" % (where, cells[(x, y)]))
                    break
                cells[(x, y)] = where
            else:
                continue
            break
    return problems


def check_variables(dash):
    """Every ${variable} used is defined, and a data source reference through a variable names
    a data source variable of the same plugin type."""
    problems = []
    defined = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    used = _variables_used(dash.get("panels") or [])
    for name in sorted(used - set(defined)):
        if not name.startswith("__"):  # Grafana's own ($__rate_interval, $__all ...)
            problems.append("variable $%s is used but not defined" % name)
    for p in all_panels(dash):
        for ds in [p.get("datasource")] + [t.get("datasource") for t in p.get("targets") or []]:
            if not isinstance(ds, dict):
                continue
            m = re.fullmatch(r"\$\{([A-Za-z0-9_]+)\}", str(ds.get("uid", "")))
            if not m:
                continue
            var = defined.get(m.group(1))
            if not var or var.get("type") != "datasource" or var.get("query") != ds.get("type"):
                problems.append("panel %r: data source %s is not a %s data source variable"
                                % (p.get("title"), ds.get("uid"), ds.get("type")))
    return problems


def check_queries(dash, metrics, routes):
    """Each panel's targets: a data source of a known type, PromQL over series the services
    export, Infinity URLs that are GET routes of gridgate-cache with parameters they take."""
    problems = []
    for p in all_panels(dash):
        if p.get("type") in ("row", "text"):
            continue
        where = "panel %r" % p.get("title")
        ds = p.get("datasource")
        if not isinstance(ds, dict) or ds.get("type") not in (PROMETHEUS, INFINITY) \
                or not ds.get("uid"):
            problems.append("%s: datasource %r is not {type, uid} of %s or %s"
                            % (where, ds, PROMETHEUS, INFINITY))
            continue
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.append("%s: no targets" % where)
            continue
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            problems.append("%s: refIds %r missing or repeated" % (where, refs))
        for t in targets:
            tds = t.get("datasource") or ds
            if tds.get("type") != ds["type"]:
                problems.append("%s: target %s uses %s, the panel %s"
                                % (where, t.get("refId"), tds.get("type"), ds["type"]))
            if ds["type"] == PROMETHEUS:
                problems += _check_promql(where, t, metrics)
            else:
                problems += _check_infinity(where, t, routes)
    return problems


def _check_promql(where, t, metrics):
    expr = t.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        return ["%s: target %s has no expr" % (where, t.get("refId"))]
    names = promql_metric_names(expr)
    if not names:
        return ["%s: %r selects no metric" % (where, expr)]
    return ["%s: %s is not a metric the services export" % (where, n)
            for n in names if n not in metrics]


def _check_infinity(where, t, routes):
    problems = []
    if t.get("type") != "json" or t.get("source") != "url":
        problems.append("%s: target %s is not a JSON query from a URL" % (where, t.get("refId")))
    if t.get("parser") not in ("backend", "simple"):
        problems.append("%s: parser %r (backend or simple)" % (where, t.get("parser")))
    url = t.get("url") or ""
    path, _, query = url.partition("?")
    if query:
        problems.append("%s: %s carries its query in the URL; url_options.params keep it "
                        "readable" % (where, url))
    if not path.startswith("/"):
        return problems + ["%s: URL %r is not a path relative to the data source's base URL"
                           % (where, url)]
    template = match_route(path, routes)
    if not template:
        return problems + ["%s: %s is no GET route of openapi.yaml" % (where, path)]
    tags, params = routes[template]
    if JSON_SOURCE_SERVICE not in tags:
        problems.append("%s: %s is not served by gridgate-%s" % (where, template,
                                                                JSON_SOURCE_SERVICE))
    opts = t.get("url_options") or {}
    if opts.get("method", "GET") != "GET":
        problems.append("%s: method %s" % (where, opts.get("method")))
    for kv in opts.get("params") or []:
        if kv.get("key") not in params:
            problems.append("%s: %s takes no query parameter %r" % (where, template,
                                                                   kv.get("key")))
    for c in t.get("columns") or []:
        if not c.get("selector") or c.get("type") not in (
                "string", "number", "timestamp", "timestamp_epoch", "timestamp_epoch_s",
                "boolean"):
            problems.append("%s: column %r needs a selector and a known type" % (where, c))
    return problems


def check_dashboard(dash, metrics=None, routes=None):
    metrics = service_metrics() if metrics is None else metrics
    routes = api_get_routes() if routes is None else routes
    return check_model(dash) + check_variables(dash) + check_queries(dash, metrics, routes)


def check_rendered(docs, dashboard_text, enabled):
    """The chart renders the dashboard file, unchanged, in one ConfigMap labelled for Grafana's
    sidecar when grafanaDashboard.enabled, and nothing when not."""
    found = [d for d in docs if d.get("kind") == "ConfigMap"
             and "gridgate.json" in (d.get("data") or {})]
    if not enabled:
        return ["dashboard rendered while grafanaDashboard.enabled is false"] if found else []
    if len(found) != 1:
        return ["expected one dashboard ConfigMap, got %d" % len(found)]
    cm = found[0]
    problems = []
    if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") != "1":
        problems.append("the dashboard ConfigMap lacks the label grafana_dashboard: \"1\"")
    if json.loads(cm["data"]["gridgate.json"]) != json.loads(dashboard_text):
        problems.append("the rendered dashboard differs from %s" % DASHBOARD)
    return problems
