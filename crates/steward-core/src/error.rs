//! Typed errors of the core crate. Every error that comes from a file names the file, line and
//! column; every error has a stable code (`code()`) for machines.

use thiserror::Error;

/// 1-based line and column of byte `offset` in `source`.
pub(crate) fn location(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before
        .get(line_start..)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TaxonomyError {
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}:{line}:{column}: invalid name `{name}` (dot-separated segments of a-z, 0-9, _)"
    )]
    InvalidName {
        file: String,
        line: usize,
        column: usize,
        name: String,
    },
    #[error(
        "{file}:{line}:{column}: `{name}` would lose its sensitive or private-content flag; extensions may only make categories stricter"
    )]
    Weakening {
        file: String,
        line: usize,
        column: usize,
        name: String,
    },
    #[error("{file}:{line}:{column}: `{name}` is defined twice")]
    Duplicate {
        file: String,
        line: usize,
        column: usize,
        name: String,
    },
    #[error("{file}:{line}:{column}: unknown consent key `{name}`")]
    UnknownConsentKey {
        file: String,
        line: usize,
        column: usize,
        name: String,
    },
    #[error("too many {what} (at most {max})")]
    TooMany { what: &'static str, max: usize },
}

impl TaxonomyError {
    pub fn code(&self) -> &'static str {
        match self {
            TaxonomyError::Parse { .. } => "taxonomy.parse",
            TaxonomyError::InvalidName { .. } => "taxonomy.invalid_name",
            TaxonomyError::Weakening { .. } => "taxonomy.weakening",
            TaxonomyError::Duplicate { .. } => "taxonomy.duplicate",
            TaxonomyError::UnknownConsentKey { .. } => "taxonomy.unknown_consent_key",
            TaxonomyError::TooMany { .. } => "taxonomy.too_many",
        }
    }
}

/// A cell of the (purpose × category × visibility) space, named for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellName {
    pub purpose: String,
    pub category: String,
    pub visibility: &'static str,
}

impl std::fmt::Display for CellName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "purpose `{}`, category `{}`, visibility `{}`",
            self.purpose, self.category, self.visibility
        )
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}:{column}: {what} `{name}` matches nothing in the taxonomy")]
    Unknown {
        file: String,
        line: usize,
        column: usize,
        what: &'static str,
        name: String,
    },
    #[error("{file}:{line}:{column}: rule id `{id}` is used twice")]
    DuplicateRule {
        file: String,
        line: usize,
        column: usize,
        id: String,
    },
    #[error("{file}:{line}:{column}: rule `{id}` {message}")]
    InvalidRule {
        file: String,
        line: usize,
        column: usize,
        id: String,
        message: String,
    },
    #[error(
        "{file}: policy breaks built-in invariant `{invariant}`: rule `{rule}` gives form `{form}` for {cell}: {explanation}"
    )]
    Invariant {
        file: String,
        invariant: &'static str,
        explanation: &'static str,
        rule: String,
        form: &'static str,
        cell: Box<CellName>,
    },
    #[error("too many rules (at most {max})")]
    TooManyRules { max: usize },
}

impl PolicyError {
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Parse { .. } => "policy.parse",
            PolicyError::Unknown { .. } => "policy.unknown_name",
            PolicyError::DuplicateRule { .. } => "policy.duplicate_rule",
            PolicyError::InvalidRule { .. } => "policy.invalid_rule",
            PolicyError::Invariant { .. } => "policy.invariant",
            PolicyError::TooManyRules { .. } => "policy.too_many_rules",
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConsentError {
    #[error("unknown consent key `{0}`")]
    UnknownKey(String),
    #[error("invalid consent value `{0}` (expected on, off, true or false)")]
    InvalidValue(String),
    #[error("invalid consent assignment `{0}` (expected key=on or key=off)")]
    InvalidAssignment(String),
}

impl ConsentError {
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::UnknownKey(_) => "consent.unknown_key",
            ConsentError::InvalidValue(_) => "consent.invalid_value",
            ConsentError::InvalidAssignment(_) => "consent.invalid_assignment",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::location;

    #[test]
    fn location_is_one_based_and_counts_characters() {
        let s = "ab\ncdé\nf";
        assert_eq!(location(s, 0), (1, 1));
        assert_eq!(location(s, 3), (2, 1));
        assert_eq!(location(s, s.find('f').unwrap_or(0)), (3, 1));
        assert_eq!(location(s, 9999), (3, 2));
    }
}
