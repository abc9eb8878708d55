//! Properties of detection and scrubbing on arbitrary input: no panic, offsets on char
//! boundaries and consistent with character counts, and no detected value left in the
//! scrubbed text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use proptest::prelude::*;
use steward_privacy::pii::{Detector, Scrubber};
use steward_privacy::pseudonym::ReleaseKey;

static DETECTOR: LazyLock<Detector> = LazyLock::new(|| Detector::new().unwrap());

/// Pieces that look like PII, glued with arbitrary text, so the detector has work to do.
fn pii_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Anna Smith".to_owned()),
        Just("Mr. Olson".to_owned()),
        Just("anna@example.org".to_owned()),
        Just("+41 53 147 37 99".to_owned()),
        Just("4111 1111 1111 1111".to_owned()),
        Just("GB82 WEST 1234 5698 7654 32".to_owned()),
        Just("643-21-6917".to_owned()),
        Just("63 Moulton Road".to_owned()),
        Just("2010-04-23".to_owned()),
        Just("Switzerland".to_owned()),
        Just("https://example.org/x".to_owned()),
        Just("Koppány".to_owned()),
        "[A-Z][a-zé]{1,8}",
        "[0-9 .:/+()-]{1,14}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| parts.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn offsets_are_valid_on_any_utf8(text in any::<String>()) {
        let found = DETECTOR.detect(&text);
        let mut last_end = 0;
        for d in &found {
            prop_assert!(d.start < d.end && d.end <= text.len());
            prop_assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end));
            prop_assert!(d.start >= last_end, "overlap or unsorted");
            prop_assert_eq!(d.char_start, text[..d.start].chars().count());
            prop_assert_eq!(d.char_end, text[..d.end].chars().count());
            prop_assert!(d.confidence > 0.0 && d.confidence <= 1.0);
            last_end = d.end;
        }
    }

    #[test]
    fn offsets_are_valid_on_pii_like_text(text in pii_like()) {
        for d in DETECTOR.detect(&text) {
            prop_assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end));
            prop_assert_eq!(d.char_end - d.char_start, text[d.start..d.end].chars().count());
        }
    }

    #[test]
    fn scrubbed_text_keeps_no_detected_value(text in pii_like(), pseudonyms in any::<bool>()) {
        let found = DETECTOR.detect(&text);
        let key = ReleaseKey::from_bytes([9; 32]);
        let scrubber = if pseudonyms { Scrubber::pseudonyms(&key) } else { Scrubber::placeholders() };
        let scrubbed = scrubber.scrub(&text, &found);
        // What the scrubber kept: the text between detections, each piece on its own.
        let mut kept = Vec::new();
        let mut pos = 0;
        for d in &found {
            kept.push(&text[pos..d.start]);
            pos = d.end;
        }
        kept.push(&text[pos..]);
        for d in &found {
            let value = &text[d.start..d.end];
            if value.chars().count() < 4 {
                continue;
            }
            // A value may only survive where the original had it outside every detection
            // (or inside a placeholder's own letters, which are ASCII upper case and hex).
            let survives = scrubbed.contains(value);
            let explained = kept.iter().any(|k| k.contains(value))
                || value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_hexdigit() || "<>:_".contains(c));
            prop_assert!(!survives || explained, "`{}` survived in `{}`", value, scrubbed);
        }
    }

    #[test]
    fn pseudonyms_are_consistent_within_a_key(name in "[A-Z][a-z]{3,8} [A-Z][a-z]{3,8}", other in "[A-Z][a-z]{3,8}") {
        let text = format!("Dear {name}, I met {other} and {name}. Thanks, {name}");
        let key = ReleaseKey::from_bytes([3; 32]);
        let found = DETECTOR.detect(&text);
        let scrubbed = Scrubber::pseudonyms(&key).scrub(&text, &found);
        // One tag per detection, in order (the template has no other angle brackets).
        let tags: Vec<&str> = scrubbed
            .split('<')
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(tag, _)| tag))
            .collect();
        prop_assert_eq!(tags.len(), found.len());
        for (a, ta) in found.iter().zip(&tags) {
            for (b, tb) in found.iter().zip(&tags) {
                let same_value = a.kind == b.kind && text[a.start..a.end] == text[b.start..b.end];
                prop_assert_eq!(same_value, ta == tb, "{} vs {}", &text[a.start..a.end], &text[b.start..b.end]);
            }
        }
    }
}
