//! Sources: each reads the store only through the purpose gate, for `ai.training`, and hands
//! the build a plain table (one row per released item) plus the gate's reports.
//!
//! Nothing here selects from a table directly: what a member withheld (consent, jurisdiction
//! default, a hidden section, a connections-only or closed-group post), deleted members and
//! minors never reach a source, and the gate's report says how many were left out and why.

pub mod profiles;
pub mod public_posts;

use std::collections::BTreeMap;

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
    pub groups: BTreeMap<i64, Groups>,
    /// Group counts of the member population the dataset is compared against, per dimension.
    pub population: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// What the population is, per dimension (it differs where consent limits the read).
    pub population_basis: BTreeMap<&'static str, String>,
}

/// The placeholder for a value that is absent or withheld.
pub const UNKNOWN: &str = "unknown";
