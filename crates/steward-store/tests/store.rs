//! Store tests: migrations, round trips of every entity, backend-neutral errors, transactions,
//! import (good and bad input), member self-access, seed determinism and the canary registry.
//! Every test runs on SQLite and, when configured, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Db, data_dir, each_backend};
use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_store::import::{ImportError, LineProblem, import_bytes, import_path};
use steward_store::migrate::{Migration, MigrationSet, MigrationSql};
use steward_store::schema::{ColumnType, TABLES, table};
use steward_store::seed::{SeedConfig, content_digest, read_canaries, seed};
use steward_store::{PlaintextForTestsOnly, StoreError, Value, member};

fn count(db: &Db, table: &str) -> i64 {
    db.store
        .read(|tx| tx.query_i64(&format!("SELECT COUNT(*) FROM {table}"), &[]))
        .unwrap()
}

#[test]
fn migrations_apply_from_empty_and_rerunning_them_is_a_no_op() {
    each_backend(|db| {
        let applied = db.store.applied_migrations().unwrap();
        let all: Vec<(String, u32)> = steward_store::schema::STORE_MIGRATIONS
            .migrations
            .iter()
            .map(|m| ("store".to_owned(), m.version))
            .collect();
        assert_eq!(applied, all, "{}", db.backend);
        let again = db
            .store
            .migrate(&steward_store::schema::STORE_MIGRATIONS)
            .unwrap();
        assert!(again.applied.is_empty());
        assert_eq!(again.already_applied, all.len());
        for t in TABLES {
            assert_eq!(count(db, t.name), 0, "{} starts empty", t.name);
        }
    });
}

static EXTRA: MigrationSet = MigrationSet {
    name: "extra",
    migrations: &[
        Migration {
            version: 1,
            name: "things",
            sql: MigrationSql::Portable("CREATE TABLE extra_things (id {ID}, data {BYTES})"),
        },
        Migration {
            version: 2,
            name: "more",
            sql: MigrationSql::PerDialect {
                sqlite: "ALTER TABLE extra_things ADD COLUMN note TEXT",
                postgres: "ALTER TABLE extra_things ADD COLUMN note TEXT",
            },
        },
    ],
};

static EXTRA_CHANGED: MigrationSet = MigrationSet {
    name: "extra",
    migrations: &[Migration {
        version: 1,
        name: "things",
        sql: MigrationSql::Portable("CREATE TABLE extra_things (id {ID})"),
    }],
};

#[test]
fn other_crates_register_their_own_migrations_and_history_is_append_only() {
    each_backend(|db| {
        let r = db.store.migrate(&EXTRA).unwrap();
        assert_eq!(r.applied, vec!["extra/0001_things", "extra/0002_more"]);
        assert_eq!(db.store.migrate(&EXTRA).unwrap().applied.len(), 0);
        let e = db.store.migrate(&EXTRA_CHANGED).unwrap_err();
        assert_eq!(e.code(), "store.migration", "{e}");
        // A table of another crate is written in the same transaction as ours.
        db.store
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO extra_things (id, data, note) VALUES ($1, $2, $3)",
                    &[7.into(), Value::Bytes(vec![1, 2, 3]), "n".into()],
                )
            })
            .unwrap();
        let row = db
            .store
            .read(|tx| tx.query_opt("SELECT id, data, note FROM extra_things", &[]))
            .unwrap()
            .unwrap();
        assert_eq!(
            row.values(),
            &[Value::Int(7), Value::Bytes(vec![1, 2, 3]), "n".into()]
        );
    });
}

#[test]
fn every_entity_round_trips_through_import_and_storage() {
    each_backend(|db| {
        let report =
            import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap();
        assert_eq!(
            report.files.len(),
            TABLES.len(),
            "one fixture file per table"
        );
        for t in TABLES {
            let file = data_dir().join("ok").join(format!("{}.jsonl", t.name));
            let text = std::fs::read_to_string(&file).unwrap();
            let expected: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                t.column_names().join(", "),
                t.name,
                t.key.join(", ")
            );
            let rows = db.store.read(|tx| tx.query(&sql, &[])).unwrap();
            assert_eq!(
                rows.len(),
                expected.len(),
                "{} rows in {}",
                db.backend,
                t.name
            );
            for (row, want) in rows.iter().zip(&expected) {
                for (c, v) in t.columns.iter().zip(row.values()) {
                    let got: serde_json::Value = match (c.ty, v) {
                        (ColumnType::Sealed, Value::Bytes(b)) => {
                            let plain = PlaintextForTestsOnly::unwrap_for_tests(b)
                                .expect("sealed by the test sealer");
                            serde_json::json!(String::from_utf8(plain.to_vec()).unwrap())
                        }
                        (_, Value::Null) => serde_json::Value::Null,
                        (_, Value::Int(i)) => serde_json::json!(i),
                        (_, Value::Text(s)) => serde_json::json!(s),
                        (_, Value::Bytes(_)) => panic!("bytes in a non-sealed column"),
                    };
                    let field = match (t.name, c.name) {
                        ("posts", "body_sealed") => "body",
                        (_, n) if c.ty == ColumnType::Sealed => {
                            let _ = n;
                            "content"
                        }
                        (_, n) => n,
                    };
                    if c.derived {
                        continue;
                    }
                    let mut want_v = want.get(field).cloned().unwrap_or(serde_json::Value::Null);
                    // A closed-group post keeps its body only sealed; a feed post only in clear.
                    if t.name == "posts" {
                        let closed = want["visibility"] == "group_closed";
                        if (c.name == "body" && closed) || (c.name == "body_sealed" && !closed) {
                            want_v = serde_json::Value::Null;
                        }
                    }
                    assert_eq!(got, want_v, "{} {}.{}", db.backend, t.name, c.name);
                }
            }
        }
        // No plaintext of private content anywhere outside the sealed columns.
        for t in TABLES {
            let text_cols: Vec<&str> = t
                .columns
                .iter()
                .filter(|c| c.ty == ColumnType::Text)
                .map(|c| c.name)
                .collect();
            for col in text_cols {
                let n = db
                    .store
                    .read(|tx| {
                        tx.query_i64(
                            &format!(
                                "SELECT COUNT(*) FROM {} WHERE {col} LIKE '%CANARY-%'",
                                t.name
                            ),
                            &[],
                        )
                    })
                    .unwrap();
                assert_eq!(n, 0, "canary in clear in {}.{col}", t.name);
            }
        }
    });
}

#[test]
fn reimporting_the_same_ids_is_idempotent() {
    each_backend(|db| {
        let dir = data_dir().join("ok");
        let first = import_path(&db.store, &dir, &PlaintextForTestsOnly).unwrap();
        let digest = content_digest(&db.store).unwrap();
        let second = import_path(&db.store, &dir, &PlaintextForTestsOnly).unwrap();
        assert_eq!(first.rows(), second.rows());
        assert!(second.files.iter().all(|f| f.new_rows == 0), "{second:?}");
        assert_eq!(content_digest(&db.store).unwrap(), digest, "{}", db.backend);
        // Rows inserted later without an id get fresh ones (identity moved past imported ids).
        db.store
            .transaction(|tx| {
                member::set_setting(
                    tx,
                    &Taxonomy::builtin(),
                    1,
                    "ai.training=off",
                    &Actor::Member,
                    1_800_000_000_000,
                )
            })
            .unwrap();
        assert_eq!(count(db, "consent_events"), 2);
    });
}

/// Imports `content` as `kind` into a store holding the good fixture and checks the error.
fn bad_import(kind: &str, content: &[u8], problem: LineProblem, line: usize, field: Option<&str>) {
    each_backend(|db| {
        // Members only: every bad case below refers to members and nothing else.
        import_path(
            &db.store,
            &data_dir().join("ok/members.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        let t = table(kind).unwrap();
        let before = content_digest(&db.store).unwrap();
        let e =
            import_bytes(&db.store, t, "bad.jsonl", content, &PlaintextForTestsOnly).unwrap_err();
        match &e {
            ImportError::Line {
                file,
                line: l,
                field: f,
                problem: p,
                ..
            } => {
                assert_eq!(file, "bad.jsonl");
                assert_eq!(*p, problem, "{e}");
                assert_eq!(*l, line, "{e}");
                assert_eq!(f.as_deref(), field, "{e}");
            }
            other => panic!("expected a line error, got {other}"),
        }
        assert!(
            e.to_string().starts_with(&format!("bad.jsonl:{line}:")),
            "{e}"
        );
        assert!(e.is_bad_input());
        assert_eq!(
            content_digest(&db.store).unwrap(),
            before,
            "nothing imported ({})",
            db.backend
        );
    });
}

const GOOD_SKILL: &str = r#"{"member_id": 1, "skill": "Go", "endorsements": 1}"#;

#[test]
fn import_rejects_malformed_json() {
    let content = format!("{GOOD_SKILL}\n{{\"member_id\": 1, \"skill\": \n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::MalformedJson,
        2,
        None,
    );
}

#[test]
fn import_rejects_unknown_fields() {
    let content = format!(
        "{GOOD_SKILL}\n{{\"member_id\": 2, \"skill\": \"C\", \"endorsements\": 0, \"level\": 3}}\n"
    );
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::UnknownField,
        2,
        Some("level"),
    );
}

#[test]
fn import_rejects_wrong_types() {
    let content =
        format!("{GOOD_SKILL}\n{{\"member_id\": \"2\", \"skill\": \"C\", \"endorsements\": 0}}\n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::WrongType,
        2,
        Some("member_id"),
    );
    let content =
        format!("{GOOD_SKILL}\n{{\"member_id\": 2, \"skill\": \"C\", \"endorsements\": 1.5}}\n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::WrongType,
        2,
        Some("endorsements"),
    );
}

#[test]
fn import_rejects_invalid_utf8() {
    let mut content = format!("{GOOD_SKILL}\n").into_bytes();
    content
        .extend_from_slice(b"{\"member_id\": 2, \"skill\": \"\xff\xfe\", \"endorsements\": 0}\n");
    bad_import("skills", &content, LineProblem::InvalidUtf8, 2, None);
}

#[test]
fn import_rejects_duplicate_ids_within_a_file() {
    let content = format!("{GOOD_SKILL}\n{GOOD_SKILL}\n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::DuplicateId,
        2,
        Some("member_id, skill"),
    );
}

#[test]
fn import_rejects_dangling_references() {
    let content =
        format!("{GOOD_SKILL}\n{{\"member_id\": 999, \"skill\": \"C\", \"endorsements\": 0}}\n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::DanglingReference,
        2,
        Some("member_id"),
    );
}

#[test]
fn import_rejects_missing_fields_invalid_values_and_oversized_lines() {
    let content = format!("{GOOD_SKILL}\n{{\"member_id\": 2, \"skill\": \"C\"}}\n");
    bad_import(
        "skills",
        content.as_bytes(),
        LineProblem::MissingField,
        2,
        Some("endorsements"),
    );
    let post = r#"{"post_id": 9, "member_id": 1, "group_id": null, "visibility": "everyone", "body": "x", "created_at": 1}"#;
    bad_import(
        "posts",
        post.as_bytes(),
        LineProblem::InvalidValue,
        1,
        Some("visibility"),
    );
    let long = format!(
        "{{\"member_id\": 2, \"skill\": \"{}\", \"endorsements\": 0}}",
        "x".repeat(steward_store::import::MAX_LINE_BYTES)
    );
    bad_import("skills", long.as_bytes(), LineProblem::LineTooLong, 1, None);
    bad_import("skills", b"[1, 2]\n", LineProblem::NotAnObject, 1, None);
}

#[test]
fn a_directory_import_stops_at_the_first_bad_file_and_names_what_came_before() {
    each_backend(|db| {
        let dir = db.dir.path().join("in");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            data_dir().join("ok/members.jsonl"),
            dir.join("members.jsonl"),
        )
        .unwrap();
        std::fs::write(
            dir.join("skills.jsonl"),
            "{\"member_id\": 1, \"skill\": 5, \"endorsements\": 0}\n",
        )
        .unwrap();
        let e = import_path(&db.store, &dir, &PlaintextForTestsOnly).unwrap_err();
        match e {
            ImportError::Line {
                imported_before,
                problem,
                ..
            } => {
                assert_eq!(problem, LineProblem::WrongType);
                assert_eq!(imported_before.len(), 1);
            }
            other => panic!("{other}"),
        }
        assert_eq!(count(db, "members"), 2);
        assert_eq!(count(db, "skills"), 0);
        std::fs::write(dir.join("widgets.jsonl"), "{}\n").unwrap();
        let e = import_path(&db.store, &dir, &PlaintextForTestsOnly).unwrap_err();
        assert_eq!(e.code(), "import.unknown_kind");
    });
}

#[test]
fn storage_errors_have_backend_neutral_kinds() {
    each_backend(|db| {
        import_path(
            &db.store,
            &data_dir().join("ok/members.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        let dup = db.store.transaction(|tx| {
            tx.execute(
                "INSERT INTO skills (member_id, skill, endorsements) VALUES ($1, $2, $3)",
                &[1.into(), "A".into(), 0.into()],
            )?;
            tx.execute(
                "INSERT INTO skills (member_id, skill, endorsements) VALUES ($1, $2, $3)",
                &[1.into(), "A".into(), 0.into()],
            )
        });
        assert!(
            matches!(dup, Err(StoreError::UniqueViolation(_))),
            "{} {dup:?}",
            db.backend
        );
        let fk = db.store.transaction(|tx| {
            tx.execute(
                "INSERT INTO skills (member_id, skill, endorsements) VALUES ($1, $2, $3)",
                &[404.into(), "A".into(), 0.into()],
            )
        });
        assert!(
            matches!(fk, Err(StoreError::ForeignKey(_))),
            "{} {fk:?}",
            db.backend
        );
        let check = db.store.transaction(|tx| {
            tx.execute(
                "INSERT INTO profile_visibility (member_id, section, visibility) VALUES ($1, $2, $3)",
                &[1.into(), "headline".into(), "everyone".into()],
            )
        });
        assert!(
            matches!(check, Err(StoreError::Constraint(_))),
            "{} {check:?}",
            db.backend
        );
        assert_eq!(count(db, "skills"), 0, "failed transactions left nothing");
        assert_eq!(
            StoreError::UniqueViolation(String::new()).code(),
            "store.unique_violation"
        );
    });
}

#[test]
fn a_failed_transaction_rolls_back_everything_it_wrote() {
    each_backend(|db| {
        import_path(
            &db.store,
            &data_dir().join("ok/members.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        let r: Result<(), StoreError> = db.store.transaction(|tx| {
            tx.execute(
                "UPDATE members SET headline = $1 WHERE member_id = $2",
                &["changed".into(), 1.into()],
            )?;
            Err(StoreError::Invalid("caller gave up".into()))
        });
        assert!(r.is_err());
        let m = db.store.read(|tx| member::get_member(tx, 1)).unwrap();
        assert_eq!(m.headline.as_deref(), Some("Data engineer"));
    });
}

#[test]
fn members_rectify_their_profile_and_settings_with_recorded_events() {
    each_backend(|db| {
        import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap();
        let t = Taxonomy::builtin();
        let at = 1_800_000_000_000;
        let change = db
            .store
            .transaction(|tx| {
                member::update_profile(
                    tx,
                    &Taxonomy::builtin(),
                    2,
                    "headline=Talent partner",
                    &Actor::Member,
                    at,
                )
            })
            .unwrap();
        assert_eq!(change.old_value.as_deref(), Some("Recruiter"));
        let staff = Actor::Staff("root.admin".into());
        db.store
            .transaction(|tx| {
                member::set_setting(tx, &t, 2, "ads.personalized=off", &staff, at + 1)
            })
            .unwrap();
        db.store
            .transaction(|tx| {
                member::set_setting(
                    tx,
                    &t,
                    2,
                    "visibility.skills=private",
                    &Actor::Member,
                    at + 2,
                )
            })
            .unwrap();
        let (m, history, profile, consent, vis) = db
            .store
            .read(|tx| {
                let m = member::get_member(tx, 2)?;
                let h = member::setting_history(tx, 2)?;
                let p = member::profile_history(tx, 2)?;
                let c = member::effective_consent(tx, &t, &m, at + 10)?;
                let v = member::section_visibility(tx, 2)?;
                Ok::<_, StoreError>((m, h, p, c, v))
            })
            .unwrap();
        assert_eq!(m.headline.as_deref(), Some("Talent partner"));
        assert_eq!(profile.len(), 1);
        assert_eq!(profile[0].actor, "member");
        assert_eq!(profile[0].at_ms, at);
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].actor, "staff:root.admin");
        assert!(!consent.granted(t.consent_key_id("ads.personalized").unwrap()));
        assert!(vis.iter().any(|(s, v, chosen)| *s == "skills"
            && *v == steward_core::Visibility::Private
            && *chosen));
        // Bad input is refused with nothing recorded.
        for bad in [
            "birth_year=1850",
            "email=not-an-email",
            "seniority=emperor",
            "nope=1",
            "headline",
        ] {
            let e = db
                .store
                .transaction(|tx| {
                    member::update_profile(tx, &Taxonomy::builtin(), 2, bad, &Actor::Member, at)
                })
                .unwrap_err();
            assert_eq!(e.code(), "store.invalid", "{bad}: {e}");
        }
        for bad in [
            "ai.training=maybe",
            "visibility.skills=group_closed",
            "visibility.x=public",
            "nope=on",
        ] {
            let e = db
                .store
                .transaction(|tx| member::set_setting(tx, &t, 2, bad, &Actor::Member, at))
                .unwrap_err();
            assert_eq!(e.code(), "store.invalid", "{bad}: {e}");
        }
        let e = db
            .store
            .transaction(|tx| {
                member::update_profile(
                    tx,
                    &Taxonomy::builtin(),
                    404,
                    "headline=x",
                    &Actor::Member,
                    at,
                )
            })
            .unwrap_err();
        assert_eq!(e.code(), "store.not_found");
        assert_eq!(count(db, "profile_events"), 2);
        assert_eq!(count(db, "consent_events"), 3);
    });
}

#[test]
fn a_member_export_holds_their_data_and_consent_history_but_no_private_text() {
    each_backend(|db| {
        import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap();
        let out = db.dir.path().join("export");
        let t = Taxonomy::builtin();
        let r = steward_store::export::export_member(&db.store, &t, 1, &out, 1_800_000_000_000)
            .unwrap();
        assert_eq!(r.sealed_rows, 3, "message, attachment, closed-group post");
        let consent: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("consent_events.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(consent[0]["key"], "ai.training");
        let settings: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("settings.json")).unwrap())
                .unwrap();
        assert_eq!(
            settings["consent"]["ai.training"]["granted"], true,
            "GB default off, overridden by the event"
        );
        assert_eq!(
            settings["profile_visibility"]["headline"]["visibility"],
            "connections"
        );
        let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(readme.contains("sealed"));
        for entry in std::fs::read_dir(&out).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(!text.contains("CANARY-"), "no private text in the export");
        }
        // Member 2's note about member 1 is member 2's, not in member 1's export.
        let notes: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("private_notes.json")).unwrap())
                .unwrap();
        assert_eq!(notes.as_array().unwrap().len(), 0);
        let again = steward_store::export::export_member(&db.store, &t, 1, &out, 1);
        assert_eq!(
            again.unwrap_err().code(),
            "store.invalid",
            "never overwrites a folder"
        );
    });
}

#[test]
fn seeding_is_deterministic_and_canaries_stay_out_of_the_database() {
    each_backend(|db| {
        let cfg = |seed: u64, name: &str| SeedConfig {
            members: 300,
            seed,
            canary_path: db.dir.path().join(name),
        };
        let report = seed(
            &db.store,
            &cfg(9, "a.canaries.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        assert!(report.total_rows() > 5_000, "{report:?}");
        let digest = content_digest(&db.store).unwrap();

        let again = common::sqlite();
        seed(
            &again.store,
            &cfg(9, "b.canaries.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        assert_eq!(
            content_digest(&again.store).unwrap(),
            digest,
            "same seed, same data ({})",
            db.backend
        );
        let other = common::sqlite();
        seed(
            &other.store,
            &cfg(10, "c.canaries.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        assert_ne!(content_digest(&other.store).unwrap(), digest);

        let canaries = read_canaries(&db.dir.path().join("a.canaries.jsonl")).unwrap();
        assert_eq!(canaries.len() as u64, report.canaries);
        for kind in ["messages", "posts", "private_notes"] {
            assert!(canaries.iter().any(|c| c.1 == kind), "a canary in {kind}");
        }
        // Each canary sits sealed in the row the registry names, and nowhere in clear.
        for (token, table_name, row_id, _) in &canaries {
            let t = table(table_name).unwrap();
            let sealed_col = t
                .columns
                .iter()
                .find(|c| c.ty == ColumnType::Sealed)
                .unwrap()
                .name;
            let sql = format!(
                "SELECT {sealed_col} FROM {table_name} WHERE {} = $1",
                t.key[0]
            );
            let row = db
                .store
                .read(|tx| tx.query_opt(&sql, &[(*row_id).into()]))
                .unwrap()
                .unwrap();
            let plain =
                PlaintextForTestsOnly::unwrap_for_tests(row.get(0).as_bytes().unwrap()).unwrap();
            assert!(String::from_utf8_lossy(plain).contains(token.as_str()));
        }
        for t in TABLES {
            for c in t.columns.iter().filter(|c| c.ty == ColumnType::Text) {
                let sql = format!(
                    "SELECT COUNT(*) FROM {} WHERE {} LIKE '%CANARY-%'",
                    t.name, c.name
                );
                assert_eq!(
                    db.store.read(|tx| tx.query_i64(&sql, &[])).unwrap(),
                    0,
                    "{}.{}",
                    t.name,
                    c.name
                );
            }
        }
        if db.backend == "sqlite" {
            let violations = db
                .store
                .read(|tx| tx.query("PRAGMA foreign_key_check", &[]))
                .unwrap();
            assert!(
                violations.is_empty(),
                "seeded rows reference missing rows: {violations:?}"
            );
        }
        // A second seed into a populated database is refused.
        let e = seed(&db.store, &cfg(9, "d.jsonl"), &PlaintextForTestsOnly).unwrap_err();
        assert_eq!(e.code(), "store.invalid");
    });
}

#[test]
fn a_bad_line_after_many_written_batches_still_imports_nothing() {
    each_backend(|db| {
        import_path(
            &db.store,
            &data_dir().join("ok/members.jsonl"),
            &PlaintextForTestsOnly,
        )
        .unwrap();
        let mut content = String::new();
        for i in 0..25_000 {
            content.push_str(&format!(
                "{{\"member_id\": {}, \"skill\": \"skill {i}\", \"endorsements\": 0}}\n",
                1 + i % 2
            ));
        }
        content.push_str("{\"member_id\": 1, \"skill\": \"last\", \"endorsements\": null}\n");
        let e = import_bytes(
            &db.store,
            table("skills").unwrap(),
            "skills.jsonl",
            content.as_bytes(),
            &PlaintextForTestsOnly,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("skills.jsonl:25001: field `endorsements`"),
            "{e}"
        );
        assert_eq!(count(db, "skills"), 0, "{}", db.backend);
    });
}

#[test]
fn messages_are_sealed_on_the_way_in_and_come_back_sealed() {
    use steward_store::content::{NewMessage, insert_message, sealed_content};
    each_backend(|db| {
        import_path(&db.store, &data_dir().join("ok"), &PlaintextForTestsOnly).unwrap();
        let (a, b) = db
            .store
            .transaction(|tx| {
                let m = NewMessage {
                    conversation_id: 1,
                    author_id: 2,
                    sent_at_ms: 5,
                    plaintext: b"see you at 5",
                    verdict: Some(("clean", "none")),
                };
                Ok::<_, StoreError>((
                    insert_message(tx, &PlaintextForTestsOnly, &m)?,
                    insert_message(tx, &PlaintextForTestsOnly, &m)?,
                ))
            })
            .unwrap();
        assert!(
            a > 1 && b == a + 1,
            "fresh ids after imported ones: {a} {b}"
        );
        let row = db
            .store
            .read(|tx| sealed_content(tx, "messages", a))
            .unwrap();
        assert_eq!((row.member_id, row.container_id), (2, Some(1)));
        assert_eq!(row.sealing, PlaintextForTestsOnly::SCHEME);
        assert_eq!(
            PlaintextForTestsOnly::unwrap_for_tests(row.sealed.as_stored_bytes()),
            Some(&b"see you at 5"[..])
        );
        let att = db
            .store
            .read(|tx| sealed_content(tx, "attachments", 1))
            .unwrap();
        assert_eq!(att.container_id, Some(1));
        let e = db
            .store
            .read(|tx| sealed_content(tx, "posts", 1))
            .unwrap_err();
        assert_eq!(e.code(), "store.invalid");
        let e = db
            .store
            .read(|tx| sealed_content(tx, "messages", 999))
            .unwrap_err();
        assert_eq!(e.code(), "store.not_found");
    });
}

/// A batch's ids reserved in one query are the ids one-at-a-time reservation would give, and
/// rows written with them leave the next reservation after them.
#[test]
fn next_ids_reserves_what_next_id_would_give_in_order() {
    each_backend(|db| {
        let b = db.backend;
        db.store
            .transaction(|tx| {
                assert!(tx.next_ids("reports", "report_id", 0)?.is_empty());
                let first = tx.next_id("reports", "report_id")?;
                let batch = tx.next_ids("reports", "report_id", 5)?;
                // SQLite takes the next integers after the largest id; PostgreSQL's sequence
                // has already handed out `first`.
                let start = if b == "sqlite" { first } else { first + 1 };
                assert_eq!(batch, (start..start + 5).collect::<Vec<_>>(), "{b}");
                for id in &batch {
                    tx.execute(
                        "INSERT INTO members (member_id, first_name, last_name, email, country, \
                         jurisdiction, created_at) VALUES ($1, 'A', 'B', 'a@example.org', 'US', 'US', 0)",
                        &[Value::Int(*id)],
                    )?;
                    tx.execute(
                        "INSERT INTO reports (report_id, member_id, target_kind, target_id, reason, \
                         created_at, status) VALUES ($1, $1, 'member', 1, 'r', 0, 'open')",
                        &[Value::Int(*id)],
                    )?;
                }
                let after = tx.next_id("reports", "report_id")?;
                assert_eq!(after, start + 5, "{b}");
                Ok::<_, StoreError>(())
            })
            .unwrap();
    });
}

/// The hottest per-member reads (`member_id = $1 ... ORDER BY`) run from the prepared-statement
/// cache: SQLite re-prepared them on every new member id until the store turned on the query
/// planner stability guarantee, and PostgreSQL prepared every query before running it until the
/// store kept its statements.
#[test]
fn cached_statements_are_not_re_prepared_for_each_new_binding() {
    each_backend(|db| {
        let taxonomy = Taxonomy::builtin();
        db.store
            .transaction(|tx| {
                for m in 1..=30i64 {
                    tx.execute(
                        "INSERT INTO members (member_id, first_name, last_name, email, country, \
                         jurisdiction, created_at) VALUES ($1, 'A', 'B', 'a@example.org', 'US', 'US', 0)",
                        &[Value::Int(m)],
                    )?;
                    member::set_setting(
                        tx,
                        &taxonomy,
                        m,
                        "messaging.harmful_detection=off",
                        &Actor::Member,
                        m,
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let before = db.store.sqlite_reprepares();
        let mut prepared = Vec::new();
        for _ in 0..3 {
            db.store
                .read(|tx| {
                    for m in 1..=30i64 {
                        assert_eq!(member::setting_history(tx, m)?.len(), 1);
                        member::profile_history(tx, m)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            prepared.push(db.store.postgres_prepares());
            // Servers call the migrator per request: with nothing to apply it changes no schema
            // and must keep the statement caches.
            db.store
                .migrate(&steward_store::schema::STORE_MIGRATIONS)
                .unwrap();
        }
        assert_eq!(db.store.sqlite_reprepares() - before, 0, "{}", db.backend);
        // PostgreSQL prepares each statement once per connection, not once per query: after
        // the first round of reads and the migrator's first call, nothing is prepared again.
        assert_eq!(prepared[1], prepared[2], "{}: {prepared:?}", db.backend);
        if db.backend == "postgres" {
            assert!(prepared[0] > 0, "{prepared:?}");
        }
    });
}

/// PostgreSQL keeps prepared statements across transactions; a schema change made through the
/// store must not leave one whose plan no longer fits (PostgreSQL refuses such a statement with
/// "cached plan must not change result type"), and must not lose the rows stored.
#[test]
fn a_schema_change_through_the_store_drops_cached_statements() {
    each_backend(|db| {
        let b = db.backend;
        let read = |db: &Db| {
            db.store
                .read(|tx| {
                    let rows = tx.query("SELECT * FROM extra_cached ORDER BY id", &[])?;
                    Ok::<_, StoreError>(rows.iter().map(|r| r.len()).collect::<Vec<_>>())
                })
                .unwrap()
        };
        db.store
            .execute_batch("CREATE TABLE extra_cached (id INTEGER PRIMARY KEY, a TEXT)")
            .unwrap();
        db.store
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO extra_cached (id, a) VALUES ($1, 'x')",
                    &[Value::Int(1)],
                )
            })
            .unwrap();
        assert_eq!(read(db), vec![2], "{b}");
        db.store
            .transaction(|tx| tx.execute_batch("ALTER TABLE extra_cached ADD COLUMN c TEXT"))
            .unwrap();
        assert_eq!(
            read(db),
            vec![3],
            "{b}: the same query after the column was added"
        );
        db.store
            .execute_batch("ALTER TABLE extra_cached ADD COLUMN d TEXT")
            .unwrap();
        assert_eq!(read(db), vec![4], "{b}");
    });
}
