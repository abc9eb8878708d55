//! Ads over HTTP: the advertiser's audiences, campaigns and differentially private reports,
//! skills-in-demand insights, the eligibility answer for ad serving, a member's view of which
//! of their attributes ads may use, and the advertiser console's files.
//!
//! Every rule lives in `steward-ads`; this module decides who may call what and keeps the
//! audience index current.
//!
//! - **An advertiser sees only its own account.** An advertiser token acts for the account
//!   named by its label (`steward tokens create --role advertiser --label acme`), or for an
//!   account of its own (`advertiser.<token id>`) when it has no label. Another account's
//!   audience or campaign is `ads.not_found`. No response to an advertiser carries a member id
//!   or an exact count: sizes are rounded, noised estimates and reports are DP aggregates.
//! - **The minimum audience is the server's.** Create, edit, attach, launch and resume recount
//!   the audience on an index that is checked against the database first (so a member's
//!   opt-out a moment ago counts), and refuse below the minimum with
//!   `ads.audience_too_small` — a client that re-enables its button changes nothing. Every
//!   refresh of the index also pauses active campaigns whose audience shrank below it.
//! - **The index is shared and cheap to keep current.** It is rebuilt through the gate when
//!   a fingerprint of what it depends on (consent and profile events, members, skills) moves;
//!   when only campaigns or audiences changed, the index is kept and the eligibility snapshot
//!   rebuilt. Eligibility answers from the snapshot without touching the database and checks
//!   the fingerprint at most every [`CHECK_EVERY_MS`].

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use steward_ads::attr::Attribute;
use steward_ads::audience::{self, AdsConfig, Audience, Estimate};
use steward_ads::campaign::{self, Campaign};
use steward_ads::report::{self, Dimension, ReportRequest};
use steward_ads::{AdsError, AudienceIndex, Eligibility, Expr, schema};
use steward_core::{Form, Policy};
use steward_ledger::Ledger;
use steward_privacy::dp::{Epsilon, NoiseKey};
use steward_store::schema::SECTIONS;
use steward_store::{Store, StoreError, Tx, Value};

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::{blocking, now_ms, parse_member_id};
use crate::state::{AppState, LEDGER_ORIGIN};

/// How often eligibility looks at the database for changes (members' settings, campaigns).
pub const CHECK_EVERY_MS: i64 = 1_000;
/// An index older than this is rebuilt even if nothing it depends on seemed to change
/// (consent can depend on time: a member comes of age).
const MAX_INDEX_AGE_MS: i64 = 10 * 60 * 1_000;
/// Skills in demand: the ε and δ of the daily release, and the most skills per industry.
const SKILLS_EPSILON: Epsilon = Epsilon(1_000_000);
const SKILLS_DELTA: f64 = 1e-6;
const SKILLS_MAX_TOP: usize = 10;
/// Longest audience expression and name accepted.
const MAX_EXPRESSION: usize = 4_000;
const MAX_NAME: usize = 200;

/// The server's ads settings: the default minimum audience (300), never below 100.
fn config() -> AdsConfig {
    AdsConfig::default()
}

fn ledger() -> Ledger {
    Ledger::new(LEDGER_ORIGIN)
}

// ---------------------------------------------------------------------------------------
// Errors

/// An ads failure in the API's error shape, with the library's stable code.
fn ads_error(e: AdsError) -> ApiError {
    let code = e.code();
    let message = e.to_string();
    match e {
        AdsError::Parse { .. }
        | AdsError::UnknownAttribute { .. }
        | AdsError::Invalid(_)
        | AdsError::Config(_) => ApiError::bad_request(code, message),
        AdsError::AttributeNotAllowed { .. }
        | AdsError::AudienceTooSmall { .. }
        | AdsError::MatchedTooSmall { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
        AdsError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, code, message),
        AdsError::InvalidState { .. } => ApiError::new(StatusCode::CONFLICT, code, message),
        AdsError::Dp(_) => match code {
            "dp.budget_exhausted" => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            "dp.invalid_parameter" => ApiError::bad_request(code, message),
            _ => ApiError::internal(code),
        },
        AdsError::Gate(_) if code == "gate.denied" => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
        AdsError::Store(s) => ApiError::from(s),
        AdsError::Gate(_) | AdsError::Ledger(_) => ApiError::internal(code),
    }
}

fn json_body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::new(e.status(), "invalid_body", e.body_text()))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
}

/// An audience or campaign id from the path; anything else is 404 like a missing one.
fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "ads.not_found", "no such resource"))
}

fn check_text(what: &str, text: &str, max: usize) -> Result<(), AdsError> {
    if text.trim().is_empty() || text.len() > max {
        return Err(AdsError::Invalid(format!(
            "{what} is 1 to {max} characters"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The shared index and eligibility snapshot

/// What the index and the eligibility snapshot depend on. Cheap to read (a few aggregates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Fingerprint {
    /// Consent and profile events, live members, the highest member id, skills.
    members: [i64; 5],
    /// Campaigns and audiences: counts and latest changes.
    ads: [i64; 4],
}

fn fingerprint(tx: &mut Tx<'_>) -> Result<Fingerprint, StoreError> {
    let r = tx
        .query_opt(
            "SELECT (SELECT COALESCE(MAX(event_id), 0) FROM consent_events), \
                    (SELECT COALESCE(MAX(event_id), 0) FROM profile_events), \
                    (SELECT COUNT(*) FROM members WHERE deleted_at IS NULL), \
                    (SELECT COALESCE(MAX(member_id), 0) FROM members), \
                    (SELECT COUNT(*) FROM skills), \
                    (SELECT COUNT(*) FROM ads_campaigns), \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM ads_campaigns), \
                    (SELECT COUNT(*) FROM ads_audiences), \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM ads_audiences)",
            &[],
        )?
        .ok_or_else(|| StoreError::Invalid("no fingerprint row".to_owned()))?;
    Ok(Fingerprint {
        members: [r.i64(0)?, r.i64(1)?, r.i64(2)?, r.i64(3)?, r.i64(4)?],
        ads: [r.i64(5)?, r.i64(6)?, r.i64(7)?, r.i64(8)?],
    })
}

/// One consistent view: the index, the eligibility of every active campaign, the noise key.
struct Snapshot {
    fingerprint: Fingerprint,
    index: Arc<AudienceIndex>,
    eligibility: Eligibility,
    key: NoiseKey,
}

/// The ads state of one store.
struct Shared {
    store: Weak<Store>,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// When the fingerprint was last compared (ms since the epoch).
    checked_ms: AtomicI64,
    installed: AtomicBool,
    rebuild: Mutex<()>,
    /// Today's skills-in-demand release: (UTC day, the release).
    skills: Mutex<Option<(i64, Arc<SkillsInDemand>)>>,
}

/// The ads state per store. `AppState` belongs to every route; keeping this here keeps the
/// ads wiring in one file. The `Weak` pins the store's allocation, so an address cannot be
/// reused by another store while its entry lives; dead entries are dropped on the next look-up.
fn shared(store: &Arc<Store>) -> Arc<Shared> {
    static REGISTRY: OnceLock<Mutex<Vec<Arc<Shared>>>> = OnceLock::new();
    let mut list = REGISTRY
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ptr = Arc::as_ptr(store);
    if let Some(s) = list.iter().find(|s| std::ptr::eq(s.store.as_ptr(), ptr)) {
        return s.clone();
    }
    list.retain(|s| s.store.strong_count() > 0);
    let s = Arc::new(Shared {
        store: Arc::downgrade(store),
        current: RwLock::new(None),
        checked_ms: AtomicI64::new(0),
        installed: AtomicBool::new(false),
        rebuild: Mutex::new(()),
        skills: Mutex::new(None),
    });
    list.push(s.clone());
    s
}

impl Shared {
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// After a write of ours: the next look-up compares the fingerprint again.
    fn touch(&self) {
        self.checked_ms.store(0, Ordering::Relaxed);
    }
}

/// Whether a caller may use a snapshot checked less than [`CHECK_EVERY_MS`] ago.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// Ad serving: a snapshot at most a second old.
    Recent,
    /// Anything that checks the minimum: compared with the database now.
    Now,
}

/// The current snapshot, rebuilt if what it depends on changed.
async fn snapshot(state: &AppState, freshness: Freshness) -> Result<Arc<Snapshot>, ApiError> {
    let sh = shared(&state.store);
    if freshness == Freshness::Recent
        && let Some(s) = sh.current()
    {
        let (checked, now) = (sh.checked_ms.load(Ordering::Relaxed), now_ms());
        if now - checked < CHECK_EVERY_MS {
            return Ok(s);
        }
        // One caller looks at the database; the others keep answering from this snapshot
        // meanwhile instead of queueing behind it.
        if sh
            .checked_ms
            .compare_exchange(checked, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return Ok(s);
        }
    }
    let (store, policy) = (state.store.clone(), state.policy.clone());
    blocking(move || refresh(&store, &policy, &sh)).await
}

fn refresh(store: &Store, policy: &Policy, sh: &Shared) -> Result<Arc<Snapshot>, ApiError> {
    let _one_at_a_time = sh
        .rebuild
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !sh.installed.load(Ordering::Acquire) {
        schema::install(store).map_err(ads_error)?;
        sh.installed.store(true, Ordering::Release);
    }
    let now = now_ms();
    let fp = store.read(fingerprint)?;
    let current = sh.current();
    let young = |s: &Snapshot| now - s.index.built_at_ms < MAX_INDEX_AGE_MS;
    if let Some(s) = &current
        && s.fingerprint == fp
        && young(s)
    {
        sh.checked_ms.store(now, Ordering::Relaxed);
        return Ok(s.clone());
    }
    let keep_index = current
        .filter(|s| s.fingerprint.members == fp.members && young(s))
        .map(|s| s.index.clone());
    let snap = store
        .transaction(|tx| {
            let key = schema::noise_key(tx)?;
            let index = match keep_index {
                Some(i) => i,
                None => Arc::new(AudienceIndex::build_in(tx, policy, now)?),
            };
            // Campaigns whose audience shrank below the minimum stop here.
            campaign::enforce_minimums(tx, &ledger(), &index, &config(), now)?;
            let eligibility = Eligibility::build(tx, &index)?;
            let fingerprint = fingerprint(tx)?;
            Ok::<_, AdsError>(Snapshot {
                fingerprint,
                index,
                eligibility,
                key,
            })
        })
        .map_err(ads_error)?;
    let snap = Arc::new(snap);
    *sh.current
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snap.clone());
    sh.checked_ms.store(now, Ordering::Relaxed);
    Ok(snap)
}

/// The advertiser account an advertiser token acts for: its label, or its own account.
fn account(tx: &mut Tx<'_>, who: &Principal) -> Result<String, StoreError> {
    let label = tx
        .query_opt(
            "SELECT label FROM api_tokens WHERE token_id = $1",
            &[Value::from(who.token_id.as_str())],
        )?
        .map(|r| r.text(0))
        .transpose()?
        .unwrap_or_default();
    let label = label.trim();
    Ok(if label.is_empty() {
        format!("advertiser.{}", who.token_id)
    } else {
        label.to_owned()
    })
}

// ---------------------------------------------------------------------------------------
// Response shapes (no member ids, no exact counts)

/// A size as the advertiser may see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EstimateView {
    /// Rounded to two significant digits and noised; absent below the minimum.
    pub about: Option<u64>,
    /// True when the audience reaches fewer members than the minimum (no number is given).
    pub below_minimum: bool,
    /// The minimum audience this server enforces.
    pub minimum: u32,
    /// "about 1200" or "fewer than 300".
    pub text: String,
}

fn estimate_view(e: &Estimate) -> EstimateView {
    EstimateView {
        about: match e {
            Estimate::About(n) => Some(*n),
            Estimate::BelowMinimum { .. } => None,
        },
        below_minimum: matches!(e, Estimate::BelowMinimum { .. }),
        minimum: config().min_audience(),
        text: e.text(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AudienceView {
    pub id: i64,
    pub name: String,
    /// `attributes` or `matched`.
    pub kind: &'static str,
    /// The canonical expression of an attribute audience.
    pub expression: Option<String>,
    /// The audience's size now.
    pub estimate: EstimateView,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn audience_view(a: &Audience, e: &Estimate) -> AudienceView {
    AudienceView {
        id: a.id,
        name: a.name.clone(),
        kind: a.kind.as_str(),
        expression: a.expression.clone(),
        estimate: estimate_view(e),
        created_at_ms: a.created_at,
        updated_at_ms: a.updated_at,
    }
}

/// The estimate of a stored audience on the snapshot.
fn current_estimate(tx: &mut Tx<'_>, snap: &Snapshot, a: &Audience) -> Result<Estimate, AdsError> {
    let n = audience::members(tx, &snap.index, a)?.len();
    let canonical = a
        .expression
        .clone()
        .unwrap_or_else(|| format!("matched:{}", a.id));
    audience::estimate_from_count(&snap.key, &config(), &canonical, n)
}

/// ε of a budget scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    pub epsilon: f64,
    pub spent: f64,
    pub remaining: f64,
}

fn budget_view(budget: Epsilon, spent: Epsilon) -> BudgetView {
    BudgetView {
        epsilon: budget.as_f64(),
        spent: spent.as_f64(),
        remaining: Epsilon(budget.0.saturating_sub(spent.0)).as_f64(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    /// The audience; absent for an untargeted campaign.
    pub audience: Option<i64>,
    /// `draft`, `active`, `paused` or `ended`.
    pub status: &'static str,
    /// `advertiser`, or `audience_below_minimum` when the server paused it.
    pub pause_reason: Option<String>,
    /// The campaign's ε for reports.
    pub budget: BudgetView,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn campaign_view(tx: &mut Tx<'_>, c: &Campaign) -> Result<CampaignView, AdsError> {
    let acct = report::accountant(tx, &c.advertiser, c.id, c.epsilon_budget)?;
    let spent = acct.get("campaign").map_or(Epsilon(0), |s| s.spent.epsilon);
    Ok(CampaignView {
        id: c.id,
        name: c.name.clone(),
        audience: c.audience_id,
        status: c.status.as_str(),
        pause_reason: c.pause_reason.clone(),
        budget: budget_view(c.epsilon_budget, spent),
        created_at_ms: c.created_at,
        updated_at_ms: c.updated_at,
    })
}

// ---------------------------------------------------------------------------------------
// Attributes

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttributeView {
    /// The name written in expressions.
    pub name: &'static str,
    /// The taxonomy category it is read from.
    pub category: &'static str,
    /// The member's switch for it.
    pub consent_key: &'static str,
    /// Whether the active policy lets `ads.targeting` use it.
    pub allowed: bool,
    /// The closed vocabulary, where there is one (otherwise free values).
    pub values: Option<Vec<&'static str>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttributesView {
    pub minimum: u32,
    pub policy_version: String,
    pub attributes: Vec<AttributeView>,
}

/// The member's consent key for an attribute.
fn consent_key(a: Attribute) -> &'static str {
    match a {
        Attribute::Region | Attribute::Country => "ads.attr.region",
        Attribute::Industry => "ads.attr.industry",
        Attribute::JobFunction => "ads.attr.job_function",
        Attribute::Seniority => "ads.attr.seniority",
        Attribute::Skill => "ads.attr.skills",
        Attribute::CompanySize => "ads.attr.company_size",
        Attribute::YearsExperience => "ads.attr.years_experience",
    }
}

/// What an audience may be built from: the attributes, their vocabularies and the minimum.
#[utoipa::path(get, path = "/api/v1/ads/attributes", security(("bearer" = [])), responses((status = 200, body = AttributesView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn attributes(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<AttributesView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    Ok(Json(AttributesView {
        minimum: config().min_audience(),
        policy_version: state.policy.version_id(),
        attributes: Attribute::ALL
            .iter()
            .map(|&a| AttributeView {
                name: a.name(),
                category: a.category(),
                consent_key: consent_key(a),
                allowed: a.allowed_by(&state.policy),
                values: a.vocabulary().map(<[&str]>::to_vec),
            })
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------
// Audiences

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateRequest {
    /// e.g. `industry in (software, finance) and not seniority = entry`
    pub expression: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EstimateAnswer {
    /// The canonical form of the expression.
    pub expression: String,
    pub estimate: EstimateView,
}

/// The live size estimate of an expression: rounded, noised with consistent noise (the same
/// audience always gets the same answer), and no number below the minimum.
#[utoipa::path(post, path = "/api/v1/ads/audiences/estimate", request_body = EstimateRequest, security(("bearer" = [])), responses((status = 200, body = EstimateAnswer), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn estimate(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<EstimateRequest>, JsonRejection>,
) -> Result<Json<EstimateAnswer>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let req = json_body(body)?;
    check_text("an expression", &req.expression, MAX_EXPRESSION).map_err(ads_error)?;
    let expr = Expr::parse_allowed(&req.expression, &state.policy).map_err(ads_error)?;
    let snap = snapshot(&state, Freshness::Recent).await?;
    let e = audience::estimate(&snap.index, &snap.key, &config(), &expr).map_err(ads_error)?;
    Ok(Json(EstimateAnswer {
        expression: expr.canonical(),
        estimate: estimate_view(&e),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    pub name: String,
    pub expression: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceEdit {
    pub expression: String,
}

/// Creates an attribute audience; refused below the minimum (`ads.audience_too_small`,
/// without the count).
#[utoipa::path(post, path = "/api/v1/ads/audiences", request_body = AudienceRequest, security(("bearer" = [])), responses((status = 200, body = AudienceView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_audience(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<AudienceRequest>, JsonRejection>,
) -> Result<Json<AudienceView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let req = json_body(body)?;
    check_text("an audience name", &req.name, MAX_NAME).map_err(ads_error)?;
    check_text("an expression", &req.expression, MAX_EXPRESSION).map_err(ads_error)?;
    Expr::parse_allowed(&req.expression, &state.policy).map_err(ads_error)?;
    let snap = snapshot(&state, Freshness::Now).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let saved = audience::create(
                    tx,
                    &ledger(),
                    &snap.index,
                    &snap.key,
                    &config(),
                    &adv,
                    req.name.trim(),
                    &req.expression,
                    now_ms(),
                )?;
                Ok::<_, AdsError>(audience_view(&saved.audience, &saved.estimate))
            })
            .map_err(ads_error)
    })
    .await?;
    shared(&state.store).touch();
    Ok(Json(view))
}

/// The advertiser's audiences with their current estimates.
#[utoipa::path(get, path = "/api/v1/ads/audiences", security(("bearer" = [])), responses((status = 200, body = [AudienceView]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn audiences(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<Vec<AudienceView>>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let snap = snapshot(&state, Freshness::Recent).await?;
    let store = state.store.clone();
    let views = blocking(move || {
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let mut out = Vec::new();
                for a in audience::list(tx, &adv)? {
                    let e = current_estimate(tx, &snap, &a)?;
                    out.push(audience_view(&a, &e));
                }
                Ok::<_, AdsError>(out)
            })
            .map_err(ads_error)
    })
    .await?;
    Ok(Json(views))
}

/// One of the advertiser's audiences with its current estimate.
#[utoipa::path(get, path = "/api/v1/ads/audiences/{audience}", params(("audience" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = AudienceView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn audience(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<AudienceView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let id = parse_id(&raw)?;
    let snap = snapshot(&state, Freshness::Recent).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let a = audience::get(tx, &adv, id)?;
                let e = current_estimate(tx, &snap, &a)?;
                Ok::<_, AdsError>(audience_view(&a, &e))
            })
            .map_err(ads_error)
    })
    .await?;
    Ok(Json(view))
}

/// Replaces an audience's expression; refused below the minimum (the old one stays).
#[utoipa::path(put, path = "/api/v1/ads/audiences/{audience}", params(("audience" = i64, Path)), request_body = AudienceEdit, security(("bearer" = [])), responses((status = 200, body = AudienceView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit_audience(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    body: Result<Json<AudienceEdit>, JsonRejection>,
) -> Result<Json<AudienceView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let id = parse_id(&raw)?;
    let req = json_body(body)?;
    check_text("an expression", &req.expression, MAX_EXPRESSION).map_err(ads_error)?;
    Expr::parse_allowed(&req.expression, &state.policy).map_err(ads_error)?;
    let snap = snapshot(&state, Freshness::Now).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let saved = audience::edit(
                    tx,
                    &ledger(),
                    &snap.index,
                    &snap.key,
                    &config(),
                    &adv,
                    id,
                    &req.expression,
                    now_ms(),
                )?;
                Ok::<_, AdsError>(audience_view(&saved.audience, &saved.estimate))
            })
            .map_err(ads_error)
    })
    .await?;
    shared(&state.store).touch();
    Ok(Json(view))
}

// ---------------------------------------------------------------------------------------
// Campaigns

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub name: String,
    /// The audience; omit for an untargeted campaign.
    pub audience: Option<i64>,
    /// The campaign's ε for reports (default 5).
    pub budget: Option<f64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    pub audience: i64,
}

/// The advertiser's campaigns with their budgets.
#[utoipa::path(get, path = "/api/v1/ads/campaigns", security(("bearer" = [])), responses((status = 200, body = [CampaignView]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn campaigns(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    who.require(&[Role::Advertiser])?;
    // Refreshing pauses campaigns whose audience shrank, so the list shows it.
    snapshot(&state, Freshness::Recent).await?;
    let store = state.store.clone();
    let views = blocking(move || {
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let mut out = Vec::new();
                for c in campaign::list(tx, &adv)? {
                    out.push(campaign_view(tx, &c)?);
                }
                Ok::<_, AdsError>(out)
            })
            .map_err(ads_error)
    })
    .await?;
    Ok(Json(views))
}

/// One of the advertiser's campaigns.
#[utoipa::path(get, path = "/api/v1/ads/campaigns/{campaign}", params(("campaign" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn campaign(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let id = parse_id(&raw)?;
    snapshot(&state, Freshness::Recent).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let c = campaign::get(tx, &adv, id)?;
                campaign_view(tx, &c)
            })
            .map_err(ads_error)
    })
    .await?;
    Ok(Json(view))
}

/// Creates a draft campaign, targeted (the audience is checked against the minimum) or not.
#[utoipa::path(post, path = "/api/v1/ads/campaigns", request_body = CampaignRequest, security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_campaign(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<CampaignRequest>, JsonRejection>,
) -> Result<Json<CampaignView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let req = json_body(body)?;
    check_text("a campaign name", &req.name, MAX_NAME).map_err(ads_error)?;
    let budget = req
        .budget
        .map(Epsilon::from_f64)
        .transpose()
        .map_err(|e| ads_error(e.into()))?;
    let snap = snapshot(&state, Freshness::Now).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let c = campaign::create(
                    tx,
                    &ledger(),
                    &snap.index,
                    &config(),
                    &adv,
                    req.name.trim(),
                    req.audience,
                    budget,
                    now_ms(),
                )?;
                campaign_view(tx, &c)
            })
            .map_err(ads_error)
    })
    .await?;
    shared(&state.store).touch();
    Ok(Json(view))
}

/// A campaign action that may change its reach.
#[derive(Clone, Copy)]
enum Action {
    Attach(i64),
    Launch,
    Pause,
    Resume,
}

async fn act(
    state: AppState,
    who: Principal,
    raw: &str,
    action: Action,
) -> Result<Json<CampaignView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let id = parse_id(raw)?;
    let snap = snapshot(&state, Freshness::Now).await?;
    let store = state.store.clone();
    let view = blocking(move || {
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let (l, cfg, now) = (ledger(), config(), now_ms());
                let c = match action {
                    Action::Attach(a) => {
                        campaign::attach_audience(tx, &l, &snap.index, &cfg, &adv, id, a, now)?
                    }
                    Action::Launch => campaign::launch(tx, &l, &snap.index, &cfg, &adv, id, now)?,
                    Action::Pause => campaign::pause(tx, &l, &adv, id, now)?,
                    Action::Resume => campaign::resume(tx, &l, &snap.index, &cfg, &adv, id, now)?,
                };
                campaign_view(tx, &c)
            })
            .map_err(ads_error)
    })
    .await?;
    shared(&state.store).touch();
    Ok(Json(view))
}

/// Attaches (or replaces) a campaign's audience; refused below the minimum.
#[utoipa::path(post, path = "/api/v1/ads/campaigns/{campaign}/audience", params(("campaign" = i64, Path)), request_body = AttachRequest, security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn attach(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    body: Result<Json<AttachRequest>, JsonRejection>,
) -> Result<Json<CampaignView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    parse_id(&raw)?;
    let req = json_body(body)?;
    act(state, who, &raw, Action::Attach(req.audience)).await
}

/// Launches a draft; the audience is recounted here, whatever the client believed.
#[utoipa::path(post, path = "/api/v1/ads/campaigns/{campaign}/launch", params(("campaign" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn launch(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    act(state, who, &raw, Action::Launch).await
}

/// Pauses an active campaign.
#[utoipa::path(post, path = "/api/v1/ads/campaigns/{campaign}/pause", params(("campaign" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    act(state, who, &raw, Action::Pause).await
}

/// Resumes a paused campaign; the audience is recounted.
#[utoipa::path(post, path = "/api/v1/ads/campaigns/{campaign}/resume", params(("campaign" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = CampaignView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    act(state, who, &raw, Action::Resume).await
}

// ---------------------------------------------------------------------------------------
// Reports

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `industry`, `seniority`, `function`, `region` or `company_size`
    pub by: Option<String>,
    /// The whole days before today (UTC) the report covers (default 7).
    pub days: Option<u32>,
    /// The ε this report spends (default 0.5), split over impressions, clicks, conversions.
    pub epsilon: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportRowView {
    pub cell: String,
    /// True when the cell's noisy impressions were under the release threshold.
    pub suppressed: bool,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
    pub conversions: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub campaign: i64,
    pub by: Option<&'static str>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: Vec<ReportRowView>,
    /// ε of this report.
    pub epsilon: f64,
    /// False when the same question was answered before: same answer, nothing spent.
    pub charged: bool,
    pub campaign_budget: BudgetView,
    pub advertiser_budget: BudgetView,
    /// Expected absolute error of impressions, clicks and conversions per cell.
    pub expected_abs_error: [f64; 3],
    pub suppressed: usize,
    pub ledger_seq: u64,
}

/// A differentially private campaign report: bounded contributions, discrete Laplace noise
/// seeded from the question (asking again gives the same report and spends nothing), small
/// cells suppressed, with ε spent and remaining; refused past the campaign's or the
/// advertiser's budget (`dp.budget_exhausted`).
#[utoipa::path(get, path = "/api/v1/ads/campaigns/{campaign}/report", params(("campaign" = i64, Path), ReportQuery), security(("bearer" = [])), responses((status = 200, body = ReportView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn campaign_report(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<ReportView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let id = parse_id(&raw)?;
    let q = query(q)?;
    let by = match q.by.as_deref().filter(|s| !s.is_empty() && *s != "none") {
        None => None,
        Some(d) => Some(Dimension::parse(d).ok_or_else(|| {
            ApiError::bad_request(
                "ads.invalid",
                format!("unknown dimension `{d}`; one of industry, seniority, function, region, company_size"),
            )
        })?),
    };
    let epsilon = Epsilon::from_f64(q.epsilon.unwrap_or(0.5)).map_err(|e| ads_error(e.into()))?;
    let request = ReportRequest {
        campaign_id: id,
        by,
        days: q.days.unwrap_or(7),
        epsilon,
    };
    let snap = snapshot(&state, Freshness::Recent).await?;
    let (store, policy) = (state.store.clone(), state.policy.clone());
    let r = blocking(move || {
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                report::campaign_report(tx, &ledger(), &policy, &snap.key, &adv, &request, now_ms())
            })
            .map_err(ads_error)
    })
    .await?;
    let bv = |b: &report::BudgetStatus| budget_view(b.budget, b.spent);
    Ok(Json(ReportView {
        campaign: r.campaign_id,
        by: r.by.map(Dimension::name),
        from_ms: r.from_ms,
        to_ms: r.to_ms,
        rows: r
            .rows
            .iter()
            .map(|row| ReportRowView {
                cell: row.cell.clone(),
                suppressed: row.funnel.is_none(),
                impressions: row.funnel.map(|f| f.impressions),
                clicks: row.funnel.map(|f| f.clicks),
                conversions: row.funnel.map(|f| f.conversions),
            })
            .collect(),
        epsilon: r.epsilon.as_f64(),
        charged: r.charged,
        campaign_budget: bv(&r.campaign_budget),
        advertiser_budget: bv(&r.advertiser_budget),
        expected_abs_error: r.expected_abs_error,
        suppressed: r.suppressed,
        ledger_seq: r.ledger_seq,
    }))
}

// ---------------------------------------------------------------------------------------
// Insights

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillCount {
    pub skill: String,
    /// A noisy count (discrete Laplace).
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndustrySkillsView {
    pub industry: String,
    pub skills: Vec<SkillCount>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillsInDemand {
    pub epsilon: f64,
    pub delta: f64,
    /// The UTC day of the release; one release a day, ledgered once.
    pub day: i64,
    pub industries: Vec<IndustrySkillsView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SkillsQuery {
    /// Skills per industry (1 to 10, default 5).
    pub top: Option<usize>,
}

/// Skills in demand: the top skills per industry as one differentially private release a
/// day (partition selection over the open domain of skills), ledgered for
/// `analytics.insights`. Every caller that day gets the same release.
#[utoipa::path(get, path = "/api/v1/ads/insights/skills", params(SkillsQuery), security(("bearer" = [])), responses((status = 200, body = SkillsInDemand), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn skills(
    State(state): State<AppState>,
    _who: Principal,
    q: Result<Query<SkillsQuery>, QueryRejection>,
) -> Result<Json<SkillsInDemand>, ApiError> {
    let q = query(q)?;
    let top = q.top.unwrap_or(5);
    if !(1..=SKILLS_MAX_TOP).contains(&top) {
        return Err(ApiError::bad_request(
            "ads.invalid",
            format!("top is 1 to {SKILLS_MAX_TOP}"),
        ));
    }
    let snap = snapshot(&state, Freshness::Recent).await?;
    let sh = shared(&state.store);
    let (store, policy) = (state.store.clone(), state.policy.clone());
    let release = blocking(move || {
        let mut cached = sh
            .skills
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now_ms();
        let day = now.div_euclid(86_400_000);
        if let Some((d, r)) = cached.as_ref()
            && *d == day
        {
            return Ok(r.clone());
        }
        let out = store
            .transaction(|tx| {
                steward_ads::insights::skills_in_demand(
                    tx,
                    &ledger(),
                    &policy,
                    &snap.key,
                    SKILLS_EPSILON,
                    SKILLS_DELTA,
                    SKILLS_MAX_TOP,
                    now,
                )
            })
            .map_err(ads_error)?;
        let r = Arc::new(SkillsInDemand {
            epsilon: SKILLS_EPSILON.as_f64(),
            delta: SKILLS_DELTA,
            day,
            industries: out
                .into_iter()
                .map(|i| IndustrySkillsView {
                    industry: i.industry,
                    skills: i
                        .skills
                        .into_iter()
                        .map(|(skill, count)| SkillCount { skill, count })
                        .collect(),
                })
                .collect(),
        });
        *cached = Some((day, r.clone()));
        Ok(r)
    })
    .await?;
    Ok(Json(SkillsInDemand {
        epsilon: release.epsilon,
        delta: release.delta,
        day: release.day,
        industries: release
            .industries
            .iter()
            .map(|i| IndustrySkillsView {
                industry: i.industry.clone(),
                skills: i
                    .skills
                    .iter()
                    .take(top)
                    .map(|s| SkillCount {
                        skill: s.skill.clone(),
                        count: s.count,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------
// Eligibility

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    pub member: i64,
    /// One campaign; omit to list every active campaign the member may be shown.
    pub campaign: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EligibilityAnswer {
    pub member: i64,
    pub campaign: Option<i64>,
    /// With `campaign`: whether the member may be shown it.
    pub eligible: Option<bool>,
    /// Without `campaign`: the active campaigns the member may be shown.
    pub campaigns: Option<Vec<i64>>,
}

/// For ad serving (engineers' and admins' tokens): may this member be shown this campaign?
/// Opt-outs are applied — a member with personalized ads off, or the needed attribute
/// switched off, only gets untargeted campaigns. Answered from a snapshot at most
/// [`CHECK_EVERY_MS`] old; advertisers may not ask, so audiences cannot be probed member by
/// member.
#[utoipa::path(get, path = "/api/v1/ads/eligibility", params(EligibilityQuery), security(("bearer" = [])), responses((status = 200, body = EligibilityAnswer), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn eligibility(
    State(state): State<AppState>,
    who: Principal,
    q: Result<Query<EligibilityQuery>, QueryRejection>,
) -> Result<Json<EligibilityAnswer>, ApiError> {
    who.require(&[Role::Engineer, Role::Admin])?;
    let q = query(q)?;
    let snap = snapshot(&state, Freshness::Recent).await?;
    Ok(Json(match q.campaign {
        Some(c) => EligibilityAnswer {
            member: q.member,
            campaign: Some(c),
            eligible: Some(snap.eligibility.is_eligible(q.member, c)),
            campaigns: None,
        },
        None => EligibilityAnswer {
            member: q.member,
            campaign: None,
            eligible: None,
            campaigns: Some(snap.eligibility.campaigns_for(q.member)),
        },
    }))
}

// ---------------------------------------------------------------------------------------
// The member's side

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberAdAttribute {
    /// The attribute's name in audiences (`industry`, `skill`, ...).
    pub attribute: &'static str,
    /// The member's switch for it (`ads.attr.industry`).
    pub consent_key: &'static str,
    pub description: String,
    /// What the member's profile holds for it (their own data, shown to them only).
    pub value: Option<String>,
    /// Whether the member's switch for this attribute is on.
    pub switched_on: bool,
    /// Whether ads may use it now: the policy, their switches (this one and
    /// `ads.personalized`) and the visibility they chose for the section.
    pub used: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberAds {
    /// `ads.personalized`: off means no attribute is used and only untargeted ads are shown.
    pub personalized: bool,
    pub attributes: Vec<MemberAdAttribute>,
}

/// Which of the member's attributes ads may use, each with its switch (changed through
/// `PUT /api/v1/members/{id}/settings`).
#[utoipa::path(get, path = "/api/v1/members/{id}/ads", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = MemberAds), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn member_ads(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<MemberAds>, ApiError> {
    let id = parse_member_id(&raw)?;
    who.require_member(id)?;
    let (m, consent, sections) = crate::routes::members::live_member(&state, id).await?;
    let store = state.store.clone();
    let skills: Vec<String> = blocking(move || {
        Ok(store.read(|tx| {
            tx.query(
                "SELECT skill FROM skills WHERE member_id = $1 ORDER BY endorsements DESC, skill",
                &[Value::from(id)],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, _>>()
        })?)
    })
    .await?;
    let p = &state.policy;
    let t = p.taxonomy();
    let granted = |key: &str| t.consent_key_id(key).is_some_and(|k| consent.granted(k));
    let purpose = t.purpose_id(steward_ads::PURPOSE);
    let attrs = [
        (Attribute::Region, m.region.clone()),
        (Attribute::Industry, m.industry.clone()),
        (Attribute::JobFunction, m.job_function.clone()),
        (Attribute::Seniority, m.seniority.clone()),
        (
            Attribute::Skill,
            Some(skills.join(", ")).filter(|s| !s.is_empty()),
        ),
        (Attribute::CompanySize, m.company_size.clone()),
        (
            Attribute::YearsExperience,
            m.years_experience
                .map(|y| steward_ads::attr::years_band(y).to_owned()),
        ),
    ];
    let attributes = attrs
        .into_iter()
        .map(|(a, value)| {
            let key = consent_key(a);
            let visibility = SECTIONS
                .iter()
                .zip(&sections)
                .find(|(s, _)| s.category == a.category())
                .map(|(_, (_, v, _))| *v);
            let used = match (purpose, t.category_id(a.category()), visibility) {
                (Some(pu), Some(c), Some(v)) => p.decide(pu, c, v, consent).permits(Form::Audience),
                _ => false,
            } && value.is_some();
            MemberAdAttribute {
                attribute: if a == Attribute::Region {
                    "location"
                } else {
                    a.name()
                },
                consent_key: key,
                description: t
                    .consent_key_id(key)
                    .and_then(|k| t.consent_key(k))
                    .map(|d| d.description.clone())
                    .unwrap_or_default(),
                value,
                switched_on: granted(key),
                used,
            }
        })
        .collect();
    Ok(Json(MemberAds {
        personalized: granted("ads.personalized"),
        attributes,
    }))
}

// ---------------------------------------------------------------------------------------
// The advertiser console and the privacy center's ads card (embedded like the other UI files)

const ADVERTISER_HTML: &str = include_str!("../../ui/advertiser.html");
const ADVERTISER_JS: &str = include_str!("../../ui/advertiser.js");
const ADVERTISER_CSS: &str = include_str!("../../ui/advertiser.css");
const ADS_PRIVACY_JS: &str = include_str!("../../ui/ads-privacy.js");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

pub async fn advertiser_html() -> impl IntoResponse {
    asset("text/html; charset=utf-8", ADVERTISER_HTML)
}

pub async fn advertiser_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", ADVERTISER_JS)
}

pub async fn advertiser_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", ADVERTISER_CSS)
}

pub async fn ads_privacy_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", ADS_PRIVACY_JS)
}
