//! De-identification toolkit: PII detection and scrubbing of free text, keyed pseudonyms,
//! generalization hierarchies, k-anonymity (optimal lattice search and Mondrian),
//! l-diversity, t-closeness and re-identification risk metrics.
//!
//! Depends only on `steward-core`; does no database or network I/O. Dataset builds use it.

pub mod anon;
pub mod dp;
pub mod pii;
pub mod pseudonym;
