//! Steward's core: the taxonomy, the purpose policy and consent. Pure: no I/O, no clock, no
//! randomness — callers pass time and data in.
//!
//! Every read of member data in Steward asks one question: *may purpose P receive category C
//! (carried with visibility V) of this member, and in which form?* This crate answers it.
//!
//! The design choice that shapes the rest is **compile once, decide in nanoseconds**. A policy
//! file is parsed and resolved against the taxonomy, then expanded into a dense table over
//! (purpose × category × visibility); each cell lists the rules that may apply as consent bit
//! masks. A member's consent is a `u64` bit set, so a decision is an index computation and a
//! mask test, with no allocation. Because the whole space is materialised, the built-in
//! invariants (private content never for AI, ads, analytics or personalization; sensitive
//! data never for ad targeting; no raw form for AI, ads or analytics; private content only for
//! the purposes the promises name) are checked *exhaustively* when a policy loads: a policy
//! that breaks one never becomes active.
//!
//! A naive evaluator ([`policy::reference`]) implements the same semantics by walking rules
//! and comparing strings; property tests check that both agree on random policies.

pub mod consent;
pub mod error;
pub mod policy;
pub mod taxonomy;

pub use consent::{ConsentEvent, ConsentSet};
pub use error::{ConsentError, PolicyError, TaxonomyError};
pub use policy::{Decision, Denial, Explanation, Policy, RuleId};
pub use taxonomy::{CategoryId, ConsentKey, Form, PurposeId, Taxonomy, Visibility};
