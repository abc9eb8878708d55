//! Backend-neutral storage errors: callers match on a kind, never on SQLSTATE or SQLite codes.

use thiserror::Error;

/// What went wrong in the store, independent of the backend.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL is not one we understand.
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The database cannot be reached or opened.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A row that must exist does not.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A unique or primary key constraint rejected the write.
    #[error("duplicate key: {0}")]
    UniqueViolation(String),
    /// A foreign key constraint rejected the write.
    #[error("reference to a missing row: {0}")]
    ForeignKey(String),
    /// A check or not-null constraint rejected the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// A concurrent transaction got in the way (serialization failure, deadlock, busy); retry.
    #[error("conflict with a concurrent transaction: {0}")]
    Conflict(String),
    /// A migration failed, or an applied migration no longer matches its source.
    #[error("migration `{id}` failed: {reason}")]
    Migration { id: String, reason: String },
    /// A value had the wrong type for the column or parameter it was used for.
    #[error("type mismatch: {0}")]
    Type(String),
    /// Anything else the backend reported.
    #[error("database error: {0}")]
    Backend(String),
    /// Reading or writing a file beside the database (canary registry, exports).
    #[error("i/o error on `{path}`: {reason}")]
    Io { path: String, reason: String },
    /// Input the caller gave is invalid (a field, a value, a key).
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl StoreError {
    /// A stable code for scripts and HTTP answers.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidUrl { .. } => "store.invalid_url",
            StoreError::Unavailable(_) => "store.unavailable",
            StoreError::NotFound { .. } => "store.not_found",
            StoreError::UniqueViolation(_) => "store.unique_violation",
            StoreError::ForeignKey(_) => "store.foreign_key",
            StoreError::Constraint(_) => "store.constraint",
            StoreError::Conflict(_) => "store.conflict",
            StoreError::Migration { .. } => "store.migration",
            StoreError::Type(_) => "store.type",
            StoreError::Backend(_) => "store.backend",
            StoreError::Io { .. } => "store.io",
            StoreError::Invalid(_) => "store.invalid",
        }
    }

    pub fn not_found(what: impl Into<String>) -> StoreError {
        StoreError::NotFound { what: what.into() }
    }

    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, msg) => {
                let text = msg.clone().unwrap_or_else(|| e.to_string());
                match (f.code, f.extended_code) {
                    // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
                    (ErrorCode::ConstraintViolation, 1555 | 2067) => {
                        StoreError::UniqueViolation(text)
                    }
                    // SQLITE_CONSTRAINT_FOREIGNKEY
                    (ErrorCode::ConstraintViolation, 787) => StoreError::ForeignKey(text),
                    (ErrorCode::ConstraintViolation, _) => StoreError::Constraint(text),
                    (ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _) => {
                        StoreError::Conflict(text)
                    }
                    (
                        ErrorCode::CannotOpen
                        | ErrorCode::NotADatabase
                        | ErrorCode::ReadOnly
                        | ErrorCode::PermissionDenied
                        | ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure,
                        _,
                    ) => StoreError::Unavailable(text),
                    _ => StoreError::Backend(text),
                }
            }
            rusqlite::Error::QueryReturnedNoRows => StoreError::not_found("row"),
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Type(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        use postgres::error::SqlState;
        let Some(db) = e.as_db_error() else {
            return if e.is_closed() || e.to_string().contains("connect") {
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Backend(e.to_string())
            };
        };
        let text = match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_owned(),
        };
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            StoreError::UniqueViolation(text)
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            StoreError::ForeignKey(text)
        } else if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
            StoreError::Constraint(text)
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::LOCK_NOT_AVAILABLE
        {
            StoreError::Conflict(text)
        } else if code.code().starts_with("08") || code.code().starts_with("57P") {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        }
    }
}
