//! The router: every route, its middleware (limits, timeout, metrics, tracing) and the
//! fallback that answers unknown paths in the API's error shape.

pub mod ads;
pub mod ledger;
pub mod members;
pub mod policy;
pub mod rights;
pub mod safety;
pub mod system;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
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

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A member id from the path; anything else is 404, like a member that does not exist.
pub(crate) fn parse_member_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(ApiError::not_found)
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    // A matched list is the one body that may be larger than the server's limit.
    let matched = Router::new()
        .route("/api/v1/ads/audiences/matched", post(ads::create_matched))
        .layer(DefaultBodyLimit::max(ads::MATCHED_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(ads::MATCHED_BODY_BYTES));
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/app.js", get(ui::app_js))
        .route("/ui/verify.js", get(ui::verify_js))
        .route("/ui/style.css", get(ui::style))
        .route("/ui/advertiser.html", get(ads::advertiser_html))
        .route("/ui/advertiser.js", get(ads::advertiser_js))
        .route("/ui/advertiser.css", get(ads::advertiser_css))
        .route("/ui/ads-privacy.js", get(ads::ads_privacy_js))
        .route("/api/v1/ads/attributes", get(ads::attributes))
        .route(
            "/api/v1/ads/audiences",
            get(ads::audiences).post(ads::create_audience),
        )
        .route("/api/v1/ads/audiences/estimate", post(ads::estimate))
        .route(
            "/api/v1/ads/audiences/{audience}",
            get(ads::audience).put(ads::edit_audience),
        )
        .route(
            "/api/v1/ads/campaigns",
            get(ads::campaigns).post(ads::create_campaign),
        )
        .route("/api/v1/ads/campaigns/{campaign}", get(ads::campaign))
        .route(
            "/api/v1/ads/campaigns/{campaign}/audience",
            post(ads::attach),
        )
        .route("/api/v1/ads/campaigns/{campaign}/launch", post(ads::launch))
        .route("/api/v1/ads/campaigns/{campaign}/pause", post(ads::pause))
        .route("/api/v1/ads/campaigns/{campaign}/resume", post(ads::resume))
        .route(
            "/api/v1/ads/campaigns/{campaign}/report",
            get(ads::campaign_report),
        )
        .route("/api/v1/ads/insights/skills", get(ads::skills))
        .route("/api/v1/ads/eligibility", get(ads::eligibility))
        .route("/api/v1/members/{id}/ads", get(ads::member_ads))
        .route("/healthz", get(system::healthz))
        .route("/api/v1/whoami", get(system::whoami))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/api/v1/policy/matrix", get(policy::matrix))
        .route("/api/v1/policy/explain", get(policy::explain))
        .route("/api/v1/policy/diff", post(policy::diff))
        .route("/api/v1/policy/source", get(policy::source))
        .route(
            "/api/v1/members/{id}",
            get(members::profile).delete(rights::erase),
        )
        .route("/api/v1/members/{id}/export", get(rights::export))
        .route(
            "/api/v1/members/{id}/access-history",
            get(ledger::access_history),
        )
        .route(
            "/api/v1/members/{id}/conversations",
            get(safety::conversations).post(safety::start),
        )
        .route(
            "/api/v1/members/{id}/conversations/{conversation}",
            get(safety::conversation),
        )
        .route(
            "/api/v1/members/{id}/conversations/{conversation}/messages",
            post(safety::send),
        )
        .route(
            "/api/v1/members/{id}/messages/{message}/report",
            post(safety::report),
        )
        .route("/api/v1/cases", get(safety::cases))
        .route("/api/v1/cases/{case}", get(safety::case))
        .route("/api/v1/cases/{case}/grants", post(safety::request_grant))
        .route("/api/v1/cases/{case}/decision", post(safety::decide))
        .route("/api/v1/grants/{grant}/approve", post(safety::approve))
        .route("/api/v1/grants/{grant}/open", post(safety::open))
        .route("/api/v1/ledger/checkpoints", get(ledger::checkpoints))
        .route(
            "/api/v1/ledger/checkpoints/latest",
            get(ledger::latest_checkpoint),
        )
        .route(
            "/api/v1/ledger/entries/{seq}/proof",
            get(ledger::inclusion_proof),
        )
        .route("/api/v1/ledger/consistency", get(ledger::consistency))
        .route("/api/v1/ledger/verify", post(ledger::verify_ledger))
        .route(
            "/api/v1/members/{id}/settings",
            get(members::settings).put(members::change_setting),
        )
        .route("/api/v1/members/{id}/data-use", get(members::data_use))
        .route("/api/v1/members/{id}/datasets", get(rights::datasets))
        .route(
            "/api/v1/members/{id}/attachments/{attachment}",
            get(safety::attachment),
        )
        .route("/api/v1/tokens/{token}", delete(system::revoke_token))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        .merge(matched)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(crate::error::json_errors))
        .with_state(state)
}
