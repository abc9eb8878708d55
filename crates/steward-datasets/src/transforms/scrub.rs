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

impl ScrubStats {
    fn add(&mut self, other: ScrubStats) {
        self.texts += other.texts;
        self.texts_changed += other.texts_changed;
        for (kind, n) in other.per_kind {
            *self.per_kind.entry(kind).or_default() += n;
        }
    }
}

/// Replaces every detected span in column `column` of `rows` with a typed placeholder. Each
/// core takes a contiguous share of the rows; every text is scrubbed the same way whichever
/// core takes it, and the counts add up.
pub fn scrub_column(
    rows: &mut [Vec<String>],
    column: usize,
    stats: &mut ScrubStats,
) -> Result<(), DatasetError> {
    let detector = Detector::new()?;
    let scrubber = Scrubber::placeholders();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let share = rows.len().div_ceil(cores.clamp(1, 8)).max(1);
    let (d, s) = (&detector, &scrubber);
    let parts: Vec<ScrubStats> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks_mut(share)
            .map(|part| scope.spawn(move || scrub_part(part, column, d, s)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for p in parts {
        stats.add(p);
    }
    Ok(())
}

fn scrub_part(
    rows: &mut [Vec<String>],
    column: usize,
    detector: &Detector,
    scrubber: &Scrubber,
) -> ScrubStats {
    let mut stats = ScrubStats::default();
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
    stats
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
