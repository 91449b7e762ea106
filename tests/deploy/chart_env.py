"""Each rendered container's full environment, run through its own binary's --check-config.

The schema checks say a manifest is well-formed; only the binaries know whether they accept the
values in it (a chart once rendered GRIDGATE_MAX_BODY as "1.048576e+06" and every pod would have
crash-looped). For every container of every Deployment this builds the environment the kubelet
would give it: the image's ENV, then envFrom (ConfigMaps, Secrets), then env (literal values,
configMapKeyRef, secretKeyRef), later ones winning as in Kubernetes, plus the variables of every
Service in the namespace when the pod does not turn them off (enableServiceLinks). Secrets the
chart renders are read from the rendering; a Secret managed outside the chart
(secrets.existingSecret or <service>.secrets.existingSecret) gets the test values below. The
matching built binary then runs with exactly that environment and --check-config, which
validates every setting as a start would without starting anything.
"""

import base64
import os
import re
import subprocess

import docker_rules

# Stand-ins for credentials a Secret outside the chart would hold: shaped like real ones, so
# that the binaries' own parsers judge them (a Redis URL with a password, a Mongo URI with
# credentials and options).
TEST_SECRETS = {
    "GRIDGATE_MONGO_URI": "mongodb://gridgate:test-password@mongodb-0.mongodb:27017,"
                          "mongodb-1.mongodb:27017/?replicaSet=rs0&authSource=admin",
    "GRIDGATE_REDIS_URL": "redis://:test-password@redis-master:6379/0",
    "GRIDGATE_API_TOKEN": "test-api-token",
    "GRIDGATE_ADMIN_TOKEN": "test-admin-token",
    "GRIDGATE_KAFKA_PROP_SASL_USERNAME": "gridgate",
    "GRIDGATE_KAFKA_PROP_SASL_PASSWORD": "test-password",
}


def test_secret(key):
    return TEST_SECRETS.get(key, "test-value")


def _secret_data(doc):
    data = dict(doc.get("stringData") or {})
    for k, v in (doc.get("data") or {}).items():
        data.setdefault(k, base64.b64decode(v).decode())
    return data


def image_env(service, root="."):
    """ENV of the Dockerfile's last stage: the environment the image itself sets."""
    path = os.path.join(root, "docker", "Dockerfile.%s" % service)
    with open(path, encoding="utf-8") as f:
        runtime = docker_rules.stages(docker_rules.parse_dockerfile(f.read()))[-1]
    env = {}
    for word, arg in runtime["body"]:
        if word == "ENV":
            for m in re.finditer(r'(\w+)=("[^"]*"|\S+)', arg):
                env[m.group(1)] = m.group(2).strip('"')
    return env


def service_of(container):
    """gridgate-ingest for an image registry.example.com/grid/gridgate-ingest:0.1.0."""
    repo = container.get("image", "").rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    return repo[len("gridgate-"):] if repo.startswith("gridgate-") else None


class _Sources:
    def __init__(self, docs):
        self.config_maps = {d["metadata"]["name"]: d.get("data") or {}
                            for d in docs if d.get("kind") == "ConfigMap"}
        self.secrets = {d["metadata"]["name"]: _secret_data(d)
                        for d in docs if d.get("kind") == "Secret"}

    def secret_key(self, name, key):
        """A key of a Secret: rendered, or a test value for a Secret made outside the chart;
        None when a rendered Secret lacks it."""
        if name in self.secrets:
            return self.secrets[name].get(key)
        return test_secret(key)


def container_env(container, sources, base=None):
    """(environment, problems) of one container spec."""
    env, problems = dict(base or {}), []
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        if "configMapRef" in src:
            ref = src["configMapRef"]
            data = sources.config_maps.get(ref["name"])
        else:
            ref = src["secretRef"]
            data = sources.secrets.get(ref["name"])
            if data is None:
                problems.append("envFrom secretRef %s: not rendered, its keys are unknown"
                                % ref["name"])
                continue
        if data is None:
            if not ref.get("optional"):
                problems.append("envFrom names %s, which is not rendered" % ref["name"])
            continue
        env.update({prefix + k: str(v) for k, v in data.items()})
    for var in container.get("env") or []:
        value = _env_value(var, sources, problems)
        if value is not None:
            env[var["name"]] = value
    return env, problems


def _env_value(var, sources, problems):
    if "value" in var:
        return str(var["value"])
    vf = var.get("valueFrom") or {}
    if "secretKeyRef" in vf:
        ref = vf["secretKeyRef"]
        value = sources.secret_key(ref["name"], ref["key"])
    elif "configMapKeyRef" in vf:
        ref = vf["configMapKeyRef"]
        value = (sources.config_maps.get(ref["name"]) or {}).get(ref["key"])
    else:  # fieldRef, resourceFieldRef: not gridgate settings
        return "test-field"
    if value is None and not ref.get("optional"):
        problems.append("%s: %s/%s does not exist" % (var["name"], ref["name"], ref["key"]))
    return value


def service_links(docs):
    """The variables Kubernetes gives a pod for every Service of its namespace unless the pod
    sets enableServiceLinks: false (10.0.0.1 standing in for each cluster IP)."""
    env = {}
    for svc in docs:
        if svc.get("kind") != "Service":
            continue
        name = re.sub(r"[^A-Z0-9]", "_", svc["metadata"]["name"].upper())
        for i, port in enumerate(svc["spec"].get("ports") or []):
            proto, num = port.get("protocol", "TCP"), port["port"]
            url = "%s://10.0.0.1:%d" % (proto.lower(), num)
            if i == 0:
                env.update({name + "_SERVICE_HOST": "10.0.0.1", name + "_SERVICE_PORT": str(num),
                            name + "_PORT": url})
            if port.get("name"):
                env["%s_SERVICE_PORT_%s" % (name, port["name"].upper().replace("-", "_"))] = \
                    str(num)
            base = "%s_PORT_%d_%s" % (name, num, proto)
            env.update({base: url, base + "_PROTO": proto.lower(), base + "_PORT": str(num),
                        base + "_ADDR": "10.0.0.1"})
    return env


def containers(docs, root="."):
    """(where, service, environment, problems) for every gridgate container rendered."""
    sources, links = _Sources(docs), service_links(docs)
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        spec = d["spec"]["template"]["spec"]
        base = dict(links) if spec.get("enableServiceLinks", True) else {}
        for c in (spec.get("initContainers") or []) + spec.get("containers", []):
            service = service_of(c)
            where = "Deployment/%s container %s" % (d["metadata"]["name"], c["name"])
            if service is None:
                yield where, None, {}, ["image %r is no gridgate image" % c.get("image")]
                continue
            base.update(image_env(service, root))
            env, problems = container_env(c, sources, base)
            yield where, service, env, problems


def check_config(docs, binary_of, root="."):
    """Problems: every rendered container whose binary's --check-config rejects its
    environment, named with the binary's own one-line message."""
    problems, seen = [], 0
    for where, service, env, found in containers(docs, root):
        problems += ["%s: %s" % (where, p) for p in found]
        if service is None:
            continue
        seen += 1
        proc = subprocess.run([binary_of(service), "--check-config"], env=env,
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            said = (proc.stderr.strip() or proc.stdout.strip() or "no message").splitlines()
            problems.append("%s: gridgate-%s --check-config exited %d: %s"
                            % (where, service, proc.returncode, " | ".join(said)))
    if not seen:
        problems.append("no gridgate container rendered")
    return problems
