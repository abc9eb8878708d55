#!/usr/bin/env bash
# Ads benchmark: audience estimates, eligibility checks, DP grouped counts against a peer.
#
#   scripts/bench-ads.sh --quick      5,000 members, 50,000 events (seconds; CI)
#   scripts/bench-ads.sh              1,000,000 members, 1,000,000 events
#   scripts/bench-ads.sh --members N  N members, 1,000,000 events (combines with --quick)
#   scripts/bench-ads.sh --dp-only    only the DP grouped counts and their peers, on the events
#                                     (1,000,000, or 50,000 with --quick): no members are seeded
#
# The seeded SQLite file is kept in $STEWARD_BENCH_DIR (default ~/.cache/steward/bench-ads) and
# reused by later runs: seeding 1,000,000 members takes minutes, the measurements seconds.
#
# Ours (crates/steward-ads/benches/ads.rs, bench profile):
#   - audience estimate, end to end from the expression text: read lock, parse, count on the
#     roaring index built through the gate, canonical form, consistent (keyed-hash) noise and
#     rounding, nothing cached across calls, median of 1001; peer: the equivalent SQL COUNT on
#     the same SQLite file from a covering index (industry, seniority, region) after ANALYZE
#     (no gate, no consent, no noise; its query plan is printed), median of 51;
#     ratio = peer / ours. A second line splits our time into its steps.
#   - apply_change: one member's profile/settings change applied to the index (a gate read of
#     that member only), median of 21, beside the full build.
#   - matched audience: a list of 100,000 salted hashes (the most one upload may carry)
#     matched against the emails the gate releases (`ads.third_party` on; the seed turns it
#     off for 20 %), hashed in parallel batches and compared as bytes, median of 5, beside the
#     way it was done before: the same gate pass hashing each email on one thread and
#     comparing hex (median of 3); ratio = before / ours. The seeded file is
#     `bench-ads-v2-N.db` (this seed).
#   - eligibility: is_eligible(member, campaign) calls per second.
#   - DP grouped counts: contribution bounding (4 partitions x 10), discrete Laplace (ε = 1),
#     partition selection (δ = 1e-6), on the same events CSV as the peers: PipelineDP's
#     LocalBackend (../shared/peers/dp/grouped_counts.py) and OpenDP's Python bindings, its
#     Polars front end (scripts/bench-dp-opendp.py, given our noise scale and threshold, which
#     its own privacy map checks), both in the venv `dp` from ../shared/peers/setup.sh
#     (STEWARD_PEERS; OpenDP also needs polars and pyarrow there). All time in-memory rows to
#     released groups (ours: median of 11, reading the rows in place); ratio = peer seconds /
#     ours.
#   - accuracy: mean absolute error against the true bounded counts at ε ∈ {0.1, 0.5, 1, 2}.
# Without a peer in the venv, its lines are skipped with a message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MEMBERS=1000000
EVENTS=1000000; EMEMBERS=100000; NGROUPS=2000
QUICK=0
DP_ONLY=0
ASKED_MEMBERS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; MEMBERS=5000; EVENTS=50000; EMEMBERS=5000; NGROUPS=200; shift ;;
    --members)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "bench-ads: --members needs a number" >&2; exit 2; }
      ASKED_MEMBERS="$2"; shift 2 ;;
    --dp-only) DP_ONLY=1; shift ;;
    *) echo "bench-ads: unknown option $1 (--quick, --members N, --dp-only)" >&2; exit 2 ;;
  esac
done
[[ -n "$ASKED_MEMBERS" ]] && MEMBERS="$ASKED_MEMBERS"
PEERS="${STEWARD_PEERS:-$HOME/.cache/steward-peers}"
PY="$PEERS/dp/bin/python"
PEER_SCRIPT="$(cd .. && pwd)/shared/peers/dp/grouped_counts.py"
[[ -f "$PEER_SCRIPT" ]] || PEER_SCRIPT="${STEWARD_SHARED:-../shared}/peers/dp/grouped_counts.py"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/bench-ads.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
if [[ $QUICK == 0 ]]; then
  DBDIR="${STEWARD_BENCH_DIR:-$HOME/.cache/steward/bench-ads}"; mkdir -p "$DBDIR"
else
  DBDIR="$OUT"
fi

# The events file: the peer's own generator (same seed) so both sides read the same rows.
EV="$OUT/events.csv"
GEN="import random, csv
rnd = random.Random(1)
with open('$EV', 'w', newline='') as f:
    w = csv.writer(f); w.writerow(['member_id', 'group'])
    for _ in range($EVENTS):
        w.writerow([rnd.randrange($EMEMBERS), f'g{int(rnd.paretovariate(1.2)) % $NGROUPS}'])"
python3 -c "$GEN"

if [[ $DP_ONLY == 1 ]]; then
  cargo bench -q -p steward-ads --bench ads -- --events "$EV" | tee "$OUT/ours.jsonl"
else
  cargo bench -q -p steward-ads --bench ads -- --members "$MEMBERS" --dir "$DBDIR" --events "$EV" | tee "$OUT/ours.jsonl"
fi

: > "$OUT/peers.jsonl"
if [[ -x "$PY" ]] && "$PY" -c "import pipeline_dp" 2>/dev/null && [[ -f "$PEER_SCRIPT" ]]; then
  "$PY" "$PEER_SCRIPT" "$EV" --epsilon 1.0 --max-partitions 4 --max-per-partition 10 | tee -a "$OUT/peers.jsonl"
else
  echo "bench-ads: no PipelineDP at $PY (run 'bash ../shared/peers/setup.sh'): peer skipped" >&2
fi
if [[ -x "$PY" ]] && "$PY" -c "import opendp, polars, pyarrow" 2>/dev/null; then
  read -r SCALE THRESHOLD < <(python3 -c '
import json, sys
o = next(x for x in map(json.loads, filter(str.strip, open(sys.argv[1]))) if x.get("system") == "steward")
print(o["scale"], o["threshold"])' "$OUT/ours.jsonl")
  "$PY" -W ignore scripts/bench-dp-opendp.py "$EV" --scale "$SCALE" --threshold "$THRESHOLD" \
    --epsilon 1.0 --delta 1e-6 --max-partitions 4 --max-per-partition 10 | tee -a "$OUT/peers.jsonl"
else
  echo "bench-ads: no OpenDP with polars and pyarrow at $PY ('$PEERS/dp/bin/pip install \"opendp[polars]\"'): peer skipped" >&2
fi
python3 - "$OUT/ours.jsonl" "$OUT/peers.jsonl" <<'PYEOF'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peers = {x["system"]: x for x in (json.loads(l) for l in open(sys.argv[2]) if l.strip())}
o = next(x for x in ours if x.get("system") == "steward")
line = {"bench": "dp_grouped_counts", "events": o["events"], "steward_s": o["seconds"]}
released = {"steward": o["groups_released"]}
for name, key in (("pipeline-dp", "pipeline_dp"), ("opendp", "opendp")):
    p = peers.get(name)
    if p:
        line[f"{key}_s"] = p["seconds"]
        line[f"ratio_{key}"] = round(p["seconds"] / max(o["seconds"], 1e-9), 1)
        released[key] = p["groups_released"]
line["groups_released"] = released
print(json.dumps(line))
PYEOF
