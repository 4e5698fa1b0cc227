#!/usr/bin/env bash
# Runs interop test files (default: all *.test.js here) with Node's built-in test runner, against
# the custodyd named by $CUSTODYD. ctest runs it once per file (interop.oauth.*); docs/testing.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "interop: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (Node.js >= 20: scripts/install-deps.sh --test)"
major=$(node -p 'process.versions.node.split(".")[0]')
(( major >= 20 )) || fail "Node.js >= 20 is needed, found $(node --version)"
for dep in openid-client oauth4webapi jose; do
  [[ -f "$here/node_modules/$dep/package.json" ]] ||
    fail "$here/node_modules/$dep is missing: run (cd tests/interop && npm ci --no-audit --no-fund)"
done
[[ -n "${CUSTODYD:-}" && -x "${CUSTODYD}" ]] || fail "CUSTODYD must name the custodyd binary (got '${CUSTODYD:-}')"
cd "$here"
if (( $# == 0 )); then set -- *.test.js; fi
exec node --test --test-reporter=spec "$@"
