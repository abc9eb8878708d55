//! A member's own data (`member.self_access`): the profile, the settings and "how my data is
//! used". Member tokens see only their own member; admins see any; everyone else gets 404.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use steward_core::consent::Actor;
use steward_core::{Form, Visibility};
use steward_ledger::audit;
use steward_store::member::{effective_consent, get_member, section_visibility};
use steward_store::schema::SECTIONS;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::routes::blocking;
use crate::state::AppState;

use crate::routes::now_ms;
use crate::routes::parse_member_id as member_id;

/// Section visibilities as the store reports them: (section, visibility, chosen by the member).
type Sections = Vec<(&'static str, Visibility, bool)>;

/// A member who has not been erased, with their effective consent now and their sections'
/// visibility, read in one snapshot. An erased member is 404, like one that never existed.
pub(crate) async fn live_member(
    state: &AppState,
    id: i64,
) -> Result<(steward_store::Member, steward_core::ConsentSet, Sections), ApiError> {
    let (store, policy) = (state.store.clone(), state.policy.clone());
    let (member, consent, sections) = blocking(move || {
        Ok(store.read(|tx| {
            let m = get_member(tx, id)?;
            let c = effective_consent(tx, policy.taxonomy(), &m, now_ms())?;
            let s = section_visibility(tx, id)?;
            Ok::<_, steward_store::StoreError>((m, c, s))
        })?)
    })
    .await?;
    if member.deleted_at.is_some() {
        return Err(ApiError::not_found());
    }
    Ok((member, consent, sections))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub member_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub headline: Option<String>,
    pub summary: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: String,
    pub industry: Option<String>,
    pub job_function: Option<String>,
    pub seniority: Option<String>,
    pub company_size: Option<String>,
    pub years_experience: Option<i64>,
    pub jurisdiction: String,
}

/// The member's profile.
#[utoipa::path(get, path = "/api/v1/members/{id}", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = Profile), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn profile(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<Profile>, ApiError> {
    let id = member_id(&raw)?;
    who.require_member(id)?;
    let store = state.store.clone();
    let m = blocking(move || Ok(store.read(|tx| get_member(tx, id))?)).await?;
    if m.deleted_at.is_some() {
        return Err(ApiError::not_found());
    }
    Ok(Json(Profile {
        member_id: m.member_id,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        phone: m.phone,
        headline: m.headline,
        summary: m.summary,
        city: m.city,
        region: m.region,
        country: m.country,
        industry: m.industry,
        job_function: m.job_function,
        seniority: m.seniority,
        company_size: m.company_size,
        years_experience: m.years_experience,
        jurisdiction: m.jurisdiction,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentSetting {
    pub key: String,
    pub description: String,
    pub granted: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SectionVisibility {
    pub section: String,
    pub visibility: &'static str,
    /// Whether the member chose it (otherwise it is the default).
    pub chosen: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Settings {
    pub jurisdiction: String,
    pub consent: Vec<ConsentSetting>,
    pub visibility: Vec<SectionVisibility>,
}

/// The member's effective settings now: consent (jurisdiction defaults plus their choices)
/// and the visibility of each profile section.
#[utoipa::path(get, path = "/api/v1/members/{id}/settings", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = Settings), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn settings(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<Settings>, ApiError> {
    let id = member_id(&raw)?;
    who.require_member(id)?;
    let (member, consent, sections) = live_member(&state, id).await?;
    let t = state.policy.taxonomy();
    Ok(Json(Settings {
        jurisdiction: member.jurisdiction,
        consent: t
            .consent_key_ids()
            .filter_map(|k| {
                t.consent_key(k).map(|def| ConsentSetting {
                    key: def.name.clone(),
                    description: def.description.clone(),
                    granted: consent.granted(k),
                })
            })
            .collect(),
        visibility: sections
            .into_iter()
            .map(|(name, v, chosen)| SectionVisibility {
                section: name.to_owned(),
                visibility: v.as_str(),
                chosen,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DataUseItem {
    pub category: String,
    pub visibility: &'static str,
    pub allowed: bool,
    pub form: Option<&'static str>,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PurposeUse {
    pub purpose: String,
    pub description: String,
    pub items: Vec<DataUseItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DataUse {
    pub policy_version: String,
    pub purposes: Vec<PurposeUse>,
}

/// "How my data is used": the active policy applied to this member's settings, purpose by
/// purpose, over their profile sections (with the visibility they chose) and their content.
#[utoipa::path(get, path = "/api/v1/members/{id}/data-use", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = DataUse), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn data_use(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<DataUse>, ApiError> {
    let id = member_id(&raw)?;
    who.require_member(id)?;
    let (_, consent, sections) = live_member(&state, id).await?;
    let p = &state.policy;
    let t = p.taxonomy();
    // Profile sections at the visibility the member chose, then what they write and do.
    let mut items: Vec<(&str, Visibility)> = SECTIONS
        .iter()
        .zip(&sections)
        .map(|(s, (_, v, _))| (s.category, *v))
        .collect();
    items.extend([
        ("member.content.post", Visibility::Public),
        ("member.content.post", Visibility::Connections),
        ("member.content.group_post.closed", Visibility::GroupClosed),
        ("member.content.message", Visibility::Private),
        ("member.activity.engagement", Visibility::Private),
    ]);
    let leaf_purposes = t
        .purpose_ids()
        .filter(|&pu| !t.purposes().iter().any(|q| q.parent == Some(pu)));
    let purposes = leaf_purposes
        .map(|pu| PurposeUse {
            purpose: t.purpose_name(pu).to_owned(),
            description: t
                .purpose(pu)
                .map(|x| x.description.clone())
                .unwrap_or_default(),
            items: items
                .iter()
                .filter_map(|(cat, v)| {
                    let c = t.category_id(cat)?;
                    let e = p.explain(pu, c, *v, consent);
                    Some(DataUseItem {
                        category: (*cat).to_owned(),
                        visibility: v.as_str(),
                        allowed: e.allowed,
                        form: e.form.and_then(Form::parse).map(Form::as_str),
                        reason: e.reason,
                    })
                })
                .collect(),
        })
        .collect();
    Ok(Json(DataUse {
        policy_version: p.version_id(),
        purposes,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingRequest {
    /// A consent key (`ai.training`) or a section's visibility (`visibility.headline`).
    pub key: String,
    /// `on`/`off` for consent keys; `public`, `connections` or `private` for visibility.
    pub value: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingChanged {
    pub key: String,
    pub old_value: String,
    pub new_value: String,
    /// The ledger entry that records the change.
    pub ledger_seq: u64,
}

/// Changes one of the member's own settings. Takes effect for every decision at once and is
/// written to the ledger in the same transaction. Only the member may change their settings.
#[utoipa::path(put, path = "/api/v1/members/{id}/settings", params(("id" = i64, Path)), request_body = SettingRequest, security(("bearer" = [])), responses((status = 200, body = SettingChanged), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn change_setting(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    body: Result<Json<SettingRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SettingChanged>, ApiError> {
    let id = member_id(&raw)?;
    // Consent is the member's own word: not even an admin token changes it.
    if who.member_id != Some(id) {
        return Err(ApiError::not_found());
    }
    let Json(req) = body.map_err(|e| ApiError::new(e.status(), "invalid_body", e.body_text()))?;
    let (store, policy) = (state.store.clone(), state.policy.clone());
    let changed = blocking(move || {
        store.transaction(|tx| {
            let version = policy.version_id();
            let ctx = audit::Context {
                actor: &Actor::Member,
                at_ms: now_ms(),
                policy_version: &version,
            };
            let assignment = format!("{}={}", req.key, req.value);
            let (change, seq) = audit::change_setting(tx, policy.taxonomy(), id, &assignment, &ctx)
                .map_err(|e| match e {
                    audit::AuditedError::Store(s) => ApiError::from(s),
                    audit::AuditedError::Ledger(l) => ApiError::internal(l.code()),
                })?;
            Ok::<_, ApiError>(SettingChanged {
                key: change.key,
                old_value: change.old_value,
                new_value: change.new_value,
                ledger_seq: seq,
            })
        })
    })
    .await?;
    Ok(Json(changed))
}
