//! The import's guards: a line naming an erased member is refused on re-import
//! (`import.erased_member`: the tombstone stays a tombstone, nothing of theirs comes back), and a jurisdiction change — through
//! `member update` or an imported `members` row — that turns a member's AI-training consent
//! off marks the datasets that include them stale, as an opt-out does. SQLite, and
//! PostgreSQL when `STEWARD_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Db, data_dir, each_backend};
use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_store::erase::{ERASED_SEALING, MemberState, erase_member_rows, member_state};
use steward_store::import::{
    ERASED_MEMBER, ImportContext, ImportError, LineProblem, import_bytes_in, import_path,
    import_path_in,
};
use steward_store::schema::TABLES;
use steward_store::staleness;
use steward_store::{PlaintextForTestsOnly, StoreError, Value, member};

const AT: i64 = 1_767_100_000_000;

fn i64q(db: &Db, sql: &str, params: &[Value]) -> i64 {
    db.store.read(|tx| tx.query_i64(sql, params)).unwrap()
}

fn import_ok(db: &Db) -> steward_store::import::ImportReport {
    import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap()
}

/// Rows naming `member` in every importable table, per (table, column).
fn rows_naming(db: &Db, member: i64) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        for c in t.columns {
            let names_member =
                c.references == Some(("members", "member_id")) || t.member_column == Some(c.name);
            if names_member {
                let n = i64q(
                    db,
                    &format!("SELECT COUNT(*) FROM {} WHERE {} = $1", t.name, c.name),
                    &[member.into()],
                );
                out.push((format!("{}.{}", t.name, c.name), n));
            }
        }
    }
    out
}

/// The members row's personal columns, as stored.
fn member_row(db: &Db, member: i64) -> (String, String, String, String, Option<i64>) {
    db.store
        .read(|tx| {
            let r = tx
                .query_opt(
                    "SELECT status, first_name, email, jurisdiction, deleted_at FROM members \
                     WHERE member_id = $1",
                    &[member.into()],
                )?
                .unwrap();
            Ok::<_, StoreError>((
                r.text(0)?,
                r.text(1)?,
                r.text(2)?,
                r.text(3)?,
                r.opt_i64(4)?,
            ))
        })
        .unwrap()
}

#[test]
fn reimporting_an_erased_member_is_refused() {
    assert_eq!(LineProblem::ErasedMember.code(), "import.erased_member");
    assert_eq!(ERASED_MEMBER, "import.erased_member");
    each_backend(|db| {
        let b = db.backend;
        import_ok(db);
        // Member 1 wrote the message and the attachment, is in dataset ds-1 and has a note
        // written about them by member 2.
        db.store
            .transaction(|tx| erase_member_rows(tx, 1, AT))
            .unwrap();
        let tombstone = member_row(db, 1);
        assert_eq!(tombstone.0, "erased", "{b}");
        let after_erasure = rows_naming(db, 1);

        // The whole directory again: refused at the first line naming member 1.
        let e = import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap_err();
        assert_eq!(e.code(), "import.erased_member", "{b}: {e}");
        assert!(e.is_bad_input(), "{b}");
        let ImportError::Line { file, field, .. } = &e else {
            panic!("{b}: {e:?}")
        };
        assert!(file.ends_with("members.jsonl"), "{b}: {file}");
        assert_eq!(field.as_deref(), Some("member_id"), "{b}");

        // Every file on its own: those naming member 1 are refused whole, the others import.
        let taxonomy = Taxonomy::builtin();
        let ctx = ImportContext {
            sealer: &PlaintextForTestsOnly,
            taxonomy: &taxonomy,
            at_ms: AT,
        };
        let mut refused = Vec::new();
        for t in TABLES {
            let path = data_dir().join("ok").join(format!("{}.jsonl", t.name));
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            match import_bytes_in(&db.store, t, t.name, &bytes, &ctx) {
                Ok(_) => {}
                Err(e) if e.code() == ERASED_MEMBER => refused.push(t.name),
                Err(e) => panic!("{b}: {}: {e}", t.name),
            }
        }
        for expected in [
            "members",
            "messages",
            "attachments",
            "dataset_members",
            "consent_events",
            "conversation_participants",
        ] {
            assert!(
                refused.contains(&expected),
                "{b}: {expected} not refused: {refused:?}"
            );
        }
        assert!(!refused.contains(&"companies"), "{b}");

        assert_eq!(
            db.store.read(|tx| member_state(tx, 1)).unwrap(),
            MemberState::Erased,
            "{b}"
        );
        assert_eq!(
            member_row(db, 1),
            tombstone,
            "{b}: the re-import wrote personal data into the erased member's tombstone"
        );
        assert_eq!(
            rows_naming(db, 1),
            after_erasure,
            "{b}: the re-import brought back rows of the erased member"
        );
        assert_eq!(
            i64q(
                db,
                "SELECT COUNT(*) FROM messages WHERE message_id = 1 AND sealing = $1",
                &[ERASED_SEALING.into()]
            ),
            1,
            "{b}: the message tombstone was overwritten"
        );
        // The other member is untouched.
        assert_eq!(member_row(db, 2).1, "Lucas", "{b}");
    });
}

#[test]
fn a_row_that_would_overwrite_an_erased_members_message_is_refused() {
    each_backend(|db| {
        import_ok(db);
        db.store
            .transaction(|tx| erase_member_rows(tx, 1, AT))
            .unwrap();
        let messages = TABLES.iter().find(|t| t.name == "messages").unwrap();
        // Same message id, now claiming a live author: still the erased member's tombstone.
        let line = br#"{"message_id": 1, "conversation_id": 1, "member_id": 2, "sent_at": 1767000000007, "content": "rewritten", "verdict": null, "verdict_rule": null}"#;
        let taxonomy = Taxonomy::builtin();
        let ctx = ImportContext {
            sealer: &PlaintextForTestsOnly,
            taxonomy: &taxonomy,
            at_ms: AT,
        };
        let e = import_bytes_in(&db.store, messages, "messages.jsonl", line, &ctx).unwrap_err();
        assert_eq!(e.code(), ERASED_MEMBER, "{}", db.backend);
        let ImportError::Line { line, field, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (*line, field.as_deref()),
            (1, Some("message_id")),
            "{}",
            db.backend
        );
        assert_eq!(
            i64q(
                db,
                "SELECT member_id FROM messages WHERE message_id = 1",
                &[]
            ),
            1,
            "{}",
            db.backend
        );
    });
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

fn status(db: &Db, id: &str) -> staleness::DatasetStatus {
    db.store
        .read(|tx| staleness::status(tx, id))
        .unwrap()
        .unwrap()
}

fn update(db: &Db, member_id: i64, assignment: &str, at: i64) {
    update_under(db, &Taxonomy::builtin(), member_id, assignment, at);
}

fn update_under(db: &Db, taxonomy: &Taxonomy, member_id: i64, assignment: &str, at: i64) {
    db.store
        .transaction(|tx| {
            member::update_profile(tx, taxonomy, member_id, assignment, &Actor::Member, at)
        })
        .unwrap();
}

#[test]
fn a_jurisdiction_change_is_judged_under_the_loaded_taxonomy() {
    // An extension that turns AI training off by default in Brazil.
    let extended = Taxonomy::builtin()
        .extend(
            "ext.toml",
            "[[jurisdiction]]\nname = \"br\"\ncountries = [\"BR\"]\ndefaults = { \"ai.training\" = false }\n",
        )
        .unwrap();
    each_backend(|db| {
        import_ok(db);
        dataset(db, "ds-2", &[2]);
        update(db, 2, "jurisdiction=US", AT);
        // Under the built-in taxonomy BR has no group: the default stays on.
        update(db, 2, "jurisdiction=BR", AT + 1);
        assert!(!status(db, "ds-2").is_stale(), "{}", db.backend);
        update(db, 2, "jurisdiction=US", AT + 2);
        // Under the loaded one it is off: an opt-out by moving.
        update_under(db, &extended, 2, "jurisdiction=BR", AT + 3);
        let s = status(db, "ds-2");
        assert!(s.is_stale(), "{}", db.backend);
        assert_eq!(s.stale_since, Some(AT + 3), "{}", db.backend);
    });
}

#[test]
fn a_jurisdiction_change_that_turns_ai_training_off_marks_datasets_stale() {
    each_backend(|db| {
        import_ok(db);
        // Member 2 lives in BR: no jurisdiction group, so AI training is on by default.
        dataset(db, "ds-2", &[2]);
        // Within the same default (BR -> US): nothing changes.
        update(db, 2, "jurisdiction=US", AT);
        assert!(!status(db, "ds-2").is_stale(), "{}", db.backend);
        // US -> DE: the EEA default is off, and member 2 never chose.
        update(db, 2, "jurisdiction=DE", AT + 1);
        let s = status(db, "ds-2");
        assert!(
            s.is_stale(),
            "{}: moving to DE did not mark ds-2 stale",
            db.backend
        );
        assert_eq!(s.consent_withdrawn, 1, "{}", db.backend);
        assert_eq!(s.stale_since, Some(AT + 1), "{}", db.backend);
        // Moving again does not count them twice.
        update(db, 2, "jurisdiction=US", AT + 2);
        update(db, 2, "jurisdiction=FR", AT + 3);
        assert_eq!(status(db, "ds-2").consent_withdrawn, 1, "{}", db.backend);
    });
}

#[test]
fn an_explicit_choice_outlives_a_jurisdiction_change() {
    each_backend(|db| {
        import_ok(db);
        // Member 1 (GB, default off) turned AI training on explicitly (consent_events.jsonl)
        // and is in ds-1 (published).
        assert_eq!(status(db, "ds-1").status, "published", "{}", db.backend);
        update(db, 1, "jurisdiction=DE", AT);
        assert!(
            !status(db, "ds-1").is_stale(),
            "{}: an explicit `ai.training=on` still holds in DE",
            db.backend
        );
    });
}

#[test]
fn an_imported_jurisdiction_or_opt_out_marks_datasets_stale() {
    each_backend(|db| {
        import_ok(db);
        dataset(db, "ds-2", &[2]);
        let taxonomy = Taxonomy::builtin();
        let ctx = ImportContext {
            sealer: &PlaintextForTestsOnly,
            taxonomy: &taxonomy,
            at_ms: AT,
        };
        let members = TABLES.iter().find(|t| t.name == "members").unwrap();
        let line = br#"{"member_id": 2, "first_name": "Lucas", "last_name": "Silva", "email": "lucas@example.com", "phone": null, "headline": "Recruiter", "summary": null, "city": "Lisboa", "region": null, "country": "PT", "industry": null, "job_function": "human_resources", "seniority": "associate", "company_size": null, "years_experience": null, "jurisdiction": "PT", "gender": null, "birth_year": null, "created_at": 1767000000001, "deleted_at": null}"#;
        let report = import_bytes_in(&db.store, members, "members.jsonl", line, &ctx).unwrap();
        assert_eq!(
            report.stale_datasets,
            vec!["ds-2".to_owned()],
            "{}",
            db.backend
        );
        assert!(status(db, "ds-2").is_stale(), "{}", db.backend);
        assert!(!status(db, "ds-1").is_stale(), "{}", db.backend);

        // An imported `ai.training=off` of member 1 (explicitly on before) stales ds-1.
        let events = TABLES.iter().find(|t| t.name == "consent_events").unwrap();
        let line = br#"{"event_id": 2, "member_id": 1, "key": "ai.training", "value": "off", "at": 1767000000020, "actor": "member"}"#;
        let report =
            import_bytes_in(&db.store, events, "consent_events.jsonl", line, &ctx).unwrap();
        assert_eq!(
            report.stale_datasets,
            vec!["ds-1".to_owned()],
            "{}",
            db.backend
        );
        assert_eq!(status(db, "ds-1").consent_withdrawn, 1, "{}", db.backend);
        // The whole directory again (same rows, member 1's opt-out still later): nothing new.
        let again = import_path_in(&db.store, &data_dir().join("ok"), &ctx).unwrap();
        assert!(
            again.files.iter().all(|f| f.stale_datasets.is_empty()),
            "{}",
            db.backend
        );
    });
}

#[test]
fn a_stale_mark_survives_reimporting_datasets() {
    each_backend(|db| {
        import_ok(db);
        let taxonomy = Taxonomy::builtin();
        let ctx = ImportContext {
            sealer: &PlaintextForTestsOnly,
            taxonomy: &taxonomy,
            at_ms: AT,
        };
        // Member 1 opts out: ds-1 (published in datasets.jsonl) goes stale.
        let events = TABLES.iter().find(|t| t.name == "consent_events").unwrap();
        let line = br#"{"event_id": 2, "member_id": 1, "key": "ai.training", "value": "off", "at": 1767000000020, "actor": "member"}"#;
        import_bytes_in(&db.store, events, "consent_events.jsonl", line, &ctx).unwrap();
        let before = status(db, "ds-1");
        assert!(before.is_stale(), "{}", db.backend);
        assert_eq!(before.stale_since, Some(AT), "{}", db.backend);
        // The same export again, saying `published`: still stale, since the same time.
        let datasets = TABLES.iter().find(|t| t.name == "datasets").unwrap();
        let published = std::fs::read(data_dir().join("ok/datasets.jsonl")).unwrap();
        assert!(String::from_utf8_lossy(&published).contains(r#""status": "published""#));
        import_bytes_in(&db.store, datasets, "datasets.jsonl", &published, &ctx).unwrap();
        import_path_in(&db.store, &data_dir().join("ok"), &ctx).unwrap();
        let after = status(db, "ds-1");
        assert_eq!(after.status, "stale", "{}", db.backend);
        assert_eq!(after.stale_since, before.stale_since, "{}", db.backend);
        assert_eq!(after.consent_withdrawn, 1, "{}", db.backend);
        // A withdrawal, a stronger state than stale, still applies.
        let text = String::from_utf8_lossy(&published).replace(
            r#""status": "published", "stale_since": null"#,
            r#""status": "withdrawn", "stale_since": null"#,
        );
        assert_ne!(text.as_bytes(), published.as_slice());
        import_bytes_in(&db.store, datasets, "datasets.jsonl", text.as_bytes(), &ctx).unwrap();
        assert_eq!(status(db, "ds-1").status, "withdrawn", "{}", db.backend);
    });
}
