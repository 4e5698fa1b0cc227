#!/usr/bin/env bash
# Installs what is missing, builds a release custodyd and runs it on 127.0.0.1:8080 with the
# embedded SQLite store in ./var. Extra arguments go to custodyd (e.g. --demo for demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCUSTODY_BUILD_TESTS=OFF -DCUSTODY_BUILD_BENCH=OFF >/dev/null
ninja -C build/release custodyd custody custody-agent
export CUSTODY_LOG_FORMAT="${CUSTODY_LOG_FORMAT:-text}"
exec build/release/src/custodyd --listen "${CUSTODY_LISTEN:-127.0.0.1:8080}" \
     --data-dir "${CUSTODY_DATA_DIR:-./var}" "$@"
