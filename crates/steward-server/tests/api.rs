//! The HTTP API in-process (tower `oneshot`, no sockets): the authorization matrix from
//! `tests/data/authz.tsv`, error shapes, limits and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use steward_core::Policy;
use steward_server::auth::{Role, create_token, revoke_token};
use steward_server::{AppState, router};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    tokens: BTreeMap<&'static str, String>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Arc::new(Store::open(&url).unwrap());
    seed(
        &store,
        &SeedConfig {
            members: 5,
            seed: 1,
            canary_path: dir.path().join("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let state = AppState::new(store.clone(), Arc::new(Policy::builtin().unwrap())).unwrap();
    let mut tokens = BTreeMap::new();
    let mk = |role, member| create_token(&store, role, member, "test", 1).unwrap();
    tokens.insert("bad", "stw_".to_owned() + &"0".repeat(64));
    let revoked = mk(Role::Admin, None);
    revoke_token(&store, &revoked.token_id, 2).unwrap();
    tokens.insert("revoked", revoked.secret);
    tokens.insert("self", mk(Role::Member, Some(1)).secret);
    tokens.insert("other", mk(Role::Member, Some(2)).secret);
    for (name, role) in [
        ("advertiser", Role::Advertiser),
        ("reviewer", Role::Reviewer),
        ("approver", Role::Approver),
        ("engineer", Role::Engineer),
        ("auditor", Role::Auditor),
        ("admin", Role::Admin),
    ] {
        tokens.insert(name, mk(role, None).secret);
    }
    Fixture {
        _dir: dir,
        state,
        tokens,
    }
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn request_for(endpoint: &str) -> (String, String, Option<String>) {
    let (method, path) = endpoint.split_once(' ').unwrap();
    let mut path = path.replace("{m}", "1");
    if path == "/api/v1/policy/explain" {
        path.push_str("?purpose=ai.training&category=member.profile.skills");
    }
    let body = match method {
        "POST" => Some(serde_json::json!({"old": steward_core::policy::DEFAULT_POLICY_TOML, "new": steward_core::policy::DEFAULT_POLICY_TOML}).to_string()),
        "PUT" => Some(serde_json::json!({"key": "ai.training", "value": "off"}).to_string()),
        _ => None,
    };
    (method.to_owned(), path, body)
}

#[tokio::test]
async fn authorization_matrix_has_no_unexpected_cell() {
    let f = fixture();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/authz.tsv"))
            .unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') || l.starts_with("# endpoint"));
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches('#')
        .split_whitespace()
        .skip(1)
        .collect();
    let mut failures = Vec::new();
    let mut cells = 0;
    for line in lines {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let endpoint = format!("{} {}", cols[0], cols[1]);
        assert_eq!(cols.len() - 2, header.len(), "{line}");
        for (who, expected) in header.iter().zip(&cols[2..]) {
            let (method, path, body) = request_for(&endpoint);
            let token = f.tokens.get(who).map(String::as_str);
            assert!(*who == "none" || token.is_some(), "no token for {who}");
            let (status, json) = call(&f.state, &method, &path, token, body).await;
            cells += 1;
            if status.as_u16().to_string() != *expected {
                failures.push(format!(
                    "{endpoint} as {who}: expected {expected}, got {status} {json}"
                ));
            }
            if !status.is_success() {
                // Every refusal has the error shape with a stable code.
                assert!(
                    json["error"]["code"].is_string(),
                    "{endpoint} as {who}: {json}"
                );
            }
        }
    }
    assert!(cells >= 100, "{cells}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn member_sees_their_own_data_use_and_it_follows_their_settings() {
    let f = fixture();
    let (status, json) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/data-use",
        f.tokens.get("self").map(String::as_str),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let purposes = json["purposes"].as_array().unwrap();
    let ads = purposes
        .iter()
        .find(|p| p["purpose"] == "ads.targeting")
        .unwrap();
    // Private messages are never an ads input, whatever the settings.
    assert!(
        ads["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["category"] != "member.content.message" || i["allowed"] == false)
    );
    let (status, settings) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/settings",
        f.tokens.get("self").map(String::as_str),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        settings["consent"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "ai.training")
    );
}

#[tokio::test]
async fn bad_requests_get_clear_codes() {
    let f = fixture();
    let admin = f.tokens.get("admin").map(String::as_str);
    let (s, j) = call(
        &f.state,
        "GET",
        "/api/v1/policy/explain?purpose=nope&category=member",
        admin,
        None,
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("policy.unknown_purpose"))
    );
    let (s, j) = call(
        &f.state,
        "GET",
        "/api/v1/policy/explain?category=member",
        admin,
        None,
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (s, j) = call(
        &f.state,
        "POST",
        "/api/v1/policy/diff",
        admin,
        Some("{not json".into()),
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body"))
    );
    let bad_policy = serde_json::json!({"old": "version = \"a\"", "new": "version = \"b\"\n[[rule]]\nid = \"x\"\npurpose = \"ai.training\"\ncategories = [\"member.content.message\"]\nform = \"aggregate\"\n"}).to_string();
    let (s, j) = call(
        &f.state,
        "POST",
        "/api/v1/policy/diff",
        admin,
        Some(bad_policy),
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("policy.invariant"))
    );
    let huge = format!("{{\"old\": \"{}\", \"new\": \"\"}}", "x".repeat(2 << 20));
    let (s, _) = call(&f.state, "POST", "/api/v1/policy/diff", admin, Some(huge)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let f = fixture();
    let (s, doc) = call(&f.state, "GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/metrics",
        "/api/v1/policy/matrix",
        "/api/v1/policy/explain",
        "/api/v1/policy/diff",
        "/api/v1/members/{id}",
        "/api/v1/members/{id}/settings",
        "/api/v1/members/{id}/data-use",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn metrics_label_routes_not_member_ids() {
    let f = fixture();
    let admin = f.tokens.get("admin").map(String::as_str);
    call(&f.state, "GET", "/api/v1/members/1", admin, None).await;
    let req = Request::builder()
        .uri("/metrics")
        .header("authorization", format!("Bearer {}", admin.unwrap()))
        .body(Body::empty())
        .unwrap();
    let resp = router(f.state.clone()).oneshot(req).await.unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("route=\"/api/v1/members/{id}\""), "{text}");
    assert!(!text.contains("/api/v1/members/1\""), "{text}");
}

#[tokio::test]
async fn a_member_turning_ai_training_off_changes_their_data_use_and_is_ledgered() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let ai_allowed = |json: &serde_json::Value| {
        json["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["purpose"] == "ai.training")
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["allowed"] == true)
    };
    let body = serde_json::json!({"key": "ai.training", "value": "on"}).to_string();
    let (s, _) = call(
        &f.state,
        "PUT",
        "/api/v1/members/1/settings",
        me,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, on) = call(&f.state, "GET", "/api/v1/members/1/data-use", me, None).await;
    assert!(
        ai_allowed(&on),
        "after opting in, some data is used for AI training"
    );
    let body = serde_json::json!({"key": "ai.training", "value": "off"}).to_string();
    let (s, changed) = call(
        &f.state,
        "PUT",
        "/api/v1/members/1/settings",
        me,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["new_value"], "off");
    let (_, off) = call(&f.state, "GET", "/api/v1/members/1/data-use", me, None).await;
    assert!(
        !ai_allowed(&off),
        "after opting out, nothing is used for AI training"
    );
    // Both changes are in the ledger, naming the member.
    let n = f
        .state
        .store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ledger_entries", &[]))
        .unwrap();
    assert!(n >= 2, "{n}");
    assert!(changed["ledger_seq"].as_u64().is_some());
    // A bad key is a 400 and changes nothing.
    let body = serde_json::json!({"key": "ai.trainig", "value": "off"}).to_string();
    let (s, err) = call(
        &f.state,
        "PUT",
        "/api/v1/members/1/settings",
        me,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
    let after = f
        .state
        .store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ledger_entries", &[]))
        .unwrap();
    assert_eq!(after, n);
}

#[tokio::test]
async fn ui_is_served_with_a_strict_content_security_policy() {
    let f = fixture();
    let resp = router(f.state.clone())
        .oneshot(Request::builder().uri("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}
