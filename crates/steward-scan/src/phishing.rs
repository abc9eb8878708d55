//! Phishing rules over the links of a message: feed blocklist, IP literals, punycode and
//! confusable look-alikes of brands, shorteners, mismatched display text, userinfo tricks.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::host::{self, Host, IpLiteral, Skeleton};
use crate::links::{Link, LinkSource};
use crate::{Finding, ScanError};

/// A brand and the registrable domains it really uses.
#[derive(Clone, Debug)]
struct Brand {
    name: String,
    skeleton: String,
    /// Whether `skeleton` is ASCII, for the cheap length test before an edit distance.
    ascii: bool,
}

impl Brand {
    /// Whether `skeleton` is one edit from this brand's skeleton. Two ASCII strings whose
    /// lengths differ by more than one are not, and most pairs end there.
    fn one_edit_from(&self, skeleton: SkeletonView<'_>) -> bool {
        if skeleton.ascii && self.ascii {
            let (a, b) = (skeleton.bytes, self.skeleton.as_bytes());
            if a.len().abs_diff(b.len()) > 1 {
                return false;
            }
            // One substitution, transposition, insertion or deletion leaves the first or the
            // last byte of strings this long in place.
            if a.len().min(b.len()) >= 3 && a.first() != b.first() && a.last() != b.last() {
                return false;
            }
            return host::distance_one(a, b);
        }
        host::edit_distance_is_one(&skeleton.to_str(), &self.skeleton)
    }

    /// What `one_edit_from` replaced, on a skeleton string.
    #[cfg(test)]
    fn one_edit_from_reference(&self, skeleton: &str, ascii: bool) -> bool {
        if ascii && self.ascii {
            let (a, b) = (skeleton.as_bytes(), self.skeleton.as_bytes());
            if a.len().abs_diff(b.len()) > 1 {
                return false;
            }
            if a.len().min(b.len()) >= 3 && a.first() != b.first() && a.last() != b.last() {
                return false;
            }
        }
        host::edit_distance_is_one(skeleton, &self.skeleton)
    }
}

/// A skeleton ([`Skeleton`]) or a dash- or dot-separated piece of one, as its bytes.
#[derive(Clone, Copy, Debug)]
struct SkeletonView<'s> {
    bytes: &'s [u8],
    ascii: bool,
}

impl<'s> SkeletonView<'s> {
    fn of(skeleton: &'s Skeleton) -> SkeletonView<'s> {
        SkeletonView {
            bytes: skeleton.as_bytes(),
            ascii: skeleton.is_ascii(),
        }
    }

    /// The text (a whole skeleton, or a piece split at an ASCII byte: valid UTF-8, which the
    /// lossy decode borrows as it is).
    fn to_str(self) -> std::borrow::Cow<'s, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// Length in characters.
    #[inline]
    fn chars(self) -> usize {
        if self.ascii {
            self.bytes.len()
        } else {
            self.to_str().chars().count()
        }
    }

    /// The pieces between the bytes `split` holds for, of an ASCII skeleton.
    fn ascii_pieces(self, split: impl Fn(u8) -> bool) -> impl Iterator<Item = SkeletonView<'s>> {
        self.bytes
            .split(move |&b| split(b))
            .map(|bytes| SkeletonView { bytes, ascii: true })
    }
}

/// A multiply–rotate hasher (FxHash's scheme, with a final mix) for the rule sets. Every link
/// costs a lookup per parent domain in two sets; SipHash made those a visible share of a scan.
/// Hash flooding needs inserts, and only our rule files insert: message text only looks up.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RuleHasher(u64);

impl RuleHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for RuleHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The tail zero-padded to a word, without a copy into a buffer (a `memcpy` call
            // for a few bytes, on every lookup): from the last eight bytes shifted down, or
            // byte by byte when there are fewer than eight.
            let word = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
                Some(last) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(last);
                    u64::from_le_bytes(word) >> (8 * (8 - rest.len()))
                }
                None => rest.iter().rev().fold(0, |w, &b| (w << 8) | u64::from(b)),
            };
            self.add(word ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (the table index) weak; fold the high bits down.
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(Self::K) ^ (h >> 29)
    }
}

type RuleSet = HashSet<Box<str>, BuildHasherDefault<RuleHasher>>;
type RuleMap<V> = HashMap<Box<str>, V, BuildHasherDefault<RuleHasher>>;

/// What the rule files say about one domain: every list is folded into one map, so each
/// parent domain of a link costs one lookup, not one per list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DomainRules {
    allow: bool,
    block: bool,
    shortener: bool,
    /// One of the multi-label public suffixes of [`host::MULTI_LABEL_SUFFIXES`].
    public_suffix: bool,
    /// The brand that uses this registrable domain.
    brand: Option<usize>,
}

/// Loaded phishing rule data.
#[derive(Debug)]
pub struct PhishingRules {
    /// Every domain the rule files name, with what they say of it.
    domains: RuleMap<DomainRules>,
    /// The entries of `domains` without a dot, when there are at most 16 (see
    /// [`PhishingRules::single_label_rules`]).
    single_labels: Option<Vec<(Box<str>, DomainRules)>>,
    blocklist_len: usize,
    brands: Vec<Brand>,
    /// Brand indices by their skeleton's length in characters, ascending: only a skeleton of
    /// the same length can equal one, and only one within one character can be one edit away.
    by_length: Vec<Vec<usize>>,
    /// The brands long enough for typos, ordered by their skeleton's length in characters.
    typo_candidates: Vec<TypoCandidate>,
    /// For a skeleton of `n` characters, `typo_candidates[typo_ranges[n]]` are the candidates
    /// of lengths `n - 1 ..= n + 1` (empty past the longest).
    typo_ranges: Vec<std::ops::Range<usize>>,
    /// `typo_candidates[typo_ranges[n]]` as words of eight candidates (see [`TypoWord`]).
    typo_words: Vec<Vec<TypoWord>>,
    /// The separate lists the reference check reads.
    #[cfg(test)]
    reference: ReferenceLists,
}

/// Up to eight typo candidates as bytes of words, one byte each: the first and the last byte of
/// their skeletons, `0x80` in `loose` for one whose skeleton is not ASCII (whose bytes say
/// nothing of its characters: always compared), and `0x80` in `valid` for each real one.
#[derive(Clone, Copy, Debug)]
struct TypoWord {
    firsts: u64,
    lasts: u64,
    loose: u64,
    valid: u64,
}

impl TypoWord {
    fn of(candidates: &[TypoCandidate]) -> TypoWord {
        let mut word = TypoWord {
            firsts: 0,
            lasts: 0,
            loose: 0,
            valid: 0,
        };
        for (i, c) in candidates.iter().take(8).enumerate() {
            word.firsts |= u64::from(c.first) << (8 * i);
            word.lasts |= u64::from(c.last) << (8 * i);
            if !c.ascii {
                word.loose |= 0x80 << (8 * i);
            }
            word.valid |= 0x80 << (8 * i);
        }
        word
    }
}

/// A brand whose typos count, with its skeleton's ends for a cheap first test.
#[derive(Clone, Copy, Debug)]
struct TypoCandidate {
    brand: usize,
    ascii: bool,
    first: u8,
    last: u8,
}

#[cfg(test)]
#[derive(Debug)]
struct ReferenceLists {
    blocklist: RuleSet,
    allowlist: RuleSet,
    shorteners: RuleSet,
    brand_domains: RuleMap<usize>,
}

/// Rules with their scores. A score of 0.7 or more on its own makes a message phishing.
pub(crate) mod rule {
    pub const BLOCKLIST: (&str, f32) = ("phishing.blocklist", 1.0);
    pub const CONFUSABLE_BRAND: (&str, f32) = ("phishing.confusable_brand", 0.95);
    pub const USERINFO_TRICK: (&str, f32) = ("phishing.userinfo_trick", 0.9);
    pub const IP_OBFUSCATED: (&str, f32) = ("phishing.ip_obfuscated", 0.9);
    pub const DISPLAY_MISMATCH: (&str, f32) = ("phishing.display_mismatch", 0.85);
    pub const BRAND_TYPO: (&str, f32) = ("phishing.brand_typo", 0.8);
    pub const MIXED_SCRIPT: (&str, f32) = ("phishing.mixed_script", 0.8);
    pub const BRAND_IN_SUBDOMAIN: (&str, f32) = ("phishing.brand_in_subdomain", 0.75);
    pub const BRAND_IMPERSONATION: (&str, f32) = ("phishing.brand_impersonation", 0.75);
    pub const IP_LITERAL: (&str, f32) = ("phishing.ip_literal", 0.75);
    pub const IP_LITERAL_PRIVATE: (&str, f32) = ("phishing.ip_literal_private", 0.4);
    pub const SHORTENER: (&str, f32) = ("phishing.shortener", 0.35);
    pub const PUNYCODE: (&str, f32) = ("phishing.punycode", 0.3);
}

fn domain_set(text: &str) -> RuleSet {
    data_lines(text)
        .map(|l| {
            l.trim_end_matches('.')
                .to_ascii_lowercase()
                .into_boxed_str()
        })
        .collect()
}

pub(crate) fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl PhishingRules {
    /// Parses the rule files' contents.
    pub fn parse(
        blocklist: &str,
        allowlist: &str,
        shorteners: &str,
        brands: &str,
    ) -> Result<PhishingRules, ScanError> {
        let mut parsed_brands = Vec::new();
        let mut brand_domains = RuleMap::default();
        for (n, line) in data_lines(brands).enumerate() {
            let mut words = line.split_ascii_whitespace();
            let name = words.next().unwrap_or_default().to_ascii_lowercase();
            let domains: Vec<&str> = words.collect();
            if domains.is_empty() {
                return Err(ScanError::RuleData {
                    file: "brands.txt",
                    line: n + 1,
                    message: format!("brand `{name}` lists no domains"),
                });
            }
            for d in domains {
                brand_domains.insert(d.to_ascii_lowercase().into_boxed_str(), parsed_brands.len());
            }
            let skeleton = host::skeleton(&name);
            parsed_brands.push(Brand {
                ascii: skeleton.is_ascii(),
                skeleton,
                name,
            });
        }
        let (blocklist, allowlist, shorteners) = (
            domain_set(blocklist),
            domain_set(allowlist),
            domain_set(shorteners),
        );
        let mut domains: RuleMap<DomainRules> = RuleMap::default();
        for d in &blocklist {
            domains.entry(d.clone()).or_default().block = true;
        }
        for d in &allowlist {
            domains.entry(d.clone()).or_default().allow = true;
        }
        for d in &shorteners {
            domains.entry(d.clone()).or_default().shortener = true;
        }
        for (d, &brand) in &brand_domains {
            domains.entry(d.clone()).or_default().brand = Some(brand);
        }
        for suffix in host::MULTI_LABEL_SUFFIXES {
            domains.entry((*suffix).into()).or_default().public_suffix = true;
        }
        let mut by_length: Vec<Vec<usize>> = Vec::new();
        let mut typo_by_length: Vec<Vec<TypoCandidate>> = Vec::new();
        for (i, brand) in parsed_brands.iter().enumerate() {
            let length = brand.skeleton.chars().count();
            if by_length.len() <= length {
                by_length.resize(length + 1, Vec::new());
            }
            by_length[length].push(i);
            if brand.skeleton.len() >= 6 {
                if typo_by_length.len() <= length {
                    typo_by_length.resize(length + 1, Vec::new());
                }
                let bytes = brand.skeleton.as_bytes();
                typo_by_length[length].push(TypoCandidate {
                    brand: i,
                    ascii: brand.ascii,
                    first: bytes.first().copied().unwrap_or_default(),
                    last: bytes.last().copied().unwrap_or_default(),
                });
            }
        }
        let single_labels: Vec<(Box<str>, DomainRules)> = domains
            .iter()
            .filter(|(key, _)| !key.contains('.'))
            .map(|(key, rules)| (key.clone(), *rules))
            .collect();
        let mut rules = PhishingRules {
            single_labels: (single_labels.len() <= 16).then_some(single_labels),
            domains,
            blocklist_len: blocklist.len(),
            brands: parsed_brands,
            by_length,
            typo_ranges: {
                // `starts[l]`: where the candidates of length `l` start, for every `l` up to
                // one past the longest.
                let mut starts = vec![0];
                for bucket in &typo_by_length {
                    starts.push(starts.last().copied().unwrap_or(0) + bucket.len());
                }
                let last = starts.len() - 1;
                (0..=last + 1)
                    .map(|n: usize| {
                        starts[n.saturating_sub(1).min(last)]..starts[(n + 2).min(last)]
                    })
                    .collect()
            },
            typo_candidates: typo_by_length.into_iter().flatten().collect(),
            typo_words: Vec::new(),
            #[cfg(test)]
            reference: ReferenceLists {
                blocklist,
                allowlist,
                shorteners,
                brand_domains,
            },
        };
        rules.typo_words = rules
            .typo_ranges
            .iter()
            .map(|range| {
                let candidates = rules.typo_candidates.get(range.clone()).unwrap_or_default();
                candidates.chunks(8).map(TypoWord::of).collect()
            })
            .collect();
        Ok(rules)
    }

    /// The rules of a domain without a dot (a top-level label): from the short list of such
    /// domains when there is one, which a few compares search faster than a hash lookup.
    fn single_label_rules(&self, domain: &str) -> Option<&DomainRules> {
        match &self.single_labels {
            Some(list) => list
                .iter()
                .find(|(key, _)| key.len() == domain.len() && **key == *domain)
                .map(|(_, rules)| rules),
            None => self.domains.get(domain),
        }
    }

    /// Number of blocklisted domains loaded.
    pub fn blocklist_len(&self) -> usize {
        self.blocklist_len
    }

    /// Findings for one link.
    pub(crate) fn check(&self, link: &Link<'_>, out: &mut Vec<Finding>) {
        let host = &link.host;
        let name: &str = &host.name;
        // One lookup per parent (`a.b.c`, `b.c`, `c`): any allowlisted one clears the link
        // (the feed's own detector checks the allowlist first), else any blocklisted one flags
        // it. The last four parents' answers are kept: the registrable domain is the name or
        // one of them, and which one depends on whether the last three are public suffixes.
        let first = self.domains.get(name);
        let mut tail: [(usize, Option<&DomainRules>); 4] = [(0, first); 4];
        let mut blocked = false;
        if let Some(rules) = first {
            if rules.allow {
                return;
            }
            blocked = rules.block;
        }
        let mut dots = 0;
        let bytes = name.as_bytes();
        let dot_from = |from: usize| {
            bytes
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| b == b'.'))
                .map(|i| from + i)
        };
        let mut next = dot_from(0);
        while let Some(at) = next {
            next = dot_from(at + 1);
            dots += 1;
            let parent = &name[at + 1..];
            let rules = if next.is_none() {
                // The top-level label: few rules name a single label.
                self.single_label_rules(parent)
            } else {
                self.domains.get(parent)
            };
            if let Some(rules) = rules {
                if rules.allow {
                    return;
                }
                blocked |= rules.block;
            }
            tail[dots % 4] = (at + 1, rules);
        }
        if blocked {
            out.push(Finding::phishing(rule::BLOCKLIST));
        }
        if link.userinfo_looks_like_host {
            out.push(Finding::phishing(rule::USERINFO_TRICK));
        }
        let ip = host::ip_literal(name);
        if link.source != LinkSource::Bare {
            match ip {
                Some(IpLiteral::Public) => out.push(Finding::phishing(rule::IP_LITERAL)),
                Some(IpLiteral::Private) => out.push(Finding::phishing(rule::IP_LITERAL_PRIVATE)),
                Some(IpLiteral::Obfuscated) => out.push(Finding::phishing(rule::IP_OBFUSCATED)),
                None => {}
            }
            if first.is_some_and(|r| r.shortener) && link.has_path {
                out.push(Finding::phishing(rule::SHORTENER));
            }
        }
        let (registrable_at, registrable_rules) = registrable(dots, first, &tail);
        let target = &name[registrable_at..];
        if let Some(display) = &link.display_host {
            let shown = Host::registrable(&display.name);
            let same_owner = match (
                self.domains.get(shown).and_then(|r| r.brand),
                registrable_rules.and_then(|r| r.brand),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if shown != target && !same_owner {
                out.push(Finding::phishing(rule::DISPLAY_MISMATCH));
            }
        }
        if ip.is_some() || registrable_rules.is_some_and(|r| r.brand.is_some()) {
            return;
        }
        self.check_lookalike(host, target, out);
    }

    /// Look-alikes of a brand, for a host that is no IP literal and not on a brand's domain
    /// (`registrable_name` is its registrable domain).
    ///
    /// Of the rules found only the strongest is reported (the first found among equals, in
    /// brand order with the hyphenated parts before the subdomain), so the checks run
    /// strongest first and stop at the first that decides: the confusable label (0.95), a
    /// typo of the label or a hyphenated part (0.8), then the earlier brand of a part equal
    /// to a brand (0.75) or a subdomain part equal to one (0.75). A mixed-script label keeps
    /// only a rule stronger than its own 0.8.
    fn check_lookalike(&self, host: &Host<'_>, registrable_name: &str, out: &mut Vec<Finding>) {
        let unicode = host.unicode();
        let registrable = if host.had_punycode() {
            Host::registrable(unicode)
        } else {
            // Without punycode the decoded spelling is the name.
            registrable_name
        };
        let label = pieces(registrable, b'.', b'.')
            .next()
            .unwrap_or(registrable);
        let mut flagged = false;
        if host.had_punycode() || !unicode.is_ascii() {
            if unicode.split('.').any(host::mixes_scripts) {
                out.push(Finding::phishing(rule::MIXED_SCRIPT));
                flagged = true;
            } else if host.had_punycode() {
                out.push(Finding::phishing(rule::PUNYCODE));
            }
        }
        let label_skeleton = Skeleton::of(label);
        let label_view = SkeletonView::of(&label_skeleton);
        // The brand's exact name on a domain it does not list (`paypal.support`) is left to
        // the blocklist: brands own many country domains we do not list.
        if self
            .equal_brand_indices(label_view)
            .any(|i| label != self.brands[i].name)
        {
            out.push(Finding::phishing(rule::CONFUSABLE_BRAND));
            return;
        }
        if flagged {
            return;
        }
        // The skeleton of an ASCII text short enough to be folded inline is the skeletons of
        // its dash- and dot-separated pieces joined by the same dashes and dots: the fold
        // maps `-` and `.` to themselves and nothing else to them, and its pairs (`rn`, `vv`,
        // `cl`) hold neither. So pieces are cut from one skeleton, not folded one by one.
        let mut typo = self.one_edit_from_a_brand(label_view);
        let mut impersonated: Option<usize> = None;
        if label.as_bytes().contains(&b'-') {
            let mut part = |part: SkeletonView<'_>| {
                if let Some(i) = self.equal_brand_indices(part).next() {
                    impersonated = Some(impersonated.map_or(i, |j| j.min(i)));
                }
                typo = typo || self.one_edit_from_a_brand(part);
            };
            if let Skeleton::Inline { .. } = label_skeleton {
                label_view.ascii_pieces(|b| b == b'-').for_each(&mut part);
            } else {
                for piece in pieces(label, b'-', b'-') {
                    part(SkeletonView::of(&Skeleton::of(piece)));
                }
            }
        }
        if typo {
            out.push(Finding::phishing(rule::BRAND_TYPO));
            return;
        }
        let sub = &unicode[..unicode.len() - registrable.len()];
        let mut in_subdomain: Option<usize> = None;
        let mut sub_part = |part: SkeletonView<'_>| {
            if let Some(i) = self.equal_brand_indices(part).next() {
                in_subdomain = Some(in_subdomain.map_or(i, |j| j.min(i)));
            }
        };
        if !sub.is_empty() {
            let sub_skeleton = Skeleton::of(sub);
            if let Skeleton::Inline { .. } = sub_skeleton {
                SkeletonView::of(&sub_skeleton)
                    .ascii_pieces(|b| b == b'.' || b == b'-')
                    .filter(|p| !p.bytes.is_empty())
                    .for_each(&mut sub_part);
            } else {
                for piece in pieces(sub, b'.', b'-').filter(|p| !p.is_empty()) {
                    sub_part(SkeletonView::of(&Skeleton::of(piece)));
                }
            }
        }
        let rule = match (impersonated, in_subdomain) {
            (Some(i), Some(s)) if s < i => rule::BRAND_IN_SUBDOMAIN,
            (Some(_), _) => rule::BRAND_IMPERSONATION,
            (None, Some(_)) => rule::BRAND_IN_SUBDOMAIN,
            (None, None) => return,
        };
        out.push(Finding::phishing(rule));
    }

    /// Indices of the brands whose skeleton is `skeleton`, ascending.
    fn equal_brand_indices<'s>(
        &'s self,
        skeleton: SkeletonView<'s>,
    ) -> impl Iterator<Item = usize> + 's {
        self.by_length
            .get(skeleton.chars())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(move |&i| {
                // The first bytes first: most candidates differ there, and a slice compare
                // is a `memcmp` call.
                let brand = self.brands[i].skeleton.as_bytes();
                brand.first() == skeleton.bytes.first() && brand == skeleton.bytes
            })
    }

    /// Whether `skeleton` is one edit from the skeleton of a brand long enough for typos to
    /// count (six bytes or more: shorter names are one edit from too many words).
    fn one_edit_from_a_brand(&self, skeleton: SkeletonView<'_>) -> bool {
        let length = if skeleton.ascii {
            skeleton.bytes.len()
        } else {
            skeleton.chars()
        };
        let Some(range) = self.typo_ranges.get(length) else {
            // Longer than every brand by two or more.
            return false;
        };
        if let (true, [first, .., last]) = (skeleton.ascii, skeleton.bytes) {
            // Eight candidates at a time: those sharing the first or the last byte (or with a
            // non-ASCII skeleton), found by comparing bytes within words.
            let (first, last) = (*first, *last);
            let Some(words) = self.typo_words.get(length) else {
                return false;
            };
            for (k, word) in words.iter().enumerate() {
                let mut todo =
                    (equal_bytes(word.firsts, first) | equal_bytes(word.lasts, last) | word.loose)
                        & word.valid;
                while todo != 0 {
                    let at = range.start + k * 8 + todo.trailing_zeros() as usize / 8;
                    todo &= todo - 1;
                    if let Some(c) = self.typo_candidates.get(at)
                        && self.brands[c.brand].one_edit_from(skeleton)
                    {
                        return true;
                    }
                }
            }
            return false;
        }
        let candidates = self.typo_candidates.get(range.clone()).unwrap_or_default();
        let ends = match (skeleton.ascii, skeleton.bytes) {
            (true, [first, .., last]) => Some((*first, *last)),
            _ => None,
        };
        for candidate in candidates {
            // Both ASCII and at least five long (the brand has six or more, the other is
            // within one): one edit leaves the first or the last byte in place.
            if candidate.ascii
                && let Some((first, last)) = ends
                && first != candidate.first
                && last != candidate.last
            {
                continue;
            }
            if self.brands[candidate.brand].one_edit_from(skeleton) {
                return true;
            }
        }
        false
    }

    /// What `check` replaced: a lookup per list, skeleton strings, every brand tried.
    #[cfg(test)]
    pub(crate) fn check_reference(&self, link: &Link<'_>, out: &mut Vec<Finding>) {
        let host = &link.host;
        let name: &str = &host.name;
        // One pass over the parents: any allowlisted one clears the link (the feed's own
        // detector checks the allowlist first), else any blocklisted one flags it.
        let mut blocked = false;
        for suffix in Host::suffixes(name) {
            if self.reference.allowlist.contains(suffix) {
                return;
            }
            blocked = blocked || self.reference.blocklist.contains(suffix);
        }
        if blocked {
            out.push(Finding::phishing(rule::BLOCKLIST));
        }
        if link.userinfo_looks_like_host {
            out.push(Finding::phishing(rule::USERINFO_TRICK));
        }
        if link.source != LinkSource::Bare {
            match host::ip_literal(name) {
                Some(IpLiteral::Public) => out.push(Finding::phishing(rule::IP_LITERAL)),
                Some(IpLiteral::Private) => out.push(Finding::phishing(rule::IP_LITERAL_PRIVATE)),
                Some(IpLiteral::Obfuscated) => out.push(Finding::phishing(rule::IP_OBFUSCATED)),
                None => {}
            }
            if self.reference.shorteners.contains(name) && link.has_path {
                out.push(Finding::phishing(rule::SHORTENER));
            }
        }
        if let Some(display) = &link.display_host {
            let shown = Host::registrable(&display.name);
            let target = Host::registrable(name);
            let same_owner = match (
                self.reference.brand_domains.get(shown),
                self.reference.brand_domains.get(target),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if shown != target && !same_owner {
                out.push(Finding::phishing(rule::DISPLAY_MISMATCH));
            }
        }
        self.check_lookalike_reference(host, out);
    }

    #[cfg(test)]
    fn check_lookalike_reference(&self, host: &Host<'_>, out: &mut Vec<Finding>) {
        if host::ip_literal(&host.name).is_some() {
            return;
        }
        let registrable_ascii = Host::registrable(&host.name);
        if self.reference.brand_domains.contains_key(registrable_ascii) {
            return;
        }
        let unicode = host.unicode();
        let registrable = Host::registrable(unicode);
        let label = registrable.split('.').next().unwrap_or(registrable);
        let label_skeleton = host::skeleton(label);
        let mut flagged = false;
        if host.had_punycode() || !unicode.is_ascii() {
            if unicode.split('.').any(host::mixes_scripts) {
                out.push(Finding::phishing(rule::MIXED_SCRIPT));
                flagged = true;
            } else if host.had_punycode() {
                out.push(Finding::phishing(rule::PUNYCODE));
            }
        }
        // Skeletons are computed once per link; brands are compared by length first, so the
        // common case (no brand anywhere near) costs a few comparisons per brand.
        let parts: Vec<String> = if label.contains('-') {
            label.split('-').map(host::skeleton).collect()
        } else {
            Vec::new()
        };
        let sub = &unicode[..unicode.len() - registrable.len()];
        let sub_parts: Vec<String> = sub
            .split(['.', '-'])
            .filter(|p| !p.is_empty())
            .map(host::skeleton)
            .collect();
        let mut strongest: Option<(&'static str, f32)> = None;
        let mut consider = |rule: (&'static str, f32)| {
            if strongest.is_none_or(|s| rule.1 > s.1) {
                strongest = Some(rule);
            }
        };
        let label_ascii = label_skeleton.is_ascii();
        for brand in &self.brands {
            let typo_eligible = brand.skeleton.len() >= 6;
            if label_skeleton == brand.skeleton {
                // The brand's exact name on a domain it does not list (`paypal.support`) is
                // left to the blocklist: brands own many country domains we do not list.
                if label != brand.name {
                    consider(rule::CONFUSABLE_BRAND);
                }
            } else if typo_eligible && brand.one_edit_from_reference(&label_skeleton, label_ascii) {
                consider(rule::BRAND_TYPO);
            }
            for part in &parts {
                if *part == brand.skeleton {
                    consider(rule::BRAND_IMPERSONATION);
                } else if typo_eligible && brand.one_edit_from_reference(part, part.is_ascii()) {
                    consider(rule::BRAND_TYPO);
                }
            }
            if sub_parts.contains(&brand.skeleton) {
                consider(rule::BRAND_IN_SUBDOMAIN);
            }
        }
        if let Some(rule) = strongest
            && !(flagged && rule.1 <= rule::MIXED_SCRIPT.1)
        {
            out.push(Finding::phishing(rule));
        }
    }
}

/// High bit of each byte of `word` that equals `byte`, all other bits clear.
#[inline]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(byte));
    // A byte's high bit in `((x & 0x7f) + 0x7f) | x` is set iff it is not zero, no carries.
    !(((x & LOW7).wrapping_add(LOW7)) | x) & !LOW7
}

/// `s.split([a, b])` for ASCII `a` and `b`, by bytes: `str::split` sets up a searcher per
/// call, which costs more than these few-byte labels take to walk.
fn pieces(s: &str, a: u8, b: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.as_bytes().iter().position(|&c| c == a || c == b) {
            Some(i) => {
                // An ASCII byte: both sides are character boundaries.
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The registrable domain of a name with `dots` dots, as where it starts and its rules, from
/// the rules of the name (`first`) and of the parents after each of its last four dots
/// (`tail[k % 4]` for the parent after dot `k`): [`Host::registrable`] without its lookups.
fn registrable<'r>(
    dots: usize,
    first: Option<&'r DomainRules>,
    tail: &[(usize, Option<&'r DomainRules>); 4],
) -> (usize, Option<&'r DomainRules>) {
    let found = dots.min(4);
    if found <= 1 {
        return (0, first);
    }
    let mut keep = 2;
    for labels in 0..found.min(3) {
        if tail[(dots - labels) % 4].1.is_some_and(|r| r.public_suffix) {
            keep = keep.max(labels + 2);
        }
    }
    if found < keep {
        return (0, first);
    }
    tail[(dots - (keep - 1)) % 4]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn findings(f: &[Finding]) -> Vec<(&'static str, u32)> {
        f.iter().map(|f| (f.rule_id, f.score.to_bits())).collect()
    }

    fn builtin() -> &'static PhishingRules {
        static RULES: std::sync::OnceLock<PhishingRules> = std::sync::OnceLock::new();
        RULES.get_or_init(|| {
            let data = crate::RuleData::BUILTIN;
            PhishingRules::parse(
                data.phishing_blocklist,
                data.phishing_allowlist,
                data.shorteners,
                data.brands,
            )
            .unwrap()
        })
    }

    /// Pieces of host names: brands and their look-alikes, separators, public suffixes,
    /// punycode, IP shapes, and listed domains.
    const HOST_PIECES: &[&str] = &[
        "paypal",
        "pаypal",
        "paypa1",
        "paypall",
        "paypla",
        "linkedin",
        "linkedln",
        "Iinkedin",
        "rnicrosoft",
        "microsoft",
        "g00gle",
        "google",
        "gooogle",
        "аррӏе",
        "apple",
        "amazon",
        "amaz0n",
        "github",
        "githib",
        "myetherwallet",
        "rnyetherwallet",
        "chase",
        "zoom",
        "metamask",
        "binance",
        "coinbase",
        "facebook",
        "xn--pypal-4ve",
        "xn--80ak6aa92e",
        "xn--",
        "münchen",
        "-",
        "-",
        ".",
        ".",
        ".",
        "..",
        "co.uk",
        "github.io",
        "com",
        "io",
        "s3.amazonaws.com",
        "ngrok-free.app",
        "login",
        "secure",
        "account",
        "verify",
        "www",
        "0x7f",
        "192.168.1.1",
        "8.8.8.8",
        "3232235777",
        "[2001:db8::1]",
        "[::1]",
        "1",
        "_",
        "lnkd.in",
        "bit.ly",
        "t.co",
        "paypal.com",
        "amazon.co.uk",
        "myetherwallet.com",
        "com12786312634",
        "iclexofmarket",
        "1ethereum.ru",
        "actus.at",
        "vv",
        "cl",
        "rn",
    ];

    fn host_text() -> impl Strategy<Value = String> {
        prop_oneof![host_soup(), host_shaped()]
    }

    /// `sub.label.tld` with hyphenated, brand-heavy subdomain and label parts.
    fn host_shaped() -> impl Strategy<Value = String> {
        const PARTS: &[&str] = &[
            "paypal",
            "pаypal",
            "paypa1",
            "paypall",
            "linkedin",
            "linkedln",
            "google",
            "apple",
            "аррӏе",
            "github",
            "chase",
            "zoom",
            "login",
            "secure",
            "x",
            "rnicrosoft",
            "amazom",
        ];
        let parts = |max| {
            proptest::collection::vec(
                (
                    proptest::sample::select(PARTS),
                    proptest::sample::select(&["-", "."][..]),
                ),
                1..max,
            )
            .prop_map(|parts| {
                let mut out = String::new();
                for (i, (part, glue)) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(glue);
                    }
                    out.push_str(part);
                }
                out
            })
        };
        (
            proptest::option::of(parts(4)),
            parts(3).prop_map(|l| l.replace('.', "-")),
            proptest::sample::select(&["com", "co.uk", "github.io", "io"][..]),
        )
            .prop_map(|(sub, label, tld)| match sub {
                Some(sub) => format!("{sub}.{label}.{tld}"),
                None => format!("{label}.{tld}"),
            })
    }

    fn host_soup() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                6 => proptest::sample::select(HOST_PIECES).prop_map(str::to_owned),
                1 => "[a-z0-9]{1,5}",
                1 => any::<char>().prop_map(String::from),
            ],
            1..7,
        )
        .prop_map(|parts| parts.concat())
    }

    /// A brand's name with one random edit (or two): typo candidates of every shape.
    fn brand_typo() -> impl Strategy<Value = String> {
        const NAMES: &[&str] = &[
            "linkedin",
            "microsoft",
            "google",
            "amazon",
            "paypal",
            "facebook",
            "instagram",
            "netflix",
            "dropbox",
            "docusign",
            "github",
            "indeed",
            "glassdoor",
            "wellsfargo",
            "coinbase",
            "binance",
            "metamask",
            "myetherwallet",
        ];
        (
            proptest::sample::select(NAMES),
            proptest::collection::vec((0usize..4, 0usize..16, "[a-z0-9]"), 1..3),
        )
            .prop_map(|(name, edits)| {
                let mut b: Vec<u8> = name.as_bytes().to_vec();
                for (kind, at, c) in edits {
                    let at = at % (b.len() + 1);
                    let c = c.as_bytes()[0];
                    match kind {
                        0 if at < b.len() => b[at] = c,
                        1 => b.insert(at, c),
                        2 if at < b.len() => {
                            b.remove(at);
                        }
                        _ if at + 1 < b.len() => b.swap(at, at + 1),
                        _ => {}
                    }
                }
                String::from_utf8(b).unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn findings_match_the_reference_check(
            host in host_text(),
            display in proptest::option::of(host_text()),
            source in proptest::sample::select(&[LinkSource::Scheme, LinkSource::Www, LinkSource::Bare]),
            has_path in any::<bool>(),
            userinfo_looks_like_host in any::<bool>(),
        ) {
            let rules = builtin();
            let Some(host) = Host::parse(&host) else {
                return Ok(());
            };
            let link = Link {
                host,
                source,
                has_path,
                userinfo_looks_like_host,
                display_host: display.as_deref().and_then(Host::parse),
            };
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            rules.check(&link, &mut fast);
            rules.check_reference(&link, &mut reference);
            prop_assert_eq!(findings(&fast), findings(&reference));
        }

        #[test]
        fn findings_in_text_match_the_reference_check(text in crate::test_text::adversarial()) {
            let rules = builtin();
            for link in crate::links::LinkExtractor::new().extract(&text) {
                let (mut fast, mut reference) = (Vec::new(), Vec::new());
                rules.check(&link, &mut fast);
                rules.check_reference(&link, &mut reference);
                prop_assert_eq!(findings(&fast), findings(&reference));
            }
        }

        #[test]
        fn pieces_of_a_skeleton_are_skeletons_of_the_pieces(
            text in prop_oneof![host_text(), "[a-z0-9rnvcl1|.-]{0,48}"],
        ) {
            let whole = Skeleton::of(&text);
            if let Skeleton::Inline { .. } = whole {
                let cut: Vec<&[u8]> = SkeletonView::of(&whole)
                    .ascii_pieces(|b| b == b'.' || b == b'-')
                    .map(|p| p.bytes)
                    .collect();
                let folded: Vec<String> = pieces(&text, b'.', b'-').map(host::skeleton).collect();
                let folded: Vec<&[u8]> = folded.iter().map(|p| p.as_bytes()).collect();
                prop_assert_eq!(cut, folded);
            }
        }

        #[test]
        fn rule_hash_tails_are_the_zero_padded_words(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut fast = RuleHasher::default();
            fast.write(&bytes);
            // What `write` replaced: the tail copied into a zeroed word.
            let mut reference = RuleHasher::default();
            let mut chunks = bytes.chunks_exact(8);
            for chunk in &mut chunks {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                reference.add(u64::from_le_bytes(word));
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut word = [0u8; 8];
                word[..rest.len()].copy_from_slice(rest);
                reference.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
            }
            prop_assert_eq!(fast.finish(), reference.finish());
        }

        #[test]
        fn typo_words_keep_the_candidate_walk(
            label in prop_oneof![host_text(), brand_typo(), "[a-z0-9]{3,12}"],
        ) {
            let rules = builtin();
            let skeleton = Skeleton::of(&label);
            let view = SkeletonView::of(&skeleton);
            let every_brand = rules.brands.iter().any(|b| {
                b.skeleton.len() >= 6 && host::edit_distance_is_one(&view.to_str(), &b.skeleton)
            });
            prop_assert_eq!(rules.one_edit_from_a_brand(view), every_brand);
        }

        #[test]
        fn equal_bytes_flags_exactly_the_equal_bytes(word in any::<u64>(), byte in any::<u8>()) {
            let flags = equal_bytes(word, byte);
            for (i, b) in word.to_le_bytes().into_iter().enumerate() {
                prop_assert_eq!((flags >> (8 * i)) & 0xff, if b == byte { 0x80 } else { 0 });
            }
        }

        #[test]
        fn single_label_rules_are_the_map_entries(label in prop_oneof![
            "[a-z0-9]{1,14}",
            proptest::sample::select(&["com12786312634", "iclexofmarket", "com", "uk", "ly"][..]).prop_map(str::to_owned),
        ]) {
            let rules = builtin();
            prop_assert!(rules.single_labels.is_some());
            prop_assert_eq!(
                rules.single_label_rules(&label),
                rules.domains.get(label.as_str())
            );
        }

        #[test]
        fn pieces_are_the_split(text in prop_oneof![crate::test_text::adversarial(), "[a.-]{0,8}"]) {
            prop_assert_eq!(pieces(&text, b'.', b'-').collect::<Vec<_>>(), text.split(['.', '-']).collect::<Vec<_>>());
            prop_assert_eq!(pieces(&text, b'-', b'-').collect::<Vec<_>>(), text.split('-').collect::<Vec<_>>());
        }

        #[test]
        fn registrable_from_the_parents_matches_the_suffix_lookup(host in host_text()) {
            let rules = builtin();
            let name = host.to_lowercase();
            let first = rules.domains.get(name.as_str());
            let mut tail = [(0, first); 4];
            let mut dots = 0;
            for (at, b) in name.bytes().enumerate() {
                if b == b'.' {
                    dots += 1;
                    tail[dots % 4] = (at + 1, rules.domains.get(&name[at + 1..]));
                }
            }
            let (at, _) = registrable(dots, first, &tail);
            prop_assert_eq!(&name[at..], Host::registrable(&name));
        }

        #[test]
        fn brand_typo_shortcuts_keep_the_edit_distance_answer(
            brand in "[abc]{0,8}",
            other in "[abc]{0,9}",
            unicode in any::<bool>(),
        ) {
            let other = if unicode { format!("{other}а") } else { other };
            let b = Brand {
                name: brand.clone(),
                ascii: brand.is_ascii(),
                skeleton: brand,
            };
            prop_assert_eq!(
                b.one_edit_from_reference(&other, other.is_ascii()),
                host::edit_distance_is_one(&other, &b.skeleton)
            );
            let ascii = other.is_ascii();
            prop_assert_eq!(
                b.one_edit_from(SkeletonView { bytes: other.as_bytes(), ascii }),
                host::edit_distance_is_one(&other, &b.skeleton)
            );
            if ascii && other.len() <= host::INLINE_SKELETON {
                // An inline skeleton of a string its fold leaves alone is that string.
                let folded = host::skeleton(&other);
                let inline = Skeleton::of(&folded);
                if inline.as_bytes() == folded.as_bytes() {
                    prop_assert_eq!(
                        b.one_edit_from(SkeletonView::of(&inline)),
                        host::edit_distance_is_one(&folded, &b.skeleton)
                    );
                }
            }
        }
    }
}
