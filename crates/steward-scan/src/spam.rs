//! Spam heuristics: urgency, money requests, many links, shouting, exclamation runs. Each
//! feature adds to a score; the strongest feature names the rule.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::bytescan::{count, each_position};
use crate::{Finding, ScanError};

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

/// Spam heuristics. Urgency and money phrases share one automaton (one pass over the text);
/// pattern indices below `URGENCY.len()` are urgency phrases.
#[derive(Debug)]
pub struct SpamRules {
    phrases: AhoCorasick,
}

/// Case-sensitive over the ASCII-lowercased text (the phrases are lowercase), which matches
/// exactly what an ASCII-case-insensitive automaton finds in the text, faster.
fn phrases(list: &[&str]) -> Result<AhoCorasick, ScanError> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(list)
        .map_err(|e| ScanError::RuleData {
            file: "spam phrases",
            line: 0,
            message: e.to_string(),
        })
}

/// Counts distinct (urgency, money) phrases that stand as whole words in `lower`, the
/// ASCII-lowercased text (word boundaries are the same in either case).
fn distinct_word_hits(matcher: &AhoCorasick, lower: &str) -> (usize, usize) {
    let bytes = lower.as_bytes();
    let mut urgency = 0u64;
    let mut money = 0u64;
    for m in matcher.find_iter(lower) {
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

impl SpamRules {
    /// Builds the phrase matchers.
    pub fn new() -> Result<SpamRules, ScanError> {
        let all: Vec<&str> = URGENCY.iter().chain(MONEY).copied().collect();
        Ok(SpamRules {
            phrases: phrases(&all)?,
        })
    }

    /// Adds spam findings for `text`, which holds `link_count` links.
    pub(crate) fn check(&self, text: &str, link_count: usize, out: &mut Vec<Finding>) {
        let (urgency, money_phrases) =
            distinct_word_hits(&self.phrases, &text.to_ascii_lowercase());
        if urgency > 0 {
            out.push(Finding::spam(
                rule::URGENCY,
                (0.3 * urgency as f32).min(0.5),
            ));
        }
        let money = money_phrases + usize::from(has_money_amount(text));
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
        let (letters, upper) = letter_counts(text);
        if letters >= 20 && upper * 10 >= letters * 6 {
            out.push(Finding::spam(rule::SHOUTING, 0.3));
        }
        if exclamation_pairs(text.as_bytes()) >= 2 {
            out.push(Finding::spam(rule::EXCLAMATIONS, 0.15));
        }
    }
}

/// Letters and uppercase letters, by Unicode's definition; on ASCII text (most messages) a
/// byte test gives the same counts without decoding characters.
fn letter_counts(text: &str) -> (usize, usize) {
    if text.is_ascii() {
        // Branch-free counts the compiler vectorizes: `b | 0x20` folds case, and the range
        // tests are wrapping subtractions.
        let bytes = text.as_bytes();
        let letters = count(bytes, |b| (b | 0x20).wrapping_sub(b'a') < 26);
        let upper = count(bytes, |b| b.wrapping_sub(b'A') < 26);
        return (letters, upper);
    }
    text.chars()
        .filter(|c| c.is_alphabetic())
        .fold((0, 0), |(l, u), c| {
            (l + 1, u + usize::from(c.is_uppercase()))
        })
}

/// Non-overlapping `!!` pairs, as `text.matches("!!").count()` counts them: half of each run
/// of `!`, rounded down. Visits only the `!` bytes (a vectorized pass): a byte loop with
/// overflow-checked counters (the release profile keeps overflow checks) does not vectorize.
fn exclamation_pairs(bytes: &[u8]) -> usize {
    let mut pairs = 0;
    let mut run = 0usize;
    // Position just after the last `!` seen, so a `!` there continues the run.
    let mut run_end = usize::MAX;
    each_position(
        bytes,
        |b| b == b'!',
        |i| {
            if i == run_end {
                run += 1;
            } else {
                pairs += run / 2;
                run = 1;
            }
            run_end = i + 1;
        },
    );
    pairs + run / 2
}

/// A currency sign next to a number of at least three digits (`$5,000`, `€ 900`, `2500 USD`).
/// Both forms need three ASCII digits somewhere in the text, so text without them (most
/// messages) is answered by one count; otherwise one pass visits each sign and code.
fn has_money_amount(text: &str) -> bool {
    let bytes = text.as_bytes();
    if count(bytes, |b| b.wrapping_sub(b'0') < 10) < 3 {
        return false;
    }
    // Only a sign's first byte or a code's first letter can start an amount (branch-free test,
    // vectorized; `b | 0x20` folds the letters' case).
    let candidate = |b: u8| {
        let folded = b | 0x20;
        (b == b'$')
            | (b == 0xE2)
            | (b == 0xC2)
            | (folded == b'u')
            | (folded == b'e')
            | (folded == b'g')
    };
    let mut found = false;
    each_position(bytes, candidate, |i| {
        found = found || amount_at(text, i);
    });
    found
}

/// Part of a written amount: digits and the separators `,` and `.`.
fn is_amount_char(c: &char) -> bool {
    c.is_ascii_digit() || *c == ',' || *c == '.'
}

/// Whether a sign starting at byte `i` is followed by, or a code starting there preceded by,
/// an amount of three digits or more.
fn amount_at(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    let b = bytes[i];
    // `$`, `€` (E2 82 AC) and `£` (C2 A3): a lead byte followed by the rest of the sign is
    // that character, at a character boundary.
    let sign_len = match b {
        b'$' => 1,
        0xE2 if bytes[i + 1..].starts_with(&[0x82, 0xAC]) => 3,
        0xC2 if bytes.get(i + 1) == Some(&0xA3) => 2,
        _ => 0,
    };
    if sign_len > 0 {
        let digits = text[i + sign_len..]
            .trim_start()
            .chars()
            .take_while(is_amount_char)
            .filter(char::is_ascii_digit)
            .count();
        if digits >= 3 {
            return true;
        }
    }
    let is_code = bytes.get(i..i + 3).is_some_and(|c| {
        [b"USD", b"EUR", b"GBP"]
            .iter()
            .any(|code| c.eq_ignore_ascii_case(*code))
    });
    if is_code {
        let digits = text[..i]
            .trim_end()
            .chars()
            .rev()
            .take_while(is_amount_char)
            .filter(char::is_ascii_digit)
            .count();
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphabetic();
        if digits >= 3 && word_start {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn one_pass_features_match_their_definitions(text in adversarial()) {
            let chars = text
                .chars()
                .filter(|c| c.is_alphabetic())
                .fold((0, 0), |(l, u), c| (l + 1, u + usize::from(c.is_uppercase())));
            prop_assert_eq!(letter_counts(&text), chars);
            prop_assert_eq!(exclamation_pairs(text.as_bytes()), text.matches("!!").count());
            prop_assert_eq!(has_money_amount(&text), has_money_amount_reference(&text));
        }

        #[test]
        fn lowered_phrase_search_matches_the_case_insensitive_one(text in adversarial()) {
            let all: Vec<&str> = URGENCY.iter().chain(MONEY).copied().collect();
            let insensitive = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&all)
                .unwrap();
            let rules = SpamRules::new().unwrap();
            let lower = text.to_ascii_lowercase();
            prop_assert_eq!(
                distinct_word_hits(&rules.phrases, &lower),
                distinct_word_hits(&insensitive, &text)
            );
        }
    }
}
