#!/usr/bin/env bash
# HTTP load on loopback with wrk (Debian's): requests/s and latency percentiles for
# `GET /api/v1/policy/explain` (the issue's goal: >= 20,000 req/s with p99 < 5 ms on 2 cores)
# and a member's access history, against the same server's `/healthz` (no token, one
# database round trip) as the peer baseline, with the ratio. Bounded: every run lasts a fixed
# time against 127.0.0.1 only. `--quick` for CI: a 300-member database, 3 s per endpoint, the
# debug build; the default builds release, seeds 20,000 members and runs 15 s per endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward/target}"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ "$quick" = 1 ]; then
  members=300; secs=3; profile=debug
  cargo build --locked -q -p steward-cli
else
  members=20000; secs=15; profile=release
  cargo build --release --locked -q -p steward-cli
fi
steward="$CARGO_TARGET_DIR/$profile/steward"
dir=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
db="sqlite://$dir/bench.db"
"$steward" seed --members "$members" --db "$db" --key-file "$dir/steward.keys" >/dev/null
token=$("$steward" tokens create --role member --member 1 --db "$db" --json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
port=$((19000 + RANDOM % 500))
"$steward" serve --db "$db" --addr "127.0.0.1:$port" --key-file "$dir/steward.keys" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

run() { # name, path, auth?
  local out
  if [ "$3" = auth ]; then
    out=$(wrk -t2 -c32 -d"${secs}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$2")
  else
    out=$(wrk -t2 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port$2")
  fi
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-16s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" >&2
  echo "$rps"
}
echo "steward serve ($profile build, $members members, SQLite), wrk -t2 -c32 ${secs}s on loopback"
explain=$(run explain "/api/v1/policy/explain?purpose=ai.training&category=member.profile.skills&jurisdiction=DE&consent=ai.training=on" auth)
history=$(run access-history "/api/v1/members/1/access-history" auth)
health=$(run healthz "/healthz" none)
awk -v e="$explain" -v h="$health" -v a="$history" 'BEGIN {
  printf "ratio explain / healthz (peer baseline): %.2f\n", e / h;
  printf "ratio access-history / healthz: %.2f\n", a / h }'
