//! End-to-end tests of the ads settings the binary passes on: `steward serve
//! --audience-minimum N` (refused below 100 before anything starts; a served minimum of 350
//! is the one the API enforces), and `steward insights skills` charged to the insights budget
//! (refused past it with a stable code, the same question answered again for free).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::Env;

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

/// Stops the server when the test ends, even on a failed assertion.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 GET on a fresh connection; returns the status and the JSON body.
fn get(port: u16, path: &str, token: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // The answers asked for here are small JSON objects: the body is from the first `{`.
    let body = text.find('{').map_or("", |i| &text[i..]);
    let body = body.rfind('}').map_or("", |j| &body[..=j]);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
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
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "serve starts");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (s, body) = get(port, "/api/v1/ads/attributes", &token);
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
