#!/usr/bin/env bash
# Installs the Debian 12 packages custody needs, only when some are missing (idempotent).
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite and benchmarks need)
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libboost-dev libssl-dev libsqlite3-dev libpq-dev
          nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libfmt-dev zlib1g-dev
          libtomlplusplus-dev libgoogle-perftools-dev curl ca-certificates)
if [[ "${1:-}" == "--test" ]]; then
  # clang + libclang-rt-14-dev (libFuzzer and sanitizer runtimes): the fuzz targets (tests/fuzz).
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev postgresql clang-format wrk jq python3
             nodejs npm clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  # tests/interop needs Node.js >= 20; NodeSource's nodejs bundles npm (and conflicts with npm).
  [[ "$p" == npm ]] && command -v npm >/dev/null && continue
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "custody: installing Debian packages: ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "custody: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
