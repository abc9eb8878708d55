//! The vault over the real store, on SQLite and (when `STEWARD_TEST_POSTGRES_URL` is set) on
//! PostgreSQL: keys commit with content, rotation and erasure through transactions, the
//! generator sealing through `VaultSealer`, and an erasure that a database copy cannot undo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use steward_store::seed::{SeedConfig, seed};
use steward_store::{OpenOptions, Store, Tx};
use steward_vault::store::migrate;
use steward_vault::{
    Keyring, MemberKeyState, MemberKeyStore, OpenReason, RowBinding, SEALING_SCHEME, TxKeyStore,
    Vault, VaultError, VaultSealer,
};

fn sqlite(dir: &Path) -> Store {
    let store = Store::open(&format!("sqlite://{}", dir.join("steward.db").display())).unwrap();
    migrate(&store).unwrap();
    store
}

fn stores(dir: &Path, test: &str) -> Vec<(String, Store)> {
    let mut out = vec![("sqlite".to_string(), sqlite(dir))];
    if let Ok(url) = std::env::var("STEWARD_TEST_POSTGRES_URL") {
        let schema = format!("vault_{test}_{}", std::process::id());
        let store = Store::open_with(
            &url,
            &OpenOptions {
                postgres_schema: Some(schema),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        migrate(&store).unwrap();
        out.push(("postgres".to_string(), store));
    }
    out
}

/// Drops a test's PostgreSQL schema once the test is done with it (SQLite files go with their
/// temporary directory).
fn finish(store: &Store) {
    if store.dialect() == steward_store::Dialect::Postgres {
        let schema = store
            .read(|tx| tx.query_opt("SELECT current_schema()", &[]))
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        assert!(schema.starts_with("vault_"), "{schema}");
        store
            .execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }
}

const CONVERSATION: i64 = 9;

fn seal_in(store: &Store, vault: &Vault, row: &RowBinding, text: &str) -> Vec<u8> {
    store
        .transaction(|tx| vault.seal(&mut TxKeyStore::new(tx), row, text.as_bytes()))
        .unwrap()
}

fn open_in(
    store: &Store,
    vault: &Vault,
    row: &RowBinding,
    blob: &[u8],
) -> Result<String, VaultError> {
    let participants = [1, 2, 3];
    let reason = OpenReason::ParticipantRead {
        reader: 2,
        participants: &participants,
    };
    store.read(|tx: &mut Tx<'_>| {
        let opened = vault.open(&mut TxKeyStore::new(tx), &reason, row, blob)?;
        Ok(opened.plaintext.as_str().unwrap().to_string())
    })
}

#[test]
fn keys_live_in_the_store_and_survive_rotation() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(dir.path(), "rotation") {
        migrate(&store).unwrap(); // idempotent
        let keyfile = dir.path().join(format!("{backend}.keys"));
        let mut vault = Vault::new(Keyring::open_or_create(&keyfile).unwrap());
        let rows: Vec<RowBinding> = (1..=6)
            .map(|i| RowBinding::message(i, CONVERSATION, 1 + i % 3))
            .collect();
        let blobs: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| seal_in(&store, &vault, r, &format!("m{}", r.item_id)))
            .collect();

        let report = store
            .transaction(|tx| vault.rotate(&mut TxKeyStore::new(tx)))
            .unwrap();
        assert_eq!(report.rewrapped, 3, "{backend}");
        let retired = store
            .transaction(|tx| vault.retire_unused_keks(&mut TxKeyStore::new(tx)))
            .unwrap();
        assert_eq!(retired, vec![1], "{backend}");

        let vault = Vault::new(Keyring::open(&keyfile).unwrap());
        for (row, blob) in rows.iter().zip(&blobs) {
            assert_eq!(
                open_in(&store, &vault, row, blob).unwrap(),
                format!("m{}", row.item_id),
                "{backend}"
            );
        }
        let in_use = store
            .read(|tx| TxKeyStore::new(tx).kek_versions_in_use())
            .unwrap();
        assert_eq!(in_use, vec![2], "{backend}");
        finish(&store);
    }
}

#[test]
fn a_rolled_back_seal_leaves_no_key() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(dir.path(), "rollback") {
        let vault = Vault::new(Keyring::ephemeral().unwrap());
        let row = RowBinding::message(1, CONVERSATION, 1);
        let result: Result<(), VaultError> = store.transaction(|tx| {
            vault.seal(&mut TxKeyStore::new(tx), &row, b"x")?;
            Err(VaultError::Refused("caller changed its mind"))
        });
        assert!(result.is_err());
        let state = store.read(|tx| TxKeyStore::new(tx).get(1)).unwrap();
        assert_eq!(state, MemberKeyState::Absent, "{backend}");
        finish(&store);
    }
}

#[test]
fn shredded_member_cannot_get_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(dir.path(), "shred") {
        let vault = Vault::new(Keyring::ephemeral().unwrap());
        let row = RowBinding::message(1, CONVERSATION, 1);
        let blob = seal_in(&store, &vault, &row, "bye");
        let destroyed = store
            .transaction(|tx| vault.shred_member(&mut TxKeyStore::new(tx), 1))
            .unwrap();
        assert!(destroyed, "{backend}");
        assert_eq!(
            open_in(&store, &vault, &row, &blob).unwrap_err().code(),
            "vault.member_shredded"
        );
        let err = store
            .transaction(|tx| vault.seal(&mut TxKeyStore::new(tx), &row, b"again"))
            .unwrap_err();
        assert_eq!(err.code(), "vault.member_shredded", "{backend}");
        let again = store
            .transaction(|tx| vault.shred_member(&mut TxKeyStore::new(tx), 1))
            .unwrap();
        assert!(!again, "{backend}: second shred is a no-op");
        let counts = store.read(|tx| TxKeyStore::new(tx).counts()).unwrap();
        assert_eq!((counts.active, counts.shredded), (0, 1), "{backend}");
        finish(&store);
    }
}

#[test]
fn generator_seals_with_the_vault_and_erasure_defeats_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let keyfile = dir.path().join("steward.keys");
    let mut vault = Vault::new(Keyring::open_or_create(&keyfile).unwrap());
    let members = 40u32;
    let sealer = VaultSealer::provision(&vault, &store, 1..=i64::from(members)).unwrap();
    let config = SeedConfig {
        members,
        seed: 7,
        canary_path: dir.path().join("canaries.jsonl"),
    };
    seed(&store, &config, &sealer).unwrap();

    // Every message row is sealed by the vault, and opens for a participant.
    let rows = store
        .read(|tx| {
            tx.query(
                "SELECT m.message_id, m.conversation_id, m.member_id, m.content_sealed, m.sealing
                 FROM messages m ORDER BY m.message_id",
                &[],
            )
        })
        .unwrap();
    assert!(rows.len() > 10, "generator made {} messages", rows.len());
    let message = |i: usize| {
        let r = &rows[i];
        (
            RowBinding::message(r.i64(0).unwrap(), r.i64(1).unwrap(), r.i64(2).unwrap()),
            r.get(3).as_bytes().unwrap().to_vec(),
            r.text(4).unwrap(),
        )
    };
    let (first, first_blob, scheme) = message(0);
    assert_eq!(scheme, SEALING_SCHEME);
    let open_as_author = |store: &Store, vault: &Vault, row: &RowBinding, blob: &[u8]| {
        let participants = [row.author];
        let reason = OpenReason::ParticipantRead {
            reader: row.author,
            participants: &participants,
        };
        store.read(|tx| {
            vault
                .open(&mut TxKeyStore::new(tx), &reason, row, blob)
                .map(|o| o.plaintext.len())
        })
    };
    assert!(open_as_author(&store, &vault, &first, &first_blob).is_ok());
    let erased = first.author;
    let (other, other_blob, _) = (0..rows.len())
        .map(message)
        .find(|(r, _, _)| r.author != erased)
        .unwrap();

    // A copy of the database file taken before the erasure.
    store
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let copy_dir = dir.path().join("backup");
    std::fs::create_dir(&copy_dir).unwrap();
    std::fs::copy(dir.path().join("steward.db"), copy_dir.join("steward.db")).unwrap();

    // Erase: shred and rotate in one transaction, commit, then destroy the old KEK.
    store
        .transaction(|tx| {
            let mut keys = TxKeyStore::new(tx);
            vault.shred_member(&mut keys, erased)?;
            vault.rotate(&mut keys)
        })
        .unwrap();
    let retired = store
        .transaction(|tx| vault.retire_unused_keks(&mut TxKeyStore::new(tx)))
        .unwrap();
    assert_eq!(retired, vec![1]);

    // Live database: the erased member's content is gone, others' still opens.
    let err = open_as_author(&store, &vault, &first, &first_blob).unwrap_err();
    assert_eq!(err.code(), "vault.member_shredded");
    assert!(open_as_author(&store, &vault, &other, &other_blob).is_ok());

    // The copy still holds the erased member's wrapped key, but under a destroyed KEK.
    let copy = sqlite(&copy_dir);
    let reloaded = Vault::new(Keyring::open(&keyfile).unwrap());
    let state = copy.read(|tx| TxKeyStore::new(tx).get(erased)).unwrap();
    assert!(
        matches!(state, MemberKeyState::Present(_)),
        "the copy predates the erasure"
    );
    let err = open_as_author(&copy, &reloaded, &first, &first_blob).unwrap_err();
    assert_eq!(err.code(), "vault.unknown_kek_version");
}

#[test]
fn provisioned_sealer_refuses_unknown_authors() {
    use steward_store::{SealContext, Sealer};
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let vault = Vault::new(Keyring::ephemeral().unwrap());
    let sealer = VaultSealer::provision(&vault, &store, [1, 2]).unwrap();
    let ctx = |member_id| SealContext {
        table: "messages",
        row_id: 5,
        member_id,
        container_id: Some(CONVERSATION),
    };
    assert!(sealer.seal(&ctx(1), b"ok").is_ok());
    let err = sealer.seal(&ctx(3), b"no").unwrap_err();
    assert!(err.to_string().contains("no content key provisioned"));
    let bad_table = SealContext {
        table: "members",
        ..ctx(1)
    };
    assert!(sealer.seal(&bad_table, b"no").is_err());
    assert!(!format!("{sealer:?}").contains("Zeroizing"));
}

#[test]
fn stored_content_opens_only_for_database_participants_and_grants() {
    use steward_store::content::{NewMessage, insert_message};
    use steward_vault::store::{Access, open_stored};
    use steward_vault::{ContentKind, GrantHandle, GrantPurpose};

    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(dir.path(), "open_stored") {
        let keyfile = dir.path().join(format!("{backend}-open.keys"));
        let vault = Vault::new(Keyring::open_or_create(&keyfile).unwrap());
        let members = 30u32;
        let sealer = VaultSealer::provision(&vault, &store, 1..=i64::from(members)).unwrap();
        let config = SeedConfig {
            members,
            seed: 11,
            canary_path: dir.path().join(format!("{backend}-canaries.jsonl")),
        };
        seed(&store, &config, &sealer).unwrap();

        let (conversation, participants) = store
            .read(|tx| {
                let conversation = tx.query_i64("SELECT MIN(conversation_id) FROM messages", &[])?;
                let participants: Vec<i64> = tx
                    .query(
                        "SELECT member_id FROM conversation_participants WHERE conversation_id = $1",
                        &[conversation.into()],
                    )?
                    .iter()
                    .map(|r| r.i64(0).unwrap())
                    .collect();
                Ok::<_, steward_store::StoreError>((conversation, participants))
            })
            .unwrap();
        let outsider = (1..=i64::from(members))
            .find(|m| !participants.contains(m))
            .unwrap();
        let (author, reader) = (participants[0], participants[1]);

        // The send path: the author's key and the sealed row commit in one transaction.
        let text = format!("interview notes {backend}");
        let sent = store
            .transaction(|tx| {
                let sealer = VaultSealer::in_transaction(&vault, tx, [author])?;
                let message = NewMessage {
                    conversation_id: conversation,
                    author_id: author,
                    sent_at_ms: 1_700_000_000_000,
                    plaintext: text.as_bytes(),
                    verdict: Some(("clean", "none")),
                };
                Ok::<_, VaultError>(insert_message(tx, &sealer, &message)?)
            })
            .unwrap();
        let open = |access: Access<'_>, id: i64| {
            store.read(|tx| {
                open_stored(&vault, tx, access, "messages", id)
                    .map(|o| (o.plaintext.as_str().unwrap().to_string(), o.access))
            })
        };

        let (plain, record) = open(Access::Participant(reader), sent).unwrap();
        assert_eq!(plain, text, "{backend}");
        assert!(!record.ledger_required);
        let err = open(Access::Participant(outsider), sent).unwrap_err();
        assert_eq!(err.code(), "vault.refused", "{backend}");
        let (_, record) = open(Access::SelfAccess(author), sent).unwrap();
        assert!(record.ledger_required);
        assert_eq!(
            open(Access::SelfAccess(outsider), sent).unwrap_err().code(),
            "vault.refused"
        );

        let grant = GrantHandle::validated(
            1,
            GrantPurpose::ReportReview,
            1,
            [(ContentKind::Message, sent)],
        );
        let (plain, record) = open(Access::ReportReview(&grant), sent).unwrap();
        assert_eq!(plain, text);
        assert_eq!(
            (record.purpose, record.grant_id),
            ("safety.report_review", Some(1))
        );
        let other_message = store
            .read(|tx| tx.query_i64("SELECT MIN(message_id) FROM messages", &[]))
            .unwrap();
        assert_ne!(other_message, sent);
        assert_eq!(
            open(Access::ReportReview(&grant), other_message)
                .unwrap_err()
                .code(),
            "vault.refused"
        );

        // Moving the sealed bytes onto another author's row fails authentication.
        store
            .transaction(|tx| {
                tx.execute(
                    "UPDATE messages SET member_id = $1 WHERE message_id = $2",
                    &[reader.into(), sent.into()],
                )
            })
            .unwrap();
        assert_eq!(
            open(Access::Participant(reader), sent).unwrap_err().code(),
            "vault.aead_failure",
            "{backend}"
        );
        finish(&store);
    }
}
