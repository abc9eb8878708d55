#!/usr/bin/env bash
# PII detection, Steward beside Presidio on the same labelled sentences, in one run.
#   scripts/bench-pii.sh [--quick]
# Builds `steward` (release), times `steward privacy detect` over ../shared/data/pii/pii_eval.jsonl
# (median of several passes, one thread, detection only: reading and model/list loading excluded,
# as predict_presidio.py does for Presidio), runs Presidio (spaCy en_core_web_sm) on the same file,
# scores both with the peers' score.py and prints both rows and the speed ratio.
# Throughput is reported in wall time and in the thread's CPU time (the machine is shared; CPU
# time measures the work rather than the wait for a core).
# --quick: fewer timing passes, and Presidio on the first 200 sentences only (its accuracy row is
# then over those 200; Steward is also scored on the same 200 for a like-for-like row).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1

GOLD="../shared/data/pii/pii_eval.jsonl"
PEERS_SRC="../shared/peers"
PEERS="${STEWARD_PEERS:-$HOME/.cache/steward-peers}"
OUT="${TMPDIR:-/tmp}/steward-bench-pii"
mkdir -p "$OUT"
[[ -f "$GOLD" ]] || { echo "missing $GOLD" >&2; exit 2; }

if ! [[ -x "$PEERS/presidio/bin/python" ]]; then
  echo "peers: installing into $PEERS (several minutes)" >&2
  bash "$PEERS_SRC/setup.sh" "$PEERS" >&2
fi

# STEWARD_BIN=path skips the build (e.g. to time a binary built earlier).
if [[ -z "${STEWARD_BIN:-}" ]]; then
  cargo build --release -q -p steward-cli
fi
BIN="${STEWARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/steward}"

RUNS=15
[[ $QUICK == 1 ]] && RUNS=5
PRESIDIO_GOLD="$GOLD"
if [[ $QUICK == 1 ]]; then
  head -n 200 "$GOLD" > "$OUT/gold-200.jsonl"
  PRESIDIO_GOLD="$OUT/gold-200.jsonl"
fi

echo "== steward: detect on $(wc -l < "$GOLD") sentences, $RUNS passes, median" >&2
# Both systems run single-threaded and unpinned: on a shared machine pinning to one core can
# queue behind other work, and neither side should be favoured.
"$BIN" privacy detect --jsonl "$GOLD" --repeat "$RUNS" > "$OUT/steward.jsonl" 2> "$OUT/steward-timing.json"
echo "== presidio: on $(wc -l < "$PRESIDIO_GOLD") sentences" >&2
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PEERS/presidio/bin/python" "$PEERS_SRC/pii/predict_presidio.py" "$PRESIDIO_GOLD" "$OUT/presidio.jsonl" \
  > "$OUT/presidio-timing.json" 2> "$OUT/presidio.log"

score() { python3 "$PEERS_SRC/pii/score.py" "$1" "$2" --json; }
score "$GOLD" "$OUT/steward.jsonl" > "$OUT/steward-score.json"
score "$PRESIDIO_GOLD" "$OUT/presidio.jsonl" > "$OUT/presidio-score.json"
if [[ $QUICK == 1 ]]; then
  head -n 200 "$OUT/steward.jsonl" > "$OUT/steward-200.jsonl"
  score "$PRESIDIO_GOLD" "$OUT/steward-200.jsonl" > "$OUT/steward-200-score.json"
fi

python3 - "$OUT" "$QUICK" <<'PY'
import json, sys
out, quick = sys.argv[1], sys.argv[2] == "1"
load = lambda n: json.load(open(f"{out}/{n}"))
st, pr = load("steward-timing.json"), load("presidio-timing.json")
rows = [("steward", load("steward-score.json"), st["sentences"], st["sentences_per_s"])]
if quick:
    rows.append(("steward (first 200)", load("steward-200-score.json"), 200, st["sentences_per_s"]))
rows.append(("presidio", load("presidio-score.json"), pr["sentences"], pr["sentences_per_s"]))
print(f"{'system':22s} {'sentences':>9s} {'typed P':>8s} {'typed R':>8s} {'typed F1':>8s} {'any-PII R':>9s} {'sent/s':>10s}")
for name, s, n, speed in rows:
    print(f"{name:22s} {n:9d} {s['typed_precision']:8.3f} {s['typed_recall']:8.3f} {s['typed_f1']:8.3f} {s['any_pii_recall']:9.3f} {speed:10.0f}")
cpu = st.get("sentences_per_cpu_s")
print(f"steward: {st['sentences_per_s']:.0f} sentences/s wall, {cpu or float('nan'):.0f} per CPU-second (median of {st['runs']} passes, one thread)")
print(f"speed ratio steward/presidio (wall): {st['sentences_per_s'] / pr['sentences_per_s']:.0f}x")
print("\nper gold type (recall typed / any) and per predicted type (precision):")
for name, s, _, _ in rows:
    print(f"  {name}")
    for t, v in s["by_gold_type"].items():
        print(f"    gold {t:18s} n={v['n']:5d} recall={v['recall']} any={v['any_pii_recall']}")
    for t, v in s["by_predicted_type"].items():
        print(f"    pred {t:18s} n={v['n']:5d} precision={v['precision']}")
PY
