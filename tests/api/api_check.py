"""The API contract check (run through tests/api/check, which provides the tools).

1. api/build.py passes its tests, and openapi.yaml is what it makes of api/ (--check);
2. openapi.yaml is a valid OpenAPI 3.1 description (openapi-spec-validator);
3. every JSON Schema in api/ is valid and accepts its own examples, and every example in
   openapi.yaml fits its schema (jsonschema);
4. each service that has an api/<service>/paths.yaml, started from GG_BIN_DIR against the
   running stack, passes Schemathesis on its operations: at least MIN_CASES generated cases,
   no check failing (no 5xx, every status, content type, header and body as described), and
   no 5xx in the service's own access log either;
5. each service with its store unreachable answers as described too (503 where listed);
6. every service exits 0 on SIGTERM.

Prints one line per check and a closing "N passed, N failed"; exits 1 on any failure."""
import argparse
import collections
import os
import pathlib
import secrets
import shutil
import sys
import tempfile
import traceback

import fuzz
import services
import spec_checks

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIN_CASES = 500
DOWN_EXAMPLES = 10
SEED_READINGS = 300


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"api-check: ok   {name}" + (f": {detail}" if detail else ""), flush=True)

    def fail(self, name, detail):
        self.failed += 1
        print(f"api-check: FAIL {name}: {detail}", flush=True)

    def run(self, name, fn):
        try:
            self.ok(name, fn())
        except spec_checks.CheckFailed as e:
            self.fail(name, str(e))
        except Exception:  # a crash of the check itself is a failure, with its trace
            self.fail(name, traceback.format_exc())


def services_with_fragments(wanted):
    have = [s for s in ("ingest", "cache", "analytics")
            if (ROOT / "api" / s / "paths.yaml").is_file()]
    return [s for s in have if not wanted or s in wanted]


class Run:
    """The services of one check run, with names of their own on the shared stack."""

    def __init__(self, bin_dir, run_dir):
        self.bin_dir = bin_dir
        self.run_dir = run_dir
        self.stack = services.load_stack_env()
        uid = f"{os.getpid()}x{secrets.token_hex(3)}"
        self.topic = f"gg-api-{uid}"
        self.uid = uid
        self.tokens = {"api": secrets.token_urlsafe(18), "admin": secrets.token_urlsafe(18)}
        self.hdfs_dir = None  # set by fuzz_analytics, under the Hadoop user's home
        self.started = []
        self.bad = []

    def scheme_tokens(self, name):
        """Bearer token of each security scheme of the service's operations."""
        return {"ingest": {"IngestBearer": self.tokens["api"]},
                "cache": {},
                "analytics": {"AnalyticsApiToken": self.tokens["api"],
                              "AnalyticsAdminToken": self.tokens["admin"]}}[name]

    def stack_vars(self, *names):
        missing = [n for n in names if n not in self.stack]
        if missing:
            raise services.ServiceError(f"tests/stack/env lacks {', '.join(missing)}: "
                                        "start the stack with tests/stack/up")
        return {n: self.stack[n] for n in names}

    def start(self, name, down=False):
        """Starts a service; down: with its store (MongoDB, Redis, WebHCat and WebHDFS) at an
        address where nothing listens, to see how it answers during an outage."""
        env = {"GRIDGATE_KAFKA_TOPIC": self.topic}
        group = f"gg-api-{name}-{self.uid}" + ("-down" if down else "")
        if name == "ingest":
            env.update(self.stack_vars("GRIDGATE_KAFKA_BROKERS", "GRIDGATE_MONGO_URI"),
                       GRIDGATE_KAFKA_GROUP=group,
                       GRIDGATE_MONGO_DB=f"gg_api_{self.uid}",
                       GRIDGATE_API_TOKEN=self.tokens["api"])
        elif name == "cache":
            env.update(self.stack_vars("GRIDGATE_KAFKA_BROKERS", "GRIDGATE_REDIS_URL"),
                       GRIDGATE_KAFKA_GROUP=group,
                       GRIDGATE_REDIS_PREFIX=f"gg-api-{self.uid}:")
        else:
            env = self.stack_vars("GRIDGATE_WEBHCAT_URL", "GRIDGATE_WEBHDFS_URL",
                              "GRIDGATE_HADOOP_USER")
            env.update(GRIDGATE_API_TOKEN=self.tokens["api"],
                       GRIDGATE_ADMIN_TOKEN=self.tokens["admin"],
                       GRIDGATE_JOBS_DIR=f"{self.hdfs_dir}/jobs",
                       GRIDGATE_INPUT_ROOTS=f"{self.hdfs_dir}/text",
                       GRIDGATE_POLL_INTERVAL_MS="500")
        if down:
            dead = f"127.0.0.1:{services.free_port()}"
            env.update({
                "ingest": {"GRIDGATE_MONGO_URI": f"mongodb://{dead}/?serverSelectionTimeoutMS=300"
                                                 "&connectTimeoutMS=300"},
                "cache": {"GRIDGATE_REDIS_URL": f"redis://{dead}/0",
                          "GRIDGATE_REDIS_TIMEOUT_MS": "300"},
                "analytics": {"GRIDGATE_WEBHCAT_URL": f"http://{dead}/templeton/v1",
                              "GRIDGATE_WEBHDFS_URL": f"http://{dead}/webhdfs/v1"},
            }[name])
        svc = services.Service(name, self.bin_dir, env, self.run_dir,
                               label=f"{name}-down" if down else name)
        self.started.append(svc)
        return svc.start(ready=not down)

    def stop_one(self, svc):
        """A service that does not exit 0 on SIGTERM is a failure, noted in self.bad."""
        rc = svc.stop()
        self.started.remove(svc)
        if rc != 0:
            self.bad.append(f"{svc.name} exited {rc} on SIGTERM (log: {svc.log_path})")

    def stop(self):
        for svc in reversed(list(self.started)):
            self.stop_one(svc)
        return self.bad


def say_known_defects(label):
    for op, check, what in fuzz.known_defects(label):
        print(f"api-check: {label}: {check} skipped on {op or 'every operation'}, "
              f"known defect: {what}", flush=True)


def fuzz_service(run, name, svc, args, dictionaries, bindings, tokens):
    config = pathlib.Path(run.run_dir) / f"schemathesis-{name}.toml"
    output = pathlib.Path(run.run_dir) / f"schemathesis-{name}.txt"
    fuzz.write_config(config, name, svc.url, examples=args.examples, seed=args.seed, tokens=tokens,
                      dictionaries=dictionaries, bindings=bindings)
    before = len(svc.access_log())
    say_known_defects(name)
    res = fuzz.run(name, config, output)
    served = svc.access_log()[before:]
    errors = [f"{m} {p} -> {s}" for m, p, s in served if isinstance(s, int) and s >= 500]
    problems = []
    if not res.ok:
        problems.append(res.detail)
    if res.generated < MIN_CASES:
        problems.append(f"only {res.generated} cases generated, at least {MIN_CASES} wanted")
    if errors:
        problems.append(f"{len(errors)} answers 5xx in the access log, e.g. " +
                        "; ".join(errors[:5]))
    if problems:
        raise spec_checks.CheckFailed("\n".join(problems) + f"\n(output: {output})")
    return f"{res.detail}; {len(served)} requests served, none 5xx"


def fuzz_down(run, name, args, tokens):
    """The service with its store unreachable: every answer as described (503 where the spec
    lists it), 5xx only 502 or 503, and some 503 seen, so the outage was exercised. Only the
    examples and fuzzing phases, with few cases: each operation's outage answer is one shape."""
    label = f"{name}-down"
    svc = run.start(name, down=True)
    try:
        config = pathlib.Path(run.run_dir) / f"schemathesis-{label}.toml"
        output = pathlib.Path(run.run_dir) / f"schemathesis-{label}.txt"
        fuzz.write_config(config, label, svc.url, examples=DOWN_EXAMPLES, seed=args.seed,
                          tokens=tokens, dictionaries={}, bindings={},
                          checks=[c for c in fuzz.CHECKS if c != "not_a_server_error"])
        say_known_defects(label)
        res = fuzz.run(name, config, output, phases=["examples", "fuzzing"])
        served = svc.access_log()
    finally:
        run.stop_one(svc)
    statuses = collections.Counter(s for _, _, s in served)
    odd = [f"{m} {p} -> {s}" for m, p, s in served
           if isinstance(s, int) and s >= 500 and s not in (502, 503)]
    problems = [] if res.ok else [res.detail]
    if odd:
        problems.append(f"{len(odd)} answers 5xx other than 502/503, e.g. " + "; ".join(odd[:5]))
    if not statuses[503]:
        problems.append("no answer was 503: the outage was not exercised")
    if problems:
        raise spec_checks.CheckFailed("\n".join(problems) + f"\n(output: {output})")
    return f"{res.detail}; {len(served)} requests served, {statuses[503]} answered 503"


def fuzz_analytics(report, run, args):
    """Word counts get a directory that exists now and then (most generated paths do not);
    at the end the run's open jobs are killed and its HDFS directory removed."""
    stack = run.stack_vars("GRIDGATE_WEBHDFS_URL", "GRIDGATE_HADOOP_USER")
    hdfs = services.WebHdfs(stack["GRIDGATE_WEBHDFS_URL"], stack["GRIDGATE_HADOOP_USER"])
    run.hdfs_dir = f"/user/{stack['GRIDGATE_HADOOP_USER']}/gg-api-{run.uid}"
    svc = None
    try:
        text_dir = services.seed_text(hdfs, f"{run.hdfs_dir}/text")
        svc = run.start("analytics")
        # Mostly short waits: a parked request lasts as long as its job and the jobs queued
        # before it on the stack's one Hive runner.
        report.run("schemathesis analytics",
                   lambda: fuzz_service(run, "analytics", svc, args,
                                        {"dirs": [text_dir], "waits": [0, 1]},
                                        {"body.path": ("dirs", 0.1),
                                         "query.wait": ("waits", 0.8)},
                                        run.scheme_tokens("analytics")))
        killed = services.kill_open_jobs(svc, run.tokens["admin"])
        print(f"api-check: analytics: {killed} open jobs killed at the end", flush=True)
    finally:
        if svc in run.started:
            run.stop_one(svc)
        hdfs.delete(run.hdfs_dir)


def fuzz_ingest_cache(report, run, names, args):
    """Both services on one topic, fed the sample readings through ingest's POST."""
    ingest = run.start("ingest")
    cache = run.start("cache")
    stations, cids = services.seed_readings(ingest, cache, run.tokens["api"], SEED_READINGS)
    dictionaries = {"stations": stations, "readings": cids[::6]}
    bindings = {"path.id": ("stations", 0.5), "query.station": ("stations", 0.5),
                "path.correlation_id": ("readings", 0.5)}
    for name, svc in (("ingest", ingest), ("cache", cache)):
        if name in names:
            report.run(f"schemathesis {name}",
                       lambda n=name, s=svc: fuzz_service(run, n, s, args, dictionaries,
                                                          bindings, run.scheme_tokens(n)))


def fuzz_all(report, names, args):
    run_dir = tempfile.mkdtemp(prefix="gg-api-check-")
    try:
        run = Run(args.bin_dir, run_dir)
    except services.ServiceError as e:
        report.fail("schemathesis setup", str(e))
        return
    print(f"api-check: run directory {run_dir} (topic {run.topic}, seed {args.seed})",
          flush=True)
    parts = []
    if {"ingest", "cache"} & set(names):
        parts.append(("ingest and cache", lambda: fuzz_ingest_cache(report, run, names, args)))
    if "analytics" in names:
        parts.append(("analytics", lambda: fuzz_analytics(report, run, args)))
    try:
        for what, part in parts:
            try:
                part()
            except Exception as e:  # the services could not be started or seeded
                report.fail(f"schemathesis setup of {what}", f"{e}\n(run directory: {run_dir})")
        for name in names:
            report.run(f"schemathesis {name}, store down",
                       lambda n=name: fuzz_down(run, n, args, run.scheme_tokens(n)))
    finally:
        bad = run.stop()
    if bad:
        report.fail("clean shutdown", "; ".join(bad))
    elif names:
        report.ok("clean shutdown", "every service exited 0 on SIGTERM")
    if report.failed == 0 and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="Checks openapi.yaml and the services against it.")
    ap.add_argument("--service", action="append", default=[],
                    help="fuzz only this service (repeatable); default: every one with a fragment")
    ap.add_argument("--no-fuzz", action="store_true", help="only the offline checks")
    ap.add_argument("--examples", type=int, default=int(os.environ.get("GG_API_EXAMPLES", 0)),
                    help="Schemathesis max-examples per operation and phase (GG_API_EXAMPLES); "
                         "default 100, 15 for analytics, whose cases start Hive jobs")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("GG_API_SEED", 1)),
                    help="generation seed (GG_API_SEED); fixed so that a failure reproduces")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    args = ap.parse_args()
    args.bin_dir = os.environ.get("GG_BIN_DIR", str(ROOT / "build" / "bin"))

    report = Report()
    report.run("api/build.py tests", spec_checks.check_build_tests)
    report.run("openapi.yaml is current", spec_checks.check_build)
    report.run("openapi.yaml is valid OpenAPI", spec_checks.check_spec)
    report.run("JSON Schemas accept their examples", spec_checks.check_schema_examples)
    report.run("openapi.yaml examples fit their schemas", spec_checks.check_spec_examples)
    names = services_with_fragments(args.service)
    if not args.no_fuzz:
        if names:
            fuzz_all(report, names, args)
        else:
            report.fail("schemathesis", "no service to test")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
