#!/usr/bin/env bash
# Runs interop test files (default: all *.test.js here) with Node's built-in test runner, against
# the custodyd named by $CUSTODYD, or (cedar-*.test.js) the cedar_eval named by $CEDAR_EVAL. ctest
# runs it once per file (interop.oauth.*, interop.mcp.*, interop.cedar.*); docs/testing.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "interop: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (Node.js >= 20: scripts/install-deps.sh --test)"
major=$(node -p 'process.versions.node.split(".")[0]')
(( major >= 20 )) || fail "Node.js >= 20 is needed, found $(node --version)"
# Files may be named relative to the caller's directory (tests/interop/x.test.js) or to this one.
files=()
for file in "$@"; do
  if [[ -f "$file" ]]; then files+=("$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"); else files+=("$file"); fi
done
set -- "${files[@]}"
cd "$here"
if (( $# == 0 )); then set -- *.test.js; fi
# What the files need: cedar-*.test.js the official Cedar engine and cedar_eval ($CEDAR_EVAL),
# mcp-*.test.js the MCP SDK (and zod, for the upstream's tools) besides what the others need: the
# OAuth clients and custodyd ($CUSTODYD).
oauth=0 cedar=0 mcp=0
for file in "$@"; do
  case $(basename "$file") in
    cedar-*) cedar=1 ;;
    mcp-*) mcp=1 oauth=1 ;;
    *) oauth=1 ;;
  esac
done
deps=()
(( oauth )) && deps+=(openid-client oauth4webapi jose)
(( mcp )) && deps+=(@modelcontextprotocol/sdk zod)
(( cedar )) && deps+=(@cedar-policy/cedar-wasm)
for dep in "${deps[@]}"; do
  [[ -f "$here/node_modules/$dep/package.json" ]] ||
    fail "$here/node_modules/$dep is missing: run (cd tests/interop && npm ci --no-audit --no-fund)"
done
if (( oauth )); then
  [[ -n "${CUSTODYD:-}" && -x "${CUSTODYD}" ]] || fail "CUSTODYD must name the custodyd binary (got '${CUSTODYD:-}')"
fi
if (( cedar )); then
  [[ -n "${CEDAR_EVAL:-}" && -x "${CEDAR_EVAL}" ]] ||
    fail "CEDAR_EVAL must name the cedar_eval binary (got '${CEDAR_EVAL:-}')"
fi
# Node 20's V8 (11.3) can abort long-running loops with "Fatal error ... unreachable code" in
# Deoptimizer::DoComputeBuiltinContinuation (seen in the Cedar differential test, and by the
# anchor's run-corpus.mjs); --no-opt (no TurboFan, wasm still compiled) avoids it at 10-20 % more
# time. The test runner passes it on to the test processes.
node_flags=()
(( cedar )) && node_flags+=(--no-opt)
exec node "${node_flags[@]}" --test --test-reporter=spec "$@"
