//! Host names: normalisation, punycode decoding (RFC 3492), confusable skeletons (after Unicode
//! TR39), registrable domains, IP literals and edit distance.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use crate::phishing::RuleHasher;

/// Multi-label suffixes under which anyone can register a name. A short, hand-kept subset of the
/// Public Suffix List: the country second levels and hosting platforms phishing uses most. A
/// host under a suffix not listed is treated as `label.tld`, which errs towards grouping more
/// hosts under one registrable domain (never towards missing a blocklisted parent).
pub(crate) const MULTI_LABEL_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "com.au",
    "net.au",
    "org.au",
    "co.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "com.br",
    "com.cn",
    "com.mx",
    "co.in",
    "co.za",
    "com.tr",
    "com.sg",
    "com.hk",
    "co.kr",
    "com.ar",
    "com.tw",
    "co.id",
    "com.my",
    "com.ng",
    "com.pk",
    "com.ua",
    "co.il",
    "uk.com",
    "us.com",
    "eu.com",
    "github.io",
    "herokuapp.com",
    "blogspot.com",
    "netlify.app",
    "vercel.app",
    "web.app",
    "firebaseapp.com",
    "pages.dev",
    "workers.dev",
    "azurewebsites.net",
    "cloudfront.net",
    "appspot.com",
    "s3.amazonaws.com",
    "000webhostapp.com",
    "weebly.com",
    "wixsite.com",
    "glitch.me",
    "repl.co",
    "ngrok.io",
    "ngrok-free.app",
    "duckdns.org",
    "firebaseio.com",
];

/// Most labels in an entry of [`MULTI_LABEL_SUFFIXES`] (checked by a test).
const MAX_SUFFIX_LABELS: usize = 3;

fn is_multi_label_suffix(tail: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str, BuildHasherDefault<RuleHasher>>> = OnceLock::new();
    SET.get_or_init(|| MULTI_LABEL_SUFFIXES.iter().copied().collect())
        .contains(tail)
}

/// A host as it appeared in a link, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host<'a> {
    /// Lowercase ASCII (or lowercase Unicode if the link spelled it so), no trailing dot.
    /// Borrowed from the message when it was written so (most hosts): no allocation per link.
    pub name: Cow<'a, str>,
    /// `name` with every `xn--` label decoded, when at least one was (else it is `name`).
    decoded: Option<String>,
}

/// What [`Host::parse`] needs to know of each byte, as bits of [`HOST_BYTE_CLASS`].
const NOT_HOST: u8 = 1;
const UPPER: u8 = 2;
const DOT: u8 = 4;
const DASH: u8 = 8;
const NON_ASCII: u8 = 16;

/// The class of every byte: ASCII bytes a host may not hold, uppercase letters (lowercased,
/// not rejected), dots and dashes (whose pairs matter) and non-ASCII bytes.
const HOST_BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let byte = b as u8;
        table[b] = if !byte.is_ascii() {
            NON_ASCII
        } else if byte.is_ascii_uppercase() {
            UPPER
        } else if byte == b'.' {
            DOT
        } else if byte == b'-' {
            DASH
        } else if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b':' | b'[' | b']') {
            0
        } else {
            NOT_HOST
        };
        b += 1;
    }
    table
};

impl<'a> Host<'a> {
    /// Normalises a raw host; `None` if it is not host-shaped.
    pub fn parse(raw: &'a str) -> Option<Host<'a>> {
        let trimmed = raw.trim_end_matches('.');
        let bytes = trimmed.as_bytes();
        // One walk classifies every byte: any byte a host may not hold, uppercase, `..`, a
        // `--` (without which there is no `xn--` label) and non-ASCII bytes (Unicode
        // lowercasing can change lengths and characters, so those hosts are checked after it).
        let mut seen = 0u8;
        let mut pairs = 0u8;
        let mut previous = 0u8;
        for &b in bytes {
            let class = HOST_BYTE_CLASS[usize::from(b)];
            seen |= class;
            pairs |= previous & class;
            previous = class;
        }
        if seen & NON_ASCII != 0 {
            return Host::parse_unicode(trimmed);
        }
        if seen & NOT_HOST != 0
            || pairs & DOT != 0
            || bytes.is_empty()
            || bytes.len() > 253
            || bytes[0] == b'.'
        {
            return None;
        }
        let upper = seen & UPPER != 0;
        let dashes = pairs & DASH != 0;
        let name = if upper {
            Cow::Owned(trimmed.to_ascii_lowercase())
        } else {
            Cow::Borrowed(trimmed)
        };
        // Without `--` there is no `xn--` label, and the decoded spelling is the name itself.
        let decoded = if dashes { decode_labels(&name) } else { None };
        Some(Host { name, decoded })
    }

    /// [`Host::parse`] of a host with a non-ASCII character.
    fn parse_unicode(trimmed: &str) -> Option<Host<'a>> {
        let name = trimmed.to_lowercase();
        if name.is_empty()
            || name.len() > 253
            || name.starts_with('.')
            || name.as_bytes().windows(2).any(|w| w == b"..")
        {
            return None;
        }
        if !name.chars().all(|c| {
            c.is_alphanumeric()
                || c == '-'
                || c == '.'
                || c == '_'
                || c == ':'
                || c == '['
                || c == ']'
        }) {
            return None;
        }
        let decoded = decode_labels(&name);
        Some(Host {
            name: Cow::Owned(name),
            decoded,
        })
    }

    /// The host with every `xn--` label decoded, for look-alike checks.
    pub fn unicode(&self) -> &str {
        self.decoded.as_deref().unwrap_or(&self.name)
    }

    /// Whether any label was punycode.
    pub fn had_punycode(&self) -> bool {
        self.decoded.is_some()
    }

    /// The registrable domain (e.g. `evil.co.uk` for `a.b.evil.co.uk`), of the given spelling.
    pub fn registrable(name: &str) -> &str {
        // The last dots, right to left: a listed suffix counts when the name ends with
        // `.suffix`, so only the tails after the last `MAX_SUFFIX_LABELS` dots are looked up,
        // and the answer starts after one of the last `MAX_SUFFIX_LABELS + 1` dots.
        let mut dots = [0usize; MAX_SUFFIX_LABELS + 1];
        let mut found = 0;
        for (i, &b) in name.as_bytes().iter().enumerate().rev() {
            if b == b'.' {
                dots[found] = i;
                found += 1;
                if found == dots.len() {
                    break;
                }
            }
        }
        if found <= 1 {
            return name;
        }
        let mut keep = 2;
        for (tail_labels, &dot) in dots[..found.min(MAX_SUFFIX_LABELS)].iter().enumerate() {
            if is_multi_label_suffix(&name[dot + 1..]) {
                keep = keep.max(tail_labels + 2);
            }
        }
        // Fewer than `keep` dots: the whole name is registrable.
        if found < keep {
            return name;
        }
        &name[dots[keep - 1] + 1..]
    }

    /// The host and each parent domain, longest first (`a.b.c`, `b.c`, `c`).
    pub fn suffixes(name: &str) -> impl Iterator<Item = &str> {
        std::iter::once(name).chain(name.match_indices('.').map(move |(i, _)| &name[i + 1..]))
    }
}

/// `name` with its `xn--` labels decoded, if any label decodes.
fn decode_labels(name: &str) -> Option<String> {
    if !name.as_bytes().windows(4).any(|w| w == b"xn--") {
        return None;
    }
    let mut had_punycode = false;
    let mut unicode = String::with_capacity(name.len());
    for (i, label) in name.split('.').enumerate() {
        if i > 0 {
            unicode.push('.');
        }
        match label.strip_prefix("xn--").and_then(punycode_decode) {
            Some(decoded) => {
                had_punycode = true;
                unicode.push_str(&decoded.to_lowercase());
            }
            None => unicode.push_str(label),
        }
    }
    had_punycode.then_some(unicode)
}

/// What kind of IP literal a host is, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpLiteral {
    /// Dotted-quad IPv4 or bracketed IPv6 on a public address.
    Public,
    /// Loopback, private or link-local.
    Private,
    /// A single decimal or hex number standing for an IPv4 address (`http://3232235777/`),
    /// which only an obfuscator writes.
    Obfuscated,
}

/// Classifies a host as an IP literal.
#[inline]
pub fn ip_literal(host: &str) -> Option<IpLiteral> {
    // Every form below starts with `[` or a digit; host names seldom do.
    if !host
        .as_bytes()
        .first()
        .is_some_and(|&b| b == b'[' || b.is_ascii_digit())
    {
        return None;
    }
    ip_literal_of_ip_shape(host)
}

/// [`ip_literal`] of a host starting with `[` or a digit.
fn ip_literal_of_ip_shape(host: &str) -> Option<IpLiteral> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let addr: std::net::Ipv6Addr = inner.parse().ok()?;
        let private = addr.is_loopback()
            || addr.is_unspecified()
            || (addr.segments()[0] & 0xfe00) == 0xfc00
            || (addr.segments()[0] & 0xffc0) == 0xfe80;
        return Some(if private {
            IpLiteral::Private
        } else {
            IpLiteral::Public
        });
    }
    if let Ok(addr) = host.parse::<std::net::Ipv4Addr>() {
        let private = addr.is_loopback()
            || addr.is_private()
            || addr.is_link_local()
            || addr.is_unspecified();
        return Some(if private {
            IpLiteral::Private
        } else {
            IpLiteral::Public
        });
    }
    let number = if let Some(hex) = host.strip_prefix("0x") {
        u32::from_str_radix(hex, 16).ok()
    } else if host.len() >= 8 && host.bytes().all(|b| b.is_ascii_digit()) {
        host.parse::<u32>().ok()
    } else {
        None
    };
    number.map(|_| IpLiteral::Obfuscated)
}

/// Decodes one punycode label (without its `xn--` prefix). `None` if it is not valid punycode.
pub fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const INITIAL_BIAS: u32 = 72;
    const INITIAL_N: u32 = 128;
    if input.is_empty() || !input.is_ascii() || input.len() > 63 {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let mut n = INITIAL_N;
    let mut i: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut digits = extended.bytes();
    let mut remaining = extended.len();
    while remaining > 0 {
        let old_i = i;
        let mut w: u32 = 1;
        let mut k = BASE;
        loop {
            let c = digits.next()?;
            remaining -= 1;
            let digit = u32::from(match c {
                b'a'..=b'z' => c - b'a',
                b'A'..=b'Z' => c - b'A',
                b'0'..=b'9' => c - b'0' + 26,
                _ => return None,
            });
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k = k.checked_add(BASE)?;
        }
        let len = u32::try_from(output.len()).ok()? + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        output.insert(usize::try_from(i).ok()?, char::from_u32(n)?);
        i += 1;
        if output.len() > 63 {
            return None;
        }
    }
    Some(output.into_iter().collect())
}

fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (BASE - TMIN + 1) * delta / (delta + SKEW)
}

/// Script of a letter, as far as mixed-script detection needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Other,
}

fn script(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match u32::from(c) {
        0x41..=0x5a | 0x61..=0x7a | 0xc0..=0x24f | 0x1e00..=0x1eff => Script::Latin,
        0x370..=0x3ff | 0x1f00..=0x1fff => Script::Greek,
        0x400..=0x52f => Script::Cyrillic,
        _ => Script::Other,
    })
}

/// Whether a label mixes Latin letters with Cyrillic or Greek ones (`pаypal` with a Cyrillic
/// `а`), which no honest domain needs.
pub fn mixes_scripts(label: &str) -> bool {
    let mut latin = false;
    let mut lookalike = false;
    for s in label.chars().filter_map(script) {
        match s {
            Script::Latin => latin = true,
            Script::Cyrillic | Script::Greek => lookalike = true,
            Script::Other => {}
        }
    }
    latin && lookalike
}

/// The confusable skeleton of a label: characters that look alike map to one ASCII spelling, so
/// `pаypa1` (Cyrillic `а`, digit `1`) and `paypal` share a skeleton. A subset of TR39's
/// confusables table covering the Cyrillic, Greek, accented-Latin and digit look-alikes seen in
/// phishing, plus the multi-letter `rn`→`m`, `vv`→`w`, `cl`→`d`.
pub fn skeleton(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        out.push(match u8::try_from(c) {
            Ok(b) if b.is_ascii() => char::from(ASCII_CONFUSABLE[usize::from(b)]),
            _ => confusable(c),
        });
    }
    // One pass for the three pairs (all ASCII, so a byte pair is a character pair).
    if out
        .as_bytes()
        .windows(2)
        .any(|w| matches!(w, b"rn" | b"vv" | b"cl"))
    {
        out = out.replace("rn", "m").replace("vv", "w").replace("cl", "d");
    }
    out
}

/// A label's [`skeleton`], built on the stack when the label is ASCII and short (nearly every
/// label a message holds), so a link's look-alike checks allocate nothing.
#[derive(Clone, Debug)]
pub(crate) enum Skeleton {
    /// The skeleton of an ASCII label of at most [`INLINE_SKELETON`] bytes (itself ASCII).
    Inline {
        bytes: [u8; INLINE_SKELETON],
        len: usize,
    },
    /// Any other label's skeleton, and whether it is ASCII.
    Heap(String, bool),
}

/// Longest label whose skeleton is built on the stack.
pub(crate) const INLINE_SKELETON: usize = 48;

impl Skeleton {
    /// The skeleton of `label`.
    pub(crate) fn of(label: &str) -> Skeleton {
        let input = label.as_bytes();
        if input.len() > INLINE_SKELETON || !label.is_ascii() {
            let s = skeleton(label);
            let ascii = s.is_ascii();
            return Skeleton::Heap(s, ascii);
        }
        let mut bytes = [0u8; INLINE_SKELETON];
        // Folded bytes, noting on the way whether a fold pair follows (see `FOLD`).
        let mut pairs = 0u16;
        let mut starts = 0u16;
        for (out, &b) in bytes.iter_mut().zip(input) {
            let fold = FOLD[usize::from(b & 0x7f)];
            *out = fold as u8;
            pairs |= starts & (fold >> 11);
            starts = (fold >> 8) & 7;
        }
        let mut len = input.len();
        if pairs != 0 {
            // In place, left to right, folding the three pairs at once: their letters (`r n`,
            // `v`, `c l`) are disjoint and their replacements (`m w d`) are none of them, so
            // the three sequential replaces of `skeleton` find exactly these leftmost matches.
            let (mut read, mut write) = (0, 0);
            while read < len {
                let (out, width) =
                    match (bytes[read], bytes.get(read + 1).filter(|_| read + 1 < len)) {
                        (b'r', Some(b'n')) => (b'm', 2),
                        (b'v', Some(b'v')) => (b'w', 2),
                        (b'c', Some(b'l')) => (b'd', 2),
                        (b, _) => (b, 1),
                    };
                bytes[write] = out;
                write += 1;
                read += width;
            }
            len = write;
        }
        Skeleton::Inline { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Skeleton::Inline { bytes, len } => &bytes[..*len],
            Skeleton::Heap(s, _) => s.as_bytes(),
        }
    }

    pub(crate) fn is_ascii(&self) -> bool {
        match self {
            Skeleton::Inline { .. } => true,
            Skeleton::Heap(_, ascii) => *ascii,
        }
    }
}

/// For each ASCII byte: its fold ([`ASCII_CONFUSABLE`]) in the low byte, then which fold pair
/// the folded byte can start (bits 8–10: `r`, `v`, `c`) and end (bits 11–13: `n`, `v`, `l`),
/// so a pair is a byte whose start bits meet the next byte's end bits.
const FOLD: [u16; 128] = {
    let mut table = [0u16; 128];
    let mut b = 0usize;
    while b < 128 {
        let folded = ASCII_CONFUSABLE[b];
        let starts: u16 = match folded {
            b'r' => 1,
            b'v' => 2,
            b'c' => 4,
            _ => 0,
        };
        let ends: u16 = match folded {
            b'n' => 1,
            b'v' => 2,
            b'l' => 4,
            _ => 0,
        };
        table[b] = folded as u16 | (starts << 8) | (ends << 11);
        b += 1;
    }
    table
};

/// [`confusable`] of every ASCII character, computed at compile time: most labels are ASCII,
/// and a table lookup spares them the walk through the Unicode arms.
const ASCII_CONFUSABLE: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0u8;
    while b < 128 {
        // Every look-alike of an ASCII character is ASCII (checked by a test).
        table[b as usize] = confusable(b as char) as u8;
        b += 1;
    }
    table
};

/// The single-character fold of [`skeleton`].
const fn confusable(c: char) -> char {
    match c {
        'а' | 'α' | 'ɑ' | 'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'Ь' | 'ь' | 'Ƅ' => 'b',
        'с' | 'ϲ' | 'ç' | 'ć' | 'č' => 'c',
        'ԁ' | 'ď' | 'đ' => 'd',
        'е' | 'ё' | 'ε' | 'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ɡ' | 'ġ' | 'ğ' => 'g',
        'һ' | 'ћ' => 'h',
        'і' | 'ї' | 'ι' | 'ı' | 'ì' | 'í' | 'î' | 'ï' | 'ɩ' => 'i',
        'ј' | 'ϳ' => 'j',
        'κ' | 'к' => 'k',
        '1' | 'ӏ' | 'ǀ' | '|' | 'ł' | 'ĺ' | 'ļ' | 'ľ' | 'ʟ' => 'l',
        'ո' => 'n',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        '0' | 'о' | 'ο' | 'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'ө' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' | 'ś' | 'š' | 'ş' => 's',
        'τ' | 'т' => 't',
        'υ' | 'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ѡ' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' | 'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// Whether the Damerau–Levenshtein distance between `a` and `b` is exactly one (one insertion,
/// deletion, substitution or adjacent transposition).
pub fn edit_distance_is_one(a: &str, b: &str) -> bool {
    if a.len().abs_diff(b.len()) > 4 {
        // Byte lengths this far apart cannot be one character apart (a char is 1–4 bytes).
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        return distance_one(a.as_bytes(), b.as_bytes());
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    distance_one(&a, &b)
}

pub(crate) fn distance_one<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            // From the first difference: the rest equal (one substitution), or the next two
            // swapped and the rest equal (one transposition).
            let Some(i) = (0..short.len()).find(|&i| short[i] != long[i]) else {
                return false;
            };
            short[i + 1..] == long[i + 1..]
                || (i + 1 < short.len()
                    && short[i] == long[i + 1]
                    && short[i + 1] == long[i]
                    && short[i + 2..] == long[i + 2..])
        }
        1 => {
            let mut i = 0;
            while i < short.len() && short[i] == long[i] {
                i += 1;
            }
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the tail lookup in `registrable` replaced: every listed suffix tested in turn.
    fn registrable_reference(name: &str) -> &str {
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() <= 2 {
            return name;
        }
        let mut keep = 2;
        for suffix in MULTI_LABEL_SUFFIXES {
            if name.ends_with(suffix) && name.len() > suffix.len() {
                let before = name.len() - suffix.len();
                if name.as_bytes().get(before - 1) == Some(&b'.') {
                    keep = keep.max(suffix.split('.').count() + 1);
                }
            }
        }
        if keep >= labels.len() {
            return name;
        }
        let skip: usize = labels[..labels.len() - keep]
            .iter()
            .map(|l| l.len() + 1)
            .sum();
        &name[skip..]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn registrable_matches_the_suffix_scan(
            head in "[a-zа-я0-9.\\-]{0,20}",
            suffix in proptest::sample::select(MULTI_LABEL_SUFFIXES),
            glue in prop_oneof![Just("."), Just(""), Just(".."), Just("x.")],
            tail in prop_oneof![Just(""), Just(".uk"), Just(".com"), Just("x")],
        ) {
            let name = format!("{head}{glue}{suffix}{tail}");
            prop_assert_eq!(Host::registrable(&name), registrable_reference(&name));
            prop_assert_eq!(Host::registrable(&head), registrable_reference(&head));
        }
    }

    /// What `Host::parse` replaced: lowercase the whole name, then check it character by
    /// character; `(name, decoded spelling, had punycode)`.
    fn parse_reference(raw: &str) -> Option<(String, String, bool)> {
        let name = raw.trim_end_matches('.').to_lowercase();
        if name.is_empty()
            || name.len() > 253
            || name.starts_with('.')
            || name.as_bytes().windows(2).any(|w| w == b"..")
        {
            return None;
        }
        if !name.chars().all(|c| {
            c.is_alphanumeric()
                || c == '-'
                || c == '.'
                || c == '_'
                || c == ':'
                || c == '['
                || c == ']'
        }) {
            return None;
        }
        if !name.as_bytes().windows(4).any(|w| w == b"xn--") {
            return Some((name.clone(), name, false));
        }
        let mut had_punycode = false;
        let mut unicode = String::with_capacity(name.len());
        for (i, label) in name.split('.').enumerate() {
            if i > 0 {
                unicode.push('.');
            }
            match label.strip_prefix("xn--").and_then(punycode_decode) {
                Some(decoded) => {
                    had_punycode = true;
                    unicode.push_str(&decoded.to_lowercase());
                }
                None => unicode.push_str(label),
            }
        }
        Some((name, unicode, had_punycode))
    }

    fn host_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(&[
                    "xn--", "xn--pypal-4ve", "xn--80ak6aa92e", "XN--MNCHEN-3YA", "-", "--", ".",
                    "..", "_", ":", "[", "]", "Pay", "pal", "аррӏе", "İ", "ß", "K", "\u{212a}",
                    "0x", "1", "a", "Z", "/", " ",
                ][..]).prop_map(str::to_owned),
                1 => any::<char>().prop_map(String::from),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn parse_matches_the_reference(raw in prop_oneof![host_like(), crate::test_text::adversarial()]) {
            let fast = Host::parse(&raw)
                .map(|h| (h.name.to_string(), h.unicode().to_owned(), h.had_punycode()));
            prop_assert_eq!(fast, parse_reference(&raw));
        }

        #[test]
        fn inline_skeletons_match_the_string_fold(label in prop_oneof![host_like(), "[a-z0-9|rnvcl1-]{0,60}"]) {
            let s = Skeleton::of(&label);
            let reference = skeleton(&label);
            prop_assert_eq!(s.as_bytes(), reference.as_bytes());
            prop_assert_eq!(s.is_ascii(), reference.is_ascii());
        }

        #[test]
        fn ip_literal_shortcut_keeps_the_answer(raw in prop_oneof![host_like(), "[0-9a-fx.:\\[\\]]{0,20}"]) {
            prop_assert_eq!(ip_literal(&raw), ip_literal_reference(&raw));
        }
    }

    /// `ip_literal` without its first-byte shortcut.
    fn ip_literal_reference(host: &str) -> Option<IpLiteral> {
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let addr: std::net::Ipv6Addr = inner.parse().ok()?;
            let private = addr.is_loopback()
                || addr.is_unspecified()
                || (addr.segments()[0] & 0xfe00) == 0xfc00
                || (addr.segments()[0] & 0xffc0) == 0xfe80;
            return Some(if private {
                IpLiteral::Private
            } else {
                IpLiteral::Public
            });
        }
        if let Ok(addr) = host.parse::<std::net::Ipv4Addr>() {
            let private = addr.is_loopback()
                || addr.is_private()
                || addr.is_link_local()
                || addr.is_unspecified();
            return Some(if private {
                IpLiteral::Private
            } else {
                IpLiteral::Public
            });
        }
        let number = if let Some(hex) = host.strip_prefix("0x") {
            u32::from_str_radix(hex, 16).ok()
        } else if host.len() >= 8 && host.bytes().all(|b| b.is_ascii_digit()) {
            host.parse::<u32>().ok()
        } else {
            None
        };
        number.map(|_| IpLiteral::Obfuscated)
    }

    #[test]
    fn punycode_decodes_known_labels() {
        assert_eq!(punycode_decode("mnchen-3ya").as_deref(), Some("münchen"));
        assert_eq!(punycode_decode("80ak6aa92e").as_deref(), Some("аррӏе"));
        assert_eq!(punycode_decode("pypal-4ve").as_deref(), Some("pаypal"));
        assert_eq!(punycode_decode("!!!"), None);
        assert_eq!(punycode_decode(""), None);
        assert_eq!(punycode_decode("99999999999999"), None);
    }

    #[test]
    fn skeletons_fold_lookalikes() {
        assert_eq!(skeleton("pаypa1"), "paypal");
        assert_eq!(skeleton("аррӏе"), "apple");
        assert_eq!(skeleton("rnicrosoft"), "microsoft");
        assert_eq!(skeleton("g00gle"), "google");
        assert_eq!(skeleton("linkedin"), "linkedin");
    }

    #[test]
    fn ascii_confusables_stay_ascii() {
        for b in 0u8..128 {
            assert!(confusable(char::from(b)).is_ascii(), "{b}");
            assert_eq!(
                char::from(ASCII_CONFUSABLE[usize::from(b)]),
                confusable(char::from(b))
            );
        }
    }

    #[test]
    fn suffix_list_fits_the_tail_lookup() {
        for suffix in MULTI_LABEL_SUFFIXES {
            let labels = suffix.split('.').count();
            assert!((2..=MAX_SUFFIX_LABELS).contains(&labels), "{suffix}");
            assert_eq!(*suffix, suffix.to_ascii_lowercase());
        }
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(Host::registrable("a.b.evil.com"), "evil.com");
        assert_eq!(Host::registrable("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(
            Host::registrable("paypal-login.github.io"),
            "paypal-login.github.io"
        );
        assert_eq!(Host::registrable("evil.com"), "evil.com");
        assert_eq!(Host::registrable("localhost"), "localhost");
        let suffixes: Vec<&str> = Host::suffixes("a.b.c").collect();
        assert_eq!(suffixes, vec!["a.b.c", "b.c", "c"]);
    }

    #[test]
    fn ip_literals() {
        assert_eq!(ip_literal("8.8.8.8"), Some(IpLiteral::Public));
        assert_eq!(ip_literal("192.168.1.1"), Some(IpLiteral::Private));
        assert_eq!(ip_literal("[2001:db8::1]"), Some(IpLiteral::Public));
        assert_eq!(ip_literal("[::1]"), Some(IpLiteral::Private));
        assert_eq!(ip_literal("3232235777"), Some(IpLiteral::Obfuscated));
        assert_eq!(ip_literal("0xc0a80001"), Some(IpLiteral::Obfuscated));
        assert_eq!(ip_literal("example.com"), None);
        assert_eq!(ip_literal("1.2.3"), None);
    }

    #[test]
    fn edit_distance_one() {
        assert!(edit_distance_is_one("paypall", "paypal"));
        assert!(edit_distance_is_one("paypla", "paypal"));
        assert!(edit_distance_is_one("linkedln", "linkedin"));
        assert!(edit_distance_is_one("amazom", "amazon"));
        assert!(!edit_distance_is_one("paypal", "paypal"));
        assert!(!edit_distance_is_one("pay", "paypal"));
        assert!(!edit_distance_is_one("lapyap", "paypal"));
    }

    /// What `distance_one` replaced for equal lengths: all differing positions.
    fn same_length_distance_one_reference(a: &[u8], b: &[u8]) -> bool {
        let mut diffs = (0..a.len()).filter(|&i| a[i] != b[i]);
        match (diffs.next(), diffs.next(), diffs.next()) {
            (Some(_), None, _) => true,
            (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn same_length_edit_distance_matches_the_diff_count(
            a in "[abc]{0,8}",
            edits in proptest::collection::vec((0usize..8, "[abc]"), 0..3),
            swap in proptest::option::of(0usize..8),
        ) {
            let mut b: Vec<u8> = a.clone().into_bytes();
            for (at, c) in edits {
                if at < b.len() {
                    b[at] = c.as_bytes()[0];
                }
            }
            if let Some(at) = swap.filter(|at| at + 1 < b.len()) {
                b.swap(at, at + 1);
            }
            prop_assert_eq!(
                distance_one(a.as_bytes(), &b),
                same_length_distance_one_reference(a.as_bytes(), &b)
            );
        }
    }

    #[test]
    fn mixed_scripts() {
        assert!(mixes_scripts("pаypal"));
        assert!(!mixes_scripts("paypal"));
        assert!(!mixes_scripts("аррӏе"));
        assert!(!mixes_scripts("münchen"));
    }
}
