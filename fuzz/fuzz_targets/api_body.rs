//! Arbitrary request bodies and query strings through the whole HTTP router, in process (no
//! sockets), against a seeded SQLite store with the vault's keys, a conversation, a reported
//! message, a case and two grants. The first input byte picks the endpoint, the second the
//! caller's token, the rest is the JSON body or the query string (percent-encoded, so every
//! byte reaches the query parser). Whatever the input, the server must not panic, must not
//! answer 5xx, and must answer every refusal in the API's error shape (`error.code`).
//!
//! Writes change the fixture (a decision closes the case, an erasure removes its member); the
//! fixture is rebuilt every few thousand inputs so state stays small, and a finding is
//! replayed against a fresh fixture when the fuzzer reproduces it.
#![no_main]

use std::cell::RefCell;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use steward_core::Policy;
use steward_server::auth::{Role, create_token};
use steward_server::{AppState, router};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};
use steward_vault::safety::{self, StaffRole};
use tower::ServiceExt;

const REBUILD_EVERY: u32 = 5_000;

struct Fixture {
    _dir: tempfile::TempDir,
    app: axum::Router,
    tokens: Vec<String>,
    conversation: i64,
    message: i64,
    case: i64,
    runs: u32,
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(d.as_millis()).expect("in range")
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(Store::open("sqlite::memory:").expect("an in-memory store"));
    let config = SeedConfig {
        members: 5,
        seed: 1,
        canary_path: dir.path().join("canaries.jsonl"),
    };
    seed(&store, &config, &PlaintextForTestsOnly).expect("seeded");
    let keyring = steward_vault::Keyring::open_or_create(&dir.path().join("steward.keys"))
        .expect("a key file");
    let signer = steward_ledger::CheckpointSigner::from_seed(
        steward_server::state::LEDGER_ORIGIN,
        keyring.ledger_signing_key_bytes().as_slice(),
    )
    .expect("a signer");
    let state = AppState::new(
        store.clone(),
        Arc::new(Policy::builtin().expect("the policy")),
    )
    .expect("server tables")
    .with_keyring(keyring)
    .expect("the keys");
    store
        .transaction(|tx| {
            let ctx = steward_ledger::audit::Context {
                actor: &steward_core::consent::Actor::Member,
                at_ms: 5,
                policy_version: "fuzz",
            };
            for m in [1, 2, 1] {
                steward_ledger::audit::record_self_access(tx, m, "read", &["member"], &ctx)?;
            }
            steward_ledger::Ledger::new(steward_server::state::LEDGER_ORIGIN)
                .checkpoint(tx, &signer, 6)?;
            Ok::<_, steward_ledger::audit::AuditedError>(())
        })
        .expect("ledger entries");
    let mk = |role, member| create_token(&store, role, member, "fuzz", 1).expect("a token");
    let reviewer = mk(Role::Reviewer, None);
    let reviewer_staff = format!("reviewer.{}", reviewer.token_id);
    let tokens = vec![
        String::new(),
        mk(Role::Member, Some(1)).secret,
        mk(Role::Member, Some(3)).secret,
        reviewer.secret,
        mk(Role::Approver, None).secret,
        mk(Role::Admin, None).secret,
        mk(Role::Auditor, None).secret,
        mk(Role::Engineer, None).secret,
        mk(Role::Advertiser, None).secret,
    ];
    safety::migrate(&store).expect("safety tables");
    let keys = state.keys.clone().expect("keys");
    let now = now_ms();
    let (conversation, message, case) = {
        let vault = keys.vault.read().expect("the vault lock");
        let s = steward_vault::Safety::new(&vault, &keys.scanner, state.policy.taxonomy(), "fuzz");
        store
            .transaction(|tx| {
                let c = s.start_conversation(tx, 3, &[1], now)?;
                let m = s
                    .send_message(tx, 3, c, "buy cheap followers now", &[], now)?
                    .message_id;
                let r = s.report_message(tx, 1, m, "spam", now)?;
                safety::add_staff(tx, &reviewer_staff, &[StaffRole::Reviewer], now)?;
                safety::add_staff(tx, "fixture.approver", &[StaffRole::Approver], now)?;
                Ok::<_, safety::SafetyError>((c, m, r.case_id))
            })
            .expect("the safety fixture")
    };
    Fixture {
        _dir: dir,
        app: router(state),
        tokens,
        conversation,
        message,
        case,
        runs: 0,
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

/// Every byte outside a few unreserved ones and the query's own `&` and `=` as `%XX`.
fn percent_encode(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() * 3);
    for b in raw {
        if b.is_ascii_alphanumeric() || b"&=._-".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [route, who, rest @ ..] = data else {
        return;
    };
    FIXTURE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|f| f.runs >= REBUILD_EVERY) {
            *slot = Some(fixture());
        }
        let Some(f) = slot.as_mut() else { return };
        f.runs += 1;
        let (c, m, case) = (f.conversation, f.message, f.case);
        let q = percent_encode(rest);
        let (method, uri, body) = match route % 14 {
            0 => ("POST", "/api/v1/policy/diff".to_owned(), true),
            1 => ("PUT", "/api/v1/members/1/settings".to_owned(), true),
            2 => ("DELETE", "/api/v1/members/4".to_owned(), true),
            3 => ("POST", "/api/v1/members/3/conversations".to_owned(), true),
            4 => (
                "POST",
                format!("/api/v1/members/3/conversations/{c}/messages"),
                true,
            ),
            5 => (
                "POST",
                format!("/api/v1/members/1/messages/{m}/report"),
                true,
            ),
            6 => ("POST", format!("/api/v1/cases/{case}/grants"), true),
            7 => ("POST", format!("/api/v1/cases/{case}/decision"), true),
            8 => ("GET", format!("/api/v1/policy/explain?{q}"), false),
            9 => ("GET", format!("/api/v1/cases?{q}"), false),
            10 => ("GET", format!("/api/v1/ledger/entries/1/proof?{q}"), false),
            11 => ("GET", format!("/api/v1/ledger/consistency?{q}"), false),
            12 => ("POST", "/api/v1/ledger/verify".to_owned(), true),
            _ => ("GET", format!("/api/v1/members/1/data-use?{q}"), false),
        };
        let token = &f.tokens[usize::from(*who) % f.tokens.len()];
        let mut req = Request::builder().method(method).uri(&uri);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = if body {
            req.header("content-type", "application/json")
                .body(Body::from(rest.to_vec()))
        } else {
            req.body(Body::empty())
        }
        .expect("a request");
        let app = f.app.clone();
        let (status, bytes) = runtime().block_on(async move {
            let resp = app.oneshot(req).await.expect("the router is infallible");
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
                .await
                .expect("a body");
            (status, bytes)
        });
        assert!(
            !status.is_server_error(),
            "{method} {uri} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if !status.is_success() {
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            assert!(
                json["error"]["code"].is_string(),
                "{method} {uri} answered {status} without the error shape: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    });
});
