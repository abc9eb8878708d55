//! Finds links in message text: bare URLs, `www.` hosts, Markdown `[text](url)`, HTML
//! `<a href="url">text</a>`, and bare host names; keeps what the phishing rules need.

use crate::bytescan::each_position_of;
use crate::host::Host;

/// `$test` (a `const fn(char) -> bool`) of every ASCII character, for byte-at-a-time walks
/// that decode only non-ASCII characters. A macro: const fns cannot call function pointers.
macro_rules! ascii_table {
    ($test:ident) => {{
        let mut table = [false; 128];
        let mut b = 0u8;
        while b < 128 {
            table[b as usize] = $test(b as char);
            b += 1;
        }
        table
    }};
}

/// `$test` of every ASCII character and `true` for every other byte, for walks that stop at
/// each non-ASCII byte to decode its character.
macro_rules! byte_table {
    ($test:ident) => {{
        let mut table = [true; 256];
        let mut b = 0u8;
        while b < 128 {
            table[b as usize] = $test(b as char);
            b += 1;
        }
        table
    }};
}

/// How a link appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkSource {
    /// `http://` or `https://` (or another scheme with `://`).
    Scheme,
    /// Starts with `www.`.
    Www,
    /// A host name written without scheme (`secure-paypal.com`).
    Bare,
}

/// One link found in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link<'a> {
    /// Where it leads.
    pub host: Host<'a>,
    /// How it was written.
    pub source: LinkSource,
    /// Whether it has a path, query or fragment after the host.
    pub has_path: bool,
    /// The `user@` part's text looks like a host (`https://paypal.com@evil.example/`).
    pub userinfo_looks_like_host: bool,
    /// The host the link's display text shows, when the text of a Markdown or HTML link
    /// itself names a host.
    pub display_host: Option<Host<'a>>,
}

/// Extracts links from message text.
#[derive(Debug, Default)]
pub struct LinkExtractor;

/// What starts a link: `://`, `www.`, `](` (Markdown) and `<a ` (HTML), in any ASCII case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StartKind {
    Scheme,
    Www,
    Markdown,
    Anchor,
}

/// One occurrence of a link start: `text[start..end]` is the marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Start {
    kind: StartKind,
    start: usize,
    end: usize,
}

/// Every link start in `text`, in order. No two markers can overlap (each holds a byte —
/// `:`, `.`, `]`, `<` — at a place no other marker, nor another copy of itself, can), so
/// all occurrences in order are exactly what a leftmost non-overlapping multi-pattern search
/// reports. One pass that stops only at those four bytes, which prose seldom holds, is a
/// few times cheaper than a general automaton on short messages.
#[cfg(test)]
fn link_starts(text: &str) -> SmallList<Start, 8> {
    let mut found = SmallList::new(NO_START);
    let mut dots = SmallList::new(0);
    link_starts_and_dots(text, &mut found, &mut dots);
    found
}

/// A filler for unused slots.
const NO_START: Start = Start {
    kind: StartKind::Scheme,
    start: 0,
    end: 0,
};

/// [`link_starts`], and every dot's position (the dots [`bare_hosts`] visits): the marker
/// scan stops at each dot anyway, and a second scan would cost as much as the first.
fn link_starts_and_dots(
    text: &str,
    found: &mut SmallList<Start, 8>,
    dots: &mut SmallList<usize, 24>,
) {
    let bytes = text.as_bytes();
    each_position_of(bytes, [b':', b'.', b']', b'<'], |at| {
        let next = |n: usize| bytes.get(at + n).copied();
        if bytes[at] == b'.' {
            dots.push(at);
        }
        let start = match bytes[at] {
            b':' if next(1) == Some(b'/') && next(2) == Some(b'/') => Start {
                kind: StartKind::Scheme,
                start: at,
                end: at + 3,
            },
            // The byte before first: most dots end a word or sentence, not `www`.
            b'.' if at >= 3
                && bytes[at - 1] | 0x20 == b'w'
                && bytes[at - 3..at].eq_ignore_ascii_case(b"www") =>
            {
                Start {
                    kind: StartKind::Www,
                    start: at - 3,
                    end: at + 1,
                }
            }
            b']' if next(1) == Some(b'(') => Start {
                kind: StartKind::Markdown,
                start: at,
                end: at + 2,
            },
            b'<' if next(1).is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
                && next(2) == Some(b' ') =>
            {
                Start {
                    kind: StartKind::Anchor,
                    start: at,
                    end: at + 3,
                }
            }
            _ => return,
        };
        found.push(start);
    });
}

impl LinkExtractor {
    /// Builds the extractor.
    pub fn new() -> LinkExtractor {
        LinkExtractor
    }

    /// All links in `text`, in order of appearance (a link is reported once).
    pub fn extract<'a>(&self, text: &'a str) -> Vec<Link<'a>> {
        let mut matches = SmallList::new(NO_START);
        let mut dots = SmallList::new(0);
        link_starts_and_dots(text, &mut matches, &mut dots);
        let matches = matches.as_slice();
        // Room for every marked link and a few bare hosts, so the list does not regrow;
        // nothing allocated for a message without markers, until a bare host turns up.
        let mut links = if matches.is_empty() {
            Vec::new()
        } else {
            Vec::with_capacity(matches.len() + 4)
        };
        let mut spans: SmallList<(usize, usize), 4> = SmallList::new((0, 0));
        // Markdown and HTML links first: their display text may itself look like a URL, and it
        // is display, not a link. The markers come in order, so each search below resumes
        // where the last one's answer lies ahead: the whole loop reads each byte a bounded
        // number of times however many markers a hostile message holds (a search per marker
        // from scratch made `](` repeated 100 KB long take seconds).
        let mut searches = MarkupSearches::new(text.as_bytes());
        // Every span so far starts at or before the marker that made it, so a later marker is
        // inside one exactly when it is before the furthest end.
        let mut covered_until = 0;
        for m in matches {
            if m.start < covered_until {
                continue;
            }
            let found = match m.kind {
                StartKind::Markdown => parse_markdown(text, m.start, &mut searches),
                StartKind::Anchor => parse_anchor(text, m.start, &mut searches)
                    .map(|(link, end)| (link, m.start, end)),
                _ => None,
            };
            if let Some((link, start, end)) = found {
                spans.push((start, end));
                covered_until = covered_until.max(end);
                links.push(link);
            }
        }
        // Whether a position is inside a Markdown or anchor span: the last span starting at
        // or before it, by start, with the furthest end of all those before it.
        let mut markup: Vec<(usize, usize)> = spans.as_slice().to_vec();
        markup.sort_unstable();
        let mut furthest = 0;
        let markup_reach: Vec<usize> = markup
            .iter()
            .map(|&(_, end)| {
                furthest = furthest.max(end);
                furthest
            })
            .collect();
        let in_markup = |at: usize| {
            let before = markup.partition_point(|&(start, _)| start <= at);
            before > 0 && markup_reach[before - 1] > at
        };
        // URL spans found below never overlap and come in order: a span starting between a
        // scheme name's start and its `://` would run over the `://` (scheme characters are URL
        // characters), and so would hold that marker. Only the last can hold a later position.
        let mut last_url: Option<(usize, usize)> = None;
        let in_url = |last: Option<(usize, usize)>, at: usize| {
            last.is_some_and(|(start, end)| at >= start && at < end)
        };
        for m in matches {
            if in_markup(m.start) || in_url(last_url, m.start) {
                continue;
            }
            match m.kind {
                StartKind::Scheme => {
                    // Back up over the scheme name.
                    let scheme_start = scheme_start(text.as_bytes(), m.start);
                    if scheme_start == m.start
                        || in_markup(scheme_start)
                        || in_url(last_url, scheme_start)
                    {
                        continue;
                    }
                    let (link, end) = parse_after_scheme(text, m.end, LinkSource::Scheme);
                    spans.push((scheme_start, end));
                    last_url = Some((scheme_start, end));
                    links.extend(link);
                }
                StartKind::Www => {
                    let preceded_by_word = text[..m.start]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '/' || c == '-');
                    if preceded_by_word {
                        continue;
                    }
                    let (link, end) = parse_after_scheme(text, m.start, LinkSource::Www);
                    spans.push((m.start, end));
                    last_url = Some((m.start, end));
                    links.extend(link);
                }
                StartKind::Markdown | StartKind::Anchor => {}
            }
        }
        bare_hosts_at(text, spans.as_slice(), dots.as_slice(), &mut links);
        links
    }
}

/// A list kept on the stack up to `N` items (links and their markers are few in nearly every
/// message), on the heap beyond.
#[derive(Debug)]
struct SmallList<T: Copy, const N: usize> {
    inline: [T; N],
    len: usize,
    heap: Vec<T>,
}

impl<T: Copy, const N: usize> SmallList<T, N> {
    /// An empty list; `fill` only initialises the unused slots.
    fn new(fill: T) -> Self {
        SmallList {
            inline: [fill; N],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn push(&mut self, item: T) {
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = item;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(item);
        }
        self.len += 1;
    }

    fn as_slice(&self) -> &[T] {
        if self.len <= N {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

/// The bytes of a scheme name: ASCII alphanumerics, `+`, `-` and `.`.
const SCHEME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    while b < 128 {
        table[b as usize] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
        b += 1;
    }
    table
};

/// Where the scheme before `://` at `at` starts: after the last character before `at` that
/// is not ASCII alphanumeric, `+`, `-` or `.` (or at 0). Bytes, not characters: only ASCII
/// bytes are scheme characters. When the stop is a non-ASCII character this answers one past
/// that character's first byte, as the character search it replaced did (a position inside
/// the character, which no token or marker can start at, so spans cover the same starts).
fn scheme_start(bytes: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0
        && bytes
            .get(i - 1)
            .is_some_and(|&b| SCHEME_BYTE[usize::from(b)])
    {
        i -= 1;
    }
    if i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii) {
        return i;
    }
    // Back over continuation bytes (`0b10xx_xxxx`) to the character's first byte.
    let mut first = i - 1;
    while first > 0 && bytes.get(first).is_some_and(|&b| b & 0xc0 == 0x80) {
        first -= 1;
    }
    first + 1
}

#[inline]
const fn is_url_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '<' | '>' | '"' | '\'' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\' | '^'
        ))
}

/// Parses `host[:port][/path...]` starting at `from`; returns the link (if the host is sane) and
/// where the URL ends.
fn parse_after_scheme(text: &str, from: usize, source: LinkSource) -> (Option<Link<'_>>, usize) {
    let rest = &text[from..];
    if rest.starts_with('[') {
        // A bracketed IPv6 host keeps its brackets.
        let len = first_char_where(rest, &BYTE_URL_END, url_end);
        let url = trim_url_end(&rest[..len]);
        return (
            link_from_authority_and_path(url, source, None),
            from + url.len(),
        );
    }
    // Elsewhere brackets end the URL too. One walk finds the authority's delimiters (as
    // `authority_delimiters` does) up to its first `/ ? #`, then the URL's end.
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut at_sign = None;
    let mut colon = None;
    let mut authority_end = None;
    let len = loop {
        // Plain bytes in a tight walk; the others one by one below.
        let Some(skip) = bytes.get(i..).and_then(|r| {
            r.iter()
                .position(|&b| AUTHORITY_BYTE[usize::from(b)] != AuthorityByte::Plain)
        }) else {
            break bytes.len();
        };
        i += skip;
        match AUTHORITY_BYTE[usize::from(bytes[i])] {
            AuthorityByte::Plain => i += 1,
            AuthorityByte::End => {
                authority_end = Some(i);
                let tail = rest.get(i..).unwrap_or_default();
                break i + first_char_where(tail, &BYTE_URL_OR_BRACKET_END, url_or_bracket_end);
            }
            AuthorityByte::At => {
                at_sign = Some(i);
                colon = None;
                i += 1;
            }
            AuthorityByte::Colon => {
                colon = colon.or(Some(i));
                i += 1;
            }
            AuthorityByte::Stop => break i,
            AuthorityByte::NonAscii => {
                let Some(c) = rest.get(i..).and_then(|r| r.chars().next()) else {
                    break bytes.len();
                };
                if url_end(c) {
                    break i;
                }
                i += c.len_utf8();
            }
        }
    };
    let url = trim_url_end(&rest[..len]);
    // Trimming removes only `. , ; : ! ?` from the end: the first `/ ? #` stays unless it was
    // trimmed with everything after it (then the authority runs to the URL's end), an `@`
    // always stays, and a `:` past the authority's end is none of the authority's.
    let authority_end = authority_end.map_or(url.len(), |e| e.min(url.len()));
    let delimiters = Delimiters {
        authority_end,
        at_sign,
        colon: colon.filter(|&c| c < authority_end),
    };
    (
        link_from_delimiters(url, delimiters, source, None),
        from + url.len(),
    )
}

/// A URL's end trimmed of the punctuation prose puts after it.
fn trim_url_end(url: &str) -> &str {
    trim_ascii_end(url, |b| {
        matches!(b, b'.' | b',' | b';' | b':' | b'!' | b'?')
    })
}

/// What a byte means while walking a URL's authority (brackets ending the URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthorityByte {
    Plain,
    /// `/ ? #`: the authority ends.
    End,
    At,
    Colon,
    /// An ASCII byte that ends the URL.
    Stop,
    /// A non-ASCII byte: decode its character.
    NonAscii,
}

const AUTHORITY_BYTE: [AuthorityByte; 256] = {
    let mut table = [AuthorityByte::NonAscii; 256];
    let mut b = 0u8;
    while b < 128 {
        table[b as usize] = match b {
            b'/' | b'?' | b'#' => AuthorityByte::End,
            b'@' => AuthorityByte::At,
            b':' => AuthorityByte::Colon,
            _ if url_or_bracket_end(b as char) => AuthorityByte::Stop,
            _ => AuthorityByte::Plain,
        };
        b += 1;
    }
    table
};

/// [`url_end`], or a bracket.
const fn url_or_bracket_end(c: char) -> bool {
    url_end(c) || c == '[' || c == ']'
}

/// [`url_or_bracket_end`] of every ASCII character, and `true` for every non-ASCII byte.
const BYTE_URL_OR_BRACKET_END: [bool; 256] = byte_table!(url_or_bracket_end);

/// Where a URL after its scheme ends: at a character that is not a URL character, brackets
/// excepted (they end it only outside a bracketed IPv6 host).
const fn url_end(c: char) -> bool {
    !is_url_char(c) && c != '[' && c != ']'
}

/// [`url_end`] of every ASCII character, computed at compile time, and `true` for every
/// non-ASCII byte (see [`first_char_where`]).
const BYTE_URL_END: [bool; 256] = byte_table!(url_end);

/// The first index of a byte `hit` holds for: `str::find` with ASCII characters, without
/// decoding (an ASCII byte in UTF-8 is always that character, at a character boundary).
#[inline]
fn byte_position(bytes: &[u8], hit: impl Fn(u8) -> bool) -> Option<usize> {
    bytes.iter().position(|&b| hit(b))
}

/// `s.trim_end_matches(set)` for a set of ASCII characters, by bytes.
#[inline]
fn trim_ascii_end(s: &str, trim: impl Fn(u8) -> bool) -> &str {
    let bytes = s.as_bytes();
    let mut end = bytes.len();
    while end > 0 && trim(bytes[end - 1]) {
        end -= 1;
    }
    // Only ASCII bytes were removed, so `end` is a character boundary.
    s.get(..end).unwrap_or(s)
}

fn link_from_authority_and_path<'a>(
    url: &'a str,
    source: LinkSource,
    display: Option<Host<'a>>,
) -> Option<Link<'a>> {
    link_from_delimiters(url, authority_delimiters(url), source, display)
}

/// Where a URL's authority ends (its first `/ ? #`, or the URL's end), its last `@` and the
/// first `:` after that `@` (where a port starts), all before the authority's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Delimiters {
    authority_end: usize,
    at_sign: Option<usize>,
    colon: Option<usize>,
}

/// The [`Delimiters`] of `url`, in one walk (all ASCII, so bytes are characters).
fn authority_delimiters(url: &str) -> Delimiters {
    let bytes = url.as_bytes();
    let mut authority_end = bytes.len();
    let mut at_sign = None;
    let mut colon = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'/' | b'?' | b'#' => {
                authority_end = i;
                break;
            }
            b'@' => {
                at_sign = Some(i);
                colon = None;
            }
            b':' if colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    Delimiters {
        authority_end,
        at_sign,
        colon,
    }
}

fn link_from_delimiters<'a>(
    url: &'a str,
    delimiters: Delimiters,
    source: LinkSource,
    display: Option<Host<'a>>,
) -> Option<Link<'a>> {
    let Delimiters {
        authority_end,
        at_sign,
        colon,
    } = delimiters;
    let has_path = url.len() > authority_end + 1;
    let host_start = at_sign.map_or(0, |at| at + 1);
    let host_port = &url[host_start..authority_end];
    let host = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port, |i| &host_port[..=i])
    } else {
        &url[host_start..colon.unwrap_or(authority_end)]
    };
    let host = Host::parse(host)?;
    let userinfo_looks_like_host = at_sign.is_some_and(|at| {
        let u = &url[..at];
        let u = &u[..byte_position(u.as_bytes(), |b| b == b':').unwrap_or(u.len())];
        u.contains('.') && Host::parse(u).is_some()
    });
    Some(Link {
        host,
        source,
        has_path,
        userinfo_looks_like_host,
        display_host: display,
    })
}

/// `[display](url)`, with `at` pointing to `](`.
fn parse_markdown<'a>(
    text: &'a str,
    at: usize,
    searches: &mut MarkupSearches<'_>,
) -> Option<(Link<'a>, usize, usize)> {
    // The last `[` after the last line break before `at`.
    let open = searches.open_bracket_before(at)?;
    let display = &text[open + 1..at];
    let url_start = at + 2;
    let close = searches.close_paren.at_or_after(url_start)?;
    let url = text[url_start..close].trim();
    let link = link_from_url(url, display_host(display))?;
    Some((link, open, close + 1))
}

/// `<a ... href="url" ...>display</a>`, with `at` pointing to `<a `.
fn parse_anchor<'a>(
    text: &'a str,
    at: usize,
    searches: &mut MarkupSearches<'_>,
) -> Option<(Link<'a>, usize)> {
    let tag_end = searches.tag_end.at_or_after(at)?;
    // The first `href` wholly inside the tag, ignoring ASCII case: the first at or after `at`,
    // if it ends before the tag does.
    let href_at = searches
        .href
        .at_or_after(at)
        .filter(|&i| i + 4 <= tag_end)?;
    let after = text[href_at + 4..tag_end]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let url = match after.chars().next()? {
        q @ ('"' | '\'') => {
            let inner = &after[1..];
            &inner[..inner.find(q)?]
        }
        _ => &after[..after.find(char::is_whitespace).unwrap_or(after.len())],
    };
    let close = searches
        .anchor_close
        .at_or_after(tag_end)
        .unwrap_or(text.len());
    let display = &text[tag_end + 1..close.max(tag_end + 1)];
    let link = link_from_url(url.trim(), display_host(display))?;
    Some((link, close))
}

/// The searches Markdown and anchor parsing make, for markers met in order.
struct MarkupSearches<'t> {
    bytes: &'t [u8],
    /// How far `last_open` and `last_break` have been brought.
    scanned: usize,
    last_open: Option<usize>,
    last_break: Option<usize>,
    close_paren: NextFind<'t>,
    tag_end: NextFind<'t>,
    href: NextFind<'t>,
    anchor_close: NextFind<'t>,
}

impl<'t> MarkupSearches<'t> {
    fn new(bytes: &'t [u8]) -> MarkupSearches<'t> {
        MarkupSearches {
            bytes,
            scanned: 0,
            last_open: None,
            last_break: None,
            close_paren: NextFind::new(bytes, b")"),
            tag_end: NextFind::new(bytes, b">"),
            href: NextFind::new(bytes, b"href"),
            anchor_close: NextFind::new(bytes, b"</a"),
        }
    }

    /// The last `[` before `at` with no line break after it: what walking back from `at` to
    /// the first `[` or `\n` finds. Positions asked in order extend one forward scan.
    fn open_bracket_before(&mut self, at: usize) -> Option<usize> {
        if at < self.scanned {
            return self.bytes[..at]
                .iter()
                .rposition(|&b| b == b'[' || b == b'\n')
                .filter(|&i| self.bytes[i] == b'[');
        }
        for (i, &b) in self.bytes[self.scanned..at].iter().enumerate() {
            match b {
                b'[' => self.last_open = Some(self.scanned + i),
                b'\n' => self.last_break = Some(self.scanned + i),
                _ => {}
            }
        }
        self.scanned = at;
        let open = self.last_open?;
        (self.last_break.is_none_or(|b| b < open)).then_some(open)
    }
}

/// The first occurrence of a needle (ASCII case ignored; single bytes are punctuation) at or
/// after a position. It remembers its last answer: for positions asked in non-decreasing
/// order, a search runs only past the previous answer, so all of them together read each
/// byte about once.
struct NextFind<'t> {
    bytes: &'t [u8],
    needle: &'static [u8],
    /// The last search started here and found `answer` (`None`: nothing from here on).
    from: usize,
    answer: Option<Option<usize>>,
}

impl<'t> NextFind<'t> {
    fn new(bytes: &'t [u8], needle: &'static [u8]) -> NextFind<'t> {
        NextFind {
            bytes,
            needle,
            from: 0,
            answer: None,
        }
    }

    fn at_or_after(&mut self, at: usize) -> Option<usize> {
        if at >= self.from {
            match self.answer {
                Some(None) => return None,
                Some(Some(found)) if found >= at => return Some(found),
                _ => {}
            }
        }
        let rest = self.bytes.get(at..)?;
        let found = match self.needle {
            [single] => memchr::memchr(*single, rest),
            needle => find_ignore_ascii_case(rest, needle),
        }
        .map(|i| i + at);
        self.from = at;
        self.answer = Some(found);
        found
    }
}

/// Where `needle` (lowercase ASCII) first occurs in `haystack`, ignoring ASCII case.
fn find_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn link_from_url<'a>(url: &'a str, display: Option<Host<'a>>) -> Option<Link<'a>> {
    // A window compare: a substring searcher costs more to set up than a URL takes to scan.
    if let Some(i) = url.as_bytes().windows(3).position(|w| w == b"://") {
        return link_from_authority_and_path(&url[i + 3..], LinkSource::Scheme, display);
    }
    let source = if starts_with_www(url) {
        LinkSource::Www
    } else {
        LinkSource::Bare
    };
    link_from_authority_and_path(url, source, display)
}

/// The host a link's display text names, if the text is (or contains) a host-like token.
fn display_host(display: &str) -> Option<Host<'_>> {
    // A host-like token has a dot, so text without one (most link text) names no host.
    if !display.as_bytes().contains(&b'.') {
        return None;
    }
    display
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')'))
        .find_map(|token| {
            let token = token.trim_matches(|c: char| !c.is_alphanumeric());
            let token = token.split_once("://").map_or(token, |(_, rest)| rest);
            let host = token.split(['/', '?', '#']).next()?;
            looks_like_host(host).then(|| Host::parse(host)).flatten()
        })
}

/// A token with a dot whose last label is alphabetic: `paypal.com`, `b.evil.co.uk`, but not
/// `e.g`, `3.14` or `v1.2.3`.
fn looks_like_host(token: &str) -> bool {
    let Some((head, tld)) = token.rsplit_once('.') else {
        return false;
    };
    !head.is_empty()
        && !head.ends_with('.')
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
        && head
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        && head.chars().next().is_some_and(char::is_alphanumeric)
}

/// Characters that end a bare-host token.
#[inline]
const fn is_token_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>' | '"' | '\'' | '(' | ')' | '[' | ']' | ',' | ';' | '`' | '|'
        )
}

/// [`is_token_separator`] of every ASCII byte, computed at compile time: token walks test
/// every byte of a token, and a table lookup is one load.
const ASCII_SEPARATOR: [bool; 128] = ascii_table!(is_token_separator);

/// Host names written without a scheme. Tokens already inside a found URL are skipped.
///
/// Only a token with a dot can look like a host, so instead of splitting the whole text into
/// tokens (a character-class test on every character), this visits each dot and takes the
/// token around it: the same tokens, in the same order, for a fraction of the work on prose.
///
/// Two kinds of dot are settled without walking their token, both exactly:
/// - a dot followed only by `. : ! ?` up to an ASCII separator (a sentence's end). It is the
///   token's first dot (an earlier one would have been visited first and moved `from` past
///   this one), unless an earlier one was skipped for the next reason (and then the token
///   yields nothing anyway); trimming those characters leaves no dot, so no host.
/// - a dot inside a span that starts a token (at the text's start or after an ASCII
///   separator): its token cannot start before the span, so it starts inside it, and
///   [`bare_host_token`] skips tokens starting inside a span. Its other dots are visited on
///   their own and come to the same answer.
#[cfg(test)]
fn bare_hosts<'a>(text: &'a str, spans: &[(usize, usize)], links: &mut Vec<Link<'a>>) {
    let mut dots = Vec::new();
    crate::bytescan::each_position_of(text.as_bytes(), [b'.'], |at| dots.push(at));
    bare_hosts_at(text, spans, &dots, links);
}

/// [`bare_hosts`], given the positions of the text's dots, in order.
fn bare_hosts_at<'a>(
    text: &'a str,
    spans: &[(usize, usize)],
    dots: &[usize],
    links: &mut Vec<Link<'a>>,
) {
    let bytes = text.as_bytes();
    let separator_before = |at: usize| {
        at == 0
            || bytes
                .get(at - 1)
                .is_some_and(|&b| b.is_ascii() && ASCII_SEPARATOR[usize::from(b)])
    };
    let mut from = 0;
    for &dot in dots {
        if dot < from {
            // Inside the token just visited.
            continue;
        }
        let mut end = dot + 1;
        while bytes
            .get(end)
            .is_some_and(|&b| matches!(b, b'.' | b':' | b'!' | b'?'))
        {
            end += 1;
        }
        if bytes
            .get(end)
            .is_none_or(|&b| b.is_ascii() && ASCII_SEPARATOR[usize::from(b)])
        {
            from = end;
            continue;
        }
        if spans
            .iter()
            .any(|&(s, e)| dot >= s && dot < e && separator_before(s))
        {
            continue;
        }
        let (start, end) = token_around(text, dot);
        from = end;
        bare_host_token(&text[start..end], start, spans, links);
    }
}

/// The byte offset of the first character of `s` for which `stop` holds (or `s.len()`): as
/// `s.find(stop)`, but walking bytes with `byte_stop` (`stop` of each ASCII character, and
/// `true` for every non-ASCII byte) and decoding only characters at non-ASCII bytes. The walk
/// only ever stops at a character's first byte: it steps over ASCII bytes one at a time and
/// over decoded characters whole.
fn first_char_where(s: &str, byte_stop: &[bool; 256], stop: impl Fn(char) -> bool) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        let Some(skip) = bytes
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| byte_stop[usize::from(b)]))
        else {
            return s.len();
        };
        i += skip;
        if bytes[i].is_ascii() {
            return i;
        }
        let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
            return s.len();
        };
        if stop(c) {
            return i;
        }
        i += c.len_utf8();
    }
}

/// The token of `text` holding byte `at` (not a separator): from just after the separator
/// before it to the separator after it. Walks bytes, decoding only non-ASCII characters (at
/// their first byte), so a plain ASCII token costs a table-free compare per byte.
fn token_around(text: &str, at: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let separator_at = |i: usize| -> Option<usize> {
        let b = bytes[i];
        if b.is_ascii() {
            return ASCII_SEPARATOR[usize::from(b)].then_some(1);
        }
        // A continuation byte is part of a character seen from its first byte.
        let c = text.get(i..)?.chars().next()?;
        is_token_separator(c).then(|| c.len_utf8())
    };
    let start = (0..at)
        .rev()
        .find_map(|i| separator_at(i).map(|len| i + len))
        .unwrap_or(0);
    let end = (at..bytes.len())
        .find(|&i| separator_at(i).is_some())
        .unwrap_or(bytes.len());
    (start, end)
}

/// One token of [`bare_hosts`], starting at byte `offset` of the text.
fn bare_host_token<'a>(
    raw: &'a str,
    offset: usize,
    spans: &[(usize, usize)],
    links: &mut Vec<Link<'a>>,
) {
    if spans
        .iter()
        .any(|&(start, end)| offset >= start && offset < end)
    {
        return;
    }
    let token = raw.trim_end_matches(['.', ':', '!', '?']);
    // Byte windows: a substring searcher costs more to set up than a token takes to scan.
    let bytes = token.as_bytes();
    if bytes.windows(3).any(|w| w == b"://") || bytes.contains(&b'@') || starts_with_www(token) {
        return;
    }
    let host_part = token.split(['/', '?', '#']).next().unwrap_or(token);
    if !looks_like_host(host_part) {
        return;
    }
    if let Some(host) = Host::parse(host_part) {
        if links.iter().any(|l| l.host.name == host.name) {
            return;
        }
        links.push(Link {
            host,
            source: LinkSource::Bare,
            has_path: token.len() > host_part.len() + 1,
            userinfo_looks_like_host: false,
            display_host: None,
        });
    }
}

/// `www.` in any ASCII case, without lowercasing a copy.
fn starts_with_www(s: &str) -> bool {
    s.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"www."))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::test_text::adversarial;

    /// What `link_starts` replaced: an ASCII-case-insensitive leftmost-first automaton.
    fn link_starts_reference(text: &str) -> Vec<Start> {
        let kinds = [
            StartKind::Scheme,
            StartKind::Www,
            StartKind::Markdown,
            StartKind::Anchor,
        ];
        aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(["://", "www.", "](", "<a "])
            .unwrap()
            .find_iter(text)
            .map(|m| Start {
                kind: kinds[m.pattern().as_usize()],
                start: m.start(),
                end: m.end(),
            })
            .collect()
    }

    /// What the byte-level `parse_after_scheme` replaced: char-pattern searches and trims.
    fn parse_after_scheme_reference(
        text: &str,
        from: usize,
        source: LinkSource,
    ) -> (Option<Link<'_>>, usize) {
        let rest = &text[from..];
        let mut len = rest.find(url_end).unwrap_or(rest.len());
        if !rest.starts_with('[') {
            len = rest[..len].find(['[', ']']).unwrap_or(len);
        }
        let url = rest[..len].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let end = from + url.len();
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let link = link_from_authority_and_path_reference(url, source, None);
        // The authority split is checked through `has_path`, which depends on it.
        if let Some(l) = &link {
            assert_eq!(l.has_path, url.len() > authority_end + 1);
        }
        (link, end)
    }

    /// What `extract` replaced: the scheme name found by a char search, every dot's token
    /// taken.
    fn extract_reference<'a>(text: &'a str) -> Vec<Link<'a>> {
        let matches = link_starts_reference(text);
        let mut links = if matches.is_empty() {
            Vec::new()
        } else {
            Vec::with_capacity(matches.len() + 4)
        };
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(matches.len());
        // Markdown and HTML links first: their display text may itself look like a URL, and it
        // is display, not a link.
        for m in &matches {
            if spans.iter().any(|&(s, e)| m.start >= s && m.start < e) {
                continue;
            }
            let found = match m.kind {
                StartKind::Markdown => parse_markdown_reference(text, m.start),
                StartKind::Anchor => {
                    parse_anchor_reference(text, m.start).map(|(link, end)| (link, m.start, end))
                }
                _ => None,
            };
            if let Some((link, start, end)) = found {
                spans.push((start, end));
                links.push(link);
            }
        }
        let inside =
            |spans: &[(usize, usize)], at: usize| spans.iter().any(|&(s, e)| at >= s && at < e);
        for m in &matches {
            if inside(&spans, m.start) {
                continue;
            }
            match m.kind {
                StartKind::Scheme => {
                    // Back up over the scheme name.
                    let scheme_start = text[..m.start]
                        .rfind(|c: char| {
                            !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
                        })
                        .map_or(0, |i| i + 1);
                    if scheme_start == m.start || inside(&spans, scheme_start) {
                        continue;
                    }
                    let (link, end) = parse_after_scheme_reference(text, m.end, LinkSource::Scheme);
                    spans.push((scheme_start, end));
                    links.extend(link);
                }
                StartKind::Www => {
                    let preceded_by_word = text[..m.start]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '/' || c == '-');
                    if preceded_by_word {
                        continue;
                    }
                    let (link, end) = parse_after_scheme_reference(text, m.start, LinkSource::Www);
                    spans.push((m.start, end));
                    links.extend(link);
                }
                StartKind::Markdown | StartKind::Anchor => {}
            }
        }
        bare_hosts_reference(text, &spans, &mut links);
        links
    }

    /// What the one-walk `link_from_authority_and_path` replaced: a search per delimiter.
    fn link_from_authority_and_path_reference<'a>(
        url: &'a str,
        source: LinkSource,
        display: Option<Host<'a>>,
    ) -> Option<Link<'a>> {
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        let has_path = url.len() > authority_end + 1;
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let host = if host_port.starts_with('[') {
            host_port.find(']').map_or(host_port, |i| &host_port[..=i])
        } else {
            host_port.split(':').next().unwrap_or(host_port)
        };
        let host = Host::parse(host)?;
        let userinfo_looks_like_host = userinfo.is_some_and(|u| {
            let u = u.split(':').next().unwrap_or(u);
            u.contains('.') && Host::parse(u).is_some()
        });
        Some(Link {
            host,
            source,
            has_path,
            userinfo_looks_like_host,
            display_host: display,
        })
    }

    /// What the byte-level Markdown and anchor parsing replaced: char and substring searches,
    /// lowercased copies, display text split however short.
    fn parse_markdown_reference(text: &str, at: usize) -> Option<(Link<'_>, usize, usize)> {
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let open = text[line_start..at].rfind('[')? + line_start;
        let display = &text[open + 1..at];
        let url_start = at + 2;
        let close = text[url_start..].find(')')? + url_start;
        let url = text[url_start..close].trim();
        let link = link_from_url_reference(url, display_host_reference(display))?;
        Some((link, open, close + 1))
    }

    fn parse_anchor_reference(text: &str, at: usize) -> Option<(Link<'_>, usize)> {
        let tag_end = text[at..].find('>')? + at;
        let tag = &text[at..tag_end];
        let lower = tag.to_ascii_lowercase();
        let href_at = lower.find("href")?;
        let after = tag[href_at + 4..]
            .trim_start()
            .strip_prefix('=')?
            .trim_start();
        let url = match after.chars().next()? {
            q @ ('"' | '\'') => {
                let inner = &after[1..];
                &inner[..inner.find(q)?]
            }
            _ => &after[..after.find(char::is_whitespace).unwrap_or(after.len())],
        };
        let close = text[tag_end..]
            .to_ascii_lowercase()
            .find("</a")
            .map_or(text.len(), |i| i + tag_end);
        let display = &text[tag_end + 1..close.max(tag_end + 1)];
        let link = link_from_url_reference(url.trim(), display_host_reference(display))?;
        Some((link, close))
    }

    fn link_from_url_reference<'a>(url: &'a str, display: Option<Host<'a>>) -> Option<Link<'a>> {
        if let Some(i) = url.find("://") {
            return link_from_authority_and_path_reference(
                &url[i + 3..],
                LinkSource::Scheme,
                display,
            );
        }
        let source = if starts_with_www(url) {
            LinkSource::Www
        } else {
            LinkSource::Bare
        };
        link_from_authority_and_path_reference(url, source, display)
    }

    fn display_host_reference(display: &str) -> Option<Host<'_>> {
        display
            .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')'))
            .find_map(|token| {
                let token = token.trim_matches(|c: char| !c.is_alphanumeric());
                let token = token.split_once("://").map_or(token, |(_, rest)| rest);
                let host = token.split(['/', '?', '#']).next()?;
                looks_like_host(host).then(|| Host::parse(host)).flatten()
            })
    }

    /// What the dot-driven `bare_hosts` replaced: every token of the split text.
    fn bare_hosts_reference<'a>(
        text: &'a str,
        spans: &[(usize, usize)],
        links: &mut Vec<Link<'a>>,
    ) {
        let base = text.as_ptr() as usize;
        for raw in text.split(is_token_separator) {
            bare_host_token(raw, raw.as_ptr() as usize - base, spans, links);
        }
    }

    /// Markdown and anchor links whose display text and target are made of host-like pieces,
    /// among adversarial text: the shapes random text seldom assembles.
    fn marked_links() -> impl Strategy<Value = String> {
        const PIECES: &[&str] = &[
            "paypal.com",
            "www.linkedin.com",
            "evil.example",
            "https://",
            "http://",
            "HTTPS://",
            "www.",
            "WWW.",
            "my profile",
            "see ",
            " ",
            "\n",
            ".",
            "/login",
            "?x=1",
            "#top",
            "user@",
            "paypal.com@",
            ":8080",
            "[2001:db8::1]",
            "bit.ly/x",
            "e.g.",
            "(",
            ")",
            "\"",
            "'",
            "<b>",
            "</b>",
            "münchen.de",
            "xn--pypal-4ve.com",
            "...",
            "a.b",
            "3.14",
        ];
        let piece_run = |max| {
            proptest::collection::vec(proptest::sample::select(PIECES), 0..max)
                .prop_map(|p| p.concat())
        };
        let link = prop_oneof![
            (piece_run(4), piece_run(4)).prop_map(|(d, u)| format!("[{d}]({u})")),
            (
                proptest::sample::select(
                    &["<a href=\"", "<A HREF='", "<a title=x href=", "<a "][..]
                ),
                piece_run(4),
                proptest::sample::select(&["\"", "'", " ", ""][..]),
                piece_run(4),
                proptest::sample::select(&["</a>", "</A>", ""][..]),
            )
                .prop_map(|(open, u, q, d, close)| format!("{open}{u}{q}>{d}{close}")),
        ];
        proptest::collection::vec(prop_oneof![link, adversarial(), piece_run(3)], 1..4)
            .prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn first_char_where_matches_find(text in adversarial()) {
            prop_assert_eq!(
                first_char_where(&text, &BYTE_URL_END, url_end),
                text.find(url_end).unwrap_or(text.len())
            );
            prop_assert_eq!(
                first_char_where(&text, &BYTE_URL_OR_BRACKET_END, url_or_bracket_end),
                text.find(url_or_bracket_end).unwrap_or(text.len())
            );
        }

        #[test]
        fn byte_searches_match_the_char_searches(text in adversarial()) {
            let set = ['.', ',', ';', ':', '!', '?'];
            prop_assert_eq!(
                trim_ascii_end(&text, |b| matches!(b, b'.' | b',' | b';' | b':' | b'!' | b'?')),
                text.trim_end_matches(set)
            );
            prop_assert_eq!(
                byte_position(text.as_bytes(), |b| matches!(b, b'/' | b'?' | b'#')),
                text.find(['/', '?', '#'])
            );
        }

        /// Whole links as the char-pattern code found them: the byte-level helpers must not
        /// change a link, its span or its host.
        #[test]
        fn parsed_links_match_the_char_level_parse(
            text in prop_oneof![adversarial(), "[a-z.:@/?#!,;\\[\\] é]{0,24}"],
            from in 0usize..40,
        ) {
            let from = (0..=from.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            prop_assert_eq!(
                parse_after_scheme(&text, from, LinkSource::Scheme),
                parse_after_scheme_reference(&text, from, LinkSource::Scheme)
            );
        }

        #[test]
        fn authority_walk_matches_the_searches(
            text in prop_oneof![adversarial(), "[a-z.:@/?#\\[\\]]{0,30}"],
        ) {
            prop_assert_eq!(
                link_from_authority_and_path(&text, LinkSource::Scheme, None),
                link_from_authority_and_path_reference(&text, LinkSource::Scheme, None)
            );
        }

        #[test]
        fn small_lists_hold_what_was_pushed(items in proptest::collection::vec(any::<u16>(), 0..40)) {
            let mut list: SmallList<u16, 8> = SmallList::new(0);
            for &item in &items {
                list.push(item);
            }
            prop_assert_eq!(list.as_slice(), &items[..]);
        }

        #[test]
        fn links_match_the_reference_extract(text in prop_oneof![adversarial(), marked_links()]) {
            prop_assert_eq!(LinkExtractor::new().extract(&text), extract_reference(&text));
        }

        /// Many Markdown and anchor markers, most of them broken: the searches that resume
        /// where the previous marker's answer lies must find what a search from scratch finds.
        #[test]
        fn markup_dense_text_matches_the_reference_extract(
            pieces in proptest::collection::vec(proptest::sample::select(&[
                "](", "[", "(", ")", "<a ", "<A ", "href", "HREF", "=", "\"", "'", ">", "</a>",
                "</A", "\n", " ", "x", "a.b", "http://e.x/", "paypal.com", "www.", "evil.example",
            ][..]), 0..120)
        ) {
            let text = pieces.concat();
            prop_assert_eq!(LinkExtractor::new().extract(&text), extract_reference(&text));
        }

        #[test]
        fn bare_hosts_with_spans_match_the_token_split(
            text in adversarial(),
            cuts in proptest::collection::vec((0usize..200, 0usize..40), 0..4),
        ) {
            // Spans where extraction puts them: starting after separators, ending anywhere.
            let spans: Vec<(usize, usize)> = cuts
                .iter()
                .map(|&(at, len)| {
                    let at = at.min(text.len());
                    (at, at + len)
                })
                .collect();
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            bare_hosts(&text, &spans, &mut fast);
            bare_hosts_reference(&text, &spans, &mut reference);
            prop_assert_eq!(fast, reference);
        }

        #[test]
        fn link_starts_match_the_automaton(text in adversarial()) {
            let fast = link_starts(&text);
            prop_assert_eq!(fast.as_slice(), &link_starts_reference(&text)[..]);
        }

        #[test]
        fn bare_hosts_match_the_token_split(text in adversarial(), cut in 0usize..64, len in 0usize..32) {
            let start = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let spans = [(start, start + len)];
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            bare_hosts(&text, &spans, &mut fast);
            bare_hosts_reference(&text, &spans, &mut reference);
            prop_assert_eq!(fast, reference);
        }
    }

    #[test]
    fn the_separator_table_is_the_separator_test() {
        for b in 0u8..128 {
            assert_eq!(
                ASCII_SEPARATOR[usize::from(b)],
                is_token_separator(char::from(b)),
                "{b}"
            );
        }
    }

    fn hosts(text: &str) -> Vec<(String, LinkSource)> {
        LinkExtractor::new()
            .extract(text)
            .into_iter()
            .map(|l| (l.host.name.into_owned(), l.source))
            .collect()
    }

    #[test]
    fn finds_urls_in_prose() {
        let found = hosts(
            "See https://Example.com/jobs?id=1, or www.acme.org. Also http://[2001:db8::1]:8080/x",
        );
        assert_eq!(
            found,
            vec![
                ("example.com".to_string(), LinkSource::Scheme),
                ("www.acme.org".to_string(), LinkSource::Www),
                ("[2001:db8::1]".to_string(), LinkSource::Scheme),
            ]
        );
    }

    #[test]
    fn finds_bare_hosts_but_not_numbers_or_abbreviations() {
        let found = hosts("log in at secure-paypal.com/verify e.g. version 3.14 or v1.2.3 today.");
        assert_eq!(
            found,
            vec![("secure-paypal.com".to_string(), LinkSource::Bare)]
        );
    }

    #[test]
    fn markdown_and_anchor_links_carry_display_hosts() {
        let x = LinkExtractor::new();
        let md = x.extract("click [www.linkedin.com](https://evil.example/login)");
        assert_eq!(md.len(), 1);
        assert_eq!(md[0].host.name, "evil.example");
        assert_eq!(
            md[0].display_host.as_ref().unwrap().name,
            "www.linkedin.com"
        );
        let a = x.extract(r#"<A HREF="http://evil.example/x">paypal.com</a>"#);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].host.name, "evil.example");
        assert_eq!(a[0].display_host.as_ref().unwrap().name, "paypal.com");
        let plain = x.extract("[my profile](https://linkedin.com/in/me)");
        assert_eq!(plain[0].display_host, None);
    }

    #[test]
    fn userinfo_trick_is_noticed() {
        let x = LinkExtractor::new();
        let l = x.extract("https://www.paypal.com@evil.example/login");
        assert_eq!(l[0].host.name, "evil.example");
        assert!(l[0].userinfo_looks_like_host);
    }
}
