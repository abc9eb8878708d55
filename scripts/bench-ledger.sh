#!/usr/bin/env bash
# Ledger: durable appends/s with batching on SQLite and PostgreSQL, the overhead ratio against
# the same inserts without the ledger, group commit, and the time to verify the whole log.
# `--quick` for CI (100,000 entries); default 1,000,000. PostgreSQL is included when
# STEWARD_BENCH_POSTGRES_URL (or STEWARD_TEST_POSTGRES_URL) is set, or a local server answers.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
if [ -z "${STEWARD_BENCH_POSTGRES_URL:-}" ]; then
  if [ -n "${STEWARD_TEST_POSTGRES_URL:-}" ]; then
    export STEWARD_BENCH_POSTGRES_URL="$STEWARD_TEST_POSTGRES_URL"
  elif command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    export STEWARD_BENCH_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
  fi
fi
cargo build --release --locked -q -p steward-ledger --example ledger-bench
"$CARGO_TARGET_DIR/release/examples/ledger-bench" "$@"
