//! Policy diff: which cells change between two versions of a policy, and for how many members
//! of a consent population each change alters the decision.
//!
//! A change is reported per (purpose, category) with the visibilities it concerns grouped, so
//! a reviewer reads "ads.targeting × member.profile.skills (public, connections): audience
//! with consent [ads.personalized] → denied" rather than hundreds of raw cells.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::consent::ConsentSet;
use crate::policy::{CellRule, Policy};
use crate::taxonomy::{CategoryId, Form, PurposeId, Visibility};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DiffError {
    #[error("the two policies were compiled against different taxonomies")]
    TaxonomyMismatch,
}

impl DiffError {
    pub fn code(&self) -> &'static str {
        "policy.diff_taxonomy_mismatch"
    }
}

/// A candidate rule of a cell, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct RuleSummary {
    pub rule: String,
    pub form: &'static str,
    pub consent: Vec<String>,
}

/// How a change moves a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Denied for everyone before, allowed for some now.
    Opened,
    /// Allowed for some before, denied for everyone now.
    Closed,
    /// Allowed before and after, with other forms, consent or rules.
    Changed,
}

/// One change, for one (purpose, category) and the visibilities it concerns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CellChange {
    pub purpose: String,
    pub category: String,
    pub visibilities: Vec<&'static str>,
    pub kind: ChangeKind,
    pub before: Vec<RuleSummary>,
    pub after: Vec<RuleSummary>,
    /// Members of the population whose decision differs in at least one of these cells.
    pub affected_members: Option<u64>,
}

/// A consent population: distinct consent sets with how many members hold each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Population {
    counts: BTreeMap<ConsentSet, u64>,
}

impl Population {
    pub fn new() -> Population {
        Population::default()
    }
    pub fn add(&mut self, consent: ConsentSet, members: u64) {
        *self.counts.entry(consent).or_insert(0) += members;
    }
    pub fn members(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn distinct_sets(&self) -> usize {
        self.counts.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = (ConsentSet, u64)> + '_ {
        self.counts.iter().map(|(c, n)| (*c, *n))
    }
}

/// The whole diff.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicyDiff {
    pub old_version: String,
    pub new_version: String,
    pub cells_changed: usize,
    pub opened: usize,
    pub closed: usize,
    pub changed: usize,
    pub changes: Vec<CellChange>,
    /// Members whose decision changes in any cell (when a population was given).
    pub members_affected: Option<u64>,
    pub population: Option<u64>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn summarize(policy: &Policy, rules: &[CellRule]) -> Vec<RuleSummary> {
    let t = policy.taxonomy();
    rules
        .iter()
        .map(|e| RuleSummary {
            rule: policy.rule_name(e.rule).to_owned(),
            form: e.form.as_str(),
            consent: t
                .consent_key_ids()
                .filter(|k| e.required & (1u64 << k.index()) != 0)
                .map(|k| t.consent_key_name(k).to_owned())
                .collect(),
        })
        .collect()
}

fn outcome(
    policy: &Policy,
    p: PurposeId,
    c: CategoryId,
    v: Visibility,
    consent: ConsentSet,
) -> Option<Form> {
    policy.decide(p, c, v, consent).form()
}

/// Compares `old` and `new` cell by cell.
pub fn diff(
    old: &Policy,
    new: &Policy,
    population: Option<&Population>,
) -> Result<PolicyDiff, DiffError> {
    if old.taxonomy() != new.taxonomy() {
        return Err(DiffError::TaxonomyMismatch);
    }
    let t = old.taxonomy();
    let mut changes = Vec::new();
    let mut cells_changed = 0;
    // Members affected anywhere: a consent set counts once even if many cells change for it.
    let mut affected_sets: BTreeMap<ConsentSet, u64> = BTreeMap::new();

    for p in t.purpose_ids() {
        for c in t.category_ids() {
            // Group visibilities with identical before/after rule lists.
            let mut groups: Vec<(Vec<RuleSummary>, Vec<RuleSummary>, Vec<Visibility>)> = Vec::new();
            for v in Visibility::ALL {
                let before = summarize(old, old.cell_rules(p, c, v));
                let after = summarize(new, new.cell_rules(p, c, v));
                if before == after {
                    continue;
                }
                cells_changed += 1;
                match groups.iter_mut().find(|g| g.0 == before && g.1 == after) {
                    Some(g) => g.2.push(v),
                    None => groups.push((before, after, vec![v])),
                }
            }
            for (before, after, vis) in groups {
                let kind = match (before.is_empty(), after.is_empty()) {
                    (true, _) => ChangeKind::Opened,
                    (_, true) => ChangeKind::Closed,
                    _ => ChangeKind::Changed,
                };
                let affected_members = population.map(|pop| {
                    pop.iter()
                        .filter(|(consent, _)| {
                            vis.iter().any(|&v| {
                                outcome(old, p, c, v, *consent) != outcome(new, p, c, v, *consent)
                            })
                        })
                        .map(|(consent, n)| {
                            affected_sets.insert(consent, n);
                            n
                        })
                        .sum()
                });
                changes.push(CellChange {
                    purpose: t.purpose_name(p).to_owned(),
                    category: t.category_name(c).to_owned(),
                    visibilities: vis.iter().map(|v| v.as_str()).collect(),
                    kind,
                    before,
                    after,
                    affected_members,
                });
            }
        }
    }
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    Ok(PolicyDiff {
        old_version: old.version().to_owned(),
        new_version: new.version().to_owned(),
        cells_changed,
        opened: count(ChangeKind::Opened),
        closed: count(ChangeKind::Closed),
        changed: count(ChangeKind::Changed),
        members_affected: population.map(|_| affected_sets.values().sum()),
        population: population.map(Population::members),
        changes,
    })
}
