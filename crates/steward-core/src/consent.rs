//! Consent: a member's settings as a bit set, their defaults by jurisdiction, and the history
//! of consent events from which "effective consent at time t" is computed.
//!
//! Defaults are data (the `[[jurisdiction]]` tables of the taxonomy), never code: a member's
//! default for a key is the first jurisdiction group listing their country, else the key's own
//! default. An explicit event always overrides a default.

use crate::error::ConsentError;
use crate::taxonomy::{ConsentKey, Taxonomy};

/// A member's consent as a bit set over the taxonomy's consent keys (bit i = key i granted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsentSet(u64);

impl ConsentSet {
    pub const NONE: ConsentSet = ConsentSet(0);
    pub const ALL: ConsentSet = ConsentSet(u64::MAX);

    pub fn from_bits(bits: u64) -> ConsentSet {
        ConsentSet(bits)
    }
    pub fn bits(self) -> u64 {
        self.0
    }
    pub fn granted(self, key: ConsentKey) -> bool {
        self.0 & (1u64 << key.0) != 0
    }
    pub fn set(&mut self, key: ConsentKey, granted: bool) {
        if granted {
            self.0 |= 1u64 << key.0;
        } else {
            self.0 &= !(1u64 << key.0);
        }
    }
    pub fn with(mut self, key: ConsentKey, granted: bool) -> ConsentSet {
        self.set(key, granted);
        self
    }
    /// Whether every key in `required` is granted.
    #[inline]
    pub fn satisfies(self, required: u64) -> bool {
        self.0 & required == required
    }
}

/// Who changed a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Member,
    Staff(String),
    System,
}

/// One change of one setting. Times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentEvent {
    pub at_ms: i64,
    pub key: ConsentKey,
    pub granted: bool,
    pub actor: Actor,
}

/// The default consent of a member in `country` (ISO 3166-1 alpha-2).
pub fn defaults_for(taxonomy: &Taxonomy, country: &str) -> ConsentSet {
    let mut set = ConsentSet::NONE;
    for key in taxonomy.consent_key_ids() {
        let default = taxonomy.consent_key(key).is_some_and(|k| k.default);
        set.set(key, default);
    }
    if let Some(group) = taxonomy.jurisdiction_group(country) {
        for &(key, value) in &group.defaults {
            set.set(key, value);
        }
    }
    set
}

/// Effective consent at `at_ms`: the jurisdiction defaults overridden by every event at or
/// before `at_ms`, in time order (events at the same instant apply in slice order).
pub fn effective_at(
    taxonomy: &Taxonomy,
    country: &str,
    events: &[ConsentEvent],
    at_ms: i64,
) -> ConsentSet {
    let mut set = defaults_for(taxonomy, country);
    let mut ordered: Vec<&ConsentEvent> = events.iter().filter(|e| e.at_ms <= at_ms).collect();
    ordered.sort_by_key(|e| e.at_ms);
    for e in ordered {
        set.set(e.key, e.granted);
    }
    set
}

/// Parses `on|off|true|false|1|0|yes|no`.
pub fn parse_consent_value(value: &str) -> Result<bool, ConsentError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(ConsentError::InvalidValue(value.to_owned())),
    }
}

/// Parses `key=on` against the taxonomy.
pub fn parse_assignment(
    taxonomy: &Taxonomy,
    assignment: &str,
) -> Result<(ConsentKey, bool), ConsentError> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| ConsentError::InvalidAssignment(assignment.to_owned()))?;
    let key_id = taxonomy
        .consent_key_id(key.trim())
        .ok_or_else(|| ConsentError::UnknownKey(key.trim().to_owned()))?;
    Ok((key_id, parse_consent_value(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &Taxonomy, name: &str) -> ConsentKey {
        t.consent_key_id(name).expect(name)
    }

    #[test]
    fn ai_training_is_off_by_default_in_eea_uk_and_switzerland() {
        let t = Taxonomy::builtin();
        let ai = key(&t, "ai.training");
        for c in ["DE", "FR", "IE", "NO", "GB", "CH", "de"] {
            assert!(!defaults_for(&t, c).granted(ai), "{c}");
        }
        for c in ["US", "IN", "BR", "CA", ""] {
            assert!(defaults_for(&t, c).granted(ai), "{c}");
        }
    }

    #[test]
    fn effective_consent_follows_history_in_time_order() {
        let t = Taxonomy::builtin();
        let ai = key(&t, "ai.training");
        let events = vec![
            ConsentEvent {
                at_ms: 300,
                key: ai,
                granted: false,
                actor: Actor::Member,
            },
            ConsentEvent {
                at_ms: 100,
                key: ai,
                granted: true,
                actor: Actor::Member,
            },
        ];
        assert!(!effective_at(&t, "DE", &events, 50).granted(ai));
        assert!(effective_at(&t, "DE", &events, 100).granted(ai));
        assert!(effective_at(&t, "DE", &events, 299).granted(ai));
        assert!(!effective_at(&t, "DE", &events, 300).granted(ai));
    }

    #[test]
    fn assignments_parse_and_reject_garbage() {
        let t = Taxonomy::builtin();
        assert_eq!(
            parse_assignment(&t, "ai.training=off"),
            Ok((key(&t, "ai.training"), false))
        );
        assert_eq!(
            parse_assignment(&t, "nope=on").map_err(|e| e.code()),
            Err("consent.unknown_key")
        );
        assert_eq!(
            parse_assignment(&t, "ai.training=maybe").map_err(|e| e.code()),
            Err("consent.invalid_value")
        );
        assert_eq!(
            parse_assignment(&t, "ai.training").map_err(|e| e.code()),
            Err("consent.invalid_assignment")
        );
    }
}
