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
    // Eligibility looks again once its snapshot is a second old, in the background: the
    // answers follow within a second and a refresh.
    let mut off = false;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if !eligible(targeted).await {
            off = true;
            break;
        }
    }
    assert!(off, "the attribute the audience needs is off");
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
    let mut campaigns = Value::Null;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (_, all) = call(
            &f,
            "GET",
            &format!("/api/v1/ads/eligibility?member={m}"),
            &f.engineer,
            None,
        )
        .await;
        campaigns = all["campaigns"].clone();
        if campaigns == json!([untargeted]) {
            break;
        }
    }
    assert_eq!(campaigns, json!([untargeted]));
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

#[tokio::test]
async fn skills_in_demand_is_charged_to_the_insights_budget() {
    let f = fixture(400);
    steward_ads::schema::install(&f.state.store).unwrap();
    let budget = |eps: f64| {
        f.state
            .store
            .transaction(|tx| {
                steward_ads::insights::set_insights_budget(
                    tx,
                    steward_privacy::dp::Epsilon::from_f64(eps).unwrap(),
                )
            })
            .unwrap();
    };
    let releases = || {
        f.state
            .store
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ads_insights_releases", &[]))
            .unwrap()
    };
    // A budget smaller than one day's ε: refused with a stable code, nothing stored.
    budget(0.5);
    let (s, e) = call(&f, "GET", "/api/v1/ads/insights/skills", &f.acme, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["code"], "dp.budget_exhausted", "{e}");
    assert_eq!(releases(), 0);

    // Room for one release: charged once, with the budget shown.
    budget(1.5);
    let (s, a) = call(&f, "GET", "/api/v1/ads/insights/skills", &f.acme, None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["budget"]["epsilon"].as_f64(), Some(1.5), "{a}");
    assert_eq!(a["budget"]["spent"].as_f64(), Some(1.0), "{a}");
    assert_eq!(a["budget"]["remaining"].as_f64(), Some(0.5), "{a}");
    assert!(a["delta_budget"]["spent"].as_f64().unwrap() > 0.0, "{a}");
    assert_eq!(releases(), 1);
    let spent = f
        .state
        .store
        .read(|tx| {
            tx.query_i64(
                "SELECT CAST(SUM(epsilon_micro) AS BIGINT) FROM ads_insights_releases",
                &[],
            )
        })
        .unwrap();
    assert_eq!(spent, 1_000_000, "the release's ε is in the database");
    // The same day again, from another caller: the same release, nothing more spent.
    let (_, b) = call(&f, "GET", "/api/v1/ads/insights/skills", &f.engineer, None).await;
    assert_eq!(a, b);
    assert_eq!(releases(), 1);
    // Career transitions share the budget: 0.5 left refuses a release at ε 1.
    let e = f
        .state
        .store
        .transaction(|tx| {
            let key = steward_ads::schema::noise_key(tx)?;
            steward_ads::insights::career_transitions(
                tx,
                &steward_ledger::Ledger::new("test"),
                &f.state.policy,
                &key,
                steward_privacy::dp::Epsilon::from_f64(1.0).unwrap(),
                now_ms(),
            )
        })
        .unwrap_err();
    assert_eq!(e.code(), "dp.budget_exhausted", "{e}");
}

/// Waits out the eligibility snapshot's check interval, so the next ads call compares the
/// fingerprint with the database.
async fn next_check() {
    tokio::time::sleep(std::time::Duration::from_millis(
        u64::try_from(steward_server::routes::ads::CHECK_EVERY_MS).unwrap() + 150,
    ))
    .await;
}

/// Whether the estimate of `expr` over HTTP is below the minimum.
async fn below_minimum(f: &Fixture, expr: &str) -> bool {
    next_check().await;
    let (s, e) = call(
        f,
        "POST",
        "/api/v1/ads/audiences/estimate",
        &f.acme,
        Some(json!({ "expression": expr })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    e["estimate"]["below_minimum"].as_bool().unwrap()
}

#[tokio::test]
async fn the_index_follows_opt_outs_toggles_erasures_and_new_members_without_a_full_build() {
    let f = fixture(700);
    shrink_to(&f, 300);
    let members = reach(&f, EVERY_SENIORITY);
    assert!(!below_minimum(&f, EVERY_SENIORITY).await, "300 members");
    let builds = || steward_server::routes::ads::index_builds(&f.state.store);
    let first = builds();
    assert_eq!(first.full, 1, "{first:?}");

    // Personalized ads off: the member leaves the audience; on again: back in it.
    let (m1, m2, m3) = (members[0], members[1], members[2]);
    set(&f, m1, "ads.personalized=off");
    assert!(
        below_minimum(&f, EVERY_SENIORITY).await,
        "member {m1} opted out"
    );
    set(&f, m1, "ads.personalized=on");
    assert!(
        !below_minimum(&f, EVERY_SENIORITY).await,
        "member {m1} opted in"
    );
    // The one attribute the audience needs, switched off and on.
    set(&f, m2, "ads.attr.seniority=off");
    assert!(
        below_minimum(&f, EVERY_SENIORITY).await,
        "member {m2} toggled off"
    );
    set(&f, m2, "ads.attr.seniority=on");
    assert!(
        !below_minimum(&f, EVERY_SENIORITY).await,
        "member {m2} toggled on"
    );
    // Erasure leaves no event of the member behind: the deletion itself is the trace.
    f.state
        .store
        .transaction(|tx| steward_store::erase::erase_member_rows(tx, m3, now_ms()))
        .unwrap();
    assert!(
        below_minimum(&f, EVERY_SENIORITY).await,
        "member {m3} erased"
    );
    // A new member who allows ads makes it 300 again.
    f.state
        .store
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO members (first_name, last_name, email, country, jurisdiction, \
                 seniority, created_at) VALUES ('New', 'Member', 'new@example.com', 'US', 'US', \
                 'director', $1)",
                &[steward_store::Value::Int(now_ms())],
            )
        })
        .unwrap();
    assert!(!below_minimum(&f, EVERY_SENIORITY).await, "a new member");

    let after = builds();
    assert_eq!(after.full, first.full, "no full build: {after:?}");
    assert!(
        after.incremental >= first.incremental + 6,
        "{first:?} → {after:?}"
    );
    assert!(
        after.members_reread <= 10,
        "only the changed members: {after:?}"
    );
    // The database agrees: a fresh build reaches 300 again.
    assert_eq!(reach(&f, EVERY_SENIORITY).len(), 300);
}

/// `members` row `m` as an import line, with `column` set to `value`.
fn member_line(f: &Fixture, m: i64, column: &str, value: Value) -> String {
    let t = steward_store::schema::table("members").unwrap();
    let names = t.column_names();
    let row = f
        .state
        .store
        .read(|tx| {
            tx.query_opt(
                &format!(
                    "SELECT {} FROM members WHERE member_id = $1",
                    names.join(", ")
                ),
                &[steward_store::Value::Int(m)],
            )
        })
        .unwrap()
        .unwrap();
    let mut o = serde_json::Map::new();
    for (i, n) in names.iter().enumerate() {
        let v = match row.get(i) {
            steward_store::Value::Int(x) => json!(x),
            steward_store::Value::Text(x) => json!(x),
            _ => Value::Null,
        };
        o.insert(
            (*n).to_owned(),
            if *n == column { value.clone() } else { v },
        );
    }
    Value::Object(o).to_string()
}

fn import(f: &Fixture, kind: &str, line: &str) {
    steward_store::import::import_bytes(
        &f.state.store,
        steward_store::schema::table(kind).unwrap(),
        &format!("{kind}.jsonl"),
        format!("{line}\n").as_bytes(),
        &PlaintextForTestsOnly,
    )
    .unwrap();
}

fn count(f: &Fixture, sql: &str) -> i64 {
    f.state.store.read(|tx| tx.query_i64(sql, &[])).unwrap()
}

#[tokio::test]
async fn an_import_that_rewrites_members_in_place_reaches_the_index_without_a_full_build() {
    let f = fixture(700);
    let off = shrink_to(&f, 300);
    let members = reach(&f, EVERY_SENIORITY);
    assert!(!below_minimum(&f, EVERY_SENIORITY).await, "300 members");
    let builds = || steward_server::routes::ads::index_builds(&f.state.store);
    let first = builds();

    // A member's row imported again without a seniority: they leave the audience.
    let m1 = members[0];
    let without = member_line(&f, m1, "seniority", Value::Null);
    let events = count(&f, "SELECT COUNT(*) FROM profile_events");
    import(&f, "members", &without);
    assert!(
        below_minimum(&f, EVERY_SENIORITY).await,
        "member {m1} imported without a seniority"
    );
    // The same line again changes nothing, and writes no event.
    let events = events + 1;
    assert_eq!(count(&f, "SELECT COUNT(*) FROM profile_events"), events);
    import(&f, "members", &without);
    assert_eq!(count(&f, "SELECT COUNT(*) FROM profile_events"), events);

    // A member's consent event rewritten in place (same id): their seniority is on again.
    let m2 = off[0];
    let row = f
        .state
        .store
        .read(|tx| {
            tx.query_opt(
                "SELECT event_id, key, at, actor FROM consent_events WHERE member_id = $1 \
                 AND key = 'ads.attr.seniority' ORDER BY event_id DESC",
                &[steward_store::Value::Int(m2)],
            )
        })
        .unwrap()
        .unwrap();
    let newest = count(&f, "SELECT MAX(event_id) FROM consent_events");
    let event_id = row.i64(0).unwrap();
    assert!(event_id <= newest);
    let line = json!({
        "event_id": event_id, "member_id": m2, "key": row.text(1).unwrap(), "value": "on",
        "at": row.i64(2).unwrap(), "actor": row.text(3).unwrap(),
    });
    import(&f, "consent_events", &line.to_string());
    assert_eq!(
        count(&f, "SELECT MAX(event_id) FROM consent_events"),
        newest
    );
    assert!(
        !below_minimum(&f, EVERY_SENIORITY).await,
        "member {m2}'s seniority imported on again"
    );

    let after = builds();
    assert_eq!(after.full, first.full, "no full build: {after:?}");
    assert!(
        after.incremental >= first.incremental + 2,
        "{first:?} → {after:?}"
    );
    assert!(
        after.members_reread <= first.members_reread + 4,
        "{after:?}"
    );
    // The database agrees: a fresh build reaches 300.
    assert_eq!(reach(&f, EVERY_SENIORITY).len(), 300);
}

#[tokio::test]
async fn a_configured_minimum_of_350_refuses_a_320_member_audience() {
    let mut f = fixture(700);
    f.state = f
        .state
        .clone()
        .with_ads_config(steward_ads::AdsConfig::with_min_audience(350).unwrap());
    shrink_to(&f, 320);
    let (s, b) = call(&f, "GET", "/api/v1/ads/attributes", &f.acme, None).await;
    assert_eq!(
        (s, b["minimum"].as_u64()),
        (StatusCode::OK, Some(350)),
        "{b}"
    );
    let (s, b) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences",
        &f.acme,
        Some(json!({"name": "320", "expression": EVERY_SENIORITY})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "ads.audience_too_small", "{b}");
    assert!(b.to_string().contains("350"), "{b}");
    assert!(!b.to_string().contains("320"), "{b}");
    let (_, e) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences/estimate",
        &f.acme,
        Some(json!({ "expression": EVERY_SENIORITY })),
    )
    .await;
    assert_eq!(e["estimate"]["below_minimum"], true, "{e}");
    assert_eq!(e["estimate"]["minimum"], 350, "{e}");
    // The library refuses a minimum below the floor; `steward serve` passes that refusal on
    // (tests/cli_ads_server.rs in steward-cli).
    assert_eq!(
        steward_ads::AdsConfig::with_min_audience(99)
            .unwrap_err()
            .code(),
        "ads.config"
    );
}

/// Contact hashes of `members` under `salt`.
fn hashes_of(f: &Fixture, members: &[i64], salt: &str) -> Vec<String> {
    f.state
        .store
        .read(|tx| {
            let mut out = Vec::new();
            for &m in members {
                let email = tx
                    .query_opt(
                        "SELECT email FROM members WHERE member_id = $1",
                        &[steward_store::Value::Int(m)],
                    )?
                    .unwrap()
                    .text(0)?;
                out.push(steward_ads::audience::contact_hash(salt, &email));
            }
            Ok::<_, steward_store::StoreError>(out)
        })
        .unwrap()
}

#[tokio::test]
async fn matched_lists_below_the_minimum_are_refused_and_never_say_who_matched() {
    let f = fixture(700);
    let salt = "pepper-2026";
    let index = AudienceIndex::build(&f.state.store, &f.state.policy, now_ms()).unwrap();
    let matchable: Vec<i64> = index.third_party().iter().map(i64::from).collect();
    let live: Vec<i64> = f
        .state
        .store
        .read(|tx| {
            tx.query(
                "SELECT member_id FROM members WHERE deleted_at IS NULL",
                &[],
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    // Members who switched `ads.third_party` off (or live where it is off by default) never
    // match, even though their emails are on the list.
    let unmatchable: Vec<i64> = live
        .iter()
        .copied()
        .filter(|m| !index.third_party().contains(u32::try_from(*m).unwrap()))
        .take(40)
        .collect();
    assert!(matchable.len() >= 320, "{}", matchable.len());
    assert!(unmatchable.len() >= 10, "{}", unmatchable.len());
    let strangers: Vec<String> = (0..30)
        .map(|i| steward_ads::audience::contact_hash(salt, &format!("nobody{i}@example.org")))
        .collect();
    let list = |n: usize| {
        let mut h = hashes_of(&f, &matchable[..n], salt);
        h.extend(hashes_of(&f, &unmatchable, salt));
        h.extend(strangers.iter().cloned());
        h
    };
    let upload = |hashes: Vec<String>, name: &str| {
        let body = json!({"name": name, "salt": salt, "hashes": hashes});
        call(
            &f,
            "POST",
            "/api/v1/ads/audiences/matched",
            &f.acme,
            Some(body),
        )
    };

    // 299 matches: refused with the code and no number; the answer is the same as for a list
    // that matches nobody, so it tells nothing about which entries matched.
    let (s, refused) = upload(list(299), "299").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        refused["error"]["code"], "ads.matched_too_small",
        "{refused}"
    );
    assert!(!refused.to_string().contains("299"), "{refused}");
    let (s, none) = upload(list(0), "0").await;
    assert_eq!((s, &none), (StatusCode::UNPROCESSABLE_ENTITY, &refused));
    let (_, listed) = call(&f, "GET", "/api/v1/ads/audiences", &f.acme, None).await;
    assert_eq!(listed, json!([]), "a refused list stores nothing");

    // 300 matches, padded past the server's usual 1 MiB body limit (the route has its own):
    // accepted, answered with a rounded, noised size and nothing per entry.
    let mut padded = list(300);
    padded.extend(
        (0..20_000)
            .map(|i| steward_ads::audience::contact_hash(salt, &format!("pad{i}@example.net"))),
    );
    let sent = padded.clone();
    let (s, made) = upload(padded, "customers").await;
    assert_eq!(s, StatusCode::OK, "{made}");
    assert_eq!(made["kind"], "matched");
    assert_eq!(made["estimate"]["below_minimum"], false, "{made}");
    let about = made["estimate"]["about"].as_u64().unwrap();
    assert!(about >= 300 && about % 10 == 0, "{made}");
    let mut keys: Vec<&str> = made
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at_ms",
            "estimate",
            "expression",
            "id",
            "kind",
            "name",
            "updated_at_ms"
        ],
        "{made}"
    );
    let text = made.to_string();
    for h in &sent {
        assert!(!text.contains(h.as_str()), "an entry is echoed: {text}");
    }
    assert_no_member_field(&made, "matched");

    // One of the matched members switches `ads.third_party` off: the audience drops below
    // the minimum at the next look.
    set(&f, matchable[0], "ads.third_party=off");
    next_check().await;
    let id = made["id"].as_i64().unwrap();
    let (_, now) = call(
        &f,
        "GET",
        &format!("/api/v1/ads/audiences/{id}"),
        &f.acme,
        None,
    )
    .await;
    assert_eq!(now["estimate"]["below_minimum"], true, "{now}");

    // Malformed entries and oversized bodies get stable codes.
    let (s, e) = upload(vec!["not-a-hash".to_owned()], "bad").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ads.invalid")),
        "{e}"
    );
    let huge = vec!["a".repeat(64); steward_server::routes::ads::MAX_MATCHED_HASHES + 10_000];
    let (s, e) = upload(huge, "huge").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("request.too_large")),
        "{e}"
    );
    // Other roles may not upload.
    let body = json!({"name": "x", "salt": salt, "hashes": list(300)});
    let (s, _) = call(
        &f,
        "POST",
        "/api/v1/ads/audiences/matched",
        &f.engineer,
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
