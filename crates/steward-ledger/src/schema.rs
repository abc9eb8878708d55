//! The ledger's tables, registered with the store as the `ledger` migration set.
//!
//! `ledger_entries` is the log itself: the canonical bytes and the leaf hash of each entry.
//! Everything else is an index (who is named where) or a cache (the frontier stored beside
//! each checkpoint); verification trusts neither and checks them against the entries and the
//! signatures. `ledger_nodes` caches the root of every perfect subtree of height >= 1 below
//! `ledger_node_watermark.size` (written with each checkpoint), so a proof reads O(log² n)
//! hashes instead of every leaf; a wrong node can only make a proof fail to verify, and
//! `ledger verify` recomputes them all.

use steward_store::{Migration, MigrationSet, MigrationSql};

pub const LEDGER_MIGRATIONS: MigrationSet = MigrationSet {
    name: "ledger",
    migrations: &[
        Migration {
            version: 1,
            name: "ledger_tables",
            sql: MigrationSql::Portable(
                "CREATE TABLE ledger_entries (
    seq {INT} PRIMARY KEY,
    entry {BYTES} NOT NULL,
    leaf_hash {BYTES} NOT NULL
);
CREATE TABLE ledger_subjects (
    member_id {INT} NOT NULL,
    seq {INT} NOT NULL,
    PRIMARY KEY (member_id, seq)
);
CREATE TABLE ledger_member_sets (
    set_id TEXT PRIMARY KEY,
    digest {BYTES} NOT NULL,
    member_count {INT} NOT NULL
);
CREATE TABLE ledger_member_set_members (
    set_id TEXT NOT NULL REFERENCES ledger_member_sets (set_id),
    member_id {INT} NOT NULL,
    PRIMARY KEY (set_id, member_id)
);
CREATE INDEX ix_ledger_member_set_members_member ON ledger_member_set_members (member_id);
CREATE TABLE ledger_set_entries (
    set_id TEXT NOT NULL REFERENCES ledger_member_sets (set_id),
    seq {INT} NOT NULL,
    PRIMARY KEY (set_id, seq)
);
CREATE TABLE ledger_checkpoints (
    tree_size {INT} PRIMARY KEY,
    root {BYTES} NOT NULL,
    time_ms {INT} NOT NULL,
    note TEXT NOT NULL,
    frontier {BYTES} NOT NULL
);",
            ),
        },
        Migration {
            version: 2,
            name: "ledger_nodes",
            sql: MigrationSql::Portable(
                "CREATE TABLE ledger_nodes (
    height {INT} NOT NULL,
    idx {INT} NOT NULL,
    hash {BYTES} NOT NULL,
    PRIMARY KEY (height, idx)
);
CREATE TABLE ledger_node_watermark (
    id {INT} PRIMARY KEY CHECK (id = 1),
    size {INT} NOT NULL
);",
            ),
        },
    ],
};
