//! Audience expressions: an AND of OR-facets plus exclusions, parsed with positioned errors.
//!
//! ```text
//! expression := clause ( "and" clause )*
//! clause     := [ "not" ] attribute ( "in" "(" value ( "," value )* ")" | "=" value )
//! value      := word | "quoted text"
//! ```
//!
//! `industry in (software, finance) and seniority = director and not region in ("Île-de-France")`
//! reaches members whose industry is software or finance, whose seniority is director, and
//! whose region is known and is not Île-de-France. Keywords are case-insensitive; values are
//! compared in their normal form (lower-case, single spaces). Attributes with a closed
//! vocabulary (job function, seniority, company size, years-of-experience band) refuse values
//! outside it. The canonical form sorts clauses and values, so two spellings of one audience
//! are one question to the noise (and cannot buy fresh noise by reordering).

use std::fmt;

use steward_core::Policy;

use crate::attr::{Attribute, normalize};
use crate::error::AdsError;

/// One facet: `[not] attribute in (values)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Clause {
    pub negated: bool,
    pub attribute: Attribute,
    /// Normalized, sorted, distinct.
    pub values: Vec<String>,
}

/// A parsed audience expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    /// Sorted: positive facets first, then exclusions.
    pub clauses: Vec<Clause>,
}

impl Expr {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Expr, AdsError> {
        Parser::new(text).expression()
    }

    /// Parses `text` and checks every attribute against `policy`.
    pub fn parse_allowed(text: &str, policy: &Policy) -> Result<Expr, AdsError> {
        let e = Expr::parse(text)?;
        e.check_policy(policy)?;
        Ok(e)
    }

    /// Refuses attributes the policy does not allow for `ads.targeting`.
    pub fn check_policy(&self, policy: &Policy) -> Result<(), AdsError> {
        for c in &self.clauses {
            if !c.attribute.allowed_by(policy) {
                return Err(AdsError::AttributeNotAllowed {
                    attribute: c.attribute.name().to_owned(),
                    policy: policy.version_id(),
                });
            }
        }
        Ok(())
    }

    /// The canonical text (also what is stored).
    pub fn canonical(&self) -> String {
        self.to_string()
    }

    /// The attributes the expression uses.
    pub fn attributes(&self) -> Vec<Attribute> {
        let mut a: Vec<Attribute> = self.clauses.iter().map(|c| c.attribute).collect();
        a.sort();
        a.dedup();
        a
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            if c.negated {
                f.write_str("not ")?;
            }
            write!(f, "{} in (", c.attribute)?;
            for (j, v) in c.values.iter().enumerate() {
                if j > 0 {
                    f.write_str(", ")?;
                }
                // A value spelled like a keyword (`"and"`) stays quoted, so the canonical
                // text parses back to the same expression.
                if v.chars().all(is_word_char) && !v.is_empty() && !is_keyword(v) {
                    f.write_str(v)?;
                } else {
                    write!(f, "\"{}\"", v.replace('"', ""))?;
                }
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | '&' | '/' | '#')
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    /// A `"` with no closing `"`.
    Unterminated,
    LParen,
    RParen,
    Comma,
    Eq,
    End,
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

const MAX_LEN: usize = 4096;
const MAX_VALUES: usize = 200;

fn err(column: usize, message: impl Into<String>) -> AdsError {
    AdsError::Parse {
        column,
        message: message.into(),
    }
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            toks: Vec::new(),
            pos: 0,
        }
        .lex(text)
    }

    fn lex(mut self, text: &str) -> Parser {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let col = i + 1;
            if c.is_whitespace() {
                i += 1;
            } else if c == '(' {
                self.toks.push((Tok::LParen, col));
                i += 1;
            } else if c == ')' {
                self.toks.push((Tok::RParen, col));
                i += 1;
            } else if c == ',' {
                self.toks.push((Tok::Comma, col));
                i += 1;
            } else if c == '=' {
                self.toks.push((Tok::Eq, col));
                i += 1;
            } else if c == '"' {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '"' {
                    j += 1;
                }
                if j >= chars.len() {
                    // Reported by the parser as an unterminated string.
                    self.toks.push((Tok::Unterminated, col));
                    break;
                }
                self.toks
                    .push((Tok::Quoted(chars[start..j].iter().collect()), col));
                i = j + 1;
            } else if is_word_char(c) {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                self.toks
                    .push((Tok::Word(chars[start..i].iter().collect()), col));
            } else {
                // An unexpected character becomes a one-character word the parser rejects
                // with its position.
                self.toks.push((Tok::Word(c.to_string()), col));
                i += 1;
            }
        }
        self.toks.push((Tok::End, chars.len() + 1));
        self
    }

    fn peek(&self) -> (&Tok, usize) {
        self.toks
            .get(self.pos)
            .map(|(t, c)| (t, *c))
            .unwrap_or((&Tok::End, 0))
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks.get(self.pos).cloned().unwrap_or((Tok::End, 0));
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek().0, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn expression(mut self) -> Result<Expr, AdsError> {
        let text_len = self.toks.last().map(|(_, c)| *c).unwrap_or(0);
        if text_len > MAX_LEN {
            return Err(err(
                MAX_LEN,
                format!("expression longer than {MAX_LEN} characters"),
            ));
        }
        if matches!(self.peek().0, Tok::End) {
            return Err(err(1, "empty expression: name at least one attribute"));
        }
        let mut clauses = vec![self.clause()?];
        loop {
            match self.peek() {
                (Tok::End, _) => break,
                (Tok::Word(w), _) if w.eq_ignore_ascii_case("and") => {
                    self.next();
                    clauses.push(self.clause()?);
                }
                (Tok::Word(w), col) if w.eq_ignore_ascii_case("or") => {
                    return Err(err(
                        col,
                        "`or` joins values of one attribute: write `attribute in (a, b)`; clauses are joined by `and`",
                    ));
                }
                (_, col) => return Err(err(col, "expected `and` or the end of the expression")),
            }
        }
        let mut merged: Vec<Clause> = Vec::new();
        for c in clauses {
            if !merged.contains(&c) {
                merged.push(c);
            }
        }
        merged.sort_by(|a, b| {
            (a.negated, a.attribute, &a.values).cmp(&(b.negated, b.attribute, &b.values))
        });
        Ok(Expr { clauses: merged })
    }

    fn clause(&mut self) -> Result<Clause, AdsError> {
        let negated = if self.keyword("not") {
            self.next();
            true
        } else {
            false
        };
        let (tok, col) = self.next();
        let name = match tok {
            Tok::Word(w) => w,
            Tok::End => return Err(err(col, "expected an attribute, found the end")),
            _ => return Err(err(col, "expected an attribute name")),
        };
        let attribute = Attribute::parse(&name).ok_or_else(|| AdsError::UnknownAttribute {
            column: col,
            name: name.clone(),
            allowed: Attribute::list(),
        })?;
        let mut values = Vec::new();
        match self.next() {
            (Tok::Eq, _) => values.push(self.value(attribute)?),
            (Tok::Word(w), _) if w.eq_ignore_ascii_case("in") => {
                match self.next() {
                    (Tok::LParen, _) => {}
                    (_, c) => return Err(err(c, "expected `(` after `in`")),
                }
                loop {
                    values.push(self.value(attribute)?);
                    if values.len() > MAX_VALUES {
                        return Err(err(col, format!("more than {MAX_VALUES} values")));
                    }
                    match self.next() {
                        (Tok::Comma, _) => continue,
                        (Tok::RParen, _) => break,
                        (_, c) => return Err(err(c, "expected `,` or `)`")),
                    }
                }
            }
            (_, c) => {
                return Err(err(
                    c,
                    format!("expected `=` or `in` after `{}`", attribute.name()),
                ));
            }
        }
        values.sort();
        values.dedup();
        Ok(Clause {
            negated,
            attribute,
            values,
        })
    }

    fn value(&mut self, attribute: Attribute) -> Result<String, AdsError> {
        let (tok, col) = self.next();
        let raw = match tok {
            Tok::Word(w) if !is_keyword(&w) => w,
            Tok::Unterminated => return Err(err(col, "unterminated string")),
            Tok::Quoted(q) => q,
            Tok::End => return Err(err(col, "expected a value, found the end")),
            _ => return Err(err(col, "expected a value")),
        };
        let v = normalize(&raw);
        if v.is_empty() {
            return Err(err(col, "empty value"));
        }
        if let Some(vocab) = attribute.vocabulary()
            && !vocab.contains(&v.as_str())
        {
            return Err(err(
                col,
                format!(
                    "`{raw}` is not a {}; one of: {}",
                    attribute.name(),
                    vocab.join(", ")
                ),
            ));
        }
        Ok(v)
    }
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "not", "in"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (String, usize) {
        match Expr::parse(text) {
            Err(AdsError::Parse { column, message }) => (message, column),
            Err(AdsError::UnknownAttribute { column, name, .. }) => {
                (format!("unknown {name}"), column)
            }
            other => panic!("expected an error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn facets_and_exclusions_parse_to_a_canonical_form() {
        let e = Expr::parse(
            "Seniority = director AND industry IN (Finance, \"Computer  Software\") and not region in (ontario)",
        )
        .unwrap();
        assert_eq!(
            e.canonical(),
            "industry in (\"computer software\", finance) and seniority in (director) and not region in (ontario)"
        );
        let again = Expr::parse(&e.canonical()).unwrap();
        assert_eq!(again, e);
        let reordered =
            Expr::parse("not region = Ontario and industry in (finance, \"computer software\") and seniority in (director)")
                .unwrap();
        assert_eq!(reordered.canonical(), e.canonical());
    }

    #[test]
    fn errors_name_their_column() {
        assert_eq!(
            parse_err("industry in (a, b"),
            ("expected `,` or `)`".to_owned(), 18)
        );
        assert_eq!(parse_err("industry finance").1, 10);
        let (m, c) = parse_err("industry = a or industry = b");
        assert!(m.contains("`or` joins values"));
        assert_eq!(c, 14);
        assert_eq!(parse_err("").1, 1);
        assert_eq!(parse_err("seniority = wizard").1, 13);
        assert!(parse_err("industry = \"open").0.contains("unterminated"));
        assert_eq!(parse_err("industry = a and").1, 17);
    }

    #[test]
    fn private_content_cannot_be_named() {
        for attr in [
            "message_topic",
            "private_message",
            "message",
            "note",
            "gender",
            "age",
        ] {
            let (m, c) = parse_err(&format!("industry = x and {attr} = y"));
            assert_eq!(m, format!("unknown {attr}"));
            assert_eq!(c, 18);
        }
        match Expr::parse("messages in (job)") {
            Err(e) => {
                assert_eq!(e.code(), "ads.unknown_attribute");
                assert!(e.to_string().contains("audiences may use region"));
            }
            Ok(_) => panic!("a private-content attribute parsed"),
        }
    }
}
