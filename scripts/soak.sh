#!/usr/bin/env bash
# Soak: a bounded mixed load against a release `steward serve` on loopback — members reading
# their own data, changing settings, messaging and probing others' data (404), advertisers
# estimating audiences, reviewers working reported cases through grants, auditors reading the
# ledger, and a dataset build in the middle (scripts/soak_load.py) — for --minutes N (default
# 10; --quick: 1 minute, 1,000 members, debug build). Reports errors (must be 0), throughput,
# latency, the ledger verifying at the end, and the server's RSS at start, after warm-up (the
# first minute, or a tenth of a shorter run) and at the end: memory is flat when the end is at
# most 10 % above the warm-up figure. Warm-up fills what is meant to fill — SQLite's page cache
# (bounded at 2 MiB), the token cache, the allocator's arenas of the blocking threads — so
# growth after it is what a longer run would keep adding. Answers given to non-participants
# are captured to a folder, and `steward canary audit` then searches every output (the
# dataset, the captured answers, the server log, a campaign report, the database outside
# sealed columns) and must find zero canaries.
#   scripts/soak.sh [--minutes N] [--quick] [--members N] [--keep]
# --quick (CI) prints the RSS figures and verdict but does not fail on them: a one-minute debug
# run has no settled warm-up to compare with. STEWARD_SOAK_WRAP="heaptrack -o FILE" (any
# command prefix) runs the server under a profiler; RSS is still read from the server itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
minutes=10
members=5000
profile=release
keep=0
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --quick) minutes=1; members=1000; profile=debug; quick=1; shift ;;
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
serving=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$serving" "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
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
# shellcheck disable=SC2086 # the wrapper is a command prefix, split into words on purpose
RUST_LOG=info ${STEWARD_SOAK_WRAP:-} "$steward" serve --db "$db" --addr "127.0.0.1:$port" \
  --key-file "$keys" >"$dir/logs/server.stdout.log" 2>"$dir/logs/server.log" &
server=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# The process whose RSS is sampled: the server itself, not a wrapper around it.
serving=$server
if [ -n "${STEWARD_SOAK_WRAP:-}" ]; then
  serving=$(python3 - "$server" "$steward" <<'EOF'
import os, sys
root, binary = int(sys.argv[1]), os.path.realpath(sys.argv[2])
todo, seen = [root], []
while todo:
    pid = todo.pop()
    seen.append(pid)
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                todo += [int(c) for c in f.read().split()]
    except OSError:
        pass
print(next((p for p in seen if os.path.realpath(f"/proc/{p}/exe") == binary), root))
EOF
)
fi
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
echo "soak: ${minutes} min against steward serve (pid $serving, port $port); estimate via ${estimate:-CLI}" >&2
python3 scripts/soak_load.py --port "$port" --pid "$serving" --seconds "$seconds" \
  --tokens "$tokens" --capture "$dir/captured" --binary "$steward" --db "$db" \
  --spec datasets/profiles.toml --datasets-out "$dir/datasets" >"$dir/summary.json"
alive=1
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || alive=0
# The server itself (a wrapper such as heaptrack then writes its profile as it exits).
kill "$serving"; wait "$server" 2>/dev/null || true; server=""

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

python3 - "$dir" "$ledger" "$canary" "$alive" "$quick" <<'EOF'
import json, os, sys
d, ledger, canary, alive = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
quick = sys.argv[5] == "1"
s = json.load(open(os.path.join(d, "summary.json")))
c = json.load(open(os.path.join(d, "canary.json")))
rss = s["rss_kib_samples"]
parts = s["rss_parts_kib"]
# After warm-up: the first sample at or after the first minute (a tenth of a shorter run);
# end: the sample taken as the load stopped.
warmup_s = min(60.0, s["seconds"] / 10)
warm_i = next((i for i, (t, _) in enumerate(rss) if t >= warmup_s), 0)
start = rss[warm_i][1]
end = rss[-1][1]
growth = end / start if start else 0
# Flat: at most 10 % above the warm-up figure.
FLAT = 1.10
flat = growth <= FLAT
mib = lambda k: f"{k / 1024:.1f}"
load = open("/proc/loadavg").read().split()[:3]
print(f"soak {s['seconds']:.0f} s: {s['requests']} requests, {s['throughput_per_s']} req/s, "
      f"p50 {s['latency_ms']['p50']} ms, p99 {s['latency_ms']['p99']} ms; errors {s['errors']}")
for e in s["error_samples"]:
    print(f"  error: {e}")
print(f"  by kind: " + ", ".join(f"{k} {v}" for k, v in s["by_kind"].items()))
print(f"  server RSS: {mib(rss[0][1])} MiB at 0 s, {mib(start)} MiB after warm-up "
      f"({rss[warm_i][0]:.0f} s), {mib(end)} MiB at the end ({rss[-1][0]:.0f} s); "
      f"max {mib(max(r for _, r in rss))} MiB")
for label, p in (("warm-up", parts[warm_i]), ("end", parts[-1])):
    print(f"    {label}: anonymous {mib(p['anon'])} MiB, file {mib(p['file'])} MiB, "
          f"shared {mib(p['shmem'])} MiB")
verdict = "flat" if flat else "NOT flat"
judged = " (quick mode: printed, not judged)" if quick else ""
anon = parts[-1]["anon"] / parts[warm_i]["anon"] if parts[warm_i]["anon"] else 0
print(f"  memory: end / after warm-up = x{growth:.3f} (flat: <= x{FLAT:.2f}): {verdict}{judged}; "
      f"anonymous alone x{anon:.3f}")
print(f"  dataset build in the middle: {s['dataset_build']}")
print(f"  server still serving at the end: {alive}")
print(f"  ledger verify: {ledger}")
print(f"  canary audit ({c['canaries']} canaries; {c['files']} files, {c['file_bytes']} bytes, "
      f"{c['decoded_values']} decoded values; database {c['db_rows']} rows): {canary}, "
      f"{len(c['findings'])} finding(s); {s['captured_responses']} captured answers to non-participants")
print(f"  load average at the end: {' '.join(load)}")
ok = s["errors"] == 0 and ledger == "ok" and canary == "clean" and alive \
    and (flat or quick) and s["dataset_build"] and s["dataset_build"]["exit"] == 0
print("SOAK " + ("PASSED" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF
