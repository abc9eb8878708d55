//! The attributes an audience may name: professional profile fields only. There is no variant
//! for anything derived from private content, so such an attribute cannot even be written
//! down — the parser answers "unknown attribute" — and each variant is checked against the
//! active policy's `ads.targeting` rules before it is used.

use std::fmt;

use steward_core::{ConsentSet, Form, Policy, Visibility};
use steward_store::vocab;

/// A targetable attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    Region,
    Country,
    Industry,
    JobFunction,
    Seniority,
    Skill,
    CompanySize,
    YearsExperience,
}

/// Years-of-experience bands: audiences never target an exact number of years.
pub const YEARS_BANDS: &[&str] = &["0-1", "2-4", "5-9", "10-14", "15-19", "20+"];

impl Attribute {
    pub const ALL: [Attribute; 8] = [
        Attribute::Region,
        Attribute::Country,
        Attribute::Industry,
        Attribute::JobFunction,
        Attribute::Seniority,
        Attribute::Skill,
        Attribute::CompanySize,
        Attribute::YearsExperience,
    ];

    /// The index of the attribute in [`Attribute::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name written in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Region => "region",
            Attribute::Country => "country",
            Attribute::Industry => "industry",
            Attribute::JobFunction => "job_function",
            Attribute::Seniority => "seniority",
            Attribute::Skill => "skill",
            Attribute::CompanySize => "company_size",
            Attribute::YearsExperience => "years_experience",
        }
    }

    /// Parses a name (a few plural or short aliases accepted).
    pub fn parse(name: &str) -> Option<Attribute> {
        Some(match name.to_ascii_lowercase().as_str() {
            "region" => Attribute::Region,
            "country" => Attribute::Country,
            "industry" => Attribute::Industry,
            "job_function" | "function" => Attribute::JobFunction,
            "seniority" => Attribute::Seniority,
            "skill" | "skills" => Attribute::Skill,
            "company_size" => Attribute::CompanySize,
            "years_experience" | "experience_band" => Attribute::YearsExperience,
            _ => return None,
        })
    }

    /// The taxonomy category the attribute is read from.
    pub fn category(self) -> &'static str {
        match self {
            Attribute::Region | Attribute::Country => "member.profile.location",
            Attribute::Industry => "member.profile.industry",
            Attribute::JobFunction => "member.profile.job_function",
            Attribute::Seniority => "member.profile.seniority",
            Attribute::Skill => "member.profile.skills",
            Attribute::CompanySize => "member.profile.company_size",
            Attribute::YearsExperience => "member.profile.years_experience",
        }
    }

    /// The closed vocabulary of the attribute, where it has one.
    pub fn vocabulary(self) -> Option<&'static [&'static str]> {
        match self {
            Attribute::JobFunction => Some(vocab::JOB_FUNCTIONS),
            Attribute::Seniority => Some(vocab::SENIORITY),
            Attribute::CompanySize => Some(vocab::COMPANY_SIZE),
            Attribute::YearsExperience => Some(YEARS_BANDS),
            _ => None,
        }
    }

    /// Whether `policy` lets `ads.targeting` read this attribute in `audience` form for
    /// some visibility and full consent (per-member consent is applied by the gate).
    pub fn allowed_by(self, policy: &Policy) -> bool {
        let t = policy.taxonomy();
        let (Some(p), Some(c)) = (t.purpose_id(crate::PURPOSE), t.category_id(self.category()))
        else {
            return false;
        };
        [Visibility::Public, Visibility::Connections]
            .iter()
            .any(|&v| {
                policy
                    .decide(p, c, v, ConsentSet::ALL)
                    .permits(Form::Audience)
            })
    }

    /// Every attribute, comma-separated, for error messages.
    pub fn list() -> String {
        Attribute::ALL
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The band of a number of years of experience.
pub fn years_band(years: i64) -> &'static str {
    match years {
        i64::MIN..=1 => "0-1",
        2..=4 => "2-4",
        5..=9 => "5-9",
        10..=14 => "10-14",
        15..=19 => "15-19",
        _ => "20+",
    }
}

/// The normal form of a value: trimmed, lower-case, inner whitespace collapsed.
pub fn normalize(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Attribute::ALL {
            assert_eq!(Attribute::parse(a.name()), Some(a));
            assert_eq!(Attribute::ALL[a.index()], a);
        }
        assert_eq!(Attribute::parse("message_topic"), None);
    }

    #[test]
    fn bands_cover_every_number() {
        assert_eq!(years_band(-3), "0-1");
        assert_eq!(years_band(4), "2-4");
        assert_eq!(years_band(10), "10-14");
        assert_eq!(years_band(40), "20+");
        assert!(YEARS_BANDS.contains(&years_band(17)));
    }

    #[test]
    fn values_are_normalized() {
        assert_eq!(normalize("  Computer   Software "), "computer software");
    }
}
