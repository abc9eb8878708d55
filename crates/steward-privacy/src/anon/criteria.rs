//! Privacy criteria on one equivalence class: k-anonymity, l-diversity (distinct, entropy,
//! recursive-(c,l)) and t-closeness (equal and ordered earth mover's distance).

use super::AnonError;

/// l-diversity of the sensitive attribute within each class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LDiversity {
    /// At least `l` distinct sensitive values.
    Distinct(usize),
    /// Entropy of the sensitive values at least `ln(l)`.
    Entropy(f64),
    /// The most frequent value less than `c` times the sum of all but the `l − 1` most frequent.
    Recursive { c: f64, l: usize },
}

/// t-closeness: the class's sensitive distribution within `t` of the whole table's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TCloseness {
    /// Earth mover's distance with all values one unit apart (half the L1 distance).
    EqualDistance(f64),
    /// Earth mover's distance over the values' order, normalized by `m − 1`.
    OrderedDistance(f64),
}

/// What every released equivalence class must satisfy, and how many rows may be suppressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    pub k: usize,
    pub l_diversity: Option<LDiversity>,
    pub t_closeness: Option<TCloseness>,
    /// Largest share of rows that may be suppressed, in `[0, 1]`.
    pub max_suppression: f64,
}

impl Criteria {
    /// Plain k-anonymity without suppression.
    pub fn k_anonymity(k: usize) -> Criteria {
        Criteria {
            k,
            l_diversity: None,
            t_closeness: None,
            max_suppression: 0.0,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), AnonError> {
        let bad = |m: String| Err(AnonError::InvalidParameter(m));
        if self.k == 0 {
            return bad("k must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.max_suppression) {
            return bad(format!(
                "the suppression budget must be in [0, 1], got {}",
                self.max_suppression
            ));
        }
        match self.l_diversity {
            Some(LDiversity::Distinct(0)) => return bad("l must be at least 1".into()),
            Some(LDiversity::Entropy(l)) if !(l >= 1.0 && l.is_finite()) => {
                return bad(format!("entropy l must be at least 1, got {l}"));
            }
            Some(LDiversity::Recursive { c, l }) if l == 0 || !(c > 0.0 && c.is_finite()) => {
                return bad(format!(
                    "recursive-(c,l) needs c > 0 and l ≥ 1, got c={c} l={l}"
                ));
            }
            _ => {}
        }
        if let Some(TCloseness::EqualDistance(t) | TCloseness::OrderedDistance(t)) =
            self.t_closeness
            && !(0.0..=1.0).contains(&t)
        {
            return bad(format!("t must be in [0, 1], got {t}"));
        }
        Ok(())
    }

    pub(crate) fn needs_sensitive(&self) -> bool {
        self.l_diversity.is_some() || self.t_closeness.is_some()
    }

    /// Whether "the node satisfies the criteria with at most the budget suppressed" is closed
    /// under generalization. Merging classes never shrinks one, and a merged class containing a
    /// kept class has at least as many distinct values, so k and distinct-l stay monotone even
    /// when suppressed rows are counted. Entropy, recursive-(c,l) and t-closeness are monotone
    /// for merges of *satisfying* classes only, so with a budget a failing class merged into a
    /// kept one can break it: only without suppression are they monotone.
    pub(crate) fn monotone(&self) -> bool {
        let rest_monotone = matches!(self.l_diversity, None | Some(LDiversity::Distinct(_)))
            && self.t_closeness.is_none();
        rest_monotone || self.max_suppression == 0.0
    }

    /// The number of rows the budget allows to suppress out of `rows`.
    pub(crate) fn budget(&self, rows: usize) -> usize {
        // A tiny tolerance so 0.01 × 30,162 does not lose a row to binary rounding.
        ((self.max_suppression * rows as f64) + 1e-9).floor() as usize
    }

    /// Whether a class of `count` rows whose sensitive histogram is `hist` (indexed by the
    /// sensitive value's rank) may be released. `overall` is the table's sensitive distribution.
    pub(crate) fn class_ok(&self, count: u32, hist: &[u32], overall: &[f64]) -> bool {
        if (count as usize) < self.k {
            return false;
        }
        if let Some(l) = self.l_diversity
            && !l_diverse(l, count, hist)
        {
            return false;
        }
        match self.t_closeness {
            None => true,
            Some(TCloseness::EqualDistance(t)) => emd_equal(count, hist, overall) <= t + 1e-12,
            Some(TCloseness::OrderedDistance(t)) => emd_ordered(count, hist, overall) <= t + 1e-12,
        }
    }
}

pub(crate) fn l_diverse(l: LDiversity, count: u32, hist: &[u32]) -> bool {
    match l {
        LDiversity::Distinct(l) => hist.iter().filter(|&&c| c > 0).count() >= l,
        LDiversity::Entropy(l) => entropy(count, hist) >= l.ln() - 1e-12,
        LDiversity::Recursive { c, l } => recursive(c, l, hist),
    }
}

/// Shannon entropy (natural log) of a histogram.
pub(crate) fn entropy(count: u32, hist: &[u32]) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let n = f64::from(count);
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.ln()
        })
        .sum()
}

/// Recursive (c,l)-diversity: r1 < c · (r_l + … + r_m) with r sorted in decreasing order.
pub(crate) fn recursive(c: f64, l: usize, hist: &[u32]) -> bool {
    let mut r: Vec<u32> = hist.iter().copied().filter(|&x| x > 0).collect();
    if r.len() < l {
        return false;
    }
    r.sort_unstable_by(|a, b| b.cmp(a));
    let tail: u64 = r[l - 1..].iter().map(|&x| u64::from(x)).sum();
    f64::from(r[0]) < c * tail as f64
}

/// Equal-distance EMD: half the L1 distance between the class and table distributions.
pub(crate) fn emd_equal(count: u32, hist: &[u32], overall: &[f64]) -> f64 {
    let n = f64::from(count.max(1));
    0.5 * hist
        .iter()
        .zip(overall)
        .map(|(&c, &q)| (f64::from(c) / n - q).abs())
        .sum::<f64>()
}

/// Ordered-distance EMD: mean absolute cumulative difference over the value order.
pub(crate) fn emd_ordered(count: u32, hist: &[u32], overall: &[f64]) -> f64 {
    let m = hist.len();
    if m <= 1 {
        return 0.0;
    }
    let n = f64::from(count.max(1));
    let mut cum = 0.0;
    let mut total = 0.0;
    for (&c, &q) in hist.iter().zip(overall) {
        cum += f64::from(c) / n - q;
        total += cum.abs();
    }
    total / (m - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l_diversity_variants() {
        assert!(l_diverse(LDiversity::Distinct(2), 5, &[3, 2]));
        assert!(!l_diverse(LDiversity::Distinct(2), 5, &[5, 0]));
        // Entropy of (1/2, 1/2) is ln 2 exactly.
        assert!(l_diverse(LDiversity::Entropy(2.0), 4, &[2, 2]));
        assert!(!l_diverse(LDiversity::Entropy(2.0), 4, &[3, 1]));
        // (c=2, l=2): 3 < 2·2 holds, 5 < 2·1 does not.
        assert!(recursive(2.0, 2, &[3, 2]));
        assert!(!recursive(2.0, 2, &[5, 1]));
        assert!(!recursive(2.0, 3, &[5, 1]));
    }

    #[test]
    fn emd_values() {
        let overall = [0.5, 0.5];
        assert!((emd_equal(4, &[4, 0], &overall) - 0.5).abs() < 1e-12);
        assert!(emd_equal(4, &[2, 2], &overall).abs() < 1e-12);
        // Mass moved across the whole order costs more than mass moved one step.
        let o3 = [1.0 / 3.0; 3];
        let far = emd_ordered(3, &[3, 0, 0], &o3);
        let near = emd_ordered(3, &[1, 2, 0], &o3);
        assert!(far > near);
    }

    proptest::proptest! {
        /// The criteria on one class agree with the independent checker on the same rows.
        #[test]
        fn class_checks_agree_with_the_checker(
            class in proptest::collection::vec(0u32..5, 1..30),
            rest in proptest::collection::vec(0u32..5, 0..30),
            l in 1usize..4,
            c in 0.5f64..3.0,
        ) {
            let header = vec!["q".to_owned(), "s".to_owned()];
            let row = |q: &str, s: u32| vec![q.to_owned(), format!("{s}")];
            let rows: Vec<Vec<String>> = class.iter().map(|&s| row("a", s)).collect();
            let everyone: Vec<String> =
                class.iter().chain(&rest).map(|s| format!("{s}")).collect();
            let check = super::super::checker::check(&header, &rows, &["q"], Some("s"), Some(&everyone))
                .unwrap();
            // Histograms by rank: the values 0..5 are numbers, so rank is the value among
            // those present in the table.
            let mut present: Vec<u32> = class.iter().chain(&rest).copied().collect();
            present.sort_unstable();
            present.dedup();
            let rank = |v: u32| present.iter().position(|&p| p == v).unwrap();
            let mut hist = vec![0u32; present.len()];
            for &v in &class {
                hist[rank(v)] += 1;
            }
            let total = (class.len() + rest.len()) as f64;
            let mut overall = vec![0f64; present.len()];
            for &v in class.iter().chain(&rest) {
                overall[rank(v)] += 1.0 / total;
            }
            let n = class.len() as u32;
            proptest::prop_assert_eq!(
                l_diverse(LDiversity::Distinct(l), n, &hist),
                check.l_distinct() >= l
            );
            proptest::prop_assert_eq!(recursive(c, l, &hist), check.recursive(c, l));
            proptest::prop_assert!((entropy(n, &hist).exp() - check.l_entropy()).abs() < 1e-9);
            proptest::prop_assert!((emd_equal(n, &hist, &overall) - check.t_equal()).abs() < 1e-9);
            proptest::prop_assert!((emd_ordered(n, &hist, &overall) - check.t_ordered()).abs() < 1e-9);
        }
    }

    #[test]
    fn parameters_are_validated() {
        assert_eq!(
            Criteria::k_anonymity(0).validate().unwrap_err().code(),
            "anon.invalid_parameter"
        );
        let mut c = Criteria::k_anonymity(2);
        c.max_suppression = 1.5;
        assert!(c.validate().is_err());
        c.max_suppression = 0.1;
        c.l_diversity = Some(LDiversity::Distinct(0));
        assert!(c.validate().is_err());
        c.l_diversity = None;
        c.t_closeness = Some(TCloseness::EqualDistance(-0.1));
        assert!(c.validate().is_err());
    }
}
