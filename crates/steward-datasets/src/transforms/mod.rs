//! Transforms between a gated source and a sink: text scrubbing, keyed pseudonyms for the
//! member behind each row, and generalization to k-anonymity (with l-diversity) confirmed by
//! the independent checker.

pub mod anonymize;
pub mod pseudonymize;
pub mod scrub;
