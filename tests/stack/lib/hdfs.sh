# shellcheck shell=bash
# HDFS: Hadoop's MiniDFSCluster (one NameNode, one DataNode, WebHDFS) in one JVM, from the jars
# Maven resolves for tests/stack/hdfs/pom.xml, started by tests/stack/hdfs/MiniHdfs.java.

HDFS_SRC=$STACK_DIR/hdfs
HDFS_USER=gridgate

hdfs_packages() {
  echo "java openjdk-17-jre-headless"
  echo "javac openjdk-17-jdk-headless"
  echo "mvn maven"
  echo "curl curl"
}

hdfs_version() {
  sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' "$HDFS_SRC/pom.xml" | head -n 1
}

# ~/.cache/gridgate/hdfs-VERSION/{libs,classes}; .src.sha256 says which sources filled it.
hdfs_home() { echo "$STACK_CACHE/hdfs-$(hdfs_version)"; }

hdfs_src_hash() { cat "$HDFS_SRC/pom.xml" "$HDFS_SRC/MiniHdfs.java" | sha256sum | cut -d' ' -f1; }

hdfs_cached() { jvm_cached "$(hdfs_home)" MiniHdfs.class "$(hdfs_src_hash)"; }

hdfs_prepare() {
  hdfs_cached && { echo "jars cached in $(hdfs_home)"; return 0; }
  with_cache_lock "hdfs-$(hdfs_version)" hdfs_fill_cache
}

hdfs_fill_cache() {
  hdfs_cached && { echo "jars cached in $(hdfs_home)"; return 0; }
  echo "resolving Hadoop $(hdfs_version) minicluster jars with Maven"
  echo "(first time only; ~/.m2 is Maven's cache)"
  jvm_fill_cache "$(hdfs_home)" "$HDFS_SRC" MiniHdfs.java "$(hdfs_src_hash)"
}

hdfs_http_port() { read_port "$(svc_dir hdfs)/port"; }
hdfs_nn_port() { read_port "$(svc_dir hdfs)/nn.port"; }

hdfs_marker() { echo "MiniHdfs --dir $(svc_dir hdfs)/data"; }

hdfs_log() { echo "$(svc_dir hdfs)/hdfs.log"; }

hdfs_start() {
  local d home http nn dn dnhttp dnipc
  d=$(svc_dir hdfs)
  home=$(hdfs_home)
  mkdir -p "$d"
  rm -rf "$d/data" "$d/pid"
  mkdir -p "$d/data"
  rm -f "$d/hdfs.log" "$d/stdout.log"
  http=$(pick_port "$d/port")
  nn=$(pick_port "$d/nn.port")
  dn=$(pick_port "$d/dn.port")
  dnhttp=$(pick_port "$d/dn-http.port")
  dnipc=$(pick_port "$d/dn-ipc.port")
  launch "$d/pid" "$d/stdout.log" \
    java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$HDFS_SRC/log4j.properties" "-Dgg.hdfs.log=$d/hdfs.log" \
    -cp "$home/libs/*:$home/classes" MiniHdfs --dir "$d/data" --nn-port "$nn" \
    --http-port "$http" --dn-port "$dn" --dn-http-port "$dnhttp" --dn-ipc-port "$dnipc"
}

# Answers when the DataNode has registered (MiniHdfs printed its ready line) and WebHDFS
# GETFILESTATUS of / says it is a directory.
hdfs_ready() {
  local port
  port=$(hdfs_http_port) || return 1
  grep -q '^MiniHdfs ready' "$(svc_dir hdfs)/stdout.log" 2>/dev/null || return 1
  curl -sf --max-time 5 "http://127.0.0.1:$port/webhdfs/v1/?op=GETFILESTATUS&user.name=$HDFS_USER" |
    grep -q '"type":"DIRECTORY"'
}

hdfs_env() {
  local http nn
  http=$(hdfs_http_port)
  nn=$(hdfs_nn_port)
  echo "export GRIDGATE_WEBHDFS_URL=http://127.0.0.1:$http/webhdfs/v1"
  echo "export GRIDGATE_HADOOP_USER=$HDFS_USER"
  echo "export GG_HDFS_NN_PORT=$nn"
  echo "export GG_HDFS_HTTP_PORT=$http"
  echo "export GG_HDFS_URI=hdfs://127.0.0.1:$nn"
}
