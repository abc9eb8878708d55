//! `steward serve` and a serving `steward demo` run with bounded malloc arenas: they
//! re-execute themselves once with `MALLOC_ARENA_MAX` set (glibc reads it only at start),
//! keeping the process id, and leave a value the caller chose alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;

mod common;

use common::{Env, Server, free_port, wait_for_port};

/// The environment of a running process, as `NAME=value` strings.
fn environ(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Runs `steward ARGS --addr 127.0.0.1:PORT` until it listens (so any re-execution has
/// happened: the port is bound after it) and returns its environment.
fn environment_of_serving(env: &Env, args: &[&str], arenas: Option<&str>) -> Vec<String> {
    let port = free_port();
    let mut cmd = env.command();
    cmd.args(args)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env_remove("MALLOC_ARENA_MAX")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(v) = arenas {
        cmd.env("MALLOC_ARENA_MAX", v);
    }
    let server = Server(cmd.spawn().unwrap());
    wait_for_port(port);
    let vars = environ(server.0.id());
    drop(server);
    vars
}

fn serve_with(env: &Env, arenas: Option<&str>) -> Vec<String> {
    environment_of_serving(env, &["serve"], arenas)
}

/// The `MALLOC_*` variables, for failure messages.
fn malloc_vars(vars: &[String]) -> Vec<&String> {
    vars.iter().filter(|v| v.starts_with("MALLOC")).collect()
}

#[test]
fn serve_bounds_malloc_arenas_unless_the_caller_chose() {
    let env = Env::new();
    env.ok(&["seed", "--members", "20", "--seed", "3"]);
    let vars = serve_with(&env, None);
    assert!(
        vars.iter().any(|v| v == "MALLOC_ARENA_MAX=1"),
        "serve runs without bounded arenas: {:?}",
        malloc_vars(&vars)
    );
    let vars = serve_with(&env, Some("3"));
    assert!(vars.iter().any(|v| v == "MALLOC_ARENA_MAX=3"));
    assert!(!vars.iter().any(|v| v == "MALLOC_ARENA_MAX=1"));
}

#[test]
fn a_serving_demo_bounds_malloc_arenas_too() {
    let env = Env::new();
    let dir = env.path("demo");
    let args = ["demo", "--dir", dir.to_str().unwrap(), "--members", "100"];
    let vars = environment_of_serving(&env, &args, None);
    assert!(
        vars.iter().any(|v| v == "MALLOC_ARENA_MAX=1"),
        "the demo serves without bounded arenas: {:?}",
        malloc_vars(&vars)
    );
}
