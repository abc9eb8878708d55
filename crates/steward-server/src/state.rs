//! What every handler shares: the store, the active policy, metrics, limits and — when the
//! server was given the vault's key file — the vault and the ledger's signing keys.

use std::path::Path;
use std::sync::{Arc, RwLock};

use steward_core::Policy;
use steward_ledger::{CheckpointSigner, CheckpointVerifier};
use steward_store::Store;
use steward_vault::{Keyring, Vault};

use crate::Limits;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The log's origin line in checkpoints, and the signing key's name (the CLI's default).
pub const LEDGER_ORIGIN: &str = "steward.local/ledger";

/// The keys the vault's key file holds, opened once at start.
pub struct Keys {
    /// Signs checkpoints of the ledger (the key file's ledger signing key).
    pub signer: CheckpointSigner,
    /// Verifies them; its text form is the published verifier key.
    pub verifier: CheckpointVerifier,
    /// The vault: opens sealed content for a permitted reason, erases members' keys. Erasure
    /// rotates the key-encryption key, hence the lock.
    pub vault: RwLock<Vault>,
    /// The ingest scanners messages pass before they are sealed.
    pub scanner: steward_scan::Scanner,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("verifier", &self.verifier.to_string())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The keys of `keyring`.
    pub fn from_keyring(keyring: Keyring) -> Result<Keys, KeyFileError> {
        let seed = keyring.ledger_signing_key_bytes();
        let signer = CheckpointSigner::from_seed(LEDGER_ORIGIN, seed.as_slice())?;
        let verifier = signer.verifier();
        Ok(Keys {
            signer,
            verifier,
            vault: RwLock::new(Vault::new(keyring)),
            scanner: steward_scan::Scanner::builtin()?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<Store>,
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    /// Live tokens recently looked up (see [`crate::auth::TokenCache`]).
    pub tokens: Arc<crate::auth::TokenCache>,
    /// Answers of `/api/v1/policy/explain`, serialized, by decision input: the policy never
    /// changes under a running server, so one computation serves every later request.
    pub explained: Arc<crate::routes::policy::ExplainCache>,
    /// `None` when the server runs without the vault's key file: ledger proofs, erasure and
    /// messaging then answer 503 `vault.unavailable`.
    pub keys: Option<Arc<Keys>>,
    /// The ads settings: the minimum audience every ads route enforces (`steward serve
    /// --audience-minimum`, never below 100).
    pub ads: steward_ads::AdsConfig,
}

/// Why the server could not open its key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(transparent)]
    Vault(#[from] steward_vault::VaultError),
    #[error(transparent)]
    Ledger(#[from] steward_ledger::LedgerError),
    #[error(transparent)]
    Scan(#[from] steward_scan::ScanError),
}

impl KeyFileError {
    pub fn code(&self) -> &'static str {
        match self {
            KeyFileError::Vault(e) => e.code(),
            KeyFileError::Ledger(e) => e.code(),
            KeyFileError::Scan(e) => e.code(),
        }
    }
}

impl AppState {
    /// State over `store` with `policy`; installs the server's own tables.
    pub fn new(
        store: Arc<Store>,
        policy: Arc<Policy>,
    ) -> Result<AppState, steward_store::StoreError> {
        store.migrate(&crate::auth::MIGRATIONS)?;
        store.migrate(&steward_ledger::schema::LEDGER_MIGRATIONS)?;
        store.migrate(&steward_store::policies::POLICY_MIGRATIONS)?;
        Ok(AppState {
            store,
            policy,
            metrics: Arc::new(Metrics::default()),
            limits: Limits::default(),
            tokens: Arc::new(crate::auth::TokenCache::default()),
            explained: Arc::new(crate::routes::policy::ExplainCache::default()),
            keys: None,
            ads: steward_ads::AdsConfig::default(),
        })
    }

    /// The same state with other ads settings (a valid [`steward_ads::AdsConfig`] never has a
    /// minimum audience below 100).
    pub fn with_ads_config(mut self, ads: steward_ads::AdsConfig) -> AppState {
        self.ads = ads;
        self
    }

    /// The same state with the vault and ledger keys of `keyring`.
    pub fn with_keyring(mut self, keyring: Keyring) -> Result<AppState, KeyFileError> {
        self.keys = Some(Arc::new(Keys::from_keyring(keyring)?));
        Ok(self)
    }

    /// The same state with the keys of the key file at `path` (which must exist and be
    /// readable by its owner only).
    pub fn with_key_file(self, path: &Path) -> Result<AppState, KeyFileError> {
        let keyring = Keyring::open(path)?;
        self.with_keyring(keyring)
    }

    /// The same state with a token cache of another TTL (tests use a short one).
    pub fn with_token_ttl(mut self, ttl: std::time::Duration) -> AppState {
        self.tokens = Arc::new(crate::auth::TokenCache::new(
            ttl,
            crate::auth::TOKEN_CACHE_CAPACITY,
        ));
        self
    }

    /// Revokes token `token_id` and drops it from the cache at once; `false` if there was no
    /// live token by that id.
    pub fn revoke_token(&self, token_id: &str, now_ms: i64) -> Result<bool, ApiError> {
        let revoked = crate::auth::revoke_token(&self.store, token_id, now_ms)?;
        self.tokens.forget_token(token_id);
        Ok(revoked)
    }

    /// The keys, or 503 when the server runs without a key file.
    pub fn keys(&self) -> Result<Arc<Keys>, ApiError> {
        self.keys.clone().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "vault.unavailable",
                "this server was started without the vault's key file",
            )
        })
    }
}
