#!/usr/bin/env bash
# Refreshes the vendored phishing blocklist snapshot in crates/steward-scan/data/ from the
# `eth-phishing-detect` npm package (MetaMask; DBAD licence, see THIRD_PARTY.md).
#
# Usage: scripts/fetch-phishing-feed.sh [VERSION]   (default: the latest published version)
# Needs: npm, node. Writes phishing-blocklist.txt and phishing-allowlist.txt (one domain a line,
# sorted, lowercase) and records the package version in phishing-feed.version.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$here/crates/steward-scan/data"
version="${1:-latest}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "eth-phishing-detect@$version" | tail -n 1)"
tar xzf "$tarball"
node -e '
  const fs = require("fs");
  const cfg = JSON.parse(fs.readFileSync("package/src/config.json", "utf8"));
  const clean = (list) => [...new Set(list.map((d) => String(d).trim().toLowerCase()).filter((d) => d && !d.includes(" ")))].sort();
  fs.writeFileSync(process.argv[1], clean(cfg.blacklist).join("\n") + "\n");
  fs.writeFileSync(process.argv[2], clean(cfg.whitelist).join("\n") + "\n");
  const pkg = JSON.parse(fs.readFileSync("package/package.json", "utf8"));
  fs.writeFileSync(process.argv[3], `eth-phishing-detect ${pkg.version} ${pkg.license}\n`);
' "$out/phishing-blocklist.txt" "$out/phishing-allowlist.txt" "$out/phishing-feed.version"
cp package/LICENSE "$out/LICENSE.eth-phishing-detect"
echo "blocklist: $(wc -l < "$out/phishing-blocklist.txt") domains; allowlist: $(wc -l < "$out/phishing-allowlist.txt"); $(cat "$out/phishing-feed.version")"
