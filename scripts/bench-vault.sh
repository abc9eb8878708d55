#!/usr/bin/env bash
# Vault and scanner benchmark: seal/open MB/s against raw AES-256-GCM on the same buffers,
# scanner messages/s, and message ingest (scan + seal + store) against plaintext ingest on
# SQLite, each with its ratio. `--quick` finishes in seconds once built (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
args=()
if [ "${1:-}" = "--quick" ]; then args+=(--quick); fi
cargo bench --quiet -p steward-vault --bench vault -- "${args[@]}"
