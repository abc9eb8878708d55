//! Steward's HTTP API: token-authenticated roles over the library crates — policy, a member's
//! own data and rights (settings, data use, access history with proofs, download, erasure),
//! messaging and trust & safety review, and the ledger's checkpoints and proofs — with an
//! OpenAPI document, health and Prometheus metrics, and the web UI (privacy center, reviewer
//! console, auditor view) embedded from `ui/`.
//!
//! **API Boundary:** this is the only crate that knows about HTTP and JSON shapes on the wire.
//! Domain types do not derive `Serialize`; every response type here is a deliberate DTO, so a
//! new field on a member never leaks into a response by accident.
//!
//! Three rules shape the handlers:
//! - **Authorization before anything else.** Every route declares which roles may call it
//!   ([`auth::Principal::require`]); a member token is scoped to its own member id and gets
//!   404 — not 403 — for anyone else's, so ids cannot be probed. The expected status of every
//!   route × role lives in a data file that a test walks exhaustively.
//! - **Errors are stable and say nothing internal.** Every failure is `{"error": {"code",
//!   "message"}}` with a code from a closed set; storage details go to the log only.
//! - **The store is synchronous.** Database work runs in `spawn_blocking`, so a slow query
//!   never stalls the async workers; request bodies are size-limited and every request has a
//!   timeout.

pub mod auth;
pub mod conn_guard;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

pub use routes::router;
pub use state::AppState;

use std::net::SocketAddr;

/// Limits applied to every request.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted request body, in bytes.
    pub body_bytes: usize,
    /// Time after which a request is answered 408.
    pub timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 1 << 20,
            timeout: std::time::Duration::from_secs(15),
        }
    }
}

/// Serves the API on `addr` until Ctrl-C (or SIGTERM).
pub async fn serve(addr: SocketAddr, state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_listener(listener, state).await
}

/// Serves the API on a bound listener until Ctrl-C (or SIGTERM). Connections carry deadlines
/// ([`conn_guard`]): a request trickled for longer than the request timeout plus ten seconds,
/// or a minute without any request, closes the connection. Small JSON answers go out at once
/// (no Nagle delay). The ads schema and noise key are written before it serves, and the ads
/// index is built in the background, so the first ad-serving requests do not wait for it.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "steward serving");
    let deadlines = conn_guard::Deadlines {
        request: state.limits.timeout + std::time::Duration::from_secs(10),
        idle: std::time::Duration::from_secs(60),
    };
    let listener = conn_guard::GuardedListener::new(listener, deadlines);
    routes::ads::warm(&state).await;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
