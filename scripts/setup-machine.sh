#!/usr/bin/env bash
# Brings this machine to what Steward's tests need, idempotently: PostgreSQL running on
# 127.0.0.1:5432 (trust auth) and, when asked, the Python peers used by the benchmarks.
# Called by scripts/test and .ci/run; safe to run again.
set -euo pipefail

want_peers=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --peers) want_peers=1 ;;
    --browser) want_browser=1 ;;
    *) echo "usage: $0 [--peers] [--browser]" >&2; exit 2 ;;
  esac
done

# PostgreSQL: the machine kind ships it; start the cluster if it is down.
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
    if [ -n "$version" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
  fi
fi

# Browser tests: Debian's Chromium (no browser download from elsewhere) and Node for Playwright.
if [ "$want_browser" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  command -v node >/dev/null 2>&1 || { echo "node is required for the browser tests" >&2; exit 1; }
fi

if [ "$want_peers" = 1 ]; then
  peers_dir="${STEWARD_PEERS_DIR:-$HOME/.cache/steward-peers}"
  if [ ! -x "$peers_dir/presidio/bin/python" ] || [ ! -x "$peers_dir/tabular/bin/python" ] || [ ! -x "$peers_dir/dp/bin/python" ]; then
    bash ../shared/peers/setup.sh "$peers_dir"
  fi
  # The OpenDP peer (scripts/bench-dp-opendp.py) uses OpenDP's Polars front end, which the
  # shared setup does not install.
  if ! "$peers_dir/dp/bin/python" -c "import polars, pyarrow" 2>/dev/null; then
    "$peers_dir/dp/bin/pip" install -q "polars==1.36.1" pyarrow
  fi
fi
