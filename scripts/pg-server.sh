#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for provably's tests (local runs and CI).
#
#   scripts/pg-server.sh start   # init if needed, start, print the URL (idempotent)
#   scripts/pg-server.sh url     # print the URL of the running server (exit 1 if stopped)
#   scripts/pg-server.sh stop    # stop it (idempotent)
#   scripts/pg-server.sh status
#
#   export PROVABLY_TEST_DATABASE_URL="$(scripts/pg-server.sh start)"
#
# Files live in $PROVABLY_PG_DIR (default <repo>/.pgtest): data/, server.log, url.
# The server listens on 127.0.0.1 only, on a free port picked at first start (kept across
# restarts while that port stays free). Auth: user `postgres` is trusted without a password;
# every other role must give its password (scram-sha-256), which lets the tests exercise
# real authentication failures.
#
# initdb/postgres refuse to run as root, so as root the server runs as user `nobody`.
# Binaries: $PG_BIN, else /usr/lib/postgresql/15/bin; if absent (and root) they are installed
# with apt-get.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${PROVABLY_PG_DIR:-$root/.pgtest}"
data="$dir/data"
log="$dir/server.log"
url_file="$dir/url"
port_file="$dir/port"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

say() { echo "pg-server: $*" >&2; }

# Runs a server binary as an unprivileged user when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

ensure_binaries() {
  [ -x "$bin/pg_ctl" ] && return
  if [ "$(id -u)" != 0 ]; then
    say "no PostgreSQL binaries in $bin (install postgresql-15 or set PG_BIN)"; exit 1
  fi
  say "installing postgresql with apt-get"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  if [ ! -x "$bin/pg_ctl" ]; then
    # Another major version came in: use whichever one is there.
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$bin/pg_ctl" ] || { say "apt-get gave no pg_ctl"; exit 1; }
  fi
}

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

pick_port() {
  local p tries=0
  while [ $tries -lt 200 ]; do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { echo "$p"; return; }
    tries=$((tries + 1))
  done
  say "no free port found"; exit 1
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }

init_cluster() {
  mkdir -p "$dir"
  # nobody must be able to reach the data dir and write the socket/log next to it.
  if [ "$(id -u)" = 0 ]; then chown nobody "$dir"; fi
  chmod 0755 "$dir"
  as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >&2 \
    || as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >&2
  cat >"$data/pg_hba.conf" <<'EOF'
# Written by scripts/pg-server.sh: postgres is trusted, every other role needs its password.
local all postgres               trust
host  all postgres 127.0.0.1/32  trust
local all all                    scram-sha-256
host  all all      127.0.0.1/32  scram-sha-256
EOF
  chown --reference="$data" "$data/pg_hba.conf"
}

start() {
  ensure_binaries
  if running; then
    cat "$url_file"; return
  fi
  [ -f "$data/PG_VERSION" ] || init_cluster
  local port attempt
  for attempt in 1 2 3 4 5; do
    port="$(cat "$port_file" 2>/dev/null || true)"
    if [ -z "$port" ] || port_in_use "$port"; then port="$(pick_port)"; fi
    # Tests create many databases in parallel: allow more connections than the default 100;
    # fsync=off because this server holds only throwaway test data (CREATE DATABASE is faster).
    if as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
      start >&2; then
      echo "$port" >"$port_file"
      url_for "$port" >"$url_file"
      cat "$url_file"
      return
    fi
    # Most likely another process took the port between the check and the bind.
    say "start attempt $attempt failed; see $log"
    rm -f "$port_file"
  done
  exit 1
}

stop() {
  if [ -x "$bin/pg_ctl" ] && running; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >&2
  fi
  rm -f "$url_file"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url)
    if running && [ -f "$url_file" ]; then cat "$url_file"; else say "not running"; exit 1; fi ;;
  status)
    if running; then echo "running $(cat "$url_file" 2>/dev/null)"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
