//! PII detection and scrubbing in free text.
//!
//! A [`Detector`] is built once (regexes compiled, gazetteers loaded into one Aho-Corasick
//! automaton) and then scans any number of texts; each scan is a handful of linear passes:
//!
//! 1. **Patterns** ([`patterns`]): regexes for structured identifiers (emails, URLs, domains,
//!    handles, IPs, cards, IBANs, SSNs, phones, dates, postal codes, street addresses, ages),
//!    each gated by a cheap byte test (no `@`, no regex for emails; no digit, no regex for
//!    numbers) and confirmed by a checksum or validity rule where one exists ([`validate`]).
//! 2. **Gazetteers and context** ([`names`]): the text is cut into word tokens once; the
//!    automaton marks tokens and phrases found in the name, place, nationality and organisation
//!    lists; context rules (capitalisation, titles, "my name is", first-name + surname pairs,
//!    company suffixes, "in <Place>") turn runs of capitalised tokens into PERSON, LOCATION,
//!    ORGANIZATION and NRP candidates with a confidence that says how much evidence there was.
//! 3. **Resolution**: overlapping candidates are settled by confidence (then length), and
//!    byte spans get character offsets in one forward walk.
//!
//! Scratch buffers live in a [`Scratch`] the caller keeps, so scanning a stream of texts does
//! not allocate per text once the buffers have grown, and never per character.
//!
//! Detection is a heuristic: the confidence is a ranking signal, not a probability. Scrubbing
//! ([`scrub`]) replaces detected spans by typed placeholders or keyed pseudonyms.

mod gazetteer;
mod names;
mod patterns;
pub mod scrub;
pub mod validate;

pub use scrub::{ScrubMode, Scrubber};

/// What kind of personal data a span is. The finer kinds (street address, postal code, place)
/// map onto Presidio's coarser names with [`PiiKind::presidio_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Person,
    /// A title or honorific before a name (Mr., Dr.).
    Title,
    /// A geopolitical entity or other named place.
    Place,
    StreetAddress,
    PostalCode,
    Organization,
    /// Nationality, religious or political group.
    Nrp,
    EmailAddress,
    PhoneNumber,
    Url,
    DomainName,
    SocialHandle,
    IpAddress,
    CreditCard,
    IbanCode,
    UsSsn,
    DateTime,
    Age,
}

impl PiiKind {
    /// Every kind, for tables and tests.
    pub const ALL: [PiiKind; 18] = [
        PiiKind::Person,
        PiiKind::Title,
        PiiKind::Place,
        PiiKind::StreetAddress,
        PiiKind::PostalCode,
        PiiKind::Organization,
        PiiKind::Nrp,
        PiiKind::EmailAddress,
        PiiKind::PhoneNumber,
        PiiKind::Url,
        PiiKind::DomainName,
        PiiKind::SocialHandle,
        PiiKind::IpAddress,
        PiiKind::CreditCard,
        PiiKind::IbanCode,
        PiiKind::UsSsn,
        PiiKind::DateTime,
        PiiKind::Age,
    ];

    /// Our own stable name for the kind.
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Person => "PERSON",
            PiiKind::Title => "TITLE",
            PiiKind::Place => "GPE",
            PiiKind::StreetAddress => "STREET_ADDRESS",
            PiiKind::PostalCode => "ZIP_CODE",
            PiiKind::Organization => "ORGANIZATION",
            PiiKind::Nrp => "NRP",
            PiiKind::EmailAddress => "EMAIL_ADDRESS",
            PiiKind::PhoneNumber => "PHONE_NUMBER",
            PiiKind::Url => "URL",
            PiiKind::DomainName => "DOMAIN_NAME",
            PiiKind::SocialHandle => "SOCIAL_HANDLE",
            PiiKind::IpAddress => "IP_ADDRESS",
            PiiKind::CreditCard => "CREDIT_CARD",
            PiiKind::IbanCode => "IBAN_CODE",
            PiiKind::UsSsn => "US_SSN",
            PiiKind::DateTime => "DATE_TIME",
            PiiKind::Age => "AGE",
        }
    }

    /// Presidio's entity name, where Presidio has one (it has none for titles and ages; social
    /// handles keep their own name).
    pub fn presidio_name(self) -> Option<&'static str> {
        Some(match self {
            PiiKind::Place | PiiKind::StreetAddress | PiiKind::PostalCode => "LOCATION",
            PiiKind::Url | PiiKind::DomainName => "URL",
            PiiKind::Title | PiiKind::Age => return None,
            other => other.name(),
        })
    }

    /// The placeholder a scrubber writes in place of a span of this kind.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Person => "<PERSON>",
            PiiKind::Title => "<TITLE>",
            PiiKind::Place => "<LOCATION>",
            PiiKind::StreetAddress => "<ADDRESS>",
            PiiKind::PostalCode => "<POSTAL_CODE>",
            PiiKind::Organization => "<ORGANIZATION>",
            PiiKind::Nrp => "<NRP>",
            PiiKind::EmailAddress => "<EMAIL>",
            PiiKind::PhoneNumber => "<PHONE>",
            PiiKind::Url => "<URL>",
            PiiKind::DomainName => "<DOMAIN>",
            PiiKind::SocialHandle => "<HANDLE>",
            PiiKind::IpAddress => "<IP_ADDRESS>",
            PiiKind::CreditCard => "<CREDIT_CARD>",
            PiiKind::IbanCode => "<IBAN>",
            PiiKind::UsSsn => "<US_SSN>",
            PiiKind::DateTime => "<DATE>",
            PiiKind::Age => "<AGE>",
        }
    }
}

/// One detected span. `start..end` are byte offsets into the scanned text (always on char
/// boundaries); `char_start..char_end` are the same span in Unicode scalar values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
    pub char_start: usize,
    pub char_end: usize,
    /// How much evidence backs the detection, in (0, 1]: checksummed identifiers near 1, a lone
    /// capitalised word near 0.3.
    pub confidence: f32,
}

/// Why a detector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// A built-in pattern failed to compile (a bug, reported rather than panicking).
    #[error("built-in PII pattern `{name}` does not compile: {message}")]
    Pattern { name: &'static str, message: String },
    /// The gazetteer automaton could not be built.
    #[error("PII gazetteer automaton could not be built: {0}")]
    Gazetteer(String),
}

impl PiiError {
    /// Stable code for scripts and logs.
    pub fn code(&self) -> &'static str {
        match self {
            PiiError::Pattern { .. } => "pii.pattern",
            PiiError::Gazetteer(_) => "pii.gazetteer",
        }
    }
}

/// A candidate before overlap resolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// Reusable buffers for [`Detector::detect_into`]; keep one per thread.
#[derive(Debug, Default)]
pub struct Scratch {
    candidates: Vec<Candidate>,
    tokens: Vec<names::Token>,
    phrases: Vec<names::Phrase>,
}

/// A compiled PII detector. Cheap to share across threads (`&Detector` is `Sync`).
#[derive(Debug)]
pub struct Detector {
    patterns: patterns::Patterns,
    gazetteer: gazetteer::Gazetteer,
    min_confidence: f32,
}

impl Detector {
    /// Compiles the built-in patterns and loads the embedded gazetteers.
    pub fn new() -> Result<Detector, PiiError> {
        Ok(Detector {
            patterns: patterns::Patterns::new()?,
            gazetteer: gazetteer::Gazetteer::new()?,
            min_confidence: 0.0,
        })
    }

    /// Drops detections below `min` confidence (default 0: keep all).
    pub fn with_min_confidence(mut self, min: f32) -> Detector {
        self.min_confidence = min;
        self
    }

    /// Detections in `text`, sorted by start offset, non-overlapping.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        self.detect_into(text, &mut scratch, &mut out);
        out
    }

    /// Like [`Detector::detect`], writing into `out` (cleared first) and reusing `scratch`.
    pub fn detect_into(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<Detection>) {
        out.clear();
        scratch.candidates.clear();
        self.patterns.scan(text, &mut scratch.candidates);
        names::scan(
            &self.gazetteer,
            text,
            &mut scratch.tokens,
            &mut scratch.phrases,
            &mut scratch.candidates,
        );
        resolve(text, &mut scratch.candidates, self.min_confidence, out);
    }
}

/// Keeps the strongest of overlapping candidates (higher confidence, then longer span, then
/// the earlier kind in [`PiiKind`] order, so the result does not depend on scan order), then
/// adds character offsets.
fn resolve(
    text: &str,
    candidates: &mut [Candidate],
    min_confidence: f32,
    out: &mut Vec<Detection>,
) {
    candidates.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.kind.cmp(&b.kind))
            .then(a.start.cmp(&b.start))
    });
    for c in candidates.iter() {
        if c.confidence < min_confidence || c.start >= c.end || c.end > text.len() {
            continue;
        }
        if !text.is_char_boundary(c.start) || !text.is_char_boundary(c.end) {
            continue;
        }
        if out.iter().any(|d| d.start < c.end && c.start < d.end) {
            // An address block keeps the parts that stronger detections (a country, a postal
            // code) leave uncovered, so the block as a whole is still scrubbed.
            if c.kind == PiiKind::StreetAddress {
                push_uncovered(text, c, out);
            }
            continue;
        }
        out.push(Detection {
            kind: c.kind,
            start: c.start,
            end: c.end,
            char_start: 0,
            char_end: 0,
            confidence: c.confidence,
        });
    }
    out.sort_by_key(|d| d.start);
    if text.is_ascii() {
        for d in out.iter_mut() {
            d.char_start = d.start;
            d.char_end = d.end;
        }
        return;
    }
    // Spans are sorted and disjoint, so one forward walk counts the characters before each.
    let (mut byte, mut chars) = (0usize, 0usize);
    for d in out.iter_mut() {
        chars += text[byte..d.start].chars().count();
        d.char_start = chars;
        chars += text[d.start..d.end].chars().count();
        d.char_end = chars;
        byte = d.end;
    }
}

/// Adds the pieces of `c` that no detection in `out` covers, trimmed of separators.
fn push_uncovered(text: &str, c: &Candidate, out: &mut Vec<Detection>) {
    let mut pos = c.start;
    while pos < c.end {
        // The next covered stretch at or after `pos`.
        let next = out
            .iter()
            .filter(|d| d.end > pos && d.start < c.end)
            .min_by_key(|d| d.start)
            .map(|d| (d.start.max(pos), d.end));
        let (gap_end, resume) = match next {
            Some((s, e)) => (s, e),
            None => (c.end, c.end),
        };
        if gap_end > pos {
            let piece = &text[pos..gap_end];
            let lead = piece.len() - piece.trim_start_matches(is_separator).len();
            let trimmed = piece.trim_matches(is_separator);
            if trimmed.chars().filter(|ch| ch.is_alphanumeric()).count() >= 2 {
                let start = pos + lead;
                out.push(Detection {
                    kind: c.kind,
                    start,
                    end: start + trimmed.len(),
                    char_start: 0,
                    char_end: 0,
                    confidence: c.confidence,
                });
            }
        }
        pos = resume.max(pos + 1);
        while pos < text.len() && !text.is_char_boundary(pos) {
            pos += 1;
        }
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '.' | '-' | '(' | ')')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_keep_the_most_confident_and_offsets_count_chars() {
        let text = "é abc def";
        let mut cands = vec![
            Candidate {
                kind: PiiKind::Person,
                start: 3,
                end: 6,
                confidence: 0.4,
            },
            Candidate {
                kind: PiiKind::Organization,
                start: 3,
                end: 10,
                confidence: 0.8,
            },
        ];
        let mut out = Vec::new();
        resolve(text, &mut cands, 0.0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, PiiKind::Organization);
        assert_eq!((out[0].start, out[0].end), (3, 10));
        assert_eq!((out[0].char_start, out[0].char_end), (2, 9));
    }

    #[test]
    fn names_are_stable() {
        for k in PiiKind::ALL {
            assert!(k.placeholder().starts_with('<'));
            assert!(!k.name().is_empty());
        }
        assert_eq!(PiiKind::StreetAddress.presidio_name(), Some("LOCATION"));
        assert_eq!(PiiKind::DomainName.presidio_name(), Some("URL"));
        assert_eq!(PiiKind::Age.presidio_name(), None);
    }
}
