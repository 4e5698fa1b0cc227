#!/usr/bin/env bash
# Token endpoint load benchmark (issue 3), with the same wrk settings as the oidc-provider anchor
# (../shared/anchors/oidc-provider/bench.sh: wrk -t1, keep-alive, form POST with Basic auth):
#   client_credentials  agent A, client_secret_basic, scope "read write", audience B
#   token_exchange      agent B exchanges A's token (scope read); a fresh subject token per sample
# Every issued token's delegation record and audit event are durable (group commit) before the
# response. Prints req/s, p50 and p99 per endpoint and concurrency.
# Usage: bench/load/token_load.sh [BUILD_DIR] (default build/release)
#   env: DURATION [10s]  CONCURRENCY ["32 64"]  ENDPOINTS ["token_cc token_exchange jwks"]
#        STORE (custodyd --store URL; default SQLite in a temp dir)
#        PROFILE=1: after each run, custodyd's CPU per request by thread (from /proc), where
#          perf can count tracepoints its system calls and context switches per request, and
#          where a request's time went inside custodyd (/metrics histograms over the run: the
#          request, its write's wait for the group commit, the commit, the answer's wait for
#          its io thread; mean and the bucket bound that holds the 99th percentile), and how
#          long the machine itself stood still (bench/vm_freeze_probe, when built and allowed
#          SCHED_FIFO: a VM's host pausing every vCPU, which no thread inside can see)
#        DISCOVERY_INTERVAL (seconds): meanwhile an enrolled device uploads a discovery scan of
#          tests/discovery/fixtures/root (custody-agent scan --upload, 20+ findings seen again)
#          every so often, as a fleet's reports would; the output then also counts the uploads
#          and the store read cache's hits, misses and resets over each run
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=bench/load/wait_ready.sh
source "$root/bench/load/wait_ready.sh"
build=${1:-$root/build/release}
duration=${DURATION:-10s}
concurrency=${CONCURRENCY:-"32 64"}
endpoints=${ENDPOINTS:-"token_cc token_exchange jwks"}
custodyd=$build/src/custodyd
[[ -x $custodyd ]] || { echo "build custodyd first: cmake --build $build"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh --test"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }

work=$(mktemp -d ${BENCH_TMP:-/tmp}/custody-token-bench.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
admin="cst_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url=http://127.0.0.1:$port
pid=
# Under `set -e` a failed `kill` (of a helper already reaped) would end the trap there and leave
# custodyd running, so the trap runs without it and stops every process it knows of.
cleanup() {
  set +e
  [[ -n ${reporter:-} ]] && kill "$reporter" 2>/dev/null
  [[ -n ${freeze_pid:-} ]] && kill "$freeze_pid" 2>/dev/null
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

store_args=()
[[ -n ${STORE:-} ]] && store_args=(--store "$STORE")
CUSTODY_BOOTSTRAP_ADMIN_TOKEN=$admin CUSTODY_ACCESS_LOG=false CUSTODY_LOG_LEVEL=warn \
  "$custodyd" --listen 127.0.0.1:$port --data-dir "$work/data" "${store_args[@]}" \
  2>>"$work/log" >/dev/null &
pid=$!
wait_ready "$url" "$pid" "$work/log"

api() { curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@"; }
human=$(api -d '{"kind":"human","display_name":"Bench owner","state":"active"}' "$url/api/v1/identities" | jq -r .id)
agent() { api -d "{\"kind\":\"agent\",\"display_name\":\"$1\",\"owner_id\":\"$human\",\"state\":\"active\"}" "$url/api/v1/identities" | jq -r .id; }
a=$(agent bench-a); b=$(agent bench-b)
for s in read write; do
  api -d "{\"scope\":\"$s\",\"resource\":\"$b\",\"justification\":\"bench\"}" "$url/api/v1/identities/$a/entitlements" >/dev/null
done
secret() { api -d '{"type":"client_secret"}' "$url/api/v1/identities/$1/credentials" | jq -r .secret; }
sa=$(secret "$a"); sb=$(secret "$b")

reporter=
if [[ -n ${DISCOVERY_INTERVAL:-} ]]; then
  agent_bin=$build/agent/custody-agent
  [[ -x $agent_bin ]] || { echo "build custody-agent first: cmake --build $build"; exit 1; }
  enrol_token=$(api -d "{\"owner\":\"$human\"}" "$url/api/v1/devices/enrolment-tokens" | jq -r .token)
  "$agent_bin" enrol --server "$url" --token "$enrol_token" --state-dir "$work/agent" \
    --hostname bench >/dev/null
  scan() {
    "$agent_bin" scan --upload --no-processes --root "$root/tests/discovery/fixtures/root" \
      --state-dir "$work/agent" >/dev/null
  }
  scan  # the findings exist before the first run: what follows only sees them again
  # Uploads until stopped, counting them in $work/uploads.
  report_loop() {
    local n=0
    while :; do scan && n=$((n + 1)) && echo $n >"$work/uploads"; sleep "$DISCOVERY_INTERVAL"; done
  }
  cache() { curl -sf "$url/metrics" | awk -v k="custody_store_read_cache_$1_total" '$1 == k {print $2}'; }
fi
cleanup_reporter() {
  [[ -n $reporter ]] && { kill "$reporter" 2>/dev/null; wait "$reporter" 2>/dev/null || true; }
  reporter=
}
form='Content-Type: application/x-www-form-urlencoded'
auth_a="Authorization: Basic $(printf '%s:%s' "$a" "$sa" | base64 -w0)"
auth_b="Authorization: Basic $(printf '%s:%s' "$b" "$sb" | base64 -w0)"
cc_body="grant_type=client_credentials&scope=read%20write&audience=$b"
te_grant='urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange'
tt_at='urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token'

echo "custody $(git -C "$root" rev-parse --short HEAD), store $(grep -o '"store":"[a-z]*"' "$work/log" | head -1 || echo sqlite), wrk -t1, $(nproc) cores"
# custodyd's CPU time (user + system, from /proc) per request during each run.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
# PROFILE=1: CPU ticks per thread name ("name ticks" lines), and perf's syscall counters.
thread_ticks() {
  for t in /proc/$pid/task/*; do
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
# PROFILE=1: the latency histograms of /metrics ("name{labels} value" lines) ...
stage_histograms() {
  curl -sf "$url/metrics" | grep -E '^custody_(http_request_duration|store_write_wait|store_commit_duration|http_answer_wait)_seconds_(bucket|sum|count)'
}
# ... and, from two such snapshots, each stage's mean and 99th-percentile bucket over the run.
stage_report() {
  awk -v route="$3" '
    FNR == NR { before[$1] = $2; next }
    {
      name = $1; sub(/_(bucket|sum|count)([{].*)?$/, "", name); sub(/^custody_/, "", name)
      if ($1 ~ /route=/ && index($1, "route=\"" route "\"") == 0) next
      d = $2 - before[$1]
      if ($1 ~ /_sum/) sum[name] = d
      else if ($1 ~ /_count/) count[name] = d
      else if ($1 !~ /le="\+Inf"/) {
        le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
        n[name]++; bound[name, n[name]] = le; cum[name, n[name]] = d
      }
    }
    END {
      split("http_request_duration_seconds store_write_wait_seconds store_commit_duration_seconds http_answer_wait_seconds", order)
      split("request write-wait commit answer-wait", label)
      for (i = 1; i <= 4; i++) {
        k = order[i]
        if (count[k] <= 0) continue
        p99 = "> 2.5 s"
        for (j = 1; j <= n[k]; j++) if (cum[k, j] >= 0.99 * count[k]) { p99 = sprintf("<= %g ms", bound[k, j] * 1000); break }
        printf "    stage   %-16s mean %6.2f ms, p99 %s (%d)\n", label[i], sum[k] / count[k] * 1000, p99, count[k]
      }
    }' "$1" "$2"
}
syscalls=
for s in futex fcntl pread64 pwrite64 fdatasync recvmsg sendmsg epoll_wait getpid; do
  syscalls+="syscalls:sys_enter_$s,"
done
syscalls+=context-switches
perf_ok=
if [[ -n ${PROFILE:-} ]] && perf stat -e "$syscalls" -o /dev/null true >/dev/null 2>&1; then
  perf_ok=1
fi
if [[ -n ${DISCOVERY_INTERVAL:-} ]]; then
  printf '%-16s %4s %10s %9s %9s %9s %8s %9s %7s %7s %s\n' endpoint conn req/s p50 p99 cpu/req \
    uploads \
    hits misses resets errors
else
  printf '%-16s %4s %10s %9s %9s %9s %s\n' endpoint conn req/s p50 p99 cpu/req errors
fi
for ep in $endpoints; do
  for c in $concurrency; do
    case $ep in
      token_cc) hdr=("$auth_a" "$form"); body=$cc_body; path=/oauth2/token ;;
      token_exchange)
        st=$(curl -sf -H "$auth_a" -H "$form" -d "$cc_body" "$url/oauth2/token" | jq -r .access_token)
        hdr=("$auth_b" "$form")
        body="grant_type=$te_grant&subject_token=$st&subject_token_type=$tt_at&scope=read"
        path=/oauth2/token ;;
      jwks) hdr=(); body=; path=/.well-known/jwks.json ;;
    esac
    args=(-t1 -c"$c" -d"$duration" --latency)
    [[ -n $body ]] && args+=(-s "$root/bench/load/post_form.lua")
    for h in "${hdr[@]}"; do args+=(-H "$h"); done
    if [[ -n ${DISCOVERY_INTERVAL:-} ]]; then
      echo 0 >"$work/uploads"
      h0=$(cache hits) m0=$(cache misses) r0=$(cache resets)
      report_loop & reporter=$!
    fi
    before=$(cpu_ticks)
    if [[ -n ${PROFILE:-} ]]; then
      stage_histograms >"$work/stages0"
      thread_ticks >"$work/threads0"
      if [[ -n $perf_ok ]]; then
        perf stat -x, -e "$syscalls" -p "$pid" -o "$work/perf.csv" &
        perf_pid=$!
      fi
      freeze_pid=
      if [[ -x $build/bench/vm_freeze_probe ]]; then
        "$build/bench/vm_freeze_probe" >"$work/freeze.txt" 2>&1 &
        freeze_pid=$!
      fi
    fi
    WRK_BODY=$body wrk "${args[@]}" "$url$path" >"$work/$ep.$c.txt" 2>&1
    after=$(cpu_ticks)
    if [[ -n ${PROFILE:-} ]]; then
      stage_histograms >"$work/stages1"
      thread_ticks >"$work/threads1"
      if [[ -n $perf_ok ]]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" 2>/dev/null || true
      fi
      if [[ -n $freeze_pid ]]; then
        kill -INT "$freeze_pid" 2>/dev/null || true
        wait "$freeze_pid" 2>/dev/null || true
      fi
    fi
    extra=
    if [[ -n ${DISCOVERY_INTERVAL:-} ]]; then
      cleanup_reporter
      extra=$(printf '%8s %9s %7s %7s' "$(cat "$work/uploads")" $(($(cache hits) - h0)) \
        $(($(cache misses) - m0)) $(($(cache resets) - r0)))
    fi
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/$ep.$c.txt")
    p50=$(awk '$1=="50%" {print $2}' "$work/$ep.$c.txt")
    p99=$(awk '$1=="99%" {print $2}' "$work/$ep.$c.txt")
    errs=$(grep -E 'Non-2xx|Socket errors' "$work/$ep.$c.txt" | tr '\n' ' ' || true)
    requests=$(awk '/requests in/ {print $1}' "$work/$ep.$c.txt")
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
      'BEGIN { if (n > 0) printf "%.0fus", t / hz * 1e6 / n; else print "-" }')
    if [[ -n $extra ]]; then
      printf '%-16s %4s %10s %9s %9s %9s %s %s\n' "$ep" "$c" "$rps" "$p50" "$p99" "$cpu" "$extra" \
        "$errs"
    else
      printf '%-16s %4s %10s %9s %9s %9s %s\n' "$ep" "$c" "$rps" "$p50" "$p99" "$cpu" "$errs"
    fi
    if [[ -n ${PROFILE:-} && ${requests:-0} -gt 0 ]]; then
      join "$work/threads0" "$work/threads1" | awk -v hz="$hz" -v n="$requests" '
        { us = ($3 - $2) / hz * 1e6 / n; if (us >= 0.05) printf "    cpu/req %-16s %7.1fus\n", $1, us }'
      stage_report "$work/stages0" "$work/stages1" "$path"
      [[ -n $freeze_pid ]] && printf '    machine %s\n' "$(cat "$work/freeze.txt")"
      [[ -n $perf_ok ]] && awk -F, -v n="$requests" '$1 ~ /^[0-9]+$/ {
          name = $3; sub("syscalls:sys_enter_", "", name)
          printf "    per req %-16s %7.2f\n", name, $1 / n }' "$work/perf.csv"
    fi
  done
done
