"""Tests of the Grafana dashboard rules (dashboard_rules.py): they pass on the chart's dashboard
and catch a broken copy. Run by tests/deploy/check with its other self-tests; the rendering
test needs GG_HELM (skipped without it)."""

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import dashboard_rules  # noqa: E402


@pytest.fixture(scope="module")
def dash():
    with open(os.path.join(ROOT, dashboard_rules.DASHBOARD), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def metrics():
    return dashboard_rules.service_metrics(ROOT)


@pytest.fixture(scope="module")
def routes():
    return dashboard_rules.api_get_routes(ROOT)


def panel(d, title_part):
    for p in dashboard_rules.all_panels(d):
        if title_part in p.get("title", ""):
            return p
    raise AssertionError("no panel titled like %r" % title_part)


def test_the_chart_dashboard_passes(dash, metrics, routes):
    assert dashboard_rules.check_dashboard(dash, metrics, routes) == []


def test_metrics_come_from_the_sources(metrics):
    # A family of common/ in every service, a service's own family under its prefix only,
    # histograms as their three series.
    assert metrics["gridgate_analytics_http_requests_total"] == "counter"
    assert "gridgate_ingest_consumer_lag" in metrics
    assert "gridgate_cache_consumer_lag" not in metrics
    assert "gridgate_cache_http_request_duration_seconds_bucket" in metrics
    assert "gridgate_cache_http_request_duration_seconds" not in metrics


def test_promql_names():
    names = dashboard_rules.promql_metric_names
    assert names('histogram_quantile(0.99, sum by (le, route) (rate('
                 'a_bucket{route=~"/v1/.*",x="b c"}[$__rate_interval])))') == ["a_bucket"]
    assert names("sum(rate(x_total[5m])) / sum(rate(y_total[5m])) > bool 1e3") == \
        ["x_total", "y_total"]
    assert names('min by (dependency) (up_g) and on (job) other offset 5m') == ["up_g", "other"]


def test_an_unknown_metric_fails(dash, metrics, routes):
    d = copy.deepcopy(dash)
    t = panel(d, "consumer lag")["targets"][0]
    t["expr"] = t["expr"].replace("gridgate_ingest_consumer_lag", "gridgate_cache_consumer_lag")
    assert any("gridgate_cache_consumer_lag is not a metric" in p
               for p in dashboard_rules.check_dashboard(d, metrics, routes))


def test_a_query_without_metric_fails(dash, metrics, routes):
    d = copy.deepcopy(dash)
    panel(d, "Request rate")["targets"][0]["expr"] = "vector(1)"
    assert any("selects no metric" in p
               for p in dashboard_rules.check_dashboard(d, metrics, routes))


def test_an_unknown_route_or_parameter_fails(dash, metrics, routes):
    d = copy.deepcopy(dash)
    panel(d, "Latest readings")["targets"][0]["url"] = "/v1/stations/latest"
    panel(d, "Recent readings")["targets"][0]["url_options"]["params"].append(
        {"key": "since", "value": "1"})
    problems = dashboard_rules.check_dashboard(d, metrics, routes)
    assert any("/v1/stations/latest is no GET route" in p for p in problems)
    assert any("takes no query parameter 'since'" in p for p in problems)
    # A route of another service is refused too: the JSON data source reads the cache.
    d = copy.deepcopy(dash)
    panel(d, "Latest readings")["targets"][0]["url"] = "/v1/jobs"
    panel(d, "Latest readings")["targets"][0]["url_options"]["params"] = []
    assert any("not served by gridgate-cache" in p
               for p in dashboard_rules.check_dashboard(d, metrics, routes))


def test_missing_fields_fail(dash, metrics, routes):
    d = copy.deepcopy(dash)
    del d["schemaVersion"]
    p = panel(d, "Request rate")
    del p["datasource"]
    panel(d, "Latency p99")["targets"] = []
    panel(d, "Cache lookups")["gridPos"] = dict(panel(d, "Request rate")["gridPos"])
    problems = dashboard_rules.check_dashboard(d, metrics, routes)
    assert any(x.startswith("schemaVersion") for x in problems)
    assert any("Request rate" in x and "datasource" in x for x in problems)
    assert any("Latency p99" in x and "no targets" in x for x in problems)
    assert any("overlaps" in x for x in problems)


def test_undefined_variables_fail(dash, metrics, routes):
    d = copy.deepcopy(dash)
    d["templating"]["list"] = [v for v in d["templating"]["list"]
                               if v["name"] not in ("prometheus", "aspect")]
    problems = dashboard_rules.check_dashboard(d, metrics, routes)
    assert "variable $aspect is used but not defined" in problems
    assert any("${prometheus} is not a prometheus data source variable" in x for x in problems)


def test_rendered_check(dash):
    text = json.dumps(dash)
    cm = {"kind": "ConfigMap", "metadata": {"name": "d", "labels": {"grafana_dashboard": "1"}},
          "data": {"gridgate.json": text}}
    assert dashboard_rules.check_rendered([cm], text, True) == []
    assert dashboard_rules.check_rendered([], text, False) == []
    assert dashboard_rules.check_rendered([cm], text, False) != []
    assert dashboard_rules.check_rendered([], text, True) != []
    other = copy.deepcopy(cm)
    other["metadata"]["labels"] = {}
    other["data"]["gridgate.json"] = json.dumps(dict(dash, title="x"))
    assert len(dashboard_rules.check_rendered([other], text, True)) == 2


def test_helm_renders_the_dashboard(dash):
    helm = os.environ.get("GG_HELM")
    if not helm or not os.access(helm, os.X_OK):
        pytest.skip("GG_HELM not set (run through tests/deploy/check)")
    proc = subprocess.run([helm, "template", "gg", "helm/gridgate", "--kube-version", "1.37.0",
                           "--set", "grafanaDashboard.enabled=true"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert dashboard_rules.check_rendered(docs, json.dumps(dash), True) == []
