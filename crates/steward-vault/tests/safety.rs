//! The trust & safety flows over the real store, on SQLite and (when `STEWARD_TEST_POSTGRES_URL`
//! is set) PostgreSQL: every refused path of messaging and grant-scoped review, and the permitted
//! opens showing in the right members' access history with proofs that verify.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_ledger::merkle::verify_inclusion;
use steward_ledger::{CheckpointSigner, Ledger};
use steward_scan::{Scanner, VerdictKind};
use steward_store::{OpenOptions, Store, Tx, Value};
use steward_vault::safety::cases::GrantRequest;
use steward_vault::safety::{
    CaseDecision, CaseStatus, Content, GrantStatus, NewAttachment, StaffRole, add_staff,
    case_detail, list_cases, migrate,
};
use steward_vault::{
    ContentKind, GrantPurpose, Keyring, Safety, SafetyConfig, SafetyError, TxKeyStore, Vault,
};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const PHISHING: &str = "URGENT: verify your account at http://paypa1-account-verify.com/login";
const SPAM: &str = "URGENT!! You have won a cash prize of $5,000. Send a gift card processing \
    fee via western union within 24 hours!!";

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
            "safety_{}_{}",
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
        migrate(&db.store).unwrap(); // idempotent
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

fn staff(store: &Store) {
    store
        .transaction(|tx| {
            add_staff(tx, "rita", &[StaffRole::Reviewer], T0)?;
            add_staff(tx, "ravi", &[StaffRole::Reviewer], T0)?;
            add_staff(tx, "alex", &[StaffRole::Approver], T0)?;
            add_staff(tx, "ana", &[StaffRole::Approver], T0)?;
            add_staff(tx, "erin", &[StaffRole::Engineer], T0)?;
            add_staff(tx, "ada", &[StaffRole::Auditor], T0)
        })
        .unwrap();
}

/// A conversation of members 1 and 2 with `n` messages alternating authors; returns the
/// conversation and message ids (oldest first).
fn conversation(db: &Db, s: &Safety<'_>, n: usize) -> (i64, Vec<i64>) {
    let conv = db
        .store
        .transaction(|tx| s.start_conversation(tx, 1, &[2], T0))
        .unwrap();
    let ids = (0..n)
        .map(|i| {
            let author = if i % 2 == 0 { 1 } else { 2 };
            db.store
                .transaction(|tx| {
                    s.send_message(
                        tx,
                        author,
                        conv,
                        &format!("context message number {i}"),
                        &[],
                        T0 + 1_000 * (i as i64 + 1),
                    )
                })
                .unwrap()
                .message_id
        })
        .collect();
    (conv, ids)
}

fn report(db: &Db, s: &Safety<'_>, message: i64) -> i64 {
    db.store
        .transaction(|tx| s.report_message(tx, 2, message, "harassment", T0 + 100_000))
        .unwrap()
        .case_id
}

fn request(
    db: &Db,
    s: &Safety<'_>,
    who: &str,
    case: i64,
    purpose: GrantPurpose,
) -> Result<i64, SafetyError> {
    db.store.transaction(|tx| {
        s.request_grant(
            tx,
            who,
            case,
            &GrantRequest {
                purpose,
                justification: "reported harassment; need the context",
                duration_ms: None,
            },
            T0 + 200_000,
        )
        .map(|g| g.grant_id)
    })
}

fn approve(db: &Db, s: &Safety<'_>, who: &str, grant: i64) -> Result<GrantStatus, SafetyError> {
    db.store.transaction(|tx| {
        s.approve_grant(tx, who, grant, T0 + 300_000)
            .map(|g| g.status)
    })
}

fn open(
    db: &Db,
    s: &Safety<'_>,
    who: &str,
    grant: i64,
    kind: ContentKind,
    item: i64,
    at: i64,
) -> Result<String, SafetyError> {
    db.store.transaction(|tx| {
        s.open_under_grant(tx, who, grant, kind, item, at)
            .map(|o| o.plaintext.as_str().unwrap().to_owned())
    })
}

fn ledger_size(db: &Db) -> u64 {
    db.store.read(Ledger::size).unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T, SafetyError>) -> &'static str {
    r.unwrap_err().code()
}

const OPEN_AT: i64 = T0 + 400_000;

#[test]
fn only_participants_send_and_read() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let (conv, ids) = conversation(&db, &s, 2);
        let r = db
            .store
            .transaction(|tx| s.send_message(tx, 3, conv, "let me in", &[], T0 + 9_000));
        assert_eq!(code(r), "safety.not_participant", "{}", db.backend);
        let r = db
            .store
            .transaction(|tx| s.read_conversation(tx, 3, conv, T0 + 9_000));
        assert_eq!(code(r), "safety.not_participant", "{}", db.backend);
        let r = db
            .store
            .transaction(|tx| s.report_message(tx, 3, ids[0], "spam", T0 + 9_000));
        assert_eq!(code(r), "safety.not_participant", "{}", db.backend);
        let r = db
            .store
            .transaction(|tx| s.read_conversation(tx, 1, 999, T0 + 9_000));
        assert_eq!(code(r), "safety.not_found", "{}", db.backend);

        let before = ledger_size(&db);
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, T0 + 9_000))
            .unwrap();
        let texts: Vec<&str> = read
            .iter()
            .map(|m| m.content.plaintext().unwrap().as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            ["context message number 0", "context message number 1"]
        );
        assert_eq!(
            ledger_size(&db),
            before,
            "a participant's read is not ledgered"
        );

        // Only ciphertext is stored.
        let stored = db
            .store
            .read(|tx| {
                tx.query_opt(
                    "SELECT content_sealed FROM messages WHERE message_id = $1",
                    &[ids[0].into()],
                )
            })
            .unwrap()
            .unwrap();
        let blob = stored.get(0).as_bytes().unwrap();
        assert!(!contains(blob, b"context message"), "{}", db.backend);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn quarantined_phishing_is_hidden_from_the_recipient_with_a_warning() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let (conv, _) = conversation(&db, &s, 1);
        let sent = db
            .store
            .transaction(|tx| s.send_message(tx, 1, conv, PHISHING, &[], T0 + 5_000))
            .unwrap();
        assert_eq!(sent.verdict.kind, VerdictKind::Phishing);
        let rule = sent.verdict.rule_id.unwrap();
        let stored = db
            .store
            .read(|tx| {
                tx.query_opt(
                    "SELECT verdict, verdict_rule FROM messages WHERE message_id = $1",
                    &[sent.message_id.into()],
                )
            })
            .unwrap()
            .unwrap();
        assert_eq!(stored.text(0).unwrap(), "phishing");
        assert_eq!(stored.text(1).unwrap(), rule);

        let recipient = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, T0 + 6_000))
            .unwrap();
        let m = recipient
            .iter()
            .find(|m| m.message_id == sent.message_id)
            .unwrap();
        match &m.content {
            Content::Quarantined { verdict, rule: r } => {
                assert_eq!(verdict, "phishing");
                assert_eq!(r.as_deref(), Some(rule));
            }
            other => panic!("{}: recipient saw {other:?}", db.backend),
        }
        let warning = m.content.warning().unwrap();
        assert!(
            warning.contains("phishing") && !warning.contains("paypa1"),
            "{warning}"
        );

        let author = db
            .store
            .transaction(|tx| s.read_conversation(tx, 1, conv, T0 + 6_000))
            .unwrap();
        let own = author
            .iter()
            .find(|m| m.message_id == sent.message_id)
            .unwrap();
        assert_eq!(own.content.plaintext().unwrap().as_str(), Some(PHISHING));
        assert_eq!(own.verdict.as_deref(), Some("phishing"));
    }
}

fn eicar() -> Vec<u8> {
    let first = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
    let second = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    format!("{first}{second}").into_bytes()
}

#[test]
fn eicar_attachment_is_caught_and_withheld() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let (conv, _) = conversation(&db, &s, 0);
        let file = eicar();
        let sent = db
            .store
            .transaction(|tx| {
                s.send_message(
                    tx,
                    1,
                    conv,
                    "the file you asked for",
                    &[
                        NewAttachment {
                            file_name: Some("eicar.com"),
                            media_type: "application/octet-stream",
                            bytes: &file,
                        },
                        NewAttachment {
                            file_name: Some("cv.txt"),
                            media_type: "text/plain",
                            bytes: b"ten years of Rust",
                        },
                    ],
                    T0 + 5_000,
                )
            })
            .unwrap();
        assert_eq!(sent.verdict.kind, VerdictKind::Clean);
        assert_eq!(sent.attachments[0].verdict.kind, VerdictKind::Malware);
        assert_eq!(sent.attachments[1].verdict.kind, VerdictKind::Clean);
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, T0 + 6_000))
            .unwrap();
        let atts = &read[0].attachments;
        assert!(
            matches!(&atts[0].content, Content::Quarantined { verdict, .. } if verdict == "malware")
        );
        assert_eq!(
            atts[1].content.plaintext().unwrap().as_bytes(),
            b"ten years of Rust"
        );
        let stored: Vec<u8> = db
            .store
            .read(|tx| {
                tx.query_opt(
                    "SELECT content_sealed FROM attachments WHERE attachment_id = $1",
                    &[sent.attachments[0].attachment_id.into()],
                )
            })
            .unwrap()
            .unwrap()
            .get(0)
            .as_bytes()
            .unwrap()
            .to_vec();
        assert!(!contains(&stored, b"EICAR"), "{}", db.backend);
    }
}

#[test]
fn spam_is_scanned_only_when_the_recipient_turned_detection_on() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let (conv, _) = conversation(&db, &s, 0);
        set(
            &db.store,
            &w.taxonomy,
            2,
            "messaging.harmful_detection=off",
            T0,
        );
        let off = db
            .store
            .transaction(|tx| s.send_message(tx, 1, conv, SPAM, &[], T0 + 1_000))
            .unwrap();
        assert!(!off.spam_scanned, "{}", db.backend);
        assert_eq!(off.verdict.kind, VerdictKind::Clean, "{}", db.backend);

        set(
            &db.store,
            &w.taxonomy,
            2,
            "messaging.harmful_detection=on",
            T0 + 1_500,
        );
        let on = db
            .store
            .transaction(|tx| s.send_message(tx, 1, conv, SPAM, &[], T0 + 2_000))
            .unwrap();
        assert!(on.spam_scanned, "{}", db.backend);
        assert_eq!(on.verdict.kind, VerdictKind::Spam, "{}", db.backend);

        // The sender's own setting does not matter: member 2 writing to member 1 (default on)
        // is scanned because of member 1, and member 2 turning theirs off changes nothing.
        set(
            &db.store,
            &w.taxonomy,
            2,
            "messaging.harmful_detection=off",
            T0 + 2_500,
        );
        let back = db
            .store
            .transaction(|tx| s.send_message(tx, 2, conv, SPAM, &[], T0 + 3_000))
            .unwrap();
        assert!(back.spam_scanned, "{}", db.backend);

        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, T0 + 4_000))
            .unwrap();
        // Member 2 has detection off now: the spam verdict does not hide it from them.
        let m = read.iter().find(|m| m.message_id == on.message_id).unwrap();
        assert_eq!(m.verdict.as_deref(), Some("spam"));
        assert!(m.content.plaintext().is_some(), "{}", db.backend);
    }
}

#[test]
fn a_permitted_review_is_in_the_participants_access_history_with_proofs() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        staff(&db.store);
        let (conv, ids) = conversation(&db, &s, 3);
        let case = report(&db, &s, ids[2]);
        let cases = db
            .store
            .read(|tx| list_cases(tx, Some(CaseStatus::Open)))
            .unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].conversation_id, conv);
        assert_eq!(cases[0].member_id, 1, "the case is about the author");

        let grant = request(&db, &s, "rita", case, GrantPurpose::ReportReview).unwrap();
        assert_eq!(
            approve(&db, &s, "alex", grant).unwrap(),
            GrantStatus::Active
        );
        let opened = db
            .store
            .transaction(|tx| s.open_grant_scope(tx, "rita", grant, OPEN_AT))
            .unwrap();
        let texts: Vec<&str> = opened
            .iter()
            .map(|o| o.plaintext.as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                "context message number 0",
                "context message number 1",
                "context message number 2"
            ]
        );
        let open_seqs: Vec<u64> = opened.iter().map(|o| o.ledger_seq).collect();
        drop(opened);

        let signer = CheckpointSigner::from_seed("steward.local/ledger", &[7u8; 32]).unwrap();
        db.store
            .transaction(|tx| {
                Ledger::new("steward.local/ledger")
                    .checkpoint(tx, &signer, 1)
                    .map(|_| ())
            })
            .unwrap();
        for member in [1u64, 2] {
            let history = db
                .store
                .read(|tx| Ledger::access_history(tx, member, &signer.verifier()))
                .unwrap();
            let cp = history.checkpoint.clone().unwrap().checkpoint;
            let opens: Vec<_> = history
                .items
                .iter()
                .filter(|i| i.entry.action == "content.open")
                .collect();
            assert_eq!(opens.len(), 3, "{} member {member}", db.backend);
            for item in &opens {
                assert!(open_seqs.contains(&item.entry.seq));
                assert_eq!(item.entry.actor, "staff:rita");
                assert_eq!(item.entry.purpose, "safety.report_review");
                assert_eq!(item.entry.reference, format!("grant:{grant}"));
                let encoded = item.entry.encode().unwrap();
                assert!(
                    !contains(&encoded, b"context message"),
                    "no content in the ledger"
                );
                verify_inclusion(
                    item.entry.seq,
                    cp.size,
                    &item.leaf_hash,
                    item.proof.as_ref().unwrap(),
                    &cp.root,
                )
                .unwrap();
            }
            let actions: Vec<&str> = history
                .items
                .iter()
                .map(|i| i.entry.action.as_str())
                .collect();
            assert!(actions.contains(&"grant.request") && actions.contains(&"grant.approve"));
        }
        // The reporter's identity stays out of the reported member's history.
        let author = db
            .store
            .read(|tx| Ledger::access_history(tx, 1, &signer.verifier()))
            .unwrap();
        assert!(
            author
                .items
                .iter()
                .all(|i| i.entry.action != "report.create")
        );
        // A member outside the conversation sees none of it.
        let other = db
            .store
            .read(|tx| Ledger::access_history(tx, 3, &signer.verifier()))
            .unwrap();
        assert!(other.items.is_empty(), "{}", db.backend);

        let decided = db
            .store
            .transaction(|tx| {
                s.decide_case(
                    tx,
                    "rita",
                    case,
                    CaseDecision::RemoveMessage,
                    "confirmed",
                    OPEN_AT + 1,
                )
            })
            .unwrap();
        assert_eq!(decided.grant_id, Some(grant));
        let detail = db.store.read(|tx| case_detail(tx, case)).unwrap();
        assert_eq!(detail.case.status, CaseStatus::Decided);
        assert_eq!(detail.case.decision, Some(CaseDecision::RemoveMessage));
        assert_eq!(detail.grants[0].status, GrantStatus::Ended);
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 1, conv, OPEN_AT + 2))
            .unwrap();
        assert!(
            matches!(read[2].content, Content::Removed),
            "{}",
            db.backend
        );
    }
}

#[test]
fn refused_grant_paths() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let b = db.backend;
        staff(&db.store);
        let (_, ids) = conversation(&db, &s, 8);
        let (_, other_ids) = conversation(&db, &s, 1);
        let case = report(&db, &s, ids[7]);

        // Without the reviewer role, no request; an unknown name is not staff.
        assert_eq!(
            code(request(&db, &s, "alex", case, GrantPurpose::ReportReview)),
            "safety.not_staff_role",
            "{b}"
        );
        assert_eq!(
            code(request(&db, &s, "ada", case, GrantPurpose::ReportReview)),
            "safety.not_staff_role",
            "{b}"
        );
        assert_eq!(
            code(request(
                &db,
                &s,
                "mallory",
                case,
                GrantPurpose::ReportReview
            )),
            "safety.unknown_staff",
            "{b}"
        );
        // Above the hard maximum.
        let long = db.store.transaction(|tx| {
            s.request_grant(
                tx,
                "rita",
                case,
                &GrantRequest {
                    purpose: GrantPurpose::ReportReview,
                    justification: "x",
                    duration_ms: Some(73 * HOUR),
                },
                T0,
            )
        });
        assert_eq!(code(long), "safety.duration_too_long", "{b}");

        // A reviewer without a grant.
        let before = ledger_size(&db);
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                4242,
                ContentKind::Message,
                ids[7],
                OPEN_AT
            )),
            "safety.no_grant",
            "{b}"
        );
        let grant = request(&db, &s, "rita", case, GrantPurpose::ReportReview).unwrap();
        // Not approved yet.
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[7],
                OPEN_AT
            )),
            "safety.not_approved",
            "{b}"
        );
        // Approving their own grant; an approver without the approver role.
        assert_eq!(
            code(approve(&db, &s, "rita", grant)),
            "safety.not_staff_role",
            "{b}"
        );
        db.store
            .transaction(|tx| add_staff(tx, "rita", &[StaffRole::Approver], T0))
            .unwrap();
        assert_eq!(
            code(approve(&db, &s, "rita", grant)),
            "safety.self_approval",
            "{b}"
        );
        assert_eq!(
            code(approve(&db, &s, "ravi", grant)),
            "safety.not_staff_role",
            "{b}"
        );
        assert_eq!(
            approve(&db, &s, "alex", grant).unwrap(),
            GrantStatus::Active
        );
        assert_eq!(
            code(approve(&db, &s, "ana", grant)),
            "safety.grant_not_pending",
            "{b}"
        );

        // The scope: the reported message and five before it, not the sixth, not another
        // conversation's message.
        let g = db
            .store
            .read(|tx| steward_vault::safety::grant(tx, grant))
            .unwrap();
        let scoped: Vec<i64> = g.scope.iter().map(|i| i.item_id).collect();
        assert_eq!(scoped, ids[2..].to_vec(), "{b}");
        assert_eq!(
            open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[2],
                OPEN_AT
            )
            .unwrap(),
            "context message number 2"
        );
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[1],
                OPEN_AT
            )),
            "safety.out_of_scope",
            "{b}"
        );
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                other_ids[0],
                OPEN_AT
            )),
            "safety.out_of_scope",
            "{b}"
        );
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Attachment,
                ids[7],
                OPEN_AT
            )),
            "safety.out_of_scope",
            "{b}"
        );
        // Another reviewer using rita's grant.
        assert_eq!(
            code(open(
                &db,
                &s,
                "ravi",
                grant,
                ContentKind::Message,
                ids[7],
                OPEN_AT
            )),
            "safety.not_grant_holder",
            "{b}"
        );
        // Expired: 24 h after approval.
        let expiry = T0 + 300_000 + 24 * HOUR;
        assert!(
            open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[7],
                expiry - 1
            )
            .is_ok()
        );
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[7],
                expiry
            )),
            "safety.grant_expired",
            "{b}"
        );
        // Refusals leave no entry: request, rita's new role, approval and two opens.
        assert_eq!(ledger_size(&db), before + 5, "{b}");

        // Another reviewer cannot decide a case whose grant they do not hold.
        let r = db
            .store
            .transaction(|tx| s.decide_case(tx, "ravi", case, CaseDecision::Warn, "", OPEN_AT));
        assert_eq!(code(r), "safety.not_grant_holder", "{b}");
        db.store
            .transaction(|tx| {
                s.decide_case(tx, "rita", case, CaseDecision::NoViolation, "", OPEN_AT)
            })
            .unwrap();
        // After the decision: nothing opens, nothing more is requested, approved or decided.
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[7],
                OPEN_AT + 1
            )),
            "safety.case_closed",
            "{b}"
        );
        assert_eq!(
            code(request(&db, &s, "rita", case, GrantPurpose::ReportReview)),
            "safety.case_closed",
            "{b}"
        );
        let r = db
            .store
            .transaction(|tx| s.decide_case(tx, "rita", case, CaseDecision::Warn, "", OPEN_AT + 2));
        assert_eq!(code(r), "safety.case_closed", "{b}");
    }
}

#[test]
fn a_security_investigation_needs_two_distinct_approvers() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let b = db.backend;
        staff(&db.store);
        let (_, ids) = conversation(&db, &s, 2);
        let case = report(&db, &s, ids[1]);
        let grant = request(&db, &s, "erin", case, GrantPurpose::SecurityInvestigation).unwrap();
        assert_eq!(
            approve(&db, &s, "alex", grant).unwrap(),
            GrantStatus::Pending
        );
        assert_eq!(
            code(open(
                &db,
                &s,
                "erin",
                grant,
                ContentKind::Message,
                ids[1],
                OPEN_AT
            )),
            "safety.needs_second_approver",
            "{b}"
        );
        assert_eq!(
            code(approve(&db, &s, "alex", grant)),
            "safety.already_approved",
            "{b}"
        );
        assert_eq!(approve(&db, &s, "ana", grant).unwrap(), GrantStatus::Active);
        let g = db
            .store
            .read(|tx| steward_vault::safety::grant(tx, grant))
            .unwrap();
        assert_eq!(g.approvers, ["alex", "ana"]);
        let text = open(
            &db,
            &s,
            "erin",
            grant,
            ContentKind::Message,
            ids[1],
            OPEN_AT,
        )
        .unwrap();
        assert_eq!(text, "context message number 1");
        let last = ledger_size(&db) - 1;
        let entry = db.store.read(|tx| Ledger::entry(tx, last)).unwrap();
        assert_eq!(entry.purpose, "security.investigation");
        assert_eq!(entry.actor, "staff:erin");
    }
}

fn corrupt(db: &Db, sql: &str, params: &[Value]) {
    db.store.transaction(|tx| tx.execute(sql, params)).unwrap();
}

#[test]
fn tampered_or_swapped_ciphertext_opens_nothing() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let b = db.backend;
        staff(&db.store);
        let (conv, ids) = conversation(&db, &s, 3);
        let case = report(&db, &s, ids[2]);
        let grant = request(&db, &s, "rita", case, GrantPurpose::ReportReview).unwrap();
        approve(&db, &s, "alex", grant).unwrap();

        // Flip one byte of message 0's ciphertext.
        let blob = |id: i64| -> Vec<u8> {
            db.store
                .read(|tx| {
                    tx.query_opt(
                        "SELECT content_sealed FROM messages WHERE message_id = $1",
                        &[id.into()],
                    )
                })
                .unwrap()
                .unwrap()
                .get(0)
                .as_bytes()
                .unwrap()
                .to_vec()
        };
        let mut flipped = blob(ids[0]);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        corrupt(
            &db,
            "UPDATE messages SET content_sealed = $2 WHERE message_id = $1",
            &[ids[0].into(), Value::Bytes(flipped)],
        );
        // Copy message 2's blob (by member 1) onto message 1 (by member 2): another row.
        corrupt(
            &db,
            "UPDATE messages SET content_sealed = $2 WHERE message_id = $1",
            &[ids[1].into(), Value::Bytes(blob(ids[2]))],
        );
        let before = ledger_size(&db);
        for id in [ids[0], ids[1]] {
            let r = open(&db, &s, "rita", grant, ContentKind::Message, id, OPEN_AT);
            assert_eq!(code(r), "vault.aead_failure", "{b} message {id}");
        }
        assert_eq!(
            ledger_size(&db),
            before,
            "a failed open leaves no entry ({b})"
        );
        // A swapped row between two messages of the same author fails too.
        let (_, more) = conversation(&db, &s, 5);
        corrupt(
            &db,
            "UPDATE messages SET content_sealed = $2 WHERE message_id = $1",
            &[more[2].into(), Value::Bytes(blob(more[0]))],
        );
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, OPEN_AT))
            .unwrap();
        assert!(
            matches!(
                read[0].content,
                Content::Unreadable {
                    code: "vault.aead_failure"
                }
            ),
            "{b}"
        );
        assert!(
            matches!(
                read[1].content,
                Content::Unreadable {
                    code: "vault.aead_failure"
                }
            ),
            "{b}"
        );
        assert!(read[2].content.plaintext().is_some(), "{b}");
        let case2 = report(&db, &s, more[4]);
        let grant2 = request(&db, &s, "rita", case2, GrantPurpose::ReportReview).unwrap();
        approve(&db, &s, "alex", grant2).unwrap();
        let r = open(
            &db,
            &s,
            "rita",
            grant2,
            ContentKind::Message,
            more[2],
            OPEN_AT,
        );
        assert_eq!(code(r), "vault.aead_failure", "{b}");
        let r = db.store.transaction(|tx| {
            s.open_grant_scope(tx, "rita", grant2, OPEN_AT)
                .map(|v| v.len())
        });
        assert_eq!(
            code(r),
            "vault.aead_failure",
            "{b}: one bad item fails the whole batch"
        );
    }
}

#[test]
fn crypto_shredding_and_key_rotation() {
    for db in databases() {
        let mut w = world();
        let b = db.backend;
        staff(&db.store);
        let (conv, ids, case, grant) = {
            let s = w.safety();
            let (conv, ids) = conversation(&db, &s, 4);
            let case = report(&db, &s, ids[3]);
            let grant = request(&db, &s, "rita", case, GrantPurpose::ReportReview).unwrap();
            approve(&db, &s, "alex", grant).unwrap();
            (conv, ids, case, grant)
        };
        // Rotation re-wraps keys; everything stays readable, for participants and the grant.
        db.store
            .transaction(|tx| w.vault.rotate(&mut TxKeyStore::new(tx)))
            .unwrap();
        let retired = db
            .store
            .transaction(|tx| w.vault.retire_unused_keks(&mut TxKeyStore::new(tx)))
            .unwrap();
        assert_eq!(retired, vec![1], "{b}");
        {
            let s = w.safety();
            let read = db
                .store
                .transaction(|tx| s.read_conversation(tx, 1, conv, OPEN_AT))
                .unwrap();
            assert!(read.iter().all(|m| m.content.plaintext().is_some()), "{b}");
            assert!(
                open(
                    &db,
                    &s,
                    "rita",
                    grant,
                    ContentKind::Message,
                    ids[0],
                    OPEN_AT
                )
                .is_ok()
            );
        }
        // Erase member 1's key: their messages are gone, member 2's remain.
        db.store
            .transaction(|tx| w.vault.shred_member(&mut TxKeyStore::new(tx), 1))
            .unwrap();
        let s = w.safety();
        assert_eq!(
            code(open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[0],
                OPEN_AT
            )),
            "vault.member_shredded",
            "{b}"
        );
        assert!(
            open(
                &db,
                &s,
                "rita",
                grant,
                ContentKind::Message,
                ids[1],
                OPEN_AT
            )
            .is_ok()
        );
        let read = db
            .store
            .transaction(|tx| s.read_conversation(tx, 2, conv, OPEN_AT))
            .unwrap();
        assert!(matches!(read[0].content, Content::AuthorErased), "{b}");
        assert!(read[1].content.plaintext().is_some(), "{b}");
        // The erased member cannot be given a new key by sending.
        let r = db
            .store
            .transaction(|tx| s.send_message(tx, 1, conv, "back again", &[], OPEN_AT));
        assert_eq!(code(r), "vault.member_shredded", "{b}");
        let _ = case;
    }
}

#[test]
fn grant_limits_are_configurable() {
    let w = world();
    for db in databases() {
        let s = w.safety().with_config(SafetyConfig {
            context_messages: 2,
            default_grant_ms: HOUR,
            max_grant_ms: 2 * HOUR,
        });
        staff(&db.store);
        let (_, ids) = conversation(&db, &s, 5);
        let case = report(&db, &s, ids[4]);
        let grant = request(&db, &s, "rita", case, GrantPurpose::ReportReview).unwrap();
        approve(&db, &s, "alex", grant).unwrap();
        let g = db
            .store
            .read(|tx| steward_vault::safety::grant(tx, grant))
            .unwrap();
        assert_eq!(g.scope.len(), 3);
        assert_eq!(g.expires_at_ms, Some(T0 + 300_000 + HOUR));
        assert!(!g.is_usable_at(T0 + 300_000 + HOUR));
    }
}

#[test]
fn demo_review_runs_a_reported_message_through_a_grant() {
    let w = world();
    for db in databases() {
        let s = w.safety();
        let demo = s.demo_review(&db.store, 1, 2, T0).unwrap();
        assert_eq!(demo.messages.last().unwrap().1, "phishing");
        assert!(demo.recipient_sees_warning);
        assert_eq!(demo.grant_status_after_approval, GrantStatus::Active);
        assert_eq!(
            demo.opened.len(),
            4,
            "the reported message and three before it"
        );
        assert_eq!(demo.decision, CaseDecision::RemoveMessage);
        let detail = db.store.read(|tx| case_detail(tx, demo.case_id)).unwrap();
        assert_eq!(detail.case.status, CaseStatus::Decided);
        // Running it again (staff exist already) works too.
        s.demo_review(&db.store, 3, 4, T0 + HOUR).unwrap();
    }
}
