//! Account erasure end to end on a network sealed by the vault, on SQLite and (when
//! `STEWARD_TEST_POSTGRES_URL` is set) PostgreSQL: a database copy taken before the erasure
//! cannot open the member's content with the key file as it is afterwards; the other
//! participants see "message from a deleted member" in place; the gate never returns the member
//! again; the dataset that included them is stale; the ledger entry names no one and verifies;
//! a second erasure is a no-op; refused requests change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use steward_core::{Form, Policy};
use steward_ledger::{CheckpointSigner, Ledger, Subjects};
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{Gate, GateError, GateRequest, OpenOptions, Store, StoreError, staleness};
use steward_vault::erasure::{ErasureError, MessageView, Requester, erase_member, read_message};
use steward_vault::store::{Access, migrate, open_stored};
use steward_vault::{Keyring, MemberKeyState, MemberKeyStore, TxKeyStore, Vault, VaultSealer};

const AT: i64 = SEED_EPOCH_MS + 86_400_000;
const MEMBERS: u32 = 150;
const ORIGIN: &str = "steward.local/ledger";

struct Net {
    store: Store,
    vault: Vault,
    key_file: std::path::PathBuf,
    backend: &'static str,
    _dir: tempfile::TempDir,
}

fn network(backend: &'static str, test: &str) -> Option<Net> {
    let dir = tempfile::tempdir().unwrap();
    let store = match backend {
        "sqlite" => Store::open(&format!(
            "sqlite://{}",
            dir.path().join("steward.db").display()
        ))
        .unwrap(),
        _ => {
            let url = std::env::var("STEWARD_TEST_POSTGRES_URL").ok()?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            Store::open_with(
                &url,
                &OpenOptions {
                    postgres_schema: Some(format!("erase_{test}_{}_{nanos}", std::process::id())),
                    ..OpenOptions::default()
                },
            )
            .unwrap()
        }
    };
    migrate(&store).unwrap();
    Ledger::install(&store).unwrap();
    let key_file = dir.path().join("steward.keys");
    let vault = Vault::new(Keyring::open_or_create(&key_file).unwrap());
    let sealer = VaultSealer::provision(&vault, &store, 1..=i64::from(MEMBERS)).unwrap();
    seed(
        &store,
        &SeedConfig {
            members: MEMBERS,
            seed: 5,
            canary_path: dir.path().join("canaries.jsonl"),
        },
        &sealer,
    )
    .unwrap();
    Some(Net {
        store,
        vault,
        key_file,
        backend,
        _dir: dir,
    })
}

impl Drop for Net {
    fn drop(&mut self) {
        if self.backend == "postgres"
            && let Ok(Some(row)) = self
                .store
                .read(|tx| tx.query_opt("SELECT current_schema()", &[]))
            && let Ok(schema) = row.text(0)
            && schema.starts_with("erase_")
        {
            let _ = self
                .store
                .execute_batch(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

fn backends(test: &str) -> Vec<Net> {
    ["sqlite", "postgres"]
        .into_iter()
        .filter_map(|b| network(b, test))
        .collect()
}

fn q(store: &Store, sql: &str, params: &[steward_store::Value]) -> i64 {
    store.read(|tx| tx.query_i64(sql, params)).unwrap()
}

/// (author, conversation, peer): a live author and a peer who both wrote in the conversation.
fn author_and_peer(store: &Store) -> (i64, i64, i64) {
    let row = store
        .read(|tx| {
            tx.query_opt(
                "SELECT a.member_id, a.conversation_id, b.member_id FROM messages a \
                 JOIN messages b ON b.conversation_id = a.conversation_id \
                   AND b.member_id <> a.member_id \
                 JOIN members m ON m.member_id = a.member_id \
                 WHERE m.deleted_at IS NULL AND (m.birth_year IS NULL OR m.birth_year < 2000) \
                   AND a.verdict IS NULL AND b.verdict IS NULL \
                 ORDER BY a.message_id, b.message_id LIMIT 1",
                &[],
            )
        })
        .unwrap()
        .unwrap();
    (
        row.i64(0).unwrap(),
        row.i64(1).unwrap(),
        row.i64(2).unwrap(),
    )
}

/// The conversation as `reader` sees it: (message id, author, text).
fn conversation(net: &Net, reader: i64, conv: i64) -> Vec<(i64, i64, String)> {
    net.store
        .read(|tx| {
            let rows = tx.query(
                "SELECT message_id, member_id FROM messages WHERE conversation_id = $1 \
                 ORDER BY sent_at, message_id",
                &[conv.into()],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let id = r.i64(0)?;
                let view = read_message(&net.vault, tx, reader, id).unwrap();
                out.push((id, r.i64(1)?, view.text()));
            }
            Ok::<_, StoreError>(out)
        })
        .unwrap()
}

fn gated_members(store: &Store) -> BTreeSet<i64> {
    let policy = Policy::builtin().unwrap();
    let mut out = BTreeSet::new();
    Gate::new(store, &policy)
        .read(
            &GateRequest {
                purpose: "ai.training",
                categories: &["member.profile", "member.content", "member.activity"],
                form: Form::Deidentified,
                at_ms: AT + 10_000,
            },
            |r| {
                if let Some(m) = r.member_id() {
                    out.insert(m);
                }
                Ok::<(), GateError>(())
            },
        )
        .unwrap();
    out
}

fn opt_in_and_register_dataset(store: &Store, member: i64, other: i64) {
    let taxonomy = steward_core::Taxonomy::builtin();
    store
        .transaction(|tx| {
            for m in [member, other] {
                steward_store::member::set_setting(
                    tx,
                    &taxonomy,
                    m,
                    "ai.training=on",
                    &steward_core::consent::Actor::Member,
                    AT,
                )?;
            }
            tx.execute(
                "INSERT INTO datasets (dataset_id, name, purpose, policy_version, created_at, \
                 member_count, status) VALUES ('ds-1', 'profiles', 'ai.training', 'v', $1, 2, \
                 'published')",
                &[AT.into()],
            )?;
            for m in [member, other] {
                tx.execute(
                    "INSERT INTO dataset_members (dataset_id, member_id) VALUES ('ds-1', $1)",
                    &[m.into()],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

fn ledger_size(store: &Store) -> u64 {
    store.read(Ledger::size).unwrap()
}

#[test]
fn erasure_shreds_the_member_for_live_data_and_for_a_copy_taken_before() {
    for mut net in backends("shred") {
        let b = net.backend;
        let (m, conv, peer) = author_and_peer(&net.store);
        opt_in_and_register_dataset(&net.store, m, peer);
        assert!(gated_members(&net.store).contains(&m), "{b}");
        let personal = net
            .store
            .read(|tx| steward_store::member::get_member(tx, m))
            .unwrap();

        // Before: the peer reads the whole conversation, the member's messages included.
        let before = conversation(&net, peer, conv);
        assert!(before.iter().any(|(_, a, _)| *a == m));
        assert!(before.iter().any(|(_, a, _)| *a == peer));
        assert!(
            before
                .iter()
                .all(|(_, _, t)| t != steward_store::erase::DELETED_MEMBER_NOTICE)
        );
        let own_message = before.iter().find(|(_, a, _)| *a == m).unwrap().0;

        // A copy of the database file, taken before the erasure (SQLite).
        let backup = (b == "sqlite").then(|| {
            let live = net.store.sqlite_path().unwrap().to_path_buf();
            net.store
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
            let copy = live.with_file_name("backup-before-erasure.db");
            std::fs::copy(&live, &copy).unwrap();
            copy
        });
        if let Some(copy) = &backup {
            // The copy opens the member's content with the key file as it is now.
            let store = Store::open(&format!("sqlite://{}", copy.display())).unwrap();
            let opened = store
                .read(|tx| {
                    open_stored(
                        &net.vault,
                        tx,
                        Access::SelfAccess(m),
                        "messages",
                        own_message,
                    )
                })
                .unwrap();
            assert!(!opened.plaintext.is_empty());
        }

        let size_before = ledger_size(&net.store);
        let outcome = erase_member(
            &mut net.vault,
            &net.store,
            m,
            &Requester::Member,
            None,
            AT + 100,
        )
        .unwrap();
        assert!(!outcome.already_erased, "{b}");
        assert!(outcome.key_destroyed);
        assert_eq!(outcome.kek_version, Some(2));
        assert_eq!(outcome.retired_keks, vec![1]);
        assert!(outcome.retire_error.is_none());
        assert!(outcome.keys_rewrapped >= (MEMBERS as usize) - 1);
        assert!(outcome.messages_tombstoned > 0);
        assert_eq!(outcome.stale_datasets, vec!["ds-1".to_owned()]);
        assert_eq!(ledger_size(&net.store), size_before + 1);

        // The key file after the erasure, read from disk.
        let after_vault = Vault::new(Keyring::open(&net.key_file).unwrap());
        assert_eq!(after_vault.keyring().kek_versions(), vec![2]);
        if let Some(copy) = &backup {
            let store = Store::open(&format!("sqlite://{}", copy.display())).unwrap();
            let err = store
                .read(|tx| {
                    open_stored(
                        &after_vault,
                        tx,
                        Access::SelfAccess(m),
                        "messages",
                        own_message,
                    )
                })
                .unwrap_err();
            assert_eq!(err.code(), "vault.unknown_kek_version", "{err}");
            // The copy still holds the member's wrapped key — useless without KEK v1.
            let state = store.read(|tx| TxKeyStore::new(tx).get(m)).unwrap();
            assert!(matches!(state, MemberKeyState::Present(_)));
        }
        // Live: the member's key is a tombstone.
        let state = net.store.read(|tx| TxKeyStore::new(tx).get(m)).unwrap();
        assert_eq!(state, MemberKeyState::Shredded);

        // The peer still sees the conversation in order: the member's messages as the notice,
        // everything else as before (other keys were re-wrapped, not lost).
        let after = conversation(&net, peer, conv);
        assert_eq!(
            after.iter().map(|(id, _, _)| *id).collect::<Vec<_>>(),
            before.iter().map(|(id, _, _)| *id).collect::<Vec<_>>()
        );
        for ((_, author, was), (_, _, now)) in before.iter().zip(&after) {
            if *author == m {
                assert_eq!(now, "message from a deleted member");
            } else {
                assert_eq!(now, was);
            }
        }
        // The erased member is no participant any more; a stranger learns nothing either.
        let stranger = (1..=i64::from(MEMBERS))
            .find(|s| {
                q(
                    &net.store,
                    "SELECT COUNT(*) FROM conversation_participants WHERE conversation_id = $1 \
                     AND member_id = $2",
                    &[conv.into(), (*s).into()],
                ) == 0
            })
            .unwrap();
        let err = net
            .store
            .read(|tx| read_message(&net.vault, tx, stranger, own_message))
            .unwrap_err();
        assert_eq!(err.code(), "vault.refused");

        // Nowhere in the gate's output; the dataset is stale with a count and no id.
        assert!(!gated_members(&net.store).contains(&m));
        let st = net
            .store
            .read(|tx| staleness::status(tx, "ds-1"))
            .unwrap()
            .unwrap();
        assert!(st.is_stale());
        assert_eq!(st.members_erased, 1);

        // The ledger entry: no subject, no personal value; the whole log verifies.
        let entry = net
            .store
            .read(|tx| Ledger::entry(tx, outcome.ledger_seq.unwrap()))
            .unwrap();
        assert_eq!(entry.action, "member.erase");
        assert_eq!(entry.subjects, Subjects::none());
        assert_eq!(entry.actor, "member");
        assert_eq!(Some(entry.reference.clone()), outcome.erasure_id);
        let bytes = String::from_utf8_lossy(&entry.encode().unwrap()).to_lowercase();
        for value in [&personal.first_name, &personal.last_name, &personal.email] {
            assert!(
                !bytes.contains(&value.to_lowercase()),
                "{value} in the entry"
            );
        }
        assert!(entry.details.contains("messages_tombstoned="));
        let signer = CheckpointSigner::from_seed(
            ORIGIN,
            &after_vault.keyring().ledger_signing_key_bytes()[..],
        )
        .unwrap();
        net.store
            .transaction(|tx| Ledger::new(ORIGIN).checkpoint(tx, &signer, (AT + 200) as u64))
            .unwrap();
        let report = net
            .store
            .read(|tx| {
                let mut r = steward_ledger::verify::verify(tx, &signer.verifier(), None)?;
                steward_ledger::verify::verify_indexes(tx, &mut r)?;
                Ok::<_, steward_ledger::LedgerError>(r)
            })
            .unwrap();
        assert!(report.ok(), "{report:?}");

        // Again: a no-op that writes nothing.
        let again = erase_member(
            &mut net.vault,
            &net.store,
            m,
            &Requester::Member,
            None,
            AT + 300,
        )
        .unwrap();
        assert!(again.already_erased);
        assert!(again.ledger_seq.is_none() && again.kek_version.is_none());
        assert_eq!(ledger_size(&net.store), size_before + 1);
        assert_eq!(net.vault.keyring().kek_versions(), vec![2]);
    }
}

#[test]
fn refused_erasures_change_nothing_and_an_admin_erasure_names_only_the_admin() {
    for mut net in backends("refuse") {
        let b = net.backend;
        let (m, _, _) = author_and_peer(&net.store);
        let personal = net
            .store
            .read(|tx| steward_store::member::get_member(tx, m))
            .unwrap();
        let size = ledger_size(&net.store);
        let attempts: Vec<(Requester, Option<String>, &str)> = vec![
            (
                Requester::Staff("ada.reviewer".into()),
                Some("member request".into()),
                "erasure.not_admin",
            ),
            (
                Requester::Staff("nobody".into()),
                Some("member request".into()),
                "erasure.not_admin",
            ),
            (
                Requester::Staff("root.admin".into()),
                None,
                "erasure.reason_required",
            ),
            (
                Requester::Staff("root.admin".into()),
                Some("   ".into()),
                "erasure.reason_required",
            ),
            (
                Requester::Staff("root.admin".into()),
                Some(format!("ticket from {}", personal.email)),
                "erasure.reason_names_member",
            ),
            (
                Requester::Staff("root.admin".into()),
                Some(format!("account {m} closed")),
                "erasure.reason_names_member",
            ),
        ];
        for (who, reason, code) in attempts {
            let err = erase_member(&mut net.vault, &net.store, m, &who, reason.as_deref(), AT)
                .unwrap_err();
            assert_eq!(err.code(), code, "{who:?} {reason:?} on {b}");
            assert!(err.is_refusal());
        }
        let err = erase_member(
            &mut net.vault,
            &net.store,
            9_999_999,
            &Requester::Member,
            None,
            AT,
        )
        .unwrap_err();
        assert!(matches!(err, ErasureError::NotFound(9_999_999)));
        // Nothing happened.
        assert_eq!(ledger_size(&net.store), size);
        assert_eq!(net.vault.keyring().kek_versions(), vec![1]);
        let still = net
            .store
            .read(|tx| steward_store::member::get_member(tx, m))
            .unwrap();
        assert_eq!(still, personal);

        let outcome = erase_member(
            &mut net.vault,
            &net.store,
            m,
            &Requester::Staff("root.admin".into()),
            Some("closed under the terms of service, ticket T-88"),
            AT,
        )
        .unwrap();
        let entry = net
            .store
            .read(|tx| Ledger::entry(tx, outcome.ledger_seq.unwrap()))
            .unwrap();
        assert_eq!(entry.actor, "staff:root.admin");
        assert_eq!(
            entry.justification,
            "closed under the terms of service, ticket T-88"
        );
        assert_eq!(entry.subjects, Subjects::none());
        // The member's own content is gone for them too.
        let own = q(
            &net.store,
            "SELECT MIN(message_id) FROM messages WHERE member_id = $1",
            &[m.into()],
        );
        let view = net
            .store
            .read(|tx| {
                let peer = tx.query_i64(
                    "SELECT MIN(p.member_id) FROM conversation_participants p JOIN messages x \
                     ON x.conversation_id = p.conversation_id WHERE x.message_id = $1",
                    &[own.into()],
                )?;
                Ok::<_, StoreError>(read_message(&net.vault, tx, peer, own).unwrap())
            })
            .unwrap();
        assert!(matches!(view, MessageView::FromDeletedMember));
    }
}
