//! Spam heuristics: urgency, money requests, many links, shouting, exclamation runs. Each
//! feature adds to a score; the strongest feature names the rule.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

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

fn phrases(list: &[&str]) -> Result<AhoCorasick, ScanError> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(list)
        .map_err(|e| ScanError::RuleData {
            file: "spam phrases",
            line: 0,
            message: e.to_string(),
        })
}

/// Counts distinct (urgency, money) phrases that stand as whole words.
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
        let (urgency, money_phrases) = distinct_word_hits(&self.phrases, text);
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
        let (letters, upper) = text
            .chars()
            .filter(|c| c.is_alphabetic())
            .fold((0usize, 0usize), |(l, u), c| {
                (l + 1, u + usize::from(c.is_uppercase()))
            });
        if letters >= 20 && upper * 10 >= letters * 6 {
            out.push(Finding::spam(rule::SHOUTING, 0.3));
        }
        let exclamation_runs = text.matches("!!").count();
        if exclamation_runs >= 2 {
            out.push(Finding::spam(rule::EXCLAMATIONS, 0.15));
        }
    }
}

/// A currency sign next to a number of at least three digits (`$5,000`, `€ 900`, `2500 USD`).
fn has_money_amount(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if matches!(c, '$' | '€' | '£') {
            let after = &text[i + c.len_utf8()..];
            let digits = after
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
    for code in ["USD", "EUR", "GBP"] {
        let mut from = 0;
        while let Some(found) = find_ignore_ascii_case(&bytes[from..], code.as_bytes()) {
            let i = from + found;
            from = i + code.len();
            let before = text[..i].trim_end();
            let digits = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                .filter(char::is_ascii_digit)
                .count();
            let word_start = i == 0 || !bytes[i - 1].is_ascii_alphabetic();
            if digits >= 3 && word_start {
                return true;
            }
        }
    }
    false
}

fn find_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}
