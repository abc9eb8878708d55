//! Privacy parameters in exact integer units and the two mechanisms built on the samplers:
//! the discrete Laplace (pure ε-DP) and the discrete Gaussian (ρ-zCDP).
//!
//! ε and ρ are carried as integer millionths ([`Epsilon`], [`Rho`]) so that budgets add up
//! exactly — no floating-point drift can let a sum of charges creep past a budget — and so
//! that the mechanisms' scales are exact rationals: the discrete Laplace with sensitivity Δ
//! and ε = e/10⁶ has scale Δ·10⁶/e and is exactly ε-DP for L1 sensitivity Δ; the discrete
//! Gaussian with L2 sensitivity Δ and ρ = r/10⁶ has σ² = Δ²·10⁶/(2r) and is exactly ρ-zCDP
//! (CKS 2020, Theorem 4).

use std::fmt;

use rand_core::Rng;

use super::DpError;
use super::sample::{Rational, discrete_gaussian, discrete_laplace};

/// One millionth: the unit of ε and ρ.
pub const MICRO: u64 = 1_000_000;

/// A pure-DP privacy loss ε, in millionths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epsilon(pub u64);

impl Epsilon {
    /// ε from a decimal, rounded to the nearest millionth; must be in (0, 100].
    pub fn from_f64(eps: f64) -> Result<Epsilon, DpError> {
        if !(eps.is_finite() && eps > 0.0 && eps <= 100.0) {
            return Err(DpError::InvalidParameter(format!(
                "ε must be in (0, 100], not `{eps}`"
            )));
        }
        let micro = (eps * MICRO as f64).round() as u64;
        if micro == 0 {
            return Err(DpError::InvalidParameter(format!("ε `{eps}` is too small")));
        }
        Ok(Epsilon(micro))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICRO as f64
    }

    /// The zCDP cost of a pure ε-DP release: ρ = ε²/2 (Bun and Steinke 2016), rounded up.
    pub fn as_rho(self) -> Rho {
        let sq = u128::from(self.0) * u128::from(self.0);
        let den = 2 * u128::from(MICRO);
        Rho(u64::try_from(sq.div_ceil(den)).unwrap_or(u64::MAX))
    }

    /// Splits ε into `parts` equal shares (rounded down: never more than the whole).
    pub fn split(self, parts: u64) -> Epsilon {
        Epsilon(self.0 / parts.max(1))
    }
}

impl fmt::Display for Epsilon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// A zCDP privacy loss ρ, in millionths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rho(pub u64);

impl Rho {
    pub fn from_f64(rho: f64) -> Result<Rho, DpError> {
        if !(rho.is_finite() && rho > 0.0 && rho <= 100.0) {
            return Err(DpError::InvalidParameter(format!(
                "ρ must be in (0, 100], not `{rho}`"
            )));
        }
        let micro = (rho * MICRO as f64).round() as u64;
        if micro == 0 {
            return Err(DpError::InvalidParameter(format!("ρ `{rho}` is too small")));
        }
        Ok(Rho(micro))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICRO as f64
    }

    /// The (ε, δ)-DP guarantee ρ-zCDP implies: ε = ρ + 2·sqrt(ρ·ln(1/δ)) (reporting only).
    pub fn to_epsilon_delta(self, delta: f64) -> f64 {
        let r = self.as_f64();
        r + 2.0 * (r * (1.0 / delta).ln()).sqrt()
    }
}

/// The discrete Laplace mechanism for integer queries of L1 sensitivity `sensitivity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscreteLaplace {
    pub epsilon: Epsilon,
    pub sensitivity: u64,
    scale: Rational,
}

impl DiscreteLaplace {
    pub fn new(epsilon: Epsilon, sensitivity: u64) -> Result<DiscreteLaplace, DpError> {
        if sensitivity == 0 {
            return Err(DpError::InvalidParameter(
                "sensitivity must be at least 1".to_owned(),
            ));
        }
        let num = sensitivity.checked_mul(MICRO).ok_or_else(|| {
            DpError::InvalidParameter(format!("sensitivity `{sensitivity}` is too large"))
        })?;
        Ok(DiscreteLaplace {
            epsilon,
            sensitivity,
            scale: Rational::new(num, epsilon.0)?,
        })
    }

    /// The scale b = Δ/ε: P(x) ∝ exp(-|x|/b).
    pub fn scale(&self) -> f64 {
        self.scale.to_f64()
    }

    /// `value` + noise.
    pub fn release<R: Rng + ?Sized>(&self, rng: &mut R, value: i64) -> i64 {
        value.saturating_add(discrete_laplace(rng, self.scale))
    }

    /// The expected absolute error E|X| = 2a/(1-a²) with a = exp(-1/b).
    pub fn expected_abs_error(&self) -> f64 {
        let a = (-1.0 / self.scale()).exp();
        2.0 * a / (1.0 - a * a)
    }

    /// The smallest threshold τ such that a partition only one member contributes to (at most
    /// `sensitivity`) is released with probability at most `delta` when released only if its
    /// noisy count reaches τ: τ = Δ + ceil(b·ln(1/δ)), since P(noise ≥ k) = a^k/(1+a) ≤ a^k
    /// with a = exp(-1/b) (Korolova et al. 2009, here for the discrete Laplace).
    pub fn partition_threshold(&self, delta: f64) -> i64 {
        let b = self.scale();
        let extra = (b * (1.0 / delta).ln()).ceil();
        i64::try_from(self.sensitivity).unwrap_or(i64::MAX)
            + if extra.is_finite() && extra > 0.0 {
                extra as i64
            } else {
                0
            }
    }
}

/// The discrete Gaussian mechanism for integer queries of L2 sensitivity `sensitivity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscreteGaussian {
    pub rho: Rho,
    pub sensitivity: u64,
    sigma2: Rational,
}

impl DiscreteGaussian {
    pub fn new(rho: Rho, sensitivity: u64) -> Result<DiscreteGaussian, DpError> {
        if sensitivity == 0 {
            return Err(DpError::InvalidParameter(
                "sensitivity must be at least 1".to_owned(),
            ));
        }
        let num = sensitivity
            .checked_mul(sensitivity)
            .and_then(|s| s.checked_mul(MICRO))
            .ok_or_else(|| {
                DpError::InvalidParameter(format!("sensitivity `{sensitivity}` is too large"))
            })?;
        let den = rho
            .0
            .checked_mul(2)
            .ok_or_else(|| DpError::InvalidParameter("ρ is too large".to_owned()))?;
        Ok(DiscreteGaussian {
            rho,
            sensitivity,
            sigma2: Rational::new(num, den)?,
        })
    }

    /// σ².
    pub fn variance(&self) -> f64 {
        self.sigma2.to_f64()
    }

    pub fn release<R: Rng + ?Sized>(&self, rng: &mut R, value: i64) -> i64 {
        value.saturating_add(discrete_gaussian(rng, self.sigma2))
    }
}

/// Either mechanism, as a report or an estimate names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Laplace(DiscreteLaplace),
    Gaussian(DiscreteGaussian),
}

impl Mechanism {
    pub fn release<R: Rng + ?Sized>(&self, rng: &mut R, value: i64) -> i64 {
        match self {
            Mechanism::Laplace(m) => m.release(rng, value),
            Mechanism::Gaussian(m) => m.release(rng, value),
        }
    }

    /// A canonical name with the parameters, part of every query's canonical form (so a
    /// question asked under another ε is another question with other noise).
    pub fn canonical(&self) -> String {
        match self {
            Mechanism::Laplace(m) => format!("dlap:eps_micro={}:l1={}", m.epsilon.0, m.sensitivity),
            Mechanism::Gaussian(m) => format!("dgauss:rho_micro={}:l2={}", m.rho.0, m.sensitivity),
        }
    }

    /// What the release costs.
    pub fn cost(&self) -> super::budget::Cost {
        match self {
            Mechanism::Laplace(m) => super::budget::Cost::pure(m.epsilon),
            Mechanism::Gaussian(m) => super::budget::Cost::zcdp(m.rho),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_exact_in_millionths() {
        assert_eq!(Epsilon::from_f64(0.1).unwrap(), Epsilon(100_000));
        assert_eq!(Epsilon::from_f64(1.0).unwrap().as_rho(), Rho(500_000));
        assert!(Epsilon::from_f64(0.0).is_err());
        assert!(Epsilon::from_f64(f64::NAN).is_err());
        assert!(Epsilon::from_f64(-1.0).is_err());
    }

    #[test]
    fn scales_follow_the_parameters() {
        let m = DiscreteLaplace::new(Epsilon(500_000), 3).unwrap();
        assert!((m.scale() - 6.0).abs() < 1e-12);
        let g = DiscreteGaussian::new(Rho(500_000), 2).unwrap();
        assert!((g.variance() - 4.0).abs() < 1e-12);
        assert!(DiscreteLaplace::new(Epsilon(1), 0).is_err());
    }

    #[test]
    fn a_lone_member_rarely_passes_the_partition_threshold() {
        let m = DiscreteLaplace::new(Epsilon(1_000_000), 1).unwrap();
        let tau = m.partition_threshold(1e-6);
        // P(1 + noise ≥ τ) ≤ δ
        let tail: f64 = ((tau - 1)..2000)
            .map(|x| super::super::sample::discrete_laplace_pmf(m.scale(), x))
            .sum();
        assert!(tail <= 1e-6, "tail {tail} at τ={tau}");
    }
}
