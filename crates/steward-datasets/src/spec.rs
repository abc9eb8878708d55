//! Dataset specs: what a release contains and how it is protected, read from TOML.
//!
//! Unknown keys are errors (a typo must not silently weaken a release), and every error names
//! `file:line:column`. Hierarchies are written as rules: `bands:5/10/20` (nested integer
//! intervals), `top:8` (the eight most frequent values, the rest `Other`), `flat` (value or
//! `*`), `calendar` (date or month, then month, quarter, year, `*`) or `arx:PATH` (an ARX CSV
//! hierarchy, relative to the spec file).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::DatasetError;

/// Which gated source a dataset reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// One row per consenting member: profile fields, education level, top skills.
    Profiles,
    /// One row per public post, its text scrubbed of PII.
    PublicPosts,
    /// One row per engagement event on a public item, ordered per member.
    EngagementSequences,
    /// One row per move between two consecutive positions of a member.
    CareerTransitions,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Profiles => "profiles",
            SourceKind::PublicPosts => "public_posts",
            SourceKind::EngagementSequences => "engagement_sequences",
            SourceKind::CareerTransitions => "career_transitions",
        }
    }
}

/// How a quasi-identifier is generalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyRule {
    /// Nested integer bands of these widths, then `*`.
    Bands(Vec<i64>),
    /// The `n` most frequent values, the rest `Other`, then `*`.
    Top(usize),
    /// The value, then `*`.
    Flat,
    /// An ARX hierarchy file (CSV, `;` or `,` separated).
    Arx(PathBuf),
    /// Dates (`YYYY-MM-DD`, e.g. a week's Monday) or months (`YYYY-MM`): month, quarter,
    /// year, then `*`.
    Calendar,
}

/// Who a pseudonym stays stable for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudonymScope {
    /// A fresh random key per build, discarded after it: pseudonyms link rows within one
    /// release only, never across releases.
    Build,
    /// No pseudonym column at all.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuasiIdentifierSpec {
    pub field: String,
    pub hierarchy: HierarchyRule,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrivacySpec {
    pub k: usize,
    /// Distinct l-diversity of the sensitive attribute (1: none).
    pub l: usize,
    /// Largest share of rows that may be suppressed.
    pub max_suppression: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BiasSpec {
    /// A group whose dataset share over population share falls below this is flagged.
    pub bound: f64,
    /// Fail the build (publishing nothing) when any group is flagged.
    pub fail_on_flag: bool,
    /// Dimensions compared.
    pub dimensions: Vec<String>,
}

/// A parsed, checked spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub description: String,
    pub motivation: String,
    pub source: SourceKind,
    pub fields: Vec<String>,
    pub quasi_identifiers: Vec<QuasiIdentifierSpec>,
    pub sensitive: Option<String>,
    pub privacy: PrivacySpec,
    pub text_fields: Vec<String>,
    pub pseudonym_scope: PseudonymScope,
    pub bias: BiasSpec,
    /// SHA-256 of the spec text, as recorded in the lineage.
    pub digest: String,
    /// The folder relative paths in the spec resolve against.
    pub base_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    motivation: String,
    source: SourceKind,
    fields: Vec<String>,
    #[serde(default)]
    quasi_identifier: Vec<RawQi>,
    #[serde(default)]
    sensitive: Option<String>,
    #[serde(default)]
    privacy: Option<RawPrivacy>,
    #[serde(default)]
    text_fields: Vec<String>,
    #[serde(default = "default_scope")]
    pseudonym_scope: PseudonymScope,
    #[serde(default)]
    bias: Option<RawBias>,
}

fn default_scope() -> PseudonymScope {
    PseudonymScope::Build
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQi {
    field: String,
    hierarchy: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    k: usize,
    #[serde(default = "one")]
    l: usize,
    #[serde(default)]
    max_suppression: f64,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBias {
    #[serde(default = "four_fifths")]
    bound: f64,
    #[serde(default)]
    fail_on_flag: bool,
    #[serde(default)]
    dimensions: Option<Vec<String>>,
}

fn four_fifths() -> f64 {
    0.8
}

/// The fields each source can produce.
pub fn source_fields(source: SourceKind) -> &'static [&'static str] {
    match source {
        SourceKind::Profiles => &[
            "region",
            "country",
            "industry",
            "job_function",
            "seniority",
            "company_size",
            "years_experience",
            "education_level",
            "top_skills",
        ],
        SourceKind::PublicPosts => &["body", "posted_month", "author_region", "author_industry"],
        SourceKind::EngagementSequences => crate::sources::engagement_sequences::FIELDS,
        SourceKind::CareerTransitions => crate::sources::career_transitions::FIELDS,
    }
}

/// The group dimensions a bias report can compare.
pub const BIAS_DIMENSIONS: &[&str] = &["region", "seniority", "industry", "gender"];

/// `file:line:column` of a byte offset.
fn locate(file: &str, text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{file}:{line}:{column}")
}

/// The specs shipped in the repository's `datasets/` folder, compiled in so a binary can
/// build them from anywhere (`steward demo`).
pub const SHIPPED: &[(&str, &str)] = &[
    ("profiles", include_str!("../../../datasets/profiles.toml")),
    (
        "public_posts",
        include_str!("../../../datasets/public_posts.toml"),
    ),
    (
        "engagement_sequences",
        include_str!("../../../datasets/engagement_sequences.toml"),
    ),
    (
        "career_transitions",
        include_str!("../../../datasets/career_transitions.toml"),
    ),
];

impl Spec {
    /// A shipped spec by name (`profiles`, `public_posts`, `engagement_sequences`,
    /// `career_transitions`), as compiled into the binary.
    pub fn shipped(name: &str) -> Result<Spec, DatasetError> {
        let (_, text) = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| DatasetError::NotFound(format!("shipped spec {name}")))?;
        Spec::parse(
            &format!("datasets/{name}.toml"),
            text,
            Path::new("datasets"),
        )
    }

    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Spec, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Spec::parse(&path.display().to_string(), &text, &base)
    }

    /// Parses spec `text` (named `file` in errors); relative paths resolve against `base_dir`.
    pub fn parse(file: &str, text: &str, base_dir: &Path) -> Result<Spec, DatasetError> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| DatasetError::Spec {
            location: locate(file, text, e.span().map_or(0, |s| s.start)),
            message: e.message().to_owned(),
        })?;
        // Errors found after parsing point at the key that carries the bad value.
        let at = |key: &str| {
            let offset = text.find(key).unwrap_or(0);
            locate(file, text, offset)
        };
        let bad = |key: &str, message: String| DatasetError::Spec {
            location: at(key),
            message,
        };
        let known = source_fields(raw.source);
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(
                "name",
                format!(
                    "name `{}` must be non-empty ASCII letters, digits, `_` or `-`",
                    raw.name
                ),
            ));
        }
        if raw.fields.is_empty() {
            return Err(bad("fields", "a dataset needs at least one field".into()));
        }
        for f in &raw.fields {
            if !known.contains(&f.as_str()) {
                return Err(bad(
                    "fields",
                    format!(
                        "source `{}` has no field `{f}` (it has {})",
                        raw.source.as_str(),
                        known.join(", ")
                    ),
                ));
            }
        }
        let in_fields = |f: &str| raw.fields.iter().any(|x| x == f);
        let mut qis = Vec::new();
        for q in &raw.quasi_identifier {
            if !in_fields(&q.field) {
                return Err(bad(
                    "quasi_identifier",
                    format!("quasi-identifier `{}` is not among the fields", q.field),
                ));
            }
            if qis.iter().any(|x: &QuasiIdentifierSpec| x.field == q.field) {
                return Err(bad(
                    "quasi_identifier",
                    format!("quasi-identifier `{}` is listed twice", q.field),
                ));
            }
            let hierarchy =
                parse_hierarchy(&q.hierarchy, base_dir).map_err(|m| bad(&q.hierarchy, m))?;
            qis.push(QuasiIdentifierSpec {
                field: q.field.clone(),
                hierarchy,
            });
        }
        if let Some(s) = &raw.sensitive {
            if !in_fields(s) {
                return Err(bad(
                    "sensitive",
                    format!("sensitive attribute `{s}` is not among the fields"),
                ));
            }
            if qis.iter().any(|q| &q.field == s) {
                return Err(bad(
                    "sensitive",
                    format!("`{s}` cannot be both quasi-identifier and sensitive"),
                ));
            }
        }
        for t in &raw.text_fields {
            if !in_fields(t) {
                return Err(bad(
                    "text_fields",
                    format!("text field `{t}` is not among the fields"),
                ));
            }
        }
        let privacy = match raw.privacy {
            Some(p) => PrivacySpec {
                k: p.k,
                l: p.l,
                max_suppression: p.max_suppression,
            },
            None => PrivacySpec {
                k: 1,
                l: 1,
                max_suppression: 0.0,
            },
        };
        if privacy.k == 0 || privacy.l == 0 {
            return Err(bad("privacy", "k and l must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&privacy.max_suppression) {
            return Err(bad(
                "max_suppression",
                format!(
                    "max_suppression must be in [0, 1], got {}",
                    privacy.max_suppression
                ),
            ));
        }
        if privacy.l > 1 && raw.sensitive.is_none() {
            return Err(bad("privacy", "l > 1 needs a sensitive attribute".into()));
        }
        if privacy.k > 1 && qis.is_empty() {
            return Err(bad(
                "privacy",
                "k > 1 needs at least one quasi-identifier".into(),
            ));
        }
        let bias = match raw.bias {
            Some(b) => BiasSpec {
                bound: b.bound,
                fail_on_flag: b.fail_on_flag,
                dimensions: b
                    .dimensions
                    .unwrap_or_else(|| BIAS_DIMENSIONS.iter().map(|s| (*s).to_owned()).collect()),
            },
            None => BiasSpec {
                bound: four_fifths(),
                fail_on_flag: false,
                dimensions: BIAS_DIMENSIONS.iter().map(|s| (*s).to_owned()).collect(),
            },
        };
        if !(bias.bound > 0.0 && bias.bound <= 1.0) {
            return Err(bad(
                "bound",
                format!("the bias bound must be in (0, 1], got {}", bias.bound),
            ));
        }
        for d in &bias.dimensions {
            if !BIAS_DIMENSIONS.contains(&d.as_str()) {
                return Err(bad(
                    "dimensions",
                    format!(
                        "unknown bias dimension `{d}` (known: {})",
                        BIAS_DIMENSIONS.join(", ")
                    ),
                ));
            }
        }
        Ok(Spec {
            name: raw.name,
            description: raw.description,
            motivation: raw.motivation,
            source: raw.source,
            fields: raw.fields,
            quasi_identifiers: qis,
            sensitive: raw.sensitive,
            privacy,
            text_fields: raw.text_fields,
            pseudonym_scope: raw.pseudonym_scope,
            bias,
            digest: hex::encode(Sha256::digest(text.as_bytes())),
            base_dir: base_dir.to_owned(),
        })
    }
}

fn parse_hierarchy(rule: &str, base_dir: &Path) -> Result<HierarchyRule, String> {
    if rule == "flat" {
        return Ok(HierarchyRule::Flat);
    }
    if rule == "calendar" {
        return Ok(HierarchyRule::Calendar);
    }
    if let Some(widths) = rule.strip_prefix("bands:") {
        let widths: Result<Vec<i64>, _> = widths.split('/').map(str::parse::<i64>).collect();
        let widths =
            widths.map_err(|_| format!("`{rule}`: bands are integers like bands:5/10/20"))?;
        for (i, w) in widths.iter().enumerate() {
            if *w <= 0 || (i > 0 && w % widths[i - 1] != 0) {
                return Err(format!(
                    "`{rule}`: band widths must be positive and each divide the next"
                ));
            }
        }
        return Ok(HierarchyRule::Bands(widths));
    }
    if let Some(n) = rule.strip_prefix("top:") {
        let n: usize = n
            .parse()
            .map_err(|_| format!("`{rule}`: top-N is written top:8"))?;
        if n == 0 {
            return Err(format!("`{rule}`: N must be at least 1"));
        }
        return Ok(HierarchyRule::Top(n));
    }
    if let Some(p) = rule.strip_prefix("arx:") {
        return Ok(HierarchyRule::Arx(base_dir.join(p)));
    }
    Err(format!(
        "unknown hierarchy `{rule}` (use bands:W1/W2, top:N, flat, calendar or arx:PATH)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "profiles"
source = "profiles"
fields = ["region", "years_experience", "job_function"]
sensitive = "job_function"

[[quasi_identifier]]
field = "region"
hierarchy = "top:5"

[[quasi_identifier]]
field = "years_experience"
hierarchy = "bands:5/10/20"

[privacy]
k = 5
l = 2
max_suppression = 0.05
"#;

    #[test]
    fn a_good_spec_parses() {
        let s = Spec::parse("s.toml", GOOD, Path::new(".")).unwrap();
        assert_eq!(s.privacy.k, 5);
        assert_eq!(
            s.quasi_identifiers[1].hierarchy,
            HierarchyRule::Bands(vec![5, 10, 20])
        );
        assert_eq!(s.bias.bound, 0.8);
        assert_eq!(s.pseudonym_scope, PseudonymScope::Build);
    }

    #[test]
    fn every_shipped_spec_parses() {
        for (name, _) in SHIPPED {
            let s = Spec::shipped(name).unwrap();
            assert_eq!(s.name, *name);
            assert_eq!(s.source.as_str(), *name);
        }
        assert_eq!(
            Spec::shipped("nope").unwrap_err().code(),
            "datasets.not_found"
        );
    }

    #[test]
    fn an_unknown_key_is_an_error_with_line_and_column() {
        let text = GOOD.replace("l = 2", "l = 2\nkk = 3");
        let e = Spec::parse("s.toml", &text, Path::new(".")).unwrap_err();
        assert_eq!(e.code(), "datasets.spec");
        let msg = e.to_string();
        assert!(msg.starts_with("s.toml:18:1"), "{msg}");
        assert!(msg.contains("kk"), "{msg}");
    }

    #[test]
    fn bad_values_are_refused_with_their_location() {
        let cases = [
            (GOOD.replace("\"top:5\"", "\"top:x\""), "top-N"),
            (GOOD.replace("bands:5/10/20", "bands:5/7"), "divide"),
            (GOOD.replace("k = 5", "k = 0"), "at least 1"),
            (
                GOOD.replace("\"region\", \"years", "\"nowhere\", \"years"),
                "no field `nowhere`",
            ),
            (
                GOOD.replace("sensitive = \"job_function\"", "sensitive = \"region\""),
                "both",
            ),
            (GOOD.replace("0.05", "1.5"), "[0, 1]"),
        ];
        for (text, needle) in cases {
            let e = Spec::parse("s.toml", &text, Path::new(".")).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(needle), "{needle}: {msg}");
            assert!(msg.starts_with("s.toml:"), "{msg}");
        }
    }
}
