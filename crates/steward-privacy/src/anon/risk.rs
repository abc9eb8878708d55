//! Re-identification risk of a release under the prosecutor, journalist and marketer models.
//!
//! A record in a class of `f` released rows is re-identified with probability `1/f` by a
//! prosecutor, who knows the target is in the release. A journalist only knows the target is
//! in the population, where the class has `F ≥ f` members: `1/F`. The marketer wants to
//! re-identify as many records as possible; the expected share is the average of `1/F` over
//! released records. `F` is estimated as `f / π` from the sampling fraction `π`; with `π = 1`
//! (the table is the population) journalist and prosecutor coincide.

/// Risk under one attacker model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RiskModel {
    /// The largest per-record risk.
    pub highest: f64,
    /// The mean per-record risk (for the marketer: the expected share re-identified).
    pub average: f64,
    /// Share of released records whose risk exceeds the threshold.
    pub records_at_risk: f64,
}

/// Risk of a release under the three models.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Risk {
    pub threshold: f64,
    pub population_fraction: f64,
    pub prosecutor: RiskModel,
    pub journalist: RiskModel,
    pub marketer: RiskModel,
}

pub(crate) fn compute(sizes: &[u32], threshold: f64, fraction: f64) -> Risk {
    let released: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
    let model = |risk_of: &dyn Fn(f64) -> f64| -> RiskModel {
        if released == 0 {
            return RiskModel::default();
        }
        let mut highest: f64 = 0.0;
        let mut total = 0.0;
        let mut at_risk = 0u64;
        for &s in sizes {
            let r = risk_of(f64::from(s));
            highest = highest.max(r);
            total += f64::from(s) * r;
            if r > threshold {
                at_risk += u64::from(s);
            }
        }
        RiskModel {
            highest,
            average: total / released as f64,
            records_at_risk: at_risk as f64 / released as f64,
        }
    };
    let prosecutor = model(&|f| 1.0 / f);
    let journalist = model(&|f| 1.0 / (f / fraction).max(f));
    Risk {
        threshold,
        population_fraction: fraction,
        prosecutor,
        journalist,
        marketer: journalist,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prosecutor_risk_of_known_classes() {
        let r = compute(&[2, 5, 5], 0.25, 1.0);
        assert_eq!(r.prosecutor.highest, 0.5);
        // Average over records: 3 classes / 12 records.
        assert!((r.prosecutor.average - 3.0 / 12.0).abs() < 1e-12);
        assert!((r.prosecutor.records_at_risk - 2.0 / 12.0).abs() < 1e-12);
        assert_eq!(r.journalist, r.prosecutor);
    }

    #[test]
    fn a_sample_lowers_journalist_risk() {
        let r = compute(&[2, 5, 5], 0.25, 0.1);
        assert!((r.journalist.highest - 0.05).abs() < 1e-12);
        assert_eq!(r.journalist.records_at_risk, 0.0);
        assert!(r.marketer.average < r.prosecutor.average);
    }
}
