#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for a bounded time on the nightly toolchain,
# installing cargo-fuzz if it is missing, and prints executions per target. Fails if any
# target crashes (panics, an assertion of its oracle, a timeout or running out of memory).
#   scripts/fuzz.sh [--quick] [--seconds N] [TARGET...]
#     (default)  60 s per target
#     --quick    20 s per target: the short run .ci/run makes
#     --seconds  any other bound
# Findings are saved under fuzz/artifacts/TARGET/ (replay one with
# `cargo +nightly fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-...`); turn each into a
# regression test named after what broke. The build and the corpus live under
# $HOME/.cache/steward/ so CI on this machine reuses both (the corpus grows run after run);
# seeds come from the repository (shipped specs, policies, test imports) and fuzz/seeds/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) seconds=20; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

cache="$HOME/.cache/steward"
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-$cache/fuzz-target}"
corpus_root="${STEWARD_FUZZ_CORPUS:-$cache/fuzz-corpus}"
seed_root="$cache/fuzz-seeds"
export CARGO_TERM_COLOR=never

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (cargo +nightly); cargo-fuzz needs one" >&2
  exit 1
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  t0=$(date +%s)
  cargo install cargo-fuzz --locked
  echo "fuzz: installed cargo-fuzz in $(( $(date +%s) - t0 ))s"
fi

# One set of build flags for build and run, so `run` never rebuilds. No sanitizer: the
# workspace forbids unsafe code, so AddressSanitizer would mostly slow every execution down;
# debug assertions and overflow checks stay on (cargo-fuzz's default).
flags=(--sanitizer none --codegen-units 16)

t0=$(date +%s)
(cd fuzz && cargo +nightly fuzz build "${flags[@]}")
echo "fuzz: built every target in $(( $(date +%s) - t0 ))s"
bin_dir="$CARGO_TARGET_DIR/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

# Seeds: valid inputs a target's fuzzing starts from, rebuilt from the repository each run.
seeds_for() {
  local t=$1 dir="$seed_root/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ -d "fuzz/seeds/$t" ]; then cp fuzz/seeds/"$t"/* "$dir"/; fi
  case "$t" in
    policy_file)
      cp policies/*.toml "$dir"/
      for f in crates/steward-core/tests/data/policies/*/*.toml; do
        cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
      done ;;
    taxonomy_file) cp crates/steward-core/data/taxonomy.toml "$dir"/ ;;
    dataset_spec) cp datasets/*.toml "$dir"/ ;;
    import_line)
      # The target's input is the table's name on the first line, then the file.
      for f in crates/steward-store/tests/data/ok/*.jsonl; do
        { basename "$f" .jsonl; cat "$f"; } > "$dir/$(basename "$f" .jsonl)"
      done ;;
  esac
  echo "$dir"
}

summary=()
failed=0
passed=0
for t in "${targets[@]}"; do
  corpus="$corpus_root/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  seeds=$(seeds_for "$t")
  log="fuzz/artifacts/$t/last-run.log"
  echo "=== fuzz $t for ${seconds}s"
  set +e
  # The binary `cargo fuzz build` made, run directly: no second build when sources change.
  "$bin_dir/$t" "$corpus" "$seeds" -artifact_prefix="$root/fuzz/artifacts/$t/" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's last status line: `#N  DONE   cov: ... exec/s: X rss: ...`.
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  runs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -n 1 || true)
  rate=$(grep -oE '^stat::average_exec_per_sec: [0-9]+' "$log" | awk '{print $2}' | tail -n 1 || true)
  if [ -n "$done_line" ]; then
    runs=${done_line%%[[:space:]]*}; runs=${runs#\#}
    rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$done_line")
  fi
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$done_line")
  units=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
    passed=$((passed + 1))
    summary+=("$(printf '%-14s ok    %10s execs  %7s exec/s  cov %6s  corpus %5s' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$units")")
    echo "$t: ${runs:-?} executions in ${seconds}s (${rate:-?} exec/s)"
  else
    failed=$((failed + 1))
    summary+=("$(printf '%-14s FAIL  %10s execs  (exit %s, log %s)' "$t" "${runs:-?}" "$rc" "$log")")
    echo "$t: FAILED (exit $rc); the end of $log:"
    grep -vE '^(#[0-9]+|INFO:|MERGE|\s*Running|\s*Finished|\s*Compiling)' "$log" | tail -n 40
  fi
done

echo
echo "=== fuzz summary (${seconds}s per target; artifacts in $root/fuzz/artifacts)"
printf '%s\n' "${summary[@]}"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
