#!/usr/bin/env bash
# Store benchmark: seed, import and gated-read throughput with peak memory, on SQLite and (when
# reachable) PostgreSQL, each beside a peer doing the same work with straightforward SQL.
#   scripts/bench-store.sh [--quick]      quick: 5,000 members; full: 100,000
# PostgreSQL: STEWARD_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# skipped when it cannot be reached.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
members=100000
[[ "${1:-}" == "--quick" ]] && members=5000
pg_url="${STEWARD_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --release -q -p steward-store --example bench_store
bin="$CARGO_TARGET_DIR/release/examples/bench_store"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

declare -A R
run() { # name, command...
  local name="$1"; shift
  local line
  line="$("$@" | tee "$work/$name.log" | grep '^RESULT' | tail -1)"
  grep -v '^RESULT' "$work/$name.log" || true
  R[$name]="$line"
}
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"${R[$1]}"; }

echo "== SQLite, $members members"
run sqlite-seed "$bin" seed "sqlite://$work/seed.db" "$members"
"$bin" dump "sqlite://$work/seed.db" "$work/dump"
run sqlite-import "$bin" import "sqlite://$work/import.db" "$work/dump"
run sqlite-plain "$bin" plain-insert "sqlite://$work/plain.db" "$work/dump"
run sqlite-gate "$bin" gate "sqlite://$work/seed.db"
run sqlite-peer "$bin" peer-read "sqlite://$work/seed.db"
backends=(sqlite)

if "$bin" drop-schema "$pg_url" bench_probe >/dev/null 2>&1; then
  echo "== PostgreSQL, $members members"
  for s in bench_seed bench_import bench_plain; do "$bin" drop-schema "$pg_url" "$s"; done
  run postgres-seed "$bin" seed "$pg_url" "$members" bench_seed
  run postgres-import "$bin" import "$pg_url" "$work/dump" bench_import
  run postgres-plain "$bin" plain-insert "$pg_url" "$work/dump" bench_plain
  sep='?'; [[ "$pg_url" == *\?* ]] && sep='&'
  seed_url="${pg_url}${sep}options=-csearch_path%3Dbench_seed"
  run postgres-gate "$bin" gate "$seed_url"
  run postgres-peer "$bin" peer-read "$seed_url"
  for s in bench_seed bench_import bench_plain; do "$bin" drop-schema "$pg_url" "$s"; done
  backends+=(postgres)
else
  echo "== PostgreSQL not reachable at $pg_url: skipped"
fi

echo
printf '%-9s %-13s %10s %9s %12s %9s\n' backend phase rows seconds rows/s peak-MiB
for b in "${backends[@]}"; do
  for p in seed import plain gate peer; do
    k="$b-$p"
    printf '%-9s %-13s %10s %9s %12s %9s\n' "$b" "$(field "$k" phase)" "$(field "$k" rows)" \
      "$(field "$k" seconds)" "$(field "$k" rows_per_s)" "$(field "$k" peak_mib)"
  done
  imp=$(field "$b-import" rows_per_s); pl=$(field "$b-plain" rows_per_s)
  g=$(field "$b-gate" rows_per_s); pr=$(field "$b-peer" rows_per_s)
  awk -v b="$b" -v i="$imp" -v p="$pl" -v g="$g" -v r="$pr" 'BEGIN {
    printf "%s: import (validate + seal + upsert) runs at %.2fx the plain-INSERT peer; gated ai.training read at %.2fx the plain-SQL peer\n", b, i/p, g/r }'
done
