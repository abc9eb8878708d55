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
///
/// Each partition key is interned to a dense id the first time it is met (the key is moved
/// into the table, never cloned), the (member, partition id) pairs are grouped by member with
/// a stable radix sort (so each member's rows keep their order), and each member's run is
/// bounded on its own. The sort's passes read and write sequentially; the alternative, a
/// table of per-member state probed once per row, takes a cache miss or two per row as soon
/// as the members outgrow the caches, and that was most of the time at a million events.
/// Only the partitions some member kept are returned, so a partition met only in
/// contributions that bounding dropped is not observed (partition selection must not see it).
pub fn bounded_counts<K, I>(rows: I, bound: ContributionBound) -> BTreeMap<K, i64>
where
    K: Ord + Hash + Clone,
    I: IntoIterator<Item = (u64, K)>,
{
    if bound.max_partitions == 0 || bound.max_per_partition == 0 {
        return BTreeMap::new();
    }
    let rows = rows.into_iter();
    let mut partitions: HashMap<K, u32> = HashMap::new();
    let mut members: Vec<u64> = Vec::with_capacity(rows.size_hint().0);
    let mut ids: Vec<u32> = Vec::with_capacity(rows.size_hint().0);
    for (member, key) in rows {
        let next = partitions.len() as u32;
        members.push(member);
        ids.push(*partitions.entry(key).or_insert(next));
    }
    let mut counts = vec![0i64; partitions.len()];
    let mut member = MemberBound::new(bound);
    let min = members.iter().copied().min().unwrap_or(0);
    let max = members.iter().copied().max().unwrap_or(0);
    let span_bits = u64::BITS - (max - min).leading_zeros();
    let id_bits = u32::BITS - (partitions.len() as u32).leading_zeros();
    if span_bits + id_bits <= u64::BITS {
        // Member (less the smallest) and partition id packed in one word: half the bytes for
        // the sort to move.
        let mut packed = members;
        for (word, &p) in packed.iter_mut().zip(&ids) {
            *word = ((*word - min) << id_bits) | u64::from(p);
        }
        drop(ids);
        let id_mask = (1u64 << id_bits) - 1;
        let sorted = radix_sort(packed, span_bits, |&x| x >> id_bits);
        for run in sorted.chunk_by(|a, b| a >> id_bits == b >> id_bits) {
            member.add_to(&mut counts, run.iter().map(|&x| (x & id_mask) as u32));
        }
    } else {
        let pairs: Vec<(u64, u32)> = members.into_iter().zip(ids).collect();
        let sorted = radix_sort(pairs, span_bits, |&(m, _)| m - min);
        for run in sorted.chunk_by(|a, b| a.0 == b.0) {
            member.add_to(&mut counts, run.iter().map(|&(_, p)| p));
        }
    }
    partitions
        .into_iter()
        .filter_map(|(key, id)| {
            let n = counts.get(id as usize).copied().unwrap_or(0);
            (n > 0).then_some((key, n))
        })
        .collect()
}

/// Sorts `items` by `key` (below 2^`bits`), stably: LSD radix sort in as many passes as the
/// bits need (two for 100,000 members), each a histogram and a scatter over at most 2¹¹
/// buckets, whose write positions all stay in cache.
fn radix_sort<T: Copy + Default>(mut items: Vec<T>, bits: u32, key: impl Fn(&T) -> u64) -> Vec<T> {
    const MAX_DIGIT_BITS: u32 = 11;
    if bits == 0 {
        return items;
    }
    let passes = bits.div_ceil(MAX_DIGIT_BITS);
    let digit_bits = bits.div_ceil(passes);
    let mask = (1u64 << digit_bits) - 1;
    let mut scratch = vec![T::default(); items.len()];
    let mut offsets = vec![0usize; 1 << digit_bits];
    for pass in 0..passes {
        let shift = pass * digit_bits;
        let digit = |item: &T| ((key(item) >> shift) & mask) as usize;
        offsets.fill(0);
        for item in &items {
            if let Some(n) = offsets.get_mut(digit(item)) {
                *n += 1;
            }
        }
        if offsets.contains(&items.len()) {
            // Every item has this digit: the pass would reorder nothing.
            continue;
        }
        let mut start = 0;
        for slot in offsets.iter_mut() {
            let n = *slot;
            *slot = start;
            start += n;
        }
        for item in &items {
            if let Some(at) = offsets.get_mut(digit(item))
                && let Some(out) = scratch.get_mut(*at)
            {
                *out = *item;
                *at += 1;
            }
        }
        std::mem::swap(&mut items, &mut scratch);
    }
    items
}

/// Above this many partitions per member, kept partitions are found through a map rather
/// than by scanning them.
const MAX_SCANNED_PARTITIONS: u32 = 32;

/// Bounds one member's contributions; reused across members so no member allocates.
struct MemberBound {
    bound: ContributionBound,
    /// (partition id, contributions kept) in first-seen order.
    kept: Vec<(u32, u32)>,
    /// partition id → position in `kept`, when `max_partitions` is too large to scan.
    index: Option<HashMap<u32, usize>>,
}

impl MemberBound {
    fn new(bound: ContributionBound) -> MemberBound {
        MemberBound {
            bound,
            kept: Vec::new(),
            index: (bound.max_partitions > MAX_SCANNED_PARTITIONS).then(HashMap::new),
        }
    }

    /// Adds one member's bounded contributions to `counts` (by partition id), from the
    /// partition ids of that member's rows in their order.
    fn add_to(&mut self, counts: &mut [i64], partitions: impl Iterator<Item = u32>) {
        for &(partition, n) in self.bound(partitions) {
            if let Some(count) = counts.get_mut(partition as usize) {
                *count += i64::from(n);
            }
        }
    }

    /// The partitions one member keeps, with the contributions kept in each, from the
    /// partition ids of that member's rows in their order.
    fn bound(&mut self, partitions: impl Iterator<Item = u32>) -> &[(u32, u32)] {
        self.kept.clear();
        if let Some(index) = self.index.as_mut() {
            index.clear();
        }
        let max_partitions = self.bound.max_partitions as usize;
        for partition in partitions {
            let position = match self.index.as_mut() {
                Some(index) => index.get(&partition).copied(),
                None => self.kept.iter().position(|&(p, _)| p == partition),
            };
            if let Some((_, n)) = position.and_then(|i| self.kept.get_mut(i)) {
                *n = (*n + 1).min(self.bound.max_per_partition);
            } else if self.kept.len() < max_partitions {
                if let Some(index) = self.index.as_mut() {
                    index.insert(partition, self.kept.len());
                }
                self.kept.push((partition, 1));
            }
        }
        &self.kept
    }
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
    let cells = key.cells(query, "cell");
    domain
        .iter()
        .map(|k| {
            let true_count = counts.get(k).copied().unwrap_or(0);
            let noisy = mechanism
                .release(&mut cells.rng(&k.to_string()), true_count)
                .max(0);
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
    let cells = key.cells(query, "cell");
    counts
        .iter()
        .filter_map(|(k, &n)| {
            let noisy = mechanism.release(&mut cells.rng(&k.to_string()), n);
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

    /// Bounding as the definition reads: each member's partitions in first-seen order, the
    /// first `max_partitions` kept, at most `max_per_partition` contributions in each.
    fn bounded_by_definition(rows: &[(u64, u16)], bound: ContributionBound) -> BTreeMap<u16, i64> {
        let mut per_member: BTreeMap<u64, Vec<(u16, u32)>> = BTreeMap::new();
        for &(member, key) in rows {
            let kept = per_member.entry(member).or_default();
            if let Some((_, n)) = kept.iter_mut().find(|(k, _)| *k == key) {
                *n = (*n + 1).min(bound.max_per_partition);
            } else if kept.len() < bound.max_partitions as usize {
                kept.push((key, 1));
            }
        }
        let mut counts = BTreeMap::new();
        for (k, n) in per_member.into_values().flatten() {
            *counts.entry(k).or_insert(0) += i64::from(n);
        }
        counts
    }

    #[test]
    fn bounding_matches_its_definition_for_small_and_large_partition_caps() {
        // SplitMix64, so the rows are the same on every run.
        let mut state = 42u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let rows: Vec<(u64, u16)> = (0..20_000)
            .map(|_| (next() % 300, (next() % 60) as u16))
            .collect();
        // The same members spread over the whole u64 range: the radix sort's every pass.
        let spread: Vec<(u64, u16)> = rows
            .iter()
            .map(|&(m, k)| (m.wrapping_mul(0x9E37_79B9_7F4A_7C15), k))
            .collect();
        for rows in [&rows, &spread] {
            for (max_partitions, max_per_partition) in
                [(1, 1), (4, 10), (5, 1), (32, 3), (33, 2), (100, 1000)]
            {
                let bound = ContributionBound {
                    max_partitions,
                    max_per_partition,
                };
                let expected = bounded_by_definition(rows, bound);
                assert_eq!(
                    bounded_counts(rows.iter().copied(), bound),
                    expected,
                    "{bound:?}"
                );
            }
        }
        let none = ContributionBound {
            max_partitions: 0,
            max_per_partition: 5,
        };
        assert!(bounded_counts(rows.iter().copied(), none).is_empty());
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
