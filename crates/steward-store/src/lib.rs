//! Steward's store: the professional network's data on SQLite or PostgreSQL, and the purpose
//! gate through which every pipeline reads it.
//!
//! Three design decisions shape this crate.
//!
//! **One synchronous API, two backends.** [`Store::open`] takes `sqlite://PATH` (embedded, the
//! default: WAL, foreign keys on) or `postgres://...`. SQL is written once with `$1`
//! placeholders over a deliberately plain schema (64-bit integers, text, bytes; times as epoch
//! milliseconds), so the dialect differences fit in [`db`]: placeholder syntax, `BLOB` vs
//! `BYTEA`, identity columns and bulk inserts. Errors come back as backend-neutral
//! [`StoreError`] kinds with stable codes. Everything goes through [`Store::transaction`],
//! whose [`Tx`] other crates write through too: the ledger appends its entry in the same
//! transaction as the effect it records, and the vault keeps its tables beside ours with its
//! own [`MigrationSet`].
//!
//! **Private content is bytes the store cannot read.** Messages, attachments, private notes
//! and closed-group posts live only in `*_sealed` columns, filled by a [`Sealer`] the caller
//! hands in. The vault provides the real one; until then [`PlaintextForTestsOnly`] says in its
//! name what it is.
//!
//! **The gate is the only door for pipelines.** [`Gate::read`] resolves a purpose and its
//! categories against the compiled `steward_core::Policy`, computes each member's effective
//! consent (jurisdiction defaults plus their consent history), applies each item's visibility,
//! drops deleted members and minors, and streams typed records that have no field for sealed
//! content — with a report of everything it left out and why. A read the policy can never
//! allow is an error naming the rule.
//!
//! Around that core: the deterministic network generator ([`seed`]), JSON-lines import with
//! all-or-nothing files ([`import`]), members' own access and rectification ([`member`],
//! [`export`]), account erasure's row deletion ([`erase`]), dataset staleness after an
//! opt-out or an erasure ([`staleness`]) and the canary audit's search ([`canary`]).

pub mod canary;
pub mod content;
pub mod db;
pub mod erase;
pub mod error;
pub mod export;
pub mod gate;
pub mod import;
pub mod member;
pub mod migrate;
pub mod policies;
pub mod schema;
pub mod seal;
pub mod seed;
pub mod staleness;
pub mod value;
pub mod vocab;

pub use db::{Dialect, OpenOptions, Store, Tx};
pub use error::StoreError;
pub use gate::{Exclusion, Gate, GateError, GateReport, GateRequest, GatedRecord};
pub use member::Member;
pub use migrate::{Migration, MigrationReport, MigrationSet, MigrationSql};
pub use seal::{PlaintextForTestsOnly, SealContext, SealError, SealedBytes, Sealer};
pub use value::{Row, Value};

#[cfg(test)]
mod tests {
    /// The server shares one store across request threads (through `spawn_blocking`).
    #[test]
    fn the_store_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::Store>();
    }
}
