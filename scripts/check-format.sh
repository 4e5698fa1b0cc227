#!/usr/bin/env bash
# Fails when a C++ file of the repository is not formatted with the repo's .clang-format, and
# names every such file. One clang-format process checks them all: one process per file spent
# about a minute of the test suite on process starts alone.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t listed < <(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
files=()
for f in "${listed[@]}"; do [[ -f "$f" ]] && files+=("$f"); done
if [[ ${#files[@]} -eq 0 ]]; then
  echo "format: no C++ files found"; exit 1
fi
if ! report=$(clang-format --style=file --dry-run --Werror "${files[@]}" 2>&1); then
  mapfile -t bad < <(grep -oE '^[^:]+:[0-9]+:[0-9]+: error: code should be clang-formatted' <<<"$report" |
    cut -d: -f1 | sort -u)
  if [[ ${#bad[@]} -eq 0 ]]; then  # clang-format itself failed (a broken .clang-format, say)
    printf '%s\n' "$report"; exit 1
  fi
  echo "not clang-formatted (run: clang-format -i FILE):"; printf '  %s\n' "${bad[@]}"; exit 1
fi
echo "format: ${#files[@]} files checked"
