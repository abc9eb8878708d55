//! The embedded word lists (first names, surnames, places, nationalities, organisations,
//! common English words): single words in hash maps looked up per token, multi-word entries
//! ("New Zealand", "Goldman Sachs") in an Aho-Corasick automaton run anchored at the words that
//! can begin one.
//!
//! The lists are compiled into the binary with `include_str!`, so detection needs no files at
//! run time. Where they come from, and their licences, is in `data/pii/LICENSES.md`;
//! `scripts/fetch-gazetteers.sh` regenerates the derived ones.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};

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
    words: WordFlags,
    automaton: AhoCorasick,
    phrase_flags: Vec<u8>,
    common: WordSet,
    stop: WordSet,
}

/// FNV-1a: word lookups hash a few bytes each, where SipHash's set-up dominates. The sets are
/// built from our own lists, so flooding resistance is not needed.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type WordSet = HashSet<&'static str, BuildHasherDefault<Fnv>>;
type WordFlags = HashMap<&'static str, u8, BuildHasherDefault<Fnv>>;

fn entries(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Set on a word that begins some multi-word entry ("New" for "New Zealand").
const PHRASE_HEAD: u8 = 32;

/// An entry is a phrase when the tokenizer would cut it into several words.
fn is_phrase(entry: &str) -> bool {
    entry
        .chars()
        .any(|c| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '’'))
}

impl Gazetteer {
    pub fn new() -> Result<Gazetteer, PiiError> {
        let mut words: WordFlags = WordFlags::default();
        let mut index: HashMap<&'static str, usize> = HashMap::new();
        let mut phrases: Vec<&'static str> = Vec::new();
        let mut phrase_flags: Vec<u8> = Vec::new();
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
                if !is_phrase(entry) {
                    *words.entry(entry).or_insert(0) |= flag;
                    continue;
                }
                let id = *index.entry(entry).or_insert_with(|| {
                    phrases.push(entry);
                    phrase_flags.push(0);
                    phrases.len() - 1
                });
                phrase_flags[id] |= flag;
                let head_len = entry
                    .find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '’'))
                    .unwrap_or(entry.len());
                *words.entry(&entry[..head_len]).or_insert(0) |= PHRASE_HEAD;
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&phrases)
            .map_err(|e| PiiError::Gazetteer(e.to_string()))?;
        Ok(Gazetteer {
            words,
            automaton,
            phrase_flags,
            common: entries(COMMON_WORDS).collect(),
            stop: entries(STOPWORDS).collect(),
        })
    }

    /// The gazetteer flags of one word (case-sensitive: names are capitalised) and whether a
    /// multi-word entry may start with it.
    pub fn word(&self, word: &str) -> (u8, bool) {
        let flags = self.words.get(word).copied().unwrap_or(0);
        (flags & !PHRASE_HEAD, flags & PHRASE_HEAD != 0)
    }

    /// The longest multi-word entry starting at `start` and ending on a word boundary. The
    /// automaton runs anchored, only where a word that can begin a phrase was seen.
    pub fn phrase_at(&self, text: &str, start: usize) -> Option<Hit> {
        let input = Input::new(text).range(start..).anchored(Anchored::Yes);
        let m = self.automaton.try_find(input).ok()??;
        let end = m.end();
        let whole_word = text.is_char_boundary(end)
            && super::patterns::boundary_after(text, end)
            && !word_goes_on_after_apostrophe(&text[end..]);
        whole_word.then(|| Hit {
            start,
            end,
            flags: self.phrase_flags[m.pattern().as_usize()],
        })
    }

    /// Every gazetteer entry found at a word start in `text` (test helper for the lists).
    #[cfg(test)]
    pub fn hits(&self, text: &str, mut each: impl FnMut(Hit)) {
        for (i, _) in text.char_indices() {
            if !super::patterns::boundary_before(text, i) {
                continue;
            }
            if let Some(hit) = self.phrase_at(text, i) {
                each(hit);
                continue;
            }
            let end = text[i..]
                .find(|c: char| !c.is_alphanumeric())
                .map_or(text.len(), |e| i + e);
            let (flags, _) = self.word(&text[i..end]);
            if end > i && flags != 0 {
                each(Hit {
                    start: i,
                    end,
                    flags,
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

    fn lookup_lower(&self, word: &str, set: &WordSet) -> bool {
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
        assert!(
            found
                .iter()
                .any(|(w, f)| *w == "New Zealand" && f & PLACE != 0)
        );
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
