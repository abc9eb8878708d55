//! The built-in invariants: promises no policy file can override.
//!
//! They are checked for every (purpose × category × visibility) cell and every rule that can
//! apply there, when a policy compiles. A policy that breaks one does not load. They are also
//! exposed so other layers (the gate) can check a decision again before acting on it.

use crate::taxonomy::{CategoryId, Form, PurposeId, Taxonomy, Visibility, name_is_under};

/// One built-in invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invariant {
    /// A stable id, used in error messages and tests.
    pub id: &'static str,
    /// The promise in plain words.
    pub explanation: &'static str,
}

pub const PRIVATE_CONTENT_NEVER_FOR_AI_ADS_ANALYTICS_PERSONALIZATION: Invariant = Invariant {
    id: "private-content-never-for-ai-ads-analytics-personalization",
    explanation: "private content is never used for AI training, ads, analytics or personalization",
};

pub const SENSITIVE_NEVER_FOR_ADS_TARGETING: Invariant = Invariant {
    id: "sensitive-never-for-ads-targeting",
    explanation: "sensitive categories are never used to target ads",
};

pub const NO_RAW_FORM_FOR_AI_ADS_ANALYTICS: Invariant = Invariant {
    id: "no-raw-form-for-ai-ads-analytics",
    explanation: "AI training, ads and analytics never receive data in raw form",
};

pub const PRIVATE_CONTENT_ONLY_FOR_PERMITTED_PURPOSES: Invariant = Invariant {
    id: "private-content-only-for-permitted-purposes",
    explanation: "private content is opened only for participants (service.core), the member's own access, grant-scoped report review, scanners returning a verdict, or a security investigation",
};

/// All invariants, in the order they are checked.
pub const ALL: [Invariant; 4] = [
    PRIVATE_CONTENT_NEVER_FOR_AI_ADS_ANALYTICS_PERSONALIZATION,
    SENSITIVE_NEVER_FOR_ADS_TARGETING,
    NO_RAW_FORM_FOR_AI_ADS_ANALYTICS,
    PRIVATE_CONTENT_ONLY_FOR_PERMITTED_PURPOSES,
];

fn under_any(purpose: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| name_is_under(purpose, p))
}

/// The first invariant that giving `form` of `category` with `visibility` to `purpose` would
/// break, if any.
pub fn violated(
    taxonomy: &Taxonomy,
    purpose: PurposeId,
    category: CategoryId,
    visibility: Visibility,
    form: Form,
) -> Option<Invariant> {
    let purpose_name = taxonomy.purpose_name(purpose);
    let private = taxonomy.is_private_content(category, visibility);
    if private && under_any(purpose_name, &["ai", "ads", "analytics", "personalization"]) {
        return Some(PRIVATE_CONTENT_NEVER_FOR_AI_ADS_ANALYTICS_PERSONALIZATION);
    }
    if taxonomy.is_sensitive(category) && name_is_under(purpose_name, "ads.targeting") {
        return Some(SENSITIVE_NEVER_FOR_ADS_TARGETING);
    }
    if form == Form::Raw && under_any(purpose_name, &["ai", "ads", "analytics"]) {
        return Some(NO_RAW_FORM_FOR_AI_ADS_ANALYTICS);
    }
    if private {
        let permitted = under_any(
            purpose_name,
            &[
                "service.core",
                "member.self_access",
                "safety.report_review",
                "security.investigation",
            ],
        ) || (name_is_under(purpose_name, "security.scan")
            && form == Form::Verdict);
        if !permitted {
            return Some(PRIVATE_CONTENT_ONLY_FOR_PERMITTED_PURPOSES);
        }
    }
    None
}
