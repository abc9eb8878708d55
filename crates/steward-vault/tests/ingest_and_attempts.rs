//! The batched send path (`Safety::send_batch`, `SendSession`) against `send_message`, imported
//! attachments opening through the vault, and refused opens under a grant written to the
//! ledger — on SQLite and (when `STEWARD_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_ledger::{Entry, Ledger};
use steward_scan::{Scanner, VerdictKind};
use steward_store::import::import_bytes;
use steward_store::schema::TABLES;
use steward_store::{OpenOptions, Store, Tx};
use steward_vault::safety::cases::GrantRequest;
use steward_vault::safety::{
    Content, NewAttachment, OutgoingMessage, SentMessage, StaffRole, add_staff, migrate,
};
use steward_vault::{
    ContentKind, GrantPurpose, Keyring, Safety, SafetyError, TxKeyStore, Vault, VaultSealer,
};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const PHISHING: &str = "URGENT: verify your account at http://paypa1-account-verify.com/login";
const SPAM: &str = "URGENT!! You have won a cash prize of $5,000. Send a gift card processing \
    fee via western union within 24 hours!!";
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static COUNTER: AtomicU32 = AtomicU32::new(0);

struct Db {
    store: Store,
    backend: &'static str,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg {
            let options = OpenOptions {
                skip_migrations: true,
                ..OpenOptions::default()
            };
            if let Ok(admin) = Store::open_with(url, &options) {
                let _ = admin.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// Fresh databases with the safety migrations and members 1..=5 (US).
fn databases() -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).unwrap();
    let mut out = vec![Db {
        store,
        backend: "sqlite",
        _dir: dir,
        pg: None,
    }];
    if let Ok(url) = std::env::var("STEWARD_TEST_POSTGRES_URL") {
        let schema = format!(
            "ingest_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let store = Store::open_with(
            &url,
            &OpenOptions {
                postgres_schema: Some(schema.clone()),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        out.push(Db {
            store,
            backend: "postgres",
            _dir: tempfile::tempdir().unwrap(),
            pg: Some((url, schema)),
        });
    }
    for db in &out {
        migrate(&db.store).unwrap();
        db.store
            .transaction(|tx| {
                for id in 1..=5i64 {
                    add_member(tx, id)?;
                }
                Ok::<(), steward_store::StoreError>(())
            })
            .unwrap();
    }
    out
}

fn add_member(tx: &mut Tx<'_>, id: i64) -> Result<(), steward_store::StoreError> {
    tx.execute(
        "INSERT INTO members (member_id, first_name, last_name, email, country, jurisdiction, \
         created_at) VALUES ($1, $2, 'Test', $3, 'US', 'US', $4)",
        &[
            id.into(),
            format!("M{id}").into(),
            format!("m{id}@example.org").into(),
            T0.into(),
        ],
    )?;
    Ok(())
}

struct World {
    vault: Vault,
    scanner: Scanner,
    taxonomy: Taxonomy,
}

fn world() -> World {
    World {
        vault: Vault::new(Keyring::ephemeral().unwrap()),
        scanner: Scanner::builtin().unwrap(),
        taxonomy: Taxonomy::builtin(),
    }
}

impl World {
    fn safety(&self) -> Safety<'_> {
        Safety::new(&self.vault, &self.scanner, &self.taxonomy, "test-policy")
    }
}

fn set(store: &Store, taxonomy: &Taxonomy, member: i64, assignment: &str, at: i64) {
    store
        .transaction(|tx| {
            steward_store::member::set_setting(tx, taxonomy, member, assignment, &Actor::Member, at)
        })
        .unwrap();
}

fn i64q(db: &Db, sql: &str, params: &[steward_store::Value]) -> i64 {
    db.store.read(|tx| tx.query_i64(sql, params)).unwrap()
}

/// What a send stored, without ids (which differ between databases).
fn outcome(sent: &SentMessage) -> (VerdictKind, Option<&'static str>, bool, Vec<VerdictKind>) {
    (
        sent.verdict.kind,
        sent.verdict.rule_id,
        sent.spam_scanned,
        sent.attachments.iter().map(|a| a.verdict.kind).collect(),
    )
}

/// Conversations: 1 = {1, 2}, 2 = {1, 3, 4}, 3 = {2, 5}. Everyone turns harmful-message
/// detection off at T0 + 1; member 2 turns it on at T0 + 50 and off at T0 + 150; member 4 on
/// at T0 + 100.
fn setup(db: &Db, w: &World) -> [i64; 3] {
    let s = w.safety();
    let convs = db
        .store
        .transaction(|tx| {
            Ok::<_, SafetyError>([
                s.start_conversation(tx, 1, &[2], T0)?,
                s.start_conversation(tx, 1, &[3, 4], T0)?,
                s.start_conversation(tx, 2, &[5], T0)?,
            ])
        })
        .unwrap();
    // Detection is on by default: everyone turns it off first.
    for m in 1..=5 {
        set(
            &db.store,
            &w.taxonomy,
            m,
            "messaging.harmful_detection=off",
            T0 + 1,
        );
    }
    set(
        &db.store,
        &w.taxonomy,
        2,
        "messaging.harmful_detection=on",
        T0 + 50,
    );
    set(
        &db.store,
        &w.taxonomy,
        4,
        "messaging.harmful_detection=on",
        T0 + 100,
    );
    set(
        &db.store,
        &w.taxonomy,
        2,
        "messaging.harmful_detection=off",
        T0 + 150,
    );
    convs
}

#[test]
fn a_batch_stores_what_sending_one_by_one_stores() {
    let w = world();
    let texts = [SPAM, PHISHING, "Hello, are you free on Tuesday?"];
    let attachment = [NewAttachment {
        file_name: Some("eicar.com"),
        media_type: "application/octet-stream",
        bytes: EICAR,
    }];
    for (one_by_one, batched) in databases().into_iter().zip(databases()) {
        let b = one_by_one.backend;
        let convs = setup(&one_by_one, &w);
        assert_eq!(setup(&batched, &w), convs);
        // Every author of every conversation, at times on both sides of each consent change.
        let mut outgoing = Vec::new();
        for (i, at) in [T0, T0 + 10, T0 + 60, T0 + 120, T0 + 200]
            .into_iter()
            .enumerate()
        {
            for (conv, authors) in [
                (convs[0], &[1i64, 2][..]),
                (convs[1], &[1, 3, 4]),
                (convs[2], &[2, 5]),
            ] {
                for (j, author) in authors.iter().enumerate() {
                    outgoing.push(OutgoingMessage {
                        author: *author,
                        conversation: conv,
                        text: texts[(i + j) % texts.len()],
                        attachments: if (i + j) % 4 == 0 { &attachment } else { &[] },
                        at_ms: at,
                    });
                }
            }
        }
        let s = w.safety();
        let reprepared = [&one_by_one, &batched].map(|db| db.store.sqlite_reprepares());
        let single: Vec<SentMessage> = one_by_one
            .store
            .transaction(|tx| {
                outgoing
                    .iter()
                    .map(|m| {
                        s.send_message(tx, m.author, m.conversation, m.text, m.attachments, m.at_ms)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        let batch = batched
            .store
            .transaction(|tx| s.send_batch(tx, &outgoing))
            .unwrap();
        assert_eq!(single.len(), batch.len(), "{b}");
        // Message by message, every lookup ran from SQLite's statement cache, none re-planned.
        assert_eq!(one_by_one.store.sqlite_reprepares(), reprepared[0], "{b}");
        assert_eq!(batched.store.sqlite_reprepares(), reprepared[1], "{b}");
        for (k, (a, c)) in single.iter().zip(&batch).enumerate() {
            assert_eq!(
                outcome(a),
                outcome(c),
                "{b}: message {k} ({:?})",
                outgoing[k].at_ms
            );
            assert_eq!(a.message_id, c.message_id, "{b}");
        }
        // Spam scanning followed the recipients' settings at each message's time.
        let scanned: Vec<bool> = batch.iter().map(|m| m.spam_scanned).collect();
        let expected: Vec<bool> = outgoing
            .iter()
            .map(|m| {
                let on = |member: i64| match member {
                    _ if m.at_ms < T0 + 1 => true, // the default
                    2 => (T0 + 50..T0 + 150).contains(&m.at_ms),
                    4 => m.at_ms >= T0 + 100,
                    _ => false,
                };
                let members: &[i64] = if m.conversation == convs[0] {
                    &[1, 2]
                } else if m.conversation == convs[1] {
                    &[1, 3, 4]
                } else {
                    &[2, 5]
                };
                members.iter().any(|r| *r != m.author && on(*r))
            })
            .collect();
        assert_eq!(scanned, expected, "{b}");
        assert!(scanned.contains(&true) && scanned.contains(&false), "{b}");
        // The stored verdicts, sealing and content are the same; each participant reads the
        // batch's messages through the vault, quarantine included.
        for table in ["messages", "attachments"] {
            let q = format!("SELECT COUNT(*) FROM {table} WHERE sealing = 'steward-vault-v1'");
            assert_eq!(i64q(&one_by_one, &q, &[]), i64q(&batched, &q, &[]), "{b}");
        }
        let q = "SELECT COUNT(*) FROM messages WHERE verdict = $1";
        for v in ["phishing", "spam", "clean"] {
            assert_eq!(
                i64q(&one_by_one, q, &[v.into()]),
                i64q(&batched, q, &[v.into()]),
                "{b}: {v}"
            );
        }
        let read = batched
            .store
            .transaction(|tx| s.read_conversation(tx, 3, convs[1], T0 + 300))
            .unwrap();
        assert_eq!(read.len(), 15, "{b}");
        for m in &read {
            if m.author_id != 3 && m.verdict.as_deref() == Some("phishing") {
                assert!(matches!(m.content, Content::Quarantined { .. }), "{b}");
            } else {
                // Clean, or spam (member 3 did not turn detection on), or their own.
                let text = m.content.plaintext().and_then(|p| p.as_str()).unwrap();
                assert!(texts.contains(&text), "{b}");
            }
            for a in &m.attachments {
                if m.author_id != 3 {
                    assert!(
                        matches!(a.content, Content::Quarantined { .. }),
                        "{b}: EICAR"
                    );
                } else {
                    assert_eq!(a.content.plaintext().unwrap().as_bytes(), EICAR, "{b}");
                }
            }
        }
    }
}

/// A large batch takes its message ids in one reservation: the rows get consecutive ids after
/// those already stored, and a refusal anywhere (the first in order is the one reported) stores
/// nothing and leaves the next batch the same ids.
#[test]
fn a_large_batch_reserves_its_ids_and_refuses_in_order() {
    let w = world();
    let texts = [SPAM, PHISHING, "Hello, are you free on Tuesday?"];
    let n = 80;
    for db in databases() {
        let b = db.backend;
        let convs = setup(&db, &w);
        let s = w.safety();
        let batch: Vec<OutgoingMessage<'_>> = (0..n)
            .map(|i| OutgoingMessage {
                author: 1 + (i % 2) as i64,
                conversation: convs[0],
                text: texts[i % texts.len()],
                attachments: &[],
                at_ms: T0 + 200 + i as i64,
            })
            .collect();
        // A non-participant late in the batch refuses it whole.
        let mut intruded = batch.clone();
        intruded[n - 3].author = 3;
        let e = db
            .store
            .transaction(|tx| s.send_batch(tx, &intruded))
            .unwrap_err();
        assert_eq!(e.code(), "safety.not_participant", "{b}");
        assert_eq!(i64q(&db, "SELECT COUNT(*) FROM messages", &[]), 0, "{b}");
        for round in 0..2 {
            let sent = db.store.transaction(|tx| s.send_batch(tx, &batch)).unwrap();
            let ids: Vec<i64> = sent.iter().map(|m| m.message_id).collect();
            let first = ids[0];
            assert_eq!(ids, (first..first + n as i64).collect::<Vec<_>>(), "{b}");
            if round == 1 {
                assert_eq!(
                    i64q(&db, "SELECT MIN(message_id) FROM messages", &[]) + n as i64,
                    first,
                    "{b}"
                );
            }
        }
        let stored = i64q(&db, "SELECT COUNT(*) FROM messages", &[]);
        assert_eq!(stored, 2 * n as i64, "{b}");
        // Once author 2's key is shredded, their first message (the second) refuses the batch
        // before the intruder's does.
        db.store
            .transaction(|tx| w.vault.shred_member(&mut TxKeyStore::new(tx), 2))
            .unwrap();
        let e = db
            .store
            .transaction(|tx| s.send_batch(tx, &intruded))
            .unwrap_err();
        assert_eq!(e.code(), "vault.member_shredded", "{b}");
        assert_eq!(
            i64q(&db, "SELECT COUNT(*) FROM messages", &[]),
            stored,
            "{b}"
        );
    }
}

/// A message over the size limit is refused with a stable code, alone or in a batch, and
/// nothing is stored; one at the limit is sent.
#[test]
fn an_oversized_message_is_refused_and_nothing_is_stored() {
    let w = world();
    let max = steward_vault::safety::messaging::MAX_MESSAGE_BYTES;
    let at_limit = "](".repeat(max / 2);
    let over = format!("{at_limit}x");
    for db in databases() {
        let b = db.backend;
        let convs = setup(&db, &w);
        let s = w.safety();
        let e = db
            .store
            .transaction(|tx| s.send_message(tx, 1, convs[0], &over, &[], T0 + 10))
            .unwrap_err();
        assert_eq!(e.code(), "safety.invalid", "{b}");
        let batch = [
            OutgoingMessage {
                author: 1,
                conversation: convs[0],
                text: "fine",
                attachments: &[],
                at_ms: T0 + 11,
            },
            OutgoingMessage {
                author: 1,
                conversation: convs[0],
                text: &over,
                attachments: &[],
                at_ms: T0 + 12,
            },
        ];
        let e = db
            .store
            .transaction(|tx| s.send_batch(tx, &batch))
            .unwrap_err();
        assert_eq!(e.code(), "safety.invalid", "{b}");
        assert_eq!(i64q(&db, "SELECT COUNT(*) FROM messages", &[]), 0, "{b}");
        // At the limit, and made of Markdown link markers: scanned and sent.
        let sent = db
            .store
            .transaction(|tx| s.send_message(tx, 1, convs[0], &at_limit, &[], T0 + 13))
            .unwrap();
        assert_eq!(sent.verdict.kind, VerdictKind::Clean, "{b}");
    }
}

#[test]
fn a_batch_refuses_a_non_participant_and_stores_nothing() {
    let w = world();
    for db in databases() {
        let b = db.backend;
        let convs = setup(&db, &w);
        let s = w.safety();
        let outgoing = [
            OutgoingMessage {
                author: 1,
                conversation: convs[0],
                text: "first",
                attachments: &[],
                at_ms: T0 + 10,
            },
            // Member 3 is not in conversation 1.
            OutgoingMessage {
                author: 3,
                conversation: convs[0],
                text: "intruder",
                attachments: &[],
                at_ms: T0 + 11,
            },
        ];
        let e = db
            .store
            .transaction(|tx| s.send_batch(tx, &outgoing))
            .unwrap_err();
        assert_eq!(e.code(), "safety.not_participant", "{b}");
        assert_eq!(i64q(&db, "SELECT COUNT(*) FROM messages", &[]), 0, "{b}");
        let unknown = [OutgoingMessage {
            conversation: 999,
            ..outgoing[0]
        }];
        let e = db
            .store
            .transaction(|tx| s.send_batch(tx, &unknown))
            .unwrap_err();
        assert_eq!(e.code(), "safety.not_found", "{b}");
        // A session used by hand: the second send, to a conversation the first cached, is
        // checked against the cached participants just the same.
        let e = db
            .store
            .transaction(|tx| {
                let mut session = s.send_session(tx);
                session.send(2, convs[0], "hi", &[], T0 + 20)?;
                session.send(5, convs[0], "hi", &[], T0 + 21)
            })
            .unwrap_err();
        assert_eq!(e.code(), "safety.not_participant", "{b}");
        assert_eq!(i64q(&db, "SELECT COUNT(*) FROM messages", &[]), 0, "{b}");
    }
}

#[test]
fn a_batch_seals_under_the_stored_keys_and_refuses_a_shredded_author() {
    let w = world();
    for db in databases() {
        let b = db.backend;
        let convs = setup(&db, &w);
        let s = w.safety();
        let message = |author: i64, text: &'static str, at_ms: i64| OutgoingMessage {
            author,
            conversation: convs[0],
            text,
            attachments: &[],
            at_ms,
        };
        // The first batch makes both authors' keys; the second reads them (prefetched in one
        // query) and must seal under the very same keys.
        for batch in [
            [message(1, "one", T0 + 10), message(2, "two", T0 + 11)],
            [message(2, "three", T0 + 12), message(1, "four", T0 + 13)],
        ] {
            db.store.transaction(|tx| s.send_batch(tx, &batch)).unwrap();
        }
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 1, convs[0], T0 + 20))
            .unwrap();
        let texts: Vec<&str> = read
            .iter()
            .map(|m| m.content.plaintext().and_then(|p| p.as_str()).unwrap())
            .collect();
        assert_eq!(texts, ["one", "two", "three", "four"], "{b}");
        // A shredded author's prefetched tombstone refuses the batch as `send_message` would,
        // and the batch stores nothing.
        db.store
            .transaction(|tx| w.vault.shred_member(&mut TxKeyStore::new(tx), 2))
            .unwrap();
        let e = db
            .store
            .transaction(|tx| {
                s.send_batch(
                    tx,
                    &[message(1, "five", T0 + 30), message(2, "six", T0 + 31)],
                )
            })
            .unwrap_err();
        assert_eq!(e.code(), "vault.member_shredded", "{b}");
        let e = db
            .store
            .transaction(|tx| s.send_message(tx, 2, convs[0], "six", &[], T0 + 31))
            .unwrap_err();
        assert_eq!(e.code(), "vault.member_shredded", "{b}");
        assert_eq!(i64q(&db, "SELECT COUNT(*) FROM messages", &[]), 4, "{b}");
    }
}

#[test]
fn imported_attachments_open_through_the_vault_like_sent_ones() {
    let w = world();
    for db in databases() {
        let b = db.backend;
        let convs = setup(&db, &w);
        let s = w.safety();
        let sealer = VaultSealer::provision(&w.vault, &db.store, [1i64, 2]).unwrap();
        let table = |name: &str| TABLES.iter().find(|t| t.name == name).unwrap();
        let messages = format!(
            r#"{{"message_id": 70, "conversation_id": {}, "member_id": 1, "sent_at": {}, "content": "imported hello", "verdict": null, "verdict_rule": null}}"#,
            convs[0],
            T0 + 5
        );
        import_bytes(
            &db.store,
            table("messages"),
            "messages.jsonl",
            messages.as_bytes(),
            &sealer,
        )
        .unwrap();
        let attachments = r#"{"attachment_id": 71, "message_id": 70, "member_id": 1, "media_type": "text/plain", "size_bytes": 12, "content": "my CV, v2026", "verdict": null, "verdict_rule": null}"#;
        import_bytes(
            &db.store,
            table("attachments"),
            "attachments.jsonl",
            attachments.as_bytes(),
            &sealer,
        )
        .unwrap();
        for reader in [1, 2] {
            let read = db
                .store
                .transaction(|tx| s.read_conversation(tx, reader, convs[0], T0 + 10))
                .unwrap();
            assert_eq!(read.len(), 1, "{b}");
            assert_eq!(
                read[0].content.plaintext().unwrap().as_str(),
                Some("imported hello"),
                "{b}"
            );
            let a = &read[0].attachments[0];
            assert_eq!(
                a.content.plaintext().map(|p| p.as_bytes().to_vec()),
                Some(b"my CV, v2026".to_vec()),
                "{b}: the imported attachment did not open ({:?})",
                a.content.warning()
            );
        }
        // An attachment whose message does not exist is still refused as a dangling reference.
        let orphan = r#"{"attachment_id": 72, "message_id": 999, "member_id": 1, "media_type": "text/plain", "size_bytes": 1, "content": "x", "verdict": null, "verdict_rule": null}"#;
        let e = import_bytes(
            &db.store,
            table("attachments"),
            "attachments.jsonl",
            orphan.as_bytes(),
            &sealer,
        )
        .unwrap_err();
        assert_eq!(e.code(), "import.dangling_reference", "{b}");
    }
}

/// A reported message in conversation 1 ({1, 2}) with two earlier messages, a case, staff, an
/// approved grant for `rita` with a 1-hour duration; returns (grant, message ids, a message of
/// conversation 3 outside the scope).
fn reviewed(db: &Db, w: &World) -> (i64, Vec<i64>, i64) {
    let convs = setup(db, w);
    let s = w.safety();
    db.store
        .transaction(|tx| {
            add_staff(tx, "rita", &[StaffRole::Reviewer], T0)?;
            add_staff(tx, "ravi", &[StaffRole::Reviewer], T0)?;
            add_staff(tx, "alex", &[StaffRole::Approver], T0)
        })
        .unwrap();
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            db.store
                .transaction(|tx| {
                    s.send_message(
                        tx,
                        1,
                        convs[0],
                        &format!("secret words {i}"),
                        &[],
                        T0 + 1_000 + i,
                    )
                })
                .unwrap()
                .message_id
        })
        .collect();
    let outside = db
        .store
        .transaction(|tx| s.send_message(tx, 5, convs[2], "other secret words", &[], T0 + 2_000))
        .unwrap()
        .message_id;
    let case = db
        .store
        .transaction(|tx| s.report_message(tx, 2, ids[2], "harassment", T0 + 3_000))
        .unwrap()
        .case_id;
    let grant = db
        .store
        .transaction(|tx| {
            s.request_grant(
                tx,
                "rita",
                case,
                &GrantRequest {
                    purpose: GrantPurpose::ReportReview,
                    justification: "reported harassment",
                    duration_ms: Some(HOUR),
                },
                T0 + 4_000,
            )
        })
        .unwrap()
        .grant_id;
    db.store
        .transaction(|tx| s.approve_grant(tx, "alex", grant, T0 + 5_000))
        .unwrap();
    (grant, ids, outside)
}

fn last_entry(db: &Db) -> Entry {
    let size = db.store.read(Ledger::size).unwrap();
    db.store.read(|tx| Ledger::entry(tx, size - 1)).unwrap()
}

fn members_of(e: &Entry) -> Vec<u64> {
    match &e.subjects {
        steward_ledger::Subjects::Members(m) => m.clone(),
        other => panic!("subjects {other:?}"),
    }
}

/// Who tries, which item (`None`: the whole scope), when, the refusal's code, the subjects.
type Attempt<'a> = (&'a str, Option<(ContentKind, i64)>, i64, &'a str, Vec<u64>);

#[test]
fn refused_opens_under_a_grant_are_ledgered_without_content() {
    let w = world();
    for db in databases() {
        let b = db.backend;
        let (grant, ids, outside) = reviewed(&db, &w);
        let s = w.safety();
        let at = T0 + 6_000;
        let cases: [Attempt<'_>; 4] = [
            // Outside the scope: the other conversation's participants see the attempt too.
            (
                "rita",
                Some((ContentKind::Message, outside)),
                at,
                "safety.out_of_scope",
                vec![1, 2, 5],
            ),
            // After expiry.
            (
                "rita",
                Some((ContentKind::Message, ids[2])),
                T0 + 5_000 + HOUR,
                "safety.grant_expired",
                vec![1, 2],
            ),
            // Another reviewer's grant.
            ("ravi", None, at, "safety.not_grant_holder", vec![1, 2]),
            // Not staff at all: the name given is not written.
            (
                "mallory <evil>",
                None,
                at,
                "safety.unknown_staff",
                vec![1, 2],
            ),
        ];
        for (who, item, when, code, subjects) in cases {
            let before = db.store.read(Ledger::size).unwrap();
            let e = s
                .open_recorded(&db.store, who, grant, item, when)
                .unwrap_err();
            assert_eq!(e.code(), code, "{b}");
            assert_eq!(
                db.store.read(Ledger::size).unwrap(),
                before + 1,
                "{b}: {code} was not ledgered"
            );
            let entry = last_entry(&db);
            assert_eq!(entry.action, "content.open_attempt", "{b}");
            assert_eq!(entry.outcome, "denied", "{b}");
            assert_eq!(entry.reference, format!("grant:{grant}"), "{b}");
            assert_eq!(entry.purpose, "safety.report_review", "{b}");
            assert!(entry.details.contains(code), "{b}: {}", entry.details);
            assert_eq!(members_of(&entry), subjects, "{b}: {code}");
            let expected_actor = if who.starts_with("mallory") {
                "staff:?".to_owned()
            } else {
                format!("staff:{who}")
            };
            assert_eq!(entry.actor, expected_actor, "{b}");
            let encoded = entry.encode().unwrap();
            assert!(
                !encoded.windows(12).any(|w| w == b"secret words"),
                "{b}: content in the ledger"
            );
            assert!(entry.justification.is_empty(), "{b}");
        }
        // A permitted open is one `ok` entry per item, as before.
        let before = db.store.read(Ledger::size).unwrap();
        let opened = s
            .open_recorded(
                &db.store,
                "rita",
                grant,
                Some((ContentKind::Message, ids[1])),
                at,
            )
            .unwrap();
        assert_eq!(opened[0].plaintext.as_str(), Some("secret words 1"), "{b}");
        assert_eq!(db.store.read(Ledger::size).unwrap(), before + 1, "{b}");
        let ok = last_entry(&db);
        assert_eq!(
            (ok.action.as_str(), ok.outcome.as_str()),
            ("content.open", "ok"),
            "{b}"
        );
        // Through the transaction API a refusal still rolls back whole (no partial entry);
        // `open_recorded` is what records it.
        let before = db.store.read(Ledger::size).unwrap();
        let e = db
            .store
            .transaction(|tx| {
                s.open_under_grant(tx, "rita", grant, ContentKind::Message, outside, at)
            })
            .unwrap_err();
        assert_eq!(e.code(), "safety.out_of_scope", "{b}");
        assert_eq!(db.store.read(Ledger::size).unwrap(), before, "{b}");
    }
}
