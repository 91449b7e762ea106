"""The ingest side against the reference pipeline: Kafka Connect in standalone mode with the
MongoDB sink, configured the course's way and a careful user's way, against gridgate-ingest and
against the store's own bulk-insert ceiling, all reading the same topic into the same store.

Each sink starts on a topic that already holds every reading, with its own consumer group and
its own database. One poller (mongo_progress, $collStats count every POLL_MS) watches the
collection; at each poll the sink's /proc/PID/stat and status are read, so that the rate, the
CPU and the memory are those of the sink process alone (the JVM, or gridgate-ingest)."""
import json
import os
import random
import subprocess
import time

from benchlib import free_port

POLL_MS = 100
CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
# The JVM options of Kafka's own bin/connect-standalone.sh (its heap) and kafka-run-class.sh
# (its collector settings): the pipeline as shipped.
CONNECT_JVM = ["-Xms256M", "-Xmx2G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
               "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true"]
STRING = "org.apache.kafka.connect.storage.StringConverter"
MONGO_SINK = "at.grahsl.kafka.connect.mongodb.MongoDbSinkConnector"
ID = "at.grahsl.kafka.connect.mongodb.processor.id.strategy."
# The connector's default write model, rebuilt for the 4.x driver (connect/ReplaceOneUpsertStrategy)
UPSERT = "gridgate.bench.ReplaceOneUpsertStrategy"
# This connector turns the key into a document too, even when nothing uses it, and a bare
# station number ("2") is not one: the stock HoistField SMT wraps it as {"station": "2"}. (The
# official connector converts the key only when a strategy asks for it.)
KEY_AS_DOC = {"transforms": "key", "transforms.key.type":
              "org.apache.kafka.connect.transforms.HoistField$Key",
              "transforms.key.field": "station"}


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def proc_sample(pid):
    """(CPU seconds user + system, VmRSS MB, VmHWM MB) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return cpu, rss, hwm


# ---- the configurations -------------------------------------------------------------------------

def course_config(uri_db):
    """As the course's reference solution configures it: strings in, the connector's defaults
    for everything else (a new ObjectId per record, replace-with-upsert by _id, a write per
    poll of up to 500 records)."""
    return dict(KEY_AS_DOC, **{"key.converter": STRING, "value.converter": STRING,
                               "mongodb.connection.uri": uri_db,
                               "mongodb.collection": "readings",
                               "mongodb.writemodel.strategy": UPSERT})


def typed_config(uri_db, insert):
    """As a careful user would: JSON without schemas into typed fields; the reading's own
    correlation_id as the document's _id, as gridgate-ingest keys it (the stock ReplaceField
    SMT renames it, ProvidedInValueStrategy takes it: a replayed reading lands on the same
    document instead of a duplicate); bulk writes of 500 (gridgate-ingest's and the ceiling's batch); with
    insert, plain inserts instead of the upsert default (see InsertOneStrategy.java)."""
    return dict(KEY_AS_DOC, **{
            "key.converter": STRING,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "transforms": "key,id",
            "transforms.id.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
            "transforms.id.renames": "correlation_id:_id",
            "mongodb.connection.uri": uri_db, "mongodb.collection": "readings",
            "mongodb.document.id.strategy": ID + "ProvidedInValueStrategy",
            "mongodb.max.batch.size": "500",
            "mongodb.writemodel.strategy": "gridgate.bench.InsertOneStrategy" if insert
            else UPSERT})


# Worker settings of the careful configuration: larger polls (the default 500 records cap each
# put() at one bulk write) and fetches that wait for a fuller batch instead of returning at once.
TUNED_CONSUMER = {"consumer.max.poll.records": "2000", "consumer.fetch.min.bytes": "65536",
                  "consumer.fetch.max.wait.ms": "100"}


class Connect:
    """One Kafka Connect standalone worker (its own JVM) running one connector."""

    def __init__(self, home, brokers, name, connector, work_dir, worker_extra=None):
        os.makedirs(work_dir, exist_ok=True)
        worker = {"bootstrap.servers": brokers, "key.converter": STRING,
                  "value.converter": STRING,
                  "offset.storage.file.filename": os.path.join(work_dir, "offsets"),
                  "offset.flush.interval.ms": "10000",
                  "listeners": f"http://127.0.0.1:{free_port()}"}
        worker.update(worker_extra or {})
        self.worker_file = os.path.join(work_dir, "worker.properties")
        self.connector_file = os.path.join(work_dir, "connector.properties")
        write_props(self.worker_file, worker)
        write_props(self.connector_file, dict(connector, name=name, **{"tasks.max": "1"}))
        log4j = os.path.join(work_dir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=INFO, file\n"
                    "log4j.appender.file=org.apache.log4j.FileAppender\n"
                    f"log4j.appender.file.File={work_dir}/connect.log\n"
                    "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.log = os.path.join(work_dir, "connect.log")
        cp = os.path.join(home, "classes") + ":" + os.path.join(home, "libs", "*")
        self.proc = subprocess.Popen(
            ["java"] + CONNECT_JVM + [f"-Dlog4j.configuration=file:{log4j}", "-cp", cp,
                                      "org.apache.kafka.connect.cli.ConnectStandalone",
                                      self.worker_file, self.connector_file],
            stdout=open(os.path.join(work_dir, "stdout.log"), "w"), stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n=20):
        try:
            with open(self.log) as f:
                lines = [x for x in f.read().splitlines() if " ERROR " in x or "Exception" in x]
            return "\n".join(lines[-n:])
        except OSError:
            return ""


def write_props(path, props):
    with open(path, "w") as f:
        for k, v in props.items():
            f.write(f"{k}={v}\n")


class Gridgate:
    """gridgate-ingest on a free port, started the way the Connect worker is: by itself."""

    def __init__(self, bin_dir, env, topic, db, log_path):
        e = dict(os.environ, GRIDGATE_LISTEN=f"127.0.0.1:{free_port()}",
                 GRIDGATE_LOG_LEVEL="warn", GRIDGATE_KAFKA_BROKERS=env["GRIDGATE_KAFKA_BROKERS"],
                 GRIDGATE_KAFKA_TOPIC=topic, GRIDGATE_KAFKA_GROUP=f"{topic}-{db}",
                 GRIDGATE_MONGO_URI=env["GRIDGATE_MONGO_URI"], GRIDGATE_MONGO_DB=db,
                 GRIDGATE_BATCH_SIZE="500")
        self.proc = subprocess.Popen([os.path.join(bin_dir, "gridgate-ingest")], env=e,
                                     stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
        self.log = log_path

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def tail(self, n=20):
        with open(self.log) as f:
            return "\n".join(f.read().splitlines()[-n:])


# ---- one measured run ----------------------------------------------------------------------------

def watch(progress_tool, uri, db, count, sink, timeout):
    """Starts the sink (a callable returning an object with .proc) and follows the collection
    until `count` documents are stored. Returns the figures of that run."""
    t_spawn = time.monotonic()
    s = sink()
    pid = s.proc.pid
    poll = subprocess.Popen([progress_tool, uri, db, "readings", str(count), str(POLL_MS),
                             str(timeout)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    first = None  # (t, count, cpu) at the first poll that saw a stored document
    last, example, peak = None, None, 0.0
    try:
        for line in poll.stdout:
            msg = json.loads(line)
            if "example" in msg:
                example = msg["example"]
                continue
            if s.proc.poll() is not None:
                raise SystemExit(f"the sink exited with {s.proc.returncode}:\n{s.tail()}")
            cpu, rss, hwm = proc_sample(pid)
            peak = max(peak, hwm)
            if msg["count"] > 0 and first is None:
                first = (msg["t"], msg["count"], cpu, rss)
            last = (msg["t"], msg["count"], cpu)
        if poll.wait() != 0 or first is None or last[1] < count:
            raise SystemExit(f"{count} documents were not stored within {timeout} s "
                             f"(last count {last[1] if last else 0}):\n{s.tail()}")
        # Idle: the sink with nothing left to do, a few seconds after its last write.
        time.sleep(3)
        cpu_idle, rss_idle, hwm = proc_sample(pid)
        peak = max(peak, hwm)
    finally:
        if poll.poll() is None:
            poll.kill()
            poll.wait()
        s.stop()
    t_first, c_first, cpu_first, _ = first
    t_all, _, cpu_all = last
    work_n = max(count - c_first, 1)
    work_s = max(t_all - t_first, 1e-3)
    return {"readings": count, "startup_s": round(t_first - t_spawn, 2),
            "startup_cpu_s": round(cpu_first, 2),
            "per_second": round(work_n / work_s), "seconds_after_first": round(work_s, 2),
            "wall_s": round(t_all - t_spawn, 2),
            "cpu_s_per_million": round((cpu_all - cpu_first) * 1e6 / work_n, 1),
            "cpu_total_s": round(cpu_all, 2), "peak_rss_mb": round(peak),
            "idle_rss_mb": round(rss_idle), "idle_cpu_3s": round(cpu_idle - cpu_all, 2),
            "example": example, "load": loadavg()}


def produce(bin_dir, env, topic, count, seed, save):
    out = subprocess.run([os.path.join(bin_dir, "tool_ingest_kafka"), "synth",
                          env["GRIDGATE_KAFKA_BROKERS"], topic, str(count), f"{seed:08x}", "1000",
                          "0", save], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    if r["produced"] != count or r["failed"]:
        raise SystemExit(f"producing to {topic}: {r}")


def ceiling(bin_dir, uri, db, readings_file):
    out = subprocess.run([os.path.join(bin_dir, "tool_ingest_mongo"), "ceiling", uri, db,
                          "readings", readings_file, "500", "majority"], check=True,
                         capture_output=True, text=True, timeout=900).stdout
    return {"per_second": round(json.loads(out)["per_second"]), "load": loadavg()}


def drop(bin_dir, uri, db):
    subprocess.run([os.path.join(bin_dir, "tool_ingest_mongo"), "drop", uri, db],
                   capture_output=True)


def measure(bin_dir, progress_tool, connect_home, env, run, work_dir, sizes, timeout=900):
    """sizes: {"upsert": n, "insert": n}: the upsert configurations (quadratic on FerretDB) run
    on the smaller topic only; everything runs on it, and the linear ones again on the larger.
    Returns {size label: {row: figures}}."""
    uri = env["GRIDGATE_MONGO_URI"]
    brokers = env["GRIDGATE_KAFKA_BROKERS"]
    base = uri.rstrip("/")
    results, dbs = {}, []
    try:
        for label, n in (("small", sizes["upsert"]), ("large", sizes["insert"])):
            if label == "large" and n <= sizes["upsert"]:
                break
            topic = f"compare-{run}-sink-{label}"
            saved = os.path.join(work_dir, f"{topic}.tsv")
            produce(bin_dir, env, topic, n, random.randrange(1 << 32), saved)
            rows = {}
            plan = [("ceiling", None)]
            if label == "small":
                plan += [("connect-course", course_config), ("connect-typed-upsert",
                                                             lambda u: typed_config(u, False))]
            plan += [("connect-typed-insert", lambda u: typed_config(u, True)),
                     ("gridgate-ingest", None)]
            for i, (name, cfg) in enumerate(plan):
                db = f"cmp{run}{label[0]}{i}"
                dbs.append(db)
                print(f"  {label} ({n} readings): {name} (load {loadavg()})", flush=True)
                if name == "ceiling":
                    rows[name] = ceiling(bin_dir, uri, db, saved)
                    continue
                if name == "gridgate-ingest":
                    def sink():
                        return Gridgate(bin_dir, env, topic, db,
                                        os.path.join(work_dir, f"{db}.log"))
                else:
                    extra = TUNED_CONSUMER if "typed" in name else None

                    def sink(cfg=cfg, extra=extra, name=name):
                        conn = dict(cfg(f"{base}/{db}"), topics=topic,
                                    **{"connector.class": MONGO_SINK})
                        return Connect(connect_home, brokers, f"{name}-{db}", conn,
                                       os.path.join(work_dir, db), extra)
                rows[name] = watch(progress_tool, uri, db, n, sink, timeout)
                drop(bin_dir, uri, db)
            results[label] = rows
    finally:
        for db in dbs:
            drop(bin_dir, uri, db)
    return results


def report(results):
    print("\n## Ingest: Kafka Connect + MongoDB sink against gridgate-ingest, same topic, "
          "same store\n")
    print("| sink | readings | readings/s after the first stored | x ceiling | start-up to first "
          "stored s | start-up CPU s | CPU s per million (after start-up) | peak RSS MB "
          "| idle RSS MB | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, rows in results.items():
        ceil = rows["ceiling"]["per_second"]
        for name, r in rows.items():
            if name == "ceiling":
                print(f"| store ceiling (tool_ingest_mongo, bulk inserts of 500) | "
                      f"{next(iter(x['readings'] for x in rows.values() if 'readings' in x))} | "
                      f"{ceil} | 1.00 | | | | | | {r['load']} |")
                continue
            print(f"| {name} | {r['readings']} | {r['per_second']} | "
                  f"{r['per_second'] / ceil:.2f} | {r['startup_s']} | {r['startup_cpu_s']} | "
                  f"{r['cpu_s_per_million']} | {r['peak_rss_mb']} | {r['idle_rss_mb']} | "
                  f"{r['load']} |")
    print("\nexample stored documents:")
    seen = set()
    for rows in results.values():
        for name, r in rows.items():
            if "example" in r and name not in seen:
                seen.add(name)
                print(f"- {name}: `{json.dumps(r['example'])}`")
