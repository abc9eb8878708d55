#!/usr/bin/env bash
# The web UI in headless Chromium (Debian's package) driven by playwright-core. Installs
# both if missing, builds steward, runs tests/browser/*.test.js; screenshots land in
# tests/browser/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
scripts/setup-machine.sh --browser
cargo build --locked -q -p steward-cli
(cd tests/browser && npm ci --no-audit --no-fund --silent)
export STEWARD_BIN="$CARGO_TARGET_DIR/debug/steward"
cd tests/browser && node --test
