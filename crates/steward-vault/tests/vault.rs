//! End-to-end behaviour of sealing and opening: round trips, every refused path, rotation and
//! crypto-shredding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use steward_vault::{
    ContentKind, GrantHandle, GrantPurpose, InMemoryKeyStore, Keyring, MemberKeyState,
    MemberKeyStore, OpenReason, RowBinding, Vault, VaultError,
};

const ALICE: i64 = 10;
const BOB: i64 = 11;
const MALLORY: i64 = 12;
const CONVERSATION: i64 = 500;
const PARTICIPANTS: &[i64] = &[ALICE, BOB];

fn vault() -> (Vault, InMemoryKeyStore) {
    (
        Vault::new(Keyring::ephemeral().unwrap()),
        InMemoryKeyStore::new(),
    )
}

fn bob_reads() -> OpenReason<'static> {
    OpenReason::ParticipantRead {
        reader: BOB,
        participants: PARTICIPANTS,
    }
}

fn open_text(
    vault: &Vault,
    keys: &mut InMemoryKeyStore,
    reason: &OpenReason<'_>,
    row: &RowBinding,
    blob: &[u8],
) -> Result<String, VaultError> {
    let opened = vault.open(keys, reason, row, blob)?;
    Ok(opened.plaintext.as_str().unwrap().to_string())
}

#[test]
fn participant_round_trip_is_not_ledgered() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"lunch on friday?").unwrap();
    assert!(!blob.windows(5).any(|w| w == b"lunch"));
    let opened = vault.open(&mut keys, &bob_reads(), &row, &blob).unwrap();
    assert_eq!(opened.plaintext.as_bytes(), b"lunch on friday?");
    assert_eq!(opened.access.purpose, "service.core");
    assert!(!opened.access.ledger_required);
}

#[test]
fn empty_and_large_plaintexts_round_trip() {
    let (vault, mut keys) = vault();
    for (id, len) in [(1, 0usize), (2, 1), (3, 4096), (4, 1 << 20)] {
        let row = RowBinding::attachment(id, CONVERSATION, ALICE);
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let blob = vault.seal(&mut keys, &row, &data).unwrap();
        assert_eq!(blob.len(), data.len() + 33);
        let opened = vault.open(&mut keys, &bob_reads(), &row, &blob).unwrap();
        assert_eq!(opened.plaintext.as_bytes(), &data[..]);
    }
}

#[test]
fn sealing_twice_gives_different_ciphertexts() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let a = vault.seal(&mut keys, &row, b"same").unwrap();
    let b = vault.seal(&mut keys, &row, b"same").unwrap();
    assert_ne!(a, b, "nonces must be fresh");
    // Across the vault's nonce pool's draws (1, 2, 4, ... 64 nonces per OS call) too.
    let blobs: std::collections::HashSet<Vec<u8>> = (0..300)
        .map(|_| vault.seal(&mut keys, &row, b"same").unwrap())
        .collect();
    assert_eq!(blobs.len(), 300, "a nonce was used twice");
}

#[test]
fn swapped_row_fails_authentication() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"hello bob").unwrap();
    vault
        .seal(&mut keys, &RowBinding::message(2, CONVERSATION, BOB), b"hi")
        .unwrap();
    let swaps = [
        RowBinding::message(2, CONVERSATION, ALICE),
        RowBinding::message(1, CONVERSATION + 1, ALICE),
        RowBinding::attachment(1, CONVERSATION, ALICE),
    ];
    let other_conversation = [ALICE, BOB];
    for swapped in swaps {
        let reason = OpenReason::ParticipantRead {
            reader: BOB,
            participants: &other_conversation,
        };
        let err = vault.open(&mut keys, &reason, &swapped, &blob).unwrap_err();
        assert_eq!(err.code(), "vault.aead_failure", "{swapped:?}");
    }
}

#[test]
fn wrong_member_key_fails() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"from alice").unwrap();
    vault.ensure_member_key(&mut keys, BOB).unwrap();
    // The row claims Bob wrote it: Bob's key (and Bob in the associated data) cannot open it.
    let claimed = RowBinding::message(1, CONVERSATION, BOB);
    let err = vault
        .open(&mut keys, &bob_reads(), &claimed, &blob)
        .unwrap_err();
    assert_eq!(err.code(), "vault.aead_failure");
    // Alice's wrapped key stored under Bob's id does not unwrap either (member id is bound).
    let MemberKeyState::Present(alice_key) = keys.get(ALICE).unwrap() else {
        panic!("alice has a key")
    };
    keys.put(BOB, &alice_key).unwrap();
    let err = vault
        .open(&mut keys, &bob_reads(), &claimed, &blob)
        .unwrap_err();
    assert_eq!(err.code(), "vault.aead_failure");
}

#[test]
fn another_vaults_keys_cannot_open() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"secret").unwrap();
    let other = Vault::new(Keyring::ephemeral().unwrap());
    let err = other
        .open(&mut keys, &bob_reads(), &row, &blob)
        .unwrap_err();
    assert_eq!(err.code(), "vault.aead_failure");
}

#[test]
fn truncated_or_unknown_format_blobs_are_malformed() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let mut blob = vault.seal(&mut keys, &row, b"x").unwrap();
    let err = vault
        .open(&mut keys, &bob_reads(), &row, &blob[..20])
        .unwrap_err();
    assert_eq!(err.code(), "vault.malformed");
    blob[0] = 0x02;
    let err = vault
        .open(&mut keys, &bob_reads(), &row, &blob)
        .unwrap_err();
    assert_eq!(err.code(), "vault.malformed");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_bit_flip_fails(text in proptest::collection::vec(any::<u8>(), 0..200), pick in any::<usize>(), bit in 0u8..8) {
        let (vault, mut keys) = vault();
        let row = RowBinding::message(1, CONVERSATION, ALICE);
        let mut blob = vault.seal(&mut keys, &row, &text).unwrap();
        let at = pick % blob.len();
        blob[at] ^= 1 << bit;
        let err = vault.open(&mut keys, &bob_reads(), &row, &blob).unwrap_err();
        prop_assert!(matches!(err.code(), "vault.aead_failure" | "vault.malformed"), "{}", err.code());
    }
}

#[test]
fn non_participant_is_refused_before_any_decryption() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"private").unwrap();
    let reason = OpenReason::ParticipantRead {
        reader: MALLORY,
        participants: PARTICIPANTS,
    };
    let err = vault.open(&mut keys, &reason, &row, &blob).unwrap_err();
    assert_eq!(err.code(), "vault.refused");
    let reason = OpenReason::SelfAccess {
        member: MALLORY,
        participants: PARTICIPANTS,
    };
    assert_eq!(
        vault
            .open(&mut keys, &reason, &row, &blob)
            .unwrap_err()
            .code(),
        "vault.refused"
    );
}

#[test]
fn private_note_opens_only_for_its_author() {
    let (vault, mut keys) = vault();
    let row = RowBinding::private_note(7, ALICE);
    let blob = vault.seal(&mut keys, &row, b"call the recruiter").unwrap();
    let own = OpenReason::SelfAccess {
        member: ALICE,
        participants: &[],
    };
    assert_eq!(
        open_text(&vault, &mut keys, &own, &row, &blob).unwrap(),
        "call the recruiter"
    );
    let other = OpenReason::ParticipantRead {
        reader: BOB,
        participants: &[ALICE, BOB],
    };
    assert_eq!(
        vault
            .open(&mut keys, &other, &row, &blob)
            .unwrap_err()
            .code(),
        "vault.refused"
    );
}

#[test]
fn self_access_is_ledgered() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, BOB);
    let blob = vault.seal(&mut keys, &row, b"hi alice").unwrap();
    let reason = OpenReason::SelfAccess {
        member: ALICE,
        participants: PARTICIPANTS,
    };
    let opened = vault.open(&mut keys, &reason, &row, &blob).unwrap();
    assert_eq!(opened.access.purpose, "member.self_access");
    assert!(opened.access.ledger_required);
}

#[test]
fn report_review_opens_only_within_grant_scope() {
    let (vault, mut keys) = vault();
    let reported = RowBinding::message(3, CONVERSATION, ALICE);
    let context = RowBinding::message(2, CONVERSATION, BOB);
    let outside = RowBinding::message(1, CONVERSATION, BOB);
    let blobs: Vec<Vec<u8>> = [reported, context, outside]
        .iter()
        .map(|r| vault.seal(&mut keys, r, b"text").unwrap())
        .collect();
    let grant = GrantHandle::validated(
        77,
        GrantPurpose::ReportReview,
        1,
        [(ContentKind::Message, 3), (ContentKind::Message, 2)],
    );
    let reason = OpenReason::ReportReview(&grant);
    let opened = vault
        .open(&mut keys, &reason, &reported, &blobs[0])
        .unwrap();
    assert_eq!(opened.access.purpose, "safety.report_review");
    assert_eq!(opened.access.grant_id, Some(77));
    assert!(opened.access.ledger_required);
    assert!(vault.open(&mut keys, &reason, &context, &blobs[1]).is_ok());
    let err = vault
        .open(&mut keys, &reason, &outside, &blobs[2])
        .unwrap_err();
    assert_eq!(err.code(), "vault.refused");
    assert!(err.to_string().contains("scope"));
    // An attachment with the same id as a covered message is not covered.
    let attachment = RowBinding::attachment(3, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &attachment, b"file").unwrap();
    assert_eq!(
        vault
            .open(&mut keys, &reason, &attachment, &blob)
            .unwrap_err()
            .code(),
        "vault.refused"
    );
}

#[test]
fn unapproved_or_mismatched_grants_are_refused() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(3, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"text").unwrap();
    let scope = [(ContentKind::Message, 3)];
    let unapproved = GrantHandle::validated(1, GrantPurpose::ReportReview, 0, scope);
    let investigation_one =
        GrantHandle::validated(2, GrantPurpose::SecurityInvestigation, 1, scope);
    let investigation_two =
        GrantHandle::validated(3, GrantPurpose::SecurityInvestigation, 2, scope);
    let review = GrantHandle::validated(4, GrantPurpose::ReportReview, 1, scope);
    for reason in [
        OpenReason::ReportReview(&unapproved),
        OpenReason::SecurityInvestigation(&investigation_one),
        OpenReason::ReportReview(&investigation_two),
        OpenReason::SecurityInvestigation(&review),
    ] {
        assert_eq!(
            vault
                .open(&mut keys, &reason, &row, &blob)
                .unwrap_err()
                .code(),
            "vault.refused"
        );
    }
    let opened = vault
        .open(
            &mut keys,
            &OpenReason::SecurityInvestigation(&investigation_two),
            &row,
            &blob,
        )
        .unwrap();
    assert_eq!(opened.access.purpose, "security.investigation");
}

#[test]
fn opening_after_shredding_fails_and_sealing_is_refused() {
    let (vault, mut keys) = vault();
    let alice_row = RowBinding::message(1, CONVERSATION, ALICE);
    let bob_row = RowBinding::message(2, CONVERSATION, BOB);
    let alice_blob = vault.seal(&mut keys, &alice_row, b"from alice").unwrap();
    let bob_blob = vault.seal(&mut keys, &bob_row, b"from bob").unwrap();
    assert!(vault.shred_member(&mut keys, ALICE).unwrap());
    assert!(
        !vault.shred_member(&mut keys, ALICE).unwrap(),
        "second shred is a no-op"
    );
    let err = vault
        .open(&mut keys, &bob_reads(), &alice_row, &alice_blob)
        .unwrap_err();
    assert_eq!(err.code(), "vault.member_shredded");
    assert_eq!(
        vault
            .seal(&mut keys, &alice_row, b"again")
            .unwrap_err()
            .code(),
        "vault.member_shredded"
    );
    assert_eq!(
        open_text(&vault, &mut keys, &bob_reads(), &bob_row, &bob_blob).unwrap(),
        "from bob"
    );
}

#[test]
fn erasure_makes_a_copy_taken_before_it_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steward.keys");
    let mut vault = Vault::new(Keyring::open_or_create(&path).unwrap());
    let mut keys = InMemoryKeyStore::new();
    let alice_row = RowBinding::message(1, CONVERSATION, ALICE);
    let bob_row = RowBinding::message(2, CONVERSATION, BOB);
    let alice_blob = vault.seal(&mut keys, &alice_row, b"from alice").unwrap();
    let bob_blob = vault.seal(&mut keys, &bob_row, b"from bob").unwrap();
    let mut backup = keys.clone();

    let report = vault.erase_member(&mut keys, ALICE).unwrap();
    assert!(report.key_destroyed);
    assert_eq!(report.rotation.rewrapped, 1);
    assert_eq!(report.retired_keks, vec![1]);

    // The live store: Alice is gone, Bob still reads his own.
    assert_eq!(
        open_text(&vault, &mut keys, &bob_reads(), &bob_row, &bob_blob).unwrap(),
        "from bob"
    );
    // The backup still holds Alice's wrapped key, but under a KEK that no longer exists —
    // even for a vault reloaded from the key file.
    let reloaded = Vault::new(Keyring::open(&path).unwrap());
    for v in [&vault, &reloaded] {
        let err = v
            .open(&mut backup, &bob_reads(), &alice_row, &alice_blob)
            .unwrap_err();
        assert_eq!(err.code(), "vault.unknown_kek_version");
    }
    // A second erasure is a no-op for the member but still safe.
    assert!(!vault.erase_member(&mut keys, ALICE).unwrap().key_destroyed);
}

#[test]
fn rotation_keeps_everything_readable_and_old_keks_can_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steward.keys");
    let mut vault = Vault::new(Keyring::open_or_create(&path).unwrap());
    let mut keys = InMemoryKeyStore::new();
    let rows: Vec<RowBinding> = (0..20)
        .map(|i| RowBinding::message(i, CONVERSATION, if i % 2 == 0 { ALICE } else { BOB }))
        .collect();
    let blobs: Vec<Vec<u8>> = rows
        .iter()
        .map(|r| {
            vault
                .seal(&mut keys, r, format!("message {}", r.item_id).as_bytes())
                .unwrap()
        })
        .collect();
    let before = blobs.clone();

    let report = vault.rotate(&mut keys).unwrap();
    assert_eq!(report.new_version, 2);
    assert_eq!(report.rewrapped, 2);
    assert_eq!(keys.kek_versions_in_use().unwrap(), vec![2]);
    assert_eq!(vault.retire_unused_keks(&mut keys).unwrap(), vec![1]);
    assert_eq!(vault.keyring().kek_versions(), vec![2]);
    // Reopen from the key file: content untouched and readable.
    let vault = Vault::new(Keyring::open(&path).unwrap());
    assert_eq!(blobs, before, "rotation never re-encrypts content");
    for (row, blob) in rows.iter().zip(&blobs) {
        let text = open_text(&vault, &mut keys, &bob_reads(), row, blob).unwrap();
        assert_eq!(text, format!("message {}", row.item_id));
    }
}

#[test]
fn a_kek_still_in_use_is_not_retired() {
    let mut vault = Vault::new(Keyring::ephemeral().unwrap());
    let mut keys = InMemoryKeyStore::new();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"old").unwrap();
    // Rotate against another store: Alice's key here stays wrapped under version 1.
    let report = vault.rotate(&mut InMemoryKeyStore::new()).unwrap();
    assert_eq!(report.rewrapped, 0);
    assert_eq!(
        vault.retire_unused_keks(&mut keys).unwrap(),
        Vec::<u32>::new()
    );
    assert_eq!(vault.keyring().kek_versions(), vec![1, 2]);
    assert_eq!(vault.rewrap_all(&mut keys).unwrap(), 1);
    assert_eq!(vault.retire_unused_keks(&mut keys).unwrap(), vec![1]);
    assert!(vault.open(&mut keys, &bob_reads(), &row, &blob).is_ok());
}

#[test]
fn debug_output_holds_no_secrets_or_content() {
    let (vault, mut keys) = vault();
    let row = RowBinding::message(1, CONVERSATION, ALICE);
    let blob = vault.seal(&mut keys, &row, b"canary-7f3a9").unwrap();
    let opened = vault.open(&mut keys, &bob_reads(), &row, &blob).unwrap();
    let shown = format!("{vault:?} {keys:?} {opened:?}");
    assert!(!shown.contains("canary-7f3a9"));
    assert!(shown.contains("redacted"));
    let MemberKeyState::Present(wrapped) = keys.get(ALICE).unwrap() else {
        panic!("alice has a key")
    };
    let wrapped_hex = hex::encode(wrapped.as_bytes());
    assert!(!shown.contains(&wrapped_hex[18..50]));
}

#[test]
fn error_codes_are_stable() {
    let err = VaultError::AeadFailure;
    assert_eq!(err.code(), "vault.aead_failure");
    assert!(!err.to_string().is_empty());
}
