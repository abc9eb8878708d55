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
    /// Ids of the messaging and review fixture, by placeholder (`{c}`, `{msg}`, ...).
    ids: BTreeMap<&'static str, i64>,
    /// The id of a live admin token nobody else uses (`{tok}`, for revocation).
    spare_token_id: String,
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
    let keyring = steward_vault::Keyring::open_or_create(&dir.path().join("steward.keys")).unwrap();
    let signer = steward_ledger::CheckpointSigner::from_seed(
        steward_server::state::LEDGER_ORIGIN,
        keyring.ledger_signing_key_bytes().as_slice(),
    )
    .unwrap();
    let state = AppState::new(store.clone(), Arc::new(Policy::builtin().unwrap()))
        .unwrap()
        .with_keyring(keyring)
        .unwrap();
    // A few entries about members 1 and 2 and a signed checkpoint over them.
    store
        .transaction(|tx| {
            let ctx = steward_ledger::audit::Context {
                actor: &steward_core::consent::Actor::Member,
                at_ms: 5,
                policy_version: "test",
            };
            for m in [1, 2, 1] {
                steward_ledger::audit::record_self_access(tx, m, "read", &["member"], &ctx)?;
            }
            steward_ledger::Ledger::new(steward_server::state::LEDGER_ORIGIN)
                .checkpoint(tx, &signer, 6)?;
            Ok::<_, steward_ledger::audit::AuditedError>(())
        })
        .unwrap();
    let mut tokens = BTreeMap::new();
    let mk = |role, member| create_token(&store, role, member, "test", 1).unwrap();
    tokens.insert("bad", "stw_".to_owned() + &"0".repeat(64));
    let revoked = mk(Role::Admin, None);
    revoke_token(&store, &revoked.token_id, 2).unwrap();
    tokens.insert("revoked", revoked.secret);
    tokens.insert("self", mk(Role::Member, Some(1)).secret);
    tokens.insert("other", mk(Role::Member, Some(2)).secret);
    let spare_token_id = mk(Role::Admin, None).token_id;
    let mut reviewer_staff = String::new();
    let mut engineer_staff = String::new();
    for (name, role) in [
        ("advertiser", Role::Advertiser),
        ("reviewer", Role::Reviewer),
        ("approver", Role::Approver),
        ("engineer", Role::Engineer),
        ("auditor", Role::Auditor),
        ("admin", Role::Admin),
    ] {
        let t = mk(role, None);
        if role == Role::Reviewer {
            reviewer_staff = format!("reviewer.{}", t.token_id);
        }
        if role == Role::Engineer {
            engineer_staff = format!("engineer.{}", t.token_id);
        }
        tokens.insert(name, t.secret);
    }
    // Member 3 writes to member 1, who reports it; the reviewer token's staff account asks
    // for two grants on the case, and another approver approves the second.
    use steward_vault::safety::{self, StaffRole};
    safety::migrate(&store).unwrap();
    let keys = state.keys.clone().unwrap();
    let vault = keys.vault.read().unwrap();
    let s = steward_vault::Safety::new(&vault, &keys.scanner, state.policy.taxonomy(), "test");
    // The server reads the clock: the grants must be live now.
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let ids = store
        .transaction(|tx| {
            let c = s.start_conversation(tx, 3, &[1], now)?;
            let first = s.send_message(
                tx,
                3,
                c,
                "hello, how are you?",
                &[safety::NewAttachment {
                    file_name: Some("cv.txt"),
                    media_type: "text/plain",
                    bytes: b"curriculum vitae",
                }],
                now,
            )?;
            let m = s
                .send_message(tx, 3, c, "buy cheap followers now", &[], now)?
                .message_id;
            let r = s.report_message(tx, 1, m, "spam", now)?;
            safety::add_staff(tx, &reviewer_staff, &[StaffRole::Reviewer], now)?;
            safety::add_staff(tx, "fixture.approver", &[StaffRole::Approver], now)?;
            safety::add_staff(tx, "fixture.approver2", &[StaffRole::Approver], now)?;
            safety::add_staff(tx, &engineer_staff, &[StaffRole::Engineer], now)?;
            let ask = |tx: &mut steward_store::Tx<'_>| {
                s.request_grant(
                    tx,
                    &reviewer_staff,
                    r.case_id,
                    &safety::GrantRequest {
                        purpose: steward_vault::GrantPurpose::ReportReview,
                        justification: "reported as spam",
                        duration_ms: None,
                    },
                    now,
                )
            };
            let pending = ask(tx)?.grant_id;
            let active = ask(tx)?.grant_id;
            s.approve_grant(tx, "fixture.approver", active, now)?;
            // A security investigation by the engineer token's account, with both approvals.
            let investigation = s
                .request_grant(
                    tx,
                    &engineer_staff,
                    r.case_id,
                    &safety::GrantRequest {
                        purpose: steward_vault::GrantPurpose::SecurityInvestigation,
                        justification: "account takeover suspected",
                        duration_ms: None,
                    },
                    now,
                )?
                .grant_id;
            s.approve_grant(tx, "fixture.approver", investigation, now)?;
            s.approve_grant(tx, "fixture.approver2", investigation, now)?;
            Ok::<_, safety::SafetyError>(BTreeMap::from([
                ("{att}", first.attachments[0].attachment_id),
                ("{investigation}", investigation),
                ("{c}", c),
                ("{msg}", m),
                ("{case}", r.case_id),
                ("{grant}", pending),
                ("{active}", active),
            ]))
        })
        .unwrap();
    drop(vault);
    Fixture {
        _dir: dir,
        state,
        tokens,
        ids,
        spare_token_id,
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

fn request_for(f: &Fixture, endpoint: &str) -> (String, String, Option<String>) {
    let (method, path) = endpoint.split_once(' ').unwrap();
    // `#investigation` marks a grant request for a security investigation (same path).
    let (path, investigation) = match path.strip_suffix("#investigation") {
        Some(p) => (p, true),
        None => (path, false),
    };
    let mut path = path.replace("{m}", "1").replace("{tok}", &f.spare_token_id);
    for (k, v) in &f.ids {
        path = path.replace(k, &v.to_string());
    }
    if path == "/api/v1/policy/explain" {
        path.push_str("?purpose=ai.training&category=member.profile.skills");
    }
    let body = match method {
        "POST" if path.ends_with("/messages") => Some(serde_json::json!({"text": "hi"}).to_string()),
        "POST" if path.ends_with("/conversations") => {
            Some(serde_json::json!({"with": [2], "text": "hi"}).to_string())
        }
        "POST" if path.ends_with("/report") => Some(serde_json::json!({"reason": "spam"}).to_string()),
        "POST" if path.ends_with("/grants") && investigation => Some(
            serde_json::json!({"justification": "account takeover suspected", "purpose": "security.investigation"})
                .to_string(),
        ),
        "POST" if path.ends_with("/grants") => {
            Some(serde_json::json!({"justification": "reported as spam"}).to_string())
        }
        "POST" if path.ends_with("/decision") => {
            Some(serde_json::json!({"decision": "no_violation"}).to_string())
        }
        "POST" if path.ends_with("/diff") => Some(serde_json::json!({"old": steward_core::policy::DEFAULT_POLICY_TOML, "new": steward_core::policy::DEFAULT_POLICY_TOML}).to_string()),
        // Five members: every audience is below the minimum, an untargeted campaign is not.
        "POST" if path.ends_with("/ads/audiences/estimate") => {
            Some(serde_json::json!({"expression": "seniority in (entry, associate)"}).to_string())
        }
        "POST" if path.ends_with("/ads/audiences") => Some(
            serde_json::json!({"name": "five members", "expression": "seniority in (entry, associate)"})
                .to_string(),
        ),
        // A matched list: five members cannot reach the minimum.
        "POST" if path.ends_with("/ads/audiences/matched") => Some(
            serde_json::json!({"name": "list", "salt": "pepper-01", "hashes": ["0".repeat(64)]})
                .to_string(),
        ),
        "POST" if path.ends_with("/ads/campaigns") => {
            Some(serde_json::json!({"name": "untargeted"}).to_string())
        }
        "POST" => None,
        "PUT" => Some(serde_json::json!({"key": "ai.training", "value": "off"}).to_string()),
        "DELETE" => Some(serde_json::json!({"reason": "account closed on request"}).to_string()),
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
            // A write changes the fixture for every later cell: each gets a fresh one.
            let fresh;
            let f = if !endpoint.starts_with("GET ") && !endpoint.ends_with("/diff") {
                fresh = fixture();
                &fresh
            } else {
                &f
            };
            let (method, path, body) = request_for(f, &endpoint);
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
    // Every API endpoint of the authorization matrix is documented, with its method.
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/authz.tsv"))
            .unwrap();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.split_whitespace();
        let (method, path) = (cols.next().unwrap(), cols.next().unwrap());
        let path = path.split(['?', '#']).next().unwrap();
        if path == "/"
            || path.starts_with("/ui/")
            || path.contains("999999")
            || path.contains("not-a-number")
            || path.contains("nowhere")
        {
            continue;
        }
        let template = path
            .replace("{m}", "{id}")
            .replace("/entries/0/", "/entries/{seq}/")
            .replace("{c}", "{conversation}")
            .replace("{msg}", "{message}")
            .replace("{active}", "{grant}")
            .replace("{investigation}", "{grant}")
            .replace("{att}", "{attachment}")
            .replace("{tok}", "{token}");
        let item = paths
            .get(&template)
            .unwrap_or_else(|| panic!("{template} missing from the OpenAPI document"));
        assert!(
            item.get(method.to_lowercase()).is_some(),
            "{method} {template} missing from the OpenAPI document"
        );
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
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

async fn call_raw(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash(s: &str) -> steward_ledger::Hash {
    steward_ledger::Hash::from_hex(s).unwrap()
}

#[tokio::test]
async fn access_history_proofs_verify_against_the_signed_checkpoint() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let (s, h) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/access-history",
        me,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let verifier =
        steward_ledger::CheckpointVerifier::parse(h["verifier_key"].as_str().unwrap()).unwrap();
    let cp = verifier
        .verify(h["checkpoint"]["note"].as_str().unwrap())
        .unwrap();
    let entries = h["entries"].as_array().unwrap();
    let reads = entries
        .iter()
        .filter(|e| e["entry"]["action"] == "read")
        .count();
    assert_eq!(reads, 2, "member 1's two reads are in their history: {h}");
    for e in entries {
        let bytes = unhex(e["entry_bytes"].as_str().unwrap());
        let entry = steward_ledger::Entry::decode(&bytes).unwrap();
        assert!(entry.subjects.names(1));
        assert_eq!(entry.seq, e["entry"]["seq"].as_u64().unwrap());
        let path: Vec<_> = e["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| hash(p.as_str().unwrap()))
            .collect();
        let leaf = steward_ledger::hash::leaf_hash(&bytes);
        steward_ledger::merkle::verify_inclusion(entry.seq, cp.size, &leaf, &path, &cp.root)
            .unwrap();
        // A proof with one hash changed does not verify.
        if let Some(first) = path.first() {
            let mut bad = path.clone();
            bad[0] = steward_ledger::hash::leaf_hash(first.as_bytes());
            assert!(
                steward_ledger::merkle::verify_inclusion(entry.seq, cp.size, &leaf, &bad, &cp.root)
                    .is_err()
            );
        }
    }
    // Another member's token sees nothing of it.
    let (s, _) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/access-history",
        f.tokens.get("other").map(String::as_str),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn new_entries_are_checkpointed_before_the_history_is_shown() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let body = serde_json::json!({"key": "ai.training", "value": "off"}).to_string();
    let (s, changed) = call(
        &f.state,
        "PUT",
        "/api/v1/members/1/settings",
        me,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, h) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/access-history",
        me,
        None,
    )
    .await;
    let newest = &h["entries"][0];
    assert_eq!(newest["entry"]["seq"], changed["ledger_seq"]);
    assert_eq!(newest["entry"]["action"], "settings.change");
    assert!(newest["inclusion_proof"].is_array(), "{h}");
    assert!(h["checkpoint"]["size"].as_u64().unwrap() > changed["ledger_seq"].as_u64().unwrap());
}

/// The history is bounded: `?limit=` returns the newest entries with the total, so a page
/// costs the same however long a member's history grows; a bad limit is a 400 with a code.
#[tokio::test]
async fn access_history_returns_the_newest_entries_with_the_total() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    for value in ["off", "on", "off"] {
        let body = serde_json::json!({"key": "ai.training", "value": value}).to_string();
        let (s, _) = call(
            &f.state,
            "PUT",
            "/api/v1/members/1/settings",
            me,
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let path = "/api/v1/members/1/access-history";
    let (s, all) = call(&f.state, "GET", path, me, None).await;
    assert_eq!(s, StatusCode::OK);
    let total = all["total"].as_u64().unwrap();
    assert_eq!(
        all["entries"].as_array().unwrap().len() as u64,
        total,
        "{all}"
    );
    assert!(total >= 5, "{all}");
    let (s, two) = call(&f.state, "GET", &format!("{path}?limit=2"), me, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(two["total"], all["total"]);
    assert_eq!(two["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        two["entries"][0]["entry"]["seq"],
        all["entries"][0]["entry"]["seq"]
    );
    assert_eq!(
        two["entries"][1]["entry"]["seq"],
        all["entries"][1]["entry"]["seq"]
    );
    assert_eq!(
        two["entries"][1]["inclusion_proof"], all["entries"][1]["inclusion_proof"],
        "the page's proofs are the full history's"
    );
    for bad in ["0", "1001", "-1", "x"] {
        let (s, e) = call(&f.state, "GET", &format!("{path}?limit={bad}"), me, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(e["error"]["code"], "ledger.bad_limit");
    }
}

#[tokio::test]
async fn ledger_verify_names_the_first_tampered_entry() {
    let f = fixture();
    let auditor = f.tokens.get("auditor").map(String::as_str);
    let (s, ok) = call(&f.state, "POST", "/api/v1/ledger/verify", auditor, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["checkpoints_ok"], 1);
    // Rewrite entry 1's bytes (actor `member:2` becomes `member:3`) behind the ledger's back.
    f.state
        .store
        .transaction(|tx| {
            let row = tx
                .query_opt("SELECT entry FROM ledger_entries WHERE seq = 1", &[])?
                .unwrap();
            let mut bytes = row.get(0).as_bytes().unwrap().to_vec();
            let at = bytes.windows(8).position(|w| w == b"member:2").unwrap();
            bytes[at + 7] = b'3';
            tx.execute(
                "UPDATE ledger_entries SET entry = $1 WHERE seq = 1",
                &[steward_store::Value::Bytes(bytes)],
            )?;
            Ok::<_, steward_store::StoreError>(())
        })
        .unwrap();
    let (s, bad) = call(&f.state, "POST", "/api/v1/ledger/verify", auditor, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bad["ok"], false, "{bad}");
    assert_eq!(bad["first_bad_seq"], 1, "{bad}");
    assert_eq!(bad["problems"][0]["code"], "ledger.tamper.entry_changed");
}

#[tokio::test]
async fn proofs_for_auditors_check_out_and_bad_sizes_are_clear_errors() {
    let f = fixture();
    let auditor = f.tokens.get("auditor").map(String::as_str);
    let (s, latest) = call(
        &f.state,
        "GET",
        "/api/v1/ledger/checkpoints/latest",
        auditor,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let size = latest["size"].as_u64().unwrap();
    let root = hash(latest["root"].as_str().unwrap());
    // The listing is bounded: the newest `limit`, the total beside it.
    let (s, one) = call(
        &f.state,
        "GET",
        "/api/v1/ledger/checkpoints?limit=1",
        auditor,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["checkpoints"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["checkpoints"][0]["size"], size, "the newest one");
    assert!(one["total"].as_u64().unwrap() >= 1);
    for bad in ["0", "1001", "-1", "lots"] {
        let (s, e) = call(
            &f.state,
            "GET",
            &format!("/api/v1/ledger/checkpoints?limit={bad}"),
            auditor,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "limit={bad}: {e}");
        assert_eq!(e["error"]["code"], "ledger.bad_limit");
    }
    let (s, p) = call(
        &f.state,
        "GET",
        "/api/v1/ledger/entries/2/proof",
        auditor,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["size"], size);
    let path: Vec<_> = p["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    let leaf = steward_ledger::hash::leaf_hash(&unhex(p["entry_bytes"].as_str().unwrap()));
    steward_ledger::merkle::verify_inclusion(2, size, &leaf, &path, &root).unwrap();
    let (s, c) = call(
        &f.state,
        "GET",
        "/api/v1/ledger/consistency?from=1",
        auditor,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let cpath: Vec<_> = c["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    steward_ledger::merkle::verify_consistency(
        1,
        size,
        &hash(c["from_root"].as_str().unwrap()),
        &root,
        &cpath,
    )
    .unwrap();
    for (uri, code) in [
        ("/api/v1/ledger/entries/99/proof", "ledger.entry_not_found"),
        ("/api/v1/ledger/entries/x/proof", "ledger.bad_seq"),
        (
            "/api/v1/ledger/entries/0/proof?size=99",
            "ledger.size_out_of_range",
        ),
        (
            "/api/v1/ledger/consistency?from=99",
            "ledger.size_out_of_range",
        ),
        ("/api/v1/ledger/consistency", "invalid_query"),
        // Found by schemathesis: numbers beyond the stored range were a 500.
        (
            "/api/v1/ledger/entries/9223372036854775808/proof",
            "ledger.bad_seq",
        ),
        (
            "/api/v1/ledger/entries/0/proof?size=18446744073709551615",
            "ledger.size_out_of_range",
        ),
        (
            "/api/v1/ledger/consistency?from=9223372036854775808",
            "ledger.size_out_of_range",
        ),
    ] {
        let (s, j) = call(&f.state, "GET", uri, auditor, None).await;
        assert!(s.is_client_error(), "{uri}: {s} {j}");
        assert_eq!(j["error"]["code"], code, "{uri}: {j}");
    }
}

#[tokio::test]
async fn export_is_a_zip_of_the_members_own_data_and_is_ledgered() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let (s, headers, bytes) = call_raw(&f.state, "GET", "/api/v1/members/1/export", me).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    for want in [
        "steward-export/member.json",
        "steward-export/settings.json",
        "steward-export/README.md",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let member: serde_json::Value = {
        let mut f = zip.by_name("steward-export/member.json").unwrap();
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(member["member_id"], 1);
    // The download is in the member's access history.
    let (_, h) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/access-history",
        me,
        None,
    )
    .await;
    assert_eq!(h["entries"][0]["entry"]["action"], "export", "{h}");
    // Nobody else downloads it, not even an admin.
    for who in ["other", "admin", "reviewer"] {
        let (s, _, _) = call_raw(
            &f.state,
            "GET",
            "/api/v1/members/1/export",
            f.tokens.get(who).map(String::as_str),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
}

#[tokio::test]
async fn policy_diff_against_the_active_policy_counts_members() {
    let f = fixture();
    let auditor = f.tokens.get("auditor").map(String::as_str);
    let (s, src) = call(&f.state, "GET", "/api/v1/policy/source", auditor, None).await;
    assert_eq!(s, StatusCode::OK);
    let same = serde_json::json!({"new": src["source"]}).to_string();
    let (s, d) = call(&f.state, "POST", "/api/v1/policy/diff", auditor, Some(same)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["cells_changed"], 0);
    assert_eq!(d["population"], 5);
}

#[tokio::test]
async fn without_a_key_file_ledger_proofs_are_unavailable_not_broken() {
    let f = fixture();
    let mut state = f.state.clone();
    state.keys = None;
    let (s, j) = call(
        &state,
        "GET",
        "/api/v1/members/1/access-history",
        f.tokens.get("self").map(String::as_str),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(j["error"]["code"], "vault.unavailable");
}

#[tokio::test]
async fn a_member_deletes_their_account_and_their_token_dies_with_it() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let admin = f.tokens.get("admin").map(String::as_str);
    // An admin must say why, and the reason must not name the member.
    let (s, j) = call(&f.state, "DELETE", "/api/v1/members/2", admin, None).await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("erasure.reason_required"))
    );
    let naming = serde_json::json!({"reason": "member 2 asked"}).to_string();
    let (s, j) = call(&f.state, "DELETE", "/api/v1/members/2", admin, Some(naming)).await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("erasure.reason_names_member"))
    );
    // Another member cannot, and learns nothing.
    let other = f.tokens.get("other").map(String::as_str);
    let (s, _) = call(&f.state, "DELETE", "/api/v1/members/1", other, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, erased) = call(&f.state, "DELETE", "/api/v1/members/1", me, None).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(erased["already_erased"], false);
    assert!(
        erased["erasure_id"]
            .as_str()
            .unwrap()
            .starts_with("erasure:")
    );
    let seq = erased["ledger_seq"].as_u64().unwrap();
    // The member's token is gone with the account; an admin sees no profile.
    let (s, _) = call(&f.state, "GET", "/api/v1/whoami", me, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&f.state, "GET", "/api/v1/members/1", admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The erasure is ledgered without naming the member.
    let auditor = f.tokens.get("auditor").map(String::as_str);
    let (s, p) = call(
        &f.state,
        "GET",
        &format!("/api/v1/ledger/entries/{seq}/proof?size={}", seq + 1),
        auditor,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["entry"]["action"], "member.erase");
    assert_eq!(p["entry"]["members"], serde_json::json!([]));
    // An admin erasing with a proper reason works; a second erasure is a no-op.
    let reason = serde_json::json!({"reason": "account closed on request"}).to_string();
    let (s, j) = call(
        &f.state,
        "DELETE",
        "/api/v1/members/2",
        admin,
        Some(reason.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let (s, j) = call(&f.state, "DELETE", "/api/v1/members/2", admin, Some(reason)).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(j["already_erased"], true);
}

async fn whoami_id(state: &AppState, token: &str) -> String {
    let (s, j) = call(state, "GET", "/api/v1/whoami", Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    j["token_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_revoked_through_the_server_is_refused_at_once() {
    let f = fixture();
    let me = f.tokens["self"].clone();
    let admin = f.tokens.get("admin").map(String::as_str);
    // The lookup is cached now.
    let id = whoami_id(&f.state, &me).await;
    assert!(!f.state.tokens.is_empty());
    let (s, j) = call(
        &f.state,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let (s, j) = call(&f.state, "GET", "/api/v1/whoami", Some(&me), None).await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth.invalid_token"))
    );
    // Revoking it again finds nothing live; a member cannot revoke.
    let (s, _) = call(
        &f.state,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let other = f.tokens.get("other").map(String::as_str);
    let (s, _) = call(
        &f.state,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        other,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_revoked_by_another_process_stops_working_within_the_ttl() {
    let f = fixture();
    let ttl = std::time::Duration::from_millis(300);
    let state = f.state.clone().with_token_ttl(ttl);
    let tok = f.tokens["other"].clone();
    let id = whoami_id(&state, &tok).await;
    // Another process (`steward tokens revoke`) writes to the database only.
    assert!(revoke_token(&state.store, &id, 3).unwrap());
    let started = std::time::Instant::now();
    let mut refused = false;
    while started.elapsed() < ttl * 4 {
        let (s, _) = call(&state, "GET", "/api/v1/whoami", Some(&tok), None).await;
        if s == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "still accepted {:?} after revocation",
        started.elapsed()
    );
    assert!(started.elapsed() <= ttl + std::time::Duration::from_millis(200));
}

#[tokio::test]
async fn staff_tokens_act_as_the_named_staff_account() {
    use steward_server::auth::{TokenError, create_staff_token};
    use steward_vault::safety::{StaffRole, add_staff};
    let f = fixture();
    let store = &f.state.store;
    store
        .transaction(|tx| {
            add_staff(tx, "rita", &[StaffRole::Reviewer], 1)?;
            add_staff(tx, "sam", &[StaffRole::Reviewer, StaffRole::Engineer], 1)?;
            Ok::<_, steward_vault::SafetyError>(())
        })
        .unwrap();
    let rita = create_staff_token(store, "rita", None, "t", 1).unwrap();
    assert_eq!(
        (rita.role, rita.staff.as_deref()),
        (Role::Reviewer, Some("rita"))
    );
    assert!(matches!(
        create_staff_token(store, "sam", None, "t", 1),
        Err(TokenError::StaffRole { .. })
    ));
    assert!(matches!(
        create_staff_token(store, "rita", Some(Role::Approver), "t", 1),
        Err(TokenError::StaffRole { .. })
    ));
    assert!(matches!(
        create_staff_token(store, "nobody", None, "t", 1),
        Err(TokenError::NoSuchStaff(_))
    ));
    let sam = create_staff_token(store, "sam", Some(Role::Engineer), "t", 1).unwrap();
    assert_eq!(sam.role, Role::Engineer);
    // The queue listing is bounded.
    let (s, q) = call(
        &f.state,
        "GET",
        "/api/v1/cases?limit=1",
        Some(&rita.secret),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q.as_array().unwrap().len(), 1, "{q}");
    let (s, e) = call(
        &f.state,
        "GET",
        "/api/v1/cases?limit=0",
        Some(&rita.secret),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["code"], "safety.bad_limit");
    // Rita's grant request is hers by name, in the case view and the ledger.
    let case = f.ids["{case}"];
    let body = serde_json::json!({"justification": "reported as spam"}).to_string();
    let (s, g) = call(
        &f.state,
        "POST",
        &format!("/api/v1/cases/{case}/grants"),
        Some(&rita.secret),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["requester"], "rita");
    let (s, d) = call(
        &f.state,
        "GET",
        &format!("/api/v1/cases/{case}"),
        Some(&rita.secret),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["you"], "rita");
}

#[tokio::test]
async fn a_security_investigation_needs_two_distinct_approvers() {
    let f = fixture();
    let case = f.ids["{case}"];
    let engineer = f.tokens.get("engineer").map(String::as_str);
    let approver = f.tokens.get("approver").map(String::as_str);
    let second = create_token(&f.state.store, Role::Approver, None, "t", 1)
        .unwrap()
        .secret;
    let ask = |purpose: &str| {
        serde_json::json!({"justification": "credential stuffing from this account", "purpose": purpose}).to_string()
    };
    // An engineer may ask for an investigation, not for a report review.
    let (s, _) = call(
        &f.state,
        "POST",
        &format!("/api/v1/cases/{case}/grants"),
        engineer,
        Some(ask("safety.report_review")),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, j) = call(
        &f.state,
        "POST",
        &format!("/api/v1/cases/{case}/grants"),
        engineer,
        Some(ask("nonsense")),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    let (s, g) = call(
        &f.state,
        "POST",
        &format!("/api/v1/cases/{case}/grants"),
        engineer,
        Some(ask("security.investigation")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["purpose"], "security.investigation");
    assert_eq!(g["approvals_needed"], 2);
    let grant = g["grant_id"].as_i64().unwrap();
    let open = format!("/api/v1/grants/{grant}/open");
    let approve = format!("/api/v1/grants/{grant}/approve");
    let entries = || {
        f.state
            .store
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ledger_entries", &[]))
            .unwrap()
    };
    let before = entries();
    let (s, j) = call(&f.state, "POST", &open, engineer, None).await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("safety.not_approved")),
        "{j}"
    );
    // The refused open is itself ledgered, as an attempt that carries no content.
    assert_eq!(
        entries(),
        before + 1,
        "a refused open over HTTP is ledgered"
    );
    let last = f
        .state
        .store
        .read(|tx| {
            tx.query_opt(
                "SELECT entry FROM ledger_entries ORDER BY seq DESC LIMIT 1",
                &[],
            )
        })
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(last.get(0).as_bytes().unwrap()).into_owned();
    assert!(text.contains("content.open_attempt"), "{text}");
    assert!(!text.contains("buy cheap followers"), "{text}");
    let (s, g) = call(&f.state, "POST", &approve, approver, None).await;
    assert_eq!(
        (s, g["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{g}"
    );
    // The same approver twice does not count twice.
    let (s, j) = call(&f.state, "POST", &approve, approver, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{j}");
    let (s, j) = call(&f.state, "POST", &open, engineer, None).await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("safety.needs_second_approver")),
        "{j}"
    );
    let (s, g) = call(&f.state, "POST", &approve, Some(&second), None).await;
    assert_eq!(
        (s, g["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{g}"
    );
    assert_eq!(g["approvers"].as_array().unwrap().len(), 2);
    // Only the engineer who asked opens it; each open is ledgered.
    let reviewer = f.tokens.get("reviewer").map(String::as_str);
    let (s, _) = call(&f.state, "POST", &open, reviewer, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, o) = call(&f.state, "POST", &open, engineer, None).await;
    assert_eq!(s, StatusCode::OK, "{o}");
    let items = o["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["text"] == "buy cheap followers now"),
        "{o}"
    );
    assert!(items.iter().any(|i| i["kind"] == "attachment"), "{o}");
    assert!(items.iter().all(|i| i["ledger_seq"].as_u64().is_some()));
}

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn attachments_are_scanned_and_a_quarantined_one_is_withheld_from_the_recipient() {
    let f = fixture();
    let c = f.ids["{c}"];
    let me = f.tokens.get("self").map(String::as_str);
    let three = create_token(&f.state.store, Role::Member, Some(3), "t", 1)
        .unwrap()
        .secret;
    let body = serde_json::json!({"text": "my cv and a test file", "attachments": [
        {"file_name": "cv.pdf", "media_type": "application/pdf", "content_base64": b64(b"%PDF-1.4 resume")},
        {"file_name": "eicar.com", "content_base64": b64(EICAR.as_bytes())},
    ]})
    .to_string();
    let (s, sent) = call(
        &f.state,
        "POST",
        &format!("/api/v1/members/1/conversations/{c}/messages"),
        me,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    let files = sent["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["verdict"], "clean");
    assert_eq!(files[1]["verdict"], "malware", "{sent}");
    let (clean, eicar) = (
        files[0]["attachment_id"].as_i64().unwrap(),
        files[1]["attachment_id"].as_i64().unwrap(),
    );
    // The recipient opens the clean file, not the quarantined one.
    let (s, a) = call(
        &f.state,
        "GET",
        &format!("/api/v1/members/3/attachments/{clean}"),
        Some(&three),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["content_base64"], b64(b"%PDF-1.4 resume"));
    assert_eq!(a["media_type"], "application/pdf");
    let (s, j) = call(
        &f.state,
        "GET",
        &format!("/api/v1/members/3/attachments/{eicar}"),
        Some(&three),
        None,
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("safety.quarantined")),
        "{j}"
    );
    assert!(j.to_string().contains("malware"), "{j}");
    // The recipient's conversation view lists both, the quarantined one with a notice.
    let (s, msgs) = call(
        &f.state,
        "GET",
        &format!("/api/v1/members/3/conversations/{c}"),
        Some(&three),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let last = msgs.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"], 2);
    assert!(
        last["files"][1]["notice"]
            .as_str()
            .unwrap()
            .contains("malware"),
        "{last}"
    );
    assert!(last["files"][0]["notice"].is_null(), "{last}");
    // Member 2 is no participant: as if it did not exist. Bad base64 is a clear 400.
    let two = f.tokens.get("other").map(String::as_str);
    let (s, _) = call(
        &f.state,
        "GET",
        &format!("/api/v1/members/2/attachments/{clean}"),
        two,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let bad =
        serde_json::json!({"text": "x", "attachments": [{"content_base64": "***"}]}).to_string();
    let (s, j) = call(
        &f.state,
        "POST",
        &format!("/api/v1/members/1/conversations/{c}/messages"),
        me,
        Some(bad),
    )
    .await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("attachment.bad_base64"))
    );
}

#[tokio::test]
async fn a_member_sees_the_datasets_that_included_them() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let (s, j) = call(&f.state, "GET", "/api/v1/members/1/datasets", me, None).await;
    assert_eq!(
        (s, j.clone()),
        (StatusCode::OK, serde_json::json!([])),
        "{j}"
    );
    f.state
        .store
        .transaction(|tx| {
            for (id, at, status, members) in [
                ("ds-old", 10, "stale", &[1_i64, 2][..]),
                ("ds-new", 20, "published", &[1, 3][..]),
                ("ds-other", 30, "published", &[2, 3][..]),
            ] {
                tx.execute(
                    "INSERT INTO datasets (dataset_id, name, purpose, policy_version, created_at, \
                     member_count, status, stale_since) VALUES ($1, $2, 'ai.training', 'v', $3, $4, $5, $6)",
                    &[
                        id.into(),
                        format!("name of {id}").as_str().into(),
                        at.into(),
                        i64::try_from(members.len()).unwrap().into(),
                        status.into(),
                        (if status == "stale" { Some(15_i64) } else { None }).into(),
                    ],
                )?;
                for m in members {
                    tx.execute(
                        "INSERT INTO dataset_members (dataset_id, member_id) VALUES ($1, $2)",
                        &[id.into(), (*m).into()],
                    )?;
                }
            }
            Ok::<_, steward_store::StoreError>(())
        })
        .unwrap();
    let (s, j) = call(&f.state, "GET", "/api/v1/members/1/datasets", me, None).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let ids: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ds-new", "ds-old"]);
    assert_eq!(j[1]["status"], "stale");
    assert_eq!(j[1]["stale_since_ms"], 15);
    let (s, _) = call(
        &f.state,
        "GET",
        "/api/v1/members/1/datasets",
        f.tokens.get("other").map(String::as_str),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn explain_answers_are_the_same_from_the_cache() {
    let f = fixture();
    let me = f.tokens.get("self").map(String::as_str);
    let uri = "/api/v1/policy/explain?purpose=ai.training&category=member.profile.skills&jurisdiction=DE&consent=ai.training=on";
    let (s1, first) = call(&f.state, "GET", uri, me, None).await;
    let (s2, again) = call(&f.state, "GET", uri, me, None).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first, again);
    assert_eq!(first["allowed"], true, "{first}");
    // Another consent is another answer, not the cached one.
    let off = uri.replace("ai.training=on", "ai.training=off");
    let (s, j) = call(&f.state, "GET", &off, me, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["allowed"], false, "{j}");
    assert_eq!(j["missing_consent"], "ai.training", "{j}");
}
