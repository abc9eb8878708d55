#!/usr/bin/env bash
# Soak: a bounded mixed load against a release `steward serve` on loopback — members reading
# their own data, changing settings, messaging and probing others' data (404), advertisers
# estimating audiences, reviewers working reported cases through grants, auditors reading the
# ledger, and a dataset build in the middle (scripts/soak_load.py) — for --minutes N (default
# 10; --quick: 1 minute, 1,000 members, debug build). Reports errors (must be 0), throughput,
# latency, the server's RSS at start and end (memory flat), the ledger verifying at the end;
# answers given to non-participants are captured to a folder, and `steward canary audit` then
# searches every output (the dataset, the captured answers, the server log, a campaign report,
# the database outside sealed columns) and must find zero canaries.
#   scripts/soak.sh [--minutes N] [--quick] [--members N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
minutes=10
members=5000
profile=release
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --quick) minutes=1; members=1000; profile=debug; shift ;;
    --members) members="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
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
dir=$(mktemp -d /tmp/steward-soak.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then rm -rf "$dir"; else echo "kept $dir" >&2; fi
}
trap cleanup EXIT
db="sqlite://$dir/soak.db"
keys="$dir/steward.keys"
mkdir -p "$dir/logs" "$dir/captured" "$dir/datasets" "$dir/reports"
st() { "$steward" --db "$db" --json "$@"; }
jq_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "seeding $members members (binary $steward)" >&2
st seed --members "$members" --seed 11 --key-file "$keys" --canaries "$dir/canaries.jsonl" >/dev/null

# Ten pairs of members, each with a conversation, and a token per member.
tokens="$dir/tokens.json"
{
  echo '{"members": ['
  first=1
  for a in 1 3 5 7 9 11 13 15 17 19; do
    b=$((a + 1))
    conv=$(STEWARD_KEY_FILE="$keys" st messages send --as-member "$a" --to "$b" "soak opening $a" | jq_field '["conversation_id"]')
    for m in "$a" "$b"; do
      peer=$([ "$m" = "$a" ] && echo "$b" || echo "$a")
      t=$(st tokens create --role member --member "$m" | jq_field '["token"]')
      [ "$first" = 1 ] || echo ","
      first=0
      echo "{\"member\": $m, \"peer\": $peer, \"conversation\": $conv, \"token\": \"$t\"}"
    done
  done
  echo '],'
  for role in advertiser reviewer approver auditor; do
    t=$(st tokens create --role "$role" | jq_field '["token"]')
    echo "\"$role\": \"$t\","
  done
  echo '"estimate_path": null}'
} >"$tokens"

port=$((19500 + RANDOM % 400))
RUST_LOG=info "$steward" serve --db "$db" --addr "127.0.0.1:$port" --key-file "$keys" \
  >"$dir/logs/server.stdout.log" 2>"$dir/logs/server.log" &
server=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# Advertisers estimate over HTTP when the server has an estimate endpoint, else with the CLI.
estimate=$(curl -sf "http://127.0.0.1:$port/openapi.json" | python3 -c '
import json, sys
paths = json.load(sys.stdin).get("paths", {})
hits = [p for p, ops in paths.items() if "estimate" in p and "post" in ops]
print(hits[0] if hits else "")')
if [ -n "$estimate" ]; then
  python3 - "$tokens" "$estimate" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1])); t["estimate_path"] = sys.argv[2]
json.dump(t, open(sys.argv[1], "w"))
EOF
fi

seconds=$((minutes * 60))
echo "soak: ${minutes} min against steward serve (pid $server, port $port); estimate via ${estimate:-CLI}" >&2
python3 scripts/soak_load.py --port "$port" --pid "$server" --seconds "$seconds" \
  --tokens "$tokens" --capture "$dir/captured" --binary "$steward" --db "$db" \
  --spec datasets/profiles.toml --datasets-out "$dir/datasets" >"$dir/summary.json"
alive=1
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || alive=0
kill "$server"; wait "$server" 2>/dev/null || true; server=""

# A campaign report too is an output the audit searches.
aud=$(st ads audience create --advertiser soak --name broad 'not seniority in (cxo, owner)' | jq_field '["id"]')
camp=$(st ads campaign create --advertiser soak --name soak --audience "$aud" --budget 5 | jq_field '["id"]')
st ads campaign launch --advertiser soak "$camp" >/dev/null
st ads events simulate --campaign "$camp" --seed 3 --impressions 2000 >/dev/null
st ads report "$camp" --advertiser soak --by industry --epsilon 0.5 >"$dir/reports/campaign.json"

ledger=ok
st ledger verify --key-file "$keys" >"$dir/ledger-verify.json" || ledger=FAILED
canary=clean
st canary audit --canaries "$dir/canaries.jsonl" \
  --outputs "$dir/datasets" "$dir/captured" "$dir/logs" "$dir/reports" >"$dir/canary.json" || canary=FOUND

python3 - "$dir" "$ledger" "$canary" "$alive" <<'EOF'
import json, os, sys
d, ledger, canary, alive = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
s = json.load(open(os.path.join(d, "summary.json")))
c = json.load(open(os.path.join(d, "canary.json")))
rss = s["rss_kib_samples"]
# Start: the first sample after a tenth of the run (warm caches); end: the last.
start = next((r for t, r in rss if t >= s["seconds"] / 10), rss[0][1])
end = rss[-1][1]
growth = end / start if start else 0
load = open("/proc/loadavg").read().split()[:3]
print(f"soak {s['seconds']:.0f} s: {s['requests']} requests, {s['throughput_per_s']} req/s, "
      f"p50 {s['latency_ms']['p50']} ms, p99 {s['latency_ms']['p99']} ms; errors {s['errors']}")
for e in s["error_samples"]:
    print(f"  error: {e}")
print(f"  by kind: " + ", ".join(f"{k} {v}" for k, v in s["by_kind"].items()))
print(f"  server RSS: {rss[0][1] / 1024:.1f} MiB at 0 s, {start / 1024:.1f} MiB after warm-up, "
      f"{end / 1024:.1f} MiB at the end (x{growth:.2f}); max {max(r for _, r in rss) / 1024:.1f} MiB")
print(f"  dataset build in the middle: {s['dataset_build']}")
print(f"  server still serving at the end: {alive}")
print(f"  ledger verify: {ledger}")
print(f"  canary audit ({c['canaries']} canaries; {c['files']} files, {c['file_bytes']} bytes, "
      f"{c['decoded_values']} decoded values; database {c['db_rows']} rows): {canary}, "
      f"{len(c['findings'])} finding(s); {s['captured_responses']} captured answers to non-participants")
print(f"  load average at the end: {' '.join(load)}")
ok = s["errors"] == 0 and ledger == "ok" and canary == "clean" and alive and growth <= 1.5 \
    and s["dataset_build"] and s["dataset_build"]["exit"] == 0
print("SOAK " + ("PASSED" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF
