# shellcheck shell=bash
# WebHCat: a stand-in for Hive's WebHCat (Templeton) v1 server (tests/stack/webhcat/webhcat.py,
# Python's standard library only) running the HiveQL on Apache Hive 4.1 in embedded mode
# (tests/stack/webhcat/HiveEngine.java, jars from tests/stack/webhcat/pom.xml) over the
# stack's HDFS.

WEBHCAT_SRC=$STACK_DIR/webhcat

webhcat_requires() { echo hdfs; }

webhcat_packages() {
  echo "java openjdk-17-jre-headless"
  echo "javac openjdk-17-jdk-headless"
  echo "mvn maven"
  echo "python3 python3"
  echo "curl curl"
}

webhcat_hive_version() {
  sed -n 's:.*<hive.version>\(.*\)</hive.version>.*:\1:p' "$WEBHCAT_SRC/pom.xml" | head -n 1
}

# ~/.cache/gridgate/hive-VERSION-SRCHASH/{libs,classes}; .src.sha256 says which sources filled
# it. One directory per version of the sources: checkouts whose pom.xml differ (two branches on
# one machine) would otherwise refill one directory in turn, deleting jars under an engine that
# runs from it (a killed job restarts the engine, which then misses classes).
webhcat_home() { echo "$STACK_CACHE/hive-$(webhcat_hive_version)-$(webhcat_src_hash | cut -c1-12)"; }

webhcat_src_hash() {
  cat "$WEBHCAT_SRC/pom.xml" "$WEBHCAT_SRC/HiveEngine.java" | sha256sum | cut -d' ' -f1
}

webhcat_cached() { jvm_cached "$(webhcat_home)" HiveEngine.class "$(webhcat_src_hash)"; }

webhcat_prepare() {
  webhcat_cached && { echo "jars cached in $(webhcat_home)"; return 0; }
  with_cache_lock "hive-$(webhcat_hive_version)" webhcat_fill_cache
}

webhcat_fill_cache() {
  webhcat_cached && { echo "jars cached in $(webhcat_home)"; return 0; }
  echo "resolving Hive $(webhcat_hive_version) jars with Maven"
  echo "(first time only, about 370 MB; ~/.m2 is Maven's cache)"
  jvm_fill_cache "$(webhcat_home)" "$WEBHCAT_SRC" HiveEngine.java "$(webhcat_src_hash)"
}

webhcat_port() { read_port "$(svc_dir webhcat)/port"; }

webhcat_marker() { echo "$WEBHCAT_SRC/webhcat.py --listen 127.0.0.1:$(webhcat_port)"; }

webhcat_log() { echo "$(svc_dir webhcat)/webhcat.log"; }

webhcat_start() {
  local d home port nn http
  d=$(svc_dir webhcat)
  home=$(webhcat_home)
  nn=$(hdfs_nn_port) || { echo "webhcat: HDFS is not running" >&2; return 1; }
  http=$(hdfs_http_port) || return 1
  mkdir -p "$d"
  rm -rf "$d/data" "$d/pid" "$d/engine.state"
  mkdir -p "$d/data"
  rm -f "$d/webhcat.log" "$d/engine.log" "$d/engine.out"
  port=$(pick_port "$d/port")
  echo "hdfs://127.0.0.1:$nn" >"$d/namenode"
  # executed.log is append-only: it stays across restarts (and `down`).
  launch "$d/pid" "$d/webhcat.log" \
    python3 -B -u "$WEBHCAT_SRC/webhcat.py" --listen "127.0.0.1:$port" \
    --webhdfs "http://127.0.0.1:$http/webhdfs/v1" --namenode "hdfs://127.0.0.1:$nn" \
    --run-dir "$d/data" --log-dir "$d" --classpath "$home/libs/*:$home/classes" --heap 1g
}

# Answers when GET status says ok, its Hive engine has started (or is replacing a killed one),
# and it works with the HDFS that runs now (a restarted HDFS may have new ports).
webhcat_ready() {
  local d port state nn
  d=$(svc_dir webhcat)
  port=$(webhcat_port) || return 1
  nn=$(hdfs_nn_port 2>/dev/null) || return 1
  [[ $(cat "$d/namenode" 2>/dev/null) == "hdfs://127.0.0.1:$nn" ]] || return 1
  state=$(cat "$d/engine.state" 2>/dev/null) || return 1
  [[ $state == ready || $state == restarting ]] || return 1
  curl -sf --max-time 5 "http://127.0.0.1:$port/templeton/v1/status" | grep -q '"status": "ok"'
}

webhcat_env() {
  local port
  port=$(webhcat_port)
  echo "export GRIDGATE_WEBHCAT_URL=http://127.0.0.1:$port/templeton/v1"
  echo "export GG_WEBHCAT_PORT=$port"
  echo "export GG_WEBHCAT_EXECUTED_LOG=$(svc_dir webhcat)/executed.log"
}
