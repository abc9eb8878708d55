//! Phishing rules over the links of a message: feed blocklist, IP literals, punycode and
//! confusable look-alikes of brands, shorteners, mismatched display text, userinfo tricks.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::host::{self, Host, IpLiteral};
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
    /// Whether `skeleton` (ASCII iff `ascii`) is one edit from this brand's skeleton. Two ASCII
    /// strings whose lengths differ by more than one are not, and most pairs end there.
    fn one_edit_from(&self, skeleton: &str, ascii: bool) -> bool {
        if ascii && self.ascii {
            let (a, b) = (skeleton.as_bytes(), self.skeleton.as_bytes());
            if a.len().abs_diff(b.len()) > 1 {
                return false;
            }
            // One substitution, transposition, insertion or deletion leaves the first or the
            // last byte of strings this long in place.
            if a.len().min(b.len()) >= 3 && a.first() != b.first() && a.last() != b.last() {
                return false;
            }
        }
        host::edit_distance_is_one(skeleton, &self.skeleton)
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
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
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

/// Loaded phishing rule data.
#[derive(Debug)]
pub struct PhishingRules {
    blocklist: RuleSet,
    allowlist: RuleSet,
    shorteners: RuleSet,
    brands: Vec<Brand>,
    /// Registrable domain → index of the brand that owns it.
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
        Ok(PhishingRules {
            blocklist: domain_set(blocklist),
            allowlist: domain_set(allowlist),
            shorteners: domain_set(shorteners),
            brands: parsed_brands,
            brand_domains,
        })
    }

    /// Number of blocklisted domains loaded.
    pub fn blocklist_len(&self) -> usize {
        self.blocklist.len()
    }

    /// Findings for one link.
    pub(crate) fn check(&self, link: &Link, out: &mut Vec<Finding>) {
        let host = &link.host;
        let name = host.name.as_str();
        // One pass over the parents: any allowlisted one clears the link (the feed's own
        // detector checks the allowlist first), else any blocklisted one flags it.
        let mut blocked = false;
        for suffix in Host::suffixes(name) {
            if self.allowlist.contains(suffix) {
                return;
            }
            blocked = blocked || self.blocklist.contains(suffix);
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
            if self.shorteners.contains(name) && link.has_path {
                out.push(Finding::phishing(rule::SHORTENER));
            }
        }
        if let Some(display) = &link.display_host {
            let shown = Host::registrable(&display.name);
            let target = Host::registrable(name);
            let same_owner = match (
                self.brand_domains.get(shown),
                self.brand_domains.get(target),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if shown != target && !same_owner {
                out.push(Finding::phishing(rule::DISPLAY_MISMATCH));
            }
        }
        self.check_lookalike(host, out);
    }

    fn check_lookalike(&self, host: &Host, out: &mut Vec<Finding>) {
        if host::ip_literal(&host.name).is_some() {
            return;
        }
        let registrable_ascii = Host::registrable(&host.name);
        if self.brand_domains.contains_key(registrable_ascii) {
            return;
        }
        let unicode = host.unicode.as_str();
        let registrable = Host::registrable(unicode);
        let label = registrable.split('.').next().unwrap_or(registrable);
        let label_skeleton = host::skeleton(label);
        let mut flagged = false;
        if host.had_punycode || !unicode.is_ascii() {
            if unicode.split('.').any(host::mixes_scripts) {
                out.push(Finding::phishing(rule::MIXED_SCRIPT));
                flagged = true;
            } else if host.had_punycode {
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
            } else if typo_eligible && brand.one_edit_from(&label_skeleton, label_ascii) {
                consider(rule::BRAND_TYPO);
            }
            for part in &parts {
                if *part == brand.skeleton {
                    consider(rule::BRAND_IMPERSONATION);
                } else if typo_eligible && brand.one_edit_from(part, part.is_ascii()) {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
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
                b.one_edit_from(&other, other.is_ascii()),
                host::edit_distance_is_one(&other, &b.skeleton)
            );
        }
    }
}
