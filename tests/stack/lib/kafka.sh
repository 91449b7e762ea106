# shellcheck shell=bash
# Kafka: the Apache Kafka broker (3.9.x, KRaft, broker+controller in one JVM) from the jars that
# Maven resolves for tests/stack/kafka/pom.xml.

KAFKA_POM=$STACK_DIR/kafka/pom.xml

kafka_packages() {
  echo "java openjdk-17-jre-headless"
  echo "mvn maven"
  echo "kcat kcat"
}

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n 1
}

# ~/.cache/gridgate/kafka-VERSION/libs, filled once; .pom.sha256 says which pom filled it.
kafka_home() { echo "$STACK_CACHE/kafka-$(kafka_version)"; }

kafka_cached() {
  local home
  home=$(kafka_home)
  [[ -f $home/.pom.sha256 && -f $home/libs/kafka_2.13-$(kafka_version).jar ]] &&
    [[ $(<"$home/.pom.sha256") == "$(sha256sum <"$KAFKA_POM" | cut -d' ' -f1)" ]]
}

kafka_prepare() {
  kafka_cached && { echo "jars cached in $(kafka_home)/libs"; return 0; }
  with_cache_lock "kafka-$(kafka_version)" kafka_fill_cache
}

kafka_fill_cache() {
  kafka_cached && { echo "jars cached in $(kafka_home)/libs"; return 0; }
  local home tmp
  home=$(kafka_home)
  tmp=$home/libs.tmp.$$
  mkdir -p "$home"
  rm -rf "$tmp"
  echo "resolving Kafka $(kafka_version) jars with Maven (first time only; ~/.m2 is Maven's cache)"
  # -B: plain output, one line per downloaded file, as progress (shown as repository id and
  # artifact path, without the repository's address).
  if ! (mvn -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 |
    sed -u -E -e 's#(Download(ing|ed) from [^:]+: )[a-z]+://[^ ]*/maven2/#\1#' \
      -e 's#(Download(ing|ed) from [^:]+: )[a-z]+://[^/ ]+/#\1#'
  exit "${PIPESTATUS[0]}"); then
    rm -rf "$tmp"
    echo "mvn dependency:copy-dependencies failed for $KAFKA_POM" >&2
    return 1
  fi
  rm -rf "$home/libs"
  mv "$tmp" "$home/libs"
  sha256sum <"$KAFKA_POM" | cut -d' ' -f1 >"$home/.pom.sha256"
  echo "$(find "$home/libs" -name '*.jar' | wc -l) jars in $home/libs"
}

kafka_port() { read_port "$(svc_dir kafka)/port"; }

kafka_marker() { echo "kafka.Kafka $(svc_dir kafka)/server.properties"; }

kafka_log() { echo "$(svc_dir kafka)/server.log"; }

kafka_start() {
  local d port cport libs uuid
  d=$(svc_dir kafka)
  libs=$(kafka_home)/libs
  mkdir -p "$d"
  rm -rf "$d/data" "$d/pid"
  mkdir -p "$d/data"
  rm -f "$d/server.log" "$d/stdout.log" "$d/format.log"
  port=$(pick_port "$d/port")
  cport=$(pick_port "$d/controller.port")
  # gridgate-ingest commits in transactions: one broker's transaction log (4 partitions, not
  # 50, so that a restart after kill -9 in the fault suite has less to load).
  cat >"$d/server.properties" <<EOF
# Written by tests/stack/up: one KRaft node acting as broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=4
EOF
  local tool=(java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
    "-Dlog4j.configuration=file:$STACK_DIR/kafka/tools-log4j.properties"
    -cp "$libs/*" kafka.tools.StorageTool)
  {
    uuid=$("${tool[@]}" random-uuid 2>>"$d/format.log") &&
      "${tool[@]}" format -t "$uuid" -c "$d/server.properties"
  } >"$d/format.log" 2>&1 9>&- || return 1
  launch "$d/pid" "$d/stdout.log" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$STACK_DIR/kafka/log4j.properties" "-Dkafka.logs.dir=$d" \
    -cp "$libs/*" kafka.Kafka "$d/server.properties"
}

# Answers when kcat's metadata request lists broker 1 on our port.
kafka_ready() {
  local port
  port=$(kafka_port) || return 1
  timeout 10 kcat -b "127.0.0.1:$port" -L -m 3 2>/dev/null | grep -q "broker 1 at 127.0.0.1:$port"
}

kafka_env() {
  local port
  port=$(kafka_port)
  echo "export GRIDGATE_KAFKA_BROKERS=127.0.0.1:$port"
  echo "export GG_KAFKA_PORT=$port"
}
