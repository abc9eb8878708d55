//! Ads over HTTP (in-process, tower `oneshot`): the minimum audience refused on every path
//! that can change or start a campaign's reach — create, edit, attach, launch, resume, and a
//! shrinking audience pausing its campaign — with a 299-member audience made exactly by
//! members' own switches; advertisers confined to their own account and never shown a member
//! id; reports with ε spent and remaining; eligibility following opt-outs; the member's view.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use steward_ads::{AudienceIndex, Expr};
use steward_core::Policy;
use steward_core::consent::Actor;
use steward_server::auth::{Role, create_token};
use steward_server::{AppState, router};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};
use tower::ServiceExt;

/// Every seniority: the widest audience on one attribute, so switching that attribute off
/// removes a member from it exactly.
const EVERY_SENIORITY: &str =
    "seniority in (intern, entry, associate, mid_senior, director, vp, cxo, owner)";

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    acme: String,
    globex: String,
    engineer: String,
    admin: String,
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn fixture(members: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Arc::new(Store::open(&url).unwrap());
    seed(
        &store,
        &SeedConfig {
            members,
            seed: 7,
            canary_path: dir.path().join("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let state = AppState::new(store.clone(), Arc::new(Policy::builtin().unwrap())).unwrap();
    let mk = |role, label| create_token(&store, role, None, label, 1).unwrap().secret;
    Fixture {
        acme: mk(Role::Advertiser, "acme"),
        globex: mk(Role::Advertiser, "globex"),
        engineer: mk(Role::Engineer, "serving"),
        admin: mk(Role::Admin, "ops"),
        state,
        _dir: dir,
    }
}

async fn call(
    f: &Fixture,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = router(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The members an expression reaches now (exact: the test may know what advertisers may not).
fn reach(f: &Fixture, expr: &str) -> Vec<i64> {
    let index = AudienceIndex::build(&f.state.store, &f.state.policy, now_ms()).unwrap();
    index
        .evaluate(&Expr::parse(expr).unwrap())
        .unwrap()
        .iter()
        .map(i64::from)
        .collect()
}

/// Member `m` changes one of their own settings (a consent event, as through the API).
fn set(f: &Fixture, m: i64, assignment: &str) {
    let taxonomy = f.state.policy.taxonomy();
    f.state
        .store
        .transaction(|tx| {
            steward_store::member::set_setting(
                tx,
                taxonomy,
                m,
                assignment,
                &Actor::Member,
                now_ms() - 1,
            )
        })
        .unwrap();
}

/// Switches the seniority attribute off for members of `EVERY_SENIORITY` until it reaches
/// exactly `target`; returns the members switched off.
fn shrink_to(f: &Fixture, target: usize) -> Vec<i64> {
    let members = reach(f, EVERY_SENIORITY);
    assert!(
        members.len() > target,
        "{} members reachable",
        members.len()
    );
    let off: Vec<i64> = members[target..].to_vec();
    for &m in &off {
        set(f, m, "ads.attr.seniority=off");
    }
    assert_eq!(reach(f, EVERY_SENIORITY).len(), target);
    off
}

fn assert_too_small(status: StatusCode, body: &Value, path: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(
        body["error"]["code"], "ads.audience_too_small",
        "{path}: {body}"
    );
    let text = body.to_string();
    assert!(
        !text.contains("299"),
        "{path}: the refusal must not say the count: {text}"
    );
}

/// No key of an advertiser's answer names a member, at any depth.
fn assert_no_member_field(v: &Value, what: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                assert!(!k.contains("member"), "{what}: field `{k}` in {v}");
                assert_no_member_field(x, what);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| assert_no_member_field(x, what)),
        _ => {}
    }
}

#[tokio::test]
async fn a_299_member_audience_is_refused_over_http_on_every_path() {
    let f = fixture(700);
    shrink_to(&f, 300);
    let t = &f.acme;

    // At exactly the minimum: create, attach at creation, launch, all accepted.
    let (s, aud) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences",
        t,
        Some(json!({"name": "everyone", "expression": EVERY_SENIORITY})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{aud}");
    assert!(aud["estimate"]["about"].as_u64().unwrap() >= 300, "{aud}");
    assert_eq!(aud["estimate"]["below_minimum"], false);
    let aid = aud["id"].as_i64().unwrap();
    let campaign = |name: &str, audience: Option<i64>| {
        let mut b = json!({ "name": name });
        if let Some(a) = audience {
            b["audience"] = json!(a);
        }
        b
    };
    let (s, running) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        t,
        Some(campaign("running", Some(aid))),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{running}");
    let running = running["id"].as_i64().unwrap();
    let (s, c) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{running}/launch"),
        t,
        None,
    )
    .await;
    assert_eq!(
        (s, c["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{c}"
    );
    let (_, draft) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        t,
        Some(campaign("draft", Some(aid))),
    )
    .await;
    let draft = draft["id"].as_i64().unwrap();
    let (_, bare) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        t,
        Some(campaign("untargeted", None)),
    )
    .await;
    let bare = bare["id"].as_i64().unwrap();
    let (_, held) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        t,
        Some(campaign("held", Some(aid))),
    )
    .await;
    let held = held["id"].as_i64().unwrap();
    for action in ["launch", "pause"] {
        let (s, c) = call(
            &f,
            "POST",
            &format!("/api/v1/ads/campaigns/{held}/{action}"),
            t,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{action}: {c}");
    }

    // One more member switches seniority off: the audience reaches 299.
    let last = reach(&f, EVERY_SENIORITY)[299];
    set(&f, last, "ads.attr.seniority=off");
    assert_eq!(reach(&f, EVERY_SENIORITY).len(), 299);

    // The estimate gives no number.
    let (s, e) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences/estimate",
        t,
        Some(json!({"expression": EVERY_SENIORITY})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["estimate"]["below_minimum"], true, "{e}");
    assert!(e["estimate"]["about"].is_null(), "{e}");
    // Create.
    let (s, b) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences",
        t,
        Some(json!({"name": "again", "expression": EVERY_SENIORITY})),
    )
    .await;
    assert_too_small(s, &b, "create");
    // Edit (to the same expression, and to a reordered spelling of it).
    let (s, b) = call(
        &f,
        "PUT",
        &format!("/api/v1/ads/audiences/{aid}"),
        t,
        Some(json!({"expression": EVERY_SENIORITY})),
    )
    .await;
    assert_too_small(s, &b, "edit");
    let (s, b) = call(&f, "PUT", &format!("/api/v1/ads/audiences/{aid}"), t, Some(json!({"expression": "seniority in (owner, cxo, vp, director, mid_senior, associate, entry, intern)"}))).await;
    assert_too_small(s, &b, "edit, reordered");
    // Create a campaign on it.
    let (s, b) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        t,
        Some(campaign("late", Some(aid))),
    )
    .await;
    assert_too_small(s, &b, "create campaign");
    // Attach.
    let (s, b) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{bare}/audience"),
        t,
        Some(json!({"audience": aid})),
    )
    .await;
    assert_too_small(s, &b, "attach");
    // Launch.
    let (s, b) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{draft}/launch"),
        t,
        None,
    )
    .await;
    assert_too_small(s, &b, "launch");
    // Resume.
    let (s, b) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{held}/resume"),
        t,
        None,
    )
    .await;
    assert_too_small(s, &b, "resume");
    // Shrink: the running campaign was paused by the server.
    let (s, c) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/campaigns/{running}"),
        t,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["status"], "paused", "{c}");
    assert_eq!(c["pause_reason"], "audience_below_minimum", "{c}");
    let (s, c) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{running}/resume"),
        t,
        None,
    )
    .await;
    assert_too_small(s, &c, "resume after the shrink");
    // Nothing was changed by the refusals.
    let (_, list) = call(&f, "GET", "/api/v1/ads/campaigns", t, None).await;
    let status = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        [status(draft), status(bare), status(held)],
        ["draft", "draft", "paused"]
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == bare)
            .unwrap()["audience"]
            .is_null()
    );
    let (_, a) = call(&f, "GET", &format!("/api/v1/ads/audiences/{aid}"), t, None).await;
    assert_eq!(a["estimate"]["below_minimum"], true, "{a}");

    // The member switches back on: 300 again, and the campaign may resume.
    set(&f, last, "ads.attr.seniority=on");
    let (s, c) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{running}/resume"),
        t,
        None,
    )
    .await;
    assert_eq!(
        (s, c["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{c}"
    );
}

#[tokio::test]
async fn advertisers_see_only_their_own_account_and_never_a_member_id() {
    let f = fixture(600);
    let (s, aud) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences",
        &f.acme,
        Some(json!({"name": "all", "expression": EVERY_SENIORITY})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{aud}");
    let aid = aud["id"].as_i64().unwrap();
    let (_, c) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        &f.acme,
        Some(json!({"name": "c", "audience": aid, "budget": 1.0})),
    )
    .await;
    let cid = c["id"].as_i64().unwrap();
    let (s, _) = call(
        &f,
        "POST",
        &format!("/api/v1/ads/campaigns/{cid}/launch"),
        &f.acme,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Traffic over the past days, then reports.
    let store = &f.state.store;
    let index = AudienceIndex::build(store, &f.state.policy, now_ms()).unwrap();
    let elig = store
        .read(|tx| steward_ads::Eligibility::build(tx, &index))
        .unwrap();
    let day0 = now_ms().div_euclid(86_400_000) * 86_400_000;
    let sim = steward_ads::events::Simulation::new(cid, 3, 4_000, day0 - 5 * 86_400_000, day0);
    let evs = steward_ads::events::simulate(&elig, index.targetable(), &sim).unwrap();
    store
        .transaction(|tx| steward_ads::events::record(tx, &f.state.policy, &evs))
        .unwrap();
    let report = format!("/api/v1/ads/campaigns/{cid}/report?by=seniority&days=7&epsilon=0.4");
    let (s, r) = call(&f, "GET", &report, &f.acme, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["charged"], true);
    assert!(
        (r["campaign_budget"]["spent"].as_f64().unwrap() - 0.4).abs() < 1e-9,
        "{r}"
    );
    assert!(
        (r["campaign_budget"]["remaining"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{r}"
    );
    assert!(
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["impressions"].as_i64().unwrap_or(0) > 0),
        "{r}"
    );
    // The same question: the same answer, nothing more spent.
    let (_, again) = call(&f, "GET", &report, &f.acme, None).await;
    assert_eq!(again["charged"], false);
    assert_eq!(again["rows"], r["rows"]);
    assert_eq!(again["campaign_budget"], r["campaign_budget"]);
    // Past the campaign's budget: refused, nothing spent.
    let (s, b) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/campaigns/{cid}/report?epsilon=0.7"),
        &f.acme,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "dp.budget_exhausted");
    let (_, c) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/campaigns/{cid}"),
        &f.acme,
        None,
    )
    .await;
    assert!(
        (c["budget"]["remaining"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{c}"
    );

    // Nothing acme is answered names a member.
    for path in [
        "/api/v1/ads/attributes".to_owned(),
        "/api/v1/ads/audiences".to_owned(),
        format!("/api/v1/ads/audiences/{aid}"),
        "/api/v1/ads/campaigns".to_owned(),
        format!("/api/v1/ads/campaigns/{cid}"),
        report.clone(),
    ] {
        let (s, v) = call(&f, "GET", &path, &f.acme, None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_no_member_field(&v, &path);
    }

    // Globex sees none of it: every path is 404, like an id that does not exist.
    let (_, own) = call(
        &f,
        "POST",
        "/api/v1/ads/campaigns",
        &f.globex,
        Some(json!({"name": "g"})),
    )
    .await;
    let gid = own["id"].as_i64().unwrap();
    for (method, path, body) in [
        ("GET", format!("/api/v1/ads/audiences/{aid}"), None),
        (
            "PUT",
            format!("/api/v1/ads/audiences/{aid}"),
            Some(json!({"expression": EVERY_SENIORITY})),
        ),
        ("GET", format!("/api/v1/ads/campaigns/{cid}"), None),
        ("POST", format!("/api/v1/ads/campaigns/{cid}/pause"), None),
        ("GET", report.clone(), None),
        (
            "POST",
            format!("/api/v1/ads/campaigns/{gid}/audience"),
            Some(json!({"audience": aid})),
        ),
        (
            "POST",
            "/api/v1/ads/campaigns".to_owned(),
            Some(json!({"name": "x", "audience": aid})),
        ),
    ] {
        let (s, b) = call(&f, method, &path, &f.globex, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {b}");
        assert_eq!(b["error"]["code"], "ads.not_found", "{method} {path}");
    }
    let (_, lists) = call(&f, "GET", "/api/v1/ads/audiences", &f.globex, None).await;
    assert_eq!(lists, json!([]));
    let (_, lists) = call(&f, "GET", "/api/v1/ads/campaigns", &f.globex, None).await;
    assert_eq!(lists.as_array().unwrap().len(), 1);
    // Other roles may not act as advertisers, even on real ids.
    for token in [&f.engineer, &f.admin] {
        let (s, _) = call(
            &f,
            "GET",
            &format!("/api/v1/ads/campaigns/{cid}"),
            token,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(
            &f,
            "POST",
            &format!("/api/v1/ads/campaigns/{cid}/pause"),
            token,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // Advertisers may not probe members through eligibility.
    let (s, b) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/eligibility?member=1&campaign={cid}"),
        &f.acme,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
}

#[tokio::test]
async fn eligibility_and_the_members_view_follow_their_switches() {
    let f = fixture(500);
    let (s, aud) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences",
        &f.acme,
        Some(json!({"name": "all", "expression": EVERY_SENIORITY})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{aud}");
    let aid = aud["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for body in [
        json!({"name": "targeted", "audience": aid}),
        json!({"name": "untargeted"}),
    ] {
        let (_, c) = call(&f, "POST", "/api/v1/ads/campaigns", &f.acme, Some(body)).await;
        let id = c["id"].as_i64().unwrap();
        let (s, _) = call(
            &f,
            "POST",
            &format!("/api/v1/ads/campaigns/{id}/launch"),
            &f.acme,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        ids.push(id);
    }
    let (targeted, untargeted) = (ids[0], ids[1]);
    let m = reach(&f, EVERY_SENIORITY)[0];
    let eligible = |c: i64| {
        let f = &f;
        async move {
            let (s, b) = call(
                f,
                "GET",
                &format!("/api/v1/ads/eligibility?member={m}&campaign={c}"),
                &f.engineer,
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            b["eligible"].as_bool().unwrap()
        }
    };
    assert!(eligible(targeted).await);
    assert!(eligible(untargeted).await);
    let (_, all) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/eligibility?member={m}"),
        &f.admin,
        None,
    )
    .await;
    assert_eq!(all["campaigns"], json!([targeted, untargeted]));

    // The member sees what ads may use, and switches seniority off through the API.
    let member = create_token(&f.state.store, Role::Member, Some(m), "me", 1)
        .unwrap()
        .secret;
    let (s, view) = call(
        &f,
        "GET",
        &format!("/api/v1/members/{m}/ads"),
        &member,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let seniority = |v: &Value| {
        v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attribute"] == "seniority")
            .unwrap()
            .clone()
    };
    assert_eq!(seniority(&view)["used"], true, "{view}");
    assert_eq!(view["personalized"], true);
    let (s, _) = call(
        &f,
        "PUT",
        &format!("/api/v1/members/{m}/settings"),
        &member,
        Some(json!({"key": "ads.attr.seniority", "value": "off"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, view) = call(
        &f,
        "GET",
        &format!("/api/v1/members/{m}/ads"),
        &member,
        None,
    )
    .await;
    assert_eq!(seniority(&view)["used"], false, "{view}");
    assert_eq!(seniority(&view)["switched_on"], false, "{view}");
    // Eligibility looks again at most a second later.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(
        !eligible(targeted).await,
        "the attribute the audience needs is off"
    );
    assert!(eligible(untargeted).await);

    // Personalized ads off: nothing is used, only untargeted campaigns.
    let (s, _) = call(
        &f,
        "PUT",
        &format!("/api/v1/members/{m}/settings"),
        &member,
        Some(json!({"key": "ads.personalized", "value": "off"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, view) = call(
        &f,
        "GET",
        &format!("/api/v1/members/{m}/ads"),
        &member,
        None,
    )
    .await;
    assert_eq!(view["personalized"], false);
    assert!(
        view["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["used"] == false),
        "{view}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, all) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/eligibility?member={m}"),
        &f.engineer,
        None,
    )
    .await;
    assert_eq!(all["campaigns"], json!([untargeted]));
}

#[tokio::test]
async fn skills_in_demand_is_one_release_a_day() {
    let f = fixture(400);
    let entries = || {
        f.state
            .store
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ledger_entries", &[]))
            .unwrap()
    };
    let before = entries();
    let (s, a) = call(
        &f,
        "GET",
        "/api/v1/ads/insights/skills?top=3",
        &f.acme,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let released = entries();
    assert_eq!(released, before + 1, "the release is ledgered");
    let (_, b) = call(
        &f,
        "GET",
        "/api/v1/ads/insights/skills?top=3",
        &f.engineer,
        None,
    )
    .await;
    assert_eq!(a, b, "every caller gets the same release");
    assert_eq!(entries(), released, "and it is ledgered once");
    assert!(
        a["industries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["skills"].as_array().unwrap().len() <= 3)
    );
    let (s, e) = call(
        &f,
        "GET",
        "/api/v1/ads/insights/skills?top=50",
        &f.acme,
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ads.invalid"))
    );
}
