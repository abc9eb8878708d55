//! Benchmarks that run Steward and a peer on the same input in one run and print the ratio.
//! Each benchmark is a binary under `src/bin/` with a `--quick` mode for CI and a full mode
//! for `scripts/bench-*.sh`. Peers that are Rust crates (Cedar) are dependencies of this
//! crate only, so they never enter the product's dependency graph.

/// Median of `samples` (which it sorts); 0 for none.
pub fn median(samples: &mut [f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
