#!/usr/bin/env bash
# Installs what is missing, builds everything with AddressSanitizer + UBSan, and runs the whole
# suite through ctest: unit tests, API tests against a real custodyd on SQLite and on a throw-away
# PostgreSQL cluster, and the format check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
build=build/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCUSTODY_SANITIZE=ON >/dev/null
ninja -C "$build"
# npm packages of tests/interop (ctest interop.oauth.*), from the committed lock file.
if [[ ! -f tests/interop/node_modules/.package-lock.json ||
      tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]]; then
  (cd tests/interop && npm ci --no-audit --no-fund)
fi
export CUSTODY_REQUIRE_POSTGRES=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
