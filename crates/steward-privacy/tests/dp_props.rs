//! The DP samplers against their exact probability mass functions (chi-square with fixed
//! seeds), symmetry, consistent noise for repeated questions, and the accountant never
//! letting spending pass a budget.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chacha20::ChaCha20Rng;
use proptest::prelude::*;
use rand_core::SeedableRng;
use steward_privacy::dp::sample::{
    Rational, discrete_gaussian, discrete_gaussian_pmf, discrete_laplace, discrete_laplace_pmf,
};
use steward_privacy::dp::{
    Accountant, Budget, CanonicalQuery, Charge, Cost, DiscreteLaplace, Epsilon, NoiseKey, Rho,
};

/// Chi-square statistic of `samples` against `pmf`, pooling the tails into two bins so every
/// bin expects at least 5; returns (statistic, degrees of freedom).
fn chi_square(samples: &[i64], pmf: impl Fn(i64) -> f64) -> (f64, usize) {
    let n = samples.len() as f64;
    let mut observed: BTreeMap<i64, f64> = BTreeMap::new();
    for &x in samples {
        *observed.entry(x).or_insert(0.0) += 1.0;
    }
    // Central range where each value expects ≥ 5.
    let mut lo = 0i64;
    while pmf(lo - 1) * n >= 5.0 {
        lo -= 1;
    }
    let mut hi = 0i64;
    while pmf(hi + 1) * n >= 5.0 {
        hi += 1;
    }
    let mut stat = 0.0;
    let mut bins = 0;
    let mut inside_p = 0.0;
    for x in lo..=hi {
        let e = pmf(x) * n;
        let o = observed.get(&x).copied().unwrap_or(0.0);
        stat += (o - e) * (o - e) / e;
        inside_p += pmf(x);
        bins += 1;
    }
    // Two tails, split by symmetry.
    let tail_e = (1.0 - inside_p) * n / 2.0;
    if tail_e >= 5.0 {
        let below: f64 = observed.range(..lo).map(|(_, c)| c).sum();
        let above: f64 = observed.range(hi + 1..).map(|(_, c)| c).sum();
        stat += (below - tail_e).powi(2) / tail_e + (above - tail_e).powi(2) / tail_e;
        bins += 2;
    }
    (stat, bins - 1)
}

/// The 99.9th percentile of chi-square with `df` degrees of freedom (Wilson–Hilferty).
fn chi_square_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.09; // 99.9 %
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

#[test]
fn discrete_laplace_matches_its_pmf() {
    for (num, den, seed) in [(1u64, 1u64, 1u8), (5, 2, 2), (10, 1, 3), (7, 3, 4)] {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        let scale = Rational::new(num, den).unwrap();
        let samples: Vec<i64> = (0..100_000)
            .map(|_| discrete_laplace(&mut rng, scale))
            .collect();
        let b = num as f64 / den as f64;
        let (stat, df) = chi_square(&samples, |x| discrete_laplace_pmf(b, x));
        assert!(
            stat < chi_square_critical(df),
            "scale {b}: chi-square {stat:.1} with {df} df exceeds {:.1}",
            chi_square_critical(df)
        );
    }
}

#[test]
fn discrete_gaussian_matches_its_pmf() {
    for (num, den, seed) in [(1u64, 1u64, 11u8), (9, 2, 12), (25, 1, 13), (100, 3, 14)] {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        let s2 = Rational::new(num, den).unwrap();
        let samples: Vec<i64> = (0..100_000)
            .map(|_| discrete_gaussian(&mut rng, s2))
            .collect();
        let v = num as f64 / den as f64;
        let (stat, df) = chi_square(&samples, |x| discrete_gaussian_pmf(v, x));
        assert!(
            stat < chi_square_critical(df),
            "σ² {v}: chi-square {stat:.1} with {df} df exceeds {:.1}",
            chi_square_critical(df)
        );
        let var = samples.iter().map(|&x| (x * x) as f64).sum::<f64>() / samples.len() as f64;
        assert!(
            (var - v).abs() < 0.05 * v + 0.05,
            "variance {var} vs σ² {v}"
        );
    }
}

#[test]
fn a_wrong_distribution_fails_the_same_test() {
    // The test has power: Laplace samples of scale 2 do not pass for scale 2.5.
    let mut rng = ChaCha20Rng::from_seed([21; 32]);
    let scale = Rational::new(2, 1).unwrap();
    let samples: Vec<i64> = (0..100_000)
        .map(|_| discrete_laplace(&mut rng, scale))
        .collect();
    let (stat, df) = chi_square(&samples, |x| discrete_laplace_pmf(2.5, x));
    assert!(stat > chi_square_critical(df));
}

#[test]
fn the_samplers_are_symmetric() {
    let mut rng = ChaCha20Rng::from_seed([31; 32]);
    let n = 200_000;
    let lap = Rational::new(3, 1).unwrap();
    let s: Vec<i64> = (0..n).map(|_| discrete_laplace(&mut rng, lap)).collect();
    let pos = s.iter().filter(|&&x| x > 0).count() as f64;
    let neg = s.iter().filter(|&&x| x < 0).count() as f64;
    let sd = (pos + neg).sqrt();
    assert!(
        (pos - neg).abs() < 5.0 * sd,
        "{pos} positive vs {neg} negative"
    );
    let mean = s.iter().sum::<i64>() as f64 / n as f64;
    assert!(mean.abs() < 0.05, "mean {mean}");
}

#[test]
fn averaging_a_repeated_question_gains_nothing() {
    let key = NoiseKey::from_bytes([42; 32]);
    let m = DiscreteLaplace::new(Epsilon(100_000), 1).unwrap(); // scale 10
    let q = CanonicalQuery::new()
        .with("campaign", 7)
        .with("metric", "clicks")
        .with("mechanism", "dlap");
    let true_count = 1234;
    let answers: Vec<i64> = (0..1000)
        .map(|_| m.release(&mut key.rng(&q), true_count))
        .collect();
    assert!(
        answers.iter().all(|&a| a == answers[0]),
        "every repetition is the same answer"
    );
    // The attacker's average is that one answer: its error is not reduced at all.
    let avg = answers.iter().sum::<i64>() as f64 / answers.len() as f64;
    assert_eq!(avg, answers[0] as f64);
    // Whereas fresh noise would have averaged away (the contrast this test guards).
    let fresh: f64 = (0..1000)
        .map(|i| m.release(&mut key.rng(&q.clone().with("nonce", i)), true_count) as f64)
        .sum::<f64>()
        / 1000.0;
    assert!((fresh - true_count as f64).abs() < 3.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_accountant_never_exceeds_a_budget(
        budget in 1u64..5_000_000,
        charges in proptest::collection::vec((1u64..2_000_000, any::<bool>(), 0u8..20), 1..60),
    ) {
        let mut a = Accountant::new();
        a.scope("adv", Budget::pure(Epsilon(budget)), Cost::default());
        a.scope("camp", Budget::pure(Epsilon(budget / 2 + 1)), Cost::default());
        for (amount, gaussian, q) in charges {
            let cost = if gaussian { Cost::zcdp(Rho(amount / 4 + 1)) } else { Cost::pure(Epsilon(amount)) };
            let digest = format!("q{q}-{amount}-{gaussian}");
            let before = a.get("camp").unwrap().spent;
            match a.charge(&["adv", "camp"], &digest, cost) {
                Ok(Charge::Paid(c)) => prop_assert_eq!(c, cost),
                Ok(Charge::AlreadyPaid) => prop_assert_eq!(a.get("camp").unwrap().spent, before),
                Err(e) => {
                    prop_assert_eq!(e.code(), "dp.budget_exhausted");
                    prop_assert_eq!(a.get("camp").unwrap().spent, before);
                }
            }
            for s in ["adv", "camp"] {
                let scope = a.get(s).unwrap();
                prop_assert!(scope.spent.epsilon <= scope.budget.epsilon);
                prop_assert!(scope.spent.rho <= scope.budget.rho);
            }
        }
    }

    #[test]
    fn the_same_question_always_gets_the_same_noise(
        key in any::<[u8; 32]>(),
        campaign in 0u64..1000,
        value in -1000i64..1_000_000,
        eps in 1u64..5_000_000,
    ) {
        let key = NoiseKey::from_bytes(key);
        let m = DiscreteLaplace::new(Epsilon(eps), 1).unwrap();
        let q = CanonicalQuery::new().with("campaign", campaign).with("m", m.epsilon.0);
        prop_assert_eq!(m.release(&mut key.rng(&q), value), m.release(&mut key.rng(&q), value));
    }

    #[test]
    fn gaussian_noise_is_symmetric_in_distribution(seed in any::<[u8; 32]>()) {
        // Over one seed's 2,000 draws, the sign balance stays within 5 standard deviations.
        let mut rng = ChaCha20Rng::from_seed(seed);
        let s2 = Rational::new(16, 1).unwrap();
        let s: Vec<i64> = (0..2000).map(|_| discrete_gaussian(&mut rng, s2)).collect();
        let pos = s.iter().filter(|&&x| x > 0).count() as f64;
        let neg = s.iter().filter(|&&x| x < 0).count() as f64;
        prop_assert!((pos - neg).abs() < 5.0 * (pos + neg).sqrt());
    }
}
