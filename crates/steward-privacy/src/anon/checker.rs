//! The independent checker: recomputes k, l and t from released rows as plain strings.
//!
//! It shares no code with the algorithms (no encoding, no hierarchies, no criteria module):
//! classes are `BTreeMap` keys of quasi-identifier strings, histograms are maps of sensitive
//! strings. Slow and obvious on purpose; every test trusts it, not the algorithm's own count.

use std::collections::BTreeMap;

/// What a released table actually achieves.
#[derive(Debug, Clone)]
pub struct Check {
    pub rows: usize,
    pub classes: usize,
    /// The smallest class (0 when nothing is released).
    pub k: usize,
    /// Sensitive histogram of every class.
    histograms: Vec<BTreeMap<String, usize>>,
    /// The reference distribution for t-closeness, in value order.
    reference: Vec<(String, f64)>,
}

/// Groups `rows` (each as wide as `header`) by the `qis` columns. `reference` is the sensitive
/// column of the whole input table (t-closeness is measured against it); when `None`, the
/// released rows serve as reference.
pub fn check(
    header: &[String],
    rows: &[Vec<String>],
    qis: &[&str],
    sensitive: Option<&str>,
    reference: Option<&[String]>,
) -> Option<Check> {
    let qi_idx: Option<Vec<usize>> = qis
        .iter()
        .map(|q| header.iter().position(|h| h == q))
        .collect();
    let qi_idx = qi_idx?;
    let s_idx = match sensitive {
        Some(s) => Some(header.iter().position(|h| h == s)?),
        None => None,
    };
    let mut groups: BTreeMap<Vec<&str>, BTreeMap<String, usize>> = BTreeMap::new();
    let mut sizes: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
    for row in rows {
        if row.len() != header.len() {
            return None;
        }
        let key: Vec<&str> = qi_idx.iter().map(|&i| row[i].as_str()).collect();
        *sizes.entry(key.clone()).or_default() += 1;
        let hist = groups.entry(key).or_default();
        if let Some(s) = s_idx {
            *hist.entry(row[s].clone()).or_default() += 1;
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    match (reference, s_idx) {
        (Some(values), _) => {
            for v in values {
                *counts.entry(v.clone()).or_default() += 1;
            }
        }
        (None, Some(s)) => {
            for row in rows {
                *counts.entry(row[s].clone()).or_default() += 1;
            }
        }
        (None, None) => {}
    }
    let total: usize = counts.values().sum();
    let mut reference: Vec<(String, f64)> = counts
        .into_iter()
        .map(|(v, c)| (v, c as f64 / total.max(1) as f64))
        .collect();
    let all_numeric = reference
        .iter()
        .all(|(v, _)| v.trim().parse::<f64>().is_ok());
    if all_numeric {
        reference.sort_by(|a, b| {
            let x: f64 = a.0.trim().parse().unwrap_or(0.0);
            let y: f64 = b.0.trim().parse().unwrap_or(0.0);
            x.total_cmp(&y)
        });
    }
    Some(Check {
        rows: rows.len(),
        classes: sizes.len(),
        k: sizes.values().copied().min().unwrap_or(0),
        histograms: groups.into_values().collect(),
        reference,
    })
}

impl Check {
    /// The smallest number of distinct sensitive values in a class.
    pub fn l_distinct(&self) -> usize {
        self.histograms.iter().map(BTreeMap::len).min().unwrap_or(0)
    }

    /// The smallest `exp(entropy)` over classes: the entropy-l the release achieves.
    pub fn l_entropy(&self) -> f64 {
        self.histograms
            .iter()
            .map(|h| {
                let n: usize = h.values().sum();
                let e: f64 = h
                    .values()
                    .map(|&c| {
                        let p = c as f64 / n as f64;
                        -p * p.ln()
                    })
                    .sum();
                e.exp()
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Whether every class is recursive-(c,l)-diverse.
    pub fn recursive(&self, c: f64, l: usize) -> bool {
        self.histograms.iter().all(|h| {
            let mut r: Vec<usize> = h.values().copied().collect();
            r.sort_unstable_by(|a, b| b.cmp(a));
            if r.len() < l || l == 0 {
                return false;
            }
            let tail: usize = r[l - 1..].iter().sum();
            (r[0] as f64) < c * tail as f64
        })
    }

    fn class_distribution(&self, h: &BTreeMap<String, usize>) -> Vec<f64> {
        let n: usize = h.values().sum();
        self.reference
            .iter()
            .map(|(v, _)| h.get(v).copied().unwrap_or(0) as f64 / n.max(1) as f64)
            .collect()
    }

    /// The largest equal-distance EMD of a class from the reference distribution.
    pub fn t_equal(&self) -> f64 {
        self.histograms
            .iter()
            .map(|h| {
                let p = self.class_distribution(h);
                p.iter()
                    .zip(&self.reference)
                    .map(|(a, (_, b))| (a - b).abs())
                    .sum::<f64>()
                    / 2.0
            })
            .fold(0.0, f64::max)
    }

    /// The largest ordered-distance EMD of a class (values ordered numerically when all are
    /// numbers, else lexicographically).
    pub fn t_ordered(&self) -> f64 {
        let m = self.reference.len();
        if m < 2 {
            return 0.0;
        }
        self.histograms
            .iter()
            .map(|h| {
                let p = self.class_distribution(h);
                let mut cum = 0.0;
                let mut sum = 0.0;
                for (a, (_, b)) in p.iter().zip(&self.reference) {
                    cum += a - b;
                    sum += cum.abs();
                }
                sum / (m - 1) as f64
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn counts_k_and_l_by_hand() {
        let header = s(&["q", "s"]);
        let rows = vec![
            s(&["a", "x"]),
            s(&["a", "y"]),
            s(&["b", "x"]),
            s(&["b", "x"]),
            s(&["b", "z"]),
        ];
        let c = check(&header, &rows, &["q"], Some("s"), None).unwrap();
        assert_eq!((c.rows, c.classes, c.k), (5, 2, 2));
        assert_eq!(c.l_distinct(), 2);
        assert!(c.recursive(3.0, 2));
        assert!(!c.recursive(1.0, 2));
        assert!(c.t_equal() > 0.0);
        assert!(check(&header, &rows, &["nope"], None, None).is_none());
    }
}
