//! Messaging and trust & safety over HTTP, on `steward_vault::safety`: a member's
//! conversations (participants only), sending and reporting; for staff, the case queue, grant
//! requests with a justification, approval by another staff member, opening the grant's scope
//! until it expires (each open ledgered where the members see it), and the decision.
//!
//! Grants are for report review (a reviewer asks, one approver approves) or for a security
//! investigation (a reviewer or an engineer asks, two distinct approvers approve). Messages may
//! carry attachments (base64 in JSON), each scanned for malware before it is sealed; a
//! quarantined one (EICAR, for one) is withheld from the other participants.
//!
//! Each staff token acts as its own staff account (`Principal::staff_name`), so a reviewer's
//! token cannot approve its own request: the library's four-eyes checks see two people only
//! when two tokens are used.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use steward_vault::safety::{
    self, CaseDecision, CaseStatus, Grant, GrantRequest, NewAttachment, SafetyError,
};
use steward_vault::{ContentKind, GrantPurpose, Safety};

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::routes::{blocking, now_ms, parse_member_id};
use crate::state::{AppState, Keys};

const HOUR_MS: i64 = 3_600_000;

impl From<SafetyError> for ApiError {
    fn from(e: SafetyError) -> ApiError {
        let code = e.code();
        match e {
            SafetyError::NotFound { .. } | SafetyError::NoGrant { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                code,
                "no such case, grant, conversation or message",
            ),
            SafetyError::Invalid(_) | SafetyError::DurationTooLong { .. } => {
                ApiError::bad_request(code, e.to_string())
            }
            // A member who is not a participant learns nothing: as if it did not exist.
            SafetyError::NotParticipant { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                code,
                "no such conversation or message",
            ),
            SafetyError::Store(s) => ApiError::from(s),
            other if other.is_refusal() => {
                ApiError::new(StatusCode::FORBIDDEN, code, other.to_string())
            }
            other => ApiError::internal(other.code()),
        }
    }
}

/// Runs `f` with the safety flows, in one store transaction, off the async workers.
async fn with_safety<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Safety<'_>, &mut steward_store::Tx<'_>, i64) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    with_safety_store(state, move |s, store, at| {
        store.transaction(|tx| f(s, tx, at))
    })
    .await
}

/// Runs `f` with the safety flows and the store itself, off the async workers, for flows
/// that manage their own transactions (a refused grant open is ledgered after its
/// transaction rolls back).
async fn with_safety_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Safety<'_>, &steward_store::Store, i64) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let keys: std::sync::Arc<Keys> = state.keys()?;
    let (store, policy) = (state.store.clone(), state.policy.clone());
    blocking(move || {
        safety::migrate(&store).map_err(|e| ApiError::internal(e.code()))?;
        let vault = keys
            .vault
            .read()
            .map_err(|_| ApiError::internal("vault lock poisoned"))?;
        let s = Safety::new(
            &vault,
            &keys.scanner,
            policy.taxonomy(),
            policy.version_id(),
        );
        f(&s, &store, now_ms())
    })
    .await
}

/// The member whose own messages these are: only their token.
fn own(who: &Principal, raw: &str) -> Result<i64, ApiError> {
    let id = parse_member_id(raw)?;
    if who.role == Role::Member && who.member_id == Some(id) {
        Ok(id)
    } else {
        Err(ApiError::not_found())
    }
}

fn id_param(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(ApiError::not_found)
}

fn body<T>(b: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::new(e.status(), "invalid_body", e.body_text()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    pub conversation_id: i64,
    /// Member ids of every participant, the caller included.
    pub participants: Vec<i64>,
    pub messages: i64,
    pub last_message_at_ms: Option<i64>,
}

/// The member's conversations, most recent first (their own token only).
#[utoipa::path(get, path = "/api/v1/members/{id}/conversations", params(("id" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = [ConversationSummary]), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<Vec<ConversationSummary>>, ApiError> {
    let id = own(&who, &raw)?;
    let list = with_safety(&state, move |_, tx, _| {
        let rows = tx.query(
            "SELECT p.conversation_id, \
               (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = p.conversation_id), \
               (SELECT MAX(m.sent_at) FROM messages m WHERE m.conversation_id = p.conversation_id) \
             FROM conversation_participants p WHERE p.member_id = $1",
            &[id.into()],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let cid = r.i64(0)?;
            let participants = tx
                .query(
                    "SELECT member_id FROM conversation_participants \
                     WHERE conversation_id = $1 ORDER BY member_id",
                    &[cid.into()],
                )?
                .iter()
                .map(|p| p.i64(0))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(ConversationSummary {
                conversation_id: cid,
                participants,
                messages: r.i64(1)?,
                last_message_at_ms: r.opt_i64(2)?,
            });
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.last_message_at_ms));
        Ok(out)
    })
    .await?;
    Ok(Json(list))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The other members of the conversation.
    pub with: Vec<i64>,
    /// The first message.
    pub text: String,
    /// Files sent with it (scanned for malware, then sealed).
    #[serde(default)]
    pub attachments: Vec<AttachmentUpload>,
}

/// Largest number of attachments on one message (the request body limit bounds their size).
const MAX_ATTACHMENTS: usize = 10;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentUpload {
    /// The file's name, if any (the scanner checks disguised executables).
    pub file_name: Option<String>,
    /// Its media type (`application/pdf`); default `application/octet-stream`.
    pub media_type: Option<String>,
    /// The content, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// One decoded upload: file name, media type, content.
type Decoded = (Option<String>, String, Vec<u8>);

/// The uploads, decoded; 400 on bad base64, too many files or an odd media type.
fn decode_uploads(uploads: &[AttachmentUpload]) -> Result<Vec<Decoded>, ApiError> {
    if uploads.len() > MAX_ATTACHMENTS {
        return Err(ApiError::bad_request(
            "attachment.too_many",
            format!("at most {MAX_ATTACHMENTS} attachments per message"),
        ));
    }
    uploads
        .iter()
        .map(|u| {
            let bytes = BASE64.decode(u.content_base64.as_bytes()).map_err(|_| {
                ApiError::bad_request("attachment.bad_base64", "content_base64 is not base64")
            })?;
            let media_type = u
                .media_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let sane = |t: &str| {
                !t.is_empty()
                    && t.len() <= 127
                    && t.bytes().all(|b| b.is_ascii_graphic())
                    && t.contains('/')
            };
            if !sane(&media_type) {
                return Err(ApiError::bad_request(
                    "attachment.bad_media_type",
                    "media_type must look like `type/subtype`",
                ));
            }
            if u.file_name.as_ref().is_some_and(|n| n.len() > 255) {
                return Err(ApiError::bad_request(
                    "attachment.bad_file_name",
                    "file_name is at most 255 bytes",
                ));
            }
            Ok((u.file_name.clone(), media_type, bytes))
        })
        .collect()
}

fn as_new(decoded: &[Decoded]) -> Vec<NewAttachment<'_>> {
    decoded
        .iter()
        .map(|(name, media_type, bytes)| NewAttachment {
            file_name: name.as_deref(),
            media_type,
            bytes,
        })
        .collect()
}

fn sent_view(m: &safety::SentMessage) -> Sent {
    Sent {
        message_id: m.message_id,
        conversation_id: m.conversation_id,
        verdict: m.verdict.kind.as_str().to_owned(),
        attachments: m
            .attachments
            .iter()
            .map(|a| SentAttachmentView {
                attachment_id: a.attachment_id,
                verdict: a.verdict.kind.as_str().to_owned(),
                rule: a.verdict.rule_id.map(str::to_owned),
            })
            .collect(),
    }
}

/// Starts a conversation with other members and sends its first message (scanned, sealed).
#[utoipa::path(post, path = "/api/v1/members/{id}/conversations", params(("id" = i64, Path)), request_body = StartRequest, security(("bearer" = [])), responses((status = 200, body = Sent), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    req: Result<Json<StartRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Sent>, ApiError> {
    let id = own(&who, &raw)?;
    let req = body(req)?;
    let files = decode_uploads(&req.attachments)?;
    let sent = with_safety(&state, move |s, tx, at| {
        let conv = s.start_conversation(tx, id, &req.with, at)?;
        let m = s.send_message(tx, id, conv, &req.text, &as_new(&files), at)?;
        Ok(sent_view(&m))
    })
    .await?;
    Ok(Json(sent))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub message_id: i64,
    pub author_id: i64,
    pub sent_at_ms: i64,
    /// The text, when this reader may see it.
    pub text: Option<String>,
    /// Why the text is withheld (quarantined, removed, deleted member), if it is.
    pub notice: Option<String>,
    pub verdict: Option<String>,
    /// How many attachments the message has (listed in `files`).
    pub attachments: i64,
    pub files: Vec<AttachmentView>,
}

/// An attachment as a participant sees it in a conversation (no content: open it by id).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub attachment_id: i64,
    pub media_type: String,
    pub size_bytes: i64,
    /// The malware scanner's verdict (`clean`, `malware`, ...).
    pub verdict: Option<String>,
    /// Why the content is withheld from this reader (quarantined, removed, deleted member).
    pub notice: Option<String>,
}

fn message_view(m: &safety::ReadMessage) -> MessageView {
    MessageView {
        message_id: m.message_id,
        author_id: m.author_id,
        sent_at_ms: m.sent_at_ms,
        text: m
            .content
            .plaintext()
            .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned()),
        notice: m.content.warning(),
        verdict: m.verdict.clone(),
        attachments: i64::try_from(m.attachments.len()).unwrap_or(i64::MAX),
        files: m
            .attachments
            .iter()
            .map(|a| AttachmentView {
                attachment_id: a.attachment_id,
                media_type: a.media_type.clone(),
                size_bytes: a.size_bytes,
                verdict: a.verdict.clone(),
                notice: a.content.warning(),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OpenedAttachment {
    pub attachment_id: i64,
    pub message_id: i64,
    pub conversation_id: i64,
    pub media_type: String,
    pub size_bytes: i64,
    pub verdict: Option<String>,
    /// The content, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// Opens one attachment of a conversation the member takes part in (`service.core`, not
/// ledgered, like reading the conversation). One the scanners quarantined — malware, such as
/// the EICAR test file — is refused to every participant but its sender (403
/// `safety.quarantined`), as is one removed by a decision or from an erased member.
#[utoipa::path(get, path = "/api/v1/members/{id}/attachments/{attachment}", params(("id" = i64, Path), ("attachment" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = OpenedAttachment), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn attachment(
    State(state): State<AppState>,
    who: Principal,
    Path((raw, attachment)): Path<(String, String)>,
) -> Result<Json<OpenedAttachment>, ApiError> {
    let id = own(&who, &raw)?;
    let attachment_id = id_param(&attachment)?;
    let opened = with_safety(&state, move |s, tx, at| {
        let row = tx
            .query_opt(
                "SELECT m.conversation_id, a.message_id FROM attachments a \
                 JOIN messages m ON m.message_id = a.message_id WHERE a.attachment_id = $1",
                &[attachment_id.into()],
            )?
            .ok_or_else(ApiError::not_found)?;
        let (conversation_id, message_id) = (row.i64(0)?, row.i64(1)?);
        // Through the library's participant read, so quarantine and removal apply as they
        // do in the conversation view.
        let read = s.read_conversation(tx, id, conversation_id, at)?;
        let a = read
            .iter()
            .flat_map(|m| m.attachments.iter())
            .find(|a| a.attachment_id == attachment_id)
            .ok_or_else(ApiError::not_found)?;
        let Some(plain) = a.content.plaintext() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "safety.quarantined",
                a.content
                    .warning()
                    .unwrap_or_else(|| "this attachment is withheld".to_owned()),
            ));
        };
        Ok(OpenedAttachment {
            attachment_id,
            message_id,
            conversation_id,
            media_type: a.media_type.clone(),
            size_bytes: a.size_bytes,
            verdict: a.verdict.clone(),
            content_base64: BASE64.encode(plain.as_bytes()),
        })
    })
    .await?;
    Ok(Json(opened))
}

/// One conversation, oldest message first, as its participant sees it (`service.core`; a
/// participant's own read is not ledgered).
#[utoipa::path(get, path = "/api/v1/members/{id}/conversations/{conversation}", params(("id" = i64, Path), ("conversation" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = [MessageView]), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    who: Principal,
    Path((raw, conv)): Path<(String, String)>,
) -> Result<Json<Vec<MessageView>>, ApiError> {
    let id = own(&who, &raw)?;
    let conv = id_param(&conv)?;
    let msgs = with_safety(&state, move |s, tx, at| {
        let read = s.read_conversation(tx, id, conv, at)?;
        Ok(read.iter().map(message_view).collect())
    })
    .await?;
    Ok(Json(msgs))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub text: String,
    /// Files sent with it (scanned for malware, then sealed).
    #[serde(default)]
    pub attachments: Vec<AttachmentUpload>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub message_id: i64,
    pub conversation_id: i64,
    /// The ingest scanners' verdict (`clean`, `phishing`, `spam`, ...).
    pub verdict: String,
    pub attachments: Vec<SentAttachmentView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SentAttachmentView {
    pub attachment_id: i64,
    /// The malware scanner's verdict (`clean`, `malware`, ...): a quarantined file is kept
    /// sealed but withheld from the other participants.
    pub verdict: String,
    pub rule: Option<String>,
}

/// Sends a message to a conversation the member takes part in; scanned, then sealed.
#[utoipa::path(post, path = "/api/v1/members/{id}/conversations/{conversation}/messages", params(("id" = i64, Path), ("conversation" = i64, Path)), request_body = SendRequest, security(("bearer" = [])), responses((status = 200, body = Sent), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    who: Principal,
    Path((raw, conv)): Path<(String, String)>,
    req: Result<Json<SendRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Sent>, ApiError> {
    let id = own(&who, &raw)?;
    let conv = id_param(&conv)?;
    let req = body(req)?;
    let files = decode_uploads(&req.attachments)?;
    let sent = with_safety(&state, move |s, tx, at| {
        let m = s.send_message(tx, id, conv, &req.text, &as_new(&files), at)?;
        Ok(sent_view(&m))
    })
    .await?;
    Ok(Json(sent))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reported {
    pub report_id: i64,
    pub case_id: i64,
    pub message_id: i64,
    pub ledger_seq: u64,
}

/// Reports a message of one of the member's conversations: a report and a case for trust &
/// safety, ledgered under the reporter only.
#[utoipa::path(post, path = "/api/v1/members/{id}/messages/{message}/report", params(("id" = i64, Path), ("message" = i64, Path)), request_body = ReportRequest, security(("bearer" = [])), responses((status = 200, body = Reported), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    who: Principal,
    Path((raw, msg)): Path<(String, String)>,
    req: Result<Json<ReportRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Reported>, ApiError> {
    let id = own(&who, &raw)?;
    let msg = id_param(&msg)?;
    let req = body(req)?;
    let r = with_safety(&state, move |s, tx, at| {
        Ok(s.report_message(tx, id, msg, &req.reason, at)?)
    })
    .await?;
    Ok(Json(Reported {
        report_id: r.report_id,
        case_id: r.case_id,
        message_id: r.message_id,
        ledger_seq: r.ledger_seq,
    }))
}

/// Staff who may see the case queue (no content).
const CASE_READERS: [Role; 4] = [Role::Reviewer, Role::Approver, Role::Auditor, Role::Admin];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case_id: i64,
    pub report_id: i64,
    /// The reported message's author.
    pub member_id: i64,
    pub status: &'static str,
    pub decision: Option<&'static str>,
    pub opened_at_ms: i64,
    pub message_id: i64,
    pub conversation_id: i64,
    pub reason: String,
    pub verdict: Option<String>,
}

fn case_view(c: &safety::CaseSummary) -> CaseView {
    CaseView {
        case_id: c.case_id,
        report_id: c.report_id,
        member_id: c.member_id,
        status: c.status.as_str(),
        decision: c.decision.map(CaseDecision::as_str),
        opened_at_ms: c.opened_at_ms,
        message_id: c.message_id,
        conversation_id: c.conversation_id,
        reason: c.reason.clone(),
        verdict: c.verdict.clone(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub grant_id: i64,
    pub case_id: i64,
    pub purpose: &'static str,
    pub requester: String,
    pub justification: String,
    pub requested_at_ms: i64,
    pub duration_ms: i64,
    pub approvals_needed: usize,
    pub approvers: Vec<String>,
    /// `pending`, `active` or `ended`.
    pub status: &'static str,
    pub approved_at_ms: Option<i64>,
    /// Opening at or after this time is refused.
    pub expires_at_ms: Option<i64>,
    /// How many messages and attachments the grant covers.
    pub scope_items: usize,
}

fn grant_view(g: &Grant) -> GrantView {
    GrantView {
        grant_id: g.grant_id,
        case_id: g.case_id,
        purpose: g.purpose_name(),
        requester: g.requester.clone(),
        justification: g.justification.clone(),
        requested_at_ms: g.requested_at_ms,
        duration_ms: g.duration_ms,
        approvals_needed: g.approvals_needed,
        approvers: g.approvers.clone(),
        status: g.status.as_str(),
        approved_at_ms: g.approved_at_ms,
        expires_at_ms: g.expires_at_ms,
        scope_items: g.scope.len(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// `open`, `in_review` or `decided`.
    pub status: Option<String>,
    /// How many of the newest cases to list: 1 to 1,000, 200 by default.
    pub limit: Option<u32>,
}

/// The case queue, newest first (reviewers, approvers, auditors, admins; no content).
#[utoipa::path(get, path = "/api/v1/cases", params(CasesQuery), security(("bearer" = [])), responses((status = 200, body = [CaseView]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn cases(
    State(state): State<AppState>,
    who: Principal,
    query: Result<Query<CasesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<CaseView>>, ApiError> {
    who.require(&CASE_READERS)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = q.status.as_deref().map(CaseStatus::parse).transpose()?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "safety.bad_limit",
            "`limit` must be a whole number from 1 to 1000",
        ));
    }
    let list = with_safety(&state, move |_, tx, _| {
        Ok(safety::list_recent_cases(tx, status, i64::from(limit))?
            .iter()
            .map(case_view)
            .collect())
    })
    .await?;
    Ok(Json(list))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetailView {
    pub case: CaseView,
    pub grants: Vec<GrantView>,
    pub decision_note: Option<String>,
    /// The staff account the caller acts as, to tell their own grants apart.
    pub you: Option<String>,
}

/// One case with its grants and decision (no content).
#[utoipa::path(get, path = "/api/v1/cases/{case}", params(("case" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = CaseDetailView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn case(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<CaseDetailView>, ApiError> {
    who.require(&CASE_READERS)?;
    let case_id = id_param(&raw)?;
    let you = who.staff_name();
    let d = with_safety(&state, move |_, tx, _| {
        Ok(safety::case_detail(tx, case_id)?)
    })
    .await?;
    Ok(Json(CaseDetailView {
        case: case_view(&d.case),
        grants: d.grants.iter().map(grant_view).collect(),
        decision_note: d.decision.map(|r| r.note),
        you,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequestBody {
    /// Why the reviewer needs to read the reported message (ledgered).
    pub justification: String,
    /// How long the grant lasts once approved (default 24, at most 72).
    pub hours: Option<i64>,
    /// `safety.report_review` (default; a reviewer asks, one approver) or
    /// `security.investigation` (a reviewer or an engineer asks, two distinct approvers).
    pub purpose: Option<String>,
}

/// A reviewer asks for a grant to read the reported message and its context; for a security
/// investigation, a reviewer or an engineer, and two approvers must approve.
#[utoipa::path(post, path = "/api/v1/cases/{case}/grants", params(("case" = i64, Path)), request_body = GrantRequestBody, security(("bearer" = [])), responses((status = 200, body = GrantView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn request_grant(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    req: Result<Json<GrantRequestBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<GrantView>, ApiError> {
    who.require(&[Role::Reviewer, Role::Engineer])?;
    let case_id = id_param(&raw)?;
    let req = body(req)?;
    let purpose = match req.purpose.as_deref() {
        None => GrantPurpose::ReportReview,
        Some("safety.report_review") => GrantPurpose::ReportReview,
        Some("security.investigation") => GrantPurpose::SecurityInvestigation,
        Some(_) => {
            return Err(ApiError::bad_request(
                "safety.invalid",
                "purpose is `safety.report_review` or `security.investigation`",
            ));
        }
    };
    if purpose == GrantPurpose::ReportReview {
        who.require(&[Role::Reviewer])?;
    }
    let g = with_safety(&state, move |s, tx, at| {
        let me = who.ensure_staff(tx, at)?;
        let duration_ms = req.hours.map(|h| h.saturating_mul(HOUR_MS));
        Ok(s.request_grant(
            tx,
            &me,
            case_id,
            &GrantRequest {
                purpose,
                justification: &req.justification,
                duration_ms,
            },
            at,
        )?)
    })
    .await?;
    Ok(Json(grant_view(&g)))
}

/// Another staff member (role approver, not the requester) approves a grant; a security
/// investigation becomes active with its second distinct approver.
#[utoipa::path(post, path = "/api/v1/grants/{grant}/approve", params(("grant" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = GrantView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<GrantView>, ApiError> {
    who.require(&[Role::Approver])?;
    let grant_id = id_param(&raw)?;
    let g = with_safety(&state, move |s, tx, at| {
        let me = who.ensure_staff(tx, at)?;
        Ok(s.approve_grant(tx, &me, grant_id, at)?)
    })
    .await?;
    Ok(Json(grant_view(&g)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OpenedView {
    /// `message` or `attachment`.
    pub kind: &'static str,
    pub item_id: i64,
    pub author_id: i64,
    pub conversation_id: i64,
    pub text: String,
    /// The ledger entry recording this open (the participants see it in their history).
    pub ledger_seq: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScopeOpened {
    pub grant_id: i64,
    pub expires_at_ms: Option<i64>,
    pub items: Vec<OpenedView>,
}

/// The grant's holder (a reviewer, or the engineer of an investigation) opens everything it
/// covers, until it expires. Each open is ledgered, naming the conversation's participants.
#[utoipa::path(post, path = "/api/v1/grants/{grant}/open", params(("grant" = i64, Path)), security(("bearer" = [])), responses((status = 200, body = ScopeOpened), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
) -> Result<Json<ScopeOpened>, ApiError> {
    who.require(&[Role::Reviewer, Role::Engineer])?;
    let grant_id = id_param(&raw)?;
    let me = with_safety(&state, move |_, tx, at| who.ensure_staff(tx, at)).await?;
    // Outside one transaction: a refused open rolls its own transaction back, and
    // `open_recorded` then ledgers the attempt in a transaction of its own.
    let opened = with_safety_store(&state, move |s, store, at| {
        let items = s.open_recorded(store, &me, grant_id, None, at)?;
        let g = store.transaction(|tx| safety::grant(tx, grant_id))?;
        Ok(ScopeOpened {
            grant_id,
            expires_at_ms: g.expires_at_ms,
            items: items
                .iter()
                .map(|o| OpenedView {
                    kind: match o.item.kind {
                        ContentKind::Attachment => "attachment",
                        _ => "message",
                    },
                    item_id: o.item.item_id,
                    author_id: o.author_id,
                    conversation_id: o.conversation_id,
                    text: String::from_utf8_lossy(o.plaintext.as_bytes()).into_owned(),
                    ledger_seq: o.ledger_seq,
                })
                .collect(),
        })
    })
    .await?;
    Ok(Json(opened))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `no_violation`, `warn`, `remove_message` or `restrict_account`.
    pub decision: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Decided {
    pub case_id: i64,
    pub decision: &'static str,
    pub decided_by: String,
    pub ledger_seq: Option<u64>,
}

/// The reviewer who holds a grant on the case decides it; the case closes and its grants end.
#[utoipa::path(post, path = "/api/v1/cases/{case}/decision", params(("case" = i64, Path)), request_body = DecisionBody, security(("bearer" = [])), responses((status = 200, body = Decided), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    who: Principal,
    Path(raw): Path<String>,
    req: Result<Json<DecisionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Decided>, ApiError> {
    who.require(&[Role::Reviewer])?;
    let case_id = id_param(&raw)?;
    let req = body(req)?;
    let decision = CaseDecision::parse(&req.decision)?;
    let d = with_safety(&state, move |s, tx, at| {
        let me = who.ensure_staff(tx, at)?;
        Ok(s.decide_case(
            tx,
            &me,
            case_id,
            decision,
            req.note.as_deref().unwrap_or(""),
            at,
        )?)
    })
    .await?;
    Ok(Json(Decided {
        case_id: d.case_id,
        decision: d.decision.as_str(),
        decided_by: d.decided_by,
        ledger_seq: d.ledger_seq,
    }))
}
