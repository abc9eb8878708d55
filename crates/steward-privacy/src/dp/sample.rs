//! Exact samplers over the integers: Bernoulli(p) for rational p, Bernoulli(exp(-γ)) for
//! rational γ, the discrete Laplace and the discrete Gaussian (Canonne, Kamath, Steinke 2020,
//! Algorithms 1–3), using nothing but uniform integers from the random source.
//!
//! No floating-point number enters a sampler, so none of the leaks Mironov (2012) found in
//! textbook Laplace (the pattern of representable doubles betraying the true value) can occur:
//! the output distribution is exactly the stated one for the stated rational parameters.
//! Intermediate products use `u128`; the only place a product could overflow is the discrete
//! Gaussian's acceptance exponent for an outlandish candidate, where the exponent exceeds 2^7
//! and the candidate is rejected (accepting it would have probability below e^-128).

use rand_core::Rng;

use super::DpError;

/// A uniform integer in `[0, n)`, `n > 0`, by rejection (no modulo bias).
pub fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: u128) -> u128 {
    if n <= 1 {
        return 0;
    }
    if let Ok(n64) = u64::try_from(n) {
        // Lemire-free simple rejection on the smallest power-of-two mask.
        let mask = u64::MAX >> (n64 - 1).leading_zeros();
        loop {
            let x = rng.next_u64() & mask;
            if x < n64 {
                return u128::from(x);
            }
        }
    }
    let mask = u128::MAX >> (n - 1).leading_zeros();
    loop {
        let x = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) & mask;
        if x < n {
            return x;
        }
    }
}

/// Bernoulli(num / den), `0 ≤ num ≤ den`, `den > 0`.
pub fn bernoulli_rational<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> bool {
    if num >= den {
        return true;
    }
    uniform_below(rng, den) < num
}

/// Bernoulli(exp(-num/den)) for `num/den ≥ 0` (CKS 2020, Algorithm 1), exactly.
pub fn bernoulli_exp<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> bool {
    if den == 0 {
        return false;
    }
    if num <= den {
        return bernoulli_exp_le1(rng, num, den);
    }
    // exp(-γ) = exp(-1)^floor(γ) · exp(-(γ - floor(γ))).
    let whole = num / den;
    let mut k = 0u128;
    while k < whole {
        if !bernoulli_exp_le1(rng, 1, 1) {
            return false;
        }
        k += 1;
    }
    bernoulli_exp_le1(rng, num % den, den)
}

/// Bernoulli(exp(-γ)) for `γ = num/den ∈ [0, 1]`: draw A_k ~ Bernoulli(γ/k) for k = 1, 2, ...
/// until one is 0; the answer is whether that k is odd.
fn bernoulli_exp_le1<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> bool {
    let mut k: u128 = 1;
    loop {
        let Some(d) = den.checked_mul(k) else {
            // γ/k is below 1/2^64 of the denominator's range: A_k is 0 with certainty for any
            // practical purpose, and this k decides.
            return k % 2 == 1;
        };
        if !bernoulli_rational(rng, num, d) {
            return k % 2 == 1;
        }
        k += 1;
    }
}

/// A rational `num / den` with both parts positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rational {
    pub num: u64,
    pub den: u64,
}

impl Rational {
    pub fn new(num: u64, den: u64) -> Result<Rational, DpError> {
        if num == 0 || den == 0 {
            return Err(DpError::InvalidParameter(format!(
                "a scale must be a positive rational, not `{num}/{den}`"
            )));
        }
        Ok(Rational { num, den })
    }

    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

/// A draw from the discrete Laplace distribution with scale `t = scale.num / scale.den`:
/// P(x) ∝ exp(-|x| / t) over all integers x (CKS 2020, Algorithm 2).
pub fn discrete_laplace<R: Rng + ?Sized>(rng: &mut R, scale: Rational) -> i64 {
    // Algorithm 2 samples Lap_Z(t/s) for positive integers t, s.
    let t = u128::from(scale.num);
    let s = u128::from(scale.den);
    loop {
        let u = uniform_below(rng, t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let x = u + t * v;
        let y = x / s;
        let negative = rng.next_u64() & 1 == 1;
        if negative && y == 0 {
            continue;
        }
        let y = i64::try_from(y).unwrap_or(i64::MAX);
        return if negative { -y } else { y };
    }
}

/// A draw from the discrete Gaussian N_Z(0, σ²) with `σ² = sigma2.num / sigma2.den`:
/// P(x) ∝ exp(-x² / 2σ²) over all integers x (CKS 2020, Algorithm 3).
pub fn discrete_gaussian<R: Rng + ?Sized>(rng: &mut R, sigma2: Rational) -> i64 {
    let a = u128::from(sigma2.num);
    let b = u128::from(sigma2.den);
    // t = floor(σ) + 1, with floor(σ) = the largest integer r with r² ≤ a/b.
    let t = isqrt_floor_ratio(a, b) + 1;
    let lap = Rational {
        num: u64::try_from(t).unwrap_or(u64::MAX),
        den: 1,
    };
    loop {
        let y = discrete_laplace(rng, lap);
        let abs = u128::from(y.unsigned_abs());
        // Accept with probability exp(-(|y| - σ²/t)² / 2σ²) = exp(-(|y|·b·t - a)² / (2·a·b·t²)).
        let Some(ybt) = abs.checked_mul(b).and_then(|v| v.checked_mul(t)) else {
            continue;
        };
        let diff = ybt.abs_diff(a);
        let (Some(num), Some(den)) = (
            diff.checked_mul(diff),
            a.checked_mul(b)
                .and_then(|v| v.checked_mul(2))
                .and_then(|v| v.checked_mul(t))
                .and_then(|v| v.checked_mul(t)),
        ) else {
            continue;
        };
        if bernoulli_exp(rng, num, den) {
            return y;
        }
    }
}

/// floor(sqrt(a / b)) for b > 0, exactly.
fn isqrt_floor_ratio(a: u128, b: u128) -> u128 {
    if b == 0 {
        return 0;
    }
    // Largest r with r² · b ≤ a, by binary search.
    let mut lo: u128 = 0;
    let mut hi: u128 = 1u128 << 64;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let fits = mid
            .checked_mul(mid)
            .and_then(|m| m.checked_mul(b))
            .is_some_and(|m| m <= a);
        if fits {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The exact probability mass of the discrete Laplace at `x` (for tests and accuracy tables;
/// computed in floating point, never used to sample).
pub fn discrete_laplace_pmf(scale: f64, x: i64) -> f64 {
    let a = (-1.0 / scale).exp();
    (1.0 - a) / (1.0 + a) * a.powf(x.unsigned_abs() as f64)
}

/// The probability mass of the discrete Gaussian at `x` (for tests; floating point).
pub fn discrete_gaussian_pmf(sigma2: f64, x: i64) -> f64 {
    let bound = (sigma2.sqrt() * 40.0) as i64 + 40;
    let z: f64 = (-bound..=bound)
        .map(|y| (-((y * y) as f64) / (2.0 * sigma2)).exp())
        .sum();
    (-((x * x) as f64) / (2.0 * sigma2)).exp() / z
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn integer_square_roots_are_exact() {
        assert_eq!(isqrt_floor_ratio(0, 1), 0);
        assert_eq!(isqrt_floor_ratio(15, 1), 3);
        assert_eq!(isqrt_floor_ratio(16, 1), 4);
        assert_eq!(isqrt_floor_ratio(9, 4), 1); // sqrt(2.25) = 1.5
        assert_eq!(isqrt_floor_ratio(100, 1), 10);
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        for n in [1u128, 2, 3, 7, 1000, 1 << 70] {
            for _ in 0..200 {
                assert!(uniform_below(&mut rng, n) < n);
            }
        }
    }

    #[test]
    fn bernoulli_exp_of_zero_is_always_true_and_large_gamma_almost_never() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        assert!((0..1000).all(|_| bernoulli_exp(&mut rng, 0, 5)));
        let hits = (0..1000).filter(|_| bernoulli_exp(&mut rng, 50, 1)).count();
        assert_eq!(hits, 0);
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        for (num, den) in [(1u128, 2u128), (1, 1), (3, 2), (7, 3)] {
            let n = 40_000;
            let hits = (0..n).filter(|_| bernoulli_exp(&mut rng, num, den)).count();
            let p = (-(num as f64) / den as f64).exp();
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            let got = hits as f64 / n as f64;
            assert!((got - p).abs() < 5.0 * sd, "γ={num}/{den}: {got} vs {p}");
        }
    }
}
