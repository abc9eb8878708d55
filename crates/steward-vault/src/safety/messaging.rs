//! Messaging over sealed content: start a conversation, send (scan, then seal under the
//! author's key, store ciphertext + verdict + rule), read (participants only, quarantined
//! messages hidden from recipients), report (a participant, with a reason) into a case.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;

use steward_core::consent;
use steward_core::{ConsentKey, Taxonomy};
use steward_scan::{ScanFlags, Scanner, Verdict, VerdictKind};
use steward_store::content::{NewMessage, insert_sealed_message, seal_message};
use steward_store::member::{consent_events, effective_consent, get_member, setting_history};
use steward_store::{SealContext, Sealer, Tx, Value};

use super::{HARMFUL_DETECTION, Safety, SafetyError, subjects};
use crate::envelope::Plaintext;
use crate::keystore::MemberKeyState;
use crate::store::{Access, PrefetchedKeyStore, key_state, open_stored};
use crate::{TxKeyStore, VaultError, VaultSealer};

/// Largest message text, in bytes (64 KiB): far above what people write, and it bounds the
/// work one message can ask of the scanner.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Largest report reason, in bytes.
const MAX_REASON: usize = 2_000;

/// The `verdict` a decision of `remove_message` writes on the message.
pub const REMOVED: &str = "removed";

/// An attachment to send with a message.
#[derive(Clone, Copy, Debug)]
pub struct NewAttachment<'a> {
    /// The file name, if known (the malware scanner checks disguised executables).
    pub file_name: Option<&'a str>,
    /// The media type (`application/pdf`).
    pub media_type: &'a str,
    /// The content.
    pub bytes: &'a [u8],
}

/// What sending stored: ids and verdicts, no content.
#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    /// The new message's id.
    pub message_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// The scanners' verdict on the text.
    pub verdict: Verdict,
    /// Whether spam scanning ran (some recipient enabled `messaging.harmful_detection`).
    pub spam_scanned: bool,
    /// The attachments stored with it.
    pub attachments: Vec<SentAttachment>,
}

/// One stored attachment.
#[derive(Clone, Debug, PartialEq)]
pub struct SentAttachment {
    /// The attachment's id.
    pub attachment_id: i64,
    /// The malware scanner's verdict.
    pub verdict: Verdict,
}

/// What a reader gets in place of a message's or attachment's content.
#[derive(Debug)]
pub enum Content {
    /// The opened content (wiped on drop).
    Open(Plaintext),
    /// Hidden from this reader: the scanners quarantined it. Show a warning with the verdict
    /// and rule; the content is not returned.
    Quarantined {
        /// `phishing`, `malware` or `spam`.
        verdict: String,
        /// The rule that decided.
        rule: Option<String>,
    },
    /// Removed by a reviewer's decision.
    Removed,
    /// The author's account was erased: the content was destroyed with their key.
    AuthorErased,
    /// The sealed content failed to open (`vault.aead_failure` for a tampered or swapped
    /// row); nothing is returned.
    Unreadable {
        /// The vault's error code.
        code: &'static str,
    },
}

impl Content {
    /// The opened content, if this reader may see it.
    pub fn plaintext(&self) -> Option<&Plaintext> {
        match self {
            Content::Open(p) => Some(p),
            _ => None,
        }
    }

    /// A short warning for a reader, if the content is withheld.
    pub fn warning(&self) -> Option<String> {
        match self {
            Content::Open(_) => None,
            Content::Quarantined { verdict, rule } => Some(format!(
                "hidden: this message was flagged as {verdict} (rule {})",
                rule.as_deref().unwrap_or("-")
            )),
            Content::Removed => Some("removed by a trust & safety decision".to_owned()),
            Content::AuthorErased => Some("message from a deleted member".to_owned()),
            Content::Unreadable { code } => Some(format!("content could not be opened ({code})")),
        }
    }
}

/// One message as a participant sees it.
#[derive(Debug)]
pub struct ReadMessage {
    /// The message's id.
    pub message_id: i64,
    /// Its author.
    pub author_id: i64,
    /// When it was sent.
    pub sent_at_ms: i64,
    /// The stored verdict (`clean`, `phishing`, `spam`, `removed`, ...), if scanned.
    pub verdict: Option<String>,
    /// The stored rule id, if any.
    pub rule: Option<String>,
    /// The content, or why it is withheld.
    pub content: Content,
    /// Its attachments.
    pub attachments: Vec<ReadAttachment>,
}

/// One attachment as a participant sees it.
#[derive(Debug)]
pub struct ReadAttachment {
    /// The attachment's id.
    pub attachment_id: i64,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub size_bytes: i64,
    /// The stored verdict.
    pub verdict: Option<String>,
    /// The stored rule id.
    pub rule: Option<String>,
    /// The content, or why it is withheld.
    pub content: Content,
}

/// A filed report and the case it opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The `reports` row.
    pub report_id: i64,
    /// The `cases` row.
    pub case_id: i64,
    /// The reported message.
    pub message_id: i64,
    /// The ledger entry of the report.
    pub ledger_seq: u64,
}

/// The participants of `conversation` (sorted), or `safety.not_found`.
pub(crate) fn participants(tx: &mut Tx<'_>, conversation: i64) -> Result<Vec<i64>, SafetyError> {
    let exists = tx.query_opt(
        "SELECT conversation_id FROM conversations WHERE conversation_id = $1",
        &[conversation.into()],
    )?;
    if exists.is_none() {
        return Err(SafetyError::not_found(format!(
            "conversation `{conversation}`"
        )));
    }
    let mut members = tx
        .query(
            "SELECT member_id FROM conversation_participants WHERE conversation_id = $1",
            &[conversation.into()],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<Vec<_>, _>>()?;
    members.sort_unstable();
    Ok(members)
}

fn require_participant(
    tx: &mut Tx<'_>,
    member: i64,
    conversation: i64,
) -> Result<Vec<i64>, SafetyError> {
    let members = participants(tx, conversation)?;
    if members.binary_search(&member).is_err() {
        return Err(SafetyError::NotParticipant {
            member,
            conversation,
        });
    }
    Ok(members)
}

/// Whether `member` has `messaging.harmful_detection` on at `at_ms` (false for a deleted or
/// missing member, or a taxonomy without the key).
pub(crate) fn harmful_detection(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member: i64,
    at_ms: i64,
) -> Result<bool, SafetyError> {
    let Some(key) = taxonomy.consent_key_id(HARMFUL_DETECTION) else {
        return Ok(false);
    };
    let m = match get_member(tx, member) {
        Ok(m) => m,
        Err(steward_store::StoreError::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if m.deleted_at.is_some() {
        return Ok(false);
    }
    Ok(effective_consent(tx, taxonomy, &m, at_ms)?.granted(key))
}

fn stored_verdict(v: &Verdict) -> (&'static str, &'static str) {
    (v.kind.as_str(), v.rule_id.unwrap_or(""))
}

fn opt_nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// One message of a [`Safety::send_batch`].
#[derive(Clone, Copy, Debug)]
pub struct OutgoingMessage<'m> {
    /// The sending member (a participant of `conversation`).
    pub author: i64,
    /// The conversation.
    pub conversation: i64,
    /// The text.
    pub text: &'m str,
    /// Its attachments.
    pub attachments: &'m [NewAttachment<'m>],
    /// When it is sent (milliseconds since the epoch).
    pub at_ms: i64,
}

/// A recipient's `messaging.harmful_detection` setting as stored: the default of their
/// jurisdiction and their own changes of that key in the order [`consent::effective_at`]
/// applies them, so the answer at any instant is the one `effective_consent` gives.
#[derive(Debug)]
enum Detection {
    /// Deleted, erased or missing: no spam scanning on their behalf.
    Off,
    /// A live member.
    History {
        default: bool,
        /// `(at_ms, granted)`, sorted by time, ties in recorded order.
        changes: Vec<(i64, bool)>,
    },
}

impl Detection {
    fn at(&self, at_ms: i64) -> bool {
        match self {
            Detection::Off => false,
            Detection::History { default, changes } => changes
                .iter()
                .take_while(|(at, _)| *at <= at_ms)
                .last()
                .map_or(*default, |(_, granted)| *granted),
        }
    }
}

/// Sends messages inside one transaction with per-transaction caches (see
/// [`Safety::send_session`]). Made by [`Safety::send_session`].
pub struct SendSession<'s, 'tx> {
    safety: &'s Safety<'s>,
    tx: &'s mut Tx<'tx>,
    harmful_key: Option<ConsentKey>,
    /// Conversation → its participants, sorted.
    participants: HashMap<i64, Vec<i64>>,
    /// Recipient → their harmful-detection setting.
    detection: HashMap<i64, Detection>,
    /// The authors' content keys, unwrapped once (wiped on drop).
    sealer: VaultSealer,
    /// Authors' key states read by [`SendSession::prefetch_author_keys`], not yet unwrapped.
    key_states: HashMap<i64, MemberKeyState>,
}

impl std::fmt::Debug for SendSession<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendSession")
            .field("conversations", &self.participants.len())
            .field("recipients", &self.detection.len())
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

impl SendSession<'_, '_> {
    /// Sends one message, as [`Safety::send_message`] does. After an error, roll the
    /// transaction back: the message may be partly written.
    pub fn send(
        &mut self,
        author: i64,
        conversation: i64,
        text: &str,
        attachments: &[NewAttachment<'_>],
        at_ms: i64,
    ) -> Result<SentMessage, SafetyError> {
        self.send_one(
            &OutgoingMessage {
                author,
                conversation,
                text,
                attachments,
                at_ms,
            },
            None,
        )
    }

    /// Sends `m` as [`SendSession::send`] does, into the row `message_id` when the caller
    /// reserved one ([`Safety::send_batch`] reserves a batch's ids in one query).
    fn send_one(
        &mut self,
        m: &OutgoingMessage<'_>,
        message_id: Option<i64>,
    ) -> Result<SentMessage, SafetyError> {
        if m.text.len() > MAX_MESSAGE_BYTES {
            return Err(SafetyError::Invalid(format!(
                "a message is at most {MAX_MESSAGE_BYTES} bytes; this one has {}",
                m.text.len()
            )));
        }
        let spam_scanned = self.recipients_want_spam_scan(m.author, m.conversation, m.at_ms)?;
        let verdict = self.safety.scanner.scan_message(
            m.text,
            ScanFlags {
                harmful_detection: spam_scanned,
            },
        );
        self.ensure_key(m.author)?;
        let message_id = match message_id {
            Some(id) => id,
            None => self.tx.next_id("messages", "message_id")?,
        };
        let sealed = seal_message(
            &self.sealer,
            message_id,
            &NewMessage {
                conversation_id: m.conversation,
                author_id: m.author,
                sent_at_ms: m.at_ms,
                plaintext: m.text.as_bytes(),
                verdict: Some(stored_verdict(&verdict)),
            },
        )?;
        let message_id = insert_sealed_message(self.tx, sealed, self.sealer.scheme())?;
        let attachments =
            store_attachments(self.tx, &self.sealer, self.safety.scanner, m, message_id)?;
        Ok(SentMessage {
            message_id,
            conversation_id: m.conversation,
            verdict,
            spam_scanned,
            attachments,
        })
    }

    /// Holds `author`'s content key, unwrapped (or made, in this transaction).
    fn ensure_key(&mut self, author: i64) -> Result<(), VaultError> {
        self.sealer.ensure_member(
            self.safety.vault,
            &mut PrefetchedKeyStore {
                inner: TxKeyStore::new(self.tx),
                states: &mut self.key_states,
            },
            author,
        )
    }

    /// Reads the participants of `conversations` and every participant's
    /// `messaging.harmful_detection` setting in a few queries (`IN` lists) instead of two per
    /// conversation and two per member, filling the same caches [`SendSession::send`] fills
    /// lazily. Unknown conversations are left out (sending to one is still `safety.not_found`).
    pub fn prefetch(&mut self, conversations: &[i64]) -> Result<(), SafetyError> {
        let mut wanted: Vec<i64> = conversations
            .iter()
            .copied()
            .filter(|c| !self.participants.contains_key(c))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        // The participants alone, from the primary key's index: a conversation that comes
        // back is one that exists. One that does not (unknown, or without participants) stays
        // uncached, and sending to it takes the one-conversation path and its refusal.
        let mut found: HashMap<i64, Vec<i64>> = HashMap::new();
        for row in query_in(
            self.tx,
            "SELECT conversation_id, member_id FROM conversation_participants \
             WHERE conversation_id",
            &wanted,
            "",
        )? {
            found.entry(row.i64(0)?).or_default().push(row.i64(1)?);
        }
        let mut members: Vec<i64> = Vec::new();
        for (conversation, mut list) in found {
            list.sort_unstable();
            members.extend(&list);
            self.participants.insert(conversation, list);
        }
        let Some(key) = self.harmful_key else {
            return Ok(());
        };
        members.sort_unstable();
        members.dedup();
        members.retain(|m| !self.detection.contains_key(m));
        if members.is_empty() {
            return Ok(());
        }
        // As `detection_of`, for many members: missing or deleted members are off; otherwise
        // their jurisdiction's default, then their changes of the key in (time, id) order.
        let taxonomy = self.safety.taxonomy;
        let key_name = taxonomy
            .consent_key(key)
            .map(|k| k.name.clone())
            .unwrap_or_default();
        // One query for both: each member with their changes of the key (a member without any
        // comes back once, with NULLs; only then is `e.at` NULL, so its sort place is moot).
        let select = format!(
            "SELECT m.member_id, m.jurisdiction, m.deleted_at, e.value, e.at FROM members m \
             LEFT JOIN consent_events e ON e.member_id = m.member_id AND e.key = '{}' \
             WHERE m.member_id",
            key_name.replace('\'', "''")
        );
        let mut live: HashMap<i64, Detection> = HashMap::new();
        for row in query_in(
            self.tx,
            &select,
            &members,
            " ORDER BY m.member_id, e.at, e.event_id",
        )? {
            if !row.get(2).is_null() {
                continue;
            }
            let member = row.i64(0)?;
            let detection = match live.entry(member) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(Detection::History {
                    default: consent::defaults_for(taxonomy, &row.text(1)?).granted(key),
                    changes: Vec::new(),
                }),
            };
            if row.get(3).is_null() {
                continue;
            }
            let Ok(granted) = consent::parse_consent_value(&row.text(3)?) else {
                continue;
            };
            if let Detection::History { changes, .. } = detection {
                changes.push((row.i64(4)?, granted));
            }
        }
        for m in members {
            let d = live.remove(&m).unwrap_or(Detection::Off);
            self.detection.insert(m, d);
        }
        Ok(())
    }

    /// Reads the stored content keys of `authors` in a few queries (`IN` lists) instead of one
    /// per author; each is unwrapped when the author first sends, as before. Authors without a
    /// key get one made then, as [`SendSession::send`] does.
    pub fn prefetch_author_keys(&mut self, authors: &[i64]) -> Result<(), SafetyError> {
        let mut wanted: Vec<i64> = authors
            .iter()
            .copied()
            .filter(|a| !self.sealer.holds(*a) && !self.key_states.contains_key(a))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut states: HashMap<i64, MemberKeyState> = HashMap::new();
        for row in query_in(
            self.tx,
            "SELECT member_id, wrapped_key, shredded FROM vault_member_keys WHERE member_id",
            &wanted,
            "",
        )? {
            let state = key_state(row.get(1), row.get(2)).map_err(VaultError::from)?;
            states.insert(row.i64(0)?, state);
        }
        for author in wanted {
            let state = states.remove(&author).unwrap_or(MemberKeyState::Absent);
            self.key_states.insert(author, state);
        }
        Ok(())
    }

    /// Refuses a non-participant author; then whether any other participant has
    /// `messaging.harmful_detection` on at `at_ms`.
    fn recipients_want_spam_scan(
        &mut self,
        author: i64,
        conversation: i64,
        at_ms: i64,
    ) -> Result<bool, SafetyError> {
        if !self.participants.contains_key(&conversation) {
            let members = participants(self.tx, conversation)?;
            self.participants.insert(conversation, members);
        }
        let members = self
            .participants
            .get(&conversation)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if members.binary_search(&author).is_err() {
            return Err(SafetyError::NotParticipant {
                member: author,
                conversation,
            });
        }
        let Some(key) = self.harmful_key else {
            return Ok(false);
        };
        for &m in members.iter().filter(|m| **m != author) {
            let detection = match self.detection.entry(m) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(detection_of(self.tx, self.safety.taxonomy, key, m)?),
            };
            if detection.at(at_ms) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Scans, seals and stores the attachments of `message` (stored as `message_id`); malware is
/// scanned for always.
fn store_attachments(
    tx: &mut Tx<'_>,
    sealer: &VaultSealer,
    scanner: &Scanner,
    message: &OutgoingMessage<'_>,
    message_id: i64,
) -> Result<Vec<SentAttachment>, SafetyError> {
    let mut sent = Vec::with_capacity(message.attachments.len());
    for a in message.attachments {
        let v = scanner.scan_attachment(a.file_name, a.bytes);
        let attachment_id = tx.next_id("attachments", "attachment_id")?;
        let sealed = sealer
            .seal(
                &SealContext {
                    table: "attachments",
                    row_id: attachment_id,
                    member_id: message.author,
                    container_id: Some(message.conversation),
                },
                a.bytes,
            )
            .map_err(|e| steward_store::StoreError::Invalid(e.to_string()))?;
        let (kind, rule) = stored_verdict(&v);
        tx.execute(
            "INSERT INTO attachments (attachment_id, message_id, member_id, media_type, \
             size_bytes, content_sealed, sealing, verdict, verdict_rule) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                attachment_id.into(),
                message_id.into(),
                message.author.into(),
                a.media_type.into(),
                i64::try_from(a.bytes.len()).unwrap_or(i64::MAX).into(),
                Value::Bytes(sealed.into_stored_bytes()),
                sealer.scheme().into(),
                kind.into(),
                rule.into(),
            ],
        )?;
        sent.push(SentAttachment {
            attachment_id,
            verdict: v,
        });
    }
    Ok(sent)
}

/// `{select} IN ($1, ...){tail}` over `ids` in chunks of 500; every row.
///
/// Each chunk's list is padded to a power of two by repeating its last id (an `IN` list is a
/// set, so the rows are the same): the statement text then takes one of a few forms, and the
/// store's prepared-statement cache serves it instead of SQLite parsing a new statement for
/// every batch size.
fn query_in(
    tx: &mut Tx<'_>,
    select: &str,
    ids: &[i64],
    tail: &str,
) -> Result<Vec<steward_store::Row>, SafetyError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let Some(&last) = chunk.last() else {
            continue;
        };
        let padded = chunk.len().next_power_of_two();
        let params: Vec<Value> = chunk
            .iter()
            .copied()
            .chain(std::iter::repeat(last))
            .take(padded)
            .map(Value::Int)
            .collect();
        out.extend(tx.query(
            &format!("{select} IN ({}){tail}", placeholder_list(padded)),
            &params,
        )?);
    }
    Ok(out)
}

/// Most ids [`query_in`] puts in one list.
const IN_CHUNK: usize = 500;

/// `$1, $2, ..., $n` for `n` a power of two up to `IN_CHUNK`'s, built once per process.
fn placeholder_list(n: usize) -> &'static str {
    static LISTS: OnceLock<Vec<String>> = OnceLock::new();
    let lists = LISTS.get_or_init(|| {
        (0..=IN_CHUNK.next_power_of_two().trailing_zeros())
            .map(|log| {
                (1..=1usize << log)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect()
    });
    lists
        .get(n.trailing_zeros() as usize)
        .map_or("", String::as_str)
}

/// Reads `member`'s `key` setting: their jurisdiction's default and their changes of it.
fn detection_of(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    key: ConsentKey,
    member: i64,
) -> Result<Detection, SafetyError> {
    // Only the two columns this needs: the whole member row cost more than the rest of a send.
    let Some(row) = tx.query_opt(
        "SELECT jurisdiction, deleted_at FROM members WHERE member_id = $1",
        &[member.into()],
    )?
    else {
        return Ok(Detection::Off);
    };
    if !row.get(1).is_null() {
        return Ok(Detection::Off);
    }
    let jurisdiction = row.text(0)?;
    let mut changes: Vec<(i64, bool)> = consent_events(taxonomy, &setting_history(tx, member)?)
        .into_iter()
        .filter(|e| e.key == key)
        .map(|e| (e.at_ms, e.granted))
        .collect();
    // Stable, like `consent::effective_at`: same-instant changes keep their recorded order.
    changes.sort_by_key(|(at, _)| *at);
    Ok(Detection::History {
        default: consent::defaults_for(taxonomy, &jurisdiction).granted(key),
        changes,
    })
}

impl Safety<'_> {
    /// Starts a conversation of `creator` with `others` (existing, not deleted members).
    /// Returns its id.
    pub fn start_conversation(
        &self,
        tx: &mut Tx<'_>,
        creator: i64,
        others: &[i64],
        at_ms: i64,
    ) -> Result<i64, SafetyError> {
        let mut members: Vec<i64> = others.iter().copied().filter(|m| *m != creator).collect();
        if members.is_empty() {
            return Err(SafetyError::Invalid(
                "a conversation needs at least one other member".to_owned(),
            ));
        }
        members.push(creator);
        members.sort_unstable();
        members.dedup();
        for m in &members {
            let member = match get_member(tx, *m) {
                Ok(member) => member,
                Err(steward_store::StoreError::NotFound { .. }) => {
                    return Err(SafetyError::not_found(format!("member `{m}`")));
                }
                Err(e) => return Err(e.into()),
            };
            if member.deleted_at.is_some() {
                return Err(SafetyError::not_found(format!("member `{m}`")));
            }
        }
        let id = tx.next_id("conversations", "conversation_id")?;
        tx.execute(
            "INSERT INTO conversations (conversation_id, member_id, created_at) VALUES ($1, $2, $3)",
            &[id.into(), creator.into(), at_ms.into()],
        )?;
        for m in members {
            tx.execute(
                "INSERT INTO conversation_participants (conversation_id, member_id, joined_at) \
                 VALUES ($1, $2, $3)",
                &[id.into(), m.into(), at_ms.into()],
            )?;
        }
        Ok(id)
    }

    /// Sends a message (and attachments) from `author` to `conversation`. Only a participant
    /// may send. The text is scanned for phishing always and for spam when any recipient turned
    /// on `messaging.harmful_detection`; attachments for malware always. Content is sealed
    /// under the author's key in this transaction; only ciphertext, verdict and rule id are
    /// stored. To send many messages in one transaction, use [`Safety::send_session`] or
    /// [`Safety::send_batch`]: the same checks, with the lookups made once per transaction.
    pub fn send_message(
        &self,
        tx: &mut Tx<'_>,
        author: i64,
        conversation: i64,
        text: &str,
        attachments: &[NewAttachment<'_>],
        at_ms: i64,
    ) -> Result<SentMessage, SafetyError> {
        self.send_session(tx)
            .send(author, conversation, text, attachments, at_ms)
    }

    /// A send session bound to `tx`: every message sent through it gets exactly the checks of
    /// [`Safety::send_message`], but the conversation's participants, each recipient's
    /// `messaging.harmful_detection` history and each author's unwrapped content key are read
    /// once per session instead of once per message. The session borrows the transaction
    /// mutably, so nothing else writes through it while the caches live; drop the session (or
    /// let it go out of scope) before committing.
    pub fn send_session<'s, 'tx>(&'s self, tx: &'s mut Tx<'tx>) -> SendSession<'s, 'tx> {
        SendSession {
            safety: self,
            tx,
            harmful_key: self.taxonomy.consent_key_id(HARMFUL_DETECTION),
            participants: HashMap::new(),
            detection: HashMap::new(),
            sealer: VaultSealer::empty(),
            key_states: HashMap::new(),
        }
    }

    /// Sends `messages` in order in one transaction through one [`SendSession`]. Stops at the
    /// first refusal or failure and returns it; the caller's transaction then rolls back, so a
    /// batch is stored whole or not at all.
    pub fn send_batch(
        &self,
        tx: &mut Tx<'_>,
        messages: &[OutgoingMessage<'_>],
    ) -> Result<Vec<SentMessage>, SafetyError> {
        let mut session = self.send_session(tx);
        let conversations: Vec<i64> = messages.iter().map(|m| m.conversation).collect();
        session.prefetch(&conversations)?;
        let authors: Vec<i64> = messages.iter().map(|m| m.author).collect();
        session.prefetch_author_keys(&authors)?;
        // The batch's message ids in one query, not one `MAX(...)` or `nextval` per message.
        let ids = session
            .tx
            .next_ids("messages", "message_id", messages.len())?;
        messages
            .iter()
            .zip(ids)
            .map(|(m, id)| session.send_one(m, Some(id)))
            .collect()
    }

    /// Reads `conversation` as `reader` (a participant; `service.core`, not ledgered), oldest
    /// first. A message the scanners quarantined is withheld from its recipients — phishing and
    /// malware always, spam when the reader turned on `messaging.harmful_detection` — with its
    /// verdict and rule; its author sees it.
    pub fn read_conversation(
        &self,
        tx: &mut Tx<'_>,
        reader: i64,
        conversation: i64,
        at_ms: i64,
    ) -> Result<Vec<ReadMessage>, SafetyError> {
        require_participant(tx, reader, conversation)?;
        let hides_spam = harmful_detection(tx, self.taxonomy, reader, at_ms)?;
        let rows = tx.query(
            "SELECT message_id, member_id, sent_at, verdict, verdict_rule FROM messages \
             WHERE conversation_id = $1 ORDER BY sent_at, message_id",
            &[conversation.into()],
        )?;
        let attachment_rows = tx.query(
            "SELECT a.attachment_id, a.message_id, a.member_id, a.media_type, a.size_bytes, \
             a.verdict, a.verdict_rule FROM attachments a \
             JOIN messages m ON m.message_id = a.message_id \
             WHERE m.conversation_id = $1 ORDER BY a.attachment_id",
            &[conversation.into()],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let message_id = row.i64(0)?;
            let author_id = row.i64(1)?;
            let verdict = row.opt_text(3)?;
            let rule = opt_nonempty(row.opt_text(4)?);
            let content = self.content_for(
                tx,
                reader,
                author_id,
                hides_spam,
                verdict.as_deref(),
                rule.as_deref(),
                "messages",
                message_id,
            )?;
            let mut attachments = Vec::new();
            for a in attachment_rows
                .iter()
                .filter(|a| a.get(1).as_i64() == Some(message_id))
            {
                let attachment_id = a.i64(0)?;
                let a_verdict = a.opt_text(5)?;
                let a_rule = opt_nonempty(a.opt_text(6)?);
                // A removed message takes its attachments with it.
                let shown_verdict = if verdict.as_deref() == Some(REMOVED) {
                    verdict.as_deref()
                } else {
                    a_verdict.as_deref()
                };
                let content = self.content_for(
                    tx,
                    reader,
                    a.i64(2)?,
                    hides_spam,
                    shown_verdict,
                    a_rule.as_deref(),
                    "attachments",
                    attachment_id,
                )?;
                attachments.push(ReadAttachment {
                    attachment_id,
                    media_type: a.text(3)?,
                    size_bytes: a.i64(4)?,
                    verdict: a_verdict,
                    rule: a_rule,
                    content,
                });
            }
            out.push(ReadMessage {
                message_id,
                author_id,
                sent_at_ms: row.i64(2)?,
                verdict,
                rule,
                content,
                attachments,
            });
        }
        Ok(out)
    }

    #[expect(clippy::too_many_arguments, reason = "one call site, all plain values")]
    fn content_for(
        &self,
        tx: &mut Tx<'_>,
        reader: i64,
        author: i64,
        hides_spam: bool,
        verdict: Option<&str>,
        rule: Option<&str>,
        table: &str,
        row_id: i64,
    ) -> Result<Content, SafetyError> {
        if verdict == Some(REMOVED) {
            return Ok(Content::Removed);
        }
        let hidden = reader != author
            && match verdict {
                Some(v) if v == VerdictKind::Phishing.as_str() => true,
                Some(v) if v == VerdictKind::Malware.as_str() => true,
                Some(v) if v == VerdictKind::Spam.as_str() => hides_spam,
                _ => false,
            };
        if hidden {
            return Ok(Content::Quarantined {
                verdict: verdict.unwrap_or_default().to_owned(),
                rule: rule.map(str::to_owned),
            });
        }
        match open_stored(self.vault, tx, Access::Participant(reader), table, row_id) {
            Ok(opened) => Ok(Content::Open(opened.plaintext)),
            Err(VaultError::MemberShredded { .. }) => Ok(Content::AuthorErased),
            Err(VaultError::Store(e)) => Err(e.into()),
            Err(e) => Ok(Content::Unreadable { code: e.code() }),
        }
    }

    /// Reports `message_id` as `reporter` (a participant of its conversation) with `reason`:
    /// writes a `reports` row and an open `cases` row (its `member_id` is the reported
    /// message's author), and a ledger entry naming the reporter only.
    pub fn report_message(
        &self,
        tx: &mut Tx<'_>,
        reporter: i64,
        message_id: i64,
        reason: &str,
        at_ms: i64,
    ) -> Result<Report, SafetyError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON {
            return Err(SafetyError::Invalid(format!(
                "a report needs a reason of 1 to {MAX_REASON} bytes"
            )));
        }
        let row = tx
            .query_opt(
                "SELECT conversation_id, member_id FROM messages WHERE message_id = $1",
                &[message_id.into()],
            )?
            .ok_or_else(|| SafetyError::not_found(format!("message `{message_id}`")))?;
        let conversation = row.i64(0)?;
        let author = row.i64(1)?;
        require_participant(tx, reporter, conversation)?;
        let report_id = tx.next_id("reports", "report_id")?;
        tx.execute(
            "INSERT INTO reports (report_id, member_id, target_kind, target_id, reason, \
             created_at, status) VALUES ($1, $2, 'message', $3, $4, $5, 'open')",
            &[
                report_id.into(),
                reporter.into(),
                message_id.into(),
                reason.into(),
                at_ms.into(),
            ],
        )?;
        let case_id = tx.next_id("cases", "case_id")?;
        tx.execute(
            "INSERT INTO cases (case_id, report_id, member_id, status, opened_at) \
             VALUES ($1, $2, $3, 'open', $4)",
            &[
                case_id.into(),
                report_id.into(),
                author.into(),
                at_ms.into(),
            ],
        )?;
        let mut entry = self.entry(
            at_ms,
            format!("member:{reporter}"),
            "member",
            "safety.report_review",
            "report.create",
        );
        entry.subjects = subjects(&[reporter]);
        entry.reference = format!("case:{case_id}");
        entry.details = format!("report {report_id} of message {message_id}");
        let ledger_seq = self.append(tx, entry)?;
        Ok(Report {
            report_id,
            case_id,
            message_id,
            ledger_seq,
        })
    }
}
