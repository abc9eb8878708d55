//! The fixture the CLI's end-to-end tests share: a temporary folder holding an SQLite
//! database and a key file, and the real binary run against them with a clean environment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// The binary with this folder's database and key file, nothing from the caller's
    /// environment that could change its answers.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
        c.env_remove("STEWARD_TAXONOMY")
            .env(
                "STEWARD_DB",
                format!("sqlite://{}", self.path("steward.db").display()),
            )
            .env("STEWARD_KEY_FILE", self.path("steward.keys"))
            .current_dir(self.dir.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("steward runs")
    }

    /// Runs a command that must succeed; its stdout as JSON (`Null` if it printed none).
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Runs a command expected to fail; returns (exit code, error code).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        let err: Value = serde_json::from_slice(&out.stderr).unwrap_or(Value::Null);
        (
            out.status.code().unwrap_or(-1),
            err["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    }
}
