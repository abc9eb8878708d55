//! The router: every route, its middleware (limits, timeout, metrics, tracing) and the
//! fallback that answers unknown paths in the API's error shape.

pub mod members;
pub mod policy;
pub mod system;
pub mod ui;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Runs blocking store work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/app.js", get(ui::app_js))
        .route("/ui/style.css", get(ui::style))
        .route("/healthz", get(system::healthz))
        .route("/api/v1/whoami", get(system::whoami))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/api/v1/policy/matrix", get(policy::matrix))
        .route("/api/v1/policy/explain", get(policy::explain))
        .route("/api/v1/policy/diff", post(policy::diff))
        .route("/api/v1/members/{id}", get(members::profile))
        .route(
            "/api/v1/members/{id}/settings",
            get(members::settings).put(members::change_setting),
        )
        .route("/api/v1/members/{id}/data-use", get(members::data_use))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
