//! Dense copies of the index's densest bitmaps, for counting an expression in one pass.
//!
//! Counting `industry in (a, b, c) and seniority in (d, e) and not region = f` on roaring
//! bitmaps builds a union per facet, an intersection per step and recounts each result's
//! cardinality: several passes over memory and an allocation per container. Here every
//! attribute's known members, and every value held by at least 1 / [`DENSE_SHARE`] of the id
//! space, are also kept as plain bit vectors (one `u64` per 64 member ids). A count
//! walks the member ids once, a block of [`BLOCK`] words at a time: per facet it ORs the
//! value vectors of the block into a small buffer (sparser values set their bits from their
//! roaring bitmap's range), ANDs it into the block's accumulator, stops the block early when
//! nothing is left, and finally counts the accumulator's bits. Nothing about an answer is
//! kept between calls: the vectors are the index, kept current with it.
//!
//! Memory is bounded: a value is dense only at 1 / [`DENSE_SHARE`] of the id space, so at
//! most that many values of a one-valued attribute are (at 1,000,000 members, 125 KiB each);
//! the whole copy is dropped (and counting falls back to roaring) when the member ids are far
//! sparser than the members.

use std::collections::HashMap;

use roaring::RoaringBitmap;

/// A value gets a dense vector when it holds at least 1 / `DENSE_SHARE` of the id space.
/// Setting a sparse value's bits costs a few nanoseconds per member, a dense vector a fraction
/// of a nanosecond per 64 ids, so values well below roaring's bitmap-container density (1/16)
/// already pay off: at 1,000,000 members a value of 4.7 % set bit by bit cost more than the
/// whole roaring count. A one-valued attribute has at most 256 dense values.
pub const DENSE_SHARE: u64 = 256;
/// Counting falls back to roaring when the sparse values of an expression hold more than
/// 1 / `SPARSE_LIMIT` of the id space (setting their bits would dominate).
pub const SPARSE_LIMIT: u64 = 64;
/// Words per block of a count: 4 KiB of accumulator, well inside the L1 cache.
pub const BLOCK: usize = 512;
/// No dense copy beyond this many words (2^27 member ids, 16 MiB per vector).
const MAX_WORDS: usize = 1 << 21;

/// The dense vectors of an index.
#[derive(Clone, Debug, Default)]
pub struct Dense {
    pub enabled: bool,
    pub words: usize,
    /// Per attribute: the known members.
    pub known: Vec<Vec<u64>>,
    /// Per attribute: the dense values.
    pub values: Vec<HashMap<String, Vec<u64>>>,
}

fn set(v: &mut [u64], bit: u32) {
    if let Some(w) = v.get_mut((bit / 64) as usize) {
        *w |= 1u64 << (bit % 64);
    }
}

fn clear(v: &mut [u64], bit: u32) {
    if let Some(w) = v.get_mut((bit / 64) as usize) {
        *w &= !(1u64 << (bit % 64));
    }
}

/// The bit vector of `b` over `words` words.
pub fn to_words(b: &RoaringBitmap, words: usize) -> Vec<u64> {
    let mut v = vec![0u64; words];
    for bit in b {
        set(&mut v, bit);
    }
    v
}

impl Dense {
    /// Whether a dense copy is worth keeping for ids up to `max_bit` and `members` members.
    fn worth(max_bit: u32, members: u64) -> bool {
        let words = max_bit as usize / 64 + 1;
        words <= MAX_WORDS && u64::from(max_bit) <= 16 * (members + 65_536)
    }

    /// Builds the copy from the roaring bitmaps (after a full build).
    pub fn build(
        known: &[RoaringBitmap],
        values: &[HashMap<String, RoaringBitmap>],
        targetable: &RoaringBitmap,
    ) -> Dense {
        let max_bit = known
            .iter()
            .filter_map(RoaringBitmap::max)
            .max()
            .unwrap_or(0);
        if !Dense::worth(max_bit, targetable.len()) {
            return Dense::default();
        }
        // Room to grow before the vectors are widened.
        let needed = max_bit as usize / 64 + 1;
        let words = needed + needed / 8 + 1;
        let universe = words as u64 * 64;
        Dense {
            enabled: true,
            words,
            known: known.iter().map(|b| to_words(b, words)).collect(),
            values: values
                .iter()
                .map(|m| {
                    m.iter()
                        .filter(|(_, b)| b.len() * DENSE_SHARE >= universe)
                        .map(|(k, b)| (k.clone(), to_words(b, words)))
                        .collect()
                })
                .collect(),
        }
    }

    /// Makes room for `bit`; drops the copy when it would no longer be worth it.
    fn reserve(&mut self, bit: u32, members: u64) {
        let needed = bit as usize / 64 + 1;
        if needed <= self.words {
            return;
        }
        if !Dense::worth(bit, members) {
            *self = Dense::default();
            return;
        }
        let words = needed + needed / 4 + 1;
        for v in self.known.iter_mut() {
            v.resize(words, 0);
        }
        for m in self.values.iter_mut() {
            for v in m.values_mut() {
                v.resize(words, 0);
            }
        }
        self.words = words;
    }

    /// Mirrors the insertion of `bit` under attribute `i`, value `v`, whose roaring bitmap
    /// is now `b`: a value that became dense enough gets its vector.
    pub fn insert(&mut self, i: usize, v: &str, b: &RoaringBitmap, bit: u32, members: u64) {
        if !self.enabled {
            return;
        }
        self.reserve(bit, members);
        if !self.enabled {
            return;
        }
        if let Some(k) = self.known.get_mut(i) {
            set(k, bit);
        }
        let universe = self.words as u64 * 64;
        if let Some(m) = self.values.get_mut(i) {
            match m.get_mut(v) {
                Some(d) => set(d, bit),
                None if b.len() * DENSE_SHARE >= universe => {
                    m.insert(v.to_owned(), to_words(b, self.words));
                }
                None => {}
            }
        }
    }

    /// Mirrors the removal of member `bit` (all of whose values go) from attribute `i`,
    /// value `v` (gone from the index when `empty`).
    pub fn remove(&mut self, i: usize, v: &str, bit: u32, empty: bool) {
        if !self.enabled {
            return;
        }
        if let Some(k) = self.known.get_mut(i) {
            clear(k, bit);
        }
        if let Some(m) = self.values.get_mut(i) {
            if empty {
                m.remove(v);
            } else if let Some(d) = m.get_mut(v) {
                clear(d, bit);
            }
        }
    }

    /// Whether every vector mirrors its roaring bitmap exactly.
    pub fn mirrors(
        &self,
        known: &[RoaringBitmap],
        values: &[HashMap<String, RoaringBitmap>],
    ) -> bool {
        if !self.enabled {
            return true;
        }
        let same = |d: &[u64], b: &RoaringBitmap| d == to_words(b, self.words).as_slice();
        self.known.len() == known.len()
            && self.known.iter().zip(known).all(|(d, b)| same(d, b))
            && self.values.iter().zip(values).all(|(dm, bm)| {
                dm.iter()
                    .all(|(k, d)| bm.get(k).is_some_and(|b| same(d, b)))
            })
    }
}

/// One value of a facet: its dense vector when it has one, else its roaring bitmap.
pub enum Source<'a> {
    Dense(&'a [u64]),
    Sparse(&'a RoaringBitmap),
}

/// A facet of an expression, for [`count`].
pub struct Facet<'a> {
    /// The attribute's known members, for an exclusion.
    pub known: Option<&'a [u64]>,
    pub values: Vec<Source<'a>>,
}

/// ORs the block `[start, start + out.len())` of `values` into `out` (overwritten).
fn union_block(values: &[Source<'_>], start: usize, out: &mut [u64]) {
    out.fill(0);
    for v in values {
        match v {
            Source::Dense(d) => {
                if let Some(d) = d.get(start..start + out.len()) {
                    for (o, w) in out.iter_mut().zip(d) {
                        *o |= *w;
                    }
                }
            }
            Source::Sparse(b) => {
                let lo = (start as u64) * 64;
                let hi = lo + out.len() as u64 * 64;
                let (Ok(lo32), hi32) = (u32::try_from(lo), u32::try_from(hi - 1)) else {
                    continue;
                };
                let hi32 = hi32.unwrap_or(u32::MAX);
                for bit in b.range(lo32..=hi32) {
                    let off = (u64::from(bit) - lo) as usize;
                    if let Some(w) = out.get_mut(off / 64) {
                        *w |= 1u64 << (off % 64);
                    }
                }
            }
        }
    }
}

/// Members in every positive facet and, for each exclusion, known and in none of its values:
/// positive facets first, narrowest first, for the earliest stop per block.
pub fn count(facets: &[Facet<'_>], words: usize) -> u64 {
    let mut acc = [0u64; BLOCK];
    let mut tmp = [0u64; BLOCK];
    let mut total = 0u64;
    let mut start = 0;
    while start < words {
        let n = BLOCK.min(words - start);
        let acc = &mut acc[..n];
        let tmp = &mut tmp[..n];
        acc.fill(u64::MAX);
        let mut alive = true;
        for f in facets {
            match (&f.known, f.values.as_slice()) {
                // One dense value: AND it in directly.
                (None, [Source::Dense(d)]) => {
                    if let Some(d) = d.get(start..start + n) {
                        for (a, w) in acc.iter_mut().zip(d) {
                            *a &= *w;
                        }
                    } else {
                        acc.fill(0);
                    }
                }
                (None, values) => {
                    union_block(values, start, tmp);
                    for (a, t) in acc.iter_mut().zip(tmp.iter()) {
                        *a &= *t;
                    }
                }
                (Some(known), values) => {
                    union_block(values, start, tmp);
                    match known.get(start..start + n) {
                        Some(k) => {
                            for ((a, t), k) in acc.iter_mut().zip(tmp.iter()).zip(k) {
                                *a &= *k & !*t;
                            }
                        }
                        None => acc.fill(0),
                    }
                }
            }
            if acc.iter().all(|&w| w == 0) {
                alive = false;
                break;
            }
        }
        if alive {
            total += acc.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
        }
        start += n;
    }
    total
}
