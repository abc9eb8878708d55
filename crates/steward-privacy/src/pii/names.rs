//! Context rules for named entities: people, places, organisations and nationality/religious/
//! political groups (NRP), over one tokenisation of the text and the gazetteer hits.
//!
//! The unit of decision is a *run*: consecutive capitalised tokens joined by single spaces
//! (plus initials, "Co.Ltd"-style dots and name particles such as "van" or "de"). Each run is
//! scored from its evidence: a first name at its start, a surname at its end, a title before it
//! ("Mrs."), a cue phrase ("my name is", "Dear"), a company suffix after it ("Ltd"), a place
//! preposition before it ("in"), and whether its words are ordinary English words (which, when
//! capitalised at the start of a sentence, are just sentence starts). Unknown capitalised words
//! in mid-sentence that are not English words are most often names of people, so they become
//! PERSON with low confidence: that is what lets the detector find names from outside its lists.

use super::gazetteer::{FIRST, Gazetteer, LAST, NRP_FLAG, ORG, PLACE};
use super::{Candidate, PiiKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Upper-case first letter, some lower-case after: "Anna", "McKeon", "A2z".
    Cap,
    /// All upper-case, two or more letters: "NTN", "INR10".
    Upper,
    /// One upper-case letter: "M" in "Jaroslava M. Šubová".
    Initial,
    Lower,
    Number,
}

#[derive(Debug, Clone, Copy)]
pub struct Token {
    start: usize,
    end: usize,
    shape: Shape,
    flags: u8,
    common: bool,
    sentence_start: bool,
}

/// A gazetteer hit spanning several tokens ("New Zealand", "Goldman Sachs").
#[derive(Debug, Clone, Copy)]
pub struct Phrase {
    start: usize,
    end: usize,
    flags: u8,
}

const TITLES: &[&str] = &[
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Mx",
    "Dr",
    "Prof",
    "Professor",
    "Sir",
    "Dame",
    "Madam",
    "Mme",
    "Mlle",
    "Herr",
    "Frau",
    "Lord",
    "Lady",
    "Rev",
    "Fr",
    "Sr",
    "Sra",
    "Capt",
    "Col",
    "Gen",
    "Sgt",
    "Lt",
];

const ORG_SUFFIXES: &[&str] = &[
    "Inc",
    "Incorporated",
    "LLC",
    "LLP",
    "Ltd",
    "Limited",
    "PLC",
    "Plc",
    "Corp",
    "Corporation",
    "Co",
    "Company",
    "GmbH",
    "AG",
    "SA",
    "S.A",
    "SAS",
    "SARL",
    "BV",
    "NV",
    "AB",
    "ASA",
    "Oy",
    "Oyj",
    "SpA",
    "Srl",
    "KG",
    "Pty",
    "Group",
    "Holdings",
    "Holding",
    "Bank",
    "Bancorp",
    "University",
    "Institute",
    "Foundation",
    "Association",
    "Society",
    "Trust",
    "Partners",
    "Associates",
    "Technologies",
    "Technology",
    "Systems",
    "Solutions",
    "Industries",
    "International",
    "Enterprises",
    "Enterprise",
    "Services",
    "Consulting",
    "Labs",
    "Laboratories",
    "Media",
    "Ventures",
    "Capital",
    "Fund",
    "ETF",
    "Pharmaceuticals",
    "Pharma",
    "Airlines",
    "Airways",
    "Motors",
    "Energy",
    "Resources",
    "Studios",
    "Agency",
    "Council",
    "Ministry",
    "Hospital",
    "College",
    "School",
    "Academy",
    "Club",
    "Church",
    "Communications",
    "Networks",
    "Software",
    "Logistics",
    "Insurance",
    "Financial",
    "Investments",
    "Properties",
    "Realty",
    "Brands",
    "Foods",
    "Bancshares",
    "Trading",
    "Manufacturing",
    "Ceramics",
    "Engineering",
    "Infra",
    "Infrastructure",
    "Electronics",
    "Telecom",
    "Entertainment",
    "Restaurants",
    "Hotels",
    "Mining",
    "Petroleum",
    "Chemicals",
    "Therapeutics",
    "Biosciences",
    "Semiconductor",
    "Semiconductors",
    "Motor",
    "Cooperative",
    "Partnership",
    "Federation",
    "Union",
    "Committee",
    "Commission",
    "Authority",
    "Agency",
];

/// Lower-case words allowed inside a name ("Ludwig van Beethoven") or an organisation
/// ("Bank of America").
const PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "di", "del", "della", "du", "le", "la", "dos", "das",
    "bin", "ibn", "al", "el", "ten", "ter", "y", "of", "and", "for",
];

/// Words before a run that say a person's name follows.
const PERSON_CUES: &[&str] = &[
    "name is",
    "named",
    "called",
    "call me",
    "i am",
    "i'm",
    "this is",
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank you",
    "regards",
    "sincerely",
    "cheers",
    "signed",
    "speak to",
    "speak with",
    "talk to",
    "ask for",
    "assistant to",
    "married",
    "wife",
    "husband",
    "son",
    "daughter",
    "brother",
    "sister",
    "friend",
    "boss",
    "manager",
    "colleague",
    "mother",
    "father",
    "mom",
    "dad",
    "uncle",
    "aunt",
    "cousin",
    "by",
    "with",
    "meet",
    "met",
    "add",
    "said",
    "says",
    "told",
    "asked",
    "contact",
    "name",
    "from",
    "to",
];

/// The strongest of the cues: they name the person outright.
const STRONG_PERSON_CUES: &[&str] = &[
    "name is",
    "named",
    "called",
    "call me",
    "dear",
    "hi",
    "hello",
    "hey",
    "signed",
    "speak to",
    "ask for",
    "this is",
    "i am",
    "i'm",
    "maiden name is",
];

/// Words before a run that say a place follows.
const PLACE_CUES: &[&str] = &[
    "in",
    "near",
    "at",
    "to",
    "visit",
    "visited",
    "visiting",
    "around",
    "across",
    "towards",
    "born in",
    "live in",
    "lives in",
    "living in",
    "moved to",
    "flew to",
    "city of",
];

pub fn scan(
    g: &Gazetteer,
    text: &str,
    tokens: &mut Vec<Token>,
    phrases: &mut Vec<Phrase>,
    out: &mut Vec<Candidate>,
) {
    tokenize(text, tokens);
    phrases.clear();
    if tokens.is_empty() {
        return;
    }
    for t in tokens.iter_mut() {
        // Lower-case words matter only as nationalities ("dominican"), none shorter than four
        // letters; skipping "a", "the", "is" saves most lookups.
        if t.shape == Shape::Number || (t.shape == Shape::Lower && t.end - t.start < 4) {
            continue;
        }
        let (flags, phrase_head) = g.word(&text[t.start..t.end]);
        t.flags = flags;
        if phrase_head
            && let Some(hit) = g.phrase_at(text, t.start)
            && hit.end > t.end
        {
            phrases.push(Phrase {
                start: hit.start,
                end: hit.end,
                flags: hit.flags,
            });
        }
    }
    for t in tokens.iter_mut() {
        if matches!(t.shape, Shape::Cap | Shape::Upper | Shape::Initial) {
            let word = &text[t.start..t.end];
            t.common = g.is_common(word) || g.is_stopword(word) || is_contraction(word);
        }
    }
    for p in phrases.iter() {
        let kind = if p.flags & PLACE != 0 {
            (PiiKind::Place, 0.8)
        } else if p.flags & ORG != 0 {
            (PiiKind::Organization, 0.8)
        } else if p.flags & NRP_FLAG != 0 {
            (PiiKind::Nrp, 0.75)
        } else {
            continue;
        };
        push(out, kind.0, p.start, p.end, kind.1);
    }
    for t in tokens.iter() {
        if t.flags & NRP_FLAG != 0 {
            // "French" is also a surname; as a nationality it is far more common.
            let confidence = if t.flags & FIRST != 0 { 0.5 } else { 0.7 };
            push(out, PiiKind::Nrp, t.start, t.end, confidence);
        }
    }
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if !matches!(t.shape, Shape::Cap | Shape::Upper | Shape::Initial) {
            i += 1;
            continue;
        }
        // A title opens a name: "Mrs. Olson", "Dr. Laurie Fenstermacher".
        if is_title(&text[t.start..t.end])
            && let Some(next) = tokens.get(i + 1)
            && matches!(next.shape, Shape::Cap | Shape::Upper)
            && matches!(&text[t.end..next.start], " " | ". " | ".")
        {
            let title_end = if text[t.end..].starts_with('.') {
                t.end + 1
            } else {
                t.end
            };
            push(out, PiiKind::Title, t.start, title_end, 0.85);
            let end = run_end(text, tokens, i + 1);
            classify_run(g, text, tokens, i + 1, end, true, out);
            i = end;
            continue;
        }
        let end = run_end(text, tokens, i);
        classify_run(g, text, tokens, i, end, false, out);
        i = end;
    }
}

/// One past the last token of the run that starts at `first`.
fn run_end(text: &str, tokens: &[Token], first: usize) -> usize {
    let mut last = first;
    let mut j = first + 1;
    while j < tokens.len() {
        let prev = tokens[last];
        let t = tokens[j];
        let gap = &text[prev.end..t.start];
        let joined = match gap {
            " " | "-" => true,
            ". " | "." => prev.shape == Shape::Initial || (gap == "." && t.shape != Shape::Lower),
            " & " => true,
            _ => false,
        };
        if !joined {
            break;
        }
        match t.shape {
            Shape::Cap | Shape::Upper | Shape::Initial if !is_title(&text[t.start..t.end]) => {
                last = j;
                j += 1;
            }
            Shape::Lower if PARTICLES.contains(&&text[t.start..t.end]) => {
                // A particle only joins when a capitalised word follows it.
                match tokens.get(j + 1) {
                    Some(n)
                        if matches!(n.shape, Shape::Cap | Shape::Upper)
                            && &text[t.end..n.start] == " " =>
                    {
                        last = j + 1;
                        j += 2;
                    }
                    _ => break,
                }
            }
            _ => break,
        }
    }
    last + 1
}

fn classify_run(
    g: &Gazetteer,
    text: &str,
    tokens: &[Token],
    first: usize,
    end: usize,
    after_title: bool,
    out: &mut Vec<Candidate>,
) {
    let run = &tokens[first..end];
    let word = |t: &Token| &text[t.start..t.end];

    // Organisation: the run contains a company suffix after its first word.
    if let Some(pos) = run
        .get(1..)
        .unwrap_or_default()
        .iter()
        .rposition(|t| ORG_SUFFIXES.contains(&word(t)) || is_upper_suffix(word(t)))
        .map(|p| p + 1)
    {
        let mut start_idx = 0;
        // A sentence-initial "The" or other stop word is not part of the name.
        while start_idx < pos
            && run[start_idx].common
            && run[start_idx].sentence_start
            && g.is_stopword(word(&run[start_idx]))
        {
            start_idx += 1;
        }
        // "Larissa Cunha of MasTec Inc." is a person of an organisation, and "Cloudmade and
        // CalAmp Corp." two organisations: the name with the suffix starts after the joint.
        for k in (start_idx + 1..pos).rev() {
            let joint = word(&run[k]);
            let person_before = run[start_idx].flags & FIRST != 0;
            if run[k].shape == Shape::Lower && (joint == "and" || (joint == "of" && person_before))
            {
                // The words before the joint are a run of their own.
                classify_run(g, text, tokens, first, first + k, after_title, out);
                start_idx = k + 1;
                break;
            }
        }
        let suffix_tok = run[pos];
        let mut org_end = suffix_tok.end;
        if text[org_end..].starts_with('.')
            && !text[org_end + 1..].starts_with(|c: char| c.is_alphanumeric())
        {
            org_end += 1;
        }
        if start_idx < pos {
            push(
                out,
                PiiKind::Organization,
                run[start_idx].start,
                org_end,
                0.8,
            );
            return;
        }
    }
    if run.iter().any(|t| t.flags & ORG != 0) && run.len() == 1 {
        push(out, PiiKind::Organization, run[0].start, run[0].end, 0.75);
        return;
    }

    // Drop leading ordinary words that only carry a sentence's capital ("The", "Have").
    let mut s = 0;
    while s < run.len()
        && run[s].common
        && (run[s].sentence_start || s > 0 || g.is_stopword(word(&run[s])))
        && !(run[s].flags & FIRST != 0
            && run
                .get(s + 1)
                .is_some_and(|n| n.flags & LAST != 0 && !n.common))
    {
        s += 1;
    }
    // And trailing ones ("Kinya Shikikawa Concert" would keep the name).
    let mut e = run.len();
    while e > s && run[e - 1].common && run[e - 1].flags & LAST == 0 {
        e -= 1;
    }
    // Particles and initials cannot end or start a name.
    while s < e && matches!(run[s].shape, Shape::Lower | Shape::Initial) {
        s += 1;
    }
    while e > s && matches!(run[e - 1].shape, Shape::Lower) {
        e -= 1;
    }
    if s >= e {
        return;
    }
    let core = &run[s..e];
    let start = core[0].start;
    let end_b = core[core.len() - 1].end;
    let n = core
        .iter()
        .filter(|t| t.shape != Shape::Lower && t.shape != Shape::Initial)
        .count();
    let head = core[0];
    let tail = core[core.len() - 1];
    let all_upper = core
        .iter()
        .all(|t| matches!(t.shape, Shape::Upper | Shape::Initial | Shape::Lower));
    // Initials ("J" in "Tómas J Lýðsson") are letters, not words, even when the letter is
    // also a word ("A").
    let any_common = core
        .iter()
        .any(|t| t.common && matches!(t.shape, Shape::Cap | Shape::Upper));
    let at_sentence_start = head.sentence_start;

    // Places from the gazetteer, unless the words read as a person's name.
    if core.len() == 1 && head.flags & PLACE != 0 {
        let person_like = head.flags & FIRST != 0 && !place_cue(text, start);
        let confidence = if person_like { 0.5 } else { 0.8 };
        push(out, PiiKind::Place, start, end_b, confidence);
        if !person_like {
            return;
        }
    }
    if head.flags & NRP_FLAG != 0 && core.len() == 1 {
        return;
    }
    // A lone title or street abbreviation ("Mr", "St") is not a name.
    if core.len() == 1
        && (is_title(word(&head)) || matches!(word(&head), "St" | "Inc" | "Ltd" | "Apt"))
    {
        return;
    }
    // Days and months are dates, even the ones that are also first names ("June").
    if core.len() == 1 && is_calendar_word(word(&head)) {
        return;
    }

    let cue_before = cue(text, start, PERSON_CUES);
    let strong_cue = after_title || cue(text, start, STRONG_PERSON_CUES);
    let first_known = head.flags & FIRST != 0;
    let last_known = tail.flags & LAST != 0 && !tail.common;
    let followed_by_colon = text[end_b..].starts_with(':');

    // "Fax:", "Website:" at the start of a line label a field; an unknown word there is not a
    // name (a known first name is: "Arya: What a wife.").
    if followed_by_colon && at_sentence_start && n == 1 && !first_known && !strong_cue {
        return;
    }
    let mut confidence: f32 = if all_upper && !strong_cue {
        // Acronyms and shouted words: only a place cue makes them count (as places).
        if place_cue(text, start) && !any_common {
            push(out, PiiKind::Place, start, end_b, 0.45);
        }
        return;
    } else if n >= 2 {
        match (first_known, last_known, any_common) {
            (true, true, _) => 0.9,
            (true, false, false) => 0.8,
            (false, true, false) => 0.7,
            (true, false, true) => 0.5,
            (false, false, false) => 0.55,
            (false, true, true) => 0.4,
            (false, false, true) => 0.2,
        }
    } else {
        match (
            first_known || head.flags & LAST != 0,
            head.common,
            at_sentence_start,
        ) {
            (true, false, false) => 0.7,
            (true, false, true) => 0.6,
            (false, false, false) => 0.5,
            (false, false, true) => 0.4,
            // A first name that is also a word ("Martin", "Roman"), capitalised mid-sentence.
            (true, true, false) if first_known => 0.5,
            (true, true, false) => 0.3,
            (_, true, _) => 0.1,
        }
    };
    if strong_cue {
        confidence = (confidence + 0.35).min(0.95);
    } else if cue_before || followed_by_colon {
        confidence = (confidence + 0.1).min(0.9);
    }
    if !strong_cue && !first_known && place_cue(text, start) && confidence < 0.75 {
        push(out, PiiKind::Place, start, end_b, confidence.max(0.45));
        return;
    }
    if confidence >= 0.3 {
        push(out, PiiKind::Person, start, end_b, confidence);
    }
}

fn is_calendar_word(word: &str) -> bool {
    matches!(
        word.trim_end_matches('s'),
        "Monday"
            | "Tuesday"
            | "Wednesday"
            | "Thursday"
            | "Friday"
            | "Saturday"
            | "Sunday"
            | "January"
            | "February"
            | "March"
            | "April"
            | "May"
            | "June"
            | "July"
            | "August"
            | "September"
            | "October"
            | "November"
            | "December"
    )
}

fn is_title(word: &str) -> bool {
    TITLES.contains(&word)
}

/// "PLC", "LLC", "GMBH", "CORPORATION" written in capitals.
fn is_upper_suffix(word: &str) -> bool {
    word.len() >= 2
        && word.bytes().all(|b| b.is_ascii_uppercase())
        && matches!(
            word,
            "INC"
                | "LTD"
                | "LIMITED"
                | "CORP"
                | "CORPORATION"
                | "COMPANY"
                | "GROUP"
                | "HOLDINGS"
                | "GMBH"
                | "BANK"
                | "CERAMICS"
                | "INDUSTRIES"
                | "INTERNATIONAL"
                | "TECHNOLOGIES"
                | "SYSTEMS"
                | "SOLUTIONS"
                | "ENTERPRISES"
                | "SERVICES"
        )
}

fn is_contraction(word: &str) -> bool {
    [
        "'s", "'re", "'ll", "'ve", "'d", "'m", "'t", "’s", "’re", "’ll", "’ve", "’d", "’m", "’t",
    ]
    .iter()
    .any(|s| word.ends_with(s))
}

/// Does one of `cues` end right before `pos` (ignoring spaces and a comma)?
fn cue(text: &str, pos: usize, cues: &[&str]) -> bool {
    let before = text[..pos].trim_end_matches([' ', ',', ':']);
    cues.iter().any(|c| {
        before.len() >= c.len()
            && before.is_char_boundary(before.len() - c.len())
            && before[before.len() - c.len()..].eq_ignore_ascii_case(c)
            && super::patterns::boundary_before(before, before.len() - c.len())
    })
}

fn place_cue(text: &str, pos: usize) -> bool {
    cue(text, pos, PLACE_CUES)
}

fn push(out: &mut Vec<Candidate>, kind: PiiKind, start: usize, end: usize, confidence: f32) {
    out.push(Candidate {
        kind,
        start,
        end,
        confidence,
    });
}

/// Cuts `text` into word tokens: letters and digits, with apostrophes and hyphens inside a word
/// ("L'Heureux", "Guinea-Bissau") but not a trailing possessive ("Pauline's" → "Pauline").
fn tokenize(text: &str, tokens: &mut Vec<Token>) {
    tokens.clear();
    let mut iter = text.char_indices().peekable();
    // Sentence start: beginning of text, or after . ! ? : ; newline or an opening quote, unless
    // the dot follows an initial or a title.
    let mut sentence_start = true;
    while let Some((i, c)) = iter.next() {
        if !c.is_alphanumeric() {
            match c {
                '.' => {
                    let after_abbrev = tokens.last().is_some_and(|t: &Token| {
                        t.end == i && (t.shape == Shape::Initial || is_title(&text[t.start..t.end]))
                    });
                    if !after_abbrev {
                        sentence_start = true;
                    }
                }
                '!' | '?' | ':' | ';' | '\n' | '"' | '“' | '(' | '*' => {
                    sentence_start = true;
                }
                _ => {}
            }
            continue;
        }
        let start = i;
        let mut end = i + c.len_utf8();
        let mut skip_possessive = false;
        while let Some(&(j, d)) = iter.peek() {
            if d.is_alphanumeric() {
                end = j + d.len_utf8();
                iter.next();
                continue;
            }
            if matches!(d, '\'' | '’' | '-') {
                // Keep the connector only when a letter follows, and not for a possessive 's.
                let rest = &text[j + d.len_utf8()..];
                let mut rc = rest.chars();
                let next = rc.next();
                let after = rc.next();
                let possessive = matches!(d, '\'' | '’')
                    && next == Some('s')
                    && after.is_none_or(|a| !a.is_alphanumeric());
                if next.is_some_and(char::is_alphanumeric) && !possessive {
                    iter.next();
                    continue;
                }
                if possessive {
                    skip_possessive = true;
                }
            }
            break;
        }
        let word = &text[start..end];
        tokens.push(Token {
            start,
            end,
            shape: shape_of(word),
            flags: 0,
            common: false,
            sentence_start,
        });
        sentence_start = false;
        if skip_possessive {
            iter.next();
            iter.next();
        }
    }
}

fn shape_of(word: &str) -> Shape {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return Shape::Lower;
    };
    if first.is_numeric() {
        return if word.chars().all(char::is_numeric) {
            Shape::Number
        } else {
            Shape::Lower
        };
    }
    if !first.is_uppercase() {
        return Shape::Lower;
    }
    let rest_lower = word.chars().skip(1).any(char::is_lowercase);
    if rest_lower {
        Shape::Cap
    } else if word.chars().count() == 1 {
        Shape::Initial
    } else {
        Shape::Upper
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(PiiKind, String, f32)> {
        let g = Gazetteer::new().unwrap();
        let mut tokens = Vec::new();
        let mut phrases = Vec::new();
        let mut out = Vec::new();
        scan(&g, text, &mut tokens, &mut phrases, &mut out);
        out.iter()
            .map(|c| (c.kind, text[c.start..c.end].to_owned(), c.confidence))
            .collect()
    }

    fn found(text: &str, kind: PiiKind, value: &str) -> bool {
        run(text)
            .iter()
            .any(|(k, v, c)| *k == kind && v == value && *c >= 0.4)
    }

    #[test]
    fn tokenizer_keeps_inner_apostrophes_and_drops_possessives() {
        let mut t = Vec::new();
        tokenize("L'Heureux met Pauline's kid", &mut t);
        let words: Vec<&str> = t
            .iter()
            .map(|t| &"L'Heureux met Pauline's kid"[t.start..t.end])
            .collect();
        assert_eq!(words, ["L'Heureux", "met", "Pauline", "kid"]);
    }

    #[test]
    fn first_and_last_name_pair() {
        assert!(found(
            "Yesterday I met Kristin Bader at work",
            PiiKind::Person,
            "Kristin Bader"
        ));
    }

    #[test]
    fn title_marks_a_name_and_is_itself_a_span() {
        assert!(found(
            "For my take on Mrs. Olson, see below",
            PiiKind::Person,
            "Olson"
        ));
        assert!(found(
            "For my take on Mrs. Olson, see below",
            PiiKind::Title,
            "Mrs."
        ));
    }

    #[test]
    fn ordinary_sentence_starts_are_not_names() {
        let r = run("The weather is nice. However, Could we go?");
        assert!(
            !r.iter().any(|(k, _, c)| *k == PiiKind::Person && *c >= 0.4),
            "{r:?}"
        );
    }

    #[test]
    fn company_suffix_makes_an_organisation() {
        assert!(found(
            "I work for A2z Infra Engineering Ltd",
            PiiKind::Organization,
            "A2z Infra Engineering Ltd"
        ));
        assert!(found(
            "She left Progenity Inc. last year",
            PiiKind::Organization,
            "Progenity Inc."
        ));
    }

    #[test]
    fn places_and_nationalities() {
        assert!(found(
            "Who's coming to Switzerland with me?",
            PiiKind::Place,
            "Switzerland"
        ));
        assert!(found(
            "I am dominican but I live in Norway.",
            PiiKind::Nrp,
            "dominican"
        ));
        assert!(found(
            "He moved to New Zealand",
            PiiKind::Place,
            "New Zealand"
        ));
    }
}
