#!/usr/bin/env bash
# Ledger: durable appends/s with batching on SQLite (and PostgreSQL when
# STEWARD_BENCH_POSTGRES_URL is set), the overhead ratio against the same inserts without the
# ledger, group commit, and the time to verify the whole log.
# `--quick` for CI (100,000 entries); default 1,000,000.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
cargo build --release --locked -q -p steward-ledger --example ledger-bench
"$CARGO_TARGET_DIR/release/examples/ledger-bench" "$@"
