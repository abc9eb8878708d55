#!/usr/bin/env bash
# Dataset build benchmark on seeded SQLite networks, with a peer on the same database file.
#
#   scripts/bench-datasets.sh --quick      2,000 members: every shipped spec (seconds; CI)
#   scripts/bench-datasets.sh              100,000 and 1,000,000 members: `profiles` and
#                                          `public_posts`
#   scripts/bench-datasets.sh --members N  one size, `profiles` and `public_posts`
#
# Ours: `steward datasets build` as a library call (gate for ai.training, top skills and
# education level, optimal k=5/l=2 generalization confirmed by the independent checker,
# per-build pseudonyms, zstd Parquet, datasheet with bias report and linkage attack, registry
# row and ledger entry), each build in its own process so its peak RSS is its own; the
# build's stages print to stderr as `STAGE` lines (seconds, peak RSS so far).
# Peer: a plain export of the same profile columns from the same SQLite file with Python's
# sqlite3 and pyarrow (zstd Parquet) — no gate, no consent, no anonymization, no datasheet:
# the floor any pipeline pays to get these rows into Parquet. The ratio is ours / peer.
# pyarrow comes from the peers' `presidio` (or `dp`) venv (../shared/peers/setup.sh; STEWARD_PEERS);
# without it the peer column is skipped with a message.
# Seeded networks are kept in STEWARD_BENCH_DIR (default ~/.cache/steward/bench-datasets):
# seeding 1,000,000 members takes minutes and ~10 GB of disk, once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
SIZES=(100000 1000000)
if [[ "${1:-}" == "--quick" ]]; then
  QUICK=1
  SIZES=(2000)
elif [[ "${1:-}" == "--members" ]]; then
  SIZES=("$2")
fi
PEERS="${STEWARD_PEERS:-$HOME/.cache/steward-peers}"
PY="${STEWARD_PYARROW_PYTHON:-$PEERS/presidio/bin/python}"
# The `dp` venv carries pyarrow too (pandas, duckdb): use it when `presidio` is not installed.
if [[ -z "${STEWARD_PYARROW_PYTHON:-}" && ! -x "$PY" && -x "$PEERS/dp/bin/python" ]]; then
  PY="$PEERS/dp/bin/python"
fi
HAVE_PEER=1
if ! [[ -x "$PY" ]] || ! "$PY" -c "import pyarrow.parquet" 2>/dev/null; then
  HAVE_PEER=0
  echo "bench-datasets: no pyarrow at $PY (run 'bash ../shared/peers/setup.sh'): peer column skipped" >&2
fi
if [[ $QUICK == 1 ]]; then
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/bench-datasets.XXXXXX")"
else
  DIR="${STEWARD_BENCH_DIR:-$HOME/.cache/steward/bench-datasets}"
  mkdir -p "$DIR"
fi
OUT="$(mktemp -d "${TMPDIR:-/tmp}/bench-datasets-out.XXXXXX")"
cleanup() { rm -rf "$OUT"; if [[ $QUICK == 1 ]]; then rm -rf "$DIR"; fi; }
trap cleanup EXIT

PEER="$OUT/peer.py"
cat > "$PEER" <<'PYEOF'
# Plain export of the profiles columns: sqlite3 -> pyarrow -> zstd Parquet, no privacy step.
import sqlite3, sys, time
import pyarrow as pa, pyarrow.parquet as pq
db, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
sql = """
WITH edu AS (
  SELECT member_id, MAX(CASE lower(degree)
      WHEN 'phd' THEN 4 WHEN 'doctorate' THEN 4 WHEN 'dphil' THEN 4
      WHEN 'msc' THEN 3 WHEN 'ma' THEN 3 WHEN 'mba' THEN 3 WHEN 'meng' THEN 3 WHEN 'master' THEN 3
      WHEN 'bsc' THEN 2 WHEN 'ba' THEN 2 WHEN 'beng' THEN 2 WHEN 'bachelor' THEN 2
      WHEN 'diploma' THEN 1 WHEN 'associate' THEN 1 ELSE 0 END) AS r
  FROM education GROUP BY member_id),
ranked AS (
  SELECT member_id, skill, ROW_NUMBER() OVER (
    PARTITION BY member_id ORDER BY endorsements DESC, skill) AS n FROM skills),
top AS (
  SELECT member_id, group_concat(skill, ';') AS s
  FROM (SELECT * FROM ranked WHERE n <= 3 ORDER BY member_id, n) GROUP BY member_id)
SELECT m.member_id, m.region, m.industry, m.job_function, m.seniority, m.years_experience,
  CASE edu.r WHEN 4 THEN 'doctorate' WHEN 3 THEN 'master' WHEN 2 THEN 'bachelor'
    WHEN 1 THEN 'diploma' WHEN 0 THEN 'other' ELSE 'none' END,
  COALESCE(top.s, '')
FROM members m LEFT JOIN edu ON edu.member_id = m.member_id
  LEFT JOIN top ON top.member_id = m.member_id
ORDER BY m.member_id
"""
names = ["member_id", "region", "industry", "job_function", "seniority",
         "years_experience", "education_level", "top_skills"]
cols = [[] for _ in names]
n = 0
for row in con.execute(sql):
    for i, v in enumerate(row):
        cols[i].append("unknown" if v is None else str(v))
    n += 1
table = pa.table({k: pa.array(v, pa.string()) for k, v in zip(names, cols)})
pq.write_table(table, out, compression="zstd", compression_level=3, row_group_size=65536)
secs = time.perf_counter() - t
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"PEER rows={n} seconds={secs:.3f} rows_per_s={n / secs:.0f} peak_rss_mib={rss:.0f}")
PYEOF

bench() { cargo bench -q -p steward-datasets --bench build -- "$@"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }

echo "== building the benchmark (release)" >&2
cargo bench -q -p steward-datasets --bench build --no-run >&2

for n in "${SIZES[@]}"; do
  db="$DIR/net-$n.db"
  echo "== $n members"
  bench seed --members "$n" --db "$db"
  specs=(profiles public_posts)
  if [[ $QUICK == 1 ]]; then
    specs=(profiles public_posts engagement_sequences career_transitions)
  fi
  for spec in "${specs[@]}"; do
    res="$(bench build --db "$db" --spec "$spec" --out "$OUT/ours" | grep '^RESULT')"
    echo "$res"
    if [[ $spec == profiles && $HAVE_PEER == 1 ]]; then
      peer="$("$PY" "$PEER" "$db" "$OUT/peer-$n.parquet")"
      echo "$peer"
      ours_s="$(field seconds "$res")"
      peer_s="$(field seconds "$peer")"
      python3 -c "import sys; o, p = float(sys.argv[1]), float(sys.argv[2]); print(f'RATIO profiles members=$n ours={o:.2f}s peer={p:.2f}s ours/peer={o / p:.2f}x')" "$ours_s" "$peer_s"
    fi
  done
done
