//! End-to-end builds on a seeded SQLite network: who is excluded, what never appears in any
//! output file, what the independent checker confirms, and what a failed build leaves behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use steward_core::{Policy, Taxonomy};
use steward_datasets::sinks::parquet;
use steward_datasets::sinks::publish::Staging;
use steward_datasets::{Spec, build, registry};
use steward_ledger::{Ledger, Subjects};
use steward_privacy::anon::checker;
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, read_canaries, seed};
use steward_store::{PlaintextForTestsOnly, Store, member};

struct Net {
    store: Store,
    dir: tempfile::TempDir,
    canaries: Vec<String>,
}

fn network(members: u32) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("net.db").display());
    let store = Store::open(&url).unwrap();
    let canary_path = dir.path().join("canaries.jsonl");
    seed(
        &store,
        &SeedConfig {
            members,
            seed: 11,
            canary_path: canary_path.clone(),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let canaries: Vec<String> = read_canaries(&canary_path)
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(!canaries.is_empty());
    Net {
        store,
        dir,
        canaries,
    }
}

fn spec(name: &str) -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../datasets/{name}.toml"));
    Spec::load(&path).unwrap()
}

/// Every cell of every output file, and the raw bytes of the datasheets.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    let (header, rows) = parquet::read(&dir.join("data.parquet")).unwrap();
    out.push_str(&header.join("\t"));
    for r in rows {
        out.push('\n');
        out.push_str(&r.join("\t"));
    }
    for f in ["datasheet.json", "datasheet.md"] {
        out.push('\n');
        out.push_str(&std::fs::read_to_string(dir.join(f)).unwrap());
    }
    out
}

fn member_set(net: &Net, seq: u64) -> BTreeSet<i64> {
    net.store
        .read(|tx| {
            let entry = Ledger::entry(tx, seq)?;
            let Subjects::MemberSet { set_id, count, .. } = entry.subjects else {
                panic!("a release names a member set");
            };
            let set = Ledger::member_set(tx, &set_id)?;
            assert_eq!(set.len(), count);
            Ok::<_, steward_ledger::LedgerError>(set.ids().iter().map(|i| *i as i64).collect())
        })
        .unwrap()
}

#[test]
fn profiles_release_only_consenting_adults_and_is_k_l_anonymous_by_the_checker() {
    let net = network(600);
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("test");
    let out = net.dir.path().join("out");
    let spec = spec("profiles");
    let built = build(&net.store, &policy, &ledger, &spec, &out, SEED_EPOCH_MS).unwrap();
    assert!(built.path.join("datasheet.md").exists());

    // Nobody without AI-training consent, no deleted member, no minor is in the release.
    let released = member_set(&net, built.ledger_seq);
    assert!(released.len() > 50, "{}", released.len());
    let t = Taxonomy::builtin();
    let ai = t.consent_key_id("ai.training").unwrap();
    let mut opted_out = 0;
    net.store
        .read(|tx| {
            let all = tx.query("SELECT member_id FROM members", &[])?;
            for row in all {
                let id = row.i64(0)?;
                let m = member::get_member(tx, id)?;
                let consents = member::effective_consent(tx, &t, &m, SEED_EPOCH_MS)?.granted(ai);
                let minor = steward_store::vocab::may_be_minor(m.birth_year, SEED_EPOCH_MS);
                if !consents || minor || m.deleted_at.is_some() {
                    assert!(!released.contains(&id), "member {id} must not be released");
                    opted_out += usize::from(!consents);
                }
            }
            Ok::<(), steward_store::StoreError>(())
        })
        .unwrap();
    assert!(
        opted_out > 0,
        "the seeded network has members without consent"
    );
    let reads = &built.datasheet.gate_reads[0];
    for reason in ["consent", "minor", "deleted_member"] {
        assert!(
            reads.excluded_members.get(reason).copied().unwrap_or(0) > 0,
            "{reason}: {reads:?}"
        );
    }

    // The file itself, regrouped by the independent checker, is k- and l-anonymous.
    let (header, rows) = parquet::read(&built.path.join("data.parquet")).unwrap();
    assert_eq!(rows.len() as u64, built.datasheet.composition.rows);
    let qis: Vec<&str> = spec
        .quasi_identifiers
        .iter()
        .map(|q| q.field.as_str())
        .collect();
    let check = checker::check(&header, &rows, &qis, Some("job_function"), None).unwrap();
    assert!(check.k >= 5, "k = {}", check.k);
    assert!(check.l_distinct() >= 2, "l = {}", check.l_distinct());
    assert_eq!(check.k, built.datasheet.privacy.k_confirmed);
    assert!(built.datasheet.privacy.reidentification_risk_highest <= 1.0 / 5.0 + 1e-9);
    let attack = built.datasheet.privacy.linkage_attack_success_rate;
    assert!(
        attack > 0.0 && attack <= 1.0 / 5.0,
        "linkage attack rate {attack}"
    );

    // No canary, and no member id column: only per-build pseudonyms.
    let text = all_text(&built.path);
    for c in &net.canaries {
        assert!(!text.contains(c.as_str()), "canary {c} leaked");
    }
    assert!(!header.iter().any(|h| h == "member_id"));

    // Registered, with the datasheet retrievable.
    let list = registry::list(&net.store).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, built.id);
    let sheet = registry::datasheet(&net.store, &built.id).unwrap();
    // Floats may differ in the last digit through JSON; everything else is identical.
    assert_eq!(sheet.id, built.datasheet.id);
    assert_eq!(sheet.composition, built.datasheet.composition);
    assert_eq!(sheet.gate_reads, built.datasheet.gate_reads);
    assert_eq!(sheet.lineage.files, built.datasheet.lineage.files);
    assert_eq!(
        sheet.privacy.k_confirmed,
        built.datasheet.privacy.k_confirmed
    );
    assert_eq!(
        registry::datasheet(&net.store, "nope").unwrap_err().code(),
        "datasets.not_found"
    );
    assert!(!sheet.bias.dimensions.is_empty());

    // Verification re-derives k and l from the file and checks its digest; a tampered file
    // fails it.
    let v = steward_datasets::verify::verify(&net.store, &built.id).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.k_found, check.k);
    let data = built.path.join("data.parquet");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 1;
    std::fs::write(&data, bytes).unwrap();
    let v = steward_datasets::verify::verify(&net.store, &built.id).unwrap();
    assert!(!v.ok);
    assert_eq!(v.files_mismatched, vec!["data.parquet".to_owned()]);
}

#[test]
fn public_posts_hold_no_connections_only_or_closed_group_post_and_no_canary() {
    let net = network(400);
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("test");
    let out = net.dir.path().join("out");
    // Unscrubbed, so released bodies can be compared with the stored ones verbatim.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/public_posts.toml"),
    )
    .unwrap()
    .replace("text_fields = [\"body\"]", "text_fields = []");
    let raw = Spec::parse("posts.toml", &text, Path::new(".")).unwrap();
    let built = build(&net.store, &policy, &ledger, &raw, &out, SEED_EPOCH_MS).unwrap();
    let (header, rows) = parquet::read(&built.path.join("data.parquet")).unwrap();
    let body = header.iter().position(|h| h == "body").unwrap();
    let released: BTreeSet<String> = rows.iter().map(|r| r[body].clone()).collect();
    assert!(!released.is_empty());
    let hidden: Vec<String> = net
        .store
        .read(|tx| {
            let rows = tx.query(
                "SELECT body FROM posts WHERE visibility <> 'public' AND body IS NOT NULL",
                &[],
            )?;
            rows.iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert!(!hidden.is_empty(), "the network has non-public posts");
    let public: BTreeSet<String> = net
        .store
        .read(|tx| {
            let rows = tx.query(
                "SELECT body FROM posts WHERE visibility = 'public' AND body IS NOT NULL",
                &[],
            )?;
            rows.iter()
                .map(|r| r.text(0))
                .collect::<Result<BTreeSet<_>, _>>()
        })
        .unwrap();
    for b in &released {
        assert!(
            public.contains(b),
            "released body is not a public post: {b}"
        );
    }
    for h in &hidden {
        assert!(
            !released.contains(h) || public.contains(h),
            "a non-public post was released: {h}"
        );
    }
    let all = all_text(&built.path);
    for c in &net.canaries {
        assert!(!all.contains(c.as_str()), "canary {c} leaked");
    }

    // The shipped spec scrubs bodies and counts what it replaced.
    let scrubbed = build(
        &net.store,
        &policy,
        &ledger,
        &spec("public_posts"),
        &out,
        SEED_EPOCH_MS,
    )
    .unwrap();
    assert!(scrubbed.datasheet.privacy.texts_scrubbed > 0);
    assert!(
        !scrubbed.datasheet.privacy.pii_scrubbed.is_empty(),
        "the generator embeds PII in some public posts"
    );
    let all = all_text(&scrubbed.path);
    for c in &net.canaries {
        assert!(!all.contains(c.as_str()), "canary {c} leaked");
    }
}

#[test]
fn a_failed_build_leaves_no_visible_dataset_and_registers_nothing() {
    let net = network(300);
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("test");
    let out = net.dir.path().join("out");
    // A bound of 1 flags any group under its population share, and the spec fails on flags:
    // the build fails after the data file and datasheets were written to staging.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/profiles.toml"),
    )
    .unwrap()
    .replace(
        "bound = 0.8\nfail_on_flag = false",
        "bound = 1.0\nfail_on_flag = true",
    );
    let strict = Spec::parse("strict.toml", &text, Path::new(".")).unwrap();
    let err = build(&net.store, &policy, &ledger, &strict, &out, SEED_EPOCH_MS).unwrap_err();
    assert_eq!(err.code(), "datasets.bias_flagged", "{err}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing left in {out:?}"
    );
    assert!(registry::list(&net.store).unwrap().is_empty());
    let size = net.store.read(Ledger::size).unwrap();
    assert_eq!(
        size, 0,
        "no ledger entry for a build that published nothing"
    );

    // A crash mid-build (no cleanup runs at all) leaves only a hidden staging folder.
    let dest = out.join("crashed");
    let staging = Staging::new(&dest).unwrap();
    staging.write_file("data.parquet", b"PAR1 half").unwrap();
    std::mem::forget(staging);
    assert!(!dest.exists());
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.starts_with('.'), "visible leftover {name}");
    }
}
