//! Regex recognizers for structured identifiers: email, URL, domain, handle, IPv4/IPv6,
//! payment card, IBAN, US SSN, phone, date and time, postal code, street address, age.
//!
//! Each regex is gated by a cheap byte test so most texts skip most regexes (a sentence with no
//! digit runs no number pattern). Word boundaries are checked in code rather than with `\b`:
//! Unicode `\b` would push the regex engine off its DFA on non-ASCII text.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexBuilder};

use super::validate;
use super::{Candidate, PiiError, PiiKind};

#[derive(Debug)]
pub struct Patterns {
    email: Regex,
    url: Regex,
    domain: Regex,
    handle: Regex,
    ipv4: Regex,
    ipv6: Regex,
    card: Regex,
    iban: Regex,
    ssn: Regex,
    phone: Regex,
    date_iso: Regex,
    date_numeric: Regex,
    date_words: Regex,
    time: Regex,
    weekday: Regex,
    year: Regex,
    postal_context: Regex,
    uk_postcode: Regex,
    us_zip: Regex,
    street_suffix: Regex,
    street_prefix: Regex,
    street_compound: Regex,
    address_unit: Regex,
    age_years: Regex,
    age_words: Regex,
    address_tail: Regex,
    street_numbered: Regex,
    /// Keywords that must be present for a gated regex to run, found in one pass.
    gates: AhoCorasick,
}

/// Gate keywords and the bit each sets.
const GATES: [(&str, u8); 16] = [
    ("day", GATE_DAY),
    ("zip", GATE_POSTAL),
    ("post", GATE_POSTAL),
    ("plz", GATE_POSTAL),
    ("old", GATE_OLD),
    ("age", GATE_AGE),
    ("turn", GATE_AGE),
    (" was ", GATE_AGE),
    (" is ", GATE_AGE),
    (" am ", GATE_AGE),
    (" were ", GATE_AGE),
    (" are ", GATE_AGE),
    ("'s ", GATE_AGE),
    ("'m ", GATE_AGE),
    ("’s ", GATE_AGE),
    ("’m ", GATE_AGE),
];
const GATE_DAY: u8 = 1;
const GATE_POSTAL: u8 = 2;
const GATE_OLD: u8 = 4;
const GATE_AGE: u8 = 8;

const MONTHS: &str = "(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\\.?|Feb\\.?|Mar\\.?|Apr\\.?|Jun\\.?|Jul\\.?|Aug\\.?|Sept?\\.?|Oct\\.?|Nov\\.?|Dec\\.?)";

const STREET_SUFFIXES: &str = "(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Terrace|Crescent|Close|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Trail|Row|Walk|Hill|Gardens|Grove|Park|Alley|Plaza|Loop|Path|Mews|Rise|Heights|Expressway|Freeway|Route|Pike|Ridge|Parade|Quay|Wharf|Esplanade|Embankment|Crossing|Causeway|Junction|Knoll|Meadows?|Villas?|Ville|Landing|Gateway|Estates?|Manor|Summit)";

const STREET_PREFIXES: &str = "(?:Via|Viale|Piazza|Piazzale|Corso|Largo|Vicolo|Contrada|Borgo|Rua|Avenida|Av\\.|Avda\\.|Calle|Carrer|Camino|Paseo|Plaza|Pasaje|Ronda|Rambla|Travesía|Rue|Chemin|Allée|Impasse|Quai|Cours|Strada|Calea|Bulevardul|Ulica|ul\\.|Al\\.|Aleja|Ctra\\.|Carretera|Travessa|Praça|Estrada|Largo|Odos|Leoforos|Bulevar|Trg|Ulitsa|Prospekt|Cesta|Ulice|nám\\.|náměstí)";

const STREET_COMPOUND: &str = "(?:straße|strasse|str\\.|gasse|weg|allee|platz|ring|damm|ufer|chaussee|straat|laan|gracht|plein|kade|singel|dreef|steenweg|baan|vej|gade|allé|gatan|vägen|gränd|gata|veien|vegen|gate|gata|katu|tie|kuja|polku|utca|körút|ulica|ulice|cesta|iela|gatvė|tänav|caddesi|sokak|sokağı)";

fn compile(name: &'static str, pattern: &str) -> Result<Regex, PiiError> {
    RegexBuilder::new(pattern)
        .size_limit(32 << 20)
        .build()
        .map_err(|e| PiiError::Pattern {
            name,
            message: e.to_string(),
        })
}

impl Patterns {
    pub fn new() -> Result<Patterns, PiiError> {
        Ok(Patterns {
            email: compile(
                "email",
                r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            )?,
            url: compile("url", r#"(?i:https?://|ftp://|www\.)[^\s<>"'`]+"#)?,
            domain: compile(
                "domain",
                r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:com|org|net|edu|gov|info|biz|app|dev|io|ai|co|me|tv|xyz|online|site|shop|tech|store|blog|cloud|[a-z]{2})",
            )?,
            handle: compile("handle", r"@[A-Za-z0-9_]{2,30}")?,
            ipv4: compile(
                "ipv4",
                r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
            )?,
            ipv6: compile(
                "ipv6",
                r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3})?",
            )?,
            card: compile("card", r"[0-9](?:[ -]?[0-9]){11,18}")?,
            iban: compile(
                "iban",
                r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?",
            )?,
            ssn: compile(
                "ssn",
                r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{9}",
            )?,
            phone: compile(
                "phone",
                r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,5}\)[ .-]?)?[0-9]{1,12}(?:(?:[ .-]|-?\([0-9]{1,4}\)-?)[0-9]{1,10}){0,5}(?: ?(?:x|ext\.?) ?[0-9]{1,5})?",
            )?,
            date_iso: compile(
                "date_iso",
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?",
            )?,
            date_numeric: compile(
                "date_numeric",
                r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})",
            )?,
            date_words: compile(
                "date_words",
                &format!(
                    r"{MONTHS}\s+[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s+[0-9]{{4}})?|[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}(?:,?\s+[0-9]{{4}})?|(?:January|February|March|April|June|July|August|September|October|November|December)(?:,?\s+[0-9]{{4}})"
                ),
            )?,
            time: compile(
                "time",
                r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\s?(?i:am|pm|a\.m\.|p\.m\.))?|[0-9]{1,2}\s?(?i:am|pm|a\.m\.|p\.m\.)",
            )?,
            weekday: compile(
                "weekday",
                r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?",
            )?,
            year: compile("year", r"(?:1[89][0-9]{2}|20[0-9]{2})(?:s)?")?,
            postal_context: compile(
                "postal_context",
                r"(?i:zip(?:\s?code)?|postal\s?code|post\s?code|postcode|plz)\s*(?:is\s+|[:#]\s*)?([A-Z0-9](?:[A-Z0-9]|[ -][A-Z0-9]){1,9})",
            )?,
            uk_postcode: compile("uk_postcode", r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")?,
            us_zip: compile("us_zip", r"[0-9]{5}(?:-[0-9]{4})?")?,
            street_suffix: compile(
                "street_suffix",
                &format!(
                    r"[0-9]{{1,6}}[A-Za-z]?,?[ \t]+(?:[\p{{Lu}}0-9][\p{{L}}0-9'’.-]*[ \t]+){{0,4}}?{STREET_SUFFIXES}"
                ),
            )?,
            street_prefix: compile(
                "street_prefix",
                &format!(
                    r"{STREET_PREFIXES}[ \t]+(?:[\p{{L}}'’.-]+[ \t]+){{0,4}}?[0-9]{{1,5}}[A-Za-z]?"
                ),
            )?,
            street_compound: compile(
                "street_compound",
                &format!(r"\p{{Lu}}[\p{{L}}-]*(?i:{STREET_COMPOUND})[ \t]+[0-9]{{1,5}}[A-Za-z]?"),
            )?,
            address_unit: compile(
                "address_unit",
                r"(?:Apt\.?|Apartment|Suite|Ste\.|Unit|Flat|Floor|Room|Bldg\.?|Building)[ \t]*#?[ \t]*[0-9]{1,5}[A-Za-z]?|(?:P\.? ?O\.? ?Box|PO Box|Post Office Box)[ \t]+[0-9]{1,6}|(?:PSC|Unit)[ \t][0-9]{3,5},?[ \t]Box[ \t][0-9]{3,5}|(?:APO|FPO|DPO)[ \t](?:AA|AE|AP)[ \t][0-9]{5}|(?:USNS|USNV|USS|USCGC)[ \t]\p{Lu}\p{L}+",
            )?,
            age_years: compile("age_years", r"([0-9]{1,3})[ -](?:years?|yrs?)[ -]old")?,
            age_words: compile(
                "age_words",
                r"(?i:aged?|turned|turning|turns|(?:he|she|i|they|we|you)\s+(?:was|is|am|were|are)|(?:he|she|it|i)['’][sm])\s+([0-9]{1,3})(?:[\s.,!?;)]|$)",
            )?,
            gates: AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(GATES.iter().map(|(k, _)| k))
                .map_err(|e| PiiError::Pattern {
                    name: "gates",
                    message: e.to_string(),
                })?,
            street_numbered: compile(
                "street_numbered",
                r"[0-9]{1,6}[ \t]+(?:\p{Lu}[\p{L}'’.-]*[ \t]+){1,4}[0-9]{1,5}[A-Za-z]?",
            )?,
            address_tail: compile(
                "address_tail",
                r"^(?:[ \t]*,?[ \t]*\n?[ \t]*,?[ \t]*)(?:(?:Apt\.?|Apartment|Suite|Ste\.|Unit|Flat|Floor|Room)[ \t]*#?[0-9]{1,5}[A-Za-z]?|[0-9]{3,6}(?:[ -][0-9]{2,4})?|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|\p{Lu}[\p{L}'’-]*(?:[ \t](?:(?:de|da|do|del|di|la|le|van|von|der|den)[ \t])?\p{Lu}[\p{L}'’-]*){0,3}(?:[ \t]\([\p{L} ]+\))?)",
            )?,
        })
    }

    fn gates(&self, text: &str) -> u8 {
        self.gates
            .find_overlapping_iter(text)
            .fold(0, |bits, m| bits | GATES[m.pattern().as_usize()].1)
    }

    pub fn scan(&self, text: &str, out: &mut Vec<Candidate>) {
        let gates = self.gates(text);
        let bytes = text.as_bytes();
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        let has_at = memchr_any(bytes, b'@');
        let has_dot = memchr_any(bytes, b'.');
        let has_colon = memchr_any(bytes, b':');

        if has_at {
            for m in self.email.find_iter(text) {
                if boundary_before(text, m.start()) {
                    push(out, PiiKind::EmailAddress, m.start(), m.end(), 0.95);
                }
            }
            for m in self.handle.find_iter(text) {
                let prev_ok = text[..m.start()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '.');
                if prev_ok && boundary_after(text, m.end()) {
                    push(out, PiiKind::SocialHandle, m.start(), m.end(), 0.6);
                }
            }
        }
        if has_dot || has_colon {
            for m in self.url.find_iter(text) {
                let end = m.start() + trim_url_end(m.as_str());
                if boundary_before(text, m.start()) && end > m.start() + 4 {
                    push(out, PiiKind::Url, m.start(), end, 0.9);
                }
            }
        }
        // A bare domain needs a dot followed by a letter ("example.com"), which most
        // sentence-ending dots are not.
        let dot_letter = bytes
            .windows(2)
            .any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic());
        if dot_letter {
            for m in self.domain.find_iter(text) {
                let s = m.as_str();
                let first_label = s.split('.').next().unwrap_or("");
                let prev_ok = text[..m.start()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '@' && c != '.' && c != '/');
                if prev_ok
                    && boundary_after(text, m.end())
                    && !text[m.end()..].starts_with('@')
                    && first_label.len() >= 2
                    && s.bytes().any(|b| b.is_ascii_alphabetic())
                {
                    push(out, PiiKind::DomainName, m.start(), m.end(), 0.6);
                }
            }
        }
        if has_colon {
            for m in self.ipv6.find_iter(text) {
                let s = m.as_str();
                if s.bytes().filter(|&b| b == b':').count() >= 2
                    && s.bytes().any(|b| b.is_ascii_hexdigit())
                    && boundary_before(text, m.start())
                    && boundary_after(text, m.end())
                    && validate::ipv6(s)
                {
                    push(out, PiiKind::IpAddress, m.start(), m.end(), 0.85);
                }
            }
        }
        if !has_digit {
            self.scan_words(text, gates, out);
            return;
        }
        if has_dot {
            for m in self.ipv4.find_iter(text) {
                if digit_boundary(text, m.start(), m.end()) {
                    push(out, PiiKind::IpAddress, m.start(), m.end(), 0.9);
                }
            }
        }
        for m in self.card.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && validate::payment_card(m.as_str()) {
                push(out, PiiKind::CreditCard, m.start(), m.end(), 0.9);
            }
        }
        for m in self.iban.find_iter(text) {
            if boundary_before(text, m.start())
                && boundary_after(text, m.end())
                && validate::iban(m.as_str())
            {
                push(out, PiiKind::IbanCode, m.start(), m.end(), 0.95);
            }
        }
        for m in self.ssn.find_iter(text) {
            if !digit_boundary(text, m.start(), m.end()) || !validate::us_ssn(m.as_str()) {
                continue;
            }
            let context = has_context(
                text,
                m.start(),
                48,
                &["ssn", "social security", "social-security"],
            );
            let confidence = match (m.as_str().len(), context) {
                (_, true) => 0.95,
                (11, false) if m.as_str().contains('-') => 0.8,
                (11, false) => 0.45,
                _ => 0.3,
            };
            push(out, PiiKind::UsSsn, m.start(), m.end(), confidence);
        }
        self.scan_phones(text, out);
        self.scan_dates(text, out);
        self.scan_postal(text, gates, out);
        self.scan_ages(text, gates, out);
        self.scan_words(text, gates, out);
    }

    /// Recognizers that do not need a digit to start (addresses still need one inside).
    fn scan_words(&self, text: &str, gates: u8, out: &mut Vec<Candidate>) {
        let weekdays = gates & GATE_DAY != 0;
        for m in self.weekday.find_iter(text).take_while(|_| weekdays) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                push(out, PiiKind::DateTime, m.start(), m.end(), 0.75);
            }
        }
        if !text.as_bytes().iter().any(u8::is_ascii_digit) {
            return;
        }
        let mut found = 0usize;
        for m in self.street_suffix.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && boundary_after(text, m.end()) {
                self.push_address(text, m.start(), m.end(), 0.75, out);
                found += 1;
            }
        }
        for m in self.street_prefix.find_iter(text) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                self.push_address(text, m.start(), m.end(), 0.72, out);
                found += 1;
            }
        }
        for m in self.street_compound.find_iter(text) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                self.push_address(text, m.start(), m.end(), 0.7, out);
                found += 1;
            }
        }
        for m in self.street_numbered.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && boundary_after(text, m.end()) {
                self.push_address(text, m.start(), m.end(), 0.6, out);
                found += 1;
            }
        }
        for m in self.address_unit.find_iter(text) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                let confidence = if found > 0 { 0.7 } else { 0.6 };
                self.push_address(text, m.start(), m.end(), confidence, out);
            }
        }
    }

    /// An address found by its street: widen it backwards over a leading house or postal number
    /// and forwards over the lines that follow an address (unit, town, region, postal code,
    /// country), stopping at the end of the sentence or at a lower-case word.
    fn push_address(
        &self,
        text: &str,
        start: usize,
        end: usize,
        confidence: f32,
        out: &mut Vec<Candidate>,
    ) {
        let mut start = start;
        // Backwards: "43292 69 Spencer Street", "16152 ul. Asnyka Adama 82".
        for _ in 0..2 {
            let before = text[..start].trim_end_matches([' ', '\t']);
            let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if before.len() < start
                && (1..=6).contains(&digits)
                && boundary_before(text, before.len() - digits)
            {
                start = before.len() - digits;
            } else {
                break;
            }
        }
        let mut end = end;
        for _ in 0..6 {
            let rest = &text[end..];
            let Some(m) = self.address_tail.find(rest) else {
                break;
            };
            let piece = m.as_str().trim_start_matches([' ', '\t', ',', '\n']);
            if piece.is_empty() || !boundary_after(text, end + m.end()) {
                break;
            }
            // "Mobile:", "Fax:" open the next field of a signature, not part of the address.
            if text[end + m.end()..].starts_with(':') {
                break;
            }
            // A blank line ends an address block.
            if m.as_str().matches('\n').count() > 1 {
                break;
            }
            end += m.end();
        }
        push(out, PiiKind::StreetAddress, start, end, confidence);
    }

    fn scan_phones(&self, text: &str, out: &mut Vec<Candidate>) {
        for m in self.phone.find_iter(text) {
            let s = m.as_str();
            if !digit_boundary(text, m.start(), m.end()) {
                continue;
            }
            // A phone does not continue into a date or a decimal.
            if text[m.end()..].starts_with(['/', ':'])
                || (text[m.end()..].starts_with('.')
                    && text[m.end() + 1..].starts_with(|c: char| c.is_ascii_digit()))
            {
                continue;
            }
            let digits = s.bytes().filter(u8::is_ascii_digit).count();
            let groups = s
                .split(|c: char| !c.is_ascii_digit())
                .filter(|g| !g.is_empty())
                .count();
            let international = s.starts_with('+');
            let bracketed = s.contains('(');
            let context = has_context(
                text,
                m.start(),
                40,
                &[
                    "phone", "call", "tel", "mobile", "cell", "fax", "contact", "reach", "number",
                    "text me", "whatsapp", "dial",
                ],
            );
            let context = context
                || has_context_after(
                    text,
                    m.end(),
                    12,
                    &["office", "mobile", "fax", "phone", "cell", "home", "work"],
                );
            let mut confidence: f32 = match (digits, groups) {
                (7..=15, 2..) => 0.5,
                (10..=15, 1) if international => 0.5,
                (10..=12, 1) => 0.4,
                (6, 3..) => 0.35,
                _ => continue,
            };
            if international || bracketed {
                confidence += 0.2;
            }
            if context {
                confidence += 0.25;
            }
            push(
                out,
                PiiKind::PhoneNumber,
                m.start(),
                m.end(),
                confidence.min(0.9),
            );
        }
    }

    fn scan_dates(&self, text: &str, out: &mut Vec<Candidate>) {
        for m in self.date_iso.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) {
                push(out, PiiKind::DateTime, m.start(), m.end(), 0.9);
            }
        }
        for m in self.date_numeric.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && plausible_numeric_date(m.as_str()) {
                push(out, PiiKind::DateTime, m.start(), m.end(), 0.85);
            }
        }
        for m in self.date_words.find_iter(text) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                push(out, PiiKind::DateTime, m.start(), m.end(), 0.85);
            }
        }
        for m in self.time.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && boundary_after(text, m.end()) {
                push(out, PiiKind::DateTime, m.start(), m.end(), 0.6);
            }
        }
        for m in self.year.find_iter(text) {
            // A year on its own, not the tail of "13/13/1986" or "06-1986".
            let glued = m.start() > 0
                && matches!(text.as_bytes()[m.start() - 1], b'/' | b'-' | b'.' | b':');
            if glued || !digit_boundary(text, m.start(), m.end()) || !boundary_after(text, m.end())
            {
                continue;
            }
            let context = has_context(
                text,
                m.start(),
                12,
                &[
                    "in ", "since ", "from ", "until ", "till ", "by ", "of ", "year ", "born ",
                    "the ", "early ", "late ", "mid-",
                ],
            );
            push(
                out,
                PiiKind::DateTime,
                m.start(),
                m.end(),
                if context { 0.7 } else { 0.5 },
            );
        }
    }

    fn scan_postal(&self, text: &str, gates: u8, out: &mut Vec<Candidate>) {
        let cued = gates & GATE_POSTAL != 0;
        for c in self.postal_context.captures_iter(text).take_while(|_| cued) {
            if let Some(g) = c.get(1)
                && boundary_after(text, g.end())
                && g.as_str().bytes().any(|b| b.is_ascii_digit())
            {
                push(out, PiiKind::PostalCode, g.start(), g.end(), 0.9);
            }
        }
        for m in self.uk_postcode.find_iter(text) {
            if boundary_before(text, m.start()) && boundary_after(text, m.end()) {
                push(out, PiiKind::PostalCode, m.start(), m.end(), 0.6);
            }
        }
        for m in self.us_zip.find_iter(text) {
            if digit_boundary(text, m.start(), m.end()) && boundary_after(text, m.end()) {
                push(out, PiiKind::PostalCode, m.start(), m.end(), 0.3);
            }
        }
    }

    fn scan_ages(&self, text: &str, gates: u8, out: &mut Vec<Candidate>) {
        let years = gates & GATE_OLD != 0;
        let words = gates & GATE_AGE != 0;
        for re in [(&self.age_years, years), (&self.age_words, words)]
            .into_iter()
            .filter(|(_, cued)| *cued)
            .map(|(re, _)| re)
        {
            for c in re.captures_iter(text) {
                let (Some(whole), Some(g)) = (c.get(0), c.get(1)) else {
                    continue;
                };
                let plausible = g
                    .as_str()
                    .parse::<u16>()
                    .is_ok_and(|n| (1..=120).contains(&n));
                if plausible && boundary_before(text, whole.start()) {
                    push(out, PiiKind::Age, g.start(), g.end(), 0.8);
                }
            }
        }
    }
}

fn push(out: &mut Vec<Candidate>, kind: PiiKind, start: usize, end: usize, confidence: f32) {
    out.push(Candidate {
        kind,
        start,
        end,
        confidence,
    });
}

fn memchr_any(bytes: &[u8], needle: u8) -> bool {
    bytes.contains(&needle)
}

/// True when no letter or digit touches `pos` from the left.
pub(crate) fn boundary_before(text: &str, pos: usize) -> bool {
    text[..pos]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric() && c != '_')
}

/// True when no letter or digit touches `pos` from the right.
pub(crate) fn boundary_after(text: &str, pos: usize) -> bool {
    text[pos..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric() && c != '_')
}

/// A number is whole: no digit (or letter) right before it, and none right after.
fn digit_boundary(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    let before_ok = start == 0 || !(b[start - 1].is_ascii_alphanumeric());
    let after_ok = end >= b.len() || !b[end].is_ascii_digit();
    before_ok && after_ok
}

/// A cue word within `window` bytes before `pos` (ASCII case-insensitive).
fn has_context(text: &str, pos: usize, window: usize, cues: &[&str]) -> bool {
    let from = pos.saturating_sub(window);
    contains_cue(&text.as_bytes()[from..pos], cues)
}

/// A cue word within `window` bytes after `pos` (ASCII case-insensitive).
fn has_context_after(text: &str, pos: usize, window: usize, cues: &[&str]) -> bool {
    let to = (pos + window).min(text.len());
    contains_cue(&text.as_bytes()[pos..to], cues)
}

/// Lower-cases the window once into a stack buffer, then looks for each cue in it.
fn contains_cue(window: &[u8], cues: &[&str]) -> bool {
    let mut buf = [0u8; 64];
    let n = window.len().min(buf.len());
    for (dst, src) in buf.iter_mut().zip(&window[window.len() - n..]) {
        *dst = src.to_ascii_lowercase();
    }
    let hay = &buf[..n];
    cues.iter().any(|cue| {
        let cue = cue.as_bytes();
        cue.len() <= hay.len() && hay.windows(cue.len()).any(|w| w == cue)
    })
}

/// Trailing punctuation belongs to the sentence, not the URL; a closing bracket stays when the
/// URL opened one.
fn trim_url_end(s: &str) -> usize {
    let mut end = s.len();
    while end > 0 {
        let last = s.as_bytes()[end - 1];
        let trim = match last {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'"' => true,
            b')' => !s[..end].contains('('),
            b']' => !s[..end].contains('['),
            _ => false,
        };
        if !trim {
            break;
        }
        end -= 1;
    }
    end
}

fn plausible_numeric_date(s: &str) -> bool {
    let parts: [u32; 3] = {
        let mut it = s
            .split(['/', '.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        [
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        ]
    };
    let (a, b) = (parts[0], parts[1]);
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    let consistent = seps.windows(2).all(|w| w[0] == w[1]);
    consistent && (1..=31).contains(&a) && (1..=31).contains(&b) && (a <= 12 || b <= 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, String)> {
        let p = Patterns::new().unwrap();
        let mut out = Vec::new();
        p.scan(text, &mut out);
        out.iter()
            .map(|c| (c.kind, text[c.start..c.end].to_owned()))
            .collect()
    }

    fn has(text: &str, kind: PiiKind, value: &str) -> bool {
        kinds(text).iter().any(|(k, v)| *k == kind && v == value)
    }

    #[test]
    fn url_trims_sentence_punctuation() {
        assert!(has(
            "see https://example.org/a?b=1.",
            PiiKind::Url,
            "https://example.org/a?b=1"
        ));
        assert!(has(
            "(www.example.com/x)",
            PiiKind::Url,
            "www.example.com/x"
        ));
    }

    #[test]
    fn numeric_dates_need_plausible_parts() {
        assert!(plausible_numeric_date("7/21/1986"));
        assert!(!plausible_numeric_date("13/13/1986"));
        assert!(!plausible_numeric_date("7/21-1986"));
    }

    #[test]
    fn address_extends_over_the_block() {
        assert!(
            has(
                "sent to 71236 Mühle 77 Suite 160, BODØ, Norway today",
                PiiKind::StreetAddress,
                "71236 Mühle 77 Suite 160, BODØ, Norway"
            ) || has(
                "sent to 110 Riedbergstrasse 50, Kaapstad, South Africa?",
                PiiKind::StreetAddress,
                "110 Riedbergstrasse 50, Kaapstad, South Africa"
            )
        );
        assert!(has(
            "He lives at 63 Moulton Road.",
            PiiKind::StreetAddress,
            "63 Moulton Road"
        ));
    }
}
