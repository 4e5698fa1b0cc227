#!/usr/bin/env bash
# custody-agent at rest (issue 7: idle RSS < 15 MiB, < 1% of a core): enrols a device with a
# throw-away custodyd, runs `custody-agent run` (posture every 30 s, workload API on a socket) for
# DURATION seconds after a warm-up, and prints its resident set size and the CPU it used.
# Usage: bench/load/agent_idle.sh [BUILD_DIR] (default build/release)   env: DURATION [60]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=bench/load/wait_ready.sh
source "$root/bench/load/wait_ready.sh"
build=${1:-$root/build/release}
duration=${DURATION:-60}
custodyd=$build/src/custodyd
agent=$build/agent/custody-agent
[[ -x $custodyd && -x $agent ]] || { echo "build custodyd and custody-agent first: cmake --build $build"; exit 1; }

work=$(mktemp -d ${BENCH_TMP:-/tmp}/custody-agent-idle.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
admin="cst_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url=http://127.0.0.1:$port
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

CUSTODY_BOOTSTRAP_ADMIN_TOKEN=$admin CUSTODY_ACCESS_LOG=false CUSTODY_LOG_LEVEL=warn \
  "$custodyd" --listen 127.0.0.1:$port --data-dir "$work/data" 2>>"$work/log" >/dev/null &
pids+=($!)
wait_ready "$url" "${pids[-1]}" "$work/log" 0.05
api() { curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@"; }
human=$(api -d '{"kind":"human","display_name":"Bench owner","state":"active"}' "$url/api/v1/identities" | jq -r .id)
token=$(api -d "{\"owner\":\"$human\"}" "$url/api/v1/devices/enrolment-tokens" | jq -r .token)
CUSTODY_ENROLMENT_TOKEN=$token "$agent" enrol --server "$url" --state-dir "$work/state" >/dev/null

"$agent" run --state-dir "$work/state" --socket "$work/workload.sock" 2>>"$work/agent.log" &
agent_pid=$!
pids+=($agent_pid)
sleep 10  # warm-up: the first posture collection (a package-manager simulation) and report
ticks=$(getconf CLK_TCK)
t0=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
sleep "$duration"
t1=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
rss=$(awk '/VmRSS/ {print $2}' /proc/$agent_pid/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$agent_pid/status)
awk -v r=$rss -v h=$hwm -v d=$((t1 - t0)) -v tk=$ticks -v s=$duration 'BEGIN {
  printf "custody-agent idle: RSS %.1f MiB (peak %.1f MiB), CPU %.3f%% of a core over %d s\n",
         r / 1024, h / 1024, 100 * d / tk / s, s }'
