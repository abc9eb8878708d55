#!/usr/bin/env bash
# Every benchmark in its quick mode, as CI runs them. Each prints its figures and the ratio
# against its peer; the full runs are the scripts/bench-*.sh scripts without --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in scripts/bench-*.sh; do
  echo "=== $bench --quick"
  bash "$bench" --quick
done
