//! Scrubbing free text of personal data with steward-privacy's detector, counting what was
//! found per kind for the datasheet.

use std::collections::BTreeMap;

use steward_privacy::pii::{Detector, Scrubber};

use crate::error::DatasetError;

/// What scrubbing found and replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubStats {
    pub texts: u64,
    pub texts_changed: u64,
    /// Spans replaced per PII kind.
    pub per_kind: BTreeMap<String, u64>,
}

/// Replaces every detected span in column `column` of `rows` with a typed placeholder.
pub fn scrub_column(
    rows: &mut [Vec<String>],
    column: usize,
    stats: &mut ScrubStats,
) -> Result<(), DatasetError> {
    let detector = Detector::new()?;
    let scrubber = Scrubber::placeholders();
    for row in rows.iter_mut() {
        let Some(text) = row.get_mut(column) else {
            continue;
        };
        stats.texts += 1;
        let found = detector.detect(text);
        if found.is_empty() {
            continue;
        }
        for d in &found {
            *stats.per_kind.entry(d.kind.name().to_owned()).or_default() += 1;
        }
        *text = scrubber.scrub(text, &found);
        stats.texts_changed += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_replaced_and_counted() {
        let mut rows = vec![
            vec!["write to jane.doe@example.com today".to_owned()],
            vec!["nothing to see".to_owned()],
        ];
        let mut stats = ScrubStats::default();
        scrub_column(&mut rows, 0, &mut stats).unwrap();
        assert!(
            !rows[0][0].contains("jane.doe@example.com"),
            "{}",
            rows[0][0]
        );
        assert_eq!(rows[1][0], "nothing to see");
        assert_eq!(stats.texts, 2);
        assert_eq!(stats.texts_changed, 1);
        assert!(stats.per_kind.values().sum::<u64>() >= 1);
    }
}
