#!/usr/bin/env bash
# AuthZEN decision API load benchmark (issue 4): wrk -t1 against a release custodyd on SQLite,
# with the default policies deciding tool calls over directory data read at decision time.
#   evaluation    POST /access/v1/evaluation: an agent's call_tool (permit), one per request
#   evaluations   POST /access/v1/evaluations: BATCH (100) tool calls of the same agent per request
# The PEP authenticates with a custody access token (scope custody:pdp), as in production.
# Prints requests/s, evaluations/s and p99 per endpoint and concurrency.
# Usage: bench/load/authzen_load.sh [BUILD_DIR] (default build/release)
#   env: DURATION [10s]  CONCURRENCY ["32"]  ENDPOINTS ["evaluation evaluations"]  BATCH [100]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=bench/load/wait_ready.sh
source "$root/bench/load/wait_ready.sh"
build=${1:-$root/build/release}
duration=${DURATION:-10s}
concurrency=${CONCURRENCY:-"32"}
endpoints=${ENDPOINTS:-"evaluation evaluations"}
batch=${BATCH:-100}
custodyd=$build/src/custodyd
[[ -x $custodyd ]] || { echo "build custodyd first: cmake --build $build"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh --test"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }

work=$(mktemp -d ${BENCH_TMP:-/tmp}/custody-authzen-bench.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
admin="cst_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url=http://127.0.0.1:$port
pid=
# set +e: under set -e a failed kill (custodyd already gone) would end the trap before rm.
cleanup() { set +e; [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

CUSTODY_BOOTSTRAP_ADMIN_TOKEN=$admin CUSTODY_ACCESS_LOG=false CUSTODY_LOG_LEVEL=warn \
  "$custodyd" --listen 127.0.0.1:$port --data-dir "$work/data" 2>>"$work/log" >/dev/null &
pid=$!
wait_ready "$url" "$pid" "$work/log"

api() { curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@"; }
identity() { api -d "$1" "$url/api/v1/identities" | jq -r .id; }
entitle() {
  api -d "{\"scope\":\"$2\",\"resource\":\"$3\",\"justification\":\"bench\"$4}" \
    "$url/api/v1/identities/$1/entitlements" >/dev/null
}
server=https://invoices.example.com/mcp
human=$(identity '{"kind":"human","display_name":"Bench owner","state":"active"}')
agent=$(identity "{\"kind\":\"agent\",\"display_name\":\"bench agent\",\"owner_id\":\"$human\",\"state\":\"active\"}")
pep=$(identity "{\"kind\":\"service\",\"display_name\":\"bench PEP\",\"owner_id\":\"$human\",\"state\":\"active\"}")
entitle "$human" invoices:read "$server" ""
entitle "$agent" invoices:read "$server" ',"tools":["invoice.lookup","invoice.list"]'
entitle "$pep" custody:pdp "$url" ""
secret=$(api -d '{"type":"client_secret"}' "$url/api/v1/identities/$pep/credentials" | jq -r .secret)
token=$(curl -sf -u "$pep:$secret" -d "grant_type=client_credentials&scope=custody:pdp&audience=$url" \
  "$url/oauth2/token" | jq -r .access_token)

question() {
  printf '{"subject":{"type":"agent","id":"%s"},"action":{"name":"call_tool"},"resource":{"type":"tool","id":"%s","properties":{"server":"%s"}}}' \
    "$agent" "$1" "$server"
}
single=$(question invoice.lookup)
items=$(for i in $(seq 1 "$batch"); do
  printf '{"resource":{"type":"tool","id":"%s","properties":{"server":"%s"}}}\n' \
    "$([[ $((i % 2)) -eq 0 ]] && echo invoice.lookup || echo invoice.list)" "$server"
done | paste -sd, -)
batch_body=$(printf '{"subject":{"type":"agent","id":"%s"},"action":{"name":"call_tool"},"evaluations":[%s]}' "$agent" "$items")

# Sanity: both answer permits, so the load measures the common path.
check=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$single" "$url/access/v1/evaluation")
[[ $check == '{"decision":true}' ]] || { echo "unexpected answer: $check"; exit 1; }
permits=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$batch_body" \
  "$url/access/v1/evaluations" | jq '[.evaluations[] | select(.decision)] | length')
[[ $permits == "$batch" ]] || { echo "batch answered $permits permits of $batch"; exit 1; }

echo "custody $(git -C "$root" rev-parse --short HEAD), sqlite, wrk -t1, $(nproc) cores, batch $batch"
printf '%-12s %4s %10s %12s %9s %s\n' endpoint conn req/s evals/s p99 errors
for ep in $endpoints; do
  for c in $concurrency; do
    case $ep in
      evaluation) body=$single; per=1 ;;
      evaluations) body=$batch_body; per=$batch ;;
    esac
    WRK_BODY=$body wrk -t1 -c"$c" -d"$duration" --latency -s "$root/bench/load/post_form.lua" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      "$url/access/v1/$ep" >"$work/$ep.$c.txt" 2>&1
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/$ep.$c.txt")
    p99=$(awk '$1=="99%" {print $2}' "$work/$ep.$c.txt")
    errs=$(grep -E 'Non-2xx|Socket errors' "$work/$ep.$c.txt" | tr '\n' ' ' || true)
    printf "%-12s %4s %10s %12s %9s %s\n" "$ep" "$c" "$rps" "$(awk -v r="$rps" -v p="$per" 'BEGIN { printf "%.0f", r * p }')" "$p99" "$errs"
  done
done
