//! The crate's one error type, with a stable code per kind.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why a spec was refused or a build failed.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// The spec file does not parse or breaks a rule; `location` is `file:line:column`.
    #[error("{location}: {message}")]
    Spec { location: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Gate(#[from] steward_store::GateError),
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] steward_ledger::LedgerError),
    #[error("anonymization failed: {0}")]
    Anon(#[from] steward_privacy::anon::AnonError),
    #[error(transparent)]
    Pii(#[from] steward_privacy::pii::PiiError),
    #[error("parquet: {0}")]
    Parquet(String),
    /// A registered datasheet does not serialize or parse.
    #[error("datasheet: {0}")]
    Datasheet(String),
    /// The independent checker does not confirm what the anonymizer claims.
    #[error("the independent checker does not confirm the release: {0}")]
    NotConfirmed(String),
    /// The spec asks the build to fail when a bias bound is crossed, and one was.
    #[error("bias bound crossed: {0}")]
    BiasFlagged(String),
    #[error("the sources returned no rows to release")]
    Empty,
    #[error("the destination `{0}` already exists")]
    DestinationExists(PathBuf),
    #[error("no dataset `{0}`")]
    NotFound(String),
}

impl DatasetError {
    pub fn code(&self) -> &'static str {
        match self {
            DatasetError::Spec { .. } => "datasets.spec",
            DatasetError::Io { .. } => "datasets.io",
            DatasetError::Gate(e) => e.code(),
            DatasetError::Store(e) => e.code(),
            DatasetError::Ledger(e) => e.code(),
            DatasetError::Anon(e) => e.code(),
            DatasetError::Pii(e) => e.code(),
            DatasetError::Parquet(_) => "datasets.parquet",
            DatasetError::Datasheet(_) => "datasets.datasheet",
            DatasetError::NotConfirmed(_) => "datasets.not_confirmed",
            DatasetError::BiasFlagged(_) => "datasets.bias_flagged",
            DatasetError::Empty => "datasets.empty",
            DatasetError::DestinationExists(_) => "datasets.destination_exists",
            DatasetError::NotFound(_) => "datasets.not_found",
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> DatasetError {
        DatasetError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
