//! End-to-end tests of the ads settings the binary passes on: `steward serve
//! --audience-minimum N` (refused below 100 before anything starts; a served minimum of 350
//! is the one the API enforces), and `steward insights skills` charged to the insights budget
//! (refused past it with a stable code, the same question answered again for free).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::process::Stdio;

use serde_json::Value;

mod common;

use common::{Env, Server, free_port, http, wait_for_port};

impl Env {
    fn seed(&self, members: &str) {
        let canaries = self.path("canaries.jsonl").display().to_string();
        self.ok(&[
            "seed",
            "--members",
            members,
            "--seed",
            "5",
            "--canaries",
            &canaries,
        ]);
    }
}

#[test]
fn serve_refuses_a_minimum_below_100_and_enforces_the_one_it_is_given() {
    let env = Env::new();
    env.seed("50");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");

    let out = env.run(&["serve", "--addr", &addr, "--audience-minimum", "99"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--audience-minimum") && err.contains("never below 100"),
        "{err}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens"
    );

    let token = env.ok(&[
        "--json",
        "tokens",
        "create",
        "--role",
        "advertiser",
        "--label",
        "acme",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = env
        .command()
        .args(["serve", "--addr", &addr, "--audience-minimum", "350"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    wait_for_port(port);
    let (s, body) = http(port, "GET", "/api/v1/ads/attributes", &token, None);
    assert_eq!((s, body["minimum"].as_u64()), (200, Some(350)), "{body}");
}

#[test]
fn insights_skills_is_charged_to_the_insights_budget() {
    let env = Env::new();
    env.seed("600");

    // A budget below one release's ε: refused with the stable code, nothing spent.
    let out = env.run(&[
        "--json",
        "insights",
        "skills",
        "--epsilon",
        "1",
        "--budget",
        "0.5",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "dp.budget_exhausted", "{err}");

    let first = env.ok(&[
        "--json",
        "insights",
        "skills",
        "--epsilon",
        "1",
        "--budget",
        "1.5",
    ]);
    assert_eq!(first["charged"], true, "{first}");
    assert_eq!(first["budget"]["spent"].as_f64(), Some(1.0), "{first}");
    assert_eq!(first["budget"]["remaining"].as_f64(), Some(0.5), "{first}");
    assert!(
        first["delta_budget"]["spent"].as_f64().unwrap() > 0.0,
        "{first}"
    );

    // The same question again (through `ads insights`): the same release, free.
    let again = env.ok(&["--json", "ads", "insights", "skills", "--epsilon", "1"]);
    assert_eq!(again["charged"], false, "{again}");
    assert_eq!(again["industries"], first["industries"]);
    assert_eq!(again["budget"]["spent"].as_f64(), Some(1.0));

    // Another ε is another question: 0.5 remains, so ε 0.6 is refused.
    let out = env.run(&["--json", "insights", "skills", "--epsilon", "0.6"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "dp.budget_exhausted", "{err}");
}
