#!/usr/bin/env bash
# Crash safety: kills `steward` with SIGKILL at random points of an import, a message send, a
# dataset build, a DP campaign report and a grant approval, restarts it and checks that every
# acknowledged write is present, imports are all-or-nothing, the ledger verifies, no
# half-written dataset is visible and no sealed row is unreadable (scripts/crash_loop.py says
# exactly how). Runs on SQLite and on a fresh PostgreSQL database, and prints the iterations
# and failures per backend. Exit 1 on any failure.
#   scripts/crash-loop.sh [--iterations N] [--quick] [--members N] [--seed S]
#                         [--sqlite-only] [--postgres URL]
# --iterations is per backend (default 200); --quick runs 20 per backend on the debug build
# (CI). STEWARD_BIN overrides the binary. PostgreSQL: STEWARD_TEST_POSTGRES_URL or --postgres
# (default postgres://postgres@127.0.0.1:5432/test); a database `steward_crash_<pid>` is
# created beside it and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
iterations=200
members=1500
profile=release
seed=$(date +%s)
pg_url="${STEWARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
use_pg=1
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations="$2"; shift 2 ;;
    --quick) iterations=20; profile=debug; shift ;;
    --members) members="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --sqlite-only) use_pg=0; shift ;;
    --postgres) pg_url="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -n "${STEWARD_BIN:-}" ]; then
  steward="$STEWARD_BIN"
else
  if [ "$profile" = release ]; then
    cargo build --release --locked -q -p steward-cli
  else
    cargo build --locked -q -p steward-cli
  fi
  steward="$CARGO_TARGET_DIR/$profile/steward"
fi

pg_db=""
admin_url=""
cleanup() {
  if [ -n "$pg_db" ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

status=0
results=()
out=$(mktemp)
python3 scripts/crash_loop.py --binary "$steward" --db sqlite --iterations "$iterations" \
  --members "$members" --seed "$seed" | tee "$out" || true
results+=("$(grep '^RESULT' "$out" || echo 'RESULT sqlite setup-failed')")
if [ "$use_pg" = 1 ]; then
  if pg_isready -q -d "$pg_url" 2>/dev/null; then
    admin_url="$pg_url"
    pg_db="steward_crash_$$"
    base="${pg_url%/*}"
    psql "$admin_url" -qc "CREATE DATABASE $pg_db" >/dev/null
    python3 scripts/crash_loop.py --binary "$steward" --db "$base/$pg_db" \
      --iterations "$iterations" --members "$members" --seed "$seed" | tee "$out" || true
    results+=("$(grep '^RESULT' "$out" || echo 'RESULT postgres setup-failed')")
  else
    echo "PostgreSQL at $pg_url is not reachable: skipped (pass --sqlite-only to silence)" >&2
    results+=("RESULT postgres skipped")
    status=1
  fi
fi
rm -f "$out"
echo "crash loop (seed $seed, binary $steward):"
for r in "${results[@]}"; do
  echo "  ${r#RESULT }"
  case "$r" in
    *failures=0) ;;
    *) status=1 ;;
  esac
done
exit "$status"
