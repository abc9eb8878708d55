//! The embedded word lists (first names, surnames, places, nationalities, organisations,
//! common English words) and the one Aho-Corasick automaton that finds them in a text.
//!
//! The lists are compiled into the binary with `include_str!`, so detection needs no files at
//! run time. Where they come from, and their licences, is in `data/pii/LICENSES.md`;
//! `scripts/fetch-gazetteers.sh` regenerates the derived ones.

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::PiiError;

const FIRST_NAMES: &str = include_str!("../../data/pii/first_names.txt");
const LAST_NAMES: &str = include_str!("../../data/pii/last_names.txt");
const PLACES: &str = include_str!("../../data/pii/places.txt");
const US_STATES: &str = include_str!("../../data/pii/us_states.txt");
const NRP: &str = include_str!("../../data/pii/nrp.txt");
const ORGANIZATIONS: &str = include_str!("../../data/pii/organizations.txt");
const COMMON_WORDS: &str = include_str!("../../data/pii/common_words.txt");
const STOPWORDS: &str = include_str!("../../data/pii/stopwords.txt");

/// Gazetteer membership flags of a pattern (a word can be in several lists: "Jordan").
pub const FIRST: u8 = 1;
pub const LAST: u8 = 2;
pub const PLACE: u8 = 4;
pub const NRP_FLAG: u8 = 8;
pub const ORG: u8 = 16;

/// One gazetteer hit in a text.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub flags: u8,
}

#[derive(Debug)]
pub struct Gazetteer {
    automaton: AhoCorasick,
    flags: Vec<u8>,
    common: HashSet<&'static str>,
    stop: HashSet<&'static str>,
}

fn entries(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Gazetteer {
    pub fn new() -> Result<Gazetteer, PiiError> {
        let mut index: HashMap<&'static str, usize> = HashMap::new();
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut flags: Vec<u8> = Vec::new();
        let lists: [(&'static str, u8); 6] = [
            (FIRST_NAMES, FIRST),
            (LAST_NAMES, LAST),
            (PLACES, PLACE),
            (US_STATES, PLACE),
            (NRP, NRP_FLAG),
            (ORGANIZATIONS, ORG),
        ];
        for (list, flag) in lists {
            for entry in entries(list) {
                let id = *index.entry(entry).or_insert_with(|| {
                    patterns.push(entry);
                    flags.push(0);
                    patterns.len() - 1
                });
                flags[id] |= flag;
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .map_err(|e| PiiError::Gazetteer(e.to_string()))?;
        Ok(Gazetteer {
            automaton,
            flags,
            common: entries(COMMON_WORDS).collect(),
            stop: entries(STOPWORDS).collect(),
        })
    }

    /// Every gazetteer entry found in `text` that starts and ends on a word boundary, in order
    /// of their end offsets.
    pub fn hits(&self, text: &str, mut each: impl FnMut(Hit)) {
        for m in self.automaton.find_overlapping_iter(text) {
            let (start, end) = (m.start(), m.end());
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            if super::patterns::boundary_before(text, start)
                && super::patterns::boundary_after(text, end)
                && !word_goes_on_after_apostrophe(&text[end..])
            {
                each(Hit {
                    start,
                    end,
                    flags: self.flags[m.pattern().as_usize()],
                });
            }
        }
    }

    /// Is `word` (any case, ASCII-lowercased in a stack buffer) a common English word?
    pub fn is_common(&self, word: &str) -> bool {
        self.lookup_lower(word, &self.common)
    }

    /// Is `word` an English stop word ("the", "and", "my")?
    pub fn is_stopword(&self, word: &str) -> bool {
        self.lookup_lower(word, &self.stop)
    }

    fn lookup_lower(&self, word: &str, set: &HashSet<&'static str>) -> bool {
        let mut buf = [0u8; 32];
        let bytes = word.as_bytes();
        if bytes.len() > buf.len() || !word.is_ascii() {
            return set.contains(word);
        }
        for (dst, src) in buf.iter_mut().zip(bytes) {
            *dst = src.to_ascii_lowercase();
        }
        std::str::from_utf8(&buf[..bytes.len()]).is_ok_and(|w| set.contains(w))
    }
}

/// After an apostrophe: "'s" or "'" followed by a space is a possessive and the name before it
/// still counts; "O'Brien"-style letters after the apostrophe mean the word goes on.
fn word_goes_on_after_apostrophe(rest: &str) -> bool {
    if !rest.starts_with(['\'', '’']) {
        return false;
    }
    let after = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
    let mut chars = after.chars();
    match chars.next() {
        Some('s') => chars.next().is_some_and(char::is_alphanumeric),
        Some(c) => c.is_alphanumeric(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_places_and_phrases_on_word_boundaries() {
        let g = Gazetteer::new().unwrap();
        let text = "Mary Smith moved from New Zealand to Annabellex.";
        let mut found = Vec::new();
        g.hits(text, |h| found.push((&text[h.start..h.end], h.flags)));
        assert!(found.iter().any(|(w, f)| *w == "Mary" && f & FIRST != 0));
        assert!(found.iter().any(|(w, f)| *w == "Smith" && f & LAST != 0));
        assert!(found.iter().any(|(w, f)| *w == "New Zealand" && f & PLACE != 0));
        assert!(!found.iter().any(|(w, _)| w.starts_with("Anna")));
    }

    #[test]
    fn possessive_names_still_count() {
        let g = Gazetteer::new().unwrap();
        let text = "It was Pauline's kid.";
        let mut found = Vec::new();
        g.hits(text, |h| found.push(&text[h.start..h.end]));
        assert!(found.contains(&"Pauline"));
    }

    #[test]
    fn common_words_are_case_insensitive() {
        let g = Gazetteer::new().unwrap();
        assert!(g.is_common("House"));
        assert!(g.is_common("house"));
        assert!(!g.is_common("Koppány"));
        assert!(g.is_stopword("The"));
    }
}
