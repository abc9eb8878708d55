//! What every handler shares: the store, the active policy, metrics and limits.

use std::sync::Arc;

use steward_core::Policy;
use steward_store::Store;

use crate::Limits;
use crate::metrics::Metrics;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<Store>,
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
}

impl AppState {
    /// State over `store` with `policy`; installs the server's own tables.
    pub fn new(
        store: Arc<Store>,
        policy: Arc<Policy>,
    ) -> Result<AppState, steward_store::StoreError> {
        store.migrate(&crate::auth::MIGRATIONS)?;
        store.migrate(&steward_ledger::schema::LEDGER_MIGRATIONS)?;
        Ok(AppState {
            store,
            policy,
            metrics: Arc::new(Metrics::default()),
            limits: Limits::default(),
        })
    }
}
