# shellcheck shell=bash
# Sourced by the load scripts and tests/docs/: wait_ready URL PID LOG [INTERVAL]
# Polls URL/readyz every INTERVAL seconds (default 0.01) until custodyd answers ready. If the
# process PID exits first (a bad flag, a store it cannot open), prints the end of LOG and exits
# the script with status 1 instead of polling forever.
wait_ready() {
  local url=$1 pid=$2 log=$3 interval=${4:-0.01}
  until curl -sf "$url/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "custodyd exited before it was ready; the end of its log ($log):" >&2
      tail -5 "$log" >&2
      exit 1
    fi
    sleep "$interval"
  done
}
