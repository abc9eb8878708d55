//! AI-training datasets: consented, de-identified Parquet releases with datasheets.
//!
//! A dataset is declared in a TOML [`spec::Spec`] and built in one pass whose every step is
//! its own module. **Sources** read the store only through the purpose gate, for
//! `ai.training`: what the policy does not release for this member, this visibility and this
//! form never enters the build, and the gate's report — kept in the datasheet — says how many
//! rows and members were left out and why (consent or jurisdiction default, visibility,
//! deletion, minority, private content). **Transforms** scrub free text of PII, generalize
//! quasi-identifiers to k-anonymity with l-diversity through steward-privacy's optimal search,
//! and replace member ids by keyed pseudonyms under a per-build key that is never stored. The
//! build does not take the anonymizer's word for it: the independent checker regroups the
//! released strings and a release under k or l is an error. **Sinks** write Parquet (zstd)
//! into a hidden staging folder beside the destination; files and folder are fsynced and one
//! rename publishes it, inside the same store transaction that writes the registry row and the
//! ledger entry naming the release's member set — so a dataset is visible if and only if it
//! is registered and ledgered, and a crash leaves nothing half-written under a real name.
//!
//! Each release carries a datasheet (after Gebru et al.) with the privacy figures, PII
//! scrubbed per kind, a bias report comparing group shares with the member population under
//! a four-fifths bound, and its lineage: policy version, consent snapshot, code version and
//! spec digest. The crate never depends on the vault: private content is not its business.

pub mod build;
pub mod canary;
pub mod datasheet;
pub mod error;
pub mod included;
pub mod registry;
pub mod sinks;
pub mod sources;
pub mod spec;
pub mod transforms;
pub mod verify;

pub use build::{Built, build, build_from_spec_path, build_shipped};
pub use datasheet::Datasheet;
pub use error::DatasetError;
pub use spec::Spec;
