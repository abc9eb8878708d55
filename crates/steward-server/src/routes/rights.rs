//! A member's rights over their data: download it (a zip of everything the store holds about
//! them, ledgered as a self-access export), see the datasets that included them, and delete
//! their account.

use std::io::Write as _;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use steward_core::consent::Actor;
use steward_ledger::audit;
use steward_store::export::export_member;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::routes::{blocking, now_ms, parse_member_id};
use crate::state::AppState;

/// Zips the files of `dir` (flat, sorted by name) with deflate.
fn zip_dir(dir: &std::path::Path) -> Result<Vec<u8>, ApiError> {
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(ApiError::internal)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    names.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    for path in names {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let bytes = std::fs::read(&path).map_err(ApiError::internal)?;
        zip.start_file(format!("steward-export/{name}"), options)
            .map_err(ApiError::internal)?;
        zip.write_all(&bytes).map_err(ApiError::internal)?;
    }
    Ok(zip.finish().map_err(ApiError::internal)?.into_inner())
}

/// Downloads everything stored about the member as a zip (`member.json`, `settings.json`, one
/// file per kind of data, a README; private content listed sealed). Only the member may; the
/// download is written to their access history before it is sent, and not sent if it could
/// not be recorded.
#[utoipa::path(get, path = "/api/v1/members/{id}/export", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, description = "A zip archive of the member's data", content_type = "application/zip", body = String), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_member_id(&raw)?;
    // Like consent, a download is the member's own act: staff tokens get 404.
    if who.member_id != Some(id) {
        return Err(ApiError::not_found());
    }
    crate::routes::members::live_member(&state, id).await?;
    let (store, policy) = (state.store.clone(), state.policy.clone());
    let bytes = blocking(move || {
        let at = now_ms();
        let tmp = tempfile::tempdir().map_err(ApiError::internal)?;
        let dir = tmp.path().join("export");
        export_member(&store, policy.taxonomy(), id, &dir, at)?;
        let bytes = zip_dir(&dir)?;
        let version = policy.version_id();
        store
            .transaction(|tx| {
                audit::record_self_access(
                    tx,
                    id,
                    "export",
                    &["member"],
                    &audit::Context {
                        actor: &Actor::Member,
                        at_ms: at,
                        policy_version: &version,
                    },
                )
            })
            .map_err(|e| match e {
                audit::AuditedError::Store(s) => ApiError::from(s),
                audit::AuditedError::Ledger(l) => ApiError::internal(l.code()),
            })?;
        Ok(bytes)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"steward-member-{id}.zip\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// Why (required for an admin, optional for the member). It is ledgered, so it must not
    /// name the member.
    pub reason: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub member_id: i64,
    /// The member was already erased; nothing was done.
    pub already_erased: bool,
    /// The receipt: the reference of the ledger entry that records the erasure.
    pub erasure_id: Option<String>,
    pub ledger_seq: Option<u64>,
    pub rows_deleted: u64,
    /// Messages kept for the other participants as "message from a deleted member".
    pub messages_tombstoned: u64,
    /// Datasets that included the member, now marked stale.
    pub stale_datasets: Vec<String>,
    /// Whether the member's content key was destroyed (crypto-shredding).
    pub key_destroyed: bool,
}

impl From<steward_vault::erasure::ErasureError> for ApiError {
    fn from(e: steward_vault::erasure::ErasureError) -> ApiError {
        use steward_vault::erasure::ErasureError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(),
            E::ReasonRequired | E::ReasonNamesMember(_) => {
                ApiError::bad_request(e.code(), e.to_string())
            }
            E::NotAdmin(_) => ApiError::forbidden(),
            E::Store(s) => ApiError::from(s),
            other => ApiError::internal(other.code()),
        }
    }
}

/// Deletes the member's account: their rows deleted or tombstoned, their content key
/// destroyed (crypto-shredding), the datasets that included them marked stale, and one ledger
/// entry with no personal data — in one transaction. The member themself, or an admin with a
/// reason; everyone else gets 404. The member's tokens stop working.
#[utoipa::path(delete, path = "/api/v1/members/{id}", params(("id" = i64, Path)), request_body(content = EraseRequest, description = "Optional for the member; an admin must give a reason"), security(("bearer" = [])), responses((status = 200, body = Erased), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn erase(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    body: Result<axum::Json<EraseRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::Json<Erased>, ApiError> {
    use axum::extract::rejection::JsonRejection;
    use steward_vault::erasure::{Requester, erase_member};
    let id = parse_member_id(&raw)?;
    let is_self = who.role == crate::auth::Role::Member && who.member_id == Some(id);
    if !is_self && who.role != crate::auth::Role::Admin {
        return Err(ApiError::not_found());
    }
    let reason = match body {
        Ok(axum::Json(r)) => r.reason,
        // No body at all is fine: the reason is optional for the member.
        Err(JsonRejection::MissingJsonContentType(_)) => None,
        Err(e) => return Err(ApiError::new(e.status(), "invalid_body", e.body_text())),
    };
    let keys = state.keys()?;
    let store = state.store.clone();
    let tokens = state.tokens.clone();
    let outcome = blocking(move || {
        let at = now_ms();
        steward_vault::safety::migrate(&store).map_err(|e| ApiError::internal(e.code()))?;
        let requester = if is_self {
            Requester::Member
        } else {
            Requester::Staff(store.transaction(|tx| who.ensure_staff(tx, at))?)
        };
        let mut vault = keys
            .vault
            .write()
            .map_err(|_| ApiError::internal("vault lock poisoned"))?;
        let outcome = erase_member(&mut vault, &store, id, &requester, reason.as_deref(), at);
        // The member's tokens died with the account: no cached lookup may outlive them.
        tokens.forget_member(id);
        Ok(outcome?)
    })
    .await?;
    Ok(axum::Json(Erased {
        member_id: outcome.member_id,
        already_erased: outcome.already_erased,
        erasure_id: outcome.erasure_id.clone(),
        ledger_seq: outcome.ledger_seq,
        rows_deleted: outcome.rows_deleted(),
        messages_tombstoned: outcome.messages_tombstoned,
        stale_datasets: outcome.stale_datasets,
        key_destroyed: outcome.key_destroyed,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetInclusion {
    pub dataset_id: String,
    pub name: String,
    /// The purpose it was built for (`ai.training`, ...).
    pub purpose: String,
    pub created_at_ms: i64,
    pub member_count: i64,
    /// `published`, `stale` (a member of it withdrew consent or was erased) or `withdrawn`.
    pub status: String,
    pub stale_since_ms: Option<i64>,
}

/// "Datasets that included me": every built dataset whose member set includes the member,
/// newest first, with its status. The member themself, or an admin; everyone else gets 404.
#[utoipa::path(get, path = "/api/v1/members/{id}/datasets", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = [DatasetInclusion]), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn datasets(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<axum::Json<Vec<DatasetInclusion>>, ApiError> {
    let id = parse_member_id(&raw)?;
    who.require_member(id)?;
    crate::routes::members::live_member(&state, id).await?;
    let store = state.store.clone();
    let list = blocking(move || {
        steward_datasets::included::datasets_including(&store, id).map_err(|e| match e {
            steward_datasets::error::DatasetError::Store(s) => ApiError::from(s),
            other => ApiError::internal(other.code()),
        })
    })
    .await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|d| DatasetInclusion {
                dataset_id: d.dataset_id,
                name: d.name,
                purpose: d.purpose,
                created_at_ms: d.created_at_ms,
                member_count: d.member_count,
                status: d.status,
                stale_since_ms: d.stale_since_ms,
            })
            .collect(),
    ))
}
