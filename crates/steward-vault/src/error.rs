//! The vault's typed errors, each with a stable code callers can match and show.

use std::path::PathBuf;

/// Everything that can go wrong sealing, opening or managing keys.
///
/// Messages never contain key material or plaintext; paths and ids are fine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Authenticated decryption failed: the ciphertext was altered, the row binding (associated
    /// data) does not match the row it was sealed for, or the key is not the one it was sealed
    /// under. Nothing is returned.
    #[error("sealed content failed authentication (tampered ciphertext, swapped row or wrong key)")]
    AeadFailure,
    /// The sealed blob or wrapped key is not in a format this version understands.
    #[error("malformed sealed data: {0}")]
    Malformed(&'static str),
    /// The member's content key was destroyed (crypto-shredding); their content is gone for good.
    #[error("the content key of member `{member}` was destroyed; their content cannot be opened")]
    MemberShredded {
        /// The erased member.
        member: i64,
    },
    /// No content key exists for the member, so nothing was ever sealed for them.
    #[error("no content key for member `{member}`")]
    NoMemberKey {
        /// The member without a key.
        member: i64,
    },
    /// The key-encryption key version a wrapped key names is not in the keyring (it was dropped
    /// or never existed here).
    #[error("key-encryption key version `{version}` is not in the keyring")]
    UnknownKekVersion {
        /// The missing version.
        version: u32,
    },
    /// A KEK version cannot be dropped while wrapped keys still use it, or it is the current one.
    #[error("key-encryption key version `{version}` is still in use ({reason})")]
    KekInUse {
        /// The version that was to be dropped.
        version: u32,
        /// Why it cannot go.
        reason: &'static str,
    },
    /// The open reason does not permit opening this row.
    #[error("opening refused: {0}")]
    Refused(&'static str),
    /// The key file is readable or writable by group or others.
    #[error(
        "key file `{path}` has mode {mode:o}; it must be accessible by its owner only (chmod 600)"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be parsed.
    #[error("key file `{path}` line {line}: {message}")]
    KeyFileFormat {
        /// The key file.
        path: PathBuf,
        /// 1-based line number (0 for the file as a whole).
        line: usize,
        /// What is wrong (never the key bytes).
        message: String,
    },
    /// Reading or writing the key file failed.
    #[error("key file `{path}`: {source}")]
    KeyFileIo {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// The member key store failed.
    #[error("member key store: {0}")]
    KeyStore(#[from] KeyStoreError),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] steward_store::StoreError),
    /// The plaintext is too large for one sealed blob.
    #[error("plaintext of {len} bytes is larger than the {max} bytes one sealed blob may hold")]
    TooLarge {
        /// The plaintext length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl VaultError {
    /// A stable identifier for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::AeadFailure => "vault.aead_failure",
            VaultError::Malformed(_) => "vault.malformed",
            VaultError::MemberShredded { .. } => "vault.member_shredded",
            VaultError::NoMemberKey { .. } => "vault.no_member_key",
            VaultError::UnknownKekVersion { .. } => "vault.unknown_kek_version",
            VaultError::KekInUse { .. } => "vault.kek_in_use",
            VaultError::Refused(_) => "vault.refused",
            VaultError::KeyFilePermissions { .. } => "vault.key_file_permissions",
            VaultError::KeyFileFormat { .. } => "vault.key_file_format",
            VaultError::KeyFileIo { .. } => "vault.key_file_io",
            VaultError::Random(_) => "vault.random",
            VaultError::KeyStore(_) => "vault.key_store",
            VaultError::TooLarge { .. } => "vault.too_large",
            VaultError::Store(_) => "vault.store",
        }
    }
}

/// A failure of a [`crate::MemberKeyStore`] backend, kept opaque so the vault does not depend on
/// any storage crate.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeyStoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl KeyStoreError {
    /// A store error with a message only.
    pub fn new(message: impl Into<String>) -> KeyStoreError {
        KeyStoreError {
            message: message.into(),
            source: None,
        }
    }

    /// A store error wrapping the backend's own error.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> KeyStoreError {
        KeyStoreError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}
