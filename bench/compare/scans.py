"""Finding one station's latest reading without a store that indexes by station: by reading the
readings topic back from Kafka (kcat -C -e), or by reading a file of the same readings from
HDFS (WebHDFS OPEN), and filtering in the client. Both read every reading there is."""
import decimal
import json
import subprocess
import time


def created_us(value):
    """(temporal_aspect, created_at in exact microseconds) of a wire-format value."""
    v = json.loads(value, parse_float=decimal.Decimal)
    p = v["payload"]
    if isinstance(p, str):
        p = json.loads(p)
    return p.get("temporal_aspect", "real_time"), int(v["created_at"] * 1000000)


class Latest:
    """Keeps the newest real_time reading of one station out of "KEY<TAB>VALUE" lines."""

    def __init__(self, station):
        self.key, self.lines, self.created_at_us = station.encode() + b"\t", 0, 0

    def feed(self, line):
        self.lines += 1
        if line.startswith(self.key):
            aspect, us = created_us(line[len(self.key):])
            if aspect == "real_time" and us > self.created_at_us:
                self.created_at_us = us


def kcat_cmd(brokers, topic):
    return ["kcat", "-C", "-q", "-b", brokers, "-t", topic, "-o", "beginning", "-e",
            "-f", "%k\t%s\n"]


def kafka_read(brokers, topic):
    """Seconds to read the whole topic with kcat, output thrown away, and the bytes read."""
    t0 = time.perf_counter()
    out = subprocess.run(kcat_cmd(brokers, topic), check=True, capture_output=True).stdout
    return time.perf_counter() - t0, out


def kafka_latest(brokers, topic, station):
    """Reads the topic through kcat and finds the station's latest; seconds and the Latest."""
    latest = Latest(station)
    t0 = time.perf_counter()
    with subprocess.Popen(kcat_cmd(brokers, topic), stdout=subprocess.PIPE) as p:
        for line in p.stdout:
            latest.feed(line)
    if p.returncode != 0:
        raise SystemExit(f"kcat exited with {p.returncode}")
    return time.perf_counter() - t0, latest


def hdfs_latest(hdfs, path, station):
    """WebHDFS OPEN of the file, streamed, filtered line by line; seconds and the Latest."""
    latest = Latest(station)
    t0 = time.perf_counter()
    for line in hdfs.open(path):
        latest.feed(line)
    return time.perf_counter() - t0, latest


def hdfs_read(hdfs, path):
    """Seconds to read the whole file over WebHDFS, bytes thrown away."""
    t0 = time.perf_counter()
    n = len(hdfs.read(path))
    return time.perf_counter() - t0, n


def scan_all(env, hdfs, topic, hdfs_path, station):
    """Every scan of one topic and its HDFS copy (written here, timed apart). Returns a dict."""
    brokers = env["GRIDGATE_KAFKA_BROKERS"]
    read_s, data = kafka_read(brokers, topic)
    k_s, k = kafka_latest(brokers, topic, station)
    t0 = time.perf_counter()
    hdfs.create(hdfs_path, data)
    put_s = time.perf_counter() - t0
    open_s, nbytes = hdfs_read(hdfs, hdfs_path)
    h_s, h = hdfs_latest(hdfs, hdfs_path, station)
    return {"readings": k.lines, "bytes": len(data), "kafka_read_s": read_s,
            "kafka_latest_s": k_s, "kafka_answer_us": k.created_at_us, "hdfs_put_s": put_s,
            "hdfs_read_s": open_s, "hdfs_latest_s": h_s, "hdfs_readings": h.lines,
            "hdfs_bytes": nbytes, "hdfs_answer_us": h.created_at_us}
