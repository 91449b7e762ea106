# shellcheck shell=bash
# Helpers shared by tests/stack/up and tests/stack/down (sourced, never run on its own).
#
# Every server is a module lib/<name>.sh that defines these functions (<name> is the module's
# file name; NAME_ below stands for it):
#   NAME_packages   print "COMMAND DEBIAN-PACKAGE" lines: what must be on PATH (apt-installed)
#   NAME_prepare    download/build what the server needs into the per-user cache; may be slow,
#                   prints progress; runs in a subshell, in parallel with the other modules'
#                   (fill shared caches under with_cache_lock; skip quickly when cached)
#   NAME_start      pick ports, write config, launch the server in the background (detached,
#                   pid file in run/NAME/pid); must not wait for readiness
#   NAME_ready      one quick check that the server answers (exit 0 when it does)
#   NAME_marker     print a string that the server's /proc/PID/cmdline contains (guards
#                   against a recycled pid)
#   NAME_env        print the `export ...` lines of the running server
#   NAME_log        print the path of the server's main log
# Optional:
#   NAME_stop       stop it (default: TERM the pid, KILL after GG_STACK_STOP_TIMEOUT)
#   NAME_requires   print the names of modules that must run first (e.g. a WebHCat stand-in
#                   needing HDFS)
# A new server is added by dropping lib/<name>.sh in; list it in STACK_DEFAULT to start it by
# default.

STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STACK_LIB=$STACK_DIR/lib
STACK_RUN=$STACK_DIR/run
STACK_ENV=$STACK_DIR/env
if [[ -z ${HOME-} ]]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME
fi
STACK_CACHE=${GG_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gridgate}
STACK_DEFAULT=(redis kafka mongo hdfs webhcat)
# shellcheck disable=SC2034  # used by up
STACK_START_TIMEOUT=${GG_STACK_TIMEOUT:-120}
STACK_STOP_TIMEOUT=${GG_STACK_STOP_TIMEOUT:-30}
STACK_LOCK_TIMEOUT=${GG_STACK_LOCK_TIMEOUT:-1800}
STACK_T0=$EPOCHREALTIME

# Go must not fetch a toolchain of its own; the module files pin everything else.
export GOTOOLCHAIN=local

stack_elapsed() {
  local now=$EPOCHREALTIME
  local ms=$(( (${now//[.,]/} - ${STACK_T0//[.,]/}) / 1000 ))
  printf '%d.%01d' $((ms / 1000)) $(((ms % 1000) / 100))
}

# Progress and errors go to stderr, so that `eval "$(tests/stack/up)"` sees only exports.
say() { printf '[%6ss] %s\n' "$(stack_elapsed)" "$*" >&2; }
warn() { say "WARNING: $*"; }
die() {
  say "ERROR: $*"
  exit 1
}

# Print the last lines of a log file to stderr, framed.
tail_log() {
  local f=$1 n=${2:-40}
  if [[ -s $f ]]; then
    printf -- '----- last %d lines of %s -----\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2
    printf -- '----- end of %s -----\n' "$f" >&2
  else
    printf -- '(log %s is empty or missing)\n' "$f" >&2
  fi
}

# All modules: the default ones first, then any other lib/*.sh in name order.
stack_all_services() {
  local s f seen=" "
  for s in "${STACK_DEFAULT[@]}"; do
    if [[ -f $STACK_LIB/$s.sh ]]; then
      echo "$s"
      seen+="$s "
    fi
  done
  for f in "$STACK_LIB"/*.sh; do
    s=$(basename "$f" .sh)
    if [[ $s != common && $seen != *" $s "* ]]; then echo "$s"; fi
  done
}

stack_load() {
  local s
  for s in $(stack_all_services); do
    # shellcheck source=/dev/null
    source "$STACK_LIB/$s.sh"
  done
}

stack_known() {
  local s
  for s in $(stack_all_services); do
    if [[ $s == "$1" ]]; then return 0; fi
  done
  return 1
}

svc_dir() { echo "$STACK_RUN/$1"; }

# Take the stack's lock (fd 9) so that two `up`/`down` never interleave. Children that outlive
# the script are started through launch/close_fds, so they do not keep holding it.
stack_lock() {
  mkdir -p "$STACK_RUN"
  exec 9>"$STACK_RUN/.lock"
  if ! flock -n 9; then
    say "another tests/stack/up or down is running; waiting for it (up to ${STACK_LOCK_TIMEOUT}s)"
    flock -w "$STACK_LOCK_TIMEOUT" 9 || die "timed out waiting for the lock $STACK_RUN/.lock"
  fi
}

# Run a command while holding a per-user cache lock (downloads and builds shared by checkouts).
with_cache_lock() {
  local name=$1
  shift
  mkdir -p "$STACK_CACHE/locks"
  (
    exec 8>"$STACK_CACHE/locks/$name.lock"
    if ! flock -n 8; then
      echo "waiting for another process filling the cache for $name..."
      flock -w "$STACK_LOCK_TIMEOUT" 8 || { echo "timed out waiting for the cache lock" >&2; exit 1; }
    fi
    "$@"
  )
}

# --- processes ---------------------------------------------------------------------------

# pid_of NAME: the pid recorded for a module, if its pid file holds a number.
pid_of() {
  local f pid
  f=$(svc_dir "$1")/pid
  [[ -f $f ]] || return 1
  read -r pid <"$f" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# proc_matches PID MARKER: the process exists and its command line contains MARKER.
proc_matches() {
  local pid=$1 marker=$2 cmd
  kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$marker"* ]]
}

# svc_alive NAME: the process recorded in run/NAME/pid is still the one we started.
svc_alive() {
  local pid marker
  pid=$(pid_of "$1") || return 1
  marker=$("$1"_marker) || return 1
  proc_matches "$pid" "$marker"
}

# svc_running NAME: alive and answering.
svc_running() { svc_alive "$1" && "$1"_ready; }

STACK_STOPPED_PIDS=()

# After a stop, wait (5 s at most) until the stopped processes are reaped too, so that a
# `pgrep` right after `down` no longer lists them as <defunct>.
reap_wait() {
  local deadline=$((SECONDS + 5)) pid left
  while ((SECONDS < deadline)); do
    left=0
    for pid in "${STACK_STOPPED_PIDS[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then left=1; fi
    done
    ((left)) || return 0
    sleep 0.1
  done
  return 0
}

# stop_pid NAME: TERM the recorded process, KILL it after the deadline; clears the pid file.
stop_pid() {
  local name=$1 pid marker deadline
  pid=$(pid_of "$name") || { rm -f "$(svc_dir "$name")/pid"; return 0; }
  marker=$("$name"_marker 2>/dev/null) || marker=
  if [[ -n $marker ]] && proc_matches "$pid" "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STACK_STOP_TIMEOUT))
    while proc_matches "$pid" "$marker" && ((SECONDS < deadline)); do sleep 0.1; done
    if proc_matches "$pid" "$marker"; then
      warn "$name (pid $pid) still running after ${STACK_STOP_TIMEOUT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    fi
    STACK_STOPPED_PIDS+=("$pid")
    say "$name: stopped (pid $pid)"
  fi
  rm -f "$(svc_dir "$name")/pid"
}

# Close every file descriptor above 2 (in a subshell about to exec a server): the lock on fd 9
# and whatever pipes the caller (a test runner, a CI harness) handed down, which a server must
# not hold open for its whole life.
close_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd"/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# Launch a long-running server detached from this script: own session (a Ctrl-C or a test
# runner's kill of `up` does not reach it), stdin from /dev/null, output to LOG, no other
# descriptors. Writes its pid to PIDFILE.  Usage: launch PIDFILE LOG CMD ARGS...
launch() {
  local pidfile=$1 log=$2
  shift 2
  # In a non-interactive shell a background child is no process-group leader, so setsid
  # runs the command in place and $! is the server's own pid.
  (
    close_fds
    exec setsid "$@" </dev/null >"$log" 2>&1
  ) &
  echo $! >"$pidfile"
}

# --- ports -------------------------------------------------------------------------------

STACK_TAKEN_PORTS=" "

port_in_use() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Htan "sport = :$p" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
  fi
}

# pick_port FILE: print a free loopback port, preferring the one remembered in FILE (so a
# restarted server tends to come back on its old port); remembers the choice in FILE.
pick_port() {
  local file=$1 p i
  if [[ -f $file ]]; then
    read -r p <"$file" || true
    if [[ $p =~ ^[0-9]+$ && $STACK_TAKEN_PORTS != *" $p "* ]] && ! port_in_use "$p"; then
      STACK_TAKEN_PORTS+="$p "
      echo "$p"
      return 0
    fi
  fi
  # Below Linux's ephemeral range (32768-60999), so outgoing connections do not take them.
  for ((i = 0; i < 200; i++)); do
    p=$((15000 + RANDOM % 17000))
    [[ $STACK_TAKEN_PORTS == *" $p "* ]] && continue
    port_in_use "$p" && continue
    STACK_TAKEN_PORTS+="$p "
    echo "$p" >"$file"
    echo "$p"
    return 0
  done
  die "found no free port"
}

read_port() {
  local p
  read -r p <"$1" 2>/dev/null || return 1
  [[ $p =~ ^[0-9]+$ ]] && echo "$p"
}

# --- packages ----------------------------------------------------------------------------

# apt_ensure "CMD PKG"...: install the Debian packages whose command is missing. apt-get update
# runs only when something must be installed.
apt_ensure() {
  local line cmd pkg missing=()
  for line in "$@"; do
    read -r cmd pkg <<<"$line"
    [[ -n $cmd ]] || continue
    command -v "$cmd" >/dev/null 2>&1 && continue
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}: run as root or install them first"
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get here"
  say "installing Debian packages: ${missing[*]}"
  local log=$STACK_RUN/apt.log rc
  {
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update &&
      DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 install -y \
        --no-install-recommends "${missing[@]}"
  } 2>&1 | sed -u -E 's#[a-z]+://[^ ]+#(mirror)#g' | tee "$log" | sed -u 's/^/  [apt] /' >&2
  rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    tail_log "$log"
    die "apt-get install ${missing[*]} failed (exit $rc)"
  fi
  for line in "$@"; do
    read -r cmd pkg <<<"$line"
    [[ -n $cmd ]] || continue
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is still missing after installing $pkg"
  done
}

# --- env file ----------------------------------------------------------------------------

# Rewrite tests/stack/env from the servers that are running now; remove it when none is.
write_env() {
  local s body=""
  for s in $(stack_all_services); do
    if svc_alive "$s"; then
      body+="# $s: log $("$s"_log)"$'\n'
      body+="$("$s"_env)"$'\n'
    fi
  done
  if [[ -z $body ]]; then
    rm -f "$STACK_ENV"
    return 0
  fi
  {
    echo "# Servers of the local test stack (tests/stack/up). Source this file:"
    echo "#   source tests/stack/env"
    printf '%s' "$body"
  } >"$STACK_ENV.tmp.$$"
  mv -f "$STACK_ENV.tmp.$$" "$STACK_ENV"
}

# ---- Java programs of the stack: jars from a pom.xml plus one compiled main class ----------

# mvn_copy_libs POM DIR: the runtime jars of POM into DIR, one progress line per download (shown
# as repository id and artifact path, without the repository's address).
mvn_copy_libs() {
  local pom=$1 dir=$2
  (mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir" 2>&1 |
    sed -u -E -e 's#(Download(ing|ed) from [^:]+: )[a-z]+://[^ ]*/maven2/#\1#' \
      -e 's#(Download(ing|ed) from [^:]+: )[a-z]+://[^/ ]+/#\1#'
  exit "${PIPESTATUS[0]}")
}

# jvm_cached HOME CLASS HASH: HOME holds CLASS, built from the sources whose hash is HASH.
jvm_cached() {
  [[ -f $1/.src.sha256 && -f $1/classes/$2 ]] && [[ $(<"$1/.src.sha256") == "$3" ]]
}

# jvm_fill_cache HOME SRC MAIN HASH: resolves SRC/pom.xml's runtime jars into HOME/libs and
# compiles SRC/MAIN into HOME/classes, both built aside and moved in only when complete, then
# records HASH (the sources') in HOME/.src.sha256.
jvm_fill_cache() {
  local home=$1 src=$2 main=$3 hash=$4 tmp
  tmp=$home/tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/classes"
  if ! mvn_copy_libs "$src/pom.xml" "$tmp/libs"; then
    rm -rf "$tmp"
    echo "mvn dependency:copy-dependencies failed for $src/pom.xml" >&2
    return 1
  fi
  if ! javac -nowarn -d "$tmp/classes" -cp "$tmp/libs/*" "$src/$main"; then
    rm -rf "$tmp"
    echo "javac of $src/$main failed" >&2
    return 1
  fi
  rm -rf "$home/libs" "$home/classes"
  mv "$tmp/libs" "$home/libs"
  mv "$tmp/classes" "$home/classes"
  rm -rf "$tmp"
  echo "$hash" >"$home/.src.sha256"
  echo "$(find "$home/libs" -name '*.jar' | wc -l) jars" \
    "($(du -sh "$home/libs" | cut -f1)) in $home/libs"
}
