//! The worked example of `docs/ledger-format.md`, computed by the library: if the encoding,
//! the hashing or the checkpoint format changes, this test fails until the document is updated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use steward_ledger::checkpoint::{Checkpoint, CheckpointSigner};
use steward_ledger::entry::{Entry, Subjects};
use steward_ledger::hash::leaf_hash;
use steward_ledger::merkle::Tree;

/// The three entries of the example.
fn example_entries() -> Vec<Entry> {
    let mut a = Entry::new(
        1_764_403_200_000,
        "member:42",
        "member",
        "member.self_access",
        "export",
    );
    a.subjects = Subjects::members([42]);
    a.categories = vec!["member.profile".into()];
    a.policy_version = "default-1".into();
    a.outcome = "ok".into();

    let mut b = Entry::new(
        1_764_403_260_000,
        "staff:reviewer-7",
        "reviewer",
        "safety.report_review",
        "message.open",
    );
    b.seq = 1;
    b.subjects = Subjects::members([42, 77]);
    b.categories = vec!["member.content.private_message".into()];
    b.justification = "reported message, case 318".into();
    b.policy_version = "default-1".into();
    b.reference = "grant:9".into();
    b.outcome = "allowed".into();

    let mut c = Entry::new(
        1_764_403_320_000,
        "svc:datasets",
        "engineer",
        "ai.training",
        "release",
    );
    c.seq = 2;
    c.subjects = Subjects::MemberSet {
        digest: steward_ledger::memberset::MemberSet::new([42, 77, 1001]).digest(),
        count: 3,
        set_id: "dataset:jobs-2026-11".into(),
    };
    c.categories = vec![
        "member.profile.skills".into(),
        "member.profile.title".into(),
    ];
    c.policy_version = "default-1".into();
    c.reference = "dataset:jobs-2026-11".into();
    c.outcome = "ok".into();
    c.details = "{\"excluded\":{\"consent\":2}}".into();
    vec![a, b, c]
}

#[test]
fn verifier_keys_whose_base64_contains_plus_parse() {
    // Regression: the example key's base64 has a `+`; only the first two separate fields.
    let parsed = steward_ledger::checkpoint::CheckpointVerifier::parse(VERIFIER).unwrap();
    assert_eq!(parsed.to_string(), VERIFIER);
}

#[test]
fn the_documented_example_holds() {
    let entries = example_entries();
    let encoded: Vec<Vec<u8>> = entries.iter().map(|e| e.encode().unwrap()).collect();
    let tree = Tree::from_leaves(encoded.iter().map(|b| leaf_hash(b)));
    let signer = CheckpointSigner::from_seed("steward.example/ledger", &[0x42; 32]).unwrap();
    let signed = signer
        .sign(&Checkpoint {
            origin: "steward.example/ledger".into(),
            size: 3,
            root: tree.root(),
            time_ms: 1_764_403_380_000,
        })
        .unwrap();
    let proof = tree.inclusion_proof(1, 3).unwrap();
    if std::env::var("STEWARD_PRINT_EXAMPLE").is_ok() {
        for (i, b) in encoded.iter().enumerate() {
            println!("entry {i} bytes: {}", hex::encode(b));
            println!("entry {i} leaf:  {}", leaf_hash(b));
        }
        println!("root: {}", tree.root());
        println!(
            "proof for 1: {:?}",
            proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>()
        );
        println!(
            "member set digest: {}",
            steward_ledger::memberset::MemberSet::new([42, 77, 1001]).digest()
        );
        println!("verifier: {}", signer.verifier());
        println!("note:\n{}", signed.note);
    }
    assert_eq!(hex::encode(&encoded[0]), ENTRY0_HEX);
    assert_eq!(leaf_hash(&encoded[0]).to_hex(), LEAF0);
    assert_eq!(leaf_hash(&encoded[1]).to_hex(), LEAF1);
    assert_eq!(leaf_hash(&encoded[2]).to_hex(), LEAF2);
    assert_eq!(tree.root().to_hex(), ROOT);
    assert_eq!(signer.verifier().to_string(), VERIFIER);
    assert_eq!(signed.note, NOTE);
}

const ENTRY0_HEX: &str = "0100000000000000000000019acea04000000000096d656d6265723a3432000000066d656d626572000000126d656d6265722e73656c665f616363657373000000066578706f72740000000001000000000000002a000000010000000e6d656d6265722e70726f66696c65000000000000000964656661756c742d3100000000000000026f6b00000000";
const LEAF0: &str = "73e340387f4218b3fe2aef939540a8780aa306888e520099da6dfd9e94e099f3";
const LEAF1: &str = "e6c616992679f3395e3ac6b82e2e86d673cc9205c91291257720a2a94386d4ed";
const LEAF2: &str = "0e8fa3dc14576d22c2b07f5040e8ea1db120600cd8039be670acf048b86235f6";
const ROOT: &str = "4a7b46dc02da1ec3052929b2bb5cce52b3fc6bc311d22588fcd04d648084c913";
const VERIFIER: &str =
    "steward.example/ledger+a921957a+ASFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS";
const NOTE: &str = "steward.example/ledger\n3\nSntG3ALaHsMFKSmyu1zOUrP8a8MR0iWI/NBNZICEyRM=\ntime 1764403380000\n\n\u{2014} steward.example/ledger qSGVel4kL1iYIleyHMqtRnKArIB9MmPTWbLzRD5+TPswQt5RzR3vgN4vVpe01UNgYyuN1M4WEQcWVyI3zmdAG1UuVww=\n";

/// The independent verifier in `scripts/verify-ledger-proof.py` (Python's standard library,
/// plus `cryptography` for the signature when installed) accepts our proofs and rejects
/// altered ones. Skipped where python3 is missing.
#[test]
fn the_python_verifier_agrees() {
    use std::process::Command;
    use steward_ledger::bundle::InclusionBundle;

    let Ok(probe) = Command::new("python3").arg("--version").output() else {
        eprintln!("python3 not found: skipped");
        return;
    };
    assert!(probe.status.success());
    let has_cryptography = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/verify-ledger-proof.py"
    );

    let encoded: Vec<Vec<u8>> = example_entries()
        .iter()
        .map(|e| e.encode().unwrap())
        .collect();
    let tree = Tree::from_leaves(encoded.iter().map(|b| leaf_hash(b)));
    let signer = CheckpointSigner::from_seed("steward.example/ledger", &[0x42; 32]).unwrap();
    let note = signer
        .sign(&Checkpoint {
            origin: "steward.example/ledger".into(),
            size: 3,
            root: tree.root(),
            time_ms: 1_764_403_380_000,
        })
        .unwrap()
        .note;
    let dir = tempfile::tempdir().unwrap();
    let run = |bundle: &InclusionBundle, key: Option<&str>| {
        let path = dir.path().join("proof.txt");
        std::fs::write(&path, bundle.to_text()).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(&path);
        if let Some(k) = key {
            cmd.arg(k);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let key = has_cryptography.then_some(VERIFIER);
    for seq in 0..3u64 {
        let bundle = InclusionBundle {
            seq,
            size: 3,
            entry: encoded[seq as usize].clone(),
            path: tree.inclusion_proof(seq, 3).unwrap(),
            checkpoint: note.clone(),
        };
        let (ok, stdout) = run(&bundle, key);
        assert!(ok, "entry {seq}: {stdout}");
        assert!(stdout.contains(&format!(
            "ok: entry {seq} is in steward.example/ledger of 3 entries"
        )));
        if has_cryptography {
            assert!(stdout.contains("signature verified"), "{stdout}");
        }

        let mut bad_path = bundle.clone();
        bad_path.path[0].0[0] ^= 1;
        assert!(
            !run(&bad_path, key).0,
            "entry {seq}: an altered proof verified"
        );
        let mut bad_entry = bundle.clone();
        let last = bad_entry.entry.len() - 1;
        bad_entry.entry[last] ^= 1;
        assert!(
            !run(&bad_entry, key).0,
            "entry {seq}: an altered entry verified"
        );
        let mut wrong_seq = bundle.clone();
        wrong_seq.seq = (seq + 1) % 3;
        assert!(
            !run(&wrong_seq, key).0,
            "entry {seq}: a wrong position verified"
        );
    }
    if has_cryptography {
        let bundle = InclusionBundle {
            seq: 0,
            size: 3,
            entry: encoded[0].clone(),
            path: tree.inclusion_proof(0, 3).unwrap(),
            checkpoint: note.replacen("time 1764403380000", "time 1764403380001", 1),
        };
        assert!(
            !run(&bundle, key).0,
            "a checkpoint with an edited line verified"
        );
        let other = CheckpointSigner::from_seed("steward.example/ledger", &[0x43; 32]).unwrap();
        let bundle = InclusionBundle {
            checkpoint: note.clone(),
            ..bundle
        };
        assert!(
            !run(&bundle, Some(&other.verifier().to_string())).0,
            "another key verified"
        );
    } else {
        eprintln!("python `cryptography` not installed: signatures not checked by the script");
    }
}
