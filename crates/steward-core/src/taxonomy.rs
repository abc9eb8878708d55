//! The taxonomy: data categories, purposes, forms, visibility labels and consent keys.
//!
//! Categories and purposes are dot-separated hierarchies (`member.profile.skills`). Ids are
//! dense indices so the compiled policy can be a flat table. The built-in taxonomy lives in
//! `data/taxonomy.toml`; extensions use the same format and may only add entries or make
//! existing categories stricter — an extension can never turn private content into ordinary
//! data.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::error::{TaxonomyError, location};

/// The built-in taxonomy file, embedded so the binary needs nothing at run time.
pub const DEFAULT_TAXONOMY_TOML: &str = include_str!("../data/taxonomy.toml");

/// Upper bounds that keep the compiled policy table small and ids in their integer types.
pub const MAX_CATEGORIES: usize = 4096;
pub const MAX_PURPOSES: usize = 256;
/// Consent keys live in a `u64` bit set.
pub const MAX_CONSENT_KEYS: usize = 64;

/// Index of a category in its taxonomy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryId(pub(crate) u16);

/// Index of a purpose in its taxonomy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PurposeId(pub(crate) u16);

/// Index of a consent key; also its bit in a [`crate::ConsentSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConsentKey(pub(crate) u8);

impl CategoryId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}
impl PurposeId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}
impl ConsentKey {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Who can see an item. Every content item and profile section carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Connections,
    GroupOpen,
    GroupClosed,
    Private,
}

impl Visibility {
    pub const ALL: [Visibility; 5] = [
        Visibility::Public,
        Visibility::Connections,
        Visibility::GroupOpen,
        Visibility::GroupClosed,
        Visibility::Private,
    ];
    pub const COUNT: usize = 5;

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Connections => "connections",
            Visibility::GroupOpen => "group_open",
            Visibility::GroupClosed => "group_closed",
            Visibility::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A closed group's posts are private content whatever their category says.
    pub fn is_private(self) -> bool {
        matches!(self, Visibility::GroupClosed)
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shape in which a purpose may receive data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// The data as stored.
    Raw,
    /// Identifiers replaced by keyed pseudonyms; everything else as stored.
    Pseudonymized,
    /// Direct identifiers dropped, quasi-identifiers generalized, free text scrubbed.
    Deidentified,
    /// Differentially private aggregates only.
    Aggregate,
    /// Membership in a thresholded audience only, never the attribute values.
    Audience,
    /// A scanner's verdict only, never the content.
    Verdict,
}

impl Form {
    pub const ALL: [Form; 6] = [
        Form::Raw,
        Form::Pseudonymized,
        Form::Deidentified,
        Form::Aggregate,
        Form::Audience,
        Form::Verdict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Form::Raw => "raw",
            Form::Pseudonymized => "pseudonymized",
            Form::Deidentified => "deidentified",
            Form::Aggregate => "aggregate",
            Form::Audience => "audience",
            Form::Verdict => "verdict",
        }
    }

    pub fn parse(s: &str) -> Option<Form> {
        Form::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Whether data allowed in form `self` may be handed over in `requested` form: the chain
    /// raw → pseudonymized → deidentified → aggregate only ever adds protection; audience and
    /// verdict are separate lanes that permit only themselves.
    pub fn permits(self, requested: Form) -> bool {
        fn rank(f: Form) -> Option<u8> {
            match f {
                Form::Raw => Some(0),
                Form::Pseudonymized => Some(1),
                Form::Deidentified => Some(2),
                Form::Aggregate => Some(3),
                Form::Audience | Form::Verdict => None,
            }
        }
        match (rank(self), rank(requested)) {
            (Some(a), Some(b)) => b >= a,
            _ => self == requested,
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    pub name: String,
    pub parent: Option<CategoryId>,
    pub description: String,
    /// Sensitive data (self-reported demographics): never for ads targeting.
    pub sensitive: bool,
    /// Private content (messages, attachments, notes, closed-group posts): sealed, and only for
    /// the purposes the built-in invariants list.
    pub private_content: bool,
}

/// A purpose for which data is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    pub name: String,
    pub parent: Option<PurposeId>,
    pub description: String,
}

/// A member setting that policies may require.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentKeyDef {
    pub name: String,
    pub description: String,
    /// The default where no jurisdiction group says otherwise.
    pub default: bool,
}

/// A group of countries sharing consent defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JurisdictionGroup {
    pub name: String,
    pub countries: Vec<String>,
    pub defaults: Vec<(ConsentKey, bool)>,
}

/// Categories, purposes, consent keys and jurisdiction defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taxonomy {
    categories: Vec<Category>,
    purposes: Vec<Purpose>,
    consent_keys: Vec<ConsentKeyDef>,
    jurisdictions: Vec<JurisdictionGroup>,
    category_index: BTreeMap<String, CategoryId>,
    purpose_index: BTreeMap<String, PurposeId>,
    consent_index: BTreeMap<String, ConsentKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    #[serde(default, rename = "category")]
    categories: Vec<CategoryEntry>,
    #[serde(default, rename = "purpose")]
    purposes: Vec<PurposeEntry>,
    #[serde(default, rename = "consent_key")]
    consent_keys: Vec<ConsentEntry>,
    #[serde(default, rename = "jurisdiction")]
    jurisdictions: Vec<JurisdictionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    name: toml::Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sensitive: Option<bool>,
    #[serde(default)]
    private_content: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurposeEntry {
    name: toml::Spanned<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentEntry {
    name: toml::Spanned<String>,
    default: bool,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JurisdictionEntry {
    name: toml::Spanned<String>,
    countries: Vec<String>,
    defaults: BTreeMap<String, bool>,
}

/// Whether `name` is a well-formed dotted name: non-empty segments of `[a-z0-9_]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Whether dotted `name` equals `prefix` or lies under it (`member.profile` covers
/// `member.profile.skills` but not `member.profiles`).
pub fn name_is_under(name: &str, prefix: &str) -> bool {
    prefix == "*"
        || name == prefix
        || (name.len() > prefix.len()
            && name.starts_with(prefix)
            && name.as_bytes().get(prefix.len()) == Some(&b'.'))
}

impl Taxonomy {
    /// The built-in taxonomy of a professional network.
    pub fn builtin() -> Taxonomy {
        // The embedded file is checked by a unit test, so this cannot fail in a released
        // binary; should it ever, an empty taxonomy denies everything rather than panicking.
        Taxonomy::empty()
            .extend("<builtin taxonomy>", DEFAULT_TAXONOMY_TOML)
            .unwrap_or_else(|_| Taxonomy::empty())
    }

    /// A taxonomy with nothing in it.
    pub fn empty() -> Taxonomy {
        Taxonomy {
            categories: Vec::new(),
            purposes: Vec::new(),
            consent_keys: Vec::new(),
            jurisdictions: Vec::new(),
            category_index: BTreeMap::new(),
            purpose_index: BTreeMap::new(),
            consent_index: BTreeMap::new(),
        }
    }

    /// Parses `source` (TOML, named `file` in errors) and adds its entries to a copy of
    /// `self`. New entries are added; an existing category may gain `sensitive` or
    /// `private_content` but never lose them; a consent key may not be redefined.
    pub fn extend(&self, file: &str, source: &str) -> Result<Taxonomy, TaxonomyError> {
        let parsed: TaxonomyFile = toml::from_str(source).map_err(|e| TaxonomyError::Parse {
            file: file.to_owned(),
            line: e.span().map(|s| location(source, s.start).0).unwrap_or(0),
            column: e.span().map(|s| location(source, s.start).1).unwrap_or(0),
            message: e.message().to_owned(),
        })?;
        let mut out = self.clone();
        let at = |span: std::ops::Range<usize>| {
            let (line, column) = location(source, span.start);
            (file.to_owned(), line, column)
        };

        for entry in parsed.categories {
            let name = entry.name.get_ref().clone();
            let (f, line, column) = at(entry.name.span());
            if !is_valid_name(&name) {
                return Err(TaxonomyError::InvalidName {
                    file: f,
                    line,
                    column,
                    name,
                });
            }
            match out.category_index.get(&name).copied() {
                Some(id) => {
                    let existing = &mut out.categories[id.index()];
                    if (existing.sensitive && entry.sensitive == Some(false))
                        || (existing.private_content && entry.private_content == Some(false))
                    {
                        return Err(TaxonomyError::Weakening {
                            file: f,
                            line,
                            column,
                            name,
                        });
                    }
                    existing.sensitive |= entry.sensitive.unwrap_or(false);
                    existing.private_content |= entry.private_content.unwrap_or(false);
                    if let Some(d) = entry.description {
                        existing.description = d;
                    }
                }
                None => {
                    let parent = out.ensure_category_parents(&name)?;
                    let (ps, pp) = parent
                        .map(|p| {
                            let c = &out.categories[p.index()];
                            (c.sensitive, c.private_content)
                        })
                        .unwrap_or((false, false));
                    out.push_category(Category {
                        name,
                        parent,
                        description: entry.description.unwrap_or_default(),
                        sensitive: ps || entry.sensitive.unwrap_or(false),
                        private_content: pp || entry.private_content.unwrap_or(false),
                    })?;
                }
            }
        }
        out.propagate_flags();

        for entry in parsed.purposes {
            let name = entry.name.get_ref().clone();
            let (f, line, column) = at(entry.name.span());
            if !is_valid_name(&name) {
                return Err(TaxonomyError::InvalidName {
                    file: f,
                    line,
                    column,
                    name,
                });
            }
            if let Some(id) = out.purpose_index.get(&name).copied() {
                if let Some(d) = entry.description {
                    out.purposes[id.index()].description = d;
                }
                continue;
            }
            let parent = out.ensure_purpose_parents(&name)?;
            out.push_purpose(Purpose {
                name,
                parent,
                description: entry.description.unwrap_or_default(),
            })?;
        }

        for entry in parsed.consent_keys {
            let name = entry.name.get_ref().clone();
            let (f, line, column) = at(entry.name.span());
            if !is_valid_name(&name) {
                return Err(TaxonomyError::InvalidName {
                    file: f,
                    line,
                    column,
                    name,
                });
            }
            if out.consent_index.contains_key(&name) {
                return Err(TaxonomyError::Duplicate {
                    file: f,
                    line,
                    column,
                    name,
                });
            }
            if out.consent_keys.len() >= MAX_CONSENT_KEYS {
                return Err(TaxonomyError::TooMany {
                    what: "consent keys",
                    max: MAX_CONSENT_KEYS,
                });
            }
            let id = ConsentKey(out.consent_keys.len() as u8);
            out.consent_index.insert(name.clone(), id);
            out.consent_keys.push(ConsentKeyDef {
                name,
                description: entry.description.unwrap_or_default(),
                default: entry.default,
            });
        }

        for entry in parsed.jurisdictions {
            let (f, line, column) = at(entry.name.span());
            let mut defaults = Vec::new();
            for (key, value) in entry.defaults {
                let Some(id) = out.consent_index.get(&key).copied() else {
                    return Err(TaxonomyError::UnknownConsentKey {
                        file: f,
                        line,
                        column,
                        name: key,
                    });
                };
                defaults.push((id, value));
            }
            let countries = entry
                .countries
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect();
            out.jurisdictions.push(JurisdictionGroup {
                name: entry.name.into_inner(),
                countries,
                defaults,
            });
        }
        Ok(out)
    }

    fn ensure_category_parents(&mut self, name: &str) -> Result<Option<CategoryId>, TaxonomyError> {
        let Some((parent_name, _)) = name.rsplit_once('.') else {
            return Ok(None);
        };
        if let Some(id) = self.category_index.get(parent_name) {
            return Ok(Some(*id));
        }
        let grand = self.ensure_category_parents(parent_name)?;
        let (s, p) = grand
            .map(|g| {
                let c = &self.categories[g.index()];
                (c.sensitive, c.private_content)
            })
            .unwrap_or((false, false));
        self.push_category(Category {
            name: parent_name.to_owned(),
            parent: grand,
            description: String::new(),
            sensitive: s,
            private_content: p,
        })
        .map(Some)
    }

    fn ensure_purpose_parents(&mut self, name: &str) -> Result<Option<PurposeId>, TaxonomyError> {
        let Some((parent_name, _)) = name.rsplit_once('.') else {
            return Ok(None);
        };
        if let Some(id) = self.purpose_index.get(parent_name) {
            return Ok(Some(*id));
        }
        let grand = self.ensure_purpose_parents(parent_name)?;
        self.push_purpose(Purpose {
            name: parent_name.to_owned(),
            parent: grand,
            description: String::new(),
        })
        .map(Some)
    }

    fn push_category(&mut self, c: Category) -> Result<CategoryId, TaxonomyError> {
        if self.categories.len() >= MAX_CATEGORIES {
            return Err(TaxonomyError::TooMany {
                what: "categories",
                max: MAX_CATEGORIES,
            });
        }
        let id = CategoryId(self.categories.len() as u16);
        self.category_index.insert(c.name.clone(), id);
        self.categories.push(c);
        Ok(id)
    }

    fn push_purpose(&mut self, p: Purpose) -> Result<PurposeId, TaxonomyError> {
        if self.purposes.len() >= MAX_PURPOSES {
            return Err(TaxonomyError::TooMany {
                what: "purposes",
                max: MAX_PURPOSES,
            });
        }
        let id = PurposeId(self.purposes.len() as u16);
        self.purpose_index.insert(p.name.clone(), id);
        self.purposes.push(p);
        Ok(id)
    }

    /// Descendants inherit strictness; parents always precede children in `categories`.
    fn propagate_flags(&mut self) {
        for i in 0..self.categories.len() {
            if let Some(p) = self.categories[i].parent {
                let (s, pc) = {
                    let parent = &self.categories[p.index()];
                    (parent.sensitive, parent.private_content)
                };
                let c = &mut self.categories[i];
                c.sensitive |= s;
                c.private_content |= pc;
            }
        }
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
    pub fn purposes(&self) -> &[Purpose] {
        &self.purposes
    }
    pub fn consent_keys(&self) -> &[ConsentKeyDef] {
        &self.consent_keys
    }
    pub fn jurisdictions(&self) -> &[JurisdictionGroup] {
        &self.jurisdictions
    }

    pub fn category_ids(&self) -> impl Iterator<Item = CategoryId> + '_ {
        (0..self.categories.len()).map(|i| CategoryId(i as u16))
    }
    pub fn purpose_ids(&self) -> impl Iterator<Item = PurposeId> + '_ {
        (0..self.purposes.len()).map(|i| PurposeId(i as u16))
    }
    pub fn consent_key_ids(&self) -> impl Iterator<Item = ConsentKey> + '_ {
        (0..self.consent_keys.len()).map(|i| ConsentKey(i as u8))
    }

    pub fn category(&self, id: CategoryId) -> Option<&Category> {
        self.categories.get(id.index())
    }
    pub fn purpose(&self, id: PurposeId) -> Option<&Purpose> {
        self.purposes.get(id.index())
    }
    pub fn consent_key(&self, id: ConsentKey) -> Option<&ConsentKeyDef> {
        self.consent_keys.get(id.index())
    }

    pub fn category_id(&self, name: &str) -> Option<CategoryId> {
        self.category_index.get(name).copied()
    }
    pub fn purpose_id(&self, name: &str) -> Option<PurposeId> {
        self.purpose_index.get(name).copied()
    }
    pub fn consent_key_id(&self, name: &str) -> Option<ConsentKey> {
        self.consent_index.get(name).copied()
    }

    pub fn category_name(&self, id: CategoryId) -> &str {
        self.category(id)
            .map(|c| c.name.as_str())
            .unwrap_or("<unknown>")
    }
    pub fn purpose_name(&self, id: PurposeId) -> &str {
        self.purpose(id)
            .map(|p| p.name.as_str())
            .unwrap_or("<unknown>")
    }
    pub fn consent_key_name(&self, id: ConsentKey) -> &str {
        self.consent_key(id)
            .map(|k| k.name.as_str())
            .unwrap_or("<unknown>")
    }

    /// Whether a datum of `category` with `visibility` is private content.
    pub fn is_private_content(&self, category: CategoryId, visibility: Visibility) -> bool {
        visibility.is_private() || self.category(category).is_some_and(|c| c.private_content)
    }

    /// Whether a category is sensitive.
    pub fn is_sensitive(&self, category: CategoryId) -> bool {
        self.category(category).is_some_and(|c| c.sensitive)
    }

    /// The jurisdiction group a country belongs to, if any.
    pub fn jurisdiction_group(&self, country: &str) -> Option<&JurisdictionGroup> {
        self.jurisdictions
            .iter()
            .find(|g| g.countries.iter().any(|c| c.eq_ignore_ascii_case(country)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_taxonomy_parses_without_fallback() {
        let t = Taxonomy::empty()
            .extend("taxonomy.toml", DEFAULT_TAXONOMY_TOML)
            .expect("the embedded taxonomy is valid");
        assert_eq!(t, Taxonomy::builtin());
        for name in [
            "member.content.message",
            "member.content.attachment",
            "member.content.private_note",
            "member.content.group_post.closed",
        ] {
            let id = t.category_id(name).expect(name);
            assert!(t.is_private_content(id, Visibility::Public), "{name}");
        }
        for name in ["member.demographic.gender", "member.demographic.age"] {
            assert!(t.is_sensitive(t.category_id(name).expect(name)), "{name}");
        }
        let post = t.category_id("member.content.post").expect("post");
        assert!(!t.is_private_content(post, Visibility::Public));
        assert!(t.is_private_content(post, Visibility::GroupClosed));
    }

    #[test]
    fn extensions_add_entries_and_children_inherit_strictness() {
        let t = Taxonomy::builtin()
            .extend(
                "ext.toml",
                r#"
[[category]]
name = "member.content.message.voice_note"
[[category]]
name = "member.profile.certifications.licence_numbers"
sensitive = true
[[purpose]]
name = "ai.evaluation"
[[consent_key]]
name = "ai.evaluation"
default = false
"#,
            )
            .expect("valid extension");
        let voice = t
            .category_id("member.content.message.voice_note")
            .expect("added");
        assert!(t.is_private_content(voice, Visibility::Public));
        // The intermediate parent was created, not sensitive itself.
        let cert = t
            .category_id("member.profile.certifications")
            .expect("parent");
        assert!(!t.is_sensitive(cert));
        assert!(t.purpose_id("ai.evaluation").is_some());
        assert!(t.consent_key_id("ai.evaluation").is_some());
    }

    #[test]
    fn extensions_cannot_weaken_or_redefine() {
        let weaken = Taxonomy::builtin().extend(
            "ext.toml",
            "[[category]]\nname = \"member.content.message\"\nprivate_content = false\n",
        );
        assert_eq!(weaken.map_err(|e| e.code()), Err("taxonomy.weakening"));
        let dup = Taxonomy::builtin().extend(
            "ext.toml",
            "[[consent_key]]\nname = \"ai.training\"\ndefault = true\n",
        );
        assert_eq!(dup.map_err(|e| e.code()), Err("taxonomy.duplicate"));
        let bad = Taxonomy::builtin().extend("ext.toml", "[[category]]\nname = \"Member..X\"\n");
        assert_eq!(bad.map_err(|e| e.code()), Err("taxonomy.invalid_name"));
        let unknown = Taxonomy::builtin().extend(
            "ext.toml",
            "[[jurisdiction]]\nname = \"x\"\ncountries = [\"FR\"]\ndefaults = { \"nope\" = true }\n",
        );
        assert_eq!(
            unknown.map_err(|e| e.code()),
            Err("taxonomy.unknown_consent_key")
        );
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let err = Taxonomy::builtin()
            .extend("ext.toml", "[[category]]\nname = \"a\"\nsensitiv = true\n")
            .expect_err("unknown field");
        let msg = err.to_string();
        assert!(msg.starts_with("ext.toml:3:1:"), "{msg}");
        assert!(msg.contains("sensitiv"), "{msg}");
    }

    #[test]
    fn names_match_by_dotted_prefix_only() {
        assert!(name_is_under("member.profile.skills", "member.profile"));
        assert!(name_is_under("member.profile", "member.profile"));
        assert!(!name_is_under("member.profiles", "member.profile"));
        assert!(name_is_under("anything", "*"));
    }

    #[test]
    fn forms_permit_only_more_protective_forms() {
        assert!(Form::Raw.permits(Form::Aggregate));
        assert!(Form::Deidentified.permits(Form::Aggregate));
        assert!(!Form::Aggregate.permits(Form::Deidentified));
        assert!(!Form::Raw.permits(Form::Audience));
        assert!(Form::Audience.permits(Form::Audience));
        assert!(!Form::Verdict.permits(Form::Raw));
    }
}
