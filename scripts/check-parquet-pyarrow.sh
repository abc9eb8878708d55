#!/usr/bin/env bash
# Opt-in check that built datasets round-trip through pyarrow (row count, schema, a SHA-256 of
# every value), an implementation that is not ours. Installs the peers first if asked:
#   scripts/check-parquet-pyarrow.sh [--setup]
# Without --setup it needs pyarrow in a peers venv (../shared/peers/setup.sh; STEWARD_PEERS,
# default ~/.cache/steward-peers) or STEWARD_PYARROW_PYTHON; a missing pyarrow fails it here,
# whereas `cargo test` (scripts/test) skips the same test with a printed reason.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ "${1:-}" == "--setup" ]]; then
  bash ../shared/peers/setup.sh "${STEWARD_PEERS:-$HOME/.cache/steward-peers}"
fi
export STEWARD_REQUIRE_PYARROW=1
exec cargo test -p steward-datasets --test pyarrow_roundtrip -- --nocapture
