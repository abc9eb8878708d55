//! The one error type of the API: a status, a stable code and a human message. Internal
//! detail is logged, never sent. [`json_errors`] gives the answers of the layers and of axum
//! itself (body limit, timeout, wrong method) the same shape.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (`auth.missing_token`, `policy.unknown_purpose`, ...).
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            "your role may not call this endpoint",
        )
    }
    /// A failure that is not the caller's fault. `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }
}

impl From<steward_store::StoreError> for ApiError {
    fn from(e: steward_store::StoreError) -> ApiError {
        use steward_store::StoreError as E;
        match e {
            E::NotFound { .. } => ApiError::not_found(),
            // Validation messages describe the caller's own input, never stored data.
            E::Invalid(message) => ApiError::bad_request("invalid_input", message),
            E::Conflict(_) | E::Unavailable(_) => {
                tracing::warn!(code = e.code(), "storage busy or unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is busy or unavailable, try again",
                )
            }
            other => ApiError::internal(other.code()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// The stable code of an error status that a layer or axum answered without our JSON shape.
pub fn code_for_status(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "request.too_large",
            "the request body is larger than the server accepts",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request.timeout",
            "the request took longer than the server allows",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not answer this method",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "invalid_body",
            "the request body must be JSON (content-type: application/json)",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::UNAUTHORIZED => ("auth.missing_token", "a bearer token is required"),
        StatusCode::FORBIDDEN => ("auth.forbidden", "your role may not call this endpoint"),
        s if s.is_server_error() => ("internal", "an internal error occurred"),
        _ => ("bad_request", "the request is malformed"),
    }
}

/// Middleware: every error answer (4xx, 5xx) that is not already JSON — the body limit's 413,
/// the timeout's 408, axum's 405 — becomes `{"error": {"code", "message"}}` with a stable code,
/// so clients see one error shape whatever refused them. Answers that are already JSON pass
/// through untouched.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = code_for_status(status);
    let mut out = ApiError::new(status, code, message).into_response();
    // Headers a layer set for the client (Retry-After, Allow, ...) stay; the body is ours.
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
