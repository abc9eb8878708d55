#!/usr/bin/env bash
# Runs every fuzz target under fuzz/ for a bounded time (default 60 s each) with cargo-fuzz
# on the nightly toolchain, installing cargo-fuzz if it is missing. Findings stay in
# fuzz/artifacts/; turn each into a regression test named after what broke.
#   scripts/fuzz.sh [--seconds N] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-$HOME/.cache/steward/fuzz-target}"
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
  echo "=== fuzz $t for ${seconds}s"
  (cd fuzz && cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 3)
done
