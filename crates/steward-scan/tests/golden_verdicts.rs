//! Pins every verdict of a fixed, generated corpus of link-, brand- and spam-heavy messages to
//! `tests/data/golden-verdicts.txt`, so a rewrite of the scanner's fast paths cannot change a
//! single verdict, rule or score unnoticed. After an intended change of behaviour, rewrite the
//! file with `STEWARD_BLESS=1 cargo test -p steward-scan --test golden_verdicts` and review its
//! diff: each line is `index kind rule score` for security-only, then with spam detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;

use steward_scan::{ScanFlags, Scanner, Verdict};

/// A small deterministic generator, so the corpus is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PROSE: &[&str] = &[
    "Hi, thanks for connecting!",
    "Are you open to a senior backend role at our company?",
    "Could we set up a call on Tuesday afternoon? e.g. 3.14 pm, v1.2.3 release.",
    "Let me know what times work for you.",
    "URGENT: verify your account within 24 hours or it will be suspended!!",
    "Act now, limited time: claim your prize, a $5,000 gift card!!!",
    "Send the processing fee by wire transfer, 2500 USD, to the crypto wallet.",
    "WORK FROM HOME AND EARN $900 PER WEEK FROM HOME, RESPOND ASAP",
    "Félicitations pour le nouveau poste, à bientôt.",
    "Смотрите документ, пожалуйста.",
    "Grüße aus München — 会议 明天.",
    "I saw e.g. the talk;see also (notes) [draft] and <b>bold</b>.",
];

const HOSTS: &[&str] = &[
    "www.linkedin.com",
    "linkedin.com",
    "lnkd.in",
    "github.com",
    "acme.github.io",
    "paypal.com",
    "paypa1.com",
    "paypa1-account-verify.com",
    "secure-paypal.com",
    "paypal.com.login.example",
    "login.paypal.evil.example",
    "pаypal.com",
    "xn--pypal-4ve.com",
    "xn--80ak6aa92e.com",
    "аррӏе.com",
    "rnicrosoft.com",
    "micros0ft-support.com",
    "g00gle.com",
    "linkedln.com",
    "Iinkedin.com",
    "linkedin-jobs.co.uk",
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "192.168.1.1",
    "8.8.8.8",
    "3232235777",
    "0x7f.0.0.1",
    "[2001:db8::1]",
    "example.org",
    "münchen.de",
    "0101.systems",
    "0army.io",
    "sub.0x-project.com",
    "myetherwallet.com",
    "rnyetherwallet.com",
    "amazon.co.uk",
    "amaz0n.co.uk",
    "docs.google.com",
    "google.com.evil.s3.amazonaws.com",
    "zoom.us",
    "dropbox-share.herokuapp.com",
    "bаnk-login.com",
    "acme.org",
    "example.com",
    "news.ycombinator.com",
    "docs.rs",
    "crates.io",
    "cs.university.ac.uk",
    "rust-lang.org",
    "blog.rust-lang.org",
    "jobs.acme-widgets.io",
    "xn--mnchen-3ya.de",
];

const PATHS: &[&str] = &[
    "",
    "/",
    "/login",
    "/jobs/view/3812345?x=1#top",
    ":8080/x",
    "/a.b.c",
];

fn link(rng: &mut Lcg) -> String {
    let host = rng.pick(HOSTS);
    let path = rng.pick(PATHS);
    let shown = rng.pick(HOSTS);
    match rng.below(9) {
        0 => format!("https://{host}{path}"),
        1 => format!("HTTP://{host}{path}"),
        2 => format!("http://{shown}@{host}{path}"),
        3 if host.starts_with("www.") => format!("{host}{path}"),
        3 => format!("www.{host}{path}"),
        4 => format!("{host}{path}"),
        5 => format!("[{shown}](https://{host}{path})"),
        6 => format!("[my profile](http://{host}{path})"),
        7 => format!("<a href=\"https://{host}{path}\">{shown}</a>"),
        _ => format!("<A HREF='//{host}{path}' class=x>see {shown} here</A>"),
    }
}

fn message(rng: &mut Lcg) -> String {
    let mut text = String::new();
    for _ in 0..1 + rng.below(4) {
        let piece = match rng.below(4) {
            0 | 1 => rng.pick(PROSE).to_owned(),
            2 => link(rng),
            _ => format!("{} {}", rng.pick(PROSE), link(rng)),
        };
        let piece = match rng.below(8) {
            0 => piece.to_uppercase(),
            1 => format!("{piece}!!"),
            2 => format!("({piece}),"),
            _ => piece,
        };
        text.push_str(&piece);
        text.push(if rng.below(5) == 0 { '\n' } else { ' ' });
    }
    text
}

fn describe(v: &Verdict) -> String {
    format!(
        "{} {} {:08x}",
        v.kind.as_str(),
        v.rule_id.unwrap_or("-"),
        v.score.to_bits()
    )
}

#[test]
fn verdicts_match_the_golden_file() {
    let scanner = Scanner::builtin().unwrap();
    let mut rng = Lcg(2026);
    let mut actual = String::new();
    for i in 0..3000 {
        let text = message(&mut rng);
        let security = scanner.scan_message(
            &text,
            ScanFlags {
                harmful_detection: false,
            },
        );
        let harmful = scanner.scan_message(
            &text,
            ScanFlags {
                harmful_detection: true,
            },
        );
        writeln!(
            actual,
            "{i} {} | {}",
            describe(&security),
            describe(&harmful)
        )
        .unwrap();
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden-verdicts.txt"
    );
    if std::env::var_os("STEWARD_BLESS").is_some() {
        std::fs::write(path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap();
    for (line, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
        assert_eq!(got, want, "verdict changed at corpus message {line}");
    }
    assert_eq!(actual.lines().count(), expected.lines().count());
    // The corpus must keep exercising every kind of verdict, or it pins little.
    for needle in [
        "phishing.blocklist",
        "phishing.confusable_brand",
        "phishing.brand_typo",
        "phishing.display_mismatch",
        "phishing.userinfo_trick",
        "phishing.ip_literal",
        "phishing.mixed_script",
        "phishing.brand_in_subdomain",
        "phishing.brand_impersonation",
        "spam spam.",
        "clean -",
    ] {
        assert!(
            expected.contains(needle),
            "the corpus no longer yields {needle}"
        );
    }
}
