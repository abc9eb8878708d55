#!/usr/bin/env bash
# Vault and scanner benchmark: seal/open MB/s against raw AES-256-GCM on the same buffers,
# scanner messages/s, and message ingest (scan + seal + store) against plaintext ingest on
# SQLite, each with its ratio; the real send path both message by message (`send_message`) and
# batched (`send_batch`, one send session per transaction). `--quick` finishes in seconds once
# built (CI); `--send-only` runs just the send path, `--scan-only` just the scanner (for profiling).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
args=()
for a in "$@"; do
  case "$a" in
    --quick|--send-only|--scan-only) args+=("$a") ;;
    *) echo "usage: $0 [--quick] [--send-only | --scan-only]" >&2; exit 2 ;;
  esac
done
cargo bench --quiet -p steward-vault --bench vault -- "${args[@]}"
