#!/usr/bin/env bash
# API robustness: schemathesis (PyPI, in a venv under ~/.cache) generates requests from
# /openapi.json against a seeded server on loopback, as an admin and as a member, and fails on
# any 5xx or any response that violates the documented schema. DELETE operations (erasure,
# token revocation) are left out: they would end the run's own tokens.
#
# Default: 25 examples per operation, every phase (STEWARD_SCHEMA_EXAMPLES to change).
# `--quick` (CI): the coverage and fuzzing phases, 10 examples per operation, the whole run cut off
# after STEWARD_SCHEMA_BUDGET seconds (default 240) — a timeout fails the script, so a slow run
# is seen, not silently shortened.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
venv="${STEWARD_SCHEMATHESIS_VENV:-$HOME/.cache/steward-schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis>=4,<5"
fi
# STEWARD_BIN: a steward binary already built (skips the debug build).
if [ -z "${STEWARD_BIN:-}" ]; then cargo build --locked -q -p steward-cli; fi
steward="${STEWARD_BIN:-$CARGO_TARGET_DIR/debug/steward}"
dir=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
db="sqlite://$dir/api.db"
"$steward" seed --members 200 --db "$db" --key-file "$dir/steward.keys" >/dev/null
token() { "$steward" tokens create --db "$db" --json "$@" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'; }
port=$((19500 + RANDOM % 400))
RUST_LOG="${RUST_LOG:-warn}" "$steward" serve --db "$db" --addr "127.0.0.1:$port" --key-file "$dir/steward.keys" >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
if [ "$quick" = 1 ]; then
  examples="${STEWARD_SCHEMA_EXAMPLES:-10}"
  phases=(--phases coverage,fuzzing)
  budget="${STEWARD_SCHEMA_BUDGET:-240}"
else
  examples="${STEWARD_SCHEMA_EXAMPLES:-25}"
  phases=()
  budget=0
fi
deadline=$(( $(date +%s) + budget ))
status=0
for who in "--role admin" "--role member --member 1"; do
  # shellcheck disable=SC2086
  t=$(token $who)
  echo "=== schemathesis as ${who#--role }, $examples examples per operation"
  limit=()
  if [ "$budget" -gt 0 ]; then
    left=$(( deadline - $(date +%s) ))
    [ "$left" -gt 10 ] || { echo "time budget of ${budget}s used up" >&2; exit 1; }
    limit=(timeout "$left")
  fi
  "${limit[@]}" "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $t" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" \
    "${phases[@]}" \
    --exclude-method DELETE || status=$?
  if [ "$status" = 124 ]; then echo "schemathesis ran past the ${budget}s budget" >&2; fi
  [ "$status" = 0 ] || break
done
if [ "$status" != 0 ] && grep -q '"level":"ERROR"' "$dir/server.log"; then
  echo "--- server errors:" >&2
  grep '"level":"ERROR"' "$dir/server.log" | tail -20 >&2
fi
exit "$status"
