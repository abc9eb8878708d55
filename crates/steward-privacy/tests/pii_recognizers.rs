//! Each recognizer through the public detector: what it must find, and the near-misses it
//! must reject (checksums, validity rules, context).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use steward_privacy::pii::{Detection, Detector, PiiKind};

static DETECTOR: LazyLock<Detector> = LazyLock::new(|| Detector::new().unwrap());

fn detect(text: &str) -> Vec<Detection> {
    DETECTOR.detect(text)
}

/// `text` has a detection of `kind` covering exactly `value`.
fn finds(text: &str, kind: PiiKind, value: &str) {
    let found = detect(text);
    assert!(
        found
            .iter()
            .any(|d| d.kind == kind && &text[d.start..d.end] == value && d.confidence >= 0.4),
        "expected {kind:?} `{value}` in `{text}`, got {:?}",
        found
            .iter()
            .map(|d| (d.kind, &text[d.start..d.end], d.confidence))
            .collect::<Vec<_>>()
    );
}

/// No detection of `kind` touches `value` in `text`.
fn misses(text: &str, kind: PiiKind, value: &str) {
    let at = text.find(value).unwrap();
    let found = detect(text);
    assert!(
        !found
            .iter()
            .any(|d| d.kind == kind && d.start < at + value.len() && at < d.end),
        "did not expect {kind:?} on `{value}` in `{text}`, got {:?}",
        found
            .iter()
            .map(|d| (d.kind, &text[d.start..d.end]))
            .collect::<Vec<_>>()
    );
}

#[test]
fn email() {
    finds(
        "write to anna.k+news@example.co.uk today",
        PiiKind::EmailAddress,
        "anna.k+news@example.co.uk",
    );
    misses("meet me @ noon", PiiKind::EmailAddress, "@");
    misses(
        "the address user@localhost is local",
        PiiKind::EmailAddress,
        "user@localhost",
    );
}

#[test]
fn phone_international_and_national() {
    finds(
        "Call +41 53 147 37 99 tomorrow",
        PiiKind::PhoneNumber,
        "+41 53 147 37 99",
    );
    finds(
        "my number is (894)134-3524",
        PiiKind::PhoneNumber,
        "(894)134-3524",
    );
    finds(
        "Can someone call me on 06-82237745?",
        PiiKind::PhoneNumber,
        "06-82237745",
    );
    finds("Desk: 07700 316 475", PiiKind::PhoneNumber, "07700 316 475");
    misses("We sold 1500 units in 3 days", PiiKind::PhoneNumber, "1500");
    misses("Article 50 of the treaty", PiiKind::PhoneNumber, "50");
}

#[test]
fn url_domain_handle() {
    finds(
        "My website is https://www.PDAMasters.ch/",
        PiiKind::Url,
        "https://www.PDAMasters.ch/",
    );
    finds(
        "see example.org for details",
        PiiKind::DomainName,
        "example.org",
    );
    finds(
        "follow @jane_doe on social",
        PiiKind::SocialHandle,
        "@jane_doe",
    );
    misses("that is, i.e. a test", PiiKind::DomainName, "i.e");
    misses("pi is 3.14 roughly", PiiKind::DomainName, "3.14");
}

#[test]
fn ip_addresses() {
    finds(
        "client_ip = 54.238.46.114 blocked",
        PiiKind::IpAddress,
        "54.238.46.114",
    );
    finds(
        "from c8d5:7717:9055:a36f:4aa5:f9d4:335f:2f59 today",
        PiiKind::IpAddress,
        "c8d5:7717:9055:a36f:4aa5:f9d4:335f:2f59",
    );
    misses("version 256.1.1.1 shipped", PiiKind::IpAddress, "256.1.1.1");
    misses("meet at 10:30:15 sharp", PiiKind::IpAddress, "10:30:15");
}

#[test]
fn payment_cards_need_luhn() {
    finds(
        "My card 4111 1111 1111 1111 expires",
        PiiKind::CreditCard,
        "4111 1111 1111 1111",
    );
    finds(
        "cc 4218196001337 on file",
        PiiKind::CreditCard,
        "4218196001337",
    );
    misses(
        "My card 4111 1111 1111 1112 expires",
        PiiKind::CreditCard,
        "4111 1111 1111 1112",
    );
    misses(
        "order 9000000000000001 shipped",
        PiiKind::CreditCard,
        "9000000000000001",
    );
}

#[test]
fn iban_needs_mod_97() {
    finds(
        "pay to GB82 WEST 1234 5698 7654 32 please",
        PiiKind::IbanCode,
        "GB82 WEST 1234 5698 7654 32",
    );
    finds(
        "IBAN DE89370400440532013000.",
        PiiKind::IbanCode,
        "DE89370400440532013000",
    );
    misses(
        "pay to GB82 WEST 1234 5698 7654 33 please",
        PiiKind::IbanCode,
        "GB82 WEST 1234 5698 7654 33",
    );
}

#[test]
fn us_ssn_validity_rules() {
    finds(
        "His social security number is 643-21-6917",
        PiiKind::UsSsn,
        "643-21-6917",
    );
    finds("SSN: 123456789", PiiKind::UsSsn, "123456789");
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
    ] {
        misses(
            &format!("social security number {bad}"),
            PiiKind::UsSsn,
            bad,
        );
    }
}

#[test]
fn dates_and_times() {
    finds("She was born on 7/21/1986.", PiiKind::DateTime, "7/21/1986");
    finds(
        "On 2010-04-23 05:07:32.691548, it began",
        PiiKind::DateTime,
        "2010-04-23 05:07:32.691548",
    );
    finds(
        "due on March 3rd, 2021 at noon",
        PiiKind::DateTime,
        "March 3rd, 2021",
    );
    finds("see you on Tuesday", PiiKind::DateTime, "Tuesday");
    misses(
        "the ratio was 13/13/1986 units",
        PiiKind::DateTime,
        "13/13/1986",
    );
}

#[test]
fn street_addresses_and_postal_codes() {
    finds(
        "He lives on the north side of 63 Moulton Road.",
        PiiKind::StreetAddress,
        "63 Moulton Road",
    );
    finds(
        "The bus station is on Via Pasquale Scura 127",
        PiiKind::StreetAddress,
        "Via Pasquale Scura 127",
    );
    finds(
        "The bus station is on Industriestraat 133",
        PiiKind::StreetAddress,
        "Industriestraat 133",
    );
    finds("My zip code is 97400", PiiKind::PostalCode, "97400");
    finds(
        "post it to SW1A 1AA please",
        PiiKind::PostalCode,
        "SW1A 1AA",
    );
    misses(
        "we walked down the road for 5 miles",
        PiiKind::StreetAddress,
        "road",
    );
}

#[test]
fn person_names_with_context() {
    finds(
        "Kristin Bader will be talking in the conference",
        PiiKind::Person,
        "Kristin Bader",
    );
    finds(
        "Hello, this is Mr. Michael Botolen. Who are you?",
        PiiKind::Person,
        "Michael Botolen",
    );
    finds(
        "Hello, this is Mr. Michael Botolen. Who are you?",
        PiiKind::Title,
        "Mr.",
    );
    finds(
        "The name in the account is not correct, please change it to Louise L. Christensen",
        PiiKind::Person,
        "Louise L. Christensen",
    );
    finds(
        "my name is Koppány and I need help",
        PiiKind::Person,
        "Koppány",
    );
    // Regression: a one-letter initial that is also a word ("A", "J") hid the whole name.
    finds(
        "We met Ilka J Várkonyi yesterday",
        PiiKind::Person,
        "Ilka J Várkonyi",
    );
    finds(
        "the letter was signed by Dorota A. Wiśniewska",
        PiiKind::Person,
        "Dorota A. Wiśniewska",
    );
    // A first name that is also an English word, capitalised mid-sentence.
    finds("it rained, but Martin just left", PiiKind::Person, "Martin");
    misses(
        "How can I request a new credit card pin?",
        PiiKind::Person,
        "How",
    );
    misses(
        "Could I change the payment due date of my credit card?",
        PiiKind::Person,
        "Could",
    );
}

#[test]
fn organisations_places_nrp_age() {
    finds(
        "I work for A2z Infra Engineering Ltd",
        PiiKind::Organization,
        "A2z Infra Engineering Ltd",
    );
    // Regression: "of" and "and" joined a person or a second company into the organisation.
    let text = "She thanked Larissa Moretti of Brightwave Inc. warmly";
    finds(text, PiiKind::Organization, "Brightwave Inc.");
    finds(text, PiiKind::Person, "Larissa Moretti");
    finds(
        "Quillon and Hartwell Corp. merged",
        PiiKind::Organization,
        "Hartwell Corp.",
    );
    finds(
        "Who's coming to Switzerland with me?",
        PiiKind::Place,
        "Switzerland",
    );
    finds(
        "Mr. Ziegler grew up in Ljubljana.",
        PiiKind::Place,
        "Ljubljana",
    );
    finds(
        "I am dominican but I live in Norway.",
        PiiKind::Nrp,
        "dominican",
    );
    finds("Mr. Ziegler is a 27 year old man", PiiKind::Age, "27");
    finds("My brother just turned 81", PiiKind::Age, "81");
    misses("it costs 27 dollars", PiiKind::Age, "27");
}

#[test]
fn detections_are_sorted_disjoint_and_char_offsets_match() {
    let text = "Ünal Ökzan lives at 63 Moulton Road, call +41 53 147 37 99 — ünal@example.org";
    let found = detect(text);
    assert!(found.len() >= 3, "{found:?}");
    for pair in found.windows(2) {
        assert!(pair[0].end <= pair[1].start);
    }
    for d in &found {
        assert_eq!(d.char_start, text[..d.start].chars().count());
        assert_eq!(d.char_end, text[..d.end].chars().count());
    }
}
