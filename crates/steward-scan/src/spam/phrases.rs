//! The urgency and money phrase search, without a lowercased copy of the message and without
//! looking at every byte.
//!
//! The rule it implements (and the reference test holds it to) is the one the spam rules have
//! always had: leftmost-longest non-overlapping matches over the ASCII-lowercased text, each
//! counted if it stands as a whole word (a `$` at a phrase's end counts as its boundary), and
//! distinct phrases counted per list. A match that fails the word test still consumes its
//! text, so it can hide a phrase that starts inside it: in `send moneygram`, `send money` is
//! found, fails (`g` follows), and `moneygram` is never seen.
//!
//! Every phrase starts with three letters, so a counted match starts at a word start (a letter
//! not preceded by an ASCII alphanumeric byte, followed by two more). The fast path looks only
//! there: a hash of the first four bytes picks a table entry listing the phrases that can
//! start with them (most starts find none), and those are compared in place, eight bytes at a
//! time, longest first. What it cannot see are matches that start inside a word; they are never
//! counted themselves, but they, like any match, can hide a phrase. A phrase found at a word
//! start is hidden only by a match that covers its first byte, whose phrase therefore has a
//! non-alphanumeric byte just before the overlap. `new` lists those (hider, offset) pairs per
//! phrase — today `respond asap` over `asap`, `send money` over `moneygram`, `verify your
//! account` over the `account …` phrases and `work from home and earn` over `earn $`. The fast
//! path checks them in place: a hider at a word start that nothing can hide and that no longer
//! phrase extends is certainly reported, so the phrase is hidden; a hider inside a word may or
//! may not be reported (something earlier may hide it), and the text goes to the exact
//! left-to-right search, `exact_counts`.

use crate::ScanError;

/// Number of first-two-byte keys (five low bits of each byte), for the exact search.
const KEYS: usize = 32 * 32;

/// Buckets of the filter that most letter starts stop at: a hash of their first four bytes.
const BUCKETS: usize = 4096;

/// Phrases are compared eight bytes at a time, in at most this many words.
const WORDS: usize = 4;

#[derive(Debug)]
struct Phrase {
    text: &'static [u8],
    /// The phrase in little-endian words of eight bytes, zero beyond its end.
    words: [u64; WORDS],
    /// Ones over the bytes of `words` that belong to the phrase.
    keeps: [u64; WORDS],
    /// `0x20` over the letters of `words`: a text byte `t` equals the lowercase letter `p`
    /// ASCII-case-insensitively exactly when `t | 0x20 == p`, and other bytes must be equal.
    folds: [u64; WORDS],
    money: bool,
    bit: u64,
    /// The whole-word test after the match is waived (the phrase ends with `$`).
    open_end: bool,
    /// (phrase, offset): that phrase, starting `offset` bytes earlier, covers this one's
    /// first byte with a non-alphanumeric byte just before it.
    hiders: Vec<(usize, usize)>,
    /// Found at a word start, this phrase is certainly reported by the left-to-right search:
    /// nothing can hide it there and no longer phrase starts with it.
    sure: bool,
}

/// The phrases, grouped by the key of their first two bytes, longest first in each group.
#[derive(Debug)]
pub(super) struct PhraseIndex {
    phrases: Vec<Phrase>,
    /// `groups[key]` is the range of `phrases` with that key.
    groups: Vec<(u8, u8)>,
    /// Per filter bucket (`bucket`), the index in `heads` of what may start there; 0 for
    /// nothing.
    buckets: Box<[u8; BUCKETS]>,
    /// What may start in a bucket: phrases (indices in `phrases`, longest first) and whether
    /// an extra key may. Entry 0 is empty.
    heads: Vec<Heads>,
    /// Per entry of `heads` that is one phrase and no extra key, that phrase's first word,
    /// keep and fold masks (see `Phrase`); zeros, which any text passes, for the others.
    firsts: Box<[[u64; 3]; 256]>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Heads {
    phrases: Vec<usize>,
    extra: bool,
}

/// What the fast path found so far: one bit per distinct counted phrase.
#[derive(Debug, Default)]
pub(super) struct Hits {
    urgency: u64,
    money: u64,
    /// A hider inside a word may hide a phrase: only the exact search can tell.
    undecided: bool,
}

fn rule_error(message: String) -> ScanError {
    ScanError::RuleData {
        file: "spam phrases",
        line: 0,
        message,
    }
}

/// Group key of a position or phrase from its first two bytes: their low five bits.
/// Case-insensitively equal bytes have equal low five bits.
fn key(a: u8, b: u8) -> usize {
    usize::from(a & 0x1f) << 5 | usize::from(b & 0x1f)
}

/// Filter bucket of the four bytes of `head` (little-endian), from their low five bits (a
/// multiplicative hash).
fn bucket(head: u32) -> usize {
    ((head & 0x1f1f_1f1f).wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// The number of bits set in `bits`, cheaply for the usual 0 or 1 (the target may have no
/// population-count instruction).
fn ones(bits: u64) -> usize {
    if bits & bits.wrapping_sub(1) == 0 {
        usize::from(bits != 0)
    } else {
        bits.count_ones() as usize
    }
}

/// The eight bytes at `at`, zero-padded past the end.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        Some(word) => u64::from_le_bytes(*word),
        None => padded_word_at(bytes, at),
    }
}

#[cold]
#[inline(never)]
fn padded_word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    for (w, &b) in word.iter_mut().zip(bytes.get(at..).unwrap_or_default()) {
        *w = b;
    }
    u64::from_le_bytes(word)
}

pub(super) fn is_word_start(bytes: &[u8], i: usize) -> bool {
    i == 0 || !bytes[i - 1].is_ascii_alphanumeric()
}

/// Whether `x`, starting `offset` bytes into `n`, agrees with `n` where they overlap.
fn overlaps(n: &[u8], offset: usize, x: &[u8]) -> bool {
    n[offset..].iter().zip(x).all(|(a, b)| a == b)
}

impl PhraseIndex {
    /// Indexes the urgency and money phrases (ASCII lowercase, each starting with a letter,
    /// at most 64 per list); `may_start` also lets through the first three bytes of each of
    /// `extra`.
    pub(super) fn new(
        urgency: &[&'static str],
        money: &[&'static str],
        extra: &[&'static str],
    ) -> Result<Self, ScanError> {
        if urgency.len() > 64 || money.len() > 64 {
            return Err(rule_error("more than 64 phrases in a list".into()));
        }
        let mut phrases = Vec::new();
        for (list, money) in [(urgency, false), (money, true)] {
            for (n, text) in list.iter().enumerate() {
                let text = text.as_bytes();
                if !text.first().is_some_and(u8::is_ascii_lowercase)
                    || text.iter().any(u8::is_ascii_uppercase)
                {
                    return Err(rule_error(format!(
                        "phrase {:?} must be ASCII lowercase and start with a letter",
                        String::from_utf8_lossy(text)
                    )));
                }
                if text.len() > 8 * WORDS {
                    return Err(rule_error(format!(
                        "phrase {:?} is longer than {} bytes",
                        String::from_utf8_lossy(text),
                        8 * WORDS
                    )));
                }
                let (mut words, mut keeps, mut folds) =
                    ([0u64; WORDS], [0u64; WORDS], [0u64; WORDS]);
                for (j, &b) in text.iter().enumerate() {
                    let shift = 8 * (j % 8);
                    words[j / 8] |= u64::from(b) << shift;
                    keeps[j / 8] |= 0xff << shift;
                    if b.is_ascii_lowercase() {
                        folds[j / 8] |= 0x20 << shift;
                    }
                }
                phrases.push(Phrase {
                    text,
                    words,
                    keeps,
                    folds,
                    money,
                    bit: 1u64 << n,
                    open_end: text.last() == Some(&b'$'),
                    hiders: Vec::new(),
                    sure: false,
                });
            }
        }
        phrases.sort_by_key(|p| (key(p.text[0], p.text[1]), std::cmp::Reverse(p.text.len())));
        let texts: Vec<&[u8]> = phrases.iter().map(|p| p.text).collect();
        for (x, phrase) in phrases.iter_mut().enumerate() {
            for (n, hider) in texts.iter().enumerate() {
                for offset in 1..hider.len() {
                    if !hider[offset - 1].is_ascii_alphanumeric()
                        && overlaps(hider, offset, texts[x])
                    {
                        phrase.hiders.push((n, offset));
                    }
                }
            }
        }
        for phrase in &mut phrases {
            let text = phrase.text;
            let extended = texts
                .iter()
                .any(|t| t.len() > text.len() && t.starts_with(text));
            phrase.sure = phrase.hiders.is_empty() && !extended;
        }
        let mut groups = vec![(0u8, 0u8); KEYS];
        let index = |n: usize| u8::try_from(n).map_err(|_| rule_error("too many phrases".into()));
        for (n, p) in phrases.iter().enumerate() {
            let group = &mut groups[key(p.text[0], p.text[1])];
            if group.0 == group.1 {
                *group = (index(n)?, index(n)?);
            }
            group.1 = index(n + 1)?;
        }
        let mut in_bucket = vec![Heads::default(); BUCKETS];
        let extras = extra.iter().map(|e| (e.as_bytes(), None));
        for (text, phrase) in phrases
            .iter()
            .enumerate()
            .map(|(n, p)| (p.text, Some(n)))
            .chain(extras)
        {
            let &[a, b, c, ..] = text else {
                return Err(rule_error(
                    "phrases must be at least three bytes long".into(),
                ));
            };
            if ![a, b, c].iter().all(u8::is_ascii_alphabetic) {
                // The byte pass offers only starts of three letters or more, and a phrase
                // there must not end within its first three bytes.
                return Err(rule_error("phrases must start with three letters".into()));
            }
            // A text that matches has the same first four bytes' low five bits; after a
            // three-byte key, any fourth byte.
            let fourth: Vec<u8> = match text.get(3) {
                Some(&d) => vec![d],
                None => (0..32).collect(),
            };
            for d in fourth {
                let heads = &mut in_bucket[bucket(u32::from_le_bytes([a, b, c, d]))];
                match phrase {
                    // `phrases` is sorted longest first within a group, but a bucket may mix
                    // groups.
                    Some(n) => heads.phrases.push(n),
                    None => heads.extra = true,
                }
            }
        }
        let mut buckets = Box::new([0u8; BUCKETS]);
        let mut heads = vec![Heads::default()];
        for (k, mut bucket_heads) in in_bucket.into_iter().enumerate() {
            if bucket_heads == Heads::default() {
                continue;
            }
            bucket_heads
                .phrases
                .sort_by_key(|&n| std::cmp::Reverse(phrases[n].text.len()));
            buckets[k] = u8::try_from(heads.len())
                .map_err(|_| rule_error("too many phrase heads".into()))?;
            heads.push(bucket_heads);
        }
        let mut firsts = Box::new([[0u64; 3]; 256]);
        for (first, h) in firsts.iter_mut().zip(&heads) {
            if let (false, &[n]) = (h.extra, h.phrases.as_slice()) {
                let p = &phrases[n];
                *first = [p.words[0], p.keeps[0], p.folds[0]];
            }
        }
        Ok(PhraseIndex {
            phrases,
            groups,
            buckets,
            heads,
            firsts,
        })
    }

    /// The longest phrase that matches at `i`, ASCII-case-insensitively.
    #[inline]
    fn longest_at(&self, bytes: &[u8], i: usize) -> Option<&Phrase> {
        let (Some(&a), Some(&b)) = (bytes.get(i), bytes.get(i + 1)) else {
            return None;
        };
        let (start, end) = self.groups[key(a, b)];
        self.phrases[usize::from(start)..usize::from(end)]
            .iter()
            .find(|p| Self::matches_at(bytes, p, i))
    }

    /// Whether `p` matches at `i`, eight bytes at a time. Most candidates differ in the first
    /// sixteen bytes (`account at` for the `account …` phrases); the rest is compared out of
    /// line.
    #[inline(always)]
    fn matches_at(bytes: &[u8], p: &Phrase, i: usize) -> bool {
        let len = p.text.len();
        let fits = bytes.len().checked_sub(i).is_some_and(|left| left >= len);
        let word = |k: usize| (word_at(bytes, i + 8 * k) & p.keeps[k]) | p.folds[k] == p.words[k];
        fits && word(0) && (len <= 8 || word(1)) && (len <= 16 || Self::rest_matches(bytes, p, i))
    }

    #[inline(never)]
    fn rest_matches(bytes: &[u8], p: &Phrase, i: usize) -> bool {
        (2..p.text.len().div_ceil(8))
            .all(|k| (word_at(bytes, i + 8 * k) & p.keeps[k]) | p.folds[k] == p.words[k])
    }

    /// Whether `p`, matched at `i`, is followed by a word boundary.
    fn ends_word(bytes: &[u8], p: &Phrase, i: usize) -> bool {
        p.open_end
            || bytes
                .get(i + p.text.len())
                .is_none_or(|b| !b.is_ascii_alphanumeric())
    }

    /// What may start with the four bytes of `head` (little-endian; zero past the end of the
    /// text), as an index for `extra_may_start` and `at_word_start`; 0 for nothing, where
    /// most letter starts stop, at one table load inlined into the byte pass.
    #[inline(always)]
    pub(super) fn heads(&self, head: u32) -> u8 {
        self.buckets[bucket(head)]
    }

    /// Whether something may start where the eight bytes are `text` (little-endian, zero past
    /// the end) and `heads` gave `heads`: false only if the one phrase there differs in its
    /// first eight bytes. Inlined into the byte pass, to spare
    /// a call for the commonest near misses (`you are` for `you have won`).
    #[inline(always)]
    pub(super) fn may_match(&self, heads: u8, text: u64) -> bool {
        let [word, keep, fold] = self.firsts[usize::from(heads)];
        (text & keep) | fold == word
    }

    /// Whether an extra key given to `new` may start where `heads` gave `heads`.
    pub(super) fn extra_may_start(&self, heads: u8) -> bool {
        self.heads[usize::from(heads)].extra
    }

    /// Fast path: the phrase at word start `i` (a letter after no ASCII alphanumeric byte),
    /// where `heads` gave `heads`, if it is counted.
    #[inline]
    pub(super) fn at_word_start(&self, bytes: &[u8], i: usize, heads: u8, hits: &mut Hits) {
        let Some(p) = self.heads[usize::from(heads)]
            .phrases
            .iter()
            .map(|&n| &self.phrases[n])
            .find(|p| Self::matches_at(bytes, p, i))
        else {
            return;
        };
        if !Self::ends_word(bytes, p, i) {
            return;
        }
        for &(n, offset) in &p.hiders {
            let hider = &self.phrases[n];
            let covered = i.checked_sub(offset).is_some_and(|s| {
                bytes
                    .get(s..s + hider.text.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(hider.text))
            });
            if covered {
                if hider.sure && is_word_start(bytes, i - offset) {
                    return;
                }
                hits.undecided = true;
            }
        }
        if p.money {
            hits.money |= p.bit;
        } else {
            hits.urgency |= p.bit;
        }
    }

    /// Distinct (urgency, money) phrases counted in `bytes`, given what the fast path saw.
    #[inline]
    pub(super) fn counts(&self, bytes: &[u8], hits: &Hits) -> (usize, usize) {
        if hits.undecided {
            return self.exact_counts(bytes);
        }
        (ones(hits.urgency), ones(hits.money))
    }

    /// The left-to-right search itself, at every byte: the longest phrase at the leftmost
    /// position that has one, then on from its end.
    pub(super) fn exact_counts(&self, bytes: &[u8]) -> (usize, usize) {
        let mut hits = Hits::default();
        let mut i = 0;
        while i < bytes.len() {
            let Some(p) = self.longest_at(bytes, i) else {
                i += 1;
                continue;
            };
            if is_word_start(bytes, i) && Self::ends_word(bytes, p, i) {
                if p.money {
                    hits.money |= p.bit;
                } else {
                    hits.urgency |= p.bit;
                }
            }
            i += p.text.len();
        }
        (
            hits.urgency.count_ones() as usize,
            hits.money.count_ones() as usize,
        )
    }

    /// The (hider, hidden, offset) pairs the fast path checks, for tests.
    #[cfg(test)]
    pub(super) fn hider_pairs(&self) -> Vec<(&'static str, &'static str, usize)> {
        let name = |p: &Phrase| std::str::from_utf8(p.text).unwrap_or_default();
        let mut pairs: Vec<_> = self
            .phrases
            .iter()
            .flat_map(|x| {
                x.hiders
                    .iter()
                    .map(move |&(n, offset)| (name(&self.phrases[n]), name(x), offset))
            })
            .collect();
        pairs.sort_unstable();
        pairs
    }
}
