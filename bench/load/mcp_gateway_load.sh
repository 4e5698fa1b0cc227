#!/usr/bin/env bash
# MCP gateway load benchmark: `tools/call echo` latency with 32 concurrent clients for 10 s,
# straight to an upstream MCP server (the official SDK's, tests/interop/mcp-upstream.js) and
# through custodyd's gateway (docs/mcp-gateway.md), in the same run with the same client (raw
# HTTP keep-alive POSTs, one initialized session per client): p50/p99 per path and the overhead
# (gateway - direct). Target: <= 1 ms at p50, <= 3 ms at p99. The driver is mcp_gateway_load.mjs.
# Every gateway call is authorized by the PDP and its gateway.call event is durable (group commit)
# before it is forwarded.
# Load models: closed loop by default (each client sends its next call when the last one
# answered: the calls/s measure capacity). RATE=<calls/s in total> runs an open loop instead: the
# same clients send on a fixed schedule (RATE / CONCURRENCY each, staggered) and each latency is
# measured from the call's scheduled send time, so that queueing behind slow calls is not hidden
# (the fixed-rate, N-connection method of wrk2/Fortio that Istio's proxy benchmarks use). Pick a
# RATE below the closed loop's calls/s on both paths, e.g. RATE=1000.
# Usage: bench/load/mcp_gateway_load.sh [BUILD_DIR] (default build/release)
#   env: DURATION_S [10]  WARMUP_S [2]  CONCURRENCY [32]  ROUNDS [1]  CUSTODY_THREADS [2]
#        PATHS ["direct gateway"]  RATE [unset: closed loop]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
custodyd=$build/src/custodyd
[[ -x $custodyd ]] || { echo "build custodyd first: cmake --build $build"; exit 1; }
build=$(cd "$build" && pwd)
custodyd=$build/src/custodyd  # absolute: custodyd runs in its data directory
command -v node >/dev/null || { echo "node missing (Node.js >= 20: scripts/install-deps.sh --test)"; exit 1; }
for dep in @modelcontextprotocol/sdk zod jose openid-client; do
  [[ -f $root/tests/interop/node_modules/$dep/package.json ]] ||
    { echo "tests/interop/node_modules/$dep missing: (cd tests/interop && npm ci --no-audit --no-fund)"; exit 1; }
done
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" 2>/dev/null ||
  echo "warning: $build is not a Release build" >&2
echo "custody $(git -C "$root" rev-parse --short HEAD), $(basename "$build"), node $(node --version), $(nproc) cores"
# The harness starts custodyd with CUSTODY_ACCESS_LOG=false (and needs the info-level "listening
# on" line, so the log level stays info).
CUSTODYD=$custodyd exec node "$root/bench/load/mcp_gateway_load.mjs"
