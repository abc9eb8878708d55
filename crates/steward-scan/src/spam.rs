//! Spam heuristics: urgency, money requests, many links, shouting, exclamation runs. Each
//! feature adds to a score; the strongest feature names the rule.

mod blocks;
mod phrases;

use crate::bytescan::each_position;
use crate::{Finding, ScanError};
use phrases::{Hits, PhraseIndex, is_word_start};

const URGENCY: &[&str] = &[
    "urgent",
    "act now",
    "immediately",
    "within 24 hours",
    "within 48 hours",
    "limited time",
    "expires today",
    "final notice",
    "last chance",
    "verify your account",
    "account will be suspended",
    "account suspended",
    "account has been locked",
    "confirm your identity",
    "click here",
    "don't miss out",
    "respond asap",
    "asap",
];
const MONEY: &[&str] = &[
    "wire transfer",
    "gift card",
    "bitcoin",
    "btc",
    "usdt",
    "crypto wallet",
    "western union",
    "moneygram",
    "send money",
    "bank details",
    "processing fee",
    "advance fee",
    "investment opportunity",
    "guaranteed return",
    "guaranteed profit",
    "double your",
    "lottery",
    "you have won",
    "you've won",
    "inheritance",
    "claim your prize",
    "cash prize",
    "work from home and earn",
    "earn $",
    "per week from home",
];

pub(crate) mod rule {
    pub const URGENCY: &str = "spam.urgency";
    pub const MONEY_REQUEST: &str = "spam.money_request";
    pub const MANY_LINKS: &str = "spam.many_links";
    pub const SHOUTING: &str = "spam.shouting";
    pub const EXCLAMATIONS: &str = "spam.exclamations";
}

/// Spam heuristics. One pass over the bytes counts letters, uppercase letters and `!` and
/// hands each start of three letters to the phrase index and the currency-code check (see
/// `phrases.rs` for why word starts suffice for the phrases); currency signs and `!!` pairs
/// get their own pass only in the messages whose counts say they may matter.
#[derive(Debug)]
pub struct SpamRules {
    phrases: PhraseIndex,
}

/// Currency codes that follow an amount (`2500 USD`).
const CODES: &[&str] = &["usd", "eur", "gbp"];

/// What the rules measure in one message.
#[derive(Debug, Default, PartialEq, Eq)]
struct Features {
    urgency: usize,
    money_phrases: usize,
    amount: bool,
    letters: usize,
    upper: usize,
    exclamation_pairs: usize,
}

/// Non-overlapping `!!` pairs, as `text.matches("!!").count()` counts them: half of each run
/// of `!`, rounded down, fed the positions of the `!` in order.
#[derive(Debug)]
struct Exclamations {
    pairs: usize,
    run: usize,
    /// Position just after the last `!` seen, so a `!` there continues the run.
    run_end: usize,
}

impl Exclamations {
    fn at(&mut self, i: usize) {
        if i == self.run_end {
            self.run += 1;
        } else {
            self.pairs += self.run / 2;
            self.run = 1;
        }
        self.run_end = i + 1;
    }

    fn pairs(&self) -> usize {
        self.pairs + self.run / 2
    }
}

impl SpamRules {
    /// Builds the phrase index.
    pub fn new() -> Result<SpamRules, ScanError> {
        Ok(SpamRules {
            phrases: PhraseIndex::new(URGENCY, MONEY, CODES)?,
        })
    }

    /// Adds spam findings for `text`, which holds `link_count` links.
    pub(crate) fn check(&self, text: &str, link_count: usize, out: &mut Vec<Finding>) {
        let f = self.features(text);
        if f.urgency > 0 {
            out.push(Finding::spam(
                rule::URGENCY,
                (0.3 * f.urgency as f32).min(0.5),
            ));
        }
        let money = f.money_phrases + usize::from(f.amount);
        if money > 0 {
            out.push(Finding::spam(
                rule::MONEY_REQUEST,
                (0.35 * money as f32).min(0.6),
            ));
        }
        if link_count >= 4 {
            out.push(Finding::spam(
                rule::MANY_LINKS,
                (0.1 * link_count as f32).min(0.4),
            ));
        }
        if f.letters >= 20 && f.upper * 10 >= f.letters * 6 {
            out.push(Finding::spam(rule::SHOUTING, 0.3));
        }
        if f.exclamation_pairs >= 2 {
            out.push(Finding::spam(rule::EXCLAMATIONS, 0.15));
        }
    }

    fn features(&self, text: &str) -> Features {
        let bytes = text.as_bytes();
        let mut state = State::default();
        let pass = Pass {
            text,
            phrases: &self.phrases,
            state: &mut state,
        };
        let counts = blocks::scan(bytes, pass);
        let (urgency, money_phrases) = self.phrases.counts(bytes, &state.hits);
        let mut amount = state.amount;
        if counts.dollar_or_non_ascii && !amount {
            // `$` is the first byte of its sign, 0xC2 and 0xE2 of `£` and `€` (`& 0xDF`
            // matches both).
            each_position(
                bytes,
                |b| (b == b'$') | ((b & 0xDF) == 0xC2),
                |i| amount = amount || sign_amount_at(text, i),
            );
        }
        let (letters, upper) = if counts.ascii {
            (counts.letters, counts.upper)
        } else {
            unicode_letter_counts(text)
        };
        // Two `!!` pairs need four `!`.
        let exclamation_pairs = if counts.bangs >= 4 {
            let mut bangs = Exclamations {
                pairs: 0,
                run: 0,
                run_end: usize::MAX,
            };
            each_position(bytes, |b| b == b'!', |i| bangs.at(i));
            bangs.pairs()
        } else {
            0
        };
        Features {
            urgency,
            money_phrases,
            amount,
            letters,
            upper,
            exclamation_pairs,
        }
    }
}

/// What the letter starts of a message showed so far.
#[derive(Debug, Default)]
struct State {
    hits: Hits,
    amount: bool,
}

/// The byte pass's view of one message. Its fields are copied into the pass's registers; the
/// mutable part is behind `state`.
struct Pass<'a> {
    text: &'a str,
    phrases: &'a PhraseIndex,
    state: &'a mut State,
}

impl blocks::Visit for Pass<'_> {
    /// Inlined into the byte pass: most starts begin no phrase or code and end at one table
    /// load, most of the rest at one eight-byte compare; the few left leave the loop.
    #[inline(always)]
    fn letter_start(&mut self, i: usize, word: u64) {
        let head = word as u32;
        let heads = self.phrases.heads(head);
        if heads != 0 && self.phrases.may_match(heads, word) {
            letters_at(self.text, self.phrases, self.state, i, head, heads);
        }
    }
}

/// A letter start whose first bytes (`head`, little-endian) may start a phrase or a currency
/// code (`heads`, from the phrase index).
#[inline(never)]
fn letters_at(
    text: &str,
    phrases: &PhraseIndex,
    state: &mut State,
    i: usize,
    head: u32,
    heads: u8,
) {
    let bytes = text.as_bytes();
    if !state.amount && phrases.extra_may_start(heads) {
        // The codes are lowercase letters: `b | 0x20` equals one exactly for its two cases.
        let folded = (head | 0x0020_2020).to_le_bytes();
        if CODES.iter().any(|code| code.as_bytes() == &folded[..3]) {
            state.amount = code_amount_at(text, i);
        }
    }
    if is_word_start(bytes, i) {
        phrases.at_word_start(bytes, i, heads, &mut state.hits);
    }
}

/// Letters and uppercase letters, by Unicode's definition (for text that is not all ASCII).
fn unicode_letter_counts(text: &str) -> (usize, usize) {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .fold((0, 0), |(l, u), c| {
            (l + 1, u + usize::from(c.is_uppercase()))
        })
}

/// Part of a written amount: digits and the separators `,` and `.`.
fn is_amount_char(c: &char) -> bool {
    c.is_ascii_digit() || *c == ',' || *c == '.'
}

/// Whether a currency sign (`$`, `€`, `£`) starts at byte `i` and is followed by an amount of
/// three digits or more (`$5,000`, `€ 900`). A money amount is this or `code_amount_at`.
fn sign_amount_at(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    // `€` is E2 82 AC and `£` is C2 A3: a lead byte followed by the rest of the sign is that
    // character, at a character boundary.
    let sign_len = match bytes.get(i) {
        Some(b'$') => 1,
        Some(0xE2) if bytes[i + 1..].starts_with(&[0x82, 0xAC]) => 3,
        Some(0xC2) if bytes.get(i + 1) == Some(&0xA3) => 2,
        _ => return false,
    };
    let digits = text[i + sign_len..]
        .trim_start()
        .chars()
        .take_while(is_amount_char)
        .filter(char::is_ascii_digit)
        .count();
    digits >= 3
}

/// Whether a currency code (`USD`, `EUR`, `GBP`, any case) that does not continue a word
/// starts at byte `i` and follows an amount of three digits or more (`2500 USD`, `900EUR`).
fn code_amount_at(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    // The codes are lowercase letters: `b | 0x20` equals one exactly for its two cases.
    let is_code = bytes.get(i..i + 3).is_some_and(|c| {
        let folded = [c[0] | 0x20, c[1] | 0x20, c[2] | 0x20];
        CODES.iter().any(|code| code.as_bytes() == folded)
    });
    if !is_code || (i > 0 && bytes[i - 1].is_ascii_alphabetic()) {
        return false;
    }
    let digits = text[..i]
        .trim_end()
        .chars()
        .rev()
        .take_while(is_amount_char)
        .filter(char::is_ascii_digit)
        .count();
    digits >= 3
}

#[cfg(test)]
mod tests {
    use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
    use proptest::prelude::*;

    use super::*;
    use crate::VerdictKind;
    use crate::test_text::adversarial;

    /// What `has_money_amount` replaced: a scan per sign and per currency code.
    fn has_money_amount_reference(text: &str) -> bool {
        for (i, c) in text.char_indices() {
            if matches!(c, '$' | '€' | '£') {
                let digits = text[i + c.len_utf8()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                    .filter(char::is_ascii_digit)
                    .count();
                if digits >= 3 {
                    return true;
                }
            }
        }
        let bytes = text.as_bytes();
        for code in ["USD", "EUR", "GBP"] {
            let mut from = 0;
            while let Some(found) = bytes[from..]
                .windows(code.len())
                .position(|w| w.eq_ignore_ascii_case(code.as_bytes()))
            {
                let i = from + found;
                from = i + code.len();
                let digits = text[..i]
                    .trim_end()
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                    .filter(char::is_ascii_digit)
                    .count();
                if digits >= 3 && (i == 0 || !bytes[i - 1].is_ascii_alphabetic()) {
                    return true;
                }
            }
        }
        false
    }

    /// The phrase automaton the phrase index replaced: leftmost-longest over the
    /// ASCII-lowercased text (or ASCII-case-insensitive over the text itself).
    fn reference_automaton(case_insensitive: bool) -> AhoCorasick {
        let all: Vec<&str> = URGENCY.iter().chain(MONEY).copied().collect();
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(case_insensitive)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&all)
            .unwrap()
    }

    /// The replaced phrase count: distinct (urgency, money) phrases among the automaton's
    /// matches that stand as whole words.
    fn distinct_word_hits(matcher: &AhoCorasick, text: &str) -> (usize, usize) {
        let bytes = text.as_bytes();
        let mut urgency = 0u64;
        let mut money = 0u64;
        for m in matcher.find_iter(text) {
            let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
            let after = bytes.get(m.end());
            let boundary = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
            if boundary(before) && (boundary(after) || bytes.get(m.end() - 1) == Some(&b'$')) {
                let index = m.pattern().as_usize();
                if index < URGENCY.len() {
                    urgency |= 1u64 << (index % 64);
                } else {
                    money |= 1u64 << ((index - URGENCY.len()) % 64);
                }
            }
        }
        (urgency.count_ones() as usize, money.count_ones() as usize)
    }

    fn reference_phrase_counts(text: &str) -> (usize, usize) {
        distinct_word_hits(&reference_automaton(false), &text.to_ascii_lowercase())
    }

    /// `SpamRules::check` as it was before the one-pass rewrite, feature by feature.
    fn check_reference(text: &str, link_count: usize) -> Vec<(VerdictKind, &'static str, u32)> {
        let (urgency, money_phrases) = reference_phrase_counts(text);
        let mut out = Vec::new();
        if urgency > 0 {
            out.push((rule::URGENCY, (0.3 * urgency as f32).min(0.5)));
        }
        let money = money_phrases + usize::from(has_money_amount_reference(text));
        if money > 0 {
            out.push((rule::MONEY_REQUEST, (0.35 * money as f32).min(0.6)));
        }
        if link_count >= 4 {
            out.push((rule::MANY_LINKS, (0.1 * link_count as f32).min(0.4)));
        }
        let (letters, upper) = text
            .chars()
            .filter(|c| c.is_alphabetic())
            .fold((0, 0), |(l, u), c| {
                (l + 1, u + usize::from(c.is_uppercase()))
            });
        if letters >= 20 && upper * 10 >= letters * 6 {
            out.push((rule::SHOUTING, 0.3));
        }
        if text.matches("!!").count() >= 2 {
            out.push((rule::EXCLAMATIONS, 0.15));
        }
        out.into_iter()
            .map(|(rule, score)| (VerdictKind::Spam, rule, score.to_bits()))
            .collect()
    }

    fn check_fast(
        rules: &SpamRules,
        text: &str,
        link_count: usize,
    ) -> Vec<(VerdictKind, &'static str, u32)> {
        let mut out = Vec::new();
        rules.check(text, link_count, &mut out);
        out.into_iter()
            .map(|f| (f.kind, f.rule_id, f.score.to_bits()))
            .collect()
    }

    fn fast_phrase_counts(rules: &SpamRules, text: &str) -> (usize, usize) {
        let f = rules.features(text);
        (f.urgency, f.money_phrases)
    }

    fn has_money_amount(text: &str) -> bool {
        SpamRules::new().unwrap().features(text).amount
    }

    /// Text dense in phrases, their words and their overlaps: phrases in random case, glued
    /// to each other and to letters, digits, spaces, `'`, `$` and non-ASCII bytes.
    fn phrase_dense() -> impl Strategy<Value = String> {
        let phrases: Vec<&'static str> = URGENCY.iter().chain(MONEY).copied().collect();
        let words: Vec<&'static str> = phrases.iter().flat_map(|p| p.split(' ')).collect();
        let glue: &[&str] = &[
            "", " ", "  ", "x", "y", "'", "$", "9", "!", ".", "é", "\u{a0}", "\n",
        ];
        let recase = |(piece, flips): (&str, u64)| {
            piece
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if flips & (1 << (i % 64)) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect::<String>()
        };
        proptest::collection::vec(
            prop_oneof![
                3 => (proptest::sample::select(phrases), any::<u64>()).prop_map(recase),
                2 => (proptest::sample::select(words), any::<u64>()).prop_map(recase),
                3 => proptest::sample::select(glue).prop_map(str::to_owned),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    #[test]
    fn phrases_are_lowercase_for_the_lowered_search() {
        for phrase in URGENCY.iter().chain(MONEY) {
            assert_eq!(*phrase, phrase.to_ascii_lowercase());
        }
    }

    #[test]
    fn money_amounts() {
        assert!(has_money_amount("send $5,000 now"));
        assert!(has_money_amount("€ 900"));
        assert!(has_money_amount("2500 usd"));
        assert!(has_money_amount("2500USDT"));
        assert!(!has_money_amount("2500 BUSD"));
        assert!(!has_money_amount("12 USD"));
        assert!(!has_money_amount("$12 and 3"));
        assert!(!has_money_amount("no digits $ € £ USD"));
    }

    /// The phrases that can hide a phrase found at a word start; if this list changes, the
    /// fast path still handles it, but the doc comment in `phrases.rs` names these.
    #[test]
    fn hider_pairs_are_the_known_ones() {
        let rules = SpamRules::new().unwrap();
        assert_eq!(
            rules.phrases.hider_pairs(),
            vec![
                ("respond asap", "asap", 8),
                ("send money", "moneygram", 5),
                ("verify your account", "account has been locked", 12),
                ("verify your account", "account suspended", 12),
                ("verify your account", "account will be suspended", 12),
                ("work from home and earn", "earn $", 19),
            ]
        );
    }

    /// Phrases, codes and amounts across the byte pass's chunk edge (512 bytes), where a start
    /// reads its eight bytes and its letter test from the next chunk.
    #[test]
    fn phrases_across_the_chunk_edge() {
        let rules = SpamRules::new().unwrap();
        for tail in [
            "URGENT act now",
            "900 usd btc",
            "2500USD",
            "respond asap",
            "BTC",
        ] {
            for pad in 490..520 {
                let text = format!("{} {tail} {}", "a".repeat(pad), "z ".repeat(20));
                assert_eq!(
                    check_fast(&rules, &text, 0),
                    check_reference(&text, 0),
                    "{pad} {tail}"
                );
                let cut = &text[..pad + 1 + tail.len()];
                assert_eq!(
                    check_fast(&rules, cut, 0),
                    check_reference(cut, 0),
                    "{pad} {tail}"
                );
            }
        }
    }

    #[test]
    fn hidden_phrases_are_not_counted() {
        let rules = SpamRules::new().unwrap();
        for (text, counts) in [
            ("respond asap", (1, 0)),
            ("Respond ASAP, asap", (2, 0)),
            ("xrespond asap", (0, 0)),
            ("asap", (1, 0)),
            ("send moneygram", (0, 0)),
            ("send money moneygram", (0, 2)),
            ("xsend moneygram", (0, 0)),
            ("verify your account suspended", (1, 0)),
            ("verify your account, account suspended", (2, 0)),
            ("work from home and earn $500", (0, 1)),
            ("WORK FROM HOME AND EARN $900 PER WEEK FROM HOME", (0, 2)),
            ("earn $ earn $", (0, 1)),
            ("you've won within 24 hours", (1, 1)),
            ("don't miss out", (1, 0)),
            ("click herespond asap", (1, 0)),
            ("btc", (0, 1)),
            ("bt", (0, 0)),
        ] {
            assert_eq!(reference_phrase_counts(text), counts, "{text}");
            assert_eq!(fast_phrase_counts(&rules, text), counts, "{text}");
            assert_eq!(
                rules.phrases.exact_counts(text.as_bytes()),
                counts,
                "{text}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn check_matches_the_replaced_one(text in adversarial(), links in 0usize..6) {
            let rules = SpamRules::new().unwrap();
            prop_assert_eq!(check_fast(&rules, &text, links), check_reference(&text, links));
            let f = rules.features(&text);
            prop_assert_eq!(f.amount, has_money_amount_reference(&text));
            // Pairs are counted only where four `!` can make the two the rule needs.
            let pairs = if text.matches('!').count() >= 4 { text.matches("!!").count() } else { 0 };
            prop_assert_eq!(f.exclamation_pairs, pairs);
        }

        #[test]
        fn check_matches_the_replaced_one_on_phrase_dense_text(text in phrase_dense()) {
            let rules = SpamRules::new().unwrap();
            prop_assert_eq!(check_fast(&rules, &text, 0), check_reference(&text, 0));
        }

        #[test]
        fn phrase_counts_match_the_automaton(text in adversarial()) {
            let rules = SpamRules::new().unwrap();
            let expected = reference_phrase_counts(&text);
            prop_assert_eq!(fast_phrase_counts(&rules, &text), expected);
            prop_assert_eq!(rules.phrases.exact_counts(text.as_bytes()), expected);
        }

        #[test]
        fn phrase_counts_match_the_automaton_on_phrase_dense_text(text in phrase_dense()) {
            let rules = SpamRules::new().unwrap();
            let expected = reference_phrase_counts(&text);
            prop_assert_eq!(fast_phrase_counts(&rules, &text), expected);
            prop_assert_eq!(rules.phrases.exact_counts(text.as_bytes()), expected);
        }

        #[test]
        fn lowered_reference_matches_the_case_insensitive_one(text in adversarial()) {
            prop_assert_eq!(
                reference_phrase_counts(&text),
                distinct_word_hits(&reference_automaton(true), &text)
            );
        }
    }
}
