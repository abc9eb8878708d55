//! A deliberately naive evaluator of a parsed policy, written from the semantics in the
//! module documentation and nothing else: string matching on names, rules walked in file
//! order. The compiled table must agree with it on every request (the property tests check
//! this, as cedar-spec checks Cedar against its model). Never used on a hot path.

use crate::consent::ConsentSet;
use crate::policy::{Decision, Denial, PolicyFile, RuleId};
use crate::taxonomy::{ConsentKey, Visibility, name_is_under};

/// Decides by walking `file.rules` in order.
pub fn decide(
    file: &PolicyFile,
    purpose: &str,
    category: &str,
    visibility: Visibility,
    consent: ConsentSet,
) -> Decision {
    let mut first_matching: Option<(usize, ConsentKey)> = None;
    for (i, rule) in file.rules.iter().enumerate() {
        let purpose_ok = name_is_under(purpose, &rule.purpose);
        let category_ok = rule.categories.iter().any(|p| name_is_under(category, p))
            && !rule.except.iter().any(|p| name_is_under(category, p));
        let visibility_ok = rule.visibility.contains(&visibility);
        if !(purpose_ok && category_ok && visibility_ok) {
            continue;
        }
        let mut missing: Vec<ConsentKey> = rule
            .consent
            .iter()
            .copied()
            .filter(|k| !consent.granted(*k))
            .collect();
        if missing.is_empty() {
            return Decision::Allow {
                form: rule.form,
                rule: RuleId(i as u16),
            };
        }
        missing.sort();
        if first_matching.is_none() {
            first_matching = missing.first().map(|k| (i, *k));
        }
    }
    match first_matching {
        Some((i, key)) => Decision::Deny(Denial::MissingConsent {
            rule: RuleId(i as u16),
            key,
        }),
        None => Decision::Deny(Denial::NoRule),
    }
}
