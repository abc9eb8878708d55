//! `/healthz`, `/metrics` and `/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::OpenApi;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
    pub policy_version: String,
}

/// Liveness and readiness: the database answers and a policy is loaded.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        store.read(|tx| tx.query_i64("SELECT 1", &[]))?;
        Ok(())
    })
    .await?;
    Ok(Json(Health {
        status: "ok",
        database: state.store.dialect().name(),
        policy_version: state.policy.version_id(),
    }))
}

/// Prometheus metrics (operators: engineer, auditor, admin).
#[utoipa::path(get, path = "/metrics", security(("bearer" = [])), responses((status = 200, description = "Prometheus text exposition", body = String), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    who: Principal,
) -> Result<impl IntoResponse, ApiError> {
    who.require(&[Role::Engineer, Role::Auditor, Role::Admin])?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::ApiDoc::openapi())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub token_id: String,
    pub role: &'static str,
    /// Set for member tokens.
    pub member_id: Option<i64>,
}

/// The caller's own token: its role and, for a member, their id.
#[utoipa::path(get, path = "/api/v1/whoami", security(("bearer" = [])), responses((status = 200, body = WhoAmI), (status = 401, body = crate::error::ErrorBody)))]
pub async fn whoami(who: Principal) -> Json<WhoAmI> {
    Json(WhoAmI {
        token_id: who.token_id,
        role: who.role.as_str(),
        member_id: who.member_id,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub token_id: String,
    pub revoked: bool,
}

/// Revokes a token by id (admin). It stops working at once on this server; a server in
/// another process notices within its token cache's TTL (2 s).
#[utoipa::path(delete, path = "/api/v1/tokens/{token}", params(("token" = String, Path)), security(("bearer" = [])), responses((status = 200, body = Revoked), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    who: Principal,
    axum::extract::Path(token_id): axum::extract::Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    who.require(&[Role::Admin])?;
    if token_id.is_empty()
        || token_id.len() > 64
        || !token_id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ApiError::not_found());
    }
    let st = state.clone();
    let id = token_id.clone();
    let revoked = blocking(move || st.revoke_token(&id, crate::routes::now_ms())).await?;
    if !revoked {
        return Err(ApiError::not_found());
    }
    Ok(Json(Revoked { token_id, revoked }))
}
