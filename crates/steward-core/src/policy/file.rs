//! Parsing a policy file (TOML) into resolved rules. Every name is checked against the
//! taxonomy here, so compilation cannot meet an unknown name; every error names the file,
//! line and column of the offending token.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{PolicyError, location};
use crate::taxonomy::{ConsentKey, Form, Taxonomy, Visibility, is_valid_name, name_is_under};

/// Rules beyond this many are refused; rule ids are `u16` in the compiled table.
pub const MAX_RULES: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyToml {
    version: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    id: Spanned<String>,
    purpose: Spanned<String>,
    categories: Vec<Spanned<String>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    form: Form,
    #[serde(default)]
    consent: Vec<Spanned<String>>,
    #[serde(default)]
    visibility: Option<Vec<Visibility>>,
    #[serde(default)]
    description: Option<String>,
}

/// One allow-rule, resolved against the taxonomy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    /// A purpose name or prefix (`ads` covers `ads.targeting`), or `*`.
    pub purpose: String,
    /// Category names or prefixes, or `*`.
    pub categories: Vec<String>,
    /// Categories (and their descendants) the rule does not cover after all.
    pub except: Vec<String>,
    pub form: Form,
    /// Every one of these keys must be granted.
    pub consent: Vec<ConsentKey>,
    /// Visibilities the rule covers (all five when the file names none).
    pub visibility: Vec<Visibility>,
    pub description: String,
    /// Line of the rule's `id` in its file.
    pub line: usize,
}

impl Rule {
    /// The consent keys as a bit mask.
    pub fn consent_mask(&self) -> u64 {
        self.consent.iter().fold(0u64, |m, k| m | (1u64 << k.0))
    }
}

/// A parsed, resolved policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFile {
    pub file: String,
    pub version: String,
    pub description: String,
    pub rules: Vec<Rule>,
}

impl PolicyFile {
    /// Parses `source`, naming it `file` in errors.
    pub fn parse(taxonomy: &Taxonomy, file: &str, source: &str) -> Result<PolicyFile, PolicyError> {
        let parsed: PolicyToml = toml::from_str(source).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| location(source, s.start))
                .unwrap_or((0, 0));
            PolicyError::Parse {
                file: file.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        if parsed.rules.len() > MAX_RULES {
            return Err(PolicyError::TooManyRules { max: MAX_RULES });
        }
        let at = |span: std::ops::Range<usize>| location(source, span.start);
        let version = parsed.version.get_ref().trim().to_owned();
        if version.is_empty() {
            let (line, column) = at(parsed.version.span());
            return Err(PolicyError::Parse {
                file: file.to_owned(),
                line,
                column,
                message: "`version` must not be empty".to_owned(),
            });
        }

        let mut seen = BTreeSet::new();
        let mut rules = Vec::with_capacity(parsed.rules.len());
        for r in parsed.rules {
            let (line, column) = at(r.id.span());
            let id = r.id.get_ref().clone();
            let id_ok = !id.is_empty()
                && id.len() <= 100
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
            if !id_ok {
                return Err(PolicyError::InvalidRule {
                    file: file.to_owned(),
                    line,
                    column,
                    id,
                    message: "needs an id of letters, digits, `-`, `_` or `.`".to_owned(),
                });
            }
            if !seen.insert(id.clone()) {
                return Err(PolicyError::DuplicateRule {
                    file: file.to_owned(),
                    line,
                    column,
                    id,
                });
            }

            let purpose = r.purpose.get_ref().clone();
            let purpose_known = (purpose == "*" || is_valid_name(&purpose))
                && taxonomy
                    .purposes()
                    .iter()
                    .any(|p| name_is_under(&p.name, &purpose));
            if !purpose_known {
                let (line, column) = at(r.purpose.span());
                return Err(PolicyError::Unknown {
                    file: file.to_owned(),
                    line,
                    column,
                    what: "purpose",
                    name: purpose,
                });
            }

            if r.categories.is_empty() {
                return Err(PolicyError::InvalidRule {
                    file: file.to_owned(),
                    line,
                    column,
                    id,
                    message: "lists no categories".to_owned(),
                });
            }
            let resolve = |list: &[Spanned<String>]| -> Result<Vec<String>, PolicyError> {
                list.iter()
                    .map(|c| {
                        let name = c.get_ref().clone();
                        let known = (name == "*" || is_valid_name(&name))
                            && taxonomy
                                .categories()
                                .iter()
                                .any(|cat| name_is_under(&cat.name, &name));
                        if known {
                            Ok(name)
                        } else {
                            let (line, column) = at(c.span());
                            Err(PolicyError::Unknown {
                                file: file.to_owned(),
                                line,
                                column,
                                what: "category",
                                name,
                            })
                        }
                    })
                    .collect()
            };
            let categories = resolve(&r.categories)?;
            let except = resolve(&r.except)?;

            let mut consent = Vec::with_capacity(r.consent.len());
            for k in &r.consent {
                let Some(key) = taxonomy.consent_key_id(k.get_ref()) else {
                    let (line, column) = at(k.span());
                    return Err(PolicyError::Unknown {
                        file: file.to_owned(),
                        line,
                        column,
                        what: "consent key",
                        name: k.get_ref().clone(),
                    });
                };
                if !consent.contains(&key) {
                    consent.push(key);
                }
            }

            let visibility = match r.visibility {
                None => Visibility::ALL.to_vec(),
                Some(v) if v.is_empty() => {
                    return Err(PolicyError::InvalidRule {
                        file: file.to_owned(),
                        line,
                        column,
                        id,
                        message: "has an empty visibility list, so it could never apply".to_owned(),
                    });
                }
                Some(mut v) => {
                    v.sort();
                    v.dedup();
                    v
                }
            };

            rules.push(Rule {
                id,
                purpose,
                categories,
                except,
                form: r.form,
                consent,
                visibility,
                description: r.description.unwrap_or_default(),
                line,
            });
        }
        Ok(PolicyFile {
            file: file.to_owned(),
            version,
            description: parsed.description.unwrap_or_default(),
            rules,
        })
    }
}
