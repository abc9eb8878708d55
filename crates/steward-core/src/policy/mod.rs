//! The purpose policy: parse, compile, decide, explain, diff and verify.
//!
//! A policy file is a list of allow-rules; anything no rule allows is denied. Compilation
//! expands every rule over the (purpose × category × visibility) space into a dense table
//! whose cells hold the candidate rules in file order, each as a consent bit mask and a form.
//! A decision is then one index computation and a scan of (almost always) zero to two
//! entries: no allocation, no string comparison, no hashing.
//!
//! Semantics (shared with the naive reference evaluator in [`reference`], which the property
//! tests compare against): the first rule in file order that covers the cell and whose consent
//! keys are all granted decides the form; if rules cover the cell but none has its consent, the
//! denial names the first such rule and its lowest-numbered missing key; otherwise the request
//! is denied by default.

pub mod diff;
mod file;
pub mod invariants;
pub mod reference;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use file::{MAX_RULES, PolicyFile, Rule};

use crate::consent::ConsentSet;
use crate::error::{CellName, PolicyError};
use crate::taxonomy::{
    CategoryId, ConsentKey, Form, PurposeId, Taxonomy, Visibility, name_is_under,
};

/// The built-in default policy, embedded so `steward` works with no files around it.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../../policies/default.toml");

/// Index of a rule in its policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u16);

impl RuleId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Why a request was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// No rule covers the cell: deny by default.
    NoRule,
    /// A rule covers the cell but the member has not granted `key`.
    MissingConsent { rule: RuleId, key: ConsentKey },
}

/// The answer to "may purpose P receive category C (with visibility V) of this member?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow { form: Form, rule: RuleId },
    Deny(Denial),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
    /// The form allowed, if any.
    pub fn form(self) -> Option<Form> {
        match self {
            Decision::Allow { form, .. } => Some(form),
            Decision::Deny(_) => None,
        }
    }
    /// The rule that decided, if any.
    pub fn rule(self) -> Option<RuleId> {
        match self {
            Decision::Allow { rule, .. } | Decision::Deny(Denial::MissingConsent { rule, .. }) => {
                Some(rule)
            }
            Decision::Deny(Denial::NoRule) => None,
        }
    }
    /// Whether the decision lets the purpose receive the data in `requested` form.
    pub fn permits(self, requested: Form) -> bool {
        self.form().is_some_and(|f| f.permits(requested))
    }
}

/// One candidate rule of a cell, as compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellRule {
    /// Consent keys that must all be granted, as a bit mask.
    pub required: u64,
    pub form: Form,
    pub rule: RuleId,
}

/// A decision in words, for people and for `--json`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    pub allowed: bool,
    pub form: Option<&'static str>,
    pub rule: Option<String>,
    pub missing_consent: Option<String>,
    pub reason: String,
    pub purpose: String,
    pub category: String,
    pub visibility: &'static str,
    pub policy_version: String,
}

/// A compiled, verified policy.
#[derive(Clone, Debug)]
pub struct Policy {
    taxonomy: Arc<Taxonomy>,
    file: PolicyFile,
    digest: [u8; 32],
    n_categories: usize,
    n_purposes: usize,
    /// `offsets[cell]..offsets[cell + 1]` indexes `entries`; cell =
    /// `(purpose * n_categories + category) * 5 + visibility`.
    offsets: Vec<u32>,
    entries: Vec<CellRule>,
}

impl Policy {
    /// Parses, compiles and verifies the built-in invariants.
    pub fn load(taxonomy: Arc<Taxonomy>, file: &str, source: &str) -> Result<Policy, PolicyError> {
        let parsed = PolicyFile::parse(&taxonomy, file, source)?;
        let policy = Policy::compile_unverified(taxonomy, parsed, source.as_bytes());
        policy.verify()?;
        Ok(policy)
    }

    /// The built-in default policy over the built-in taxonomy.
    pub fn builtin() -> Result<Policy, PolicyError> {
        Policy::load(
            Arc::new(Taxonomy::builtin()),
            "<builtin policies/default.toml>",
            DEFAULT_POLICY_TOML,
        )
    }

    /// Compiles without checking the invariants. Only tests may want a policy that breaks
    /// them (to show the check catches it); everything else goes through [`Policy::load`].
    pub(crate) fn compile_unverified(
        taxonomy: Arc<Taxonomy>,
        file: PolicyFile,
        source: &[u8],
    ) -> Policy {
        let n_categories = taxonomy.categories().len();
        let n_purposes = taxonomy.purposes().len();
        let n_cells = n_purposes * n_categories * Visibility::COUNT;

        // Which purposes and categories each rule covers, computed once per rule.
        let covered: Vec<(Vec<bool>, Vec<bool>, u64)> = file
            .rules
            .iter()
            .map(|r| {
                let purposes = taxonomy
                    .purposes()
                    .iter()
                    .map(|p| name_is_under(&p.name, &r.purpose))
                    .collect();
                let categories = taxonomy
                    .categories()
                    .iter()
                    .map(|c| {
                        r.categories.iter().any(|pat| name_is_under(&c.name, pat))
                            && !r.except.iter().any(|pat| name_is_under(&c.name, pat))
                    })
                    .collect();
                let vis = r
                    .visibility
                    .iter()
                    .fold(0u64, |m, v| m | (1u64 << v.index()));
                (purposes, categories, vis)
            })
            .collect();

        let mut offsets = Vec::with_capacity(n_cells + 1);
        let mut entries = Vec::new();
        offsets.push(0u32);
        for p in 0..n_purposes {
            for c in 0..n_categories {
                for v in 0..Visibility::COUNT {
                    for (i, (rule, (ps, cs, vis))) in file.rules.iter().zip(&covered).enumerate() {
                        if ps[p] && cs[c] && vis & (1u64 << v) != 0 {
                            entries.push(CellRule {
                                required: rule.consent_mask(),
                                form: rule.form,
                                rule: RuleId(i as u16),
                            });
                        }
                    }
                    offsets.push(entries.len() as u32);
                }
            }
        }

        Policy {
            digest: Sha256::digest(source).into(),
            taxonomy,
            file,
            n_categories,
            n_purposes,
            offsets,
            entries,
        }
    }

    /// Checks every cell and every candidate rule against the built-in invariants.
    pub fn verify(&self) -> Result<(), PolicyError> {
        for p in self.taxonomy.purpose_ids() {
            for c in self.taxonomy.category_ids() {
                for v in Visibility::ALL {
                    for e in self.cell_rules(p, c, v) {
                        if let Some(inv) = invariants::violated(&self.taxonomy, p, c, v, e.form) {
                            return Err(PolicyError::Invariant {
                                file: self.file.file.clone(),
                                invariant: inv.id,
                                explanation: inv.explanation,
                                rule: self.rule_name(e.rule).to_owned(),
                                form: e.form.as_str(),
                                cell: Box::new(self.cell_name(p, c, v)),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn cell_index(
        &self,
        purpose: PurposeId,
        category: CategoryId,
        visibility: Visibility,
    ) -> Option<usize> {
        let (p, c) = (purpose.index(), category.index());
        if p >= self.n_purposes || c >= self.n_categories {
            return None;
        }
        Some((p * self.n_categories + c) * Visibility::COUNT + visibility.index())
    }

    /// The candidate rules of a cell, in file order.
    #[inline]
    pub fn cell_rules(
        &self,
        purpose: PurposeId,
        category: CategoryId,
        visibility: Visibility,
    ) -> &[CellRule] {
        let Some(cell) = self.cell_index(purpose, category, visibility) else {
            return &[];
        };
        match (self.offsets.get(cell), self.offsets.get(cell + 1)) {
            (Some(&start), Some(&end)) => self
                .entries
                .get(start as usize..end as usize)
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    /// May `purpose` receive `category` with `visibility` from a member whose consent is
    /// `consent`, and in which form? Costs a few nanoseconds and never allocates.
    #[inline]
    pub fn decide(
        &self,
        purpose: PurposeId,
        category: CategoryId,
        visibility: Visibility,
        consent: ConsentSet,
    ) -> Decision {
        let rules = self.cell_rules(purpose, category, visibility);
        for e in rules {
            if consent.satisfies(e.required) {
                return Decision::Allow {
                    form: e.form,
                    rule: e.rule,
                };
            }
        }
        match rules.first() {
            None => Decision::Deny(Denial::NoRule),
            Some(first) => {
                let missing = first.required & !consent.bits();
                Decision::Deny(Denial::MissingConsent {
                    rule: first.rule,
                    key: ConsentKey(missing.trailing_zeros() as u8),
                })
            }
        }
    }

    /// The decision in words.
    pub fn explain(
        &self,
        purpose: PurposeId,
        category: CategoryId,
        visibility: Visibility,
        consent: ConsentSet,
    ) -> Explanation {
        let t = &self.taxonomy;
        let decision = self.decide(purpose, category, visibility, consent);
        let (pn, cn) = (t.purpose_name(purpose), t.category_name(category));
        let subject = format!("`{pn}` receiving `{cn}` (visibility {visibility})");
        let (reason, missing) = match decision {
            Decision::Allow { form, rule } => {
                let r = self.rule(rule);
                let consent_words = match r.map(|r| r.consent.as_slice()) {
                    Some([]) | None => "no consent key".to_owned(),
                    Some(keys) => format!(
                        "consent {}, granted",
                        keys.iter()
                            .map(|k| format!("`{}`", t.consent_key_name(*k)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (
                    format!(
                        "rule `{}` allows {subject} in form `{form}`; it requires {consent_words}",
                        self.rule_name(rule)
                    ),
                    None,
                )
            }
            Decision::Deny(Denial::MissingConsent { rule, key }) => {
                let form = self.rule(rule).map(|r| r.form.as_str()).unwrap_or("?");
                let k = t.consent_key_name(key);
                (
                    format!(
                        "rule `{}` would allow {subject} in form `{form}` but requires consent `{k}`, which is off",
                        self.rule_name(rule)
                    ),
                    Some(k.to_owned()),
                )
            }
            Decision::Deny(Denial::NoRule) => {
                let mut s = format!("no rule allows {subject}; the policy denies by default");
                // Name an invariant only when it forbids the cell in every form, so the
                // reason never suggests a rule could not be written when one could.
                let per_form: Vec<_> = Form::ALL
                    .iter()
                    .map(|&f| invariants::violated(t, purpose, category, visibility, f))
                    .collect();
                if let Some(Some(inv)) = per_form
                    .iter()
                    .all(Option::is_some)
                    .then(|| per_form.first().copied().flatten())
                {
                    s.push_str(&format!(
                        " (and built-in invariant `{}` forbids it: {})",
                        inv.id, inv.explanation
                    ));
                }
                (s, None)
            }
        };
        Explanation {
            allowed: decision.is_allowed(),
            form: decision.form().map(Form::as_str),
            rule: decision.rule().map(|r| self.rule_name(r).to_owned()),
            missing_consent: missing,
            reason,
            purpose: pn.to_owned(),
            category: cn.to_owned(),
            visibility: visibility.as_str(),
            policy_version: self.file.version.clone(),
        }
    }

    pub fn taxonomy(&self) -> &Arc<Taxonomy> {
        &self.taxonomy
    }
    pub fn file(&self) -> &PolicyFile {
        &self.file
    }
    pub fn version(&self) -> &str {
        &self.file.version
    }
    /// SHA-256 of the policy file's bytes.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
    /// `version@sha256-prefix`, the identifier recorded with every release.
    pub fn version_id(&self) -> String {
        let hex: String = self.digest[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}@{hex}", self.file.version)
    }
    pub fn rules(&self) -> &[Rule] {
        &self.file.rules
    }
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.file.rules.get(id.index())
    }
    pub fn rule_name(&self, id: RuleId) -> &str {
        self.rule(id).map(|r| r.id.as_str()).unwrap_or("<unknown>")
    }
    /// The number of cells in the compiled table.
    pub fn cell_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub(crate) fn cell_name(&self, p: PurposeId, c: CategoryId, v: Visibility) -> CellName {
        CellName {
            purpose: self.taxonomy.purpose_name(p).to_owned(),
            category: self.taxonomy.category_name(c).to_owned(),
            visibility: v.as_str(),
        }
    }
}

#[cfg(test)]
mod tests;
