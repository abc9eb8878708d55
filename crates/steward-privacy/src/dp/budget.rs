//! Privacy budgets and the accountant that refuses a release beyond them.
//!
//! Every release costs a pure-DP ε (discrete Laplace) or a zCDP ρ (discrete Gaussian). A
//! [`Budget`] caps both: pure releases add their ε to the pure total *and* their ε²/2 to the
//! zCDP total (a pure ε-DP release is ε²/2-zCDP), Gaussian releases add their ρ to the zCDP
//! total, so the zCDP total bounds the whole sequence and the pure total bounds the pure part.
//! Amounts are integer millionths: sums are exact.
//!
//! An [`Accountant`] holds several scopes (an advertiser and one of their campaigns) and
//! charges a cost to all of them or to none — a release that would overdraw any scope is
//! refused before any noise is drawn. A question asked again in the same canonical form gets
//! the same noisy answer (see [`super::noise`]), reveals nothing new and is not charged again:
//! the accountant remembers each paid question's digest.

use std::collections::{BTreeMap, BTreeSet};

use super::DpError;
use super::mechanism::{Epsilon, Rho};

/// What one release costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub epsilon: Epsilon,
    pub rho: Rho,
}

impl Cost {
    /// A pure ε-DP release (also ε²/2-zCDP).
    pub fn pure(epsilon: Epsilon) -> Cost {
        Cost {
            epsilon,
            rho: epsilon.as_rho(),
        }
    }

    /// A ρ-zCDP release.
    pub fn zcdp(rho: Rho) -> Cost {
        Cost {
            epsilon: Epsilon(0),
            rho,
        }
    }

    pub fn plus(self, other: Cost) -> Cost {
        Cost {
            epsilon: Epsilon(self.epsilon.0.saturating_add(other.epsilon.0)),
            rho: Rho(self.rho.0.saturating_add(other.rho.0)),
        }
    }
}

/// The caps of one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub epsilon: Epsilon,
    pub rho: Rho,
}

impl Budget {
    /// A pure-ε budget whose zCDP cap is what spending it all on pure releases would cost.
    pub fn pure(epsilon: Epsilon) -> Budget {
        Budget {
            epsilon,
            rho: epsilon.as_rho(),
        }
    }
}

/// One scope's budget and spending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub budget: Budget,
    pub spent: Cost,
}

impl Scope {
    pub fn remaining(&self) -> Cost {
        Cost {
            epsilon: Epsilon(self.budget.epsilon.0.saturating_sub(self.spent.epsilon.0)),
            rho: Rho(self.budget.rho.0.saturating_sub(self.spent.rho.0)),
        }
    }

    fn admits(&self, cost: Cost) -> bool {
        let e = self.spent.epsilon.0.checked_add(cost.epsilon.0);
        let r = self.spent.rho.0.checked_add(cost.rho.0);
        matches!((e, r), (Some(e), Some(r)) if e <= self.budget.epsilon.0 && r <= self.budget.rho.0)
    }
}

/// The outcome of a charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    /// Newly paid.
    Paid(Cost),
    /// The same question was paid before: its answer is the same, nothing new is spent.
    AlreadyPaid,
}

/// Budgets for named scopes, charged all-or-nothing.
#[derive(Clone, Debug, Default)]
pub struct Accountant {
    scopes: BTreeMap<String, Scope>,
    paid: BTreeSet<String>,
}

impl Accountant {
    pub fn new() -> Accountant {
        Accountant::default()
    }

    /// Adds (or replaces) a scope with what it has already spent.
    pub fn scope(&mut self, name: &str, budget: Budget, spent: Cost) -> &mut Accountant {
        self.scopes.insert(name.to_owned(), Scope { budget, spent });
        self
    }

    /// Records a question already paid for (loaded from storage).
    pub fn remember(&mut self, digest: &str) {
        self.paid.insert(digest.to_owned());
    }

    pub fn get(&self, name: &str) -> Option<&Scope> {
        self.scopes.get(name)
    }

    /// Whether `cost` fits every scope in `scopes` (no change).
    pub fn check(&self, scopes: &[&str], cost: Cost) -> Result<(), DpError> {
        for name in scopes {
            let scope = self
                .scopes
                .get(*name)
                .ok_or_else(|| DpError::UnknownScope((*name).to_owned()))?;
            if !scope.admits(cost) {
                let left = scope.remaining();
                return Err(DpError::BudgetExhausted {
                    scope: (*name).to_owned(),
                    requested: cost.epsilon.as_f64().max(cost.rho.as_f64()),
                    remaining_epsilon: left.epsilon.as_f64(),
                    remaining_rho: left.rho.as_f64(),
                });
            }
        }
        Ok(())
    }

    /// Charges `cost` for the question `digest` to every scope in `scopes`, or to none.
    pub fn charge(&mut self, scopes: &[&str], digest: &str, cost: Cost) -> Result<Charge, DpError> {
        if self.paid.contains(digest) {
            return Ok(Charge::AlreadyPaid);
        }
        self.check(scopes, cost)?;
        for name in scopes {
            if let Some(scope) = self.scopes.get_mut(*name) {
                scope.spent = scope.spent.plus(cost);
            }
        }
        self.paid.insert(digest.to_owned());
        Ok(Charge::Paid(cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_past_the_budget_is_refused_and_changes_nothing() {
        let mut a = Accountant::new();
        a.scope("adv", Budget::pure(Epsilon(1_000_000)), Cost::default());
        a.scope("camp", Budget::pure(Epsilon(600_000)), Cost::default());
        let half = Cost::pure(Epsilon(500_000));
        assert_eq!(
            a.charge(&["adv", "camp"], "q1", half).unwrap(),
            Charge::Paid(half)
        );
        let err = a.charge(&["adv", "camp"], "q2", half).unwrap_err();
        assert_eq!(err.code(), "dp.budget_exhausted");
        assert_eq!(
            a.get("adv").unwrap().spent,
            half,
            "the advertiser scope was not charged"
        );
        // Asking q1 again costs nothing.
        assert_eq!(
            a.charge(&["adv", "camp"], "q1", half).unwrap(),
            Charge::AlreadyPaid
        );
    }

    #[test]
    fn zcdp_and_pure_spending_share_the_zcdp_cap() {
        let mut a = Accountant::new();
        a.scope("s", Budget::pure(Epsilon(1_000_000)), Cost::default());
        // ρ cap is 0.5; a Gaussian release of ρ = 0.4 leaves room for ε with ε²/2 ≤ 0.1.
        a.charge(&["s"], "g", Cost::zcdp(Rho(400_000))).unwrap();
        assert!(a.charge(&["s"], "p", Cost::pure(Epsilon(500_000))).is_err());
        assert!(a.charge(&["s"], "p2", Cost::pure(Epsilon(400_000))).is_ok());
    }

    #[test]
    fn unknown_scopes_are_errors() {
        let mut a = Accountant::new();
        assert_eq!(
            a.charge(&["nope"], "q", Cost::default())
                .unwrap_err()
                .code(),
            "dp.unknown_scope"
        );
    }
}
