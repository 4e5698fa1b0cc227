#!/usr/bin/env bash
# Builds the Cedar libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) in their own
# build directory and runs each for a bounded time, failing on any crash, hang, leak or sanitizer
# report. ctest calls it (fuzz.cedar.build, then fuzz.cedar.<target>); docs/testing.md.
#
# Usage: tests/fuzz/run.sh [--build-dir DIR] [--build-only | --no-build] [TARGET...]
#   TARGET: parser, entities, schema (default: all). Environment:
#   CUSTODY_FUZZ_SECONDS  time per target (default 30)
#   CUSTODY_FUZZ_JOBS     ninja -j for the build (default 1; the build is slow, the machine shared)
#   CUSTODY_FUZZ_ARGS     extra libFuzzer flags (e.g. "-seed=1 -max_len=8192")
# Seeds: tests/fuzz/corpus/<target>/, plus for parser and schema the policy and schema files of
# the Cedar conformance corpus (../shared/cedar-corpus) when it exists. The working corpus grows
# in DIR/corpus/<target>/ and crash reproducers land in DIR/artifacts/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build/fuzz"
mode=all
targets=()
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --build-only) mode=build; shift ;;
    --no-build) mode=run; shift ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(parser entities schema)
fail() { echo "fuzz: $*" >&2; exit 1; }

if [[ $mode != run ]]; then
  command -v clang++ >/dev/null || fail "clang++ is missing (scripts/install-deps.sh --test)"
  # The compiler is fixed when a build directory is first configured: configure once with clang.
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCUSTODY_SANITIZE=ON -DCUSTODY_BUILD_FUZZ=ON -DCUSTODY_BUILD_BENCH=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
  fi
  names=()
  for t in parser entities schema; do names+=("cedar_${t}_fuzz"); done
  nice ninja -j "${CUSTODY_FUZZ_JOBS:-1}" -C "$build" "${names[@]}"
fi
[[ $mode == build ]] && exit 0

seconds=${CUSTODY_FUZZ_SECONDS:-30}
corpus_src="$root/../shared/cedar-corpus"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${targets[@]}"; do
  exe="$build/tests/cedar_${t}_fuzz"
  [[ -x "$exe" ]] || fail "$exe is missing: run $0 --build-dir $build --build-only"
  work="$build/corpus/$t"
  mkdir -p "$work" "$build/artifacts"
  seeds=("$here/corpus/$t")
  # Real-world inputs from the conformance corpus as extra seeds (read-only, never written).
  if [[ -d "$corpus_src" ]]; then
    extra="$build/seeds/$t"
    if [[ ! -d "$extra" ]]; then
      mkdir -p "$extra"
      # At most a few hundred small files each (`|| true`: find ends by SIGPIPE once head is done).
      pick() { (find "$corpus_src" "$@" -size -8k || true) | head -n 300 | xargs -r cp -t "$extra" --backup=numbered; }
      case "$t" in
        parser) pick -name '*.cedar' ;;
        schema) pick \( -name '*.cedarschema' -o -name '*.cedarschema.json' \) ;;
        entities) pick -name '*.entities.json' ;;
      esac
    fi
    seeds+=("$extra")
  fi
  echo "fuzz: cedar_${t}_fuzz for ${seconds}s"
  # -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb: runaway memory is a bug.
  # shellcheck disable=SC2086
  if ! "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/${t}-" ${CUSTODY_FUZZ_ARGS:-} \
      "$work" "${seeds[@]}"; then
    echo "fuzz: cedar_${t}_fuzz FAILED; reproducer in $build/artifacts/" >&2
    status=1
  fi
done
exit $status
