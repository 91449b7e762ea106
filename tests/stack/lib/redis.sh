# shellcheck shell=bash
# Redis: Debian's redis-server, no persistence, loopback only.

redis_packages() {
  echo "redis-server redis-server"
  echo "redis-cli redis-tools"
}

redis_prepare() { :; }

redis_port() { read_port "$(svc_dir redis)/port"; }

# Redis rewrites its process title to "redis-server 127.0.0.1:PORT".
redis_marker() { echo "127.0.0.1:$(redis_port)"; }

redis_log() { echo "$(svc_dir redis)/redis.log"; }

redis_start() {
  local d port
  d=$(svc_dir redis)
  mkdir -p "$d"
  rm -rf "$d/data" "$d/pid"
  mkdir -p "$d/data"
  rm -f "$d/redis.log" "$d/launch.log"
  port=$(pick_port "$d/port")
  # --daemonize: redis forks, detaches and writes the pid file itself.
  (
    close_fds
    exec redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$d/pid" --logfile "$d/redis.log" --dir "$d/data" \
      </dev/null >"$d/launch.log" 2>&1
  ) || { cat "$d/launch.log" >>"$d/redis.log"; return 1; }
}

redis_ready() {
  local port
  port=$(redis_port) || return 1
  [[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]
}

redis_env() {
  local port
  port=$(redis_port)
  echo "export GRIDGATE_REDIS_URL=redis://127.0.0.1:$port/0"
  echo "export GG_REDIS_PORT=$port"
}
