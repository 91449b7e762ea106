# shellcheck shell=bash
# MongoDB wire protocol: FerretDB 1.x on SQLite, embedded in the Go program of
# tests/stack/ferretdb (built once per version of its sources into the per-user cache).

FERRETDB_SRC=$STACK_DIR/ferretdb

mongo_packages() {
  # Go comes from the machine's toolchain (go.mod needs a newer one than Debian 12's).
  :
}

# ~/.cache/gridgate/bin/ferretdb-gridgate-HASH, HASH over go.mod, go.sum and main.go.
mongo_bin_wanted() {
  local h
  h=$(cat "$FERRETDB_SRC/go.mod" "$FERRETDB_SRC/go.sum" "$FERRETDB_SRC/main.go" |
    sha256sum | cut -c1-16)
  echo "$STACK_CACHE/bin/ferretdb-gridgate-$h"
}

mongo_prepare() {
  local bin
  bin=$(mongo_bin_wanted)
  [[ -x $bin ]] && { echo "binary cached: $bin"; return 0; }
  with_cache_lock ferretdb mongo_build "$bin"
}

mongo_build() {
  local bin=$1 need have
  [[ -x $bin ]] && { echo "binary cached: $bin"; return 0; }
  command -v go >/dev/null 2>&1 ||
    { echo "Go is not installed: FerretDB needs Go $(mongo_go_needed) or newer" >&2; return 1; }
  need=$(mongo_go_needed)
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  if [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1) != "$need" ]]; then
    echo "Go $have is too old: $FERRETDB_SRC/go.mod needs Go $need or newer" >&2
    return 1
  fi
  mkdir -p "$(dirname "$bin")"
  echo "building FerretDB with Go $have into $bin (first time only, about a minute on 2 cores;"
  echo "modules download into $(go env GOMODCACHE))"
  # -v prints each package as it is compiled (a bare import path): counted as progress for a
  # long, quiet step; every other line (downloads, errors) is shown as it is.
  # CGO_ENABLED=0: a static binary; FerretDB's SQLite is pure Go, no C compiler needed.
  if ! (cd "$FERRETDB_SRC" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath -ldflags='-s -w' -v \
    -o "$bin.tmp.$$" . 2>&1 | awk '
      / / { print; fflush(); next }
      { n++; if (n % 50 == 0) { print "compiled " n " packages (" $0 ")"; fflush() } }
      END { print "compiled " n + 0 " packages" }'
  exit "${PIPESTATUS[0]}"); then
    rm -f "$bin.tmp.$$"
    echo "go build of $FERRETDB_SRC failed" >&2
    return 1
  fi
  mv -f "$bin.tmp.$$" "$bin"
  # Binaries built from other sources and not run for a month (atime; exec reads them).
  find "$(dirname "$bin")" -maxdepth 1 -name 'ferretdb-gridgate-*' ! -name "${bin##*/}" \
    -atime +30 -delete 2>/dev/null || true
}

mongo_go_needed() { sed -n 's/^go \([0-9.]*\).*/\1/p' "$FERRETDB_SRC/go.mod"; }

mongo_port() { read_port "$(svc_dir mongo)/port"; }

mongo_marker() { echo "-data $(svc_dir mongo)/data"; }

mongo_log() { echo "$(svc_dir mongo)/ferretdb.log"; }

# The binary that runs (recorded at start, so a later change of the sources does not matter).
mongo_bin() {
  local b
  read -r b <"$(svc_dir mongo)/bin" 2>/dev/null && [[ -x $b ]] && echo "$b"
}

mongo_start() {
  local d port bin
  d=$(svc_dir mongo)
  bin=$(mongo_bin_wanted)
  mkdir -p "$d"
  rm -rf "$d/data" "$d/pid"
  mkdir -p "$d/data"
  echo "$bin" >"$d/bin"
  port=$(pick_port "$d/port")
  launch "$d/pid" "$d/ferretdb.log" "$bin" -listen "127.0.0.1:$port" -data "$d/data"
}

# Answers when a MongoDB `ping` command succeeds (official Go driver, in the same program).
mongo_ready() {
  local port bin
  port=$(mongo_port) || return 1
  bin=$(mongo_bin) || return 1
  "$bin" -ping "127.0.0.1:$port" -timeout 2s >/dev/null 2>&1
}

mongo_env() {
  local port
  port=$(mongo_port)
  echo "export GRIDGATE_MONGO_URI=mongodb://127.0.0.1:$port/"
  echo "export GG_MONGO_PORT=$port"
}
