//! Versioned migrations: numbered steps per named set, recorded in `schema_migrations`, run on
//! open, each in its own transaction. Other crates (the ledger, the vault) own their tables and
//! hand the store their own [`MigrationSet`].

use sha2::{Digest, Sha256};

use crate::db::{Dialect, Store};
use crate::error::StoreError;
use crate::value::Value;

/// The SQL of one migration step.
#[derive(Clone, Copy, Debug)]
pub enum MigrationSql {
    /// One text for both backends, with the tokens of [`Dialect::render`].
    Portable(&'static str),
    /// Separate texts where the dialects differ too much.
    PerDialect {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

/// One numbered step.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// 1, 2, 3, ... within its set; never reuse or edit an applied one, add a new step.
    pub version: u32,
    pub name: &'static str,
    pub sql: MigrationSql,
}

impl Migration {
    pub fn sql_for(&self, dialect: Dialect) -> String {
        match self.sql {
            MigrationSql::Portable(s) => dialect.render(s),
            MigrationSql::PerDialect { sqlite, postgres } => match dialect {
                Dialect::Sqlite => sqlite.to_owned(),
                Dialect::Postgres => postgres.to_owned(),
            },
        }
    }
}

/// The migrations of one owner (`store`, `ledger`, `vault`, ...).
#[derive(Clone, Copy, Debug)]
pub struct MigrationSet {
    pub name: &'static str,
    pub migrations: &'static [Migration],
}

/// What a migration run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already_applied: usize,
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    set_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (set_name, version)
)";

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Store {
    /// Applies the steps of `set` not yet recorded, in order. Re-running is a no-op. An applied
    /// step whose SQL changed since is an error (`store.migration`): history is append-only.
    pub fn migrate(&self, set: &MigrationSet) -> Result<MigrationReport, StoreError> {
        let dialect = self.dialect();
        let mut report = MigrationReport::default();
        let mut last = 0u32;
        for m in set.migrations {
            if m.version <= last {
                return Err(StoreError::Migration {
                    id: format!("{}/{}", set.name, m.version),
                    reason: "versions must increase".to_owned(),
                });
            }
            last = m.version;
        }
        for m in set.migrations {
            let id = format!("{}/{:04}_{}", set.name, m.version, m.name);
            let sql = m.sql_for(dialect);
            let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
            let applied = self.transaction(|tx| {
                tx.create_if_missing(BOOKKEEPING)?;
                if dialect == Dialect::Postgres {
                    // One migrator at a time per database; released at commit.
                    tx.execute("SELECT pg_advisory_xact_lock(7406514)", &[])?;
                }
                let existing = tx.query_opt(
                    "SELECT checksum FROM schema_migrations WHERE set_name = $1 AND version = $2",
                    &[Value::from(set.name), Value::from(m.version)],
                )?;
                if let Some(row) = existing {
                    if row.text(0)? != checksum {
                        return Err(StoreError::Migration {
                            id: id.clone(),
                            reason: "already applied with different SQL; add a new step instead"
                                .to_owned(),
                        });
                    }
                    return Ok(false);
                }
                tx.execute_batch(&sql).map_err(|e| StoreError::Migration {
                    id: id.clone(),
                    reason: e.to_string(),
                })?;
                tx.execute(
                    "INSERT INTO schema_migrations (set_name, version, name, checksum, applied_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        Value::from(set.name),
                        Value::from(m.version),
                        Value::from(m.name),
                        Value::from(checksum.as_str()),
                        Value::Int(now_ms()),
                    ],
                )?;
                Ok(true)
            })?;
            if applied {
                report.applied.push(id);
            } else {
                report.already_applied += 1;
            }
        }
        Ok(report)
    }

    /// The applied steps, as `set/version` pairs in order.
    pub fn applied_migrations(&self) -> Result<Vec<(String, u32)>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT set_name, version FROM schema_migrations ORDER BY set_name, version",
                &[],
            )?;
            rows.iter()
                .map(|r| Ok((r.text(0)?, u32::try_from(r.i64(1)?).unwrap_or(0))))
                .collect()
        })
    }
}
