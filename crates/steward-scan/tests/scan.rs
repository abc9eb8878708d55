//! Each rule positive and negative, EICAR, a benign message, consent-gated spam, and the
//! promise that a scan returns nothing but a verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use proptest::prelude::*;
use steward_scan::{RuleData, ScanFlags, Scanner, Verdict, VerdictKind};

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::builtin().unwrap())
}

const SECURITY_ONLY: ScanFlags = ScanFlags {
    harmful_detection: false,
};
const WITH_HARMFUL: ScanFlags = ScanFlags {
    harmful_detection: true,
};

fn message(text: &str) -> Verdict {
    scanner().scan_message(text, SECURITY_ONLY)
}

#[track_caller]
fn assert_phishing(text: &str, rule: &str) {
    let v = message(text);
    assert_eq!(v.kind, VerdictKind::Phishing, "{text:?} → {v:?}");
    assert_eq!(v.rule_id, Some(rule), "{text:?} → {v:?}");
    assert!(v.score >= 0.7 && v.score <= 1.0);
}

#[track_caller]
fn assert_clean(text: &str) {
    let v = message(text);
    assert_eq!(v.kind, VerdictKind::Clean, "{text:?} → {v:?}");
}

/// The EICAR test file, assembled at run time so this repository never holds it in one piece.
fn eicar() -> Vec<u8> {
    let first = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
    let second = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    format!("{first}{second}").into_bytes()
}

#[test]
fn benign_professional_message_is_clean() {
    let text = "Hi Dana, thanks for connecting! I saw your talk on Rust at RustConf — \
        slides are on https://www.linkedin.com/in/dana and our repo is at \
        https://github.com/acme/widgets. Are you free for a call on Tuesday at 3pm? \
        My number is in my profile. Best, Sam (v1.2.3, e.g. see docs.rs)";
    let v = scanner().scan_message(text, WITH_HARMFUL);
    assert_eq!(v.kind, VerdictKind::Clean, "{v:?}");
    assert_eq!(message("no links at all").rule_id, None);
}

#[test]
fn blocklisted_domains_and_their_subdomains() {
    assert_phishing("claim at https://nfts-mints.com/free", "phishing.blocklist");
    assert_phishing(
        "see http://login.wallet.nfts-mints.com/",
        "phishing.blocklist",
    );
    assert_phishing("go to nfts-mints.com now", "phishing.blocklist");
    // A domain that merely ends with the same letters is not a subdomain.
    assert_clean("see https://notnfts-mints.com/");
}

#[test]
fn allowlisted_domains_are_never_blocked() {
    let data = RuleData {
        phishing_blocklist: "example-bad.com\n",
        phishing_allowlist: "safe.example-bad.com\n",
        ..RuleData::BUILTIN
    };
    let s = Scanner::from_rule_data(&data).unwrap();
    assert_eq!(
        s.scan_message("https://x.example-bad.com/", SECURITY_ONLY)
            .kind,
        VerdictKind::Phishing
    );
    assert_eq!(
        s.scan_message("https://safe.example-bad.com/", SECURITY_ONLY)
            .kind,
        VerdictKind::Clean
    );
}

#[test]
fn ip_literal_hosts() {
    assert_phishing(
        "verify at http://203.0.113.9/paypal/login",
        "phishing.ip_literal",
    );
    assert_phishing("http://[2001:db8::2]/signin", "phishing.ip_literal");
    assert_phishing("http://3405803785/login", "phishing.ip_obfuscated");
    // A router address is suspicious but not phishing on its own; a version number is no host.
    assert_clean("my router is at http://192.168.1.1/");
    assert_clean("upgrade to 10.4.2.1 of the app");
}

#[test]
fn punycode_and_confusable_lookalikes() {
    // Cyrillic "аррӏе" in punycode.
    assert_phishing("https://xn--80ak6aa92e.com/id", "phishing.confusable_brand");
    // Latin "paypal" with one Cyrillic "а", punycode and raw.
    assert_phishing("https://xn--pypal-4ve.com/", "phishing.confusable_brand");
    assert_phishing("https://pаypal.com/", "phishing.confusable_brand");
    assert_phishing("https://rnicrosoft.com/login", "phishing.confusable_brand");
    assert_phishing("https://paypa1.com/login", "phishing.confusable_brand");
    assert_phishing("https://g00gle.com", "phishing.confusable_brand");
    // Honest internationalised domains are not phishing.
    assert_clean("https://xn--mnchen-3ya.de/stadtplan");
    assert_clean("https://münchen.de/");
}

#[test]
fn mixed_script_label_without_brand() {
    // "bаnk" with a Cyrillic "а" — no brand, but mixed scripts in one label.
    assert_phishing("https://bаnk-portal.com/", "phishing.mixed_script");
}

#[test]
fn edit_distance_one_from_a_brand() {
    assert_phishing("https://linkedln.com/jobs", "phishing.brand_typo");
    assert_phishing("https://paypall.com/", "phishing.brand_typo");
    assert_phishing("https://amazom.com/orders", "phishing.brand_typo");
    assert_phishing("https://micosoft.com/", "phishing.brand_typo");
    // One edit away inside a hyphenated label.
    assert_phishing(
        "https://linkedln-security-check.net/confirm",
        "phishing.brand_typo",
    );
    // The real domains, and short brands (no typo rule under 6 letters), are fine.
    assert_clean("https://www.linkedin.com/feed/ https://paypal.com https://amazon.co.uk/x");
    assert_clean("apply at https://apply.com/jobs");
}

#[test]
fn brand_as_part_or_subdomain_of_another_domain() {
    assert_phishing(
        "https://paypal-secure-login.com/",
        "phishing.brand_impersonation",
    );
    assert_phishing(
        "https://paypal.com.account-check.net/",
        "phishing.brand_in_subdomain",
    );
    assert_phishing(
        "https://linkedin-verify.github.io/",
        "phishing.brand_impersonation",
    );
    assert_clean("https://applesauce-recipes.com/");
}

#[test]
fn shorteners_alone_are_not_enough_but_count() {
    let v = message("slides: https://bit.ly/3xYz");
    assert_eq!(v.kind, VerdictKind::Clean);
    assert_eq!(v.rule_id, Some("phishing.shortener"));
    assert_clean("https://bit.ly");
    // Shortener whose display text claims a bank's site: mismatch plus shortener.
    let v = message("[www.chase.com](https://bit.ly/3xYz)");
    assert_eq!(v.kind, VerdictKind::Phishing);
    assert!(v.score > 0.85);
}

#[test]
fn mismatched_display_text() {
    assert_phishing(
        "[https://www.linkedin.com/login](https://evil.example/login)",
        "phishing.display_mismatch",
    );
    assert_phishing(
        r#"<a href="http://evil.example/x">www.paypal.com</a>"#,
        "phishing.display_mismatch",
    );
    // Same site, or a brand's own shortener, or plain words: not a mismatch.
    assert_clean("[linkedin.com/in/me](https://www.linkedin.com/in/me)");
    assert_clean("[www.linkedin.com](https://lnkd.in/abc)");
    assert_clean(r#"<a href="https://example.org/post">read my post</a>"#);
}

#[test]
fn userinfo_trick() {
    assert_phishing(
        "https://www.paypal.com@evil.example/login",
        "phishing.userinfo_trick",
    );
    assert_clean("ftp://anonymous@ftp.example.org/pub");
}

#[test]
fn eicar_is_caught_by_signature_and_hash() {
    let file = eicar();
    let v = scanner().scan_attachment(Some("eicar.com.txt"), &file);
    assert_eq!(v.kind, VerdictKind::Malware);
    assert!(v.rule_id.unwrap().contains("eicar"));
    // EICAR with trailing whitespace still matches the byte signature (the hash no longer does).
    let mut padded = file.clone();
    padded.extend_from_slice(b"\r\n  ");
    let v = scanner().scan_attachment(None, &padded);
    assert_eq!(v.rule_id, Some("malware.signature.eicar-test-file"));
    // Inside a larger file, or not at the start, it is not the EICAR test file.
    let mut buried = b"notes: ".to_vec();
    buried.extend_from_slice(&file);
    assert_eq!(
        scanner().scan_attachment(None, &buried).kind,
        VerdictKind::Clean
    );
    let mut long = file.clone();
    long.extend_from_slice(&[b'x'; 100]);
    assert_eq!(
        scanner().scan_attachment(None, &long).kind,
        VerdictKind::Clean
    );
}

#[test]
fn hash_signature_from_rule_data() {
    let data = RuleData {
        malware_sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824  hello\n",
        ..RuleData::BUILTIN
    };
    let s = Scanner::from_rule_data(&data).unwrap();
    assert_eq!(
        s.scan_attachment(None, b"hello").rule_id,
        Some("malware.sha256.hello")
    );
    assert_eq!(s.scan_attachment(None, b"hello!").kind, VerdictKind::Clean);
}

#[test]
fn weak_byte_patterns_need_company() {
    let one = b"Set o = CreateObject(\"WScript.Shell\")".to_vec();
    let v = scanner().scan_attachment(Some("notes.txt"), &one);
    assert_eq!(v.kind, VerdictKind::Clean);
    let two = b"CreateObject(\"WScript.Shell\").Run(x.DownloadString(u))".to_vec();
    let v = scanner().scan_attachment(Some("invoice.vbs"), &two);
    assert_eq!(v.kind, VerdictKind::Malware);
}

#[test]
fn disguised_executables_and_double_extensions() {
    let pe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    assert_eq!(
        scanner().scan_attachment(Some("cv.pdf"), &pe).rule_id,
        Some("malware.disguised_executable")
    );
    assert_eq!(
        scanner().scan_attachment(Some("setup.exe"), &pe).kind,
        VerdictKind::Clean
    );
    assert_eq!(
        scanner()
            .scan_attachment(Some("invoice.pdf.exe"), b"xx")
            .rule_id,
        Some("malware.double_extension")
    );
    assert_eq!(
        scanner()
            .scan_attachment(Some("report.final.pdf"), b"%PDF-1.7")
            .kind,
        VerdictKind::Clean
    );
    assert_eq!(
        scanner().scan_attachment(None, b"").kind,
        VerdictKind::Clean
    );
}

#[test]
fn spam_follows_the_recipients_setting() {
    let text = "URGENT!! You have won a cash prize of $5,000. Send a gift card processing fee \
        via western union within 24 hours!!";
    let v = scanner().scan_message(text, WITH_HARMFUL);
    assert_eq!(v.kind, VerdictKind::Spam, "{v:?}");
    assert_eq!(v.rule_id, Some("spam.money_request"));
    // The recipient did not opt in: no spam scanning at all.
    let v = scanner().scan_message(text, SECURITY_ONLY);
    assert_eq!(v, Verdict::CLEAN);
}

#[test]
fn each_spam_feature_alone_is_not_spam_but_is_seen() {
    let cases = [
        ("Please reply asap about the offer.", "spam.urgency"),
        ("The salary is $120,000 plus equity.", "spam.money_request"),
        (
            "https://a.example/1 https://b.example/2 https://c.example/3 https://d.example/4",
            "spam.many_links",
        ),
        ("THIS IS A VERY LOUD MESSAGE ABOUT NOTHING", "spam.shouting"),
        ("Wow!! Great!! Thanks", "spam.exclamations"),
    ];
    for (text, rule) in cases {
        let v = scanner().scan_message(text, WITH_HARMFUL);
        assert_eq!(v.kind, VerdictKind::Clean, "{text:?} → {v:?}");
        assert_eq!(v.rule_id, Some(rule), "{text:?} → {v:?}");
    }
    // Words inside other words do not count ("btc" in "subtcontract" style, "asap" in "wasapi").
    let v = scanner().scan_message("the wasapi driver", WITH_HARMFUL);
    assert_eq!(v, Verdict::CLEAN);
}

#[test]
fn combined_spam_signals_are_spam() {
    let text = "ACT NOW: investment opportunity with guaranteed return, send bitcoin today \
        https://a.example/1 https://b.example/2 https://c.example/3 https://d.example/4";
    assert_eq!(
        scanner().scan_message(text, WITH_HARMFUL).kind,
        VerdictKind::Spam
    );
}

#[test]
fn phishing_outranks_spam() {
    let text = "URGENT: verify your account at https://paypa1.com/login or lose $1,000";
    let v = scanner().scan_message(text, WITH_HARMFUL);
    assert_eq!(v.kind, VerdictKind::Phishing);
}

#[test]
fn a_verdict_holds_no_content() {
    fn only_static_copy<T: Copy + 'static>(_: &T) {}
    let text = "canary-9b1e https://paypal-secure-login.com/canary-9b1e";
    let v = message(text);
    only_static_copy(&v);
    let shown = format!("{v:?}");
    assert!(!shown.contains("canary"), "{shown}");
    assert!(!shown.contains("paypal-secure-login"), "{shown}");
    assert_eq!(
        std::mem::size_of::<Verdict>(),
        std::mem::size_of::<Option<&str>>() + 8
    );
}

#[test]
fn bad_rule_data_is_a_clear_error() {
    let cases = [
        RuleData {
            brands: "paypal\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_signatures: "x any 1.0\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_signatures: "x sometimes 1.0 41424344\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_signatures: "x any 7 41424344\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_signatures: "x any 1.0 zz\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_sha256: "abcd eicar\n",
            ..RuleData::BUILTIN
        },
        RuleData {
            malware_sha256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f Bad Name\n",
            ..RuleData::BUILTIN
        },
    ];
    for data in cases {
        let err = Scanner::from_rule_data(&data).unwrap_err();
        assert_eq!(err.code(), "scan.rule_data");
        assert!(err.to_string().contains("line"), "{err}");
    }
}

#[test]
fn the_vendored_feed_is_loaded() {
    assert!(scanner().phishing_blocklist_len() > 10_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn scanning_arbitrary_text_never_panics(text in "\\PC*", flags in any::<bool>()) {
        let v = scanner().scan_message(&text, ScanFlags { harmful_detection: flags });
        prop_assert!((0.0..=1.0).contains(&v.score));
    }

    #[test]
    fn scanning_link_shaped_text_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("https://".to_string()), Just("www.".to_string()), Just("](".to_string()),
            Just("<a href=".to_string()), Just("xn--".to_string()), Just("[".to_string()),
            Just("@".to_string()), Just(".".to_string()), Just("\"".to_string()), Just(">".to_string()),
            "[a-zа-я0-9:/\\-]{0,8}",
        ], 0..24),
    ) {
        let text = parts.concat();
        let v = scanner().scan_message(&text, ScanFlags { harmful_detection: true });
        prop_assert!((0.0..=1.0).contains(&v.score));
    }

    #[test]
    fn scanning_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), name in "\\PC{0,20}") {
        let v = scanner().scan_attachment(Some(&name), &bytes);
        prop_assert!((0.0..=1.0).contains(&v.score));
    }
}
