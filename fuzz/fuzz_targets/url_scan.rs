//! Any UTF-8 as a message through the link and phishing scanner, and through the host helpers
//! it is built on: no panic (overflow checks are on), scores are finite and in `0..=1`, a
//! verdict other than `Clean` has reached its kind's threshold, spam is judged only when the
//! recipient asked for it and never hides a phishing verdict, a normalised host normalises to
//! itself, a registrable domain is a suffix of its host, and the one-edit test agrees with a
//! plain Damerau (optimal string alignment) distance.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use steward_scan::host::{self, Host};
use steward_scan::links::LinkExtractor;
use steward_scan::{ScanFlags, Scanner, VerdictKind};

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| Scanner::builtin().expect("the built-in rules load"))
}

fn extractor() -> &'static LinkExtractor {
    static L: OnceLock<LinkExtractor> = OnceLock::new();
    L.get_or_init(LinkExtractor::new)
}

/// Optimal string alignment distance, the textbook dynamic programme.
fn osa(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

fn check_verdict(v: steward_scan::Verdict) {
    assert!(
        v.score.is_finite() && (0.0..=1.0).contains(&v.score),
        "{v:?}"
    );
    let threshold = match v.kind {
        VerdictKind::Clean => return,
        VerdictKind::Spam => 0.6,
        VerdictKind::Phishing | VerdictKind::Malware => 0.7,
    };
    assert!(v.score >= threshold - 1e-6 && v.rule_id.is_some(), "{v:?}");
}

fn check_host(raw: &str) {
    let Some(h) = Host::parse(raw) else { return };
    assert_eq!(
        Host::parse(&h.name).as_ref(),
        Some(&h),
        "normalising `{raw}` twice"
    );
    let reg = Host::registrable(&h.name);
    assert!(
        h.name.ends_with(reg) && !reg.is_empty(),
        "`{reg}` of `{}`",
        h.name
    );
    assert!(Host::suffixes(&h.name).any(|s| s == reg));
    let _ = host::ip_literal(&h.name);
    for label in h.unicode().split('.') {
        let _ = host::mixes_scripts(label);
        let _ = host::skeleton(label);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plain = scanner().scan_message(text, ScanFlags::default());
    check_verdict(plain);
    assert_ne!(
        plain.kind,
        VerdictKind::Spam,
        "spam judged without the recipient's setting"
    );
    let harmful = scanner().scan_message(
        text,
        ScanFlags {
            harmful_detection: true,
        },
    );
    check_verdict(harmful);
    if plain.kind == VerdictKind::Phishing {
        assert_eq!(
            harmful, plain,
            "turning on spam detection changed a phishing verdict"
        );
    }
    for link in extractor().extract(text) {
        check_host(&link.host.name);
        if let Some(d) = &link.display_host {
            check_host(&d.name);
        }
    }
    // The text itself as a host, a punycode label, and two halves for the edit distance.
    check_host(text);
    let _ = host::punycode_decode(text);
    let mid = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let (a, b) = text.split_at(mid);
    if a.chars().count() <= 24 && b.chars().count() <= 24 {
        let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        assert_eq!(
            host::edit_distance_is_one(a, b),
            osa(&ca, &cb) == 1,
            "`{a}` vs `{b}`"
        );
    }
});
