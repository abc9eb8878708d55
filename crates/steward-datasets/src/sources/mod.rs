//! Sources: each reads the store only through the purpose gate, for `ai.training`, and hands
//! the build a plain table (one row per released item) plus the gate's reports.
//!
//! Nothing here selects from a table directly: what a member withheld (consent, jurisdiction
//! default, a hidden section, a connections-only or closed-group post), deleted members and
//! minors never reach a source, and the gate's report says how many were left out and why.

pub mod career_transitions;
pub mod engagement_sequences;
pub mod profiles;
pub mod public_posts;

use std::collections::{BTreeMap, HashMap};

use steward_store::GateReport;

/// The purpose every dataset is read for.
pub const PURPOSE: &str = "ai.training";

/// The group a member belongs to on each bias dimension (`region`, `seniority`, ...).
pub type Groups = BTreeMap<&'static str, String>;

/// What a source produced: rows of the spec's fields (as text, `unknown` where absent), the
/// member behind each row, and the gate's reports.
#[derive(Debug, Default)]
pub struct Extract {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The member each row is about (never released; pseudonymized or dropped).
    pub members: Vec<i64>,
    pub reports: Vec<GateReport>,
    /// Each member's groups, for the bias report.
    pub groups: MemberGroups,
    /// Group counts of the member population the dataset is compared against, per dimension.
    pub population: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// What the population is, per dimension (it differs where consent limits the read).
    pub population_basis: BTreeMap<&'static str, String>,
    /// Items the gate released that the source itself left out, per reason (an engagement
    /// event on a profile or on a post the gate does not release, a position with no
    /// successor) — reported in the datasheet beside the gate's own counts.
    pub source_exclusions: BTreeMap<String, u64>,
}

/// Each member's group on each bias dimension, interned: a `u32` per member and dimension
/// rather than a map of strings per member, so a million members cost megabytes, not a
/// gigabyte.
#[derive(Debug, Default)]
pub struct MemberGroups {
    dims: Vec<&'static str>,
    /// Per dimension, its distinct groups and their codes.
    values: Vec<Vec<String>>,
    codes_of: Vec<HashMap<String, u32>>,
    /// Per dimension, each member slot's group code ([`MemberGroups::NONE`] where unknown).
    cells: Vec<Vec<u32>>,
    slots: HashMap<i64, usize>,
}

impl MemberGroups {
    const NONE: u32 = u32::MAX;

    fn slot(&mut self, member: i64) -> usize {
        let next = self.slots.len();
        let slot = *self.slots.entry(member).or_insert(next);
        if slot == next {
            for c in &mut self.cells {
                c.push(Self::NONE);
            }
        }
        slot
    }

    fn dim(&mut self, dim: &'static str) -> usize {
        if let Some(d) = self.dims.iter().position(|x| *x == dim) {
            return d;
        }
        self.dims.push(dim);
        self.values.push(Vec::new());
        self.codes_of.push(HashMap::new());
        self.cells.push(vec![Self::NONE; self.slots.len()]);
        self.dims.len() - 1
    }

    /// Sets `member`'s group on `dim`.
    pub fn set(&mut self, member: i64, dim: &'static str, group: &str) {
        let slot = self.slot(member);
        let d = self.dim(dim);
        let code = match self.codes_of[d].get(group) {
            Some(&c) => c,
            None => {
                let c = u32::try_from(self.values[d].len()).unwrap_or(Self::NONE - 1);
                self.values[d].push(group.to_owned());
                self.codes_of[d].insert(group.to_owned(), c);
                c
            }
        };
        self.cells[d][slot] = code;
    }

    /// Replaces `member`'s groups by `groups`.
    pub fn insert(&mut self, member: i64, groups: &Groups) {
        let slot = self.slot(member);
        for c in &mut self.cells {
            c[slot] = Self::NONE;
        }
        for (dim, g) in groups {
            self.set(member, dim, g);
        }
    }

    /// Records `groups()` for `member` unless the member already has groups.
    pub fn insert_if_absent(&mut self, member: i64, groups: impl FnOnce() -> Groups) {
        if !self.slots.contains_key(&member) {
            self.insert(member, &groups());
        }
    }

    /// `member`'s group on `dim`, if known.
    pub fn get(&self, member: i64, dim: &str) -> Option<&str> {
        let slot = *self.slots.get(&member)?;
        let d = self.dims.iter().position(|x| *x == dim)?;
        let code = *self.cells.get(d)?.get(slot)?;
        self.values.get(d)?.get(code as usize).map(String::as_str)
    }

    /// Whether `member` has any groups recorded.
    pub fn contains(&self, member: i64) -> bool {
        self.slots.contains_key(&member)
    }

    /// Members with groups recorded.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The placeholder for a value that is absent or withheld.
pub const UNKNOWN: &str = "unknown";

/// `(year, month, day)` of a day number since 1970-01-01 (Hinnant's civil-from-days).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM` of a time in ms since the epoch (UTC).
pub fn month_of(ms: i64) -> String {
    let (y, m, _) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}")
}

/// The week of a time in ms since the epoch (UTC), named by its Monday: `YYYY-MM-DD`.
pub fn week_of(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // 1970-01-01 was a Thursday: (days + 3) mod 7 is the weekday counted from Monday.
    let monday = days - (days + 3).rem_euclid(7);
    let (y, m, d) = civil_from_days(monday);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Progress of a build: sources tick once per gated record, later stages per row.
pub trait Progress {
    /// A new stage starts; `len` is its number of steps when known.
    fn stage(&self, name: &str, len: Option<u64>);
    fn inc(&self, n: u64);
    /// The build is over (successfully or not).
    fn finish(&self);
}

/// No progress shown.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _: &str, _: Option<u64>) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_named_by_their_monday() {
        // 2026-01-01 was a Thursday; its week started on Monday 2025-12-29.
        assert_eq!(week_of(1_767_225_600_000), "2025-12-29");
        assert_eq!(week_of(0), "1969-12-29");
        // 2026-01-05 00:00 is a Monday and starts its own week.
        assert_eq!(week_of(1_767_571_200_000), "2026-01-05");
        assert_eq!(week_of(1_767_571_200_000 - 1), "2025-12-29");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn member_groups_intern_and_replace() {
        let mut g = MemberGroups::default();
        let mut a = Groups::new();
        a.insert("region", "Texas".to_owned());
        a.insert("industry", "Retail".to_owned());
        g.insert(7, &a);
        g.set(9, "gender", "female");
        g.insert_if_absent(7, Groups::new);
        assert_eq!(g.get(7, "region"), Some("Texas"));
        assert_eq!(g.get(7, "gender"), None);
        assert_eq!(g.get(9, "gender"), Some("female"));
        assert_eq!(g.get(9, "region"), None);
        assert_eq!(g.get(8, "region"), None);
        let mut b = Groups::new();
        b.insert("region", "Ohio".to_owned());
        g.insert(7, &b);
        assert_eq!(g.get(7, "region"), Some("Ohio"));
        assert_eq!(g.get(7, "industry"), None);
        assert_eq!(g.len(), 2);
        assert!(g.contains(9) && !g.contains(8));
    }
}
