#!/usr/bin/env bash
# Dataset build benchmark: `scripts/bench-datasets.sh --quick` (2,000 members) or without
# arguments (10,000 and 100,000 members); `--members N` for one size.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p steward-datasets --bench build -- "$@"
