//! Mondrian multidimensional partitioning (LeFevre et al.), strict and relaxed.
//!
//! Every attribute is ordered: numbers by value, categories in hierarchy leaf order (siblings
//! adjacent, so a cut tends to follow the hierarchy). A partition is cut on the attribute with
//! the widest normalized span that admits a cut leaving both halves releasable. *Strict* cuts
//! fall between distinct values, choosing the allowable boundary closest to the median;
//! *relaxed* cuts at the median row, so rows sharing the median value may go to either half,
//! and fall back to a strict cut when that fails. Partitions are never suppressed.

use super::AnonError;
use super::criteria::Criteria;
use super::engine::Encoded;

/// How Mondrian treats rows equal to the median.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MondrianMode {
    /// Halves never share a value: cuts between distinct values.
    Strict,
    /// Rows at the median may be divided between the halves.
    Relaxed,
}

/// Final partitions as lists of row indices.
pub(crate) fn partition(
    enc: &Encoded,
    criteria: &Criteria,
    mode: MondrianMode,
) -> Result<Vec<Vec<u32>>, AnonError> {
    let m = enc.qis();
    let ns = enc.sensitive_values;
    // Per quasi-identifier: each row's rank, and each rank's position on the attribute's scale.
    let ranks: Vec<Vec<u32>> = (0..m)
        .map(|q| {
            let h = &enc.hierarchies[q];
            enc.base[q].iter().map(|&b| h.rank[b as usize]).collect()
        })
        .collect();
    let scales: Vec<Vec<f64>> = (0..m)
        .map(|q| {
            let h = &enc.hierarchies[q];
            match &h.numeric {
                Some(vals) => h.by_rank.iter().map(|&b| vals[b as usize]).collect(),
                None => (0..h.len()).map(|r| r as f64).collect(),
            }
        })
        .collect();
    let root: Vec<u32> = (0..enc.rows as u32).collect();
    let spans: Vec<f64> = (0..m)
        .map(|q| {
            let (lo, hi) = extent(&ranks[q], &root);
            scales[q][hi as usize] - scales[q][lo as usize]
        })
        .collect();
    let splitter = Splitter {
        enc,
        criteria,
        mode,
        ns,
        ranks: &ranks,
    };
    if !splitter.releasable(&root) {
        return Err(AnonError::NoSolution);
    }
    let mut stack = vec![root];
    let mut done = Vec::new();
    let mut dims: Vec<(f64, usize)> = Vec::with_capacity(m);
    while let Some(mut part) = stack.pop() {
        if part.len() < 2 * criteria.k {
            done.push(part);
            continue;
        }
        dims.clear();
        for q in 0..m {
            let (lo, hi) = extent(&ranks[q], &part);
            if hi > lo && spans[q] > 0.0 {
                dims.push((
                    (scales[q][hi as usize] - scales[q][lo as usize]) / spans[q],
                    q,
                ));
            }
        }
        dims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut cut = None;
        for &(_, q) in &dims {
            if let Some(at) = splitter.cut(&mut part, q) {
                cut = Some(at);
                break;
            }
        }
        match cut {
            Some(at) => {
                let right = part.split_off(at);
                stack.push(right);
                stack.push(part);
            }
            None => done.push(part),
        }
    }
    Ok(done)
}

fn extent(ranks: &[u32], rows: &[u32]) -> (u32, u32) {
    let mut lo = u32::MAX;
    let mut hi = 0;
    for &r in rows {
        let v = ranks[r as usize];
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo, hi)
}

struct Splitter<'a> {
    enc: &'a Encoded,
    criteria: &'a Criteria,
    mode: MondrianMode,
    ns: usize,
    ranks: &'a [Vec<u32>],
}

impl Splitter<'_> {
    fn releasable(&self, rows: &[u32]) -> bool {
        let mut hist = vec![0u32; self.ns];
        if self.ns > 0 {
            for &r in rows {
                hist[self.enc.sensitive[r as usize] as usize] += 1;
            }
        }
        self.criteria
            .class_ok(rows.len() as u32, &hist, &self.enc.overall)
    }

    /// Sorts `part` on attribute `q` and returns the position of an allowable cut, if any.
    fn cut(&self, part: &mut [u32], q: usize) -> Option<usize> {
        let ranks = &self.ranks[q];
        part.sort_unstable_by_key(|&r| ranks[r as usize]);
        let n = part.len();
        let k = self.criteria.k;
        let half = n / 2;
        let needs_hist = self.ns > 0;
        let check = |at: usize| -> bool {
            if at < k || n - at < k {
                return false;
            }
            if !needs_hist {
                return true;
            }
            self.releasable(&part[..at]) && self.releasable(&part[at..])
        };
        if self.mode == MondrianMode::Relaxed && check(half) {
            return Some(half);
        }
        // Boundaries between distinct values, tried from the median outwards.
        let mut boundaries: Vec<usize> = (1..n)
            .filter(|&i| ranks[part[i] as usize] != ranks[part[i - 1] as usize])
            .filter(|&i| i >= k && n - i >= k)
            .collect();
        boundaries.sort_by_key(|&i| (i.abs_diff(half), i));
        boundaries.into_iter().find(|&at| check(at))
    }
}
