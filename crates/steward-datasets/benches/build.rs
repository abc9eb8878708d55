//! Build time of the shipped `profiles` and `public_posts` specs on a seeded SQLite network.
//! `--quick`: 2,000 members (CI); default: 10,000 and 100,000; `--members N` for one size.
//! No peer yet: the figure is ours alone (see the issue for the pyarrow round trip).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Instant;

use steward_core::Policy;
use steward_datasets::{Spec, build};
use steward_ledger::Ledger;
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<u32> = if args.iter().any(|a| a == "--quick") {
        vec![2_000]
    } else if let Some(i) = args.iter().position(|a| a == "--members") {
        vec![args[i + 1].parse().unwrap()]
    } else {
        vec![10_000, 100_000]
    };
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("bench");
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets");
    for members in sizes {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&format!("sqlite://{}", dir.path().join("b.db").display())).unwrap();
        let t = Instant::now();
        seed(
            &store,
            &SeedConfig {
                members,
                seed: 1,
                canary_path: dir.path().join("c.jsonl"),
            },
            &PlaintextForTestsOnly,
        )
        .unwrap();
        println!(
            "{members} members seeded in {:.2} s",
            t.elapsed().as_secs_f64()
        );
        for name in ["profiles", "public_posts"] {
            let spec = Spec::load(&specs.join(format!("{name}.toml"))).unwrap();
            let t = Instant::now();
            let built = build(
                &store,
                &policy,
                &ledger,
                &spec,
                &dir.path().join("out"),
                SEED_EPOCH_MS,
            )
            .unwrap();
            let s = &built.datasheet;
            println!(
                "{name:>12} {members:>8} members: {:.2} s, {} rows, k = {}, l = {}, suppressed {}",
                t.elapsed().as_secs_f64(),
                s.composition.rows,
                s.privacy.k_confirmed,
                s.privacy.l_confirmed,
                s.privacy.suppressed
            );
        }
    }
}
