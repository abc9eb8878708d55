#!/usr/bin/env bash
# HTTP load on loopback with wrk (Debian's): requests/s and latency percentiles for
# `GET /api/v1/policy/explain` (the issue's goal: >= 20,000 req/s with p99 < 5 ms on 2 cores),
# a member's access history and ad-serving eligibility (the same goal in issue #9), against
# the same server's `/healthz` (no token, one database round trip) as the peer baseline, with
# the ratio. Bounded: every run lasts a fixed time against 127.0.0.1 only.
#
# Default (full): the RELEASE build, 20,000 seeded members, 15 s per endpoint.
# `--quick` (CI): the debug build CI has already made (a release build of the workspace takes
# tens of minutes on this machine), 300 members, 3 s per endpoint; its figures say only that
# the endpoints answer under load, not how fast a release server is.
# Knobs: STEWARD_BIN, STEWARD_BENCH_SECS, STEWARD_BENCH_CONNECTIONS (default 32), STEWARD_BENCH_THREADS (2),
# STEWARD_BENCH_SERVER_LOG (a file for the server's log; with
# RUST_LOG=warn,steward_server::routes::ads=debug it times every ads index refresh).
#
# To add an endpoint: one `run NAME PATH TOKEN` line below (TOKEN empty for none); make any
# token it needs with `token ...` next to the others.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
# STEWARD_BIN: a steward binary already built (skips the build; say which profile it is).
if [ "$quick" = 1 ]; then
  members=300; secs=3; profile=debug
  [ -n "${STEWARD_BIN:-}" ] || cargo build --locked -q -p steward-cli
else
  members=20000; secs=15; profile=release
  [ -n "${STEWARD_BIN:-}" ] || cargo build --release --locked -q -p steward-cli
fi
secs="${STEWARD_BENCH_SECS:-$secs}"
conns="${STEWARD_BENCH_CONNECTIONS:-32}"
threads="${STEWARD_BENCH_THREADS:-2}"
steward="${STEWARD_BIN:-$CARGO_TARGET_DIR/$profile/steward}"
# A binary given by STEWARD_BIN is reported as such: its profile is not known here.
[ -n "${STEWARD_BIN:-}" ] && profile="STEWARD_BIN ($STEWARD_BIN)"
dir=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
db="sqlite://$dir/bench.db"
"$steward" seed --members "$members" --db "$db" --key-file "$dir/steward.keys" >/dev/null
token() { "$steward" tokens create --db "$db" --json "$@" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'; }
member_token=$(token --role member --member 1)
# Ad serving: a launched campaign (targeted when the seeded network can hold a 300-member
# audience, untargeted otherwise) and an engineer token for the eligibility endpoint.
engineer_token=$(token --role engineer)
ads() { "$steward" ads --db "$db" --json "$@" | grep -o '"id": *[0-9]*' | head -1 | grep -o '[0-9]*$'; }
audience=$(ads audience create --advertiser bench --name everyone \
  "seniority in (intern, entry, associate, mid_senior, director, vp, cxo, owner)" 2>/dev/null || true)
campaign=$(ads campaign create --advertiser bench --name bench ${audience:+--audience "$audience"})
ads campaign launch --advertiser bench "$campaign" >/dev/null
port=$((19000 + RANDOM % 500))
# Logs at `warn`: the benchmark measures the server, not a terminal.
RUST_LOG="${RUST_LOG:-warn}" "$steward" serve --db "$db" --addr "127.0.0.1:$port" --key-file "$dir/steward.keys" \
  >"${STEWARD_BENCH_SERVER_LOG:-/dev/null}" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

declare -A rps
run() { # name, path, token (empty: none)
  local out
  if [ -n "$3" ]; then
    out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $3" "http://127.0.0.1:$port$2")
  else
    out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$2")
  fi
  local r p50 p99 non2xx
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-16s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$r" "$p50" "$p99" "${non2xx:-0}"
  rps[$1]=$r
}
echo "steward serve ($profile build, $members members, SQLite), wrk -t$threads -c$conns ${secs}s on loopback; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run explain "/api/v1/policy/explain?purpose=ai.training&category=member.profile.skills&jurisdiction=DE&consent=ai.training=on" "$member_token"
run access-history "/api/v1/members/1/access-history" "$member_token"
run eligibility "/api/v1/ads/eligibility?member=1&campaign=$campaign" "$engineer_token"
run healthz "/healthz" ""
for name in "${!rps[@]}"; do
  [ "$name" = healthz ] && continue
  awk -v n="$name" -v e="${rps[$name]}" -v h="${rps[healthz]}" 'BEGIN { printf "ratio %s / healthz (peer baseline): %.2f\n", n, e / h }'
done
