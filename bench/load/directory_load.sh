#!/usr/bin/env bash
# Directory load benchmark (issue: foundation). Against a release custodyd on SQLite:
#  1. start-up time on an empty store, then bulk creation of N identities through the API;
#  2. idle RSS;
#  3. wrk -t1 -c32 on GET /api/v1/identities/{id} (random ids) and on GET /healthz, same run,
#     with the ratio between them;
#  4. restart on the existing store: time from exec to /readyz answering.
# Usage: bench/load/directory_load.sh [BUILD_DIR] (default build/release). Loopback only; bounded.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=bench/load/wait_ready.sh
source "$root/bench/load/wait_ready.sh"
build=${1:-$root/build/release}
count=${BULK_COUNT:-100000}
duration=${DURATION:-10s}
custodyd=$build/src/custodyd
[[ -x $custodyd ]] || { echo "build custodyd first: cmake --build $build"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh --test"; exit 1; }

work=$(mktemp -d /tmp/custody-bench.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export CUSTODY_TOKEN="cst_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CUSTODY_BOOTSTRAP_ADMIN_TOKEN=$CUSTODY_TOKEN CUSTODY_ACCESS_LOG=false
url=http://127.0.0.1:$port
pid=
startup_ms=0
# set +e: under set -e a failed kill (custodyd already gone) would end the trap before rm.
cleanup() { set +e; [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() {
  local t0 t1
  t0=$(date +%s%N)
  "$custodyd" --listen 127.0.0.1:$port --data-dir "$work/data" 2>>"$work/log" >/dev/null &
  pid=$!
  wait_ready "$url" "$pid" "$work/log" 0.002
  t1=$(date +%s%N)
  startup_ms=$(( (t1 - t0) / 1000000 ))
}

start
echo "== start-up (empty store): $startup_ms ms"

echo "== bulk create $count identities (wrk -t1 -c64)"
t0=$(date +%s%N)
BULK_COUNT=$count wrk -t1 -c64 -d600s -s "$root/bench/load/bulk_create.lua" "$url" >"$work/bulk.txt" 2>"$work/bulk.err" || { cat "$work/bulk.err"; exit 1; }
cat "$work/bulk.err"
t1=$(date +%s%N)
secs=$(python3 -c "print(round(($t1-$t0)/1e9,2))")
echo "   took ${secs}s ($(python3 -c "print(int($count/(($t1-$t0)/1e9)))") identities/s)"
grep -E "Non-2xx|Socket errors" "$work/bulk.txt" || true

# Collect ids for the GET benchmark.
python3 - "$url" "$work/ids.txt" <<'PY'
import json, os, sys, urllib.request
url, out = sys.argv[1], sys.argv[2]
cursor, ids = None, []
while len(ids) < 100000:
    q = "limit=1000" + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(f"{url}/api/v1/identities?{q}",
                                 headers={"Authorization": "Bearer " + os.environ["CUSTODY_TOKEN"]})
    page = json.load(urllib.request.urlopen(req))
    ids += [i["id"] for i in page["items"]]
    cursor = page.get("next_cursor")
    if not cursor: break
open(out, "w").write("\n".join(ids) + "\n")
print(f"   {len(ids)} ids collected")
PY
total=$(curl -sf -H "Authorization: Bearer $CUSTODY_TOKEN" "$url/api/v1/identities?limit=1" >/dev/null && wc -l <"$work/ids.txt")

sleep 2
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "== idle RSS after load: $((rss / 1024)) MiB"

echo "== wrk -t1 -c32 -d$duration GET /healthz"
wrk -t1 -c32 -d"$duration" --latency "$url/healthz" | tee "$work/healthz.txt" | grep -E 'Requests/sec|99%|Non-2xx'
echo "== wrk -t1 -c32 -d$duration GET /api/v1/identities/{id} ($total ids)"
IDS_FILE=$work/ids.txt wrk -t1 -c32 -d"$duration" --latency -s "$root/bench/load/get_identity.lua" "$url" \
  | tee "$work/get.txt" | grep -E 'Requests/sec|99%|Non-2xx'
h=$(awk '/Requests\/sec/ {print $2}' "$work/healthz.txt")
g=$(awk '/Requests\/sec/ {print $2}' "$work/get.txt")
echo "== ratio GET identity / GET healthz: $(python3 -c "print(round($g/$h,3))")"

kill "$pid"; wait "$pid" || true; pid=
start
echo "== start-up (existing store, $count identities): $startup_ms ms (custodyd: $(grep -o '"startup_ms":[0-9.]*' "$work/log" | tail -1 | cut -d: -f2) ms)"
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "== idle RSS after restart: $((rss / 1024)) MiB"
