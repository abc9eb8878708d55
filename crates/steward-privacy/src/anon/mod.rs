//! k-anonymity, l-diversity, t-closeness, generalization hierarchies and risk metrics.
//!
//! The pipeline is: parse a [`Table`] (every column dictionary-encoded to `u32`), bind each
//! quasi-identifier to a [`Hierarchy`] (per-level generalization maps precomputed as arrays),
//! collapse identical quasi-identifier tuples into weighted *micro-classes*, then run one of two
//! algorithms:
//!
//! - [`Algorithm::Optimal`]: full-domain generalization, globally optimal over the hierarchy
//!   lattice for the chosen [`UtilityMetric`]. Anonymity of nodes is found Flash-style (binary
//!   search along upward paths, predictive tagging of successors/predecessors) when the criteria
//!   are monotone *with* suppression counted; utility is then found by branch and bound over a
//!   monotone lower bound, so no node that could beat the answer is skipped. A node's classes are
//!   rolled up from an already evaluated finer node's classes, never from the rows.
//! - [`Algorithm::Mondrian`]: top-down multidimensional median partitioning (strict or relaxed)
//!   over ordered attributes (numbers, or categories in hierarchy leaf order).
//!
//! Every result is described by [`Metrics`] and [`Risk`], computed from the released cells, and
//! every test re-derives k, l and t with [`checker`], a deliberately naive string-level code path
//! that shares nothing with the algorithms.

pub mod checker;
mod criteria;
mod engine;
mod hierarchy;
mod metrics;
mod mondrian;
mod optimal;
mod release;
mod risk;
mod table;

pub use checker::Check;
pub use criteria::{Criteria, LDiversity, TCloseness};
pub use hierarchy::Hierarchy;
pub use metrics::Metrics;
pub use mondrian::MondrianMode;
pub use optimal::{SearchStats, UtilityMetric};
pub use release::{Anonymized, NodeSummary, anonymize, evaluate_lattice};
pub use risk::{Risk, RiskModel};
pub use table::Table;

/// A quasi-identifier column and the hierarchy that generalizes it.
#[derive(Debug, Clone)]
pub struct QuasiIdentifier {
    pub column: String,
    pub hierarchy: Hierarchy,
}

/// Which algorithm makes the table anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Globally optimal full-domain generalization with suppression.
    Optimal(UtilityMetric),
    /// Multidimensional partitioning; never suppresses.
    Mondrian(MondrianMode),
}

/// Everything [`anonymize`] needs besides the table.
#[derive(Debug, Clone)]
pub struct Config {
    pub quasi_identifiers: Vec<QuasiIdentifier>,
    /// The sensitive column that l-diversity and t-closeness protect.
    pub sensitive: Option<String>,
    pub criteria: Criteria,
    pub algorithm: Algorithm,
    /// Records whose re-identification risk exceeds this count as "at risk" (default 0.2).
    pub risk_threshold: f64,
    /// Sampling fraction of the table in its population, for journalist and marketer risk
    /// (1.0: the table is the population).
    pub population_fraction: f64,
}

/// Why a table, hierarchy or parameter was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnonError {
    #[error("input is not valid UTF-8 at line {line}")]
    InvalidUtf8 { line: usize },
    #[error("line {line} has {found} fields, the header has {expected}")]
    RaggedRow {
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("the table has no rows")]
    EmptyTable,
    #[error("unknown column `{0}`")]
    UnknownColumn(String),
    #[error("column `{0}` is used twice")]
    DuplicateColumn(String),
    #[error("value `{value}` of column `{column}` is not in its hierarchy")]
    UnknownValue { column: String, value: String },
    #[error("hierarchy `{name}` line {line} has {found} levels, the first line has {expected}")]
    HierarchyHeight {
        name: String,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error(
        "hierarchy `{name}`: `{value}` at level {level} generalizes to both `{first}` and `{second}`"
    )]
    HierarchyInconsistent {
        name: String,
        value: String,
        level: usize,
        first: String,
        second: String,
    },
    #[error("hierarchy `{name}`: value `{value}` is listed twice")]
    HierarchyDuplicate { name: String, value: String },
    #[error("hierarchy `{0}` has no values")]
    HierarchyEmpty(String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error(
        "the quasi-identifier domain is too large to encode ({0} combinations overflow 64 bits)"
    )]
    DomainTooLarge(String),
    #[error("no generalization satisfies the criteria within the suppression budget")]
    NoSolution,
}

impl AnonError {
    /// A stable, machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            AnonError::InvalidUtf8 { .. } => "anon.invalid_utf8",
            AnonError::RaggedRow { .. } => "anon.ragged_row",
            AnonError::EmptyTable => "anon.empty_table",
            AnonError::UnknownColumn(_) => "anon.unknown_column",
            AnonError::DuplicateColumn(_) => "anon.duplicate_column",
            AnonError::UnknownValue { .. } => "anon.unknown_value",
            AnonError::HierarchyHeight { .. } => "anon.hierarchy_height",
            AnonError::HierarchyInconsistent { .. } => "anon.hierarchy_inconsistent",
            AnonError::HierarchyDuplicate { .. } => "anon.hierarchy_duplicate",
            AnonError::HierarchyEmpty(_) => "anon.hierarchy_empty",
            AnonError::InvalidParameter(_) => "anon.invalid_parameter",
            AnonError::DomainTooLarge(_) => "anon.domain_too_large",
            AnonError::NoSolution => "anon.no_solution",
        }
    }
}
