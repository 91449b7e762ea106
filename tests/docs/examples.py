#!/usr/bin/env python3
"""Run every curl example of the documentation against the demo, and check the paths it names.

Documents: README.md, docs/*.md and services/*/README.md. Two checks per document:

examples  Every command of a ```sh / ```bash / ```shell block that runs curl is run, in document
          order, in one bash per document, from the repository root, with tests/stack/env and the
          demo's tests/stack/run/demo/env sourced. Plain assignments (NAME=..., export NAME=...)
          and `source`/`.` lines run too, so an example can use what an earlier one printed (a job
          id, say). Nothing else runs (builds, kcat, docker, helm...). Every HTTP answer curl
          receives must have the status the example documents with a trailing comment
          `# HTTP 409 ...` (several: `# HTTP 202/409 ...`), else a 2xx; and the command must exit
          0 unless a 4xx/5xx is documented (so `curl -f` examples fail on an error status).
          curl runs as a shell function that appends its own `-w` to read each status (an
          example's own `-w` is overridden); stdin is empty.
paths     Every relative path in inline code or in a shell block whose first part exists in the
          repository, or whose last part has a file extension, must exist (relative to the
          repository root or to the document, or as the tail of a longer path). `{a,b}` means
          each of a and b, `<name>` and `*` match anything. Paths under build trees and
          tests/stack/run (made at run time) are not checked.

The demo (tests/stack/demo start) is started first, or reused when it runs, on its documented
ports 18081-18083 when they are free; the test stops the services it started (GG_KEEP_STACK=1
or GG_DEMO_KEEP=1 keeps them). Substitutions, printed with every example they change:
  - 127.0.0.1:18081-18083 -> the demo's ports, when another program holds the documented ones;
  - localhost:8081-8083 / 127.0.0.1:8081-8083 (the services' default and compose ports) -> the
    demo's ingest, cache and analytics;
  - an ingress host (any name under example.com): <service>.<host> -> that service, the shared
    host -> the service whose ingressPaths (helm/gridgate/values.yaml) has the longest prefix of
    the path; https -> http.
A block that cannot run here has `<!-- not run by tests/docs: REASON -->` on the line before
its fence (it is listed as skipped, with the reason).

Usage: tests/docs/examples.py [--list] [--no-demo] [DOC.md ...]
  --list     print the commands that would run, with their expectations, and exit
  --no-demo  do not start the demo (its services must be running)
Prints one line per example and a closing "N passed, N failed, N skipped"; exits 1 on failure.
"""
import glob
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_RUN = os.path.join(ROOT, "tests", "stack", "run", "demo")
DEMO_PORTS = {"ingest": 18081, "cache": 18082, "analytics": 18083}
DEFAULT_PORTS = {"ingest": 8081, "cache": 8082, "analytics": 8083}
SHELL_LANGS = {"sh", "bash", "shell"}
SKIP_MARK = re.compile(r"<!--\s*not run by tests/docs:\s*(.+?)\s*-->")
EXPECT = re.compile(r"#.*?\bHTTP\s+(\d{3}(?:\s*(?:/|,|or)\s*\d{3})*)")
GENERATED = ("build/", "build-", "tests/stack/run/", "tests/stack/env")


def doc_files():
    files = [os.path.join(ROOT, "README.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    files += sorted(glob.glob(os.path.join(ROOT, "services", "*", "README.md")))
    return [f for f in files if os.path.isfile(f)]


# ---- extraction ------------------------------------------------------------------------------


def fenced_blocks(lines):
    """(first content line number, language, content lines, skip reason) of each fenced block."""
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        prev = i - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        skip = SKIP_MARK.search(lines[prev]) if prev >= 0 else None
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence[:3]):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j].lstrip())
            j += 1
        yield i + 2, lang, body, skip.group(1) if skip else None
        i = j + 1


def split_comment(text):
    """(code, comment) of a shell command: the comment is the first # outside quotes that starts a
    word (in a command of several lines, up to the end of its line). (None, None) while a quote
    or a parenthesis is still open, or the text ends in a pipe or && / ||: the command goes on on
    the next line."""
    quote, depth, k = None, 0, 0
    code, comment = [], []
    while k < len(text):
        c = text[k]
        if quote is None and c == "#" and (k == 0 or text[k - 1] in " \t\n;|&("):
            end = text.find("\n", k)
            end = len(text) if end < 0 else end
            comment.append(text[k:end])
            k = end
            continue
        code.append(c)
        if quote == "'":
            if c == "'":
                quote = None
        elif quote in ('"', "$'"):
            if c == "\\" and k + 1 < len(text):
                code.append(text[k + 1])
                k += 1
            elif c == quote[-1]:
                quote = None
        elif c == "\\" and k + 1 < len(text):
            code.append(text[k + 1])
            k += 1
        elif c in "'\"":
            quote = "$'" if c == "'" and k and text[k - 1] == "$" else c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        k += 1
    code = "".join(code)
    if quote or depth > 0 or code.rstrip().endswith(("|", "&&", "||")):
        return None, None
    return code, " ".join(comment)


def commands(first_line, body):
    """(line number, command text, code without comments, comment) of each logical command."""
    buf, start = [], None
    for n, line in enumerate(body, first_line):
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = n
        buf.append(line)
        if line.rstrip().endswith("\\"):
            continue
        text = "\n".join(buf)
        code, comment = split_comment(text)
        if code is None:
            continue
        yield start, text, code, comment
        buf = []
    if buf:
        text = "\n".join(buf)
        yield start, text, text, ""


def runs_curl(code):
    return re.search(r"(^|[\s|;&(`])curl\s", code) is not None


def keeps_state(code):
    """Only assignments (NAME=... [NAME=...], export ...) or a `source`/`.` of a file."""
    try:
        words = shlex.split(code)
    except ValueError:
        return False
    if not words:
        return False
    if words[0] in ("source", ".", "export"):
        return True
    return all(re.match(r"^[A-Za-z_]\w*=", w) for w in words)


def expectation(comment):
    m = EXPECT.search(comment or "")
    if not m:
        return None
    return sorted({int(s) for s in re.findall(r"\d{3}", m.group(1))})


class Example:
    def __init__(self, doc, line, text, code, comment):
        self.doc, self.line, self.text = doc, line, text
        self.code = code
        self.curl = runs_curl(code)
        self.expect = expectation(comment)
        self.run_text = text
        self.notes = []

    def where(self):
        return "%s:%d" % (os.path.relpath(self.doc, ROOT), self.line)

    def expected(self):
        return "HTTP " + "/".join(map(str, self.expect)) if self.expect else "HTTP 2xx"


def extract(doc):
    """The examples to run and the skipped blocks (line, reason) of one document."""
    with open(doc, encoding="utf-8") as f:
        lines = f.read().split("\n")
    run, skipped = [], []
    for first, lang, body, skip in fenced_blocks(lines):
        if lang not in SHELL_LANGS:
            continue
        cmds = list(commands(first, body))
        if skip:
            if any(runs_curl(c[2]) for c in cmds):
                skipped.append((first - 1, skip))
            continue
        for line, text, code, comment in cmds:
            if runs_curl(code) or keeps_state(code):
                run.append(Example(doc, line, text, code, comment))
    return run, skipped


# ---- addresses -------------------------------------------------------------------------------


def ingress_paths():
    """{service: [path prefixes]} from the chart's values (ingressPaths of each service)."""
    paths, service = {}, None
    with open(os.path.join(ROOT, "helm", "gridgate", "values.yaml"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\w+):", line)
            if m:
                service = m.group(1)
            m = re.match(r"^\s+ingressPaths:\s*\[(.*)\]", line)
            if m and service in DEMO_PORTS:
                paths[service] = [p.strip() for p in m.group(1).split(",") if p.strip()]
    return paths


def route(path, prefixes):
    best, best_len = None, -1
    for service, plist in prefixes.items():
        for p in plist:
            p = p.rstrip("/")
            if (path == p or path.startswith(p + "/")) and len(p) > best_len:
                best, best_len = service, len(p)
    return best


def localize(text, urls, prefixes):
    """The command with documented addresses pointed at the running demo, and what changed."""
    notes = []

    def sub(pattern, repl_fn, s):
        def repl(m):
            new = repl_fn(m)
            if new is not None and new != m.group(0):
                notes.append("%s -> %s" % (m.group(0), new))
                return new
            return m.group(0)

        return re.sub(pattern, repl, s)

    by_port = {p: s for s, p in DEMO_PORTS.items()}
    by_default = {p: s for s, p in DEFAULT_PORTS.items()}
    text = sub(r"(?:https?://)?(?:127\.0\.0\.1|localhost):(\d+)\b",
               lambda m: urls[by_port[int(m.group(1))]] if int(m.group(1)) in by_port
               else urls[by_default[int(m.group(1))]] if int(m.group(1)) in by_default
               else None, text)

    def ingress(m):
        host, path = m.group(1), m.group(2) or "/"
        first = host.split(".")[0]
        service = first if first in DEMO_PORTS else route(path, prefixes)
        return urls[service] + (m.group(2) or "") if service else None

    text = sub(r"https?://((?:[\w-]+\.)*example\.com)(/[^\s'\"?]*)?", ingress, text)
    return text, notes


# ---- the demo --------------------------------------------------------------------------------


def read_env(path):
    env = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^export\s+(\w+)=(.*)$", line.strip())
                if m:
                    env[m.group(1)] = shlex.split(m.group(2))[0] if m.group(2) else ""
    return env


def demo_running():
    """The demo's env when all of its services run, else None."""
    for service in DEMO_PORTS:
        try:
            with open(os.path.join(DEMO_RUN, service + ".pid")) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if ("gridgate-" + service).encode() not in f.read():
                    return None
        except (OSError, ValueError):
            return None
    env = read_env(os.path.join(DEMO_RUN, "env"))
    return env if "GG_DEMO_INGEST" in env else None


def port_free(port):
    """Nothing listens there (a bind test would also refuse ports in TIME_WAIT)."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def demo_base(env):
    if env:
        return int(env["GG_DEMO_INGEST"].rsplit(":", 1)[1]) - 1
    base = 18080
    while not all(port_free(base + k) for k in (1, 2, 3)):
        base += 10
        if base > 19000:
            raise SystemExit("no free ports for the demo between 18081 and 19003")
    return base


def start_demo():
    """Start (or reuse) the demo; returns (its env, whether this run started its services)."""
    before = demo_running()
    env = dict(os.environ, GG_DEMO_PORT_BASE=str(demo_base(before)))
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "tests", "stack", "demo"), "start"], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        print(p.stdout)
        raise SystemExit("tests/stack/demo start failed (exit %d)" % p.returncode)
    demo = demo_running()
    if not demo:
        print(p.stdout)
        raise SystemExit("tests/stack/demo start left no running services")
    print("demo: %s services (ingest %s, cache %s, analytics %s), ready with the sample data in %.1f s"
          % ("reused its" if before else "started its", demo["GG_DEMO_INGEST"], demo["GG_DEMO_CACHE"],
             demo["GG_DEMO_ANALYTICS"], time.monotonic() - t0))
    return demo, before is None


def stop_demo():
    subprocess.run([os.path.join(ROOT, "tests", "stack", "demo"), "stop"], cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- running ---------------------------------------------------------------------------------

CURL_WRAPPER = r"""curl() {
  command curl "$@" -w '%{stderr}\n@@docs-http %{http_code}\n'
  local rc=$?
  printf '@@docs-curl-exit %d\n' "$rc" >&2
  return "$rc"
}
"""


def run_doc(examples, workdir):
    """Run one document's examples in one bash; fills each example's outcome."""
    script = ["cd %s" % shlex.quote(ROOT),
              "source tests/stack/env",
              "source %s" % shlex.quote(os.path.join(DEMO_RUN, "env")),
              CURL_WRAPPER]
    for k, ex in enumerate(examples):
        out = os.path.join(workdir, "%d.out" % k)
        err = os.path.join(workdir, "%d.err" % k)
        ex.out_file, ex.err_file = out, err
        script.append("t0=$EPOCHREALTIME\n{\n%s\n} >%s 2>%s\n"
                      "printf '@@docs-exit %d %%d %%s %%s\\n' $? \"$t0\" \"$EPOCHREALTIME\"" %
                      (ex.run_text, shlex.quote(out), shlex.quote(err), k))
    t0 = time.monotonic()
    path = os.path.join(workdir, "examples.sh")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    # The script is a file and stdin is empty, so an example that reads stdin cannot eat the rest.
    p = subprocess.run(["bash", "--noprofile", "--norc", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    exits = {int(k): (int(rc), float(t1) - float(t0))
             for k, rc, t0, t1 in re.findall(r"@@docs-exit (\d+) (\d+) ([\d.]+) ([\d.]+)", p.stdout)}
    for k, ex in enumerate(examples):
        ex.exit, ex.seconds = exits.get(k, (None, 0.0))
        ex.statuses, ex.curl_exits, ex.stderr, ex.stdout = [], [], "", ""
        if os.path.exists(ex.err_file):
            with open(ex.err_file, errors="replace") as f:
                err = f.read()
            ex.statuses = [int(s) for s in re.findall(r"@@docs-http (\d{3})", err)]
            ex.curl_exits = [int(s) for s in re.findall(r"@@docs-curl-exit (\d+)", err)]
            ex.stderr = re.sub(r"\n?@@docs-[a-z-]+ \d+\n?", "\n", err).strip()
        if os.path.exists(ex.out_file):
            with open(ex.out_file, errors="replace") as f:
                ex.stdout = f.read().strip()
    return time.monotonic() - t0, p.stdout


def verdict(ex):
    """None when the example did what its document says, else why not."""
    if ex.exit is None:
        return "did not run (an earlier command ended the shell)"
    if ex.curl:
        if not ex.statuses:
            return "curl did not run (exit %d)" % ex.exit
        allowed = ex.expect or range(200, 300)
        bad = [s for s in ex.statuses if s not in allowed]
        if bad:
            return "HTTP %s, documented %s" % ("/".join(map(str, bad)), ex.expected())
    errors_expected = ex.expect and any(s >= 400 for s in ex.expect)
    if ex.exit != 0 and not errors_expected:
        return "exit status %d" % ex.exit
    return None


def shorten(s, n=600):
    s = s.strip()
    return s if len(s) <= n else s[:n] + " ..."


def check_examples(docs, no_demo, results):
    todo = [(doc, extract(doc)) for doc in docs]
    if not any(run for _, (run, _) in todo):
        return
    started = False
    if no_demo:
        demo = demo_running()
        if not demo:
            raise SystemExit("--no-demo: the demo's services are not running (tests/stack/demo start)")
    else:
        demo, started = start_demo()
    urls = {"ingest": demo["GG_DEMO_INGEST"], "cache": demo["GG_DEMO_CACHE"],
            "analytics": demo["GG_DEMO_ANALYTICS"]}
    prefixes = ingress_paths()
    try:
        for doc, (examples, skipped) in todo:
            for line, reason in skipped:
                results.append(("skip", "%s:%d" % (os.path.relpath(doc, ROOT), line),
                                "block not run: " + reason))
            if not examples:
                continue
            for ex in examples:
                ex.run_text, ex.notes = localize(ex.text, urls, prefixes)
            with tempfile.TemporaryDirectory(prefix="gg-docs-") as work:
                seconds, _ = run_doc(examples, work)
            for ex in examples:
                if not ex.curl and verdict(ex) is None:
                    continue  # an assignment or source line that worked: not an example itself
                why = verdict(ex)
                first = ex.text.strip().split("\n")[0].rstrip(" \\")
                label = "%s %s  (%s, %.1f s)" % (ex.where(), shorten(first, 100),
                                                 ex.expected() if ex.curl else "exit 0", ex.seconds)
                detail = []
                if ex.notes:
                    detail.append("ran with " + "; ".join(ex.notes))
                if why:
                    detail.append("FAILED: " + why)
                    detail.append("command:\n" + ex.run_text)
                    if ex.stdout:
                        detail.append("stdout: " + shorten(ex.stdout))
                    if ex.stderr:
                        detail.append("stderr: " + shorten(ex.stderr))
                elif ex.statuses:
                    detail.append("got HTTP " + "/".join(map(str, ex.statuses)))
                results.append(("fail" if why else "pass", label, "\n".join(detail)))
            print("%s: %d commands in %.1f s" % (os.path.relpath(doc, ROOT), len(examples), seconds))
    finally:
        if started and os.environ.get("GG_KEEP_STACK") != "1" and os.environ.get("GG_DEMO_KEEP") != "1":
            stop_demo()


# ---- paths -----------------------------------------------------------------------------------

PATH_WORD = re.compile(r"^(?:\./)?[\w.+-]+(?:/[\w.+{},<>*-]*)+$")


def path_candidates(doc):
    """(line, path) of what looks like a repository path in inline code and shell blocks."""
    with open(doc, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_block, shell_block = None, False
    for n, line in enumerate(lines, 1):
        m = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if m:
            if in_block is None:
                in_block, shell_block = m.group(1)[:3], m.group(2).lower() in SHELL_LANGS
            elif line.strip().startswith(in_block):
                in_block = None
            continue
        if in_block is not None:
            spans = [split_comment(line)[0] or line] if shell_block else []
        else:
            spans = re.findall(r"`([^`]+)`", line)
        for span in spans:
            for word in re.split(r"[\s=\"']+", span):
                word = word.rstrip(".,:;)")
                if "$" in word or "://" in word or word.startswith(("~", "/", "-")):
                    continue
                if PATH_WORD.match(word):
                    yield n, word


def path_exists(path, bases):
    """Every alternative of the path exists below one of the bases, or, as the tail of a longer
    path, anywhere in the repository (`ci/values.yaml` in a paragraph about helm/gridgate/)."""
    alts = [path]
    m = re.search(r"\{([^{}]*,[^{}]*)\}", path)
    if m:
        alts = [path[:m.start()] + a + path[m.end():] for a in m.group(1).split(",")]
    for alt in alts:
        pattern = re.sub(r"<[^<>]*>|\{[^{}]*\}", "*", alt).rstrip("/") or "."
        if any(glob.glob(os.path.join(b, pattern)) for b in bases):
            continue
        found = glob.glob(os.path.join(ROOT, "**", pattern), recursive=True)
        if not any(not os.path.relpath(f, ROOT).startswith(GENERATED) for f in found):
            return False
    return True


def check_paths(docs, results):
    for doc in docs:
        here = os.path.dirname(doc)
        bad = []
        count = 0
        for n, path in path_candidates(doc):
            clean = path[2:] if path.startswith("./") else path
            if clean.startswith(GENERATED):
                continue
            parts = [p for p in clean.split("/") if p]
            first_exists = any(os.path.exists(os.path.join(b, parts[0])) for b in (ROOT, here))
            has_ext = re.search(r"\.[A-Za-z][A-Za-z0-9]{0,4}$", parts[-1] if parts else "")
            if not (first_exists or has_ext):
                continue
            count += 1
            if not path_exists(clean, (ROOT, here)):
                bad.append("line %d: %s" % (n, path))
        label = "%s: the %d repository paths it names exist" % (os.path.relpath(doc, ROOT), count)
        results.append(("fail" if bad else "pass", label,
                        "FAILED: missing: " + ", ".join(bad) if bad else ""))


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    docs = [os.path.abspath(a) for a in args] or doc_files()
    if "--list" in argv:
        for doc in docs:
            examples, skipped = extract(doc)
            for ex in examples:
                print("%s  %s  [%s]" % (ex.where(), ex.text.replace("\n", "\n    "),
                                        ex.expected() if ex.curl else "state"))
            for line, reason in skipped:
                print("%s:%d  skipped: %s" % (os.path.relpath(doc, ROOT), line, reason))
        return 0
    t0 = time.monotonic()
    results = []
    check_paths(docs, results)
    check_examples(docs, "--no-demo" in argv, results)
    for verdict_, label, detail in results:
        print("%-4s %s" % (verdict_.upper(), label))
        if detail:
            print("     " + detail.replace("\n", "\n     "))
    count = {v: sum(1 for r in results if r[0] == v) for v in ("pass", "fail", "skip")}
    print("%d passed, %d failed, %d skipped (%.1f s)" % (count["pass"], count["fail"], count["skip"],
                                                          time.monotonic() - t0))
    return 1 if count["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
