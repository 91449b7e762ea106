"""Runs every deployment check (see tests/deploy/check, which installs the tools and starts
this with them in GG_HELM, GG_HADOLINT and GG_COMPOSE_CHECK) from the repository root.

Prints "PASS name", "FAIL name" with its problems, or "SKIP name (why)" per check, then
"N passed, N failed, N skipped"; exits 1 when any check failed.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chart_env  # noqa: E402
import chart_rules  # noqa: E402
import dashboard_rules  # noqa: E402
import docker_rules  # noqa: E402

CHART = "helm/gridgate"
# The chart's kubeVersion floor and the newest Kubernetes whose schemas kubernetes-validate ships.
K8S_VERSIONS = ("1.27.0", "1.37.0")
VALUE_SETS = {
    "default": [],
    "all-enabled": ["-f", CHART + "/ci/all-enabled-values.yaml"],
    "per-service-secrets": ["-f", CHART + "/ci/per-service-secrets-values.yaml"],
}
# What each value set must produce, beyond the rules every rendering obeys ("secrets": the
# services whose Secret the chart renders).
EXPECT = {
    "default": {"hpa": ["cache", "analytics"], "pdb": list(chart_rules.SERVICES),
                "ingress": False, "secrets": list(chart_rules.SERVICES), "service_hosts": {}},
    "all-enabled": {"hpa": list(chart_rules.SERVICES), "pdb": list(chart_rules.SERVICES),
                    "ingress": True, "secrets": [],
                    "service_hosts": {"ingest": "ingest.gridgate.example.com",
                                      "cache": "cache.gridgate.example.com",
                                      "analytics": "analytics.gridgate.example.com"}},
    "per-service-secrets": {"hpa": ["cache", "analytics"], "pdb": list(chart_rules.SERVICES),
                            "ingress": False, "secrets": ["ingest", "analytics"],
                            "service_hosts": {}},
}
# The project's warning flags (CMakeLists.txt), applied to the image's health-check program.
C_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wconversion",
           "-Wno-sign-conversion", "-Wstrict-prototypes", "-Wmissing-prototypes",
           "-Wpointer-arith", "-Wformat=2", "-Wundef", "-Werror"]


class Skip(Exception):
    """A check that cannot run here; it counts neither as passed nor as failed."""


class Report:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def run(self, name, fn):
        start = time.monotonic()
        try:
            problems = fn()
        except Skip as why:
            self.skipped += 1
            print("SKIP %s (%s)" % (name, why), flush=True)
            return
        except Exception as exc:  # a crashing check is a failed check, with its reason
            problems = ["%s: %s" % (type(exc).__name__, exc)]
        took = time.monotonic() - start
        if problems:
            self.failed += 1
            print("FAIL %s (%.1fs)" % (name, took), flush=True)
            for p in problems:
                print("     - %s" % p, flush=True)
        else:
            self.passed += 1
            print("PASS %s (%.1fs)" % (name, took), flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def output_problems(proc, what):
    if proc.returncode == 0:
        return []
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return ["%s exited %d" % (what, proc.returncode)] + text[-15:]


def helm_lint(values):
    helm = os.environ["GG_HELM"]
    return output_problems(run([helm, "lint", "--strict", "--kube-version", K8S_VERSIONS[0],
                                CHART] + values), "helm lint")


_rendered = {}


def render(set_name, version):
    """helm template of one value set for one Kubernetes version, as a list of objects."""
    key = (set_name, version)
    if key not in _rendered:
        helm = os.environ["GG_HELM"]
        proc = run([helm, "template", "gridgate", CHART, "--namespace", "powergrid",
                    "--kube-version", version] + VALUE_SETS[set_name])
        if proc.returncode != 0:
            raise RuntimeError("helm template failed: " + proc.stderr.strip())
        _rendered[key] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _rendered[key]


def validate_schemas(set_name, version):
    problems = []
    docs = render(set_name, version)
    for d in docs:
        try:
            kubernetes_validate.validate(d, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append("%s: %s at %s" % (chart_rules.name_of(d), e.message,
                                              "/".join(str(p) for p in e.path)))
        except Exception as e:  # unknown kind or version
            problems.append("%s: %s" % (chart_rules.name_of(d), getattr(e, "message", e)))
    if not docs:
        problems.append("nothing rendered")
    return problems


def credentials(set_name):
    """{where: value} of every credential the value set gives (the chart's values.yaml, then
    each -f file): the values that must stay inside Secrets."""
    files = [CHART + "/values.yaml"] + [f for flag, f in zip(VALUE_SETS[set_name],
                                                             VALUE_SETS[set_name][1:])
                                        if flag == "-f"]
    found = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            for where, value in chart_rules.credential_values(yaml.safe_load(f)).items():
                found["%s %s" % (os.path.basename(path), where)] = value
    return found


def chart_rules_for(set_name):
    docs = render(set_name, K8S_VERSIONS[-1])
    want = EXPECT[set_name]
    problems = (chart_rules.check_labels(docs) + chart_rules.check_deployments(docs) +
                chart_rules.check_secrets(docs) + chart_rules.check_secret_scope(docs) +
                chart_rules.check_credentials_confined(docs, credentials(set_name)) +
                chart_rules.check_expected_set(docs, "Secret", want["secrets"]) +
                chart_rules.check_selectors(docs) +
                chart_rules.check_ingress(docs, want["service_hosts"]) +
                chart_rules.check_ingress_long_requests(docs) +
                chart_rules.check_expected_set(docs, "HorizontalPodAutoscaler", want["hpa"]) +
                chart_rules.check_expected_set(docs, "PodDisruptionBudget", want["pdb"]))
    if bool(chart_rules.of_kind(docs, "Ingress")) != want["ingress"]:
        problems.append("Ingress rendered: %s, expected %s"
                        % (not want["ingress"], want["ingress"]))
    return problems


def bin_dir():
    return os.environ.get("GG_BIN_DIR") or "build/bin"


def binary(service):
    path = os.path.join(bin_dir(), "gridgate-" + service)
    if not os.access(path, os.X_OK):
        raise Skip("%s is not built; GG_BIN_DIR names the build's bin directory" % path)
    return path


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def dockerfile_rules(service):
    text = read("docker/Dockerfile.%s" % service)
    ignore = "docker/Dockerfile.%s.dockerignore" % service
    if not os.path.isfile(ignore):
        return docker_rules.check_dockerfile(text, service) + ["%s is missing" % ignore]
    return docker_rules.check_dockerfile(text, service) + \
        docker_rules.check_context(text, read(ignore), ".")


def hadolint(service):
    return output_problems(run([os.environ["GG_HADOLINT"], "--no-color", "--config",
                                "docker/hadolint.yaml", "docker/Dockerfile.%s" % service]),
                           "hadolint")


def runtime_packages(service):
    needed = docker_rules.needed_packages(binary(service))
    return docker_rules.check_runtime_packages(read("docker/Dockerfile.%s" % service), needed)


def healthcheck_builds():
    with tempfile.TemporaryDirectory() as tmp:
        return output_problems(run(["cc"] + C_FLAGS + ["-static", "-o", tmp + "/hc",
                                                       "docker/healthcheck.c"]), "cc")


_compose = {}


def compose_project():
    if "project" not in _compose:
        proc = run([os.environ["GG_COMPOSE_CHECK"], "docker/compose.yaml"])
        if proc.returncode != 0:
            raise RuntimeError("compose-check: " + proc.stderr.strip())
        _compose["project"] = json.loads(proc.stdout)
    return _compose["project"]


def setting_names():
    """Every GRIDGATE_* name the chart (both value sets) and compose hand to a service is one
    that service documents in --help: a misspelt name would be silently ignored."""
    problems = []
    for service in chart_rules.SERVICES:
        known = docker_rules.help_settings(binary(service))
        kafka = service != "analytics"
        names = set()
        for set_name in VALUE_SETS:
            names |= chart_rules.setting_names(render(set_name, K8S_VERSIONS[-1]), service)
        env = compose_project()["services"][service].get("environment") or {}
        names |= set(env)
        for n in docker_rules.unknown_settings(names, known, kafka):
            problems.append("gridgate-%s does not know %s" % (service, n))
    return problems


def chart_config(set_name):
    """Every rendered container's full environment passes its binary's --check-config."""
    return chart_env.check_config(render(set_name, K8S_VERSIONS[-1]), binary)


def compose_config():
    """Every gridgate service of compose.yaml passes --check-config with its environment."""
    problems = []
    for service in chart_rules.SERVICES:
        env = chart_env.image_env(service)
        given = compose_project()["services"][service].get("environment") or {}
        env.update({k: v for k, v in given.items() if v is not None})
        proc = run([binary(service), "--check-config"], env=env, timeout=30)
        if proc.returncode != 0:
            problems.append("compose service %s: --check-config exited %d: %s"
                            % (service, proc.returncode, proc.stderr.strip()))
    return problems


def image_tags():
    """One tag for the images everywhere: the project's version (CMakeLists.txt, what the
    binaries report) is the chart's appVersion, the tag the chart pulls by default, the tag
    compose runs and the tag docs/DEPLOYMENT.md builds."""
    import re
    version = re.search(r"project\(gridgate VERSION ([0-9.]+)", read("CMakeLists.txt")).group(1)
    chart = yaml.safe_load(read(CHART + "/Chart.yaml"))
    problems = []
    if str(chart.get("appVersion")) != version:
        problems.append("Chart.yaml appVersion %r is not the project version %s"
                        % (chart.get("appVersion"), version))
    for d in of_kind_deployments(render("default", K8S_VERSIONS[-1])):
        for c in d["spec"]["template"]["spec"]["containers"]:
            if not c["image"].endswith(":" + version):
                problems.append("%s pulls %s, not tag %s" % (d["metadata"]["name"], c["image"],
                                                            version))
    docs = read("docs/DEPLOYMENT.md")
    for service in chart_rules.SERVICES:
        image = compose_project()["services"][service].get("image")
        if image != "gridgate-%s:%s" % (service, version):
            problems.append("compose runs %s for %s, not gridgate-%s:%s"
                            % (image, service, service, version))
        if "-t gridgate-%s:%s " % (service, version) not in docs + " ":
            problems.append("docs/DEPLOYMENT.md does not build gridgate-%s:%s"
                            % (service, version))
    return problems


def dashboard_json():
    """The chart's Grafana dashboard: Grafana's model, PromQL over series the services export,
    JSON data source queries over gridgate-cache's GET routes of openapi.yaml."""
    with open(dashboard_rules.DASHBOARD, encoding="utf-8") as f:
        dash = json.load(f)
    return dashboard_rules.check_dashboard(dash)


def dashboard_rendered():
    """helm template renders the dashboard file in a sidecar-labelled ConfigMap when
    grafanaDashboard.enabled (the all-enabled values), and nothing by default."""
    text = read(dashboard_rules.DASHBOARD)
    return (dashboard_rules.check_rendered(render("default", K8S_VERSIONS[-1]), text, False) +
            dashboard_rules.check_rendered(render("all-enabled", K8S_VERSIONS[-1]), text, True))


def of_kind_deployments(docs):
    return chart_rules.of_kind(docs, "Deployment")


def self_tests():
    here = os.path.dirname(os.path.abspath(__file__))
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                os.path.join(here, "test_rules.py"), os.path.join(here, "test_dashboard_rules.py")])
    last = (proc.stdout.strip().splitlines() or ["no output"])[-1]
    if proc.returncode != 0:
        return ["pytest: " + last] + proc.stdout.strip().splitlines()[-30:]
    print("     pytest: %s" % last)
    return []


def main(argv):
    r = Report()
    for set_name, values in VALUE_SETS.items():
        r.run("helm lint --strict (%s values)" % set_name, lambda v=values: helm_lint(v))
    for set_name in VALUE_SETS:
        for version in K8S_VERSIONS:
            r.run("manifests valid for Kubernetes %s (%s values)" % (version, set_name),
                  lambda s=set_name, v=version: validate_schemas(s, v))
        r.run("chart rules (%s values)" % set_name, lambda s=set_name: chart_rules_for(s))
    r.run("chart defaults point at the PowerGrid services",
          lambda: chart_rules.check_defaults(render("default", K8S_VERSIONS[-1])))
    for service in chart_rules.SERVICES:
        r.run("hadolint Dockerfile.%s" % service, lambda s=service: hadolint(s))
        r.run("image rules Dockerfile.%s" % service, lambda s=service: dockerfile_rules(s))
        r.run("runtime packages = libraries gridgate-%s loads" % service,
              lambda s=service: runtime_packages(s))
    r.run("health-check program builds static with the project's flags", healthcheck_builds)
    r.run("compose.yaml loads as docker compose config would",
          lambda: [] if compose_project() else ["empty project"])
    r.run("compose rules", lambda: docker_rules.check_compose(compose_project(), os.getcwd()))
    r.run("every setting name is known to its service", setting_names)
    for set_name in VALUE_SETS:
        r.run("every container's environment passes its binary's --check-config (%s values)"
              % set_name, lambda s=set_name: chart_config(s))
    r.run("every compose service's environment passes --check-config", compose_config)
    r.run("one image tag: project version = chart appVersion = compose = docs", image_tags)
    r.run("Grafana dashboard: model, metric names, API routes", dashboard_json)
    r.run("Grafana dashboard renders from the chart (grafanaDashboard.enabled)",
          dashboard_rendered)
    if "--no-self-test" not in argv:
        r.run("self-tests of the checks (tests/deploy/test_*.py)", self_tests)
    print()
    print("%d passed, %d failed, %d skipped" % (r.passed, r.failed, r.skipped))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
