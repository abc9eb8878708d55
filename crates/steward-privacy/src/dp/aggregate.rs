//! Differentially private grouped counts: contribution bounding per member, consistent noise
//! per cell, thresholds that suppress small counts, and post-processing for consistency.
//!
//! Bounding comes first because sensitivity is a promise about one member: each member keeps
//! at most `max_partitions` partitions (the first ones met, a function of their own data only)
//! and at most `max_per_partition` contributions in each, so one member moves the vector of
//! counts by at most `max_partitions · max_per_partition` in L1 — the discrete Laplace's
//! sensitivity. Each cell's noise comes from its own canonical question (the query's fields
//! plus the cell), so the same report asked twice is the same report, cell by cell.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use super::mechanism::DiscreteLaplace;
use super::noise::{CanonicalQuery, NoiseKey};

/// How much one member may contribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContributionBound {
    pub max_partitions: u32,
    pub max_per_partition: u32,
}

impl ContributionBound {
    /// The L1 sensitivity of the bounded counts.
    pub fn l1(&self) -> u64 {
        u64::from(self.max_partitions) * u64::from(self.max_per_partition)
    }
}

/// Counts per partition after bounding each member's contributions.
pub fn bounded_counts<K, I>(rows: I, bound: ContributionBound) -> BTreeMap<K, i64>
where
    K: Ord + Hash + Clone,
    I: IntoIterator<Item = (u64, K)>,
{
    // member → (partitions kept, in first-seen order, with their counts)
    let mut per_member: HashMap<u64, Vec<(K, u32)>> = HashMap::new();
    for (member, key) in rows {
        let kept = per_member.entry(member).or_default();
        if let Some(slot) = kept.iter_mut().find(|(k, _)| *k == key) {
            if slot.1 < bound.max_per_partition {
                slot.1 += 1;
            }
        } else if kept.len() < bound.max_partitions as usize && bound.max_per_partition > 0 {
            kept.push((key, 1));
        }
    }
    let mut counts: BTreeMap<K, i64> = BTreeMap::new();
    for kept in per_member.into_values() {
        for (k, n) in kept {
            *counts.entry(k).or_insert(0) += i64::from(n);
        }
    }
    counts
}

/// What to do with cells of a known domain whose noisy count is small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Release every cell of the domain (zero-count cells included, so absence says nothing).
    None,
    /// Suppress cells whose noisy count is below this (post-processing, free of cost).
    Suppress(i64),
}

/// A released cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell<K> {
    pub key: K,
    /// The noisy count; `None` when suppressed by the threshold.
    pub value: Option<i64>,
}

/// Noisy counts for every key of a known `domain` (keys outside it are dropped; keys without
/// rows count 0), each with noise from `query` + the cell's key, clamped at zero, and
/// thresholded.
pub fn release_known_domain<K>(
    counts: &BTreeMap<K, i64>,
    domain: &[K],
    mechanism: &DiscreteLaplace,
    key: &NoiseKey,
    query: &CanonicalQuery,
    threshold: Threshold,
) -> Vec<Cell<K>>
where
    K: Ord + Clone + ToString,
{
    domain
        .iter()
        .map(|k| {
            let true_count = counts.get(k).copied().unwrap_or(0);
            let q = query.clone().with("cell", k.to_string());
            let noisy = mechanism.release(&mut key.rng(&q), true_count).max(0);
            let value = match threshold {
                Threshold::Suppress(t) if noisy < t => None,
                _ => Some(noisy),
            };
            Cell {
                key: k.clone(),
                value,
            }
        })
        .collect()
}

/// Noisy counts over an open domain (keys come from the data, e.g. skills): every observed
/// partition is noised and released only if its noisy count reaches the partition-selection
/// threshold for `delta`, so a partition only one member is in appears with probability at
/// most `delta` per partition that member touches.
pub fn release_open_domain<K>(
    counts: &BTreeMap<K, i64>,
    mechanism: &DiscreteLaplace,
    key: &NoiseKey,
    query: &CanonicalQuery,
    delta: f64,
) -> Vec<(K, i64)>
where
    K: Ord + Clone + ToString,
{
    let tau = mechanism.partition_threshold(delta);
    counts
        .iter()
        .filter_map(|(k, &n)| {
            let q = query.clone().with("cell", k.to_string());
            let noisy = mechanism.release(&mut key.rng(&q), n);
            (noisy >= tau).then(|| (k.clone(), noisy))
        })
        .collect()
}

/// A campaign's noisy funnel. Made consistent: every count non-negative and clicks ≤
/// impressions; conversions are not capped by clicks (view-through conversions exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Funnel {
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
}

impl Funnel {
    /// Post-processing (costs nothing): clamp at 0 and cap clicks at impressions.
    pub fn consistent(self) -> Funnel {
        let impressions = self.impressions.max(0);
        Funnel {
            impressions,
            clicks: self.clicks.clamp(0, impressions),
            conversions: self.conversions.max(0),
        }
    }
}

/// Rounds `n ≥ 0` to two significant digits (half up): 1234 → 1200, 1250 → 1300, 87 → 87.
pub fn round_two_significant(n: u64) -> u64 {
    if n < 100 {
        return n;
    }
    let mut unit = 1u64;
    while n / unit >= 100 {
        unit = unit.saturating_mul(10);
    }
    let q = n / unit;
    let r = n % unit;
    let q = if r * 2 >= unit { q + 1 } else { q };
    q.saturating_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::mechanism::Epsilon;

    #[test]
    fn bounding_caps_partitions_and_contributions_per_member() {
        let rows = vec![(1, "a"), (1, "a"), (1, "a"), (1, "b"), (1, "c"), (2, "c")];
        let bound = ContributionBound {
            max_partitions: 2,
            max_per_partition: 2,
        };
        let c = bounded_counts(rows, bound);
        assert_eq!(c.get("a"), Some(&2));
        assert_eq!(c.get("b"), Some(&1));
        assert_eq!(
            c.get("c"),
            Some(&1),
            "member 1's third partition is dropped"
        );
        assert_eq!(bound.l1(), 4);
    }

    #[test]
    fn two_significant_digits() {
        assert_eq!(round_two_significant(0), 0);
        assert_eq!(round_two_significant(99), 99);
        assert_eq!(round_two_significant(101), 100);
        assert_eq!(round_two_significant(1234), 1200);
        assert_eq!(round_two_significant(1250), 1300);
        assert_eq!(round_two_significant(99_500), 100_000);
    }

    #[test]
    fn funnels_are_made_consistent() {
        let f = Funnel {
            impressions: -3,
            clicks: 5,
            conversions: -1,
        }
        .consistent();
        assert_eq!(f, Funnel::default());
        let f = Funnel {
            impressions: 10,
            clicks: 12,
            conversions: 2,
        }
        .consistent();
        assert_eq!((f.impressions, f.clicks, f.conversions), (10, 10, 2));
    }

    #[test]
    fn known_domain_releases_every_cell_and_repeats_itself() {
        let key = NoiseKey::from_bytes([3; 32]);
        let m = DiscreteLaplace::new(Epsilon(1_000_000), 1).unwrap();
        let counts: BTreeMap<String, i64> = [("a".to_owned(), 500)].into_iter().collect();
        let domain = vec!["a".to_owned(), "b".to_owned()];
        let q = CanonicalQuery::new().with("q", 1);
        let r1 = release_known_domain(&counts, &domain, &m, &key, &q, Threshold::Suppress(50));
        let r2 = release_known_domain(&counts, &domain, &m, &key, &q, Threshold::Suppress(50));
        assert_eq!(r1, r2);
        assert_eq!(r1.len(), 2);
        assert!(r1[0].value.is_some_and(|v| (480..=520).contains(&v)));
        assert_eq!(r1[1].value, None, "an empty cell stays under the threshold");
    }
}
