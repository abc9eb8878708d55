//! The policy, for everyone who holds a token: the matrix, one decision explained, and (for
//! auditors, engineers and admins) the diff between two policy texts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use steward_core::consent::{defaults_for, parse_assignment};
use steward_core::policy::diff::diff as policy_diff;
use steward_core::{CategoryId, ConsentSet, Policy, PurposeId, Visibility};

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandidateRule {
    pub rule: String,
    pub form: &'static str,
    pub consent: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatrixCell {
    pub purpose: String,
    pub category: String,
    pub visibility: &'static str,
    /// Candidate rules in order; the first whose consent the member granted decides.
    pub rules: Vec<CandidateRule>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Matrix {
    pub version: String,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    /// Only cells some rule covers; every other cell is denied.
    pub cells: Vec<MatrixCell>,
}

/// The category × purpose × visibility table of the active policy.
#[utoipa::path(get, path = "/api/v1/policy/matrix", security(("bearer" = [])), responses((status = 200, body = Matrix), (status = 401, body = crate::error::ErrorBody)))]
pub async fn matrix(State(state): State<AppState>, _who: Principal) -> Json<Matrix> {
    let p = &state.policy;
    let t = p.taxonomy();
    let mut cells = Vec::new();
    for c in t.category_ids() {
        for pu in t.purpose_ids() {
            for v in Visibility::ALL {
                let rules = p.cell_rules(pu, c, v);
                if rules.is_empty() {
                    continue;
                }
                cells.push(MatrixCell {
                    purpose: t.purpose_name(pu).to_owned(),
                    category: t.category_name(c).to_owned(),
                    visibility: v.as_str(),
                    rules: rules
                        .iter()
                        .map(|e| CandidateRule {
                            rule: p.rule_name(e.rule).to_owned(),
                            form: e.form.as_str(),
                            consent: t
                                .consent_key_ids()
                                .filter(|k| e.required & (1u64 << k.index()) != 0)
                                .map(|k| t.consent_key_name(k).to_owned())
                                .collect(),
                        })
                        .collect(),
                });
            }
        }
    }
    Json(Matrix {
        version: p.version_id(),
        purposes: t.purposes().iter().map(|x| x.name.clone()).collect(),
        categories: t.categories().iter().map(|x| x.name.clone()).collect(),
        cells,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    /// e.g. `ai.training`
    pub purpose: String,
    /// e.g. `member.profile.skills`
    pub category: String,
    /// `public` (default), `connections`, `group_open`, `group_closed` or `private`
    pub visibility: Option<String>,
    /// ISO 3166-1 alpha-2 country that sets the consent defaults (default `US`)
    pub jurisdiction: Option<String>,
    /// Comma-separated `key=on|off` settings applied over the defaults
    pub consent: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExplainResponse {
    pub allowed: bool,
    pub form: Option<&'static str>,
    pub rule: Option<String>,
    pub missing_consent: Option<String>,
    pub reason: String,
    pub purpose: String,
    pub category: String,
    pub visibility: &'static str,
    pub policy_version: String,
}

/// One decision of the active policy, explained.
#[utoipa::path(get, path = "/api/v1/policy/explain", params(ExplainQuery), security(("bearer" = [])), responses((status = 200, body = ExplainResponse), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    _who: Principal,
    query: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let input = explain_input(&state.policy, &q)?;
    let body = match state.explained.get(&input) {
        Some(body) => body,
        None => {
            let answer = explain_answer(&state.policy, input);
            let body = Bytes::from(serde_json::to_vec(&answer).map_err(ApiError::internal)?);
            state.explained.put(input, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Everything a decision depends on, once the query's names are resolved.
type ExplainInput = (PurposeId, CategoryId, Visibility, ConsentSet);

/// At most this many distinct explain answers are kept (there are purposes × categories ×
/// visibilities × consent combinations; callers ask for few of them).
const EXPLAIN_CACHE_CAPACITY: usize = 4_096;

/// Serialized explain answers by decision input, for one policy (the server's, which does not
/// change while it runs). Bounded: when full, it starts over.
#[derive(Debug, Default)]
pub struct ExplainCache {
    entries: RwLock<HashMap<ExplainInput, Bytes>>,
}

impl ExplainCache {
    fn get(&self, input: &ExplainInput) -> Option<Bytes> {
        self.entries.read().ok()?.get(input).cloned()
    }

    fn put(&self, input: ExplainInput, body: Bytes) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= EXPLAIN_CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(input, body);
        }
    }
}

fn explain_input(policy: &Policy, q: &ExplainQuery) -> Result<ExplainInput, ApiError> {
    let t = policy.taxonomy();
    let purpose = t
        .purpose_id(&q.purpose)
        .ok_or_else(|| ApiError::bad_request("policy.unknown_purpose", "unknown purpose"))?;
    let category = t
        .category_id(&q.category)
        .ok_or_else(|| ApiError::bad_request("policy.unknown_category", "unknown category"))?;
    let visibility = match q.visibility.as_deref() {
        None => Visibility::Public,
        Some(v) => Visibility::parse(v).ok_or_else(|| {
            ApiError::bad_request("policy.unknown_visibility", "unknown visibility")
        })?,
    };
    let mut consent = defaults_for(t, q.jurisdiction.as_deref().unwrap_or("US"));
    for a in q
        .consent
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let (k, on) =
            parse_assignment(t, a).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
        consent.set(k, on);
    }
    Ok((purpose, category, visibility, consent))
}

fn explain_answer(policy: &Policy, input: ExplainInput) -> ExplainResponse {
    let (purpose, category, visibility, consent) = input;
    let e = policy.explain(purpose, category, visibility, consent);
    ExplainResponse {
        allowed: e.allowed,
        form: e.form,
        rule: e.rule,
        missing_consent: e.missing_consent,
        reason: e.reason,
        purpose: e.purpose,
        category: e.category,
        visibility: e.visibility,
        policy_version: e.policy_version,
    }
}

/// The active policy's text: the last activated one in the store, else the built-in default.
fn active_source(state: &AppState, tx: &mut steward_store::Tx<'_>) -> Result<String, ApiError> {
    match steward_store::policies::active(tx)? {
        Some(p) if p.version_id == state.policy.version_id() => Ok(p.source),
        _ => Ok(steward_core::policy::DEFAULT_POLICY_TOML.to_owned()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicySource {
    pub version: String,
    /// The TOML text of the active policy.
    pub source: String,
}

/// The active policy's text, to read or to start a candidate from (auditor, engineer, admin).
#[utoipa::path(get, path = "/api/v1/policy/source", security(("bearer" = [])), responses((status = 200, body = PolicySource), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn source(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<PolicySource>, ApiError> {
    who.require(&[Role::Auditor, Role::Engineer, Role::Admin])?;
    let st = state.clone();
    let source = blocking(move || {
        let store = st.store.clone();
        store.read(|tx| active_source(&st, tx))
    })
    .await?;
    Ok(Json(PolicySource {
        version: state.policy.version_id(),
        source,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// The old policy's TOML text (default: the active policy).
    #[serde(default)]
    pub old: Option<String>,
    /// The new policy's TOML text.
    pub new: String,
}

/// Which cells change between two policy texts, and for how many stored members (auditor,
/// engineer, admin). Without `old`, the candidate is compared with the active policy.
#[utoipa::path(post, path = "/api/v1/policy/diff", request_body = DiffRequest, security(("bearer" = [])), responses((status = 200, description = "The cells that change", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 413, description = "Body too large")))]
pub async fn diff(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<DiffRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Auditor, Role::Engineer, Role::Admin])?;
    let Json(req) = body.map_err(|e| ApiError::new(e.status(), "invalid_body", e.body_text()))?;
    let taxonomy = Arc::clone(state.policy.taxonomy());
    let load = |name: &str, src: &str| {
        Policy::load(taxonomy.clone(), name, src)
            .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
    };
    let old_text = match req.old {
        Some(text) => text,
        None => {
            let st = state.clone();
            blocking(move || {
                let store = st.store.clone();
                store.read(|tx| active_source(&st, tx))
            })
            .await?
        }
    };
    let old = load("old", &old_text)?;
    let new = load("new", &req.new)?;
    // Count the stored members each change affects, by their consent now.
    let st = state.clone();
    let population = blocking(move || {
        Ok(st.store.read(|tx| {
            steward_store::policies::consent_population(
                tx,
                st.policy.taxonomy(),
                crate::routes::now_ms(),
            )
        })?)
    })
    .await?;
    let d = policy_diff(&old, &new, Some(&population))
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    serde_json::to_value(d)
        .map(Json)
        .map_err(ApiError::internal)
}
