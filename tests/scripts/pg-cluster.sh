#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests.
#
#   pg-cluster.sh start DIR   initdb a new cluster under DIR (wiping any earlier one there),
#                             start it on 127.0.0.1 at a free port with trust auth for loopback
#                             only, create database custody_test, and write its URL
#                             (postgres://USER@127.0.0.1:PORT/custody_test) to DIR/url.
#   pg-cluster.sh stop DIR    stop that cluster (if any) and remove DIR. Never fails.
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
# If that user cannot reach DIR (e.g. DIR is under /root), the cluster's files go to a private
# directory under /tmp instead and DIR/datadir points at it.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
[[ -n "$dir" && "$dir" != "/" ]] || usage
dir=$(realpath -m -- "$dir")

pg_bin() {
  local best
  best=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [[ -z "$best" || ! -x "$best/initdb" ]]; then
    return 1
  fi
  echo "$best"
}

# Who runs the server, and how to run a command as them.
if [[ $(id -u) -eq 0 ]]; then
  run_user=postgres
  if ! id -u "$run_user" >/dev/null 2>&1; then
    echo "pg-cluster: running as root and there is no '$run_user' user to run PostgreSQL" >&2
    exit 1
  fi
  as_user() { runuser -u "$run_user" -- "$@"; }
else
  run_user=$(id -un)
  as_user() { "$@"; }
fi

# The directory holding the cluster's files (data/, the log and the socket).
cluster_home() {
  if [[ -f "$dir/datadir" ]]; then cat "$dir/datadir"; else echo "$dir"; fi
}

stop_cluster() {
  [[ -d "$dir" ]] || return 0
  local home data bin pid
  home=$(cluster_home)
  data="$home/data"
  if [[ -f "$data/postmaster.pid" ]]; then
    bin=$(pg_bin || true)
    if [[ -n "$bin" ]]; then
      as_user "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
    # Still there (pg_ctl missing or failed): stop the postmaster by its recorded pid.
    if [[ -f "$data/postmaster.pid" ]]; then
      pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
      if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
    fi
  fi
  if [[ "$home" != "$dir" ]]; then rm -rf "$home"; fi
  rm -rf "$dir"
}

free_port() {
  python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 10000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

start_cluster() {
  local bin home data port log sockdir url
  if ! bin=$(pg_bin); then
    echo "pg-cluster: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin" >&2
    echo "pg-cluster: install them with: apt-get install postgresql" >&2
    exit 1
  fi
  stop_cluster
  mkdir -p "$dir"
  home=$dir
  if [[ $(id -u) -eq 0 ]]; then
    chown "$run_user" "$dir"
    if ! as_user test -w "$dir"; then
      home=$(mktemp -d /tmp/custody-pg.XXXXXX)
      chown "$run_user" "$home"
      echo "$home" >"$dir/datadir"
    fi
  fi
  data="$home/data"
  log="$home/postgres.log"
  # Unix socket paths are limited to 107 bytes; with a deeper DIR only TCP is offered.
  sockdir=$home
  if (( ${#home} > 80 )); then sockdir=""; fi

  as_user "$bin/initdb" -D "$data" -U "$run_user" --auth=trust --encoding=UTF8 --locale=C \
    --no-sync >"$home/initdb.log" 2>&1 || {
    cat "$home/initdb.log" >&2
    echo "pg-cluster: initdb failed" >&2
    exit 1
  }
  # Trust, but only for loopback TCP and for the socket inside the cluster's own directory.
  as_user tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF

  local started=""
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    as_user tee -a "$data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
EOF
    if as_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
      started=1
      break
    fi
    # Most likely the port was taken meanwhile: the last settings win, so try another.
  done
  if [[ -z "$started" ]]; then
    tail -n 30 "$log" >&2 || true
    echo "pg-cluster: could not start PostgreSQL" >&2
    exit 1
  fi
  as_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$run_user" custody_test
  url="postgres://$run_user@127.0.0.1:$port/custody_test"
  echo "$url" >"$dir/url.tmp"
  mv "$dir/url.tmp" "$dir/url"
  echo "$url"
}

case "$cmd" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
