"""Schemathesis against one running service: its operations (by tag, which includes /healthz,
/readyz and /metrics) generated from openapi.yaml, every response checked against it.

The configuration is written per run (schemathesis.toml in the run directory): the service's
address, the bearer tokens of its security schemes, and dictionaries of identifiers that
exist (the seeded stations and readings), which generation mixes in with invented ones so that
the operations reach their found-it answers and not only their 400s and 404s."""
import json
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
LAUNCHER = pathlib.Path(__file__).resolve().parent / "st_launch.py"

# Every check that applies to a stateless service with bearer tokens and no per-user data
# (object_level_authorization needs two users; max_response_time needs a budget to defend).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)

# Checks that do not apply to one operation, by design rather than by defect; each says why.
EXEMPT = {
    # The body schema is a guide: items are judged one by one by the record parser and a bad
    # item is reported in a 202 next to the good ones, so a schema-violating body may rightly
    # be accepted, and a schema-valid one (a payload string that is not JSON) rejected.
    "ingestPostReadings": ("negative_data_rejection", "positive_data_acceptance"),
    # The cursor is opaque (only cursors the service gave out are valid) and from must come
    # before to: neither can be said in a schema, so schema-valid requests may rightly get 400.
    "ingestStationReadings": ("positive_data_acceptance",),
    # DELETE /v1/jobs/{id} kills a job, as WebHCat's DELETE jobs/:jobid does, and the job stays
    # readable with state killed: a GET after it rightly answers 200.
    "analyticsKillJob": ("use_after_free",),
    "analyticsGetJob": ("use_after_free",),
}

# Schema-valid requests that may rightly fail on the state of things rather than on their
# form: positive_data_acceptance takes these statuses as acceptance too (besides its default
# 2xx, 401, 403, 404, 409, 429 and 5xx).
ACCEPTED_ALSO = {
    # 422: the directory to count does not exist (or is too large) in HDFS; or, with ?wait,
    # the job failed (job-failed), as generated HiveQL over tables that do not exist does.
    "analyticsWordcount": (422,),
    "analyticsQuery": (422,),
}

# Checks switched off because of a known defect of a service, each named; the check prints
# them on every run. (run, operationId or None for the whole run, check, defect). A run is a
# service, or "<service>-down" for its run with the store unreachable. Remove an entry once
# the defect is fixed.
KNOWN_DEFECTS = ()

# Operations Schemathesis does not call, each with why (and what tests it instead).
UNFUZZED = {
    # An event stream never ends by itself: every generated case would wait out the request
    # timeout. tests/integration/test_cache_stream.py checks its answers, 200s and errors.
    "cacheStream",
}

# Every check this version knows, so that those not wanted are switched off explicitly
# (Schemathesis runs its default checks unless told otherwise).
ALL_CHECKS = CHECKS + ("object_level_authorization",)


def known_defects(label):
    """(operationId or None, check, defect) of the run label."""
    return [(op, check, what) for run, op, check, what in KNOWN_DEFECTS if run == label]


# Per service: cases per operation and phase, longest answer to wait for, and bounds on the
# stateful phase. Analytics' jobs run one after another on the stack's Hive, a word count
# takes seconds, and ?wait parks a request until its job ends: fewer cases there. Its
# stateful phase follows only the Location of a submitted job (to read and kill it): links
# inferred from bodies would resubmit each job's HiveQL as a new query, a chain of Hive runs
# of many seconds each.
LIMITS = {
    "analytics": {"examples": 15, "request-timeout": 120, "stateful-scenarios": 8,
                  "stateful-steps": 6, "stateful-inference": ["location-headers"]},
}


class FuzzResult:
    def __init__(self, ok, generated, detail):
        self.ok = ok
        self.generated = generated
        self.detail = detail


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {v!r}")


def write_config(path, label, base_url, *, examples, seed, tokens, dictionaries, bindings,
                 checks=CHECKS):
    """schemathesis.toml for one run (label: the service, or "<service>-down"). tokens:
    security scheme -> bearer token; dictionaries: name -> values; bindings: parameter
    ("path.id") -> (dictionary, probability)."""
    limits = LIMITS.get(label, {})
    defects = known_defects(label)
    run_off = {check for op, check, _ in defects if op is None}
    op_off = {}
    for op_id, offs in EXEMPT.items():
        op_off.setdefault(op_id, []).extend(offs)
    for op_id, check, _ in defects:
        if op_id is not None:
            op_off.setdefault(op_id, []).append(check)
    lines = [
        "# Written by tests/api/fuzz.py for one run.",
        f"base-url = {_toml_value(base_url)}",
        "workers = 2",
        f"seed = {int(seed)}",
        f"request-timeout = {limits.get('request-timeout', 30)}",
        "",
        "[cache]",  # no state carried between runs: a run is reproduced by its seed alone
        "enabled = false",
        "",
        "[generation]",
        f"max-examples = {int(examples or limits.get('examples', 100))}",
        'database = "none"',
        "",
        "[checks]",
    ]
    lines += [f"{name}.enabled = {_toml_value(name in checks and name not in run_off)}"
              for name in ALL_CHECKS]
    if "stateful-scenarios" in limits:
        lines += ["", "[phases.stateful]", f"max-steps = {limits['stateful-steps']}",
                  "", "[phases.stateful.inference]",
                  f"algorithms = {_toml_value(limits['stateful-inference'])}",
                  "", "[phases.stateful.generation]",
                  f"max-examples = {limits['stateful-scenarios']}"]
    for scheme, token in tokens.items():
        lines += ["", f"[auth.openapi.{scheme}]", f"bearer = {_toml_value(token)}"]
    for name, values in dictionaries.items():
        lines += ["", f"[dictionaries.{name}]", f"values = {_toml_value(list(values))}"]
    if bindings:
        lines += ["", "[parameters]"]
        lines += [f"{json.dumps(param)} = {_toml_value({'dictionary': d, 'probability': p})}"
                  for param, (d, p) in bindings.items()]
    for op_id in sorted(set(op_off) | set(ACCEPTED_ALSO)):
        lines += ["", "[[operations]]", f"include-operation-id = {_toml_value(op_id)}"]
        if op_id in ACCEPTED_ALSO:
            statuses = ["2XX", 401, 403, 404, 409, 429, "5XX"] + list(ACCEPTED_ALSO[op_id])
            lines.append(f"checks.positive_data_acceptance.expected-statuses = "
                         f"{_toml_value(statuses)}")
        lines += [f"checks.{c}.enabled = false" for c in op_off.get(op_id, ())]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def run(service, config, output, *, phases=None, timeout=300):
    """Runs schemathesis on service's tag; the whole output goes to the file output."""
    cmd = [sys.executable, str(LAUNCHER), "--config-file", str(config), "run", str(SPEC),
           "--include-tag", service, "--no-color", "--output-truncate", "false"]
    for op_id in sorted(UNFUZZED):
        cmd += ["--exclude-operation-id", op_id]
    if phases:
        cmd += ["--phases", ",".join(phases)]
    started = time.monotonic()
    with open(output, "w") as out:
        try:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                cwd=pathlib.Path(config).parent,
                                timeout=timeout, stdin=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            rc = None
    elapsed = time.monotonic() - started
    text = pathlib.Path(output).read_text(errors="replace")
    m = re.search(r"^\s*(\d+) generated", text, re.M)
    generated = int(m.group(1)) if m else 0
    if rc is None:
        return FuzzResult(False, generated, f"timed out after {timeout} s")
    closing = re.findall(r"^=+ (.+?) =+$", text, re.M)
    summary = closing[-1] if closing else "no closing line"
    detail = f"{generated} cases in {elapsed:.0f} s"
    if rc != 0:
        start = text.find(" FAILURES ")
        if start < 0:
            start = text.find(" ERRORS ")
        report = text[text.rfind("\n", 0, start) + 1:] if start >= 0 else text[-3000:]
        return FuzzResult(False, generated, f"{detail}; schemathesis exited {rc}\n{report}")
    return FuzzResult(True, generated, f"{detail}; {summary}")
