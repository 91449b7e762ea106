"""Tests of the deployment checks: each rule passes on the real files and catches a broken
copy, and the image's health-check program answers as a container runtime expects.

Run by tests/deploy/check (its virtualenv has PyYAML and pytest; GG_HELM and GG_COMPOSE_CHECK
name the tools). Tests that need a tool or a built binary that is absent are skipped.
"""

import copy
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import chart_env  # noqa: E402
import chart_rules  # noqa: E402
import docker_rules  # noqa: E402
import deploy_check  # noqa: E402


def tool(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        pytest.skip("%s not set (run through tests/deploy/check)" % var)
    return path


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def rendered():
    """The chart rendered with each value set, as lists of objects."""
    helm = tool("GG_HELM")
    out = {}
    for name, values in deploy_check.VALUE_SETS.items():
        proc = subprocess.run([helm, "template", "gg", "helm/gridgate", "--kube-version",
                               deploy_check.K8S_VERSIONS[-1]] + values, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        out[name] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return out


def find(docs, kind, component=None):
    for d in docs:
        if d["kind"] == kind and (component is None or chart_rules.component_of(d) == component):
            return d
    raise AssertionError("no %s %s" % (kind, component))


def container(docs, component):
    return find(docs, "Deployment", component)["spec"]["template"]["spec"]["containers"][0]


def helm_template(*args):
    """The chart rendered with default values plus args (--set ...), as a list of objects."""
    proc = subprocess.run([tool("GG_HELM"), "template", "gg", "helm/gridgate", "--kube-version",
                           deploy_check.K8S_VERSIONS[-1]] + list(args), cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def secret_refs(docs, component):
    """{key: Secret name} of the secretKeyRefs of one service's container."""
    return {e["valueFrom"]["secretKeyRef"]["key"]: e["valueFrom"]["secretKeyRef"]["name"]
            for e in container(docs, component).get("env") or []
            if "secretKeyRef" in (e.get("valueFrom") or {})}


def pod_annotations(docs, component):
    return find(docs, "Deployment", component)["spec"]["template"]["metadata"]["annotations"]


# --- chart rules -------------------------------------------------------------------------

def test_real_chart_obeys_every_rule(rendered):
    for name, docs in rendered.items():
        want = deploy_check.EXPECT[name]
        assert chart_rules.check_labels(docs) == []
        assert chart_rules.check_deployments(docs) == []
        assert chart_rules.check_secrets(docs) == []
        assert chart_rules.check_secret_scope(docs) == []
        assert chart_rules.check_credentials_confined(docs, deploy_check.credentials(name)) == []
        assert chart_rules.check_expected_set(docs, "Secret", want["secrets"]) == []
        assert chart_rules.check_selectors(docs) == []
        assert chart_rules.check_ingress(docs, want["service_hosts"]) == []
    assert chart_rules.check_defaults(rendered["default"]) == []


def test_hardening_gaps_are_caught(rendered):
    docs = copy.deepcopy(rendered["default"])
    c = container(docs, "cache")
    c["securityContext"]["readOnlyRootFilesystem"] = False
    c["securityContext"]["capabilities"]["drop"] = []
    c["readinessProbe"]["httpGet"]["path"] = "/healthz"
    del c["resources"]["limits"]
    find(docs, "Deployment", "ingest")["spec"]["template"]["spec"]["securityContext"].pop(
        "runAsNonRoot")
    text = "\n".join(chart_rules.check_deployments(docs))
    for expected in ("readOnlyRootFilesystem", "drop ALL", "readiness probe",
                     "resources.limits.memory", "runAsNonRoot"):
        assert expected in text


def test_credentials_outside_secrets_are_caught(rendered):
    docs = copy.deepcopy(rendered["default"])
    find(docs, "ConfigMap", "cache")["data"]["GRIDGATE_REDIS_URL"] = "redis://x:6379/0"
    container(docs, "analytics")["env"].append({"name": "GRIDGATE_ADMIN_TOKEN", "value": "s3cret"})
    ref = next(e for e in container(docs, "ingest")["env"] if e["name"] == "GRIDGATE_MONGO_URI")
    ref["valueFrom"]["secretKeyRef"]["key"] = "GRIDGATE_MONGO_URL"
    problems = chart_rules.check_secrets(docs) + chart_rules.check_deployments(docs)
    assert any("holds the credential GRIDGATE_REDIS_URL" in p for p in problems)
    assert any("GRIDGATE_ADMIN_TOKEN is a literal value" in p for p in problems)
    assert any("needs key GRIDGATE_MONGO_URL" in p for p in problems)


# --- per-service Secrets -------------------------------------------------------------------

KAFKA_SECRET_KEYS = {"GRIDGATE_KAFKA_PROP_SASL_USERNAME", "GRIDGATE_KAFKA_PROP_SASL_PASSWORD"}


def test_each_service_reads_only_its_own_secret(rendered):
    """ci/per-service-secrets-values.yaml: shared credentials at the top, analytics' own tokens,
    ingest's own Kafka password, the cache on a Secret managed outside the chart."""
    docs = rendered["per-service-secrets"]
    with open(os.path.join(ROOT, "helm/gridgate/ci/per-service-secrets-values.yaml")) as f:
        values = yaml.safe_load(f)
    top, own = values["secrets"], values["analytics"]["secrets"]
    secrets = {s["metadata"]["name"]: s["stringData"]
               for s in docs if s["kind"] == "Secret"}
    assert secrets == {
        "gg-gridgate-ingest": {
            "GRIDGATE_MONGO_URI": top["mongoUri"],
            "GRIDGATE_API_TOKEN": top["apiToken"],
            "GRIDGATE_KAFKA_PROP_SASL_USERNAME": top["kafkaProps"]["SASL_USERNAME"],
            "GRIDGATE_KAFKA_PROP_SASL_PASSWORD":
                values["ingest"]["secrets"]["kafkaProps"]["SASL_PASSWORD"]},
        "gg-gridgate-analytics": {"GRIDGATE_API_TOKEN": own["apiToken"],
                                  "GRIDGATE_ADMIN_TOKEN": own["adminToken"],
                                  "GRIDGATE_BACKEND_PASSWORD": own["backendPassword"]},
    }
    assert secret_refs(docs, "ingest") == dict.fromkeys(
        {"GRIDGATE_MONGO_URI", "GRIDGATE_API_TOKEN"} | KAFKA_SECRET_KEYS, "gg-gridgate-ingest")
    assert secret_refs(docs, "cache") == dict.fromkeys(
        {"GRIDGATE_REDIS_URL"} | KAFKA_SECRET_KEYS, "gridgate-cache-credentials")
    assert secret_refs(docs, "analytics") == dict.fromkeys(
        {"GRIDGATE_API_TOKEN", "GRIDGATE_ADMIN_TOKEN", "GRIDGATE_BACKEND_PASSWORD"},
        "gg-gridgate-analytics")
    assert "checksum/secret" in pod_annotations(docs, "ingest")
    assert "checksum/secret" in pod_annotations(docs, "analytics")
    assert "checksum/secret" not in pod_annotations(docs, "cache")
    # Every credential of the file stays inside the Secrets: none in a ConfigMap or anywhere.
    creds = chart_rules.credential_values(values)
    assert len(creds) == 10, creds
    assert chart_rules.check_credentials_confined(docs, creds) == []
    for cm in docs:
        if cm["kind"] == "ConfigMap":
            assert not set(cm["data"]) & {"GRIDGATE_MONGO_URI", "GRIDGATE_REDIS_URL",
                                          "GRIDGATE_API_TOKEN", "GRIDGATE_ADMIN_TOKEN"}


def test_top_level_existing_secret_still_serves_every_service(rendered):
    docs = rendered["all-enabled"]
    assert not [d for d in docs if d["kind"] == "Secret"]
    for comp in chart_rules.SERVICES:
        assert set(secret_refs(docs, comp).values()) == {"gridgate-credentials"}, comp
        assert "checksum/secret" not in pod_annotations(docs, comp)
    docs = helm_template("--set", "secrets.existingSecret=shared",
                         "--set", "analytics.secrets.existingSecret=analytics-own")
    assert not [d for d in docs if d["kind"] == "Secret"]
    assert set(secret_refs(docs, "ingest").values()) == {"shared"}
    assert set(secret_refs(docs, "cache").values()) == {"shared"}
    assert set(secret_refs(docs, "analytics").values()) == {"analytics-own"}


def test_a_pod_rolls_only_when_its_own_secret_changes():
    base = helm_template("--set", "secrets.apiToken=t1")
    for change, rolled in ((["analytics.secrets.adminToken=other"], {"analytics"}),
                           (["secrets.apiToken=t2"], {"ingest", "analytics"}),
                           (["secrets.apiToken=t2", "analytics.secrets.apiToken=t1"], {"ingest"}),
                           (["secrets.mongoUri=mongodb://m:1/"], {"ingest"}),
                           (["secrets.redisUrl=redis://r:1/0"], {"cache"}),
                           (["secrets.kafkaProps.SASL_PASSWORD=p"], {"ingest", "cache"})):
        args = ["--set", "secrets.apiToken=t1"]
        for c in change:
            args += ["--set", c]
        docs = helm_template(*args)
        got = {comp for comp in chart_rules.SERVICES
               if pod_annotations(docs, comp)["checksum/secret"] !=
               pod_annotations(base, comp)["checksum/secret"]}
        assert got == rolled, (change, got)


@pytest.mark.parametrize("where", ["cache.extraEnv.GRIDGATE_REDIS_URL=redis://:pw@r:6379/0",
                                   "analytics.extraEnv.GRIDGATE_ADMIN_TOKEN=s3cret",
                                   "config.kafka.props.SASL_PASSWORD=s3cret"])
def test_a_credential_aimed_at_a_config_map_is_refused(where):
    proc = subprocess.run([tool("GG_HELM"), "template", "gg", "helm/gridgate", "--kube-version",
                           deploy_check.K8S_VERSIONS[-1], "--set", where],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "is a credential and would land in the" in proc.stderr, proc.stderr
    assert "s3cret" not in proc.stderr and ":pw@" not in proc.stderr


def test_secret_scope_mistakes_are_caught(rendered):
    docs = copy.deepcopy(rendered["per-service-secrets"])
    ingest_secret = find(docs, "Secret", "ingest")["metadata"]["name"]
    analytics = container(docs, "analytics")
    token = next(e for e in analytics["env"] if e["name"] == "GRIDGATE_API_TOKEN")
    token["valueFrom"]["secretKeyRef"]["name"] = ingest_secret
    analytics["env"].append({"name": "GRIDGATE_MONGO_URI", "valueFrom": {"secretKeyRef": {
        "name": find(docs, "Secret", "analytics")["metadata"]["name"],
        "key": "GRIDGATE_MONGO_URI"}}})
    container(docs, "cache")["envFrom"].append({"secretRef": {"name": ingest_secret}})
    find(docs, "Secret", "analytics")["stringData"]["GRIDGATE_REDIS_URL"] = "redis://x:1/0"
    del pod_annotations(docs, "ingest")["checksum/secret"]
    text = "\n".join(chart_rules.check_secret_scope(docs))
    assert "reads GRIDGATE_API_TOKEN from Secret/%s, the Secret of ingest" % ingest_secret in text
    assert "reads GRIDGATE_MONGO_URI, which analytics does not use" in text
    assert "reads several Secrets" in text
    assert "takes every key of Secret %s (envFrom)" % ingest_secret in text
    assert "holds GRIDGATE_REDIS_URL, which analytics does not read" in text
    assert "Deployment/gg-gridgate-ingest has no checksum/secret" in text
    # A credential leaking out of the Secrets, wherever it goes, is named by where it was set.
    creds = {"analytics.secrets.adminToken": "leak-me-1", "secrets.mongoUri": "mongodb://u:p@h/"}
    docs = copy.deepcopy(rendered["default"])
    find(docs, "ConfigMap", "cache")["data"]["GRIDGATE_X"] = "Bearer leak-me-1"
    pod_annotations(docs, "ingest")["note"] = "bW9uZ29kYjovL3U6cEBoLw=="  # base64 of the URI
    problems = chart_rules.check_credentials_confined(docs, creds)
    assert sorted(problems) == [
        "ConfigMap/gg-gridgate-cache contains the value of analytics.secrets.adminToken",
        "Deployment/gg-gridgate-ingest contains the value of secrets.mongoUri"], problems


def test_selector_and_label_mistakes_are_caught(rendered):
    docs = copy.deepcopy(rendered["all-enabled"])
    find(docs, "Service", "cache")["spec"]["selector"]["app.kubernetes.io/component"] = "ingest"
    find(docs, "Deployment", "analytics")["spec"]["replicas"] = 3
    del find(docs, "ConfigMap", "ingest")["metadata"]["labels"]["app.kubernetes.io/version"]
    problems = chart_rules.check_selectors(docs) + chart_rules.check_labels(docs)
    assert any(p.startswith("Service/") and "selects" in p for p in problems)
    assert any("sets replicas although" in p for p in problems)
    assert any("lacks labels app.kubernetes.io/version" in p for p in problems)


def test_ingress_routes_the_api_and_catches_misroutes(rendered):
    docs = copy.deepcopy(rendered["all-enabled"])
    ing = find(docs, "Ingress")
    host = "gridgate.example.com"
    assert chart_rules.route(ing, host, "/v1/stations/7/latest").endswith("-cache")
    assert chart_rules.route(ing, host, "/v1/jobs/job_9").endswith("-analytics")
    assert chart_rules.route(ing, host, "/v1/readings").endswith("-ingest")
    assert chart_rules.route(ing, "ingest.gridgate.example.com",
                             "/v1/stations/7/latest").endswith("-ingest")
    assert chart_rules.route(ing, host, "/v1/jobsX") is None
    paths = ing["spec"]["rules"][0]["http"]["paths"]
    jobs = next(p for p in paths if p["path"] == "/v1/jobs")
    jobs["backend"]["service"]["name"] = find(docs, "Service", "cache")["metadata"]["name"]
    paths.append({"path": "/v1/(.*)", "pathType": "ImplementationSpecific",
                  "backend": {"service": {"name": "nowhere", "port": {"name": "http"}}}})
    text = "\n".join(chart_rules.check_ingress(docs, deploy_check.EXPECT["all-enabled"]
                                               ["service_hosts"]))
    assert "/v1/jobs goes to" in text
    assert "not portable" in text
    assert "no Service of the release" in text


# --- container environments and --check-config ---------------------------------------------

def test_container_env_follows_kubernetes_precedence():
    docs = [
        {"kind": "ConfigMap", "metadata": {"name": "cm"},
         "data": {"GRIDGATE_LOG_LEVEL": "debug", "GRIDGATE_LISTEN": "0.0.0.0:9"}},
        {"kind": "Secret", "metadata": {"name": "rendered"},
         "stringData": {"GRIDGATE_REDIS_URL": "redis://r:6379/0"},
         "data": {"GRIDGATE_API_TOKEN": "dG9rZW4="}},
    ]
    c = {"name": "cache", "image": "reg.example.com/x/gridgate-cache:1.2.3",
         "envFrom": [{"configMapRef": {"name": "cm"}}],
         "env": [{"name": "GRIDGATE_LOG_LEVEL", "value": "warn"},
                 {"name": "GRIDGATE_REDIS_URL",
                  "valueFrom": {"secretKeyRef": {"name": "rendered", "key": "GRIDGATE_REDIS_URL"}}},
                 {"name": "GRIDGATE_API_TOKEN",
                  "valueFrom": {"secretKeyRef": {"name": "rendered", "key": "GRIDGATE_API_TOKEN"}}},
                 {"name": "GRIDGATE_ADMIN_TOKEN", "valueFrom": {"secretKeyRef": {
                     "name": "rendered", "key": "GRIDGATE_ADMIN_TOKEN", "optional": True}}},
                 {"name": "GRIDGATE_MONGO_URI", "valueFrom": {
                     "secretKeyRef": {"name": "elsewhere", "key": "GRIDGATE_MONGO_URI"}}},
                 {"name": "GRIDGATE_X",
                  "valueFrom": {"secretKeyRef": {"name": "rendered", "key": "GRIDGATE_X"}}}]}
    assert chart_env.service_of(c) == "cache"
    env, problems = chart_env.container_env(c, chart_env._Sources(docs),
                                            {"GRIDGATE_LISTEN": "0.0.0.0:8082", "PATH": "/bin"})
    assert env["GRIDGATE_LOG_LEVEL"] == "warn"          # env beats envFrom
    assert env["GRIDGATE_LISTEN"] == "0.0.0.0:9"        # envFrom beats the image's ENV
    assert env["PATH"] == "/bin"
    assert env["GRIDGATE_REDIS_URL"] == "redis://r:6379/0"
    assert env["GRIDGATE_API_TOKEN"] == "token"         # data is base64
    assert "GRIDGATE_ADMIN_TOKEN" not in env            # optional and absent
    assert env["GRIDGATE_MONGO_URI"] == chart_env.TEST_SECRETS["GRIDGATE_MONGO_URI"]
    assert problems == ["GRIDGATE_X: rendered/GRIDGATE_X does not exist"]


def test_image_env_reads_the_runtime_stage():
    for service, port in chart_rules.SERVICES.items():
        assert chart_env.image_env(service, ROOT)["GRIDGATE_LISTEN"] == "0.0.0.0:%d" % port


def test_rejected_settings_fail_the_config_check(rendered):
    bins = os.environ.get("GG_BIN_DIR") or os.path.join(ROOT, "build", "bin")
    binary = lambda s: os.path.join(bins, "gridgate-" + s)  # noqa: E731
    if not all(os.access(binary(s), os.X_OK) for s in chart_rules.SERVICES):
        pytest.skip("the gridgate binaries are not built")
    for docs in rendered.values():
        assert chart_env.check_config(docs, binary, ROOT) == []
    # The chart turns Kubernetes' per-Service variables off; the binaries take them anyway.
    docs = copy.deepcopy(rendered["default"])
    for d in docs:
        if d["kind"] == "Deployment":
            assert d["spec"]["template"]["spec"]["enableServiceLinks"] is False
            d["spec"]["template"]["spec"]["enableServiceLinks"] = True
        if d["kind"] == "Service":  # as in a release named gridgate: GRIDGATE_CACHE_...
            d["metadata"]["name"] = "gridgate-" + chart_rules.component_of(d)
    links = chart_env.service_links(docs)
    assert links["GRIDGATE_CACHE_PORT_8082_TCP_ADDR"] == "10.0.0.1"
    assert links["GRIDGATE_CACHE_SERVICE_PORT_HTTP"] == "8082"
    assert links["GRIDGATE_INGEST_PORT"] == "tcp://10.0.0.1:8081"
    assert chart_env.check_config(docs, binary, ROOT) == []
    find(docs, "ConfigMap", "ingest")["data"]["GRIDGATE_MAX_BODY"] = "1.048576e+06"
    find(docs, "ConfigMap", "analytics")["data"]["GRIDGATE_WEBHCAT_ULR"] = "http://w:1/"
    container(docs, "cache")["env"].append({"name": "GRIDGATE_KAFKA_PROP_NO_SUCH", "value": "1"})
    problems = chart_env.check_config(docs, binary, ROOT)
    assert len(problems) == 3, problems
    assert any("container ingest" in p and "GRIDGATE_MAX_BODY" in p and "1.048576e+06" in p
               for p in problems)
    assert any("container analytics" in p and "did you mean GRIDGATE_WEBHCAT_URL" in p
               for p in problems)
    assert any("container cache" in p and "no.such" in p for p in problems)


def test_ingress_long_requests_are_checked(rendered):
    docs = copy.deepcopy(rendered["all-enabled"])
    ann = find(docs, "Ingress")["metadata"]["annotations"]
    assert chart_rules.check_ingress_long_requests(docs) == []
    assert ann[chart_rules.NGINX + "proxy-read-timeout"] == "3660"
    assert ann[chart_rules.NGINX + "proxy-body-size"] == "1m"  # the values file's own key stays
    ann[chart_rules.NGINX + "proxy-read-timeout"] = "60"
    del ann[chart_rules.NGINX + "proxy-buffering"]
    problems = chart_rules.check_ingress_long_requests(docs)
    assert len(problems) == 2
    assert any("proxy-read-timeout is '60'" in p for p in problems)
    assert any("proxy-buffering" in p for p in problems)


def test_route_prefers_exact_then_longest_prefix():
    def rule(path, kind, name):
        return {"path": path, "pathType": kind, "backend": {"service": {"name": name}}}
    ing = {"spec": {"rules": [{"http": {"paths": [
        rule("/v1", "Prefix", "a"), rule("/v1/stations", "Prefix", "b"),
        rule("/v1/stations/all", "Exact", "c")]}}]}}
    assert chart_rules.route(ing, None, "/v1/x") == "a"
    assert chart_rules.route(ing, None, "/v1/stations/1") == "b"
    assert chart_rules.route(ing, None, "/v1/stations/all") == "c"
    assert chart_rules.route(ing, None, "/v2") is None
    assert chart_rules.route(ing, "any.example", "/v1/x") == "a"


def test_values_schema_rejects_typos():
    helm = tool("GG_HELM")
    proc = subprocess.run([helm, "lint", "--strict", "--kube-version", deploy_check.K8S_VERSIONS[0],
                           "helm/gridgate", "--set", "cache.replicas=3", "--set",
                           "config.logLevel=loud"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "replicas" in proc.stdout + proc.stderr
    assert "logLevel" in proc.stdout + proc.stderr


# --- Dockerfiles -------------------------------------------------------------------------

@pytest.mark.parametrize("service", sorted(docker_rules.SERVICES))
def test_real_dockerfiles_obey_the_image_rules(service):
    text = read("docker/Dockerfile.%s" % service)
    assert docker_rules.check_dockerfile(text, service) == []
    ignore = read("docker/Dockerfile.%s.dockerignore" % service)
    assert docker_rules.check_context(text, ignore, ROOT) == []


def test_image_rule_breaks_are_caught():
    text = read("docker/Dockerfile.cache")
    broken = (text.replace("USER 10001:10001", "USER gridgate")
              .replace("ca-certificates", "ca-certificates curl")
              .replace('ENTRYPOINT ["/usr/local/bin/gridgate-cache"]',
                       "ENTRYPOINT /usr/local/bin/gridgate-cache")
              .replace("FROM debian:12-slim", "FROM debian:12"))
    text_problems = "\n".join(docker_rules.check_dockerfile(broken, "cache"))
    for expected in ("numeric non-root", "curl", "ENTRYPOINT", "debian:12-slim"):
        assert expected in text_problems
    one_stage = "FROM debian:12\nRUN true\n"
    assert "multi-stage" in docker_rules.check_dockerfile(one_stage, "cache")[0]


def test_ingest_without_mongoc_shm_is_caught(rendered):
    """libmongoc keeps its counters in a file in /dev/shm, and warns at every start that finds a
    stale one (a restarted container, a pod's shared /dev/shm): the ingest image and the chart's
    ingest container turn that off."""
    text = read("docker/Dockerfile.ingest")
    broken = "\n".join(line for line in text.splitlines() if "MONGOC_DISABLE_SHM" not in line)
    assert any("MONGOC_DISABLE_SHM" in p for p in docker_rules.check_dockerfile(broken, "ingest"))
    docs = copy.deepcopy(rendered["default"])
    c = container(docs, "ingest")
    c["env"] = [e for e in c.get("env") or [] if e["name"] != "MONGOC_DISABLE_SHM"]
    assert any("MONGOC_DISABLE_SHM" in p for p in chart_rules.check_deployments(docs))


def test_parse_joins_continuations_and_skips_comments():
    text = "FROM debian:12 AS build\n# note\nRUN a \\\n    # inner\n    && b\nUSER 1:1\n"
    assert docker_rules.parse_dockerfile(text) == [
        ("FROM", "debian:12 AS build"), ("RUN", "a && b"), ("USER", "1:1")]
    st = docker_rules.stages(docker_rules.parse_dockerfile(text))
    assert st[0]["as"] == "build" and st[0]["from"] == "debian:12"


def test_dockerignore_semantics():
    pats = ["*", "!common/", "!docker/healthcheck.c", "common/*.o"]
    assert docker_rules.ignored(pats, "build/bin/x")
    assert not docker_rules.ignored(pats, "common/gg_log.c")
    assert docker_rules.ignored(pats, "common/gg_log.o")
    assert not docker_rules.ignored(pats, "docker/healthcheck.c")
    assert docker_rules.ignored(pats, "docker/compose.yaml")
    text = read("docker/Dockerfile.ingest")
    problems = docker_rules.check_context(text, "*\n!CMakeLists.txt\n!common/\n", ROOT)
    assert any("services/ is excluded" in p for p in problems)


def test_runtime_packages_against_needed_libraries():
    text = read("docker/Dockerfile.analytics")
    have = set(docker_rules.apt_packages(docker_rules.stages(
        docker_rules.parse_dockerfile(text))[-1])) - docker_rules.RUNTIME_EXTRAS
    assert docker_rules.check_runtime_packages(text, have) == []
    problems = docker_rules.check_runtime_packages(text, (have - {"libjansson4"}) | {"libzstd1"})
    assert any("lacks libzstd1" in p for p in problems)
    assert any("installs libjansson4" in p for p in problems)


def test_needed_packages_reads_a_real_binary():
    curl = shutil.which("curl")
    if not curl or not shutil.which("dpkg") or not shutil.which("readelf"):
        pytest.skip("needs Debian's curl, dpkg and readelf")
    assert "libcurl4" in docker_rules.needed_packages(curl)


# --- compose -----------------------------------------------------------------------------

def compose_load(path):
    proc = subprocess.run([tool("GG_COMPOSE_CHECK"), path], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_real_compose_file_obeys_the_rules():
    rc, out, err = compose_load(os.path.join(ROOT, "docker/compose.yaml"))
    assert rc == 0, err
    assert docker_rules.check_compose(json.loads(out), ROOT) == []


def test_compose_mistakes_are_caught(tmp_path):
    text = read("docker/compose.yaml")
    bad = tmp_path / "compose.yaml"
    bad.write_text(text.replace("redis: {condition: service_healthy}",
                                "valkey: {condition: service_healthy}"))
    rc, _, err = compose_load(str(bad))
    assert rc != 0 and "valkey" in err
    rc, out, err = compose_load(os.path.join(ROOT, "docker/compose.yaml"))
    project = json.loads(out)
    project["services"]["cache"]["ports"][0]["host_ip"] = "0.0.0.0"
    project["services"]["ingest"]["environment"]["GRIDGATE_KAFKA_BROKERS"] = "broker:9092"
    project["services"]["kafka"]["image"] = "apache/kafka:4.1.0"
    text = "\n".join(docker_rules.check_compose(project, ROOT))
    assert "beyond loopback" in text
    assert "points at broker" in text
    assert "apache/kafka:3.9.x" in text


# --- health-check program ----------------------------------------------------------------

@pytest.fixture(scope="module")
def healthcheck(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("hc") / "gridgate-healthcheck")
    subprocess.run(["cc"] + deploy_check.C_FLAGS + ["-static", "-o", out,
                                                    os.path.join(ROOT, "docker/healthcheck.c")],
                   check=True)
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A loopback HTTP server whose /healthz answers with server.RequestHandlerClass.status."""
    handler = type("H", (_Handler,), {"status": 200})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def probe(hc, *args, listen=None):
    env = {k: v for k, v in os.environ.items() if k != "GRIDGATE_LISTEN"}
    if listen is not None:
        env["GRIDGATE_LISTEN"] = listen
    start = time.monotonic()
    proc = subprocess.run([hc] + list(args), env=env, capture_output=True, text=True, timeout=10)
    return proc.returncode, proc.stderr, time.monotonic() - start


def test_healthcheck_healthy_and_unhealthy(healthcheck, server):
    port = str(server.server_address[1])
    assert probe(healthcheck, port)[0] == 0
    server.RequestHandlerClass.status = 503
    rc, err, _ = probe(healthcheck, port)
    assert rc == 1 and "status 503" in err


def test_healthcheck_follows_gridgate_listen(healthcheck, server):
    port = server.server_address[1]
    # The argument is only the fallback: the service's own setting wins, wildcard or not.
    assert probe(healthcheck, "1", listen="0.0.0.0:%d" % port)[0] == 0
    assert probe(healthcheck, "1", listen="127.0.0.1:%d" % port)[0] == 0
    rc, err, _ = probe(healthcheck, str(port), listen="some-host:%d" % port)
    assert rc == 1 and "numeric" in err


def test_healthcheck_fails_fast_on_a_closed_or_silent_port(healthcheck):
    with socket.socket() as s:  # bound and listening, but nobody ever answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        rc, err, took = probe(healthcheck, str(s.getsockname()[1]))
        assert rc == 1 and took < 5
    with socket.socket() as s:  # bound, not listening: the connection is refused
        s.bind(("127.0.0.1", 0))
        rc, err, took = probe(healthcheck, str(s.getsockname()[1]))
        assert rc == 1 and "cannot connect" in err and took < 5


def test_healthcheck_against_a_real_service(healthcheck):
    binary = os.path.join(os.environ.get("GG_BIN_DIR") or os.path.join(ROOT, "build/bin"),
                          "gridgate-analytics")
    if not os.access(binary, os.X_OK):
        pytest.skip("gridgate-analytics is not built")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listen = "127.0.0.1:%d" % port
    # Backends that do not exist: the service still starts and is alive, only not ready.
    proc = subprocess.Popen([binary, "--webhcat-url", "http://127.0.0.1:1/templeton/v1",
                             "--webhdfs-url", "http://127.0.0.1:1/webhdfs/v1"],
                            env=dict(os.environ, GRIDGATE_LISTEN=listen),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        rc = 1
        while time.monotonic() < deadline:
            rc = probe(healthcheck, listen=listen)[0]
            if rc == 0:
                break
            time.sleep(0.05)  # poll interval while the service starts
        assert rc == 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert probe(healthcheck, listen=listen)[0] == 1
