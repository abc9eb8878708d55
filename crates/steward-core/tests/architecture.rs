//! The architecture's checkable invariants, as tests over `cargo metadata` and the source
//! tree (the crate graph carries promise P1: pipelines cannot link the code that opens
//! private content). They live with `steward-core` because it sits at the root of the crate
//! graph: this test builds without any other crate of ours compiling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Package name → names of its normal and build dependencies (dev-dependencies excluded:
/// they never reach a shipped binary).
type Graph = BTreeMap<String, BTreeSet<String>>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn metadata_graph() -> (Graph, BTreeSet<String>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| name_of[id.as_str().unwrap()].clone())
        .collect();
    let mut graph = Graph::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let name = name_of[node["id"].as_str().unwrap()].clone();
        let deps = graph.entry(name).or_default();
        for dep in node["deps"].as_array().unwrap() {
            let shipped = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if shipped {
                deps.insert(name_of[dep["pkg"].as_str().unwrap()].clone());
            }
        }
    }
    (graph, members)
}

fn reaches(graph: &Graph, from: &str, target: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        for d in graph.get(&n).into_iter().flatten() {
            if d == target {
                return true;
            }
            stack.push(d.clone());
        }
    }
    false
}

/// The rules, as a function of the graph so a test can show it catches a violation.
fn violations(graph: &Graph, members: &BTreeSet<String>) -> Vec<String> {
    let mut v = Vec::new();
    // Only the binaries that wire everything together may link the vault.
    let may_link_vault = ["steward-vault", "steward-server", "steward-cli"];
    for m in members {
        if !may_link_vault.contains(&m.as_str()) && reaches(graph, m, "steward-vault") {
            v.push(format!(
                "`{m}` depends on steward-vault (only steward-server and steward-cli may)"
            ));
        }
    }
    // The core is pure and depends on no other crate of ours.
    for d in graph.get("steward-core").into_iter().flatten() {
        if members.contains(d) {
            v.push(format!("steward-core depends on `{d}`"));
        }
    }
    // The toolkit depends on the core only.
    for d in graph.get("steward-privacy").into_iter().flatten() {
        if members.contains(d) && d != "steward-core" {
            v.push(format!(
                "steward-privacy depends on `{d}` (only steward-core allowed)"
            ));
        }
    }
    // Scanners see plaintext as an argument and store nothing: no storage crate in reach.
    for forbidden in ["steward-store", "rusqlite", "postgres", "steward-ledger"] {
        if reaches(graph, "steward-scan", forbidden) {
            v.push(format!("steward-scan reaches `{forbidden}`"));
        }
    }
    // Benchmark peers never enter the product.
    for m in members {
        if m != "steward-bench" && reaches(graph, m, "cedar-policy") {
            v.push(format!("`{m}` links the Cedar peer"));
        }
    }
    v
}

#[test]
fn crate_graph_keeps_the_architecture_rules() {
    let (graph, members) = metadata_graph();
    assert!(members.contains("steward-core") && members.contains("steward-cli"));
    // The pipeline crates exist, so the vault rule below is about them and not vacuous.
    for pipeline in ["steward-datasets", "steward-ads"] {
        assert!(
            members.contains(pipeline),
            "{pipeline} is not a workspace member"
        );
        assert!(!reaches(&graph, pipeline, "steward-vault"));
    }
    let v = violations(&graph, &members);
    assert!(v.is_empty(), "{}", v.join("\n"));
}

#[test]
fn the_rules_catch_a_pipeline_that_links_the_vault() {
    let (mut graph, mut members) = metadata_graph();
    for (pipeline, via) in [
        ("steward-datasets", "steward-store"),
        ("steward-ads", "steward-ledger"),
    ] {
        members.insert(pipeline.into());
        members.insert(via.into());
        graph.entry(pipeline.into()).or_default().insert(via.into());
    }
    // A transitive path: ads → ledger → vault.
    graph
        .entry("steward-ledger".into())
        .or_default()
        .insert("steward-vault".into());
    members.insert("steward-vault".into());
    let v = violations(&graph, &members);
    assert!(
        v.iter()
            .any(|m| m.contains("`steward-ads` depends on steward-vault")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|m| m.contains("`steward-ledger` depends on steward-vault")),
        "{v:?}"
    );
}

#[test]
fn every_rust_source_file_says_what_it_owns() {
    let mut missing = Vec::new();
    let mut stack = vec![workspace_root().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && name != "fuzz" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.trim_start().starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a `//!` header:\n{}",
        missing.join("\n")
    );
}
