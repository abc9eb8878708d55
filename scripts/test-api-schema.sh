#!/usr/bin/env bash
# API robustness: schemathesis (PyPI, in a venv under ~/.cache) generates requests from
# /openapi.json against a seeded server on loopback, as an admin and as a member, and fails on
# any 5xx or any response that violates the documented schema. Bounded example count
# (STEWARD_SCHEMA_EXAMPLES, default 25 per operation).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
venv="${STEWARD_SCHEMATHESIS_VENV:-$HOME/.cache/steward-schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis>=4,<5"
fi
cargo build --locked -q -p steward-cli
steward="$CARGO_TARGET_DIR/debug/steward"
dir=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
db="sqlite://$dir/api.db"
"$steward" seed --members 200 --db "$db" --key-file "$dir/steward.keys" >/dev/null
token() { "$steward" tokens create --db "$db" --json "$@" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'; }
port=$((19500 + RANDOM % 400))
"$steward" serve --db "$db" --addr "127.0.0.1:$port" --key-file "$dir/steward.keys" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
for who in "--role admin" "--role member --member 1"; do
  # shellcheck disable=SC2086
  t=$(token $who)
  echo "=== schemathesis as ${who#--role }"
  "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $t" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${STEWARD_SCHEMA_EXAMPLES:-25}" \
    --exclude-method DELETE
done
