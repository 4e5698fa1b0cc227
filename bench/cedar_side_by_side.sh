#!/usr/bin/env bash
# Measures the Cedar anchor side by side: the official engine (@cedar-policy/cedar-wasm 4.13.0,
# ../shared/anchors/cedar/bench.mjs) and custody's cedar_bench on the same workload (bench-data:
# 1,000 entities, 2,000 requests, 10/100/1,000 policies), and prints authorizations/s and the
# ratio per policy-set size. docs/benchmarks.md (Cedar section) has the measured numbers.
#
# Usage: bench/cedar_side_by_side.sh [BUILD_DIR]   (default build/rel; a Release build configured
#        with -DCUSTODY_BUILD_BENCH=ON; the script builds cedar_bench there with ninja -j1)
# Environment: ANCHOR_DIR (default ../shared/anchors/cedar), ANCHOR_BUDGET_MS (per configuration,
#        default 4000), CUSTODY_MIN_TIME (google-benchmark seconds per size, default 2).
#
# The anchor is run from a temporary copy because bench.mjs always writes its data set and
# results next to itself: it regenerates the same data (seed 42) and the script checks that the
# copy's policies, entities and requests are byte-identical to the shared bench-data before
# trusting its numbers. The official engine keeps no entity store between calls; its numbers are
# per configuration (pre-parsed policies with the schema, a per-request entity slice is the
# fastest realistic one; "best" is the fastest of all six), custody's are CPU time per
# authorization with the store and policy set built once (cedar_bench.cc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/rel}
anchor=${ANCHOR_DIR:-$root/../shared/anchors/cedar}
[[ -f "$anchor/bench.mjs" ]] || { echo "side-by-side: no anchor at $anchor" >&2; exit 1; }
command -v node >/dev/null || { echo "side-by-side: node is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$anchor/package.json" "$anchor/package-lock.json" "$anchor/bench.mjs" "$tmp/"
(cd "$tmp" && npm ci --no-audit --no-fund --silent)

echo "== official engine (cedar-wasm), budget ${ANCHOR_BUDGET_MS:-4000} ms per configuration"
(cd "$tmp" && node bench.mjs --out bench-data --budget-ms "${ANCHOR_BUDGET_MS:-4000}")
for f in schema.cedarschema entities.json requests.json policies-10.cedar policies-100.cedar \
         policies-1000.cedar; do
  cmp -s "$tmp/bench-data/$f" "$anchor/bench-data/$f" ||
    { echo "side-by-side: the anchor's $f differs from the shared bench-data" >&2; exit 1; }
done

echo "== custody (cedar_bench in $build)"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSTODY_BUILD_BENCH=ON >/dev/null
fi
nice ninja -j1 -C "$build" cedar_bench >/dev/null
CEDAR_BENCH_DATA="$anchor/bench-data" "$build/bench/cedar_bench" --benchmark_filter='^BM_Authorize/' \
  --benchmark_min_time="${CUSTODY_MIN_TIME:-2}" --benchmark_out="$tmp/custody.json" \
  --benchmark_out_format=json

node --input-type=module - "$tmp/bench-data/results.json" "$tmp/custody.json" <<'JS'
import fs from 'node:fs';
const [anchorFile, custodyFile] = process.argv.slice(2);
const anchor = JSON.parse(fs.readFileSync(anchorFile, 'utf8'));
const custody = JSON.parse(fs.readFileSync(custodyFile, 'utf8'));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`\n${new Date().toISOString()}  cedar-wasm ${anchor.meta.cedarWasm} (node ${anchor.meta.node}) vs custody; ${anchor.meta.cpu} x${anchor.meta.cpus}`);
console.log('| policies | official, pre-parsed + schema, entity slice (authz/s) | official, best configuration (authz/s) | custody (authz/s, CPU) | custody ÷ official best | custody ÷ official pre-slice |');
console.log('|---|---|---|---|---|---|');
let worst = Infinity;
for (const n of [10, 100, 1000]) {
  const rows = anchor.results.filter((r) => r.policies === n);
  const slice = rows.find((r) => r.config === 'pre-slice');
  const best = rows.reduce((a, b) => (b.authzPerSec > a.authzPerSec ? b : a));
  const b = custody.benchmarks.find((x) => x.name === `BM_Authorize/${n}`);
  const perSec = 1e6 / (b.cpu_time * ({ ns: 1e-3, us: 1, ms: 1e3 }[b.time_unit]));
  worst = Math.min(worst, perSec / best.authzPerSec);
  console.log(`| ${fmt(n)} | ${fmt(slice.authzPerSec)} | ${fmt(best.authzPerSec)} (${best.config}) | ${fmt(perSec)} | ${fmt(perSec / best.authzPerSec)}× | ${fmt(perSec / slice.authzPerSec)}× |`);
}
console.log(`\nsmallest ratio: ${fmt(worst)}× (target ≥ 100×): ${worst >= 100 ? 'met' : 'NOT met'}`);
JS
