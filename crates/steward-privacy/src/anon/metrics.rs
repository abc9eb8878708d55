//! Utility metrics of a release, computed from its cells alone: equivalence classes, class
//! sizes, C_avg, discernibility, NCP per attribute and GCP, suppression.

use std::collections::HashMap;

use super::engine::KeyTable;
use super::release::Anonymized;

/// How much a release kept and how coarse it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub rows: usize,
    pub released: usize,
    pub suppressed: usize,
    pub suppression_rate: f64,
    pub classes: usize,
    pub min_class: usize,
    pub max_class: usize,
    pub avg_class: f64,
    /// Normalized average class size: released / classes / k (1 is ideal).
    pub c_avg: f64,
    /// Σ |class|² over released classes plus |table| per suppressed row.
    pub discernibility: u64,
    /// Average normalized certainty penalty per quasi-identifier (suppressed cells count 1).
    pub ncp: Vec<(String, f64)>,
    /// Global certainty penalty: the mean of `ncp`.
    pub gcp: f64,
}

/// Each released row's class (rows grouped by their quasi-identifier cells) and class sizes.
#[derive(Debug)]
pub(crate) struct RowClasses {
    pub(crate) sizes: Vec<u32>,
}

pub(crate) fn class_of_rows(a: &Anonymized) -> RowClasses {
    let qis = &a.qi_columns;
    let mut strides = Vec::with_capacity(qis.len());
    let mut product: Option<u64> = Some(1);
    for &c in qis {
        strides.push(product.unwrap_or(0));
        product = product.and_then(|p| p.checked_mul(a.label_count(c).max(1) as u64));
    }
    let mut sizes: Vec<u32> = Vec::new();
    if product.is_some() {
        let mut table = KeyTable::with_capacity(a.rows());
        for r in 0..a.rows() {
            let key = qis
                .iter()
                .zip(&strides)
                .fold(0u64, |k, (&c, &s)| k + u64::from(a.cell(r, c)) * s);
            let idx = table.find_or_insert(key, sizes.len() as u32) as usize;
            if idx == sizes.len() {
                sizes.push(0);
            }
            sizes[idx] += 1;
        }
    } else {
        let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
        for r in 0..a.rows() {
            let key: Vec<u32> = qis.iter().map(|&c| a.cell(r, c)).collect();
            let next = index.len();
            let idx = *index.entry(key).or_insert(next);
            if idx == sizes.len() {
                sizes.push(0);
            }
            sizes[idx] += 1;
        }
    }
    RowClasses { sizes }
}

pub(crate) fn compute(a: &Anonymized, classes: &RowClasses, rows: usize, k: usize) -> Metrics {
    let released = a.rows();
    let suppressed = rows - released;
    let sizes = &classes.sizes;
    let n = rows as u64;
    let discernibility = sizes
        .iter()
        .map(|&s| u64::from(s) * u64::from(s))
        .sum::<u64>()
        + suppressed as u64 * n;
    let mut ncp = Vec::with_capacity(a.qi_columns.len());
    for &c in &a.qi_columns {
        let mut total = suppressed as f64;
        for r in 0..released {
            total += a.ncp[c][a.cell(r, c) as usize];
        }
        ncp.push((a.header()[c].clone(), total / rows.max(1) as f64));
    }
    let gcp = if ncp.is_empty() {
        0.0
    } else {
        ncp.iter().map(|(_, v)| v).sum::<f64>() / ncp.len() as f64
    };
    let classes_n = sizes.len();
    Metrics {
        rows,
        released,
        suppressed,
        suppression_rate: suppressed as f64 / rows.max(1) as f64,
        classes: classes_n,
        min_class: sizes.iter().copied().min().unwrap_or(0) as usize,
        max_class: sizes.iter().copied().max().unwrap_or(0) as usize,
        avg_class: if classes_n == 0 {
            0.0
        } else {
            released as f64 / classes_n as f64
        },
        c_avg: if classes_n == 0 {
            0.0
        } else {
            released as f64 / classes_n as f64 / k as f64
        },
        discernibility,
        ncp,
        gcp,
    }
}
