#!/usr/bin/env bash
# Policy decisions, Steward against Cedar on the same random requests: agreement and
# ns/decision for both. `--quick` for CI (20,000 requests); default 1,000,000.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
cargo build --release --locked -q -p steward-bench --bin policy-vs-cedar
"$CARGO_TARGET_DIR/release/policy-vs-cedar" "$@"
