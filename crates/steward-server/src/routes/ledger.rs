//! The ledger over HTTP: a member's access history with an inclusion proof per entry (checked
//! in the browser, not trusted from us), and the auditor's endpoints — checkpoints, inclusion
//! and consistency proofs, and a full verification that names the first bad entry.
//!
//! Proofs carry the entry's canonical bytes, so a client recomputes every hash itself from
//! what it was shown; the decoded fields are a convenience and the bytes are the truth.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::entry::{Entry, Subjects};
use steward_ledger::verify::{verify, verify_indexes};
use steward_ledger::{Hash, Ledger, LedgerError, Membership};
use steward_store::Tx;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::{blocking, now_ms, parse_member_id};
use crate::state::{AppState, LEDGER_ORIGIN};

/// Who may read the whole ledger.
const LEDGER_READERS: [Role; 2] = [Role::Auditor, Role::Admin];

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::Store(s) => ApiError::from(s),
            LedgerError::EntryNotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "ledger.entry_not_found",
                "no ledger entry has this sequence number",
            ),
            LedgerError::NoCheckpoint => ApiError::new(
                StatusCode::NOT_FOUND,
                "ledger.no_checkpoint",
                "no checkpoint has been signed yet",
            ),
            LedgerError::SizeOutOfRange { .. } | LedgerError::IndexOutOfRange { .. } => {
                ApiError::bad_request(e.code(), e.to_string())
            }
            other => ApiError::internal(other.code()),
        }
    }
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_hex).collect()
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckpointView {
    pub size: u64,
    /// The tree root, hex.
    pub root: String,
    pub time_ms: u64,
    /// The signed note exactly as signed (C2SP checkpoint + Ed25519 signature line).
    pub note: String,
}

impl CheckpointView {
    fn new(c: &Checkpoint, note: String) -> CheckpointView {
        CheckpointView {
            size: c.size,
            root: c.root.to_hex(),
            time_ms: c.time_ms,
            note,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberSetRef {
    pub set_id: String,
    /// The member set's Merkle digest, hex.
    pub digest: String,
    pub count: u64,
}

/// A ledger entry's fields, decoded (the `entry_bytes` beside it are what is hashed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub seq: u64,
    pub time_ms: u64,
    pub actor: String,
    pub role: String,
    pub purpose: String,
    pub action: String,
    /// The members the entry names directly (empty for a batch release).
    pub members: Vec<u64>,
    /// For a batch release: the member set it names.
    pub member_set: Option<MemberSetRef>,
    pub categories: Vec<String>,
    pub justification: String,
    pub policy_version: String,
    pub reference: String,
    pub outcome: String,
    pub details: String,
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> EntryView {
        let (members, member_set) = match &e.subjects {
            Subjects::Members(ids) => (ids.clone(), None),
            Subjects::MemberSet {
                digest,
                count,
                set_id,
            } => (
                Vec::new(),
                Some(MemberSetRef {
                    set_id: set_id.clone(),
                    digest: digest.to_hex(),
                    count: *count,
                }),
            ),
        };
        EntryView {
            seq: e.seq,
            time_ms: e.time_ms,
            actor: e.actor.clone(),
            role: e.role.clone(),
            purpose: e.purpose.clone(),
            action: e.action.clone(),
            members,
            member_set,
            categories: e.categories.clone(),
            justification: e.justification.clone(),
            policy_version: e.policy_version.clone(),
            reference: e.reference.clone(),
            outcome: e.outcome.clone(),
            details: e.details.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberProofView {
    pub member: u64,
    /// The member's position in the sorted set.
    pub index: u64,
    /// Hex hashes from the member's leaf to the set's digest.
    pub path: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub entry: EntryView,
    /// The entry's canonical encoding, hex; its leaf hash is SHA-256(0x00 || bytes).
    pub entry_bytes: String,
    pub leaf_hash: String,
    /// The inclusion proof (hex hashes, RFC 9162) against `checkpoint`; `null` if the entry
    /// is newer than the checkpoint.
    pub inclusion_proof: Option<Vec<String>>,
    /// For a batch release: the proof that the member is in its member set.
    pub membership: Option<MemberProofView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessHistoryView {
    pub member: u64,
    /// The C2SP verifier key (`name+keyid+base64key`) the checkpoint is signed with.
    pub verifier_key: String,
    pub checkpoint: Option<CheckpointView>,
    /// How many entries name the member in all.
    pub total: u64,
    /// The newest `limit` of them, newest first.
    pub entries: Vec<HistoryEntry>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// How many of the newest entries to return: 1 to 1,000, 100 by default.
    pub limit: Option<u32>,
}

/// `?limit=`: 1 to 1,000, `default` when absent; anything else (a malformed query too) is
/// `ledger.bad_limit`.
fn limit_param(
    requested: Result<Option<u32>, QueryRejection>,
    default: u32,
) -> Result<u32, ApiError> {
    let limit = match requested {
        Ok(limit) => limit.unwrap_or(default),
        Err(_) => 0,
    };
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "ledger.bad_limit",
            "`limit` must be a whole number from 1 to 1000",
        ));
    }
    Ok(limit)
}
/// Signs a checkpoint of everything appended so far unless the latest one already covers it,
/// so every entry a caller is shown can come with a proof.
fn checkpoint_now(state: &AppState, tx: &mut Tx<'_>) -> Result<(), ApiError> {
    let keys = state.keys()?;
    let time = u64::try_from(now_ms()).unwrap_or(0);
    Ledger::new(LEDGER_ORIGIN).checkpoint(tx, &keys.signer, time)?;
    Ok(())
}

/// Every ledger entry that names the member, newest first, each with its canonical bytes and
/// an inclusion proof against the latest signed checkpoint (signed now if the log grew), and
/// the verifier key to check that checkpoint's signature with.
#[utoipa::path(get, path = "/api/v1/members/{id}/access-history", params(("id" = i64, Path), HistoryQuery), security(("bearer" = [])), responses((status = 200, body = AccessHistoryView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn access_history(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<AccessHistoryView>, ApiError> {
    let id = parse_member_id(&raw)?;
    who.require_member(id)?;
    let limit = limit_param(query.map(|Query(q)| q.limit), 100)? as usize;
    let keys = state.keys()?;
    crate::routes::members::live_member(&state, id).await?;
    let st = state.clone();
    let history = blocking(move || {
        // A write only when the log grew since the latest checkpoint.
        let behind = st.store.read(|tx| {
            let size = Ledger::size(tx)?;
            let signed = Ledger::latest_checkpoint(tx)?.map(|c| c.checkpoint.size);
            Ok::<_, LedgerError>(signed != Some(size))
        })?;
        if behind {
            st.store.transaction(|tx| checkpoint_now(&st, tx))?;
        }
        Ok(st.store.read(|tx| {
            Ledger::access_history_newest(tx, id.unsigned_abs(), &keys.verifier, limit)
        })?)
    })
    .await?;
    let keys = state.keys()?;
    let entries = history
        .items
        .iter()
        .map(|item| {
            let bytes = item.entry.encode()?;
            Ok(HistoryEntry {
                entry: EntryView::from(&item.entry),
                entry_bytes: hex_bytes(&bytes),
                leaf_hash: item.leaf_hash.to_hex(),
                inclusion_proof: item.proof.as_deref().map(hexes),
                membership: match &item.membership {
                    Some(Membership::Present(p)) => Some(MemberProofView {
                        member: p.member,
                        index: p.index,
                        path: hexes(&p.path),
                    }),
                    _ => None,
                },
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(Json(AccessHistoryView {
        member: history.member,
        verifier_key: keys.verifier.to_string(),
        checkpoint: history
            .checkpoint
            .map(|c| CheckpointView::new(&c.checkpoint, c.note)),
        total: history.total,
        entries,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: String,
    pub time_ms: u64,
    pub note: String,
    /// Whether the note's signature verifies with the server's verifier key.
    pub signature_ok: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckpointList {
    pub verifier_key: String,
    /// How many checkpoints are stored in all.
    pub total: u64,
    /// The newest `limit` of them, smallest tree first.
    pub checkpoints: Vec<StoredCheckpoint>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CheckpointQuery {
    /// How many of the newest checkpoints to list: 1 to 1,000, 100 by default.
    pub limit: Option<u32>,
}

/// The newest stored checkpoints, with whether each signature verifies (auditor, admin).
/// Bounded, so a listing costs the same however old the ledger is.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoints", params(CheckpointQuery), security(("bearer" = [])), responses((status = 200, body = CheckpointList), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn checkpoints(
    State(state): State<AppState>,
    who: Principal,
    query: Result<Query<CheckpointQuery>, QueryRejection>,
) -> Result<Json<CheckpointList>, ApiError> {
    who.require(&LEDGER_READERS)?;
    let limit = limit_param(query.map(|Query(q)| q.limit), 100)?;
    let keys = state.keys()?;
    let store = state.store.clone();
    let (notes, total) =
        blocking(move || Ok(store.read(|tx| Ledger::latest_checkpoint_notes(tx, limit))?)).await?;
    let checkpoints = notes
        .into_iter()
        .map(|(size, note)| {
            let (parsed, ok) = match keys.verifier.verify(&note) {
                Ok(c) => (Some(c), true),
                Err(_) => {
                    let body = note.rfind("\n\n").map(|i| &note[..=i]).unwrap_or("");
                    (Checkpoint::parse_body(body).ok(), false)
                }
            };
            StoredCheckpoint {
                size,
                root: parsed.as_ref().map(|c| c.root.to_hex()).unwrap_or_default(),
                time_ms: parsed.as_ref().map_or(0, |c| c.time_ms),
                signature_ok: ok && parsed.as_ref().is_some_and(|c| c.size == size),
                note,
            }
        })
        .collect();
    Ok(Json(CheckpointList {
        verifier_key: keys.verifier.to_string(),
        total,
        checkpoints,
    }))
}

/// The latest stored checkpoint, its signature checked (auditor, admin).
#[utoipa::path(get, path = "/api/v1/ledger/checkpoints/latest", security(("bearer" = [])), responses((status = 200, body = CheckpointView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<CheckpointView>, ApiError> {
    who.require(&LEDGER_READERS)?;
    let keys = state.keys()?;
    let store = state.store.clone();
    let signed = blocking(move || Ok(store.read(Ledger::latest_checkpoint)?))
        .await?
        .ok_or(LedgerError::NoCheckpoint)?;
    let c = keys
        .verifier
        .verify(&signed.note)
        .map_err(|e| ApiError::internal(e.code()))?;
    Ok(Json(CheckpointView::new(&c, signed.note)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The tree size to prove against (default: the latest checkpoint's).
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    pub entry: EntryView,
    pub entry_bytes: String,
    pub leaf_hash: String,
    /// Hex hashes from the leaf to the root of the first `size` entries (RFC 9162).
    pub path: Vec<String>,
    /// The root the path leads to.
    pub root: String,
    /// The signed checkpoint of that size, if one is stored.
    pub checkpoint: Option<String>,
}

/// Sequence numbers and sizes are stored as signed 64-bit integers: anything larger cannot
/// exist, and is the caller's mistake rather than a failure of ours.
const MAX_STORED: u64 = i64::MAX as u64;

fn seq_param(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|s| *s <= MAX_STORED)
        .ok_or_else(|| {
            ApiError::bad_request(
                "ledger.bad_seq",
                "a sequence number is a non-negative 64-bit signed integer",
            )
        })
}

fn size_param(size: Option<u64>) -> Result<Option<u64>, ApiError> {
    match size {
        Some(s) if s > MAX_STORED => Err(ApiError::bad_request(
            "ledger.size_out_of_range",
            "a tree size is a non-negative 64-bit signed integer",
        )),
        other => Ok(other),
    }
}

fn latest_size(tx: &mut Tx<'_>) -> Result<u64, LedgerError> {
    Ledger::latest_checkpoint(tx)?
        .map(|c| c.checkpoint.size)
        .ok_or(LedgerError::NoCheckpoint)
}

fn note_of_size(tx: &mut Tx<'_>, size: u64) -> Result<Option<String>, LedgerError> {
    Ok(Ledger::checkpoint_notes(tx)?
        .into_iter()
        .find(|(s, _)| *s == size)
        .map(|(_, n)| n))
}

/// The inclusion proof of entry `seq` in the first `size` entries (auditor, admin).
#[utoipa::path(get, path = "/api/v1/ledger/entries/{seq}/proof", params(("seq" = u64, Path), ProofQuery), security(("bearer" = [])), responses((status = 200, body = InclusionProof), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    query: Result<Query<ProofQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<InclusionProof>, ApiError> {
    who.require(&LEDGER_READERS)?;
    let seq = seq_param(&raw)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    size_param(q.size)?;
    let store = state.store.clone();
    let proof = blocking(move || {
        Ok(store.read(|tx| {
            let entry = Ledger::entry(tx, seq)?;
            let size = match q.size {
                Some(s) => s,
                None => latest_size(tx)?,
            };
            let path = Ledger::inclusion_proof(tx, seq, size)?;
            let bytes = entry.encode()?;
            Ok::<_, LedgerError>(InclusionProof {
                seq,
                size,
                leaf_hash: steward_ledger::hash::leaf_hash(&bytes).to_hex(),
                entry_bytes: hex_bytes(&bytes),
                entry: EntryView::from(&entry),
                path: hexes(&path),
                root: Ledger::root_at(tx, size)?.to_hex(),
                checkpoint: note_of_size(tx, size)?,
            })
        })?)
    })
    .await?;
    Ok(Json(proof))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size (default: the latest checkpoint's).
    pub to: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    /// Hex hashes proving the first `from` entries are a prefix of the first `to` (RFC 9162).
    pub path: Vec<String>,
}

/// A consistency proof: the log of `to` entries extends the log of `from` (auditor, admin).
#[utoipa::path(get, path = "/api/v1/ledger/consistency", params(ConsistencyQuery), security(("bearer" = [])), responses((status = 200, body = ConsistencyProof), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    who: Principal,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    who.require(&LEDGER_READERS)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    size_param(Some(q.from))?;
    size_param(q.to)?;
    let store = state.store.clone();
    let proof = blocking(move || {
        Ok(store.read(|tx| {
            let to = match q.to {
                Some(s) => s,
                None => latest_size(tx)?,
            };
            if q.from > to {
                return Err(LedgerError::SizeOutOfRange {
                    size: q.from,
                    available: to,
                });
            }
            let (from_root, path) = Ledger::consistency_proof(tx, q.from, to)?;
            Ok::<_, LedgerError>(ConsistencyProof {
                from: q.from,
                to,
                from_root: from_root.to_hex(),
                to_root: Ledger::root_at(tx, to)?.to_hex(),
                path: hexes(&path),
            })
        })?)
    })
    .await?;
    Ok(Json(proof))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `ledger.tamper.entry_changed`, `ledger.tamper.entry_deleted`, ...
    pub code: &'static str,
    pub first_bad: u64,
    pub bad_before: Option<u64>,
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyResult {
    pub ok: bool,
    pub entries: u64,
    /// The recomputed root of the whole log, hex.
    pub root: String,
    /// Checkpoints whose signature verified and whose root matched.
    pub checkpoints_ok: u64,
    pub latest_checkpoint_size: Option<u64>,
    /// The first bad sequence number, when tampering was found.
    pub first_bad_seq: Option<u64>,
    pub problems: Vec<Problem>,
}

/// Recomputes every leaf and the tree from the stored entries, checks every checkpoint's
/// signature and root and the access-history indexes: `ok`, or the first bad entry (auditor,
/// admin). Read-only.
#[utoipa::path(post, path = "/api/v1/ledger/verify", security(("bearer" = [])), responses((status = 200, body = VerifyResult), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn verify_ledger(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Json<VerifyResult>, ApiError> {
    who.require(&LEDGER_READERS)?;
    let keys = state.keys()?;
    let store = state.store.clone();
    let report = blocking(move || {
        Ok(store.read(|tx| {
            let mut report = verify(tx, &keys.verifier, None)?;
            verify_indexes(tx, &mut report)?;
            Ok::<_, LedgerError>(report)
        })?)
    })
    .await?;
    Ok(Json(VerifyResult {
        ok: report.ok(),
        entries: report.entries,
        root: report.root.to_hex(),
        checkpoints_ok: report.checkpoints_ok,
        latest_checkpoint_size: report.latest.as_ref().map(|c| c.size),
        first_bad_seq: report.first_bad_seq(),
        problems: report
            .problems
            .iter()
            .map(|p| Problem {
                code: p.kind.code(),
                first_bad: p.first_bad,
                bad_before: p.bad_before,
                detail: p.detail.clone(),
            })
            .collect(),
    }))
}
