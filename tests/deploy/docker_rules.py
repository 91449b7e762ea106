"""Rules for docker/: the Dockerfiles, their ignore files and compose.yaml.

No Docker engine runs where these checks run, so they read the files: the stages and
instructions of each Dockerfile, the build context an ignore file lets through, the runtime
packages against the libraries the built binary really loads, and the compose project as
compose-go resolved it. Each check_* function returns a list of problems (strings).
"""

import fnmatch
import json
import os
import re
import shlex
import subprocess

SERVICES = {"ingest": 8081, "cache": 8082, "analytics": 8083}
# Runtime packages that are no shared library of the binary but that the images need anyway.
RUNTIME_EXTRAS = {"ca-certificates"}
# Environment a service's runtime stage must set: libmongoc otherwise keeps its counters in a
# file in /dev/shm and warns at every start that finds a stale one.
RUNTIME_ENV = {"ingest": {"MONGOC_DISABLE_SHM": "1"}}
BUILD_ONLY = re.compile(r"(-dev|^gcc|^g\+\+|^clang|^cmake|^make|^build-essential|^curl|^wget)$")


def parse_dockerfile(text):
    """Instructions as (KEYWORD, argument text), continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not cur and (not stripped or stripped.startswith("#")):
            continue
        if cur and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            cur += stripped[:-1].rstrip() + " "
            continue
        cur += stripped
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def stages(instructions):
    """Splits instructions at each FROM: [{"from": image, "as": name, "body": [...]}]."""
    result = []
    for word, arg in instructions:
        if word == "FROM":
            parts = arg.split()
            parts = [p for p in parts if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append({"from": parts[0], "as": name, "body": []})
        elif result:
            result[-1]["body"].append((word, arg))
    return result


def apt_packages(stage):
    """Packages named by apt-get install in a stage's RUN instructions."""
    pkgs = []
    for word, arg in stage["body"]:
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|;", arg):
            tokens = shlex.split(cmd)
            if len(tokens) >= 2 and tokens[0] == "apt-get" and "install" in tokens:
                rest = tokens[tokens.index("install") + 1:]
                pkgs += [t.split("=")[0] for t in rest if not t.startswith("-")]
    return pkgs


def _exec_form(arg):
    try:
        value = json.loads(arg)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def check_dockerfile(text, service):
    port = SERVICES[service]
    st = stages(parse_dockerfile(text))
    if len(st) < 2:
        return ["not a multi-stage build (%d stage)" % len(st)]
    problems = []
    build, run = st[0], st[-1]
    if not re.match(r"^debian:12(\.\d+)?(@sha256:[0-9a-f]{64})?$", build["from"]):
        problems.append("build stage is FROM %s, expected debian:12" % build["from"])
    if not re.match(r"^debian:12(\.\d+)?-slim(@sha256:[0-9a-f]{64})?$", run["from"]):
        problems.append("runtime stage is FROM %s, expected debian:12-slim" % run["from"])
    if not any(w == "RUN" and "--target gridgate-%s" % service in a for w, a in build["body"]):
        problems.append("build stage does not build the gridgate-%s target" % service)
    body = dict()
    for word, arg in run["body"]:
        body.setdefault(word, []).append(arg)
    user = (body.get("USER") or [""])[-1]
    if not re.match(r"^[1-9][0-9]*(:[1-9][0-9]*)?$", user):
        problems.append("runtime USER is %r, expected a numeric non-root uid[:gid]" % user)
    hc = (body.get("HEALTHCHECK") or [""])[-1]
    cmd = _exec_form(hc.split("CMD", 1)[1].strip()) if "CMD" in hc else None
    if not cmd or not cmd[0].endswith("gridgate-healthcheck") or str(port) not in cmd:
        problems.append("HEALTHCHECK is not the exec-form gridgate-healthcheck on port %d" % port)
    entry = _exec_form((body.get("ENTRYPOINT") or [""])[-1])
    if entry != ["/usr/local/bin/gridgate-%s" % service]:
        problems.append("ENTRYPOINT is %r, expected the exec form of the binary" % entry)
    if str(port) not in " ".join(body.get("EXPOSE", [])).split():
        problems.append("runtime stage does not EXPOSE %d" % port)
    env = dict(tok.split("=", 1) for arg in body.get("ENV", []) for tok in shlex.split(arg)
               if "=" in tok)
    for name, value in RUNTIME_ENV.get(service, {}).items():
        if env.get(name) != value:
            problems.append("runtime stage does not set ENV %s=%s" % (name, value))
    for p in apt_packages(run):
        if BUILD_ONLY.search(p):
            problems.append("runtime stage installs the build-time or tool package %s" % p)
    return problems


def ignored(patterns, path):
    """Whether a .dockerignore (patterns in order, '!' re-includes) keeps path out of the
    context. A directory's exclusion covers its contents, as in Docker."""
    parts = path.strip("/").split("/")
    result = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.strip("/")
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatchcase("/".join(parts[:i]), pat):
                result = not neg
                break
    return result


def read_ignore(text):
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def check_context(text, ignore_text, root):
    """Every COPY source of the build exists and passes the ignore file; nothing else does."""
    patterns = read_ignore(ignore_text)
    problems = []
    for word, arg in parse_dockerfile(text):
        if word != "COPY" or "--from=" in arg:
            continue
        for src in shlex.split(arg)[:-1]:
            if not os.path.exists(os.path.join(root, src)):
                problems.append("COPY source %s does not exist" % src)
            elif ignored(patterns, src):
                problems.append("COPY source %s is excluded from the build context" % src)
    for leak in ("build", "tests/stack", ".git", "helm"):
        if os.path.exists(os.path.join(root, leak)) and not ignored(patterns, leak):
            problems.append("%s would be sent to the builder" % leak)
    return problems


def needed_packages(binary):
    """The Debian packages holding the shared libraries a binary names in ELF NEEDED (libc6,
    which every Debian image has, left out)."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    pkgs = set()
    for so in sonames:
        m = re.search(r"^\s*%s \([^)]*x86-64[^)]*\) => (\S+)" % re.escape(so), cache, re.M) or \
            re.search(r"^\s*%s \([^)]*\) => (\S+)" % re.escape(so), cache, re.M)
        if not m:
            raise RuntimeError("%s needs %s, which ldconfig does not know" % (binary, so))
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(m.group(1))],
                               capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", m.group(1)], capture_output=True, text=True)
        pkg = owner.stdout.split(":")[0].strip()
        if not pkg:
            raise RuntimeError("no Debian package owns %s" % m.group(1))
        if pkg != "libc6":
            pkgs.add(pkg)
    return pkgs


def check_runtime_packages(text, needed):
    """The runtime stage installs exactly the libraries the binary loads, plus RUNTIME_EXTRAS."""
    have = set(apt_packages(stages(parse_dockerfile(text))[-1]))
    problems = []
    for p in sorted(needed - have):
        problems.append("runtime stage lacks %s (the binary loads a library of it)" % p)
    for p in sorted(have - needed - RUNTIME_EXTRAS):
        problems.append("runtime stage installs %s, which the binary does not load" % p)
    return problems


def _hosts(value):
    """Host names in a broker list or a URL."""
    value = re.sub(r"^[a-z+]+://([^@/]*@)?", "", value or "")
    return [re.split(r"[:/]", part)[0] for part in value.split(",") if part]


def check_compose(project, root):
    """Rules on the project as compose-go resolved it (JSON of `docker compose config`)."""
    services = project.get("services") or {}
    problems = []
    for name, port in SERVICES.items():
        s = services.get(name)
        if not s:
            problems.append("no service %s" % name)
            continue
        build = s.get("build") or {}
        dockerfile = os.path.join(build.get("context", ""), build.get("dockerfile", ""))
        if os.path.realpath(build.get("context", "")) != os.path.realpath(root):
            problems.append("%s builds from %s, not the repository root"
                            % (name, build.get("context")))
        elif (build.get("dockerfile") != "docker/Dockerfile.%s" % name
              or not os.path.isfile(dockerfile)):
            problems.append("%s builds %s" % (name, build.get("dockerfile")))
        if not s.get("read_only") or "ALL" not in (s.get("cap_drop") or []):
            problems.append("%s is not read-only with every capability dropped" % name)
        if [p.get("target") for p in s.get("ports") or []] != [port]:
            problems.append("%s publishes %s, expected container port %d"
                            % (name, s.get("ports"), port))
        env = s.get("environment") or {}
        for key in ("GRIDGATE_KAFKA_BROKERS", "GRIDGATE_MONGO_URI", "GRIDGATE_REDIS_URL"):
            for host in _hosts(env.get(key)) if key in env else []:
                if host not in services:
                    problems.append("%s %s points at %s, no service of the file"
                                    % (name, key, host))
    for name, s in services.items():
        for p in s.get("ports") or []:
            if p.get("published") and p.get("host_ip") != "127.0.0.1":
                problems.append("%s publishes port %s beyond loopback" % (name, p.get("published")))
    kafka = (services.get("kafka") or {}).get("image", "")
    if not re.match(r"^apache/kafka:3\.9\.\d+$", kafka):
        problems.append("kafka image is %r, expected apache/kafka:3.9.x" % kafka)
    for needed in ("mongodb", "redis"):
        if needed not in services:
            problems.append("no %s service" % needed)
    return problems


def help_settings(binary):
    """The GRIDGATE_* names a service binary documents in --help."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    return set(re.findall(r"env (GRIDGATE_[A-Z0-9_]+)", out.stdout + out.stderr))


def unknown_settings(names, known, kafka):
    """Names a service would ignore: not in its --help, and not a Kafka property it passes on."""
    return sorted(n for n in names
                  if n not in known and not (kafka and n.startswith("GRIDGATE_KAFKA_PROP_")))
