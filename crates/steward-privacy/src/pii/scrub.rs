//! Scrubbing: replaces detected spans by typed placeholders (`<EMAIL>`) or by keyed
//! pseudonyms (`<EMAIL:9f86d081884c7d65>`), consistent for equal values under one release key.
//!
//! Equal values are compared after a light normalisation (case folded; for numbers only the
//! letters and digits kept), so "+41 53 147 37 99" and "+41531473799" get one pseudonym.

use crate::pseudonym::ReleaseKey;

use super::{Detection, PiiKind};

/// How a scrubber replaces a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrubMode {
    /// The kind's placeholder, e.g. `<PERSON>`.
    Placeholder,
    /// The kind and a keyed pseudonym of the value, e.g. `<PERSON:3f9a1c2b7d4e5f60>`.
    Pseudonym,
}

/// Replaces spans of a text. Borrowing the key keeps it in one place (and zeroized on drop).
#[derive(Debug, Clone, Copy)]
pub struct Scrubber<'k> {
    key: Option<&'k ReleaseKey>,
}

impl Scrubber<'static> {
    /// A scrubber that writes typed placeholders.
    pub fn placeholders() -> Scrubber<'static> {
        Scrubber { key: None }
    }
}

impl<'k> Scrubber<'k> {
    /// A scrubber that writes keyed pseudonyms under `key`.
    pub fn pseudonyms(key: &'k ReleaseKey) -> Scrubber<'k> {
        Scrubber { key: Some(key) }
    }

    /// Which replacement this scrubber writes.
    pub fn mode(&self) -> ScrubMode {
        if self.key.is_some() {
            ScrubMode::Pseudonym
        } else {
            ScrubMode::Placeholder
        }
    }

    /// `text` with every detection replaced. Detections must come from this text (sorted and
    /// disjoint, as [`super::Detector`] returns them); out-of-range or overlapping ones are
    /// skipped rather than trusted.
    pub fn scrub(&self, text: &str, detections: &[Detection]) -> String {
        let mut out = String::with_capacity(text.len());
        self.scrub_into(text, detections, &mut out);
        out
    }

    /// Like [`Scrubber::scrub`], appending to `out`.
    pub fn scrub_into(&self, text: &str, detections: &[Detection], out: &mut String) {
        let mut copied = 0usize;
        let mut normal = String::new();
        for d in detections {
            let valid = d.start >= copied
                && d.start < d.end
                && d.end <= text.len()
                && text.is_char_boundary(d.start)
                && text.is_char_boundary(d.end);
            if !valid {
                continue;
            }
            out.push_str(&text[copied..d.start]);
            match self.key {
                None => out.push_str(d.kind.placeholder()),
                Some(key) => {
                    normalize(d.kind, &text[d.start..d.end], &mut normal);
                    let p = key.pseudonym(d.kind.name(), normal.as_bytes());
                    let label = d.kind.placeholder().trim_end_matches('>');
                    out.push_str(label);
                    out.push(':');
                    out.push_str(&p.short_hex(8));
                    out.push('>');
                }
            }
            copied = d.end;
        }
        out.push_str(&text[copied..]);
    }
}

fn normalize(kind: PiiKind, value: &str, out: &mut String) {
    out.clear();
    let keep_only_alnum = matches!(
        kind,
        PiiKind::PhoneNumber
            | PiiKind::CreditCard
            | PiiKind::IbanCode
            | PiiKind::UsSsn
            | PiiKind::PostalCode
    );
    for c in value.chars() {
        if keep_only_alnum && !c.is_alphanumeric() {
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        out.extend(c.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(kind: PiiKind, start: usize, end: usize) -> Detection {
        Detection {
            kind,
            start,
            end,
            char_start: start,
            char_end: end,
            confidence: 1.0,
        }
    }

    #[test]
    fn placeholders_replace_each_span() {
        let text = "mail a@b.co or call 555 1234";
        let d = [
            det(PiiKind::EmailAddress, 5, 11),
            det(PiiKind::PhoneNumber, 20, 28),
        ];
        assert_eq!(
            Scrubber::placeholders().scrub(text, &d),
            "mail <EMAIL> or call <PHONE>"
        );
    }

    #[test]
    fn pseudonyms_are_consistent_for_equal_values() {
        let key = ReleaseKey::from_bytes([7; 32]);
        let text = "+41 53 147 37 99 / +41531473799 / +41531473798";
        let d = [
            det(PiiKind::PhoneNumber, 0, 16),
            det(PiiKind::PhoneNumber, 19, 31),
            det(PiiKind::PhoneNumber, 34, 46),
        ];
        let out = Scrubber::pseudonyms(&key).scrub(text, &d);
        let parts: Vec<&str> = out.split(" / ").collect();
        assert_eq!(parts[0], parts[1]);
        assert_ne!(parts[0], parts[2]);
        assert!(parts[0].starts_with("<PHONE:"));
        assert_eq!(Scrubber::pseudonyms(&key).mode(), ScrubMode::Pseudonym);
    }

    #[test]
    fn bad_spans_are_skipped_not_trusted() {
        let text = "héllo";
        let d = [
            det(PiiKind::Person, 0, 2),
            det(PiiKind::Person, 1, 3),
            det(PiiKind::Person, 4, 99),
        ];
        // 0..2 splits 'é' (bytes 1..3): skipped; 1..3 is valid; 4..99 is out of range.
        assert_eq!(Scrubber::placeholders().scrub(text, &d), "h<PERSON>llo");
    }
}
