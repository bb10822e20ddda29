//! The TrustDecision-compatible facade on both backends: same accounts and sessions as the
//! primary contract, its own wire shape and numeric codes.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::verdict::*;
use common::*;
use openliveness_server::KeyCredentials;
use openliveness_store::{AccountPatch, Outcome, SessionResult, SessionStatus};
use serde_json::{json, Value};

fn path(kind: &str, creds: &KeyCredentials) -> String {
    format!(
        "/verification/kyc/h5/liveness/{kind}/v1?partner_code={}&partner_key={}",
        creds.partner_code, creds.partner_key
    )
}

fn expect_td(r: &Reply, code: u64, message: &str) {
    assert_eq!(r.body["code"], code, "reply {}", r.body);
    assert_eq!(r.body["message"], message, "reply {}", r.body);
    let seq = r.body["sequence_id"].as_str().expect("sequence_id");
    assert_eq!(r.headers["x-transaction-id"], seq);
}

async fn token_and_result(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let body = json!({
        "success_redirect": "http://www.google.com",
        "failure_redirect": "http://www.facebook.com",
        "language": "en",
        "audio": true
    });
    let r = app.post(&path("token", &creds), None, body.clone()).await;
    expect_td(&r, 200, "success");
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 36);
    let url = r.body["url"].as_str().unwrap();
    assert_eq!(app.client.get(url).send().await.unwrap().status(), 200);

    // The session is one of the shared core's, with the facade's choices recorded.
    let session = app
        .store
        .session_by_td_token(&token)
        .await
        .unwrap()
        .unwrap();
    assert!(session.new.audio);
    assert_eq!(session.new.locale.as_deref(), Some("en"));
    assert_eq!(session.new.region, "IDN");

    let result = |t: &str| {
        let p = path("result", &creds);
        let t = t.to_owned();
        async move { app.post(&p, None, json!({ "token": t })).await }
    };
    expect_td(
        &result(&token).await,
        11201,
        "Liveness detection has no result yet",
    );
    expect_td(
        &result("a41701e4-b2a2-4f62-8cd4-900000000003").await,
        11200,
        "Token not found",
    );

    let selfie = app.blobs.put(b"\xff\xd8selfie".to_vec()).await.unwrap();
    app.store
        .finish_session(
            session.signature_id(),
            None,
            SessionStatus::Passed,
            SessionResult {
                outcome: Outcome::Judged,
                score: Some(91),
                image_far_blob: Some(selfie),
                far_image_time: Some(now_ms()),
                ..SessionResult::of(Outcome::Judged)
            },
            now_ms(),
        )
        .await
        .unwrap();
    let r = result(&token).await;
    expect_td(&r, 200, "success");
    let d = &r.body["data"];
    assert_eq!(d["status"], "pass");
    assert_eq!(d["score"], 91);
    assert_eq!(d["selfie"], "/9hzZWxmaWU=");
    assert_eq!(d["token"], Value::String(token.clone()));
    assert!(
        d.get("decision").is_none(),
        "no stored record, no decision: {d}"
    );

    // The primary contract's Get Result reaches the same session.
    let t = app.token(&creds).await;
    app.get_result(&t, session.signature_id())
        .await
        .expect("SUCCESS", "OK");
}
both_backends!(token_and_result_case, token_and_result);

/// The keys of the result's `data` before `decision` was added; it must leave them as they are.
const TD_KEYS: [&str; 14] = [
    "token",
    "status",
    "result_code",
    "score",
    "attack_type",
    "selfie",
    "image_far",
    "image_near",
    "far_image_time",
    "near_image_time",
    "video",
    "multi_device",
    "use_slave_url",
    "finished_time",
];

async fn result_serves_the_decision(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let r = app
        .post(
            &path("token", &creds),
            None,
            json!({"success_redirect": "https://ok.example/s"}),
        )
        .await;
    expect_td(&r, 200, "success");
    let token = r.body["token"].as_str().unwrap().to_owned();
    let result = || async {
        app.post(&path("result", &creds), None, json!({ "token": token }))
            .await
    };
    let r = result().await;
    expect_td(&r, 11201, "Liveness detection has no result yet");
    assert!(r.body.get("data").is_none(), "reply {}", r.body);

    let session = app
        .store
        .session_by_td_token(&token)
        .await
        .unwrap()
        .unwrap();
    let (challenge, verdict) = genuine_try(11);
    app.finish_with_verdict(session.signature_id(), &challenge, &verdict)
        .await;
    let r = result().await;
    expect_td(&r, 200, "success");
    let d = &r.body["data"];
    assert_vendor_keys_and_decision(d, &TD_KEYS);
    assert_eq!(d["score"], verdict.score);
    assert_decision(&d["decision"], &challenge, &verdict, Casing::TrustDecision);
    assert_schema_matches(app, "TdDecision", &d["decision"]).await;
    assert_schema_matches(app, "TdDecisionSignal", &d["decision"]["signals"][0]).await;
}
both_backends!(result_decision_case, result_serves_the_decision);

async fn td_errors(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let good = json!({"success_redirect": "https://ok.example/s"});
    let bare = "/verification/kyc/h5/liveness/token/v1";
    expect_td(
        &app.post(bare, None, good.clone()).await,
        11001,
        "Missing partner_code or partner_key",
    );
    let wrong = format!(
        "{bare}?partner_code={}&partner_key=nope",
        creds.partner_code
    );
    expect_td(
        &app.post(&wrong, None, good.clone()).await,
        11002,
        "Invalid partner_code or partner_key",
    );
    let unknown = format!(
        "{bare}?partner_code=nobody&partner_key={}",
        creds.partner_key
    );
    expect_td(
        &app.post(&unknown, None, good.clone()).await,
        11002,
        "Invalid partner_code or partner_key",
    );

    let p = path("token", &creds);
    let cases = [
        (json!({}), 11104, "Missing parameter"),
        (
            json!({"success_redirect": "not a url"}),
            11101,
            "Invalid success_redirect",
        ),
        (
            json!({"success_redirect": "https://ok.example", "failure_redirect": "ftp://x"}),
            11102,
            "Invalid failure_redirect",
        ),
        (
            json!({"success_redirect": "https://ok.example", "language": "klingon"}),
            11103,
            "Invalid parameter",
        ),
        (
            json!({"success_redirect": "https://ok.example", "audio": "loud"}),
            11103,
            "Invalid parameter",
        ),
    ];
    for (body, code, message) in cases {
        expect_td(&app.post(&p, None, body).await, code, message);
    }
    let r = app
        .send(reqwest::Method::POST, &p, None, Some(b"{oops".to_vec()))
        .await;
    expect_td(&r, 11100, "Invalid request body");

    app.patch_account(
        "acme",
        AccountPatch {
            allowed_domains: Some(vec!["ok.example".into()]),
            ..Default::default()
        },
    )
    .await;
    expect_td(
        &app.post(
            &p,
            None,
            json!({"success_redirect": "https://evil.example"}),
        )
        .await,
        11005,
        "Redirect domain not authorized",
    );
    app.patch_account(
        "acme",
        AccountPatch {
            daily_quota: Some(Some(1)),
            ..Default::default()
        },
    )
    .await;
    expect_td(&app.post(&p, None, good.clone()).await, 200, "success");
    expect_td(
        &app.post(&p, None, good.clone()).await,
        11301,
        "Daily quota exceeded",
    );
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    expect_td(
        &app.post(&p, None, good.clone()).await,
        11003,
        "Partner account disabled",
    );
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(false),
            rate_limit_per_second: Some(Some(1)),
            daily_quota: Some(None),
            ..Default::default()
        },
    )
    .await;
    let mut limited = None;
    for _ in 0..4 {
        let r = app.post(&p, None, good.clone()).await;
        if r.body["code"] == 11300 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("rate limit reached");
    expect_td(&r, 11300, "Rate limit exceeded");
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
    openliveness_server::admin::revoke_key(app.store.as_ref(), &creds.access_key)
        .await
        .unwrap();
    expect_td(
        &app.post(&p, None, good).await,
        11002,
        "Invalid partner_code or partner_key",
    );
}
both_backends!(td_errors_case, td_errors);
