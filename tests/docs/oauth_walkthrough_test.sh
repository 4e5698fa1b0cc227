#!/usr/bin/env bash
# docs.oauth-walkthrough: runs the shell blocks of docs/oauth.md's "Walk-through" section, as
# written, against a fresh custodyd, and checks what the text says they do: three agents get a
# token and exchange it through two hops, `custody trace` shows the chain, revoking the first hop
# makes every derived token inactive, and the trace then shows each hop revoked.
#
# The only change to the documented commands is the server's address (a random loopback port
# instead of 127.0.0.1:8080). The blocks run in this shell, one at a time, so that a failure names
# the block, and the checks between them see the variables the blocks set ($planner, $t0, ...).
#
#   env: CUSTODYD, CUSTODY_CLI (the binaries; ctest sets both)
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions and sourced blocks
here=$(cd "$(dirname "$0")" && pwd)
doc=$here/../../docs/oauth.md
fail() {
  echo "docs.oauth-walkthrough: $*" >&2
  exit 1
}
[[ -x ${CUSTODYD:-} ]] || fail "CUSTODYD must name the custodyd binary (got '${CUSTODYD:-}')"
[[ -x ${CUSTODY_CLI:-} ]] || fail "CUSTODY_CLI must name the custody binary (got '${CUSTODY_CLI:-}')"
for tool in curl jq python3; do
  command -v $tool >/dev/null || fail "$tool is missing (scripts/install-deps.sh --test)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/custody-walkthrough.XXXXXX")
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- a fresh custodyd ----------------------------------------------------------------------------
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
url=http://127.0.0.1:$port
admin="cst_walkthrough_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CUSTODY_BOOTSTRAP_ADMIN_TOKEN=$admin "$CUSTODYD" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" >"$work/custodyd.log" 2>&1 &
pid=$!
# shellcheck source=bench/load/wait_ready.sh
source "$here/../../bench/load/wait_ready.sh"
wait_ready "$url" "$pid" "$work/custodyd.log"  # ctest's TIMEOUT bounds it

# What the quickstart has the reader set up before the walk-through.
export CUSTODY_TOKEN=$admin CUSTODY_SERVER=$url
mkdir -p "$work/bin"
ln -s "$CUSTODY_CLI" "$work/bin/custody"
export PATH=$work/bin:$PATH

# --- the section's shell blocks, one file each -----------------------------------------------------
awk '/^## Walk-through/ { in_section = 1; next } /^## / { in_section = 0 } in_section' "$doc" |
  awk -v dir="$work" '
    /^```sh/ { n++; file = sprintf("%s/block%d.sh", dir, n); inside = 1; next }
    /^```/   { inside = 0; next }
    inside   { print > file }'
shopt -s nullglob
blocks=("$work"/block*.sh)
[[ ${#blocks[@]} -eq 5 ]] ||
  fail "the walk-through has ${#blocks[@]} shell blocks; this test checks 5: update it with the doc"
sed -i "s#http://127.0.0.1:8080#$url#g" "$work"/block*.sh

# A command of a block that fails ends the test (set -e), and the trap names the block. (Not
# `source ... || fail`: on the left of || the shell would ignore failures inside the block.)
# The trap runs inside the block's redirection, so it writes to fd 3, the test's own stderr.
exec 3>&2
current_block=
on_error() {
  [[ -n $current_block ]] || return 0
  cat "$work/out$current_block" >&3
  echo "docs.oauth-walkthrough: block $current_block of the walk-through failed (above: its output)" >&3
}
trap on_error ERR
run_block() {  # N: sources block N here, its output to $work/outN
  current_block=$1
  # shellcheck disable=SC1090
  source "$work/block$1.sh" >"$work/out$1" 2>&1
  current_block=
}
is_jwt() { [[ $2 =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "$1 is not a JWT: '$2'"; }
payload() { python3 -c 'import sys,base64; p=sys.argv[1].split(".")[1]; print(base64.urlsafe_b64decode(p+"="*(-len(p)%4)).decode())' "$1"; }
introspect() {  # t0|t1|t2 → the "active" member, asked by the token's client (a party to it)
  local client
  case $1 in t0) client=planner ;; t1) client=researcher ;; t2) client=fetcher ;; esac
  local secret_var=${client}_secret
  curl -s -u "${!client}:${!secret_var}" -d token="${!1}" "$url/oauth2/introspect" | jq -r .active
}

# 1. an owner, three active agents with client secrets, and what each may hold
run_block 1
for n in planner researcher fetcher; do
  [[ ${!n} == agt_* ]] || fail "block 1 left \$$n = '${!n}', not an agent id"
  secret_var=${n}_secret
  [[ -n ${!secret_var} && ${!secret_var} != null ]] || fail "block 1 left no secret for the $n"
done

# 2. the planner's token for the researcher
run_block 2
is_jwt t0 "$t0"
[[ $(payload "$t0" | jq -r .sub) == "$planner" ]] || fail "t0's sub is not the planner"

# 3. two exchanges: t2 keeps the planner as subject and names both actors, newest outermost
run_block 3
is_jwt t1 "$t1"
is_jwt t2 "$t2"
claims=$(payload "$t2")
[[ $(jq -r .sub <<<"$claims") == "$planner" ]] || fail "t2's sub is not the planner: $claims"
[[ $(jq -r .act.sub <<<"$claims") == "$fetcher" ]] || fail "t2's act.sub is not the fetcher: $claims"
[[ $(jq -r .act.act.sub <<<"$claims") == "$researcher" ]] ||
  fail "t2's act.act.sub is not the researcher: $claims"
[[ $(jq -r '.act.act.act // "none"' <<<"$claims") == none ]] || fail "t2 has a third actor: $claims"
[[ $(jq -r '[.aud] | flatten | index("https://search.example.com") != null' <<<"$claims") == true ]] ||
  fail "t2's aud is not the search API: $claims"
for t in t0 t1 t2; do
  [[ $(introspect $t) == true ]] || fail "$t is not active before the revocation"
done

# 4. the trace: the chain from the planner to t2, three hops
run_block 4
trace=$(cat "$work/out4")
grep -q "^initiated by $planner " <<<"$trace" || fail "the trace does not start at the planner: $trace"
[[ $(grep -cE '^[ └─]*dlg_' <<<"$trace") -eq 3 ]] || fail "the trace does not show three hops: $trace"
grep -qE "dlg_[0-9A-Z]+  $fetcher acting for $planner .*◀ this token" <<<"$trace" ||
  fail "the trace does not mark the fetcher's hop as this token: $trace"
grep -qE "dlg_[0-9A-Z]+  $researcher acting for $planner " <<<"$trace" ||
  fail "the trace does not show the researcher's hop: $trace"
! grep -q REVOKED <<<"$trace" || fail "the trace shows a revocation before there was one: $trace"

# 5. revoking t0 kills t1 and t2; the trace shows every hop revoked by the planner
run_block 5
out=$(cat "$work/out5")
grep -q '{"active":false}' <<<"$out" || fail "the introspection of t2 did not answer inactive: $out"
for t in t0 t1 t2; do
  [[ $(introspect $t) == false ]] || fail "$t is still active after t0 was revoked"
done
[[ $(grep -c "REVOKED .* by $planner" <<<"$out") -eq 3 ]] ||
  fail "the trace after the revocation does not show all three hops revoked by the planner: $out"
[[ $(grep -c "oauth.token  success" <<<"$out") -ge 3 ]] ||
  fail "the audit list does not show the three issued tokens: $out"

echo "docs.oauth-walkthrough: all five blocks of docs/oauth.md ran as documented"
