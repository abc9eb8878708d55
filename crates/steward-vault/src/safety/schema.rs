//! The `safety` migration set: grants, their approvals and scope items, case decisions and
//! account restrictions. Applied after the store's own migrations (it references `staff`).
//! Case ids carry no foreign key: erasing a member deletes their cases, and the grant history
//! (ids and staff names only, no member data) must not block that.

use steward_store::{Migration, MigrationSet, MigrationSql, Store};

use super::SafetyError;

/// The tables of the trust & safety flows, registered like [`crate::VAULT_MIGRATIONS`].
pub const SAFETY_MIGRATIONS: MigrationSet = MigrationSet {
    name: "safety",
    migrations: &[Migration {
        version: 1,
        name: "grants_and_decisions",
        sql: MigrationSql::Portable(
            "CREATE TABLE safety_grants (
                grant_id {ID},
                case_id {INT} NOT NULL,
                purpose TEXT NOT NULL
                    CHECK (purpose IN ('safety.report_review', 'security.investigation')),
                requester_id {INT} NOT NULL REFERENCES staff (staff_id),
                justification TEXT NOT NULL,
                requested_at {INT} NOT NULL,
                duration_ms {INT} NOT NULL CHECK (duration_ms > 0),
                approvals_needed {INT} NOT NULL CHECK (approvals_needed IN (1, 2)),
                status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'ended')),
                approved_at {INT},
                expires_at {INT},
                ended_at {INT}
            );
            CREATE INDEX ix_safety_grants_case ON safety_grants (case_id);

            CREATE TABLE safety_grant_approvals (
                grant_id {INT} NOT NULL REFERENCES safety_grants (grant_id),
                approver_id {INT} NOT NULL REFERENCES staff (staff_id),
                approved_at {INT} NOT NULL,
                PRIMARY KEY (grant_id, approver_id)
            );

            CREATE TABLE safety_grant_scope (
                grant_id {INT} NOT NULL REFERENCES safety_grants (grant_id),
                item_kind TEXT NOT NULL CHECK (item_kind IN ('message', 'attachment')),
                item_id {INT} NOT NULL,
                PRIMARY KEY (grant_id, item_kind, item_id)
            );

            CREATE TABLE safety_case_decisions (
                case_id {INT} PRIMARY KEY,
                decision TEXT NOT NULL CHECK (decision IN
                    ('no_violation', 'warn', 'remove_message', 'restrict_account')),
                decided_by {INT} NOT NULL REFERENCES staff (staff_id),
                grant_id {INT},
                note TEXT NOT NULL,
                decided_at {INT} NOT NULL
            );

            CREATE TABLE safety_restrictions (
                member_id {INT} NOT NULL,
                case_id {INT} NOT NULL,
                restricted_at {INT} NOT NULL,
                PRIMARY KEY (member_id, case_id)
            );
            CREATE INDEX ix_safety_restrictions_member ON safety_restrictions (member_id);",
        ),
    }],
};

/// Applies the vault's and the safety flows' migrations (idempotent). The ledger's tables are
/// installed by `steward_ledger::Ledger::install`, which this also calls.
pub fn migrate(store: &Store) -> Result<(), SafetyError> {
    crate::store::migrate(store)?;
    steward_ledger::Ledger::install(store)?;
    store.migrate(&SAFETY_MIGRATIONS)?;
    Ok(())
}
