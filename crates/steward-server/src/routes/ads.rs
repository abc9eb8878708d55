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
//! - **The minimum audience is the server's** (`steward serve --audience-minimum`, default
//!   300, never below 100; [`AppState::ads`]). Create, edit, attach, launch and resume recount
//!   the audience on an index that is checked against the database first (so a member's
//!   opt-out a moment ago counts), and refuse below the minimum with
//!   `ads.audience_too_small` — a client that re-enables its button changes nothing. Every
//!   refresh of the index also pauses active campaigns whose audience shrank below it.
//! - **The index is shared and cheap to keep current.** A fingerprint of what it depends on
//!   (consent and profile events, members, skills) is compared with the snapshot's. When it
//!   moved, only the members whose consent or profile events are newer than the snapshot's
//!   watermarks, members created since, and members deleted or erased since are re-read
//!   through the gate and swapped into the shared index in place
//!   ([`AudienceIndex::read_changes_in`], about 0.16 ms a member at 1,000,000 members, where
//!   a full build takes 40 s). The index is built in full when the change cannot be told
//!   member by member (see `changed_members`), when more than [`MAX_INCREMENTAL_MEMBERS`]
//!   changed, or when it is older than [`MAX_INDEX_AGE_MS`]. When only campaigns or
//!   audiences changed, the index is kept and the eligibility snapshot rebuilt. Eligibility
//!   answers from the snapshot without touching the database and without waiting: at most
//!   every [`CHECK_EVERY_MS`] one request starts a refresh in the background, and the
//!   server builds the first snapshot when it starts ([`warm`]), so no ad-serving request
//!   waits for a build (a cold first build made every request of the second it took wait).
//! - **Insights are paid for.** Skills in demand is one release a UTC day, its ε and δ charged
//!   to the `analytics.insights` budgets kept in the database and refused with
//!   `dp.budget_exhausted` once they are spent.
//! - **Matched audiences never say who matched.** An advertiser uploads salted hashes of
//!   contact emails; only members whose `ads.third_party` consent is on can match (the
//!   index's matchable members: only their emails are read and hashed), a list
//!   matching fewer than the minimum is refused like any small audience, and the answer is
//!   the rounded, noised size — never which entries, or how many exactly, matched.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, Weak};

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use steward_ads::attr::Attribute;
use steward_ads::audience::{self, AdsConfig, Audience, Estimate};
use steward_ads::campaign::{self, Campaign};
use steward_ads::index::MemberChanges;
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
/// More changed members than this and the index is built in full (at 0.16 ms a member,
/// 10,000 changes take under 2 s, against 40 s for a full build at 1,000,000 members).
pub const MAX_INCREMENTAL_MEMBERS: usize = 10_000;
/// The most contact hashes one matched list may carry.
pub const MAX_MATCHED_HASHES: usize = 100_000;
/// The request body limit of a matched-list upload: the most hashes, each 64 hex characters
/// quoted and separated (67 bytes), with room for the name and salt.
pub const MATCHED_BODY_BYTES: usize = MAX_MATCHED_HASHES * 67 + 64 * 1024;

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
    b.map(|Json(t)| t).map_err(|e| {
        // A body cut off by the limit gets the limit's code, whichever layer noticed.
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "request.too_large"
        } else {
            "invalid_body"
        };
        ApiError::new(e.status(), code, e.body_text())
    })
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

/// What the index and the eligibility snapshot depend on. Cheap to read: maxima of indexed
/// ids, deleted members from a partial index, and two counts from the smallest index of
/// their table (members, skills: tens to hundreds of ms at a million members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Fingerprint {
    members: MemberMarks,
    /// Campaigns and audiences: counts and latest changes.
    ads: [i64; 4],
}

/// The watermarks of what the index has seen of members: the newest consent and profile
/// events, the members (live, all, the highest id) and the skills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct MemberMarks {
    consent_event: i64,
    profile_event: i64,
    live: i64,
    all: i64,
    max_member: i64,
    skills: i64,
}

impl MemberMarks {
    fn deleted(&self) -> i64 {
        self.all - self.live
    }
}

fn fingerprint(tx: &mut Tx<'_>) -> Result<Fingerprint, StoreError> {
    let r = tx
        .query_opt(
            "SELECT (SELECT COALESCE(MAX(event_id), 0) FROM consent_events), \
                    (SELECT COALESCE(MAX(event_id), 0) FROM profile_events), \
                    (SELECT COUNT(*) FROM members WHERE deleted_at IS NOT NULL), \
                    (SELECT COUNT(*) FROM members), \
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
        members: MemberMarks {
            consent_event: r.i64(0)?,
            profile_event: r.i64(1)?,
            // Deleted members are counted from their partial index (the ads migrations):
            // counting the live ones scanned the whole table.
            live: r.i64(3)? - r.i64(2)?,
            all: r.i64(3)?,
            max_member: r.i64(4)?,
            skills: r.i64(5)?,
        },
        ads: [r.i64(6)?, r.i64(7)?, r.i64(8)?, r.i64(9)?],
    })
}

/// The member who made the event at a watermark. SQLite gives a new row the highest id plus
/// one, so when erasure deletes the newest events their ids come back: while the event at the
/// watermark is still there (an erased member makes no new events, so the same member means
/// the same row), every event newer than the watermark has a higher id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Anchors {
    consent: Option<i64>,
    profile: Option<i64>,
}

fn anchors(tx: &mut Tx<'_>, m: &MemberMarks) -> Result<Anchors, StoreError> {
    let mut at = |table: &str, id: i64| -> Result<Option<i64>, StoreError> {
        tx.query_opt(
            &format!("SELECT member_id FROM {table} WHERE event_id = $1"),
            &[Value::Int(id)],
        )?
        .map(|r| r.i64(0))
        .transpose()
    };
    Ok(Anchors {
        consent: at("consent_events", m.consent_event)?,
        profile: at("profile_events", m.profile_event)?,
    })
}

/// One consistent view: the index, the eligibility of every active campaign, the noise key.
struct Snapshot {
    fingerprint: Fingerprint,
    anchors: Anchors,
    /// Shared by every snapshot until the next full build; changed members are swapped in
    /// place under the write lock (no copy of a million members' bitmaps per change).
    index: Arc<RwLock<AudienceIndex>>,
    /// When the index was last built in full.
    built_at_ms: i64,
    eligibility: Eligibility,
    key: NoiseKey,
}

impl Snapshot {
    /// The index for reading, for one request's work. Take it on the blocking thread before
    /// opening a transaction, never inside one: the store has one connection, and a thread
    /// that holds it while waiting here could wait on the refresh applying changes, which
    /// waits for readers that wait for the connection. (Only the refresh itself, which holds
    /// the rebuild lock so no writer can be waiting, reads the index inside a transaction.)
    fn index(&self) -> RwLockReadGuard<'_, AudienceIndex> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How often the index was built in full and kept current incrementally, and how many
/// members the incremental refreshes re-read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexBuilds {
    pub full: u64,
    pub incremental: u64,
    pub members_reread: u64,
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
    full_builds: AtomicU64,
    incremental_builds: AtomicU64,
    members_reread: AtomicU64,
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
        full_builds: AtomicU64::new(0),
        incremental_builds: AtomicU64::new(0),
        members_reread: AtomicU64::new(0),
    });
    list.push(s.clone());
    s
}

/// How the ads index of `store` has been kept current so far (for tests and operators).
pub fn index_builds(store: &Arc<Store>) -> IndexBuilds {
    let sh = shared(store);
    IndexBuilds {
        full: sh.full_builds.load(Ordering::Relaxed),
        incremental: sh.incremental_builds.load(Ordering::Relaxed),
        members_reread: sh.members_reread.load(Ordering::Relaxed),
    }
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
    /// Ad serving: never waits once a snapshot exists; a snapshot older than a second is
    /// answered from while a refresh runs in the background.
    Serving,
    /// Reads for advertisers (estimates, listings): a snapshot at most a second old; the
    /// caller that finds it older refreshes it first.
    Recent,
    /// Anything that checks the minimum: compared with the database now.
    Now,
}

/// The current snapshot, rebuilt if what it depends on changed.
///
/// Ad serving ([`Freshness::Serving`]) never waits for a refresh once a snapshot exists: the
/// one caller that finds it older than [`CHECK_EVERY_MS`] starts the refresh in the
/// background and answers from the snapshot it has, like every other caller meanwhile. Only
/// the very first request of a server that was not warmed ([`warm`]) waits for the build.
async fn snapshot(state: &AppState, freshness: Freshness) -> Result<Arc<Snapshot>, ApiError> {
    let sh = shared(&state.store);
    if freshness != Freshness::Now
        && let Some(s) = sh.current()
    {
        let (checked, now) = (sh.checked_ms.load(Ordering::Relaxed), now_ms());
        if now - checked < CHECK_EVERY_MS {
            return Ok(s);
        }
        // One caller looks at the database; the others keep answering from this snapshot
        // meanwhile instead of queueing behind it.
        let mine = sh
            .checked_ms
            .compare_exchange(checked, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if !mine {
            return Ok(s);
        }
        // After a write of ours (`touch`) the snapshot is known to be behind: wait for it.
        if freshness == Freshness::Serving && checked != 0 {
            let (store, policy, cfg) = (state.store.clone(), state.policy.clone(), state.ads);
            // Detached: a failed refresh keeps the snapshot and is tried again a check later.
            drop(tokio::task::spawn_blocking(move || {
                if let Err(e) = refresh(&store, &policy, &cfg, &sh) {
                    tracing::warn!(code = e.code, "ads index refresh failed");
                }
            }));
            return Ok(s);
        }
    }
    let (store, policy, cfg) = (state.store.clone(), state.policy.clone(), state.ads);
    blocking(move || refresh(&store, &policy, &cfg, &sh)).await
}

/// Prepares ads serving as a server starts: the ads schema and the noise key are written
/// now, before the server answers anything (so a running server writes nothing its requests
/// did not ask for), and the index and eligibility snapshot are built in the background, so
/// that the first ad-serving requests answer from a snapshot instead of all waiting for the
/// full build (at 20,000 members about a second, at 1,000,000 tens of seconds).
pub async fn warm(state: &AppState) {
    let sh = shared(&state.store);
    if sh.current().is_some() {
        return;
    }
    let store = state.store.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        schema::install(&store)?;
        store.transaction(|tx| schema::noise_key(tx).map(drop))
    })
    .await;
    match prepared {
        Ok(Ok(())) => sh.installed.store(true, Ordering::Release),
        // The first ads request installs it then, and reports what failed.
        Ok(Err(e)) => tracing::warn!(code = e.code(), "ads schema not prepared at start"),
        Err(_) => tracing::warn!("ads schema preparation did not finish"),
    }
    let (store, policy, cfg) = (state.store.clone(), state.policy.clone(), state.ads);
    drop(tokio::task::spawn_blocking(move || {
        if let Err(e) = refresh(&store, &policy, &cfg, &sh) {
            tracing::warn!(code = e.code, "ads index warm-up failed");
        }
    }));
}

/// The members whose settings, profile or existence changed since `seen` (with the events
/// at its watermarks made by `anchors`), or `None` when the change cannot be told member by
/// member — a watermark event gone, a member added below the highest id, a deletion undone,
/// skills that changed without a member to pin them on, or too many members — and the index
/// must be built in full.
fn changed_members(
    tx: &mut Tx<'_>,
    index: &AudienceIndex,
    seen: &MemberMarks,
    anchors: &Anchors,
    now: &MemberMarks,
) -> Result<Option<Vec<i64>>, StoreError> {
    if now.consent_event < seen.consent_event
        || now.profile_event < seen.profile_event
        || now.max_member < seen.max_member
        || now.deleted() < seen.deleted()
    {
        return Ok(None);
    }
    let here = self::anchors(tx, seen)?;
    if (seen.consent_event > 0 && here.consent != anchors.consent)
        || (seen.profile_event > 0 && here.profile != anchors.profile)
    {
        return Ok(None);
    }
    let ids = |tx: &mut Tx<'_>, sql: &str, from: i64, to: i64| -> Result<Vec<i64>, StoreError> {
        tx.query(sql, &[Value::Int(from), Value::Int(to)])?
            .iter()
            .map(|r| r.i64(0))
            .collect()
    };
    let mut out = ids(
        tx,
        "SELECT DISTINCT member_id FROM consent_events WHERE event_id > $1 AND event_id <= $2",
        seen.consent_event,
        now.consent_event,
    )?;
    out.extend(ids(
        tx,
        "SELECT DISTINCT member_id FROM profile_events WHERE event_id > $1 AND event_id <= $2",
        seen.profile_event,
        now.profile_event,
    )?);
    let created = ids(
        tx,
        "SELECT member_id FROM members WHERE member_id > $1 AND member_id <= $2",
        seen.max_member,
        now.max_member,
    )?;
    if i64::try_from(created.len()).unwrap_or(i64::MAX) != now.all - seen.all {
        return Ok(None);
    }
    if now.deleted() != seen.deleted() {
        // Deleted and erased members the index still holds (an erased member's events are
        // gone with them, so their deletion is the only trace).
        for m in ids(
            tx,
            "SELECT member_id FROM members WHERE deleted_at IS NOT NULL AND member_id > $1 AND member_id <= $2",
            0,
            now.max_member,
        )? {
            if index.knows(m) {
                out.push(m);
            }
        }
    }
    // Skills have no event log: a change is accepted only as the skills of new members, less
    // (when members were deleted or erased) the skills erasure took with them.
    let new_skills = tx.query_i64(
        "SELECT COUNT(*) FROM skills WHERE member_id > $1 AND member_id <= $2",
        &[Value::Int(seen.max_member), Value::Int(now.max_member)],
    )?;
    let moved = now.skills - seen.skills;
    if moved > new_skills || (now.deleted() == seen.deleted() && moved != new_skills) {
        return Ok(None);
    }
    out.extend(created);
    out.sort_unstable();
    out.dedup();
    if out.len() > MAX_INCREMENTAL_MEMBERS {
        return Ok(None);
    }
    Ok(Some(out))
}

/// What a refresh does to the index.
enum Plan {
    /// Keep the previous index (only campaigns or audiences changed).
    Keep(Arc<Snapshot>),
    /// Swap the bits of the members re-read into the previous index.
    Apply(Arc<Snapshot>, MemberChanges),
    /// A new index, built in full.
    Build(Box<AudienceIndex>),
}

fn refresh(
    store: &Store,
    policy: &Policy,
    cfg: &AdsConfig,
    sh: &Shared,
) -> Result<Arc<Snapshot>, ApiError> {
    let _one_at_a_time = sh
        .rebuild
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !sh.installed.load(Ordering::Acquire) {
        schema::install(store).map_err(ads_error)?;
        sh.installed.store(true, Ordering::Release);
    }
    let now = now_ms();
    let started = std::time::Instant::now();
    let fp = store.read(fingerprint)?;
    let fingerprint_us = started.elapsed().as_micros();
    let current = sh.current();
    let young = |s: &Snapshot| now - s.built_at_ms < MAX_INDEX_AGE_MS;
    if let Some(s) = &current
        && s.fingerprint == fp
        && young(s)
    {
        sh.checked_ms.store(now, Ordering::Relaxed);
        tracing::debug!(fingerprint_us, "ads index unchanged");
        return Ok(s.clone());
    }
    let previous = current.filter(|s| young(s));
    // One read: the marks first, then the index or the changed members, so whatever changes
    // meanwhile is newer than the marks and is picked up by the next refresh.
    let (marks, anchors, plan) = store
        .read(|tx| {
            let marks = fingerprint(tx)?.members;
            let anchors = anchors(tx, &marks)?;
            let plan = match previous {
                Some(p) if p.fingerprint.members == marks => Plan::Keep(p),
                Some(p) => {
                    let index = p.index();
                    let changes = match changed_members(
                        tx,
                        &index,
                        &p.fingerprint.members,
                        &p.anchors,
                        &marks,
                    )? {
                        Some(members) => index.read_changes_in(tx, policy, &members, now)?,
                        None => None,
                    };
                    drop(index);
                    match changes {
                        Some(c) => Plan::Apply(p, c),
                        None => Plan::Build(Box::new(AudienceIndex::build_in(tx, policy, now)?)),
                    }
                }
                None => Plan::Build(Box::new(AudienceIndex::build_in(tx, policy, now)?)),
            };
            Ok::<_, AdsError>((marks, anchors, plan))
        })
        .map_err(ads_error)?;
    let read_us = started.elapsed().as_micros();
    let kind = match &plan {
        Plan::Keep(_) => "keep",
        Plan::Apply(..) => "incremental",
        Plan::Build(_) => "full",
    };
    let (index, built_at_ms) = match plan {
        Plan::Keep(p) => (p.index.clone(), p.built_at_ms),
        Plan::Apply(p, changes) => {
            let n = changes.len() as u64;
            // Outside any transaction: a reader holding the index while it waits for the
            // database connection must never wait on a writer that holds that connection.
            p.index
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .apply_read(changes)
                .map_err(ads_error)?;
            sh.incremental_builds.fetch_add(1, Ordering::Relaxed);
            sh.members_reread.fetch_add(n, Ordering::Relaxed);
            (p.index.clone(), p.built_at_ms)
        }
        Plan::Build(ix) => {
            sh.full_builds.fetch_add(1, Ordering::Relaxed);
            (Arc::new(RwLock::new(*ix)), now)
        }
    };
    let snap = {
        let ix = index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store
            .transaction(|tx| {
                let key = schema::noise_key(tx)?;
                // Campaigns whose audience shrank below the minimum stop here.
                campaign::enforce_minimums(tx, &ledger(), &ix, cfg, now)?;
                let eligibility = Eligibility::build(tx, &ix)?;
                // Pausing campaigns moved the ads part of the fingerprint: take it after.
                let ads = fingerprint(tx)?.ads;
                Ok::<_, AdsError>((key, eligibility, ads))
            })
            .map_err(ads_error)?
    };
    let (key, eligibility, ads) = snap;
    let snap = Arc::new(Snapshot {
        fingerprint: Fingerprint {
            members: marks,
            ads,
        },
        anchors,
        index,
        built_at_ms,
        eligibility,
        key,
    });
    *sh.current
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snap.clone());
    sh.checked_ms.store(now, Ordering::Relaxed);
    tracing::debug!(
        kind,
        fingerprint_us,
        read_us,
        total_us = started.elapsed().as_micros(),
        "ads index refreshed"
    );
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

fn estimate_view(e: &Estimate, cfg: &AdsConfig) -> EstimateView {
    EstimateView {
        about: match e {
            Estimate::About(n) => Some(*n),
            Estimate::BelowMinimum { .. } => None,
        },
        below_minimum: matches!(e, Estimate::BelowMinimum { .. }),
        minimum: cfg.min_audience(),
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

fn audience_view(a: &Audience, e: &Estimate, cfg: &AdsConfig) -> AudienceView {
    AudienceView {
        id: a.id,
        name: a.name.clone(),
        kind: a.kind.as_str(),
        expression: a.expression.clone(),
        estimate: estimate_view(e, cfg),
        created_at_ms: a.created_at,
        updated_at_ms: a.updated_at,
    }
}

/// The estimate of a stored audience on the snapshot's index.
fn current_estimate(
    tx: &mut Tx<'_>,
    index: &AudienceIndex,
    key: &NoiseKey,
    cfg: &AdsConfig,
    a: &Audience,
) -> Result<Estimate, AdsError> {
    let n = audience::members(tx, index, a)?.len();
    let canonical = a
        .expression
        .clone()
        .unwrap_or_else(|| format!("matched:{}", a.id));
    audience::estimate_from_count(key, cfg, &canonical, n)
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
        minimum: state.ads.min_audience(),
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
    let cfg = state.ads;
    let e = audience::estimate(&snap.index(), &snap.key, &cfg, &expr).map_err(ads_error)?;
    Ok(Json(EstimateAnswer {
        expression: expr.canonical(),
        estimate: estimate_view(&e, &cfg),
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let view = blocking(move || {
        let index = snap.index();
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let saved = audience::create(
                    tx,
                    &ledger(),
                    &index,
                    &snap.key,
                    &cfg,
                    &adv,
                    req.name.trim(),
                    &req.expression,
                    now_ms(),
                )?;
                Ok::<_, AdsError>(audience_view(&saved.audience, &saved.estimate, &cfg))
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let views = blocking(move || {
        let index = snap.index();
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let mut out = Vec::new();
                for a in audience::list(tx, &adv)? {
                    let e = current_estimate(tx, &index, &snap.key, &cfg, &a)?;
                    out.push(audience_view(&a, &e, &cfg));
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let view = blocking(move || {
        let index = snap.index();
        store
            .read(|tx| {
                let adv = account(tx, &who)?;
                let a = audience::get(tx, &adv, id)?;
                let e = current_estimate(tx, &index, &snap.key, &cfg, &a)?;
                Ok::<_, AdsError>(audience_view(&a, &e, &cfg))
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let view = blocking(move || {
        let index = snap.index();
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let saved = audience::edit(
                    tx,
                    &ledger(),
                    &index,
                    &snap.key,
                    &cfg,
                    &adv,
                    id,
                    &req.expression,
                    now_ms(),
                )?;
                Ok::<_, AdsError>(audience_view(&saved.audience, &saved.estimate, &cfg))
            })
            .map_err(ads_error)
    })
    .await?;
    shared(&state.store).touch();
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchedRequest {
    pub name: String,
    /// The advertiser's salt (8 to 200 characters).
    pub salt: String,
    /// SHA-256 (hex) of `salt ":" email`, the email trimmed and in lower case; 1 to 100,000.
    pub hashes: Vec<String>,
}

fn check_matched(req: &MatchedRequest) -> Result<(), AdsError> {
    check_text("an audience name", &req.name, MAX_NAME)?;
    if req.salt.len() < 8 || req.salt.len() > MAX_NAME {
        return Err(AdsError::Invalid(format!(
            "the salt is 8 to {MAX_NAME} characters"
        )));
    }
    if req.hashes.is_empty() || req.hashes.len() > MAX_MATCHED_HASHES {
        return Err(AdsError::Invalid(format!(
            "a list holds 1 to {MAX_MATCHED_HASHES} hashes"
        )));
    }
    if let Some(i) = req
        .hashes
        .iter()
        .position(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AdsError::Invalid(format!(
            "hashes[{i}] is not a SHA-256 in hex (64 characters)"
        )));
    }
    Ok(())
}

/// Creates a matched audience from salted hashes of contact emails. Only members whose
/// `ads.third_party` consent is on can match; a list that matches fewer members than the
/// minimum is refused (`ads.matched_too_small`, with no number), and the answer is the
/// rounded, noised size — never which entries matched or how many exactly. The body may be
/// up to [`MATCHED_BODY_BYTES`] (413 `request.too_large` beyond).
#[utoipa::path(post, path = "/api/v1/ads/audiences/matched", request_body = MatchedRequest, security(("bearer" = [])), responses((status = 200, body = AudienceView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_matched(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Json<MatchedRequest>, JsonRejection>,
) -> Result<Json<AudienceView>, ApiError> {
    who.require(&[Role::Advertiser])?;
    let req = json_body(body)?;
    check_matched(&req).map_err(ads_error)?;
    let snap = snapshot(&state, Freshness::Now).await?;
    let (store, policy, cfg) = (state.store.clone(), state.policy.clone(), state.ads);
    let view = blocking(move || {
        let index = snap.index();
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let saved = audience::create_matched(
                    tx,
                    &ledger(),
                    &policy,
                    &index,
                    &snap.key,
                    &cfg,
                    &adv,
                    req.name.trim(),
                    &req.salt,
                    &req.hashes,
                    now_ms(),
                )?;
                Ok::<_, AdsError>(audience_view(&saved.audience, &saved.estimate, &cfg))
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let view = blocking(move || {
        let index = snap.index();
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let c = campaign::create(
                    tx,
                    &ledger(),
                    &index,
                    &cfg,
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
    let (store, cfg) = (state.store.clone(), state.ads);
    let view = blocking(move || {
        let ix = snap.index();
        store
            .transaction(|tx| {
                let adv = account(tx, &who)?;
                let (l, now) = (ledger(), now_ms());
                let c = match action {
                    Action::Attach(a) => {
                        campaign::attach_audience(tx, &l, &ix, &cfg, &adv, id, a, now)?
                    }
                    Action::Launch => campaign::launch(tx, &l, &ix, &cfg, &adv, id, now)?,
                    Action::Pause => campaign::pause(tx, &l, &adv, id, now)?,
                    Action::Resume => campaign::resume(tx, &l, &ix, &cfg, &adv, id, now)?,
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

/// δ of the insights budget.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeltaBudgetView {
    pub delta: f64,
    pub spent: f64,
    pub remaining: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillsInDemand {
    pub epsilon: f64,
    pub delta: f64,
    /// The UTC day of the release; one release a day, paid for once.
    pub day: i64,
    pub industries: Vec<IndustrySkillsView>,
    /// The `analytics.insights` ε budget after today's release (shared with the other
    /// insights releases).
    pub budget: BudgetView,
    /// The `analytics.insights` δ budget after today's release.
    pub delta_budget: DeltaBudgetView,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SkillsQuery {
    /// Skills per industry (1 to 10, default 5).
    pub top: Option<usize>,
}

/// Skills in demand: the top skills per industry as one differentially private release a
/// day (partition selection over the open domain of skills), ledgered for
/// `analytics.insights`, its ε and δ charged to the insights budgets kept in the database.
/// Every caller that day gets the same release; once the budget is spent a new day's release
/// is refused with `dp.budget_exhausted` (422).
#[utoipa::path(get, path = "/api/v1/ads/insights/skills", params(SkillsQuery), security(("bearer" = [])), responses((status = 200, body = SkillsInDemand), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
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
        // Paid once a day: the library stores the release under its question, so a restart
        // (or another server on the same database) gets the same answer without a new charge.
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
            epsilon: out.epsilon.as_f64(),
            delta: out.delta,
            day: out.day,
            industries: out
                .industries
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
            budget: budget_view(out.budget.budget, out.budget.spent),
            delta_budget: DeltaBudgetView {
                delta: out.delta_budget.budget,
                spent: out.delta_budget.spent,
                remaining: out.delta_budget.remaining,
            },
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
        budget: BudgetView {
            epsilon: release.budget.epsilon,
            spent: release.budget.spent,
            remaining: release.budget.remaining,
        },
        delta_budget: DeltaBudgetView {
            delta: release.delta_budget.delta,
            spent: release.delta_budget.spent,
            remaining: release.delta_budget.remaining,
        },
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
    let snap = snapshot(&state, Freshness::Serving).await?;
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
