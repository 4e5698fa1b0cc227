#!/usr/bin/env bash
# Fails when a C++ file of the repository is not formatted with the repo's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "not clang-formatted (run: clang-format -i FILE):"; printf '  %s\n' "${bad[@]}"; exit 1
fi
echo "format: ${#files[@]} files checked"
