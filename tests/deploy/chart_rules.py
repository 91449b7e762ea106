"""The chart's own rules, checked on rendered manifests (a list of dicts, one per object).

Schemas say whether an object is well-formed; these say whether it is what gridgate needs:
hardened pods, probes on the right endpoints, credentials only in Secrets, selectors that
match, and an Ingress that sends each API path to the service that serves it. Each check_*
function returns a list of problems (strings); an empty list means the rule holds.
"""

import base64
import os
import re

import yaml

SERVICES = {"ingest": 8081, "cache": 8082, "analytics": 8083}

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
)

# Settings whose values are credentials: never in a ConfigMap, never as a literal env value.
SECRET_SETTING = re.compile(
    r"^GRIDGATE_(API_TOKEN|ADMIN_TOKEN|MONGO_URI|REDIS_URL"
    r"|KAFKA_PROP_(SASL_(USERNAME|PASSWORD|OAUTHBEARER.*)|sasl\.(username|password).*"
    r"|SSL_KEY.*|ssl\.key.*))$"
)

# The credentials each service reads, beyond the GRIDGATE_KAFKA_PROP_* of the Kafka consumers.
SERVICE_SECRET_KEYS = {
    "ingest": {"GRIDGATE_MONGO_URI", "GRIDGATE_API_TOKEN"},
    "cache": {"GRIDGATE_REDIS_URL"},
    "analytics": {"GRIDGATE_API_TOKEN", "GRIDGATE_ADMIN_TOKEN", "GRIDGATE_BACKEND_PASSWORD"},
}
KAFKA_SERVICES = ("ingest", "cache")

# Requests that must reach no service through the shared host: prefixes match whole path
# elements, and the operational endpoints (every service has its own) stay inside the cluster.
UNROUTED = ("/v1/stationsX", "/v1/readingsX")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def api_routes(root=ROOT):
    """(path, service) for every path of openapi.yaml, its parameters filled in, the service
    being the one whose api/<service>/paths.yaml defines the path (None for the paths of
    api/openapi-base.yaml, which every service serves for itself), then UNROUTED with None.
    Raises ValueError when openapi.yaml has a path no fragment defines, or two define."""
    with open(os.path.join(root, "openapi.yaml"), encoding="utf-8") as f:
        published = list(yaml.safe_load(f)["paths"])
    owners = {}
    with open(os.path.join(root, "api", "openapi-base.yaml"), encoding="utf-8") as f:
        for path in yaml.safe_load(f).get("paths") or {}:
            owners.setdefault(path, []).append(None)
    for name in sorted(os.listdir(os.path.join(root, "api"))):
        frag = os.path.join(root, "api", name, "paths.yaml")
        if os.path.isfile(frag):
            with open(frag, encoding="utf-8") as f:
                for path in yaml.safe_load(f) or {}:
                    if path.startswith("/"):
                        owners.setdefault(path, []).append(name)
    routes = []
    for path in published:
        found = owners.get(path, [])
        if len(found) != 1:
            raise ValueError("openapi.yaml path %s is defined by %s" % (path, found or "nothing"))
        routes.append((re.sub(r"\{[^}/]+\}", "x-1", path), found[0]))
    return routes + [(path, None) for path in UNROUTED]


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def name_of(doc):
    return "%s/%s" % (doc.get("kind"), doc.get("metadata", {}).get("name"))


def component_of(doc):
    return doc.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component")


def check_labels(docs):
    problems = []
    for d in docs:
        labels = d.get("metadata", {}).get("labels") or {}
        missing = [k for k in STANDARD_LABELS if not labels.get(k)]
        if missing:
            problems.append("%s lacks labels %s" % (name_of(d), ", ".join(missing)))
        per_service = d["kind"] in ("Deployment", "Service", "ConfigMap", "Secret",
                                    "HorizontalPodAutoscaler", "PodDisruptionBudget")
        # The Grafana dashboard's ConfigMap belongs to the release, not to one service.
        per_service = per_service and component_of(d) != "dashboard"
        if per_service and component_of(d) not in SERVICES:
            problems.append("%s has no app.kubernetes.io/component of a service" % name_of(d))
    return problems


def _probe_path(container, probe):
    return ((container.get(probe) or {}).get("httpGet") or {}).get("path")


# Environment a service's container must set (docker_rules.RUNTIME_ENV says why).
CONTAINER_ENV = {"ingest": {"MONGOC_DISABLE_SHM": "1"}}


def _check_container(where, c, port, comp=None):
    problems = []
    env = {e.get("name"): e.get("value") for e in c.get("env") or []}
    for name, value in CONTAINER_ENV.get(comp, {}).items():
        if env.get(name) != value:
            problems.append("%s: env %s is not %r" % (where, name, value))
    sc = c.get("securityContext") or {}
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("%s: readOnlyRootFilesystem is not true" % where)
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("%s: allowPrivilegeEscalation is not false" % where)
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append("%s: capabilities do not drop ALL" % where)
    if sc.get("privileged"):
        problems.append("%s: privileged" % where)
    if _probe_path(c, "livenessProbe") != "/healthz":
        problems.append("%s: liveness probe is not GET /healthz" % where)
    if _probe_path(c, "readinessProbe") != "/readyz":
        problems.append("%s: readiness probe is not GET /readyz" % where)
    res = c.get("resources") or {}
    for need in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
        if not (res.get(need[0]) or {}).get(need[1]):
            problems.append("%s: no resources.%s.%s" % (where, need[0], need[1]))
    ports = [p.get("containerPort") for p in c.get("ports") or []]
    if ports != [port]:
        problems.append("%s: container ports %s, expected [%d]" % (where, ports, port))
    for e in c.get("env") or []:
        if SECRET_SETTING.match(e.get("name", "")) and "value" in e:
            problems.append("%s: %s is a literal value, not a secretKeyRef" % (where, e["name"]))
    return problems


def check_deployments(docs):
    problems = []
    deployments = of_kind(docs, "Deployment")
    if sorted(component_of(d) for d in deployments) != sorted(SERVICES):
        problems.append("expected one Deployment per service, got %s"
                        % sorted(name_of(d) for d in deployments))
    for d in deployments:
        comp = component_of(d)
        pod = d["spec"]["template"]["spec"]
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            problems.append("%s: runAsNonRoot is not true" % name_of(d))
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append("%s: seccompProfile is not RuntimeDefault" % name_of(d))
        if pod.get("automountServiceAccountToken") is not False:
            problems.append("%s: mounts a service account token it never uses" % name_of(d))
        for c in pod.get("containers") or []:
            where = "%s container %s" % (name_of(d), c.get("name"))
            problems += _check_container(where, c, SERVICES.get(comp, 0), comp)
    return problems


def check_secrets(docs):
    """Credentials live in Secrets only, and every secretKeyRef names a Secret key the release
    provides (or one marked optional, or a Secret managed outside the chart)."""
    problems = []
    for cm in of_kind(docs, "ConfigMap"):
        for key in (cm.get("data") or {}):
            if SECRET_SETTING.match(key):
                problems.append("%s holds the credential %s" % (name_of(cm), key))
    secrets = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    for d in of_kind(docs, "Deployment"):
        for c in d["spec"]["template"]["spec"].get("containers") or []:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if not ref or ref["name"] not in secrets or ref.get("optional"):
                    continue
                s = secrets[ref["name"]]
                keys = set(s.get("stringData") or {}) | set(s.get("data") or {})
                if ref["key"] not in keys:
                    problems.append("%s needs key %s, absent from %s"
                                    % (name_of(d), ref["key"], name_of(s)))
    return problems


def service_reads(comp, key):
    """Whether the service comp reads the credential key."""
    return key in SERVICE_SECRET_KEYS.get(comp, ()) or \
        (comp in KAFKA_SERVICES and key.startswith("GRIDGATE_KAFKA_PROP_"))


def secret_keys(secret):
    return set(secret.get("stringData") or {}) | set(secret.get("data") or {})


def check_secret_scope(docs):
    """Each service's credentials in a Secret of its own: every Secret the chart renders
    belongs to one service and holds only keys that service reads; each Deployment reads its
    credentials key by key (no envFrom of a whole Secret) from one Secret, its service's own
    or one managed outside the chart, and only keys its service reads; a rendered Secret
    rolls exactly the pods that read it (checksum/secret)."""
    problems = []
    rendered = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    read_by = {name: set() for name in rendered}
    for s in rendered.values():
        comp = component_of(s)
        if comp not in SERVICES:
            problems.append("%s belongs to no service" % name_of(s))
            continue
        for key in sorted(secret_keys(s)):
            if not service_reads(comp, key):
                problems.append("%s holds %s, which %s does not read" % (name_of(s), key, comp))
    for d in of_kind(docs, "Deployment"):
        comp, names = component_of(d), set()
        pod = d["spec"]["template"]["spec"]
        for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            for src in c.get("envFrom") or []:
                if "secretRef" in src:
                    problems.append("%s takes every key of Secret %s (envFrom)"
                                    % (name_of(d), src["secretRef"].get("name")))
                    names.add(src["secretRef"].get("name"))
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if not ref:
                    continue
                names.add(ref["name"])
                if not service_reads(comp, ref["key"]):
                    problems.append("%s reads %s, which %s does not use"
                                    % (name_of(d), ref["key"], comp))
                s = rendered.get(ref["name"])
                if s is not None and component_of(s) != comp:
                    problems.append("%s reads %s from %s, the Secret of %s"
                                    % (name_of(d), ref["key"], name_of(s),
                                       component_of(s) or "no service"))
        if len(names) > 1:
            problems.append("%s reads several Secrets: %s" % (name_of(d), sorted(names)))
        for name in names & set(read_by):
            read_by[name].add(comp)
        annotations = d["spec"]["template"]["metadata"].get("annotations") or {}
        own = names & set(rendered)
        if own and "checksum/secret" not in annotations:
            problems.append("%s has no checksum/secret for %s" % (name_of(d), sorted(own)))
        if not own and "checksum/secret" in annotations:
            problems.append("%s has a checksum/secret but reads no rendered Secret" % name_of(d))
    for name, comps in read_by.items():
        if not comps:
            problems.append("%s is read by no Deployment" % name_of(rendered[name]))
    return problems


def credential_values(values):
    """{where: value} of every non-empty credential in one values document: secrets.* and
    <service>.secrets.* (existingSecret, a Secret's name, is no credential)."""
    found = {}

    def walk(where, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "existingSecret":
                    walk("%s.%s" % (where, k), v)
        elif isinstance(node, str) and node:
            found[where] = node

    walk("secrets", (values or {}).get("secrets"))
    for comp in SERVICES:
        walk("%s.secrets" % comp, ((values or {}).get(comp) or {}).get("secrets"))
    return found


def _strings(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif node is not None:
        yield str(node)


def check_credentials_confined(docs, credentials):
    """No credential (credentials: {where: value}) appears, as is or base64-encoded, in any
    object but a Secret: not in a ConfigMap, an env literal, an annotation or a label."""
    problems = []
    forms = {where: (v, base64.b64encode(v.encode()).decode()) for where, v in credentials.items()}
    for d in docs:
        if d.get("kind") == "Secret":
            continue
        texts = list(_strings(d))
        for where, pair in sorted(forms.items()):
            if any(f in t for t in texts for f in pair):
                problems.append("%s contains the value of %s" % (name_of(d), where))
    return problems


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pod_labels(deployment):
    return deployment["spec"]["template"]["metadata"].get("labels") or {}


def check_selectors(docs):
    """Services, PDBs and HPAs each reach exactly the Deployment of their own service."""
    problems = []
    deployments = of_kind(docs, "Deployment")
    for s in of_kind(docs, "Service"):
        hit = [d for d in deployments if _selects(s["spec"].get("selector"), _pod_labels(d))]
        if [component_of(d) for d in hit] != [component_of(s)]:
            problems.append("%s selects %s" % (name_of(s), [name_of(d) for d in hit]))
            continue
        names = {p.get("name") for c in hit[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports") or []}
        for p in s["spec"].get("ports") or []:
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                problems.append("%s targets port %s, not on its pods"
                                % (name_of(s), p["targetPort"]))
    for p in of_kind(docs, "PodDisruptionBudget"):
        sel = p["spec"].get("selector", {}).get("matchLabels")
        hit = [d for d in deployments if _selects(sel, _pod_labels(d))]
        if [component_of(d) for d in hit] != [component_of(p)]:
            problems.append("%s selects %s" % (name_of(p), [name_of(d) for d in hit]))
    by_name = {d["metadata"]["name"]: d for d in deployments}
    for h in of_kind(docs, "HorizontalPodAutoscaler"):
        target = by_name.get(h["spec"]["scaleTargetRef"]["name"])
        if not target or h["spec"]["scaleTargetRef"].get("kind") != "Deployment":
            problems.append("%s scales no Deployment of the release" % name_of(h))
        elif "replicas" in target["spec"]:
            problems.append("%s sets replicas although %s scales it"
                            % (name_of(target), name_of(h)))
    return problems


def _prefix_match(prefix, path):
    """Kubernetes Prefix matching: element-wise, so /v1/jobs matches /v1/jobs/7, not /v1/jobsX."""
    want = [e for e in prefix.split("/") if e]
    have = [e for e in path.split("/") if e]
    return have[: len(want)] == want


def route(ingress, host, path):
    """The backend Service name an Ingress sends host+path to, or None. Rules for the host are
    used when there are any, otherwise the rules without a host; among their paths an Exact
    match wins, then the longest Prefix."""
    rules = ingress["spec"].get("rules") or []
    chosen = [r for r in rules if r.get("host") == host] or [r for r in rules if not r.get("host")]
    best, best_key = None, None
    for r in chosen:
        for p in (r.get("http") or {}).get("paths") or []:
            kind, prefix = p.get("pathType"), p.get("path", "")
            if kind == "Exact" and prefix == path:
                key = (1, len(prefix))
            elif kind == "Prefix" and _prefix_match(prefix, path):
                key = (0, len([e for e in prefix.split("/") if e]))
            else:
                continue
            if best_key is None or key > best_key:
                best, best_key = p["backend"]["service"]["name"], key
    return best


def check_ingress(docs, service_hosts=None):
    """Portable rules only, backends that exist, and every API path on the shared host (and
    every path on a service's own host) routed to the service that serves it."""
    ingresses = of_kind(docs, "Ingress")
    if not ingresses:
        return []
    if len(ingresses) != 1:
        return ["expected one Ingress, got %d" % len(ingresses)]
    ing = ingresses[0]
    problems = []
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    comp_service = {component_of(s): s["metadata"]["name"] for s in services.values()}
    seen = set()
    for r in ing["spec"].get("rules") or []:
        for p in (r.get("http") or {}).get("paths") or []:
            where = "%s%s" % (r.get("host", "*"), p.get("path"))
            if p.get("pathType") not in ("Prefix", "Exact"):
                problems.append("%s: pathType %s is not portable" % (where, p.get("pathType")))
            if (r.get("host"), p.get("path")) in seen:
                problems.append("%s: routed twice" % where)
            seen.add((r.get("host"), p.get("path")))
            backend = p["backend"]["service"]
            svc = services.get(backend["name"])
            if not svc:
                problems.append("%s: backend %s is no Service of the release"
                                % (where, backend["name"]))
                continue
            port_names = [x.get("name") for x in svc["spec"]["ports"]]
            if backend.get("port", {}).get("name") not in port_names:
                problems.append("%s: backend port %s not on %s"
                                % (where, backend.get("port"), backend["name"]))
    shared = [r.get("host") for r in ing["spec"].get("rules") or [] if r.get("host") not in
              (service_hosts or {}).values()]
    host = shared[0] if shared else None
    try:
        routes = api_routes()
    except (OSError, ValueError) as e:
        return problems + ["cannot read the API's paths: %s" % e]
    for path, comp in routes:
        got = route(ing, host, path)
        want = comp_service.get(comp) if comp else None
        if got != want:
            problems.append("%s%s goes to %s, expected %s" % (host or "*", path, got, want))
    for comp, h in (service_hosts or {}).items():
        if h and route(ing, h, "/v1/anything/42") != comp_service.get(comp):
            problems.append("%s does not send everything to the %s service" % (h, comp))
    return problems


def check_expected_set(docs, kind, components):
    """The objects of one kind exist for exactly the given services."""
    got = sorted(component_of(d) for d in of_kind(docs, kind))
    if got != sorted(components):
        return ["%s for %s, expected %s" % (kind, got, sorted(components))]
    return []


def config_of(docs, comp):
    for cm in of_kind(docs, "ConfigMap"):
        if component_of(cm) == comp:
            return cm.get("data") or {}
    return {}


def check_defaults(docs):
    """With default values the release points at the PowerGrid cluster's services."""
    want = {
        ("ingest", "GRIDGATE_KAFKA_BROKERS"): "kafka:9092",
        ("cache", "GRIDGATE_KAFKA_BROKERS"): "kafka:9092",
        ("ingest", "GRIDGATE_KAFKA_TOPIC"): "INGESTION",
        ("cache", "GRIDGATE_KAFKA_TOPIC"): "INGESTION",
        ("analytics", "GRIDGATE_WEBHCAT_URL"): "http://webhcat:50111/templeton/v1",
        ("analytics", "GRIDGATE_WEBHDFS_URL"): "http://namenode:9870/webhdfs/v1",
    }
    problems = []
    for (comp, key), value in want.items():
        got = config_of(docs, comp).get(key)
        if got != value:
            problems.append("%s %s is %r, expected %r" % (comp, key, got, value))
    for comp, key, value in (("ingest", "GRIDGATE_MONGO_URI", "mongodb://mongodb:27017/"),
                             ("cache", "GRIDGATE_REDIS_URL", "redis://redis-master:6379/0")):
        got = (secret_of(docs, comp).get("stringData") or {}).get(key)
        if got != value:
            problems.append("%s Secret %s is %r, expected %r" % (comp, key, got, value))
    return problems


def secret_of(docs, comp):
    """The Secret the chart renders for one service ({} when there is none)."""
    for s in of_kind(docs, "Secret"):
        if component_of(s) == comp:
            return s
    return {}


def setting_names(docs, comp):
    """Every GRIDGATE_* name the pods of one service get, from its ConfigMap and its env."""
    names = set(config_of(docs, comp))
    for d in of_kind(docs, "Deployment"):
        if component_of(d) == comp:
            for c in d["spec"]["template"]["spec"]["containers"]:
                names |= {e["name"] for e in c.get("env") or []
                          if e["name"].startswith("GRIDGATE_")}
    return names


NGINX = "nginx.ingress.kubernetes.io/"
WAIT_MAX_DEFAULT = 3600  # analytics' default GRIDGATE_WAIT_MAX_S


def check_ingress_long_requests(docs):
    """The Ingress lets a ?wait= of analytics' longest wait finish (ingress-nginx cuts a request
    after 60 s by default) and does not buffer streamed answers."""
    problems = []
    wait = int(config_of(docs, "analytics").get("GRIDGATE_WAIT_MAX_S", WAIT_MAX_DEFAULT))
    for ing in of_kind(docs, "Ingress"):
        ann = ing.get("metadata", {}).get("annotations") or {}
        for key in ("proxy-read-timeout", "proxy-send-timeout"):
            value = ann.get(NGINX + key)
            if not isinstance(value, str) or not value.isdigit() or int(value) <= wait:
                problems.append("%s: %s%s is %r, not above GRIDGATE_WAIT_MAX_S (%d s)"
                                % (name_of(ing), NGINX, key, value, wait))
        if ann.get(NGINX + "proxy-buffering") != "off":
            problems.append("%s: %sproxy-buffering is %r, expected \"off\" for streamed answers"
                            % (name_of(ing), NGINX, ann.get(NGINX + "proxy-buffering")))
    return problems
