//! Erasure, dataset staleness and the canary audit's database search, on a seeded network, on
//! SQLite and (when `STEWARD_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{Db, each_backend};
use steward_core::consent::Actor;
use steward_core::{Form, Policy, Taxonomy};
use steward_store::canary::{Audit, Canary, CanarySet, catalogue};
use steward_store::erase::{ERASED_SEALING, MemberState, erase_member_rows, member_state};
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, read_canaries, seed};
use steward_store::staleness;
use steward_store::{Gate, GateError, GateRequest, PlaintextForTestsOnly, StoreError, member};

const AT: i64 = SEED_EPOCH_MS + 86_400_000;

fn seeded(db: &Db, members: u32) -> Vec<(String, String, i64, i64)> {
    let path = db.dir.path().join("canaries.jsonl");
    seed(
        &db.store,
        &SeedConfig {
            members,
            seed: 7,
            canary_path: path.clone(),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    read_canaries(&path).unwrap()
}

fn i64q(db: &Db, sql: &str, params: &[steward_store::Value]) -> i64 {
    db.store.read(|tx| tx.query_i64(sql, params)).unwrap()
}

/// A live adult member with connections and posts, the one with most messages (among
/// `among`, if given).
fn busy_member_among(db: &Db, among: &[i64]) -> i64 {
    let filter = if among.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = among.iter().map(i64::to_string).collect();
        format!("AND m.member_id IN ({})", ids.join(", "))
    };
    i64q(
        db,
        &format!(
            "SELECT m.member_id FROM members m \
             WHERE m.deleted_at IS NULL AND (m.birth_year IS NULL OR m.birth_year < 2000) \
               AND EXISTS (SELECT 1 FROM connections c WHERE c.member_id = m.member_id) \
               AND EXISTS (SELECT 1 FROM posts p WHERE p.member_id = m.member_id) {filter} \
             ORDER BY (SELECT COUNT(*) FROM messages x WHERE x.member_id = m.member_id) DESC, \
               m.member_id LIMIT 1"
        ),
        &[],
    )
}

fn busy_member(db: &Db) -> i64 {
    busy_member_among(db, &[])
}

/// Registers a published dataset with `members`, as the datasets registry does.
fn dataset(db: &Db, id: &str, members: &[i64]) {
    db.store
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO datasets (dataset_id, name, purpose, policy_version, created_at, \
                 member_count, status) VALUES ($1, $1, 'ai.training', 'v1', $2, $3, 'published')",
                &[id.into(), AT.into(), (members.len() as i64).into()],
            )?;
            for m in members {
                tx.execute(
                    "INSERT INTO dataset_members (dataset_id, member_id) VALUES ($1, $2)",
                    &[id.into(), (*m).into()],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

fn set(db: &Db, member_id: i64, assignment: &str, at: i64) {
    let taxonomy = Taxonomy::builtin();
    db.store
        .transaction(|tx| {
            member::set_setting(tx, &taxonomy, member_id, assignment, &Actor::Member, at)
        })
        .unwrap();
}

/// Every member id the gate hands an AI-training build (profiles, activity, public content;
/// the policy gives AI training no connections).
fn gated_members(db: &Db, at: i64) -> BTreeSet<i64> {
    let policy = Policy::builtin().unwrap();
    let mut out = BTreeSet::new();
    Gate::new(&db.store, &policy)
        .read(
            &GateRequest {
                purpose: "ai.training",
                categories: &["member.profile", "member.content", "member.activity"],
                form: Form::Deidentified,
                at_ms: at,
            },
            |r| {
                if let Some(m) = r.member_id() {
                    out.insert(m);
                }
                if let steward_store::GatedRecord::Connection(c) = &r {
                    out.insert(c.other_member_id);
                }
                Ok::<(), GateError>(())
            },
        )
        .unwrap();
    out
}

fn status(db: &Db, id: &str) -> staleness::DatasetStatus {
    db.store
        .read(|tx| staleness::status(tx, id))
        .unwrap()
        .unwrap()
}

#[test]
fn opting_out_of_ai_training_marks_the_datasets_that_include_the_member_stale() {
    each_backend(|db| {
        seeded(db, 150);
        let m = busy_member(db);
        set(db, m, "ai.training=on", AT);
        assert!(gated_members(db, AT + 1).contains(&m), "{}", db.backend);
        let other = i64q(
            db,
            "SELECT MIN(member_id) FROM members WHERE member_id <> $1",
            &[m.into()],
        );
        dataset(db, "with", &[other, m]);
        dataset(db, "without", &[other]);

        // A setting that does not govern training changes nothing.
        set(db, m, "ads.personalized=off", AT + 5);
        assert_eq!(status(db, "with").status, "published");

        set(db, m, "ai.training=off", AT + 10);
        let with = status(db, "with");
        assert!(with.is_stale(), "{}", db.backend);
        assert_eq!(with.stale_since, Some(AT + 10));
        assert_eq!((with.consent_withdrawn, with.members_erased), (1, 0));
        assert_eq!(status(db, "without").status, "published");
        // The next build no longer receives the member.
        assert!(!gated_members(db, AT + 11).contains(&m));

        // Off again, or off-on-off, is still one member who withdrew; the first time stays.
        set(db, m, "ai.training=off", AT + 20);
        set(db, m, "ai.training=on", AT + 30);
        set(db, m, "ai.training=off", AT + 40);
        let with = status(db, "with");
        assert_eq!(
            (with.consent_withdrawn, with.stale_since),
            (1, Some(AT + 10))
        );
    });
}

#[test]
fn erasure_deletes_every_row_keeps_tombstones_and_marks_datasets_stale() {
    each_backend(|db| {
        let canaries = seeded(db, 300);
        let with_canary: Vec<i64> = canaries
            .iter()
            .filter(|c| c.1 == "messages")
            .map(|c| c.3)
            .collect();
        let m = busy_member_among(db, &with_canary);
        let before_personal = db.store.read(|tx| member::get_member(tx, m)).unwrap();
        set(db, m, "ai.training=on", AT);
        set(db, m, "ai.training=off", AT + 1);
        set(db, m, "ai.training=on", AT + 2);
        assert!(gated_members(db, AT + 3).contains(&m));
        let peer = i64q(
            db,
            "SELECT MIN(other_member_id) FROM connections WHERE member_id = $1",
            &[m.into()],
        );
        dataset(db, "ds-a", &[peer, m]);
        dataset(db, "ds-b", &[peer]);
        // The withdrawal above happened before the datasets existed; this one counts.
        set(db, m, "ai.training=off", AT + 4);
        set(db, m, "ai.training=on", AT + 5);
        // A table another crate added (like the server's tokens) is swept by its member_id.
        db.store
            .execute_batch("CREATE TABLE extra_member_data (member_id BIGINT NOT NULL, note TEXT)")
            .unwrap();
        // A report the member filed that a case was opened on, and a case about the member.
        let (other_msg, own_msg) = db
            .store
            .read(|tx| {
                let o = tx.query_i64(
                    "SELECT MIN(message_id) FROM messages WHERE member_id <> $1",
                    &[m.into()],
                )?;
                let own = tx.query_i64(
                    "SELECT MIN(message_id) FROM messages WHERE member_id = $1",
                    &[m.into()],
                )?;
                Ok::<_, StoreError>((o, own))
            })
            .unwrap();
        db.store
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO extra_member_data (member_id, note) VALUES ($1, 'x'), ($2, 'y')",
                    &[m.into(), peer.into()],
                )?;
                tx.execute(
                    "INSERT INTO reports (report_id, member_id, target_kind, target_id, reason, \
                     created_at, status) VALUES (90001, $1, 'message', $2, 'he wrote my name', 1, 'open'), \
                     (90002, $3, 'message', $4, 'spam', 1, 'open')",
                    &[m.into(), other_msg.into(), peer.into(), own_msg.into()],
                )?;
                tx.execute(
                    "INSERT INTO cases (case_id, report_id, member_id, status, opened_at) \
                     VALUES (90001, 90001, $1, 'open', 1), (90002, 90002, $2, 'open', 1)",
                    &[peer.into(), m.into()],
                )?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let messages_before: Vec<(i64, i64)> = db
            .store
            .read(|tx| {
                tx.query(
                    "SELECT message_id, conversation_id FROM messages WHERE member_id = $1 \
                     ORDER BY message_id",
                    &[m.into()],
                )
            })
            .unwrap()
            .iter()
            .map(|r| (r.i64(0).unwrap(), r.i64(1).unwrap()))
            .collect();
        assert!(!messages_before.is_empty());

        let done = db
            .store
            .transaction(|tx| erase_member_rows(tx, m, AT + 100))
            .unwrap();
        assert!(!done.already_erased);
        assert_eq!(done.stale_datasets, vec!["ds-a".to_owned()]);
        assert_eq!(done.messages_tombstoned, messages_before.len() as u64);
        for t in [
            "connections",
            "posts",
            "consent_events",
            "extra_member_data",
            "cases",
        ] {
            assert!(done.deleted_from(t) > 0, "{t} on {}", db.backend);
        }
        assert_eq!(done.deleted_from("dataset_members"), 1);

        // No row of any table names the member, except the tombstones and the ledger/vault.
        let kept = [
            "members",
            "messages",
            "conversations",
            "reports",
            "dataset_staleness",
        ];
        let tables = db.store.read(catalogue).unwrap();
        for (table, columns) in &tables {
            for (column, _) in columns {
                if !column.ends_with("member_id")
                    || (kept.contains(&table.as_str()) && column == "member_id")
                {
                    continue;
                }
                let n = i64q(
                    db,
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"),
                    &[m.into()],
                );
                let allowed = table == "private_notes" && column == "about_member_id";
                assert!(
                    n == 0 || allowed,
                    "{table}.{column} still names the member on {}",
                    db.backend
                );
            }
        }
        // The other member's rows are untouched.
        assert_eq!(
            i64q(
                db,
                "SELECT COUNT(*) FROM extra_member_data WHERE member_id = $1",
                &[peer.into()]
            ),
            1
        );
        // The report the member filed stays as its case's anchor, without the member's words.
        let reason = db
            .store
            .read(|tx| tx.query_opt("SELECT reason FROM reports WHERE report_id = 90001", &[]))
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        assert_eq!(reason, "");
        assert_eq!(
            i64q(db, "SELECT COUNT(*) FROM cases WHERE case_id = 90001", &[]),
            1
        );
        assert_eq!(
            i64q(db, "SELECT COUNT(*) FROM cases WHERE case_id = 90002", &[]),
            0
        );

        // Messages stay in place, content destroyed.
        let after: Vec<(i64, i64, String, usize)> = db
            .store
            .read(|tx| {
                tx.query(
                    "SELECT message_id, conversation_id, sealing, content_sealed FROM messages \
                     WHERE member_id = $1 ORDER BY message_id",
                    &[m.into()],
                )
            })
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.i64(0).unwrap(),
                    r.i64(1).unwrap(),
                    r.text(2).unwrap(),
                    r.get(3).as_bytes().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            after.iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(),
            messages_before
        );
        assert!(after.iter().all(|a| a.2 == ERASED_SEALING && a.3 == 0));
        // None of the member's planted canaries survives anywhere, sealed columns included
        // (the test sealer stores plaintext, so this checks the content itself is gone).
        let theirs: Vec<&String> = canaries.iter().filter(|c| c.3 == m).map(|c| &c.0).collect();
        assert!(!theirs.is_empty(), "the member has a canary");
        for t in theirs {
            for (table, column) in [
                ("messages", "content_sealed"),
                ("attachments", "content_sealed"),
                ("private_notes", "content_sealed"),
                ("posts", "body_sealed"),
            ] {
                let hits: usize = db
                    .store
                    .read(|tx| tx.query(&format!("SELECT {column} FROM {table}"), &[]))
                    .unwrap()
                    .iter()
                    .filter(|r| {
                        r.get(0)
                            .as_bytes()
                            .is_some_and(|b| b.windows(t.len()).any(|w| w == t.as_bytes()))
                    })
                    .count();
                assert_eq!(hits, 0, "{t} still in {table}");
            }
        }

        // The member row is a tombstone.
        let tomb = db.store.read(|tx| member::get_member(tx, m)).unwrap();
        assert_eq!(tomb.member_id, m);
        assert_eq!(tomb.deleted_at, Some(AT + 100));
        for v in [
            &tomb.first_name,
            &tomb.last_name,
            &tomb.email,
            &tomb.country,
        ] {
            assert!(v.is_empty());
        }
        assert!(tomb.phone.is_none() && tomb.headline.is_none() && tomb.birth_year.is_none());
        assert_ne!(tomb.email, before_personal.email);
        assert_eq!(
            db.store.read(|tx| member_state(tx, m)).unwrap(),
            MemberState::Erased
        );

        // Datasets: stale with counts, and no id kept for the erased member.
        let a = status(db, "ds-a");
        assert!(a.is_stale());
        assert_eq!((a.consent_withdrawn, a.members_erased), (1, 1));
        assert_eq!(status(db, "ds-b").status, "published");
        assert_eq!(
            i64q(
                db,
                "SELECT COUNT(*) FROM dataset_staleness WHERE member_id = $1",
                &[m.into()]
            ),
            0
        );
        // The gate never hands the member to a build again.
        assert!(!gated_members(db, AT + 200).contains(&m));

        // Foreign keys hold (SQLite checks them on demand).
        if db.backend == "sqlite" {
            let broken = db
                .store
                .read(|tx| tx.query("PRAGMA foreign_key_check", &[]))
                .unwrap();
            assert!(broken.is_empty(), "{broken:?}");
        }

        // A second erasure does nothing.
        let again = db
            .store
            .transaction(|tx| erase_member_rows(tx, m, AT + 300))
            .unwrap();
        assert!(again.already_erased);
        assert_eq!(again.rows_deleted(), 0);
        assert_eq!(status(db, "ds-a").members_erased, 1);
        // Setting changes and unknown members are refused.
        let taxonomy = Taxonomy::builtin();
        let err = db
            .store
            .transaction(|tx| {
                member::set_setting(tx, &taxonomy, m, "ai.training=on", &Actor::Member, AT + 400)
            })
            .unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        let err = db
            .store
            .transaction(|tx| erase_member_rows(tx, 99_999_999, AT))
            .unwrap_err();
        assert_eq!(err.code(), "store.not_found");
    });
}

#[test]
fn a_failed_erasure_leaves_everything_as_it_was() {
    each_backend(|db| {
        seeded(db, 80);
        let m = busy_member(db);
        let rows = i64q(
            db,
            "SELECT COUNT(*) FROM connections WHERE member_id = $1",
            &[m.into()],
        );
        assert!(rows > 0);
        let result: Result<(), StoreError> = db.store.transaction(|tx| {
            erase_member_rows(tx, m, AT)?;
            Err(StoreError::Invalid("the key could not be destroyed".into()))
        });
        assert!(result.is_err());
        assert_eq!(
            i64q(
                db,
                "SELECT COUNT(*) FROM connections WHERE member_id = $1",
                &[m.into()]
            ),
            rows
        );
        assert_eq!(
            db.store.read(|tx| member_state(tx, m)).unwrap(),
            MemberState::Active
        );
    });
}

fn canary_set(tokens: &[&str]) -> CanarySet {
    CanarySet::new(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| Canary {
                token: (*t).to_owned(),
                table: "messages".into(),
                row_id: i as i64,
                member_id: 1,
            })
            .collect(),
    )
    .unwrap()
}

#[test]
fn the_canary_audit_searches_every_column_but_the_sealed_ones() {
    each_backend(|db| {
        let canaries = seeded(db, 200);
        let set = CanarySet::new(
            canaries
                .iter()
                .map(|c| Canary {
                    token: c.0.clone(),
                    table: c.1.clone(),
                    row_id: c.2,
                    member_id: c.3,
                })
                .collect(),
        )
        .unwrap();
        // Clean: canaries exist only in sealed columns (here in clear, with the test sealer,
        // which shows the sealed columns really are skipped).
        let mut audit = Audit::new(&set);
        audit.search_database(&db.store).unwrap();
        let clean = audit.finish();
        assert!(clean.passed(), "{:?} on {}", clean.findings, db.backend);
        assert!(clean.db_rows > 1000 && clean.db_values > 1000);
        assert!(
            clean
                .sealed_columns_skipped
                .contains(&"messages.content_sealed".to_owned())
        );

        // A canary copied into a search query (a non-sealed column) is found, with its row.
        let token = &canaries[0].0;
        db.store
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO search_events (event_id, member_id, query, at) \
                     VALUES (987654, 1, $1, 1)",
                    &[format!("who said {token}").into()],
                )
            })
            .unwrap();
        // And one into a bytes column of a table the store does not know.
        db.store
            .execute_batch(
                "CREATE TABLE other_blobs (id BIGINT PRIMARY KEY, payload BYTEA)"
                    .replace(
                        "BYTEA",
                        if db.backend == "sqlite" {
                            "BLOB"
                        } else {
                            "BYTEA"
                        },
                    )
                    .as_str(),
            )
            .unwrap();
        let second = &canaries[1].0;
        db.store
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO other_blobs (id, payload) VALUES (5, $1)",
                    &[steward_store::Value::Bytes(
                        format!("\x00\x01{}\x02", second.to_uppercase()).into_bytes(),
                    )],
                )
            })
            .unwrap();
        let mut audit = Audit::new(&set);
        audit.search_database(&db.store).unwrap();
        let found = audit.finish();
        assert!(!found.passed());
        let places: Vec<(&str, &str)> = found
            .findings
            .iter()
            .map(|f| (f.token.as_str(), f.found_in.as_str()))
            .collect();
        assert!(
            places.contains(&(token.as_str(), "database search_events.query (row 987654)")),
            "{places:?}"
        );
        assert!(
            places.contains(&(second.as_str(), "database other_blobs.payload (row 5)")),
            "{places:?}"
        );
        assert_eq!(found.findings.len(), 2, "{places:?}");
    });
}

#[test]
fn the_canary_audit_finds_tokens_in_files_recursively_and_skips_excluded_ones() {
    let set = canary_set(&[
        "CANARY-message-aaaaaaaaaaaaaaaa",
        "CANARY-note-bbbbbbbbbbbbbbbb",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("exports/member-7");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(nested.join("posts.json"), "[{\"body\": \"fine\"}]").unwrap();
    std::fs::write(dir.path().join("app.log"), "INFO all good\n").unwrap();
    let registry = dir.path().join("canaries.jsonl");
    std::fs::write(&registry, "CANARY-message-aaaaaaaaaaaaaaaa").unwrap();
    let mut audit = Audit::new(&set);
    audit.exclude(&registry);
    audit.search_path(dir.path()).unwrap();
    let clean = audit.finish();
    assert!(clean.passed(), "{:?}", clean.findings);
    assert_eq!(clean.files, 2);

    std::fs::write(
        dir.path().join("app.log"),
        "WARN opened message: CANARY-note-bbbbbbbbbbbbbbbb\n",
    )
    .unwrap();
    let mut audit = Audit::new(&set);
    audit.exclude(&registry);
    audit.search_path(dir.path()).unwrap();
    let found = audit.finish();
    assert_eq!(found.findings.len(), 1);
    assert_eq!(found.findings[0].token, "CANARY-note-bbbbbbbbbbbbbbbb");
    assert_eq!(found.findings[0].planted_in, "messages row 1");
    assert!(found.findings[0].found_in.ends_with("app.log"));
    // A path that does not exist is an error, not a silent pass.
    let mut audit = Audit::new(&set);
    assert_eq!(
        audit
            .search_path(&dir.path().join("missing"))
            .unwrap_err()
            .code(),
        "canary.io"
    );
}
