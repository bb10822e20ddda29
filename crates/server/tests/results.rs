//! Get Result, clear-data and ConfigureUI on both backends.
//!
//! Sessions are finished here through the store, the way the liveness core records a
//! verdict; the verdict itself is tested with the liveness protocol.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use base64::Engine as _;
use common::verdict::*;
use common::*;
use openliveness_liveness::{AttackType, QualityOutcome, SignalOutcome, SignalReport, Verdict};
use openliveness_store::{
    AccountPatch, NewAccount, Outcome, QualityIssue, SessionResult, SessionStatus,
};
use serde_json::json;

const FAR: &[u8] = b"\xff\xd8\xff far jpeg";
const NEAR: &[u8] = b"\xff\xd8\xff near jpeg";

/// Records a verdict for `sid` with stored far/near images, as the liveness core does.
async fn finish(app: &TestApp, sid: &str, outcome: Outcome, score: Option<i64>) -> Vec<String> {
    let far = app.blobs.put(FAR.to_vec()).await.unwrap();
    let near = app.blobs.put(NEAR.to_vec()).await.unwrap();
    let status = if outcome == Outcome::Judged && score.unwrap_or(0) >= 50 {
        SessionStatus::Passed
    } else {
        SessionStatus::Failed
    };
    app.store
        .finish_session(
            sid,
            None,
            status,
            SessionResult {
                outcome,
                score,
                attack_type: score.filter(|s| *s == 0).map(|_| 2),
                signals: Some("[]".into()),
                image_far_blob: Some(far.clone()),
                image_near_blob: Some(near.clone()),
                far_image_time: Some(1_713_247_589_908),
                near_image_time: Some(1_713_247_593_101),
                ..SessionResult::of(outcome)
            },
            now_ms(),
        )
        .await
        .unwrap();
    vec![far, near]
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn get_result_codes(app: &TestApp) {
    let creds = app
        .create_account(NewAccount {
            balance: Some(2),
            ..account("acme")
        })
        .await;
    let t = app.token(&creds).await;
    app.post("/openapi/liveness/v4/h5/get-result", Some(&t), json!({}))
        .await
        .expect("PARAMETER_ERROR", "Parameter should not be empty");
    app.get_result(&t, "f302f5d2454a85c2")
        .await
        .expect("SIGNATURE_NOT_EXIST", "This signatureId is not exist");
    let (sid, _) = app.session(&t).await;
    app.get_result(&t, &sid)
        .await
        .expect("LIVENESS_NO_RESULT", "This token has no detection result");

    // Another account cannot see it.
    let other = app.create_account(account("other")).await;
    let t2 = app.token(&other).await;
    app.get_result(&t2, &sid)
        .await
        .expect("SIGNATURE_NOT_EXIST", "This signatureId is not exist");

    finish(app, &sid, Outcome::Judged, Some(97)).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("SUCCESS", "OK");
    assert_eq!(r.body["pricingStrategy"], "PAY");
    let d = &r.body["data"];
    assert_eq!(d["image"], b64(FAR));
    assert_eq!(d["imageFar"], b64(FAR));
    assert_eq!(d["imageNear"], b64(NEAR));
    assert_eq!(d["farImageTime"], 1_713_247_589_908i64);
    assert_eq!(d["nearImageTime"], 1_713_247_593_101i64);
    assert_eq!(d["score"], 97);
    assert_eq!(d["cameraType"], "WEB_CAMERA");
    assert!(d["attackType"].is_null());
    assert!(d["video"].is_null(), "video is off for this account");
    assert_eq!(d["multiDevice"], false);
    assert_eq!(d["useSlaveUrl"], false);
    assert!(d.get("auditImageUrl").is_some(), "auditImageUrl present");
    // A record without a verdict in it: served without `decision`, not refused.
    assert!(d.get("decision").is_none(), "data: {d}");
    // Each SUCCESS is billable: balance 2 → 1 → 0 → refused.
    app.get_result(&t, &sid).await.expect("SUCCESS", "OK");
    let r = app.get_result(&t, &sid).await;
    r.expect(
        "INSUFFICIENT_BALANCE",
        "Insufficient balance, please top up or contact your sales manager for help",
    );
    assert_eq!(r.body["pricingStrategy"], "FREE");
    let acct = app.store.account_by_name("acme").await.unwrap().unwrap();
    assert_eq!(acct.balance, Some(0));
}
both_backends!(get_result_codes_case, get_result_codes);

async fn quality_codes_and_attacks(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, _) = app.session(&t).await;
    finish(app, &sid, Outcome::Quality(QualityIssue::NoFace), None).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("NO_FACE_DETECTED", "No face detected from the image.");
    assert_eq!(r.body["pricingStrategy"], "FREE");
    assert!(r.body["data"]["score"].is_null());
    assert_eq!(r.body["data"]["image"], b64(FAR));

    let (sid, _) = app.session(&t).await;
    finish(app, &sid, Outcome::Judged, Some(0)).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("SUCCESS", "OK");
    assert_eq!(r.body["data"]["score"], 0);
    assert_eq!(r.body["data"]["attackType"], 2);

    // The account loses the session's country: its results are no longer served.
    app.patch_account(
        "acme",
        AccountPatch {
            regions: Some(vec!["SGP".into()]),
            ..Default::default()
        },
    )
    .await;
    app.get_result(&t, &sid)
        .await
        .expect("IAM_FAILED", "Account not authorized for this country");
}
both_backends!(quality_codes_case, quality_codes_and_attacks);

/// The keys of Get Result's `data` in the seed; `decision` must leave them as they are.
const VENDOR_KEYS: [&str; 12] = [
    "image",
    "imageFar",
    "imageNear",
    "farImageTime",
    "nearImageTime",
    "auditImageUrl",
    "score",
    "cameraType",
    "video",
    "multiDevice",
    "useSlaveUrl",
    "attackType",
];

async fn decision_served(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, _) = app.session(&t).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("LIVENESS_NO_RESULT", "This token has no detection result");
    assert!(r.body["data"].is_null() && r.body["extra"].is_null());

    // A genuine try judged by the real verdict: every signal it emitted comes back.
    let (challenge, verdict) = genuine_try(7);
    assert_eq!(
        verdict.quality, None,
        "the synthetic subject's face is judgeable"
    );
    app.finish_with_verdict(&sid, &challenge, &verdict).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("SUCCESS", "OK");
    assert!(
        r.body["extra"].is_null(),
        "extra stays the vendor's: {}",
        r.body
    );
    let d = &r.body["data"];
    assert_vendor_keys_and_decision(d, &VENDOR_KEYS);
    assert_eq!(d["score"], verdict.score);
    assert_decision(&d["decision"], &challenge, &verdict, Casing::Advance);
    // The OpenAPI document describes what is served.
    assert_schema_matches(app, "Decision", &d["decision"]).await;
    assert_schema_matches(app, "DecisionSignal", &d["decision"]["signals"][0]).await;
}
both_backends!(decision_served_case, decision_served);

fn signal(name: &str, value: Option<f32>, weight: u8, outcome: SignalOutcome) -> SignalReport {
    let deduction = match outcome {
        SignalOutcome::Ok | SignalOutcome::Quality(_) => 0,
        _ => weight,
    };
    SignalReport {
        name: name.into(),
        value,
        weight,
        deduction,
        outcome,
        explanation: format!("why {name}"),
    }
}

async fn decision_of_attacks_and_quality(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;

    let injection = Verdict {
        score: 0,
        threshold: 50,
        passed: false,
        attack_type: Some(AttackType::Injection),
        quality: None,
        signals: vec![
            signal(
                "timing.burst",
                Some(12.0),
                100,
                SignalOutcome::Attack(AttackType::Injection),
            ),
            signal("pad.replay", Some(0.62), 7, SignalOutcome::Deducted),
            signal("identity.same_person", None, 30, SignalOutcome::NotMeasured),
            signal("action.0.blink", Some(0.71), 55, SignalOutcome::Ok),
        ],
    };
    let (sid, _) = app.session(&t).await;
    let challenge = some_challenge(3);
    app.finish_with_verdict(&sid, &challenge, &injection).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("SUCCESS", "OK");
    let d = &r.body["data"];
    assert_eq!(d["attackType"], 2);
    assert_decision(&d["decision"], &challenge, &injection, Casing::Advance);
    let first = &d["decision"]["signals"][0];
    assert_eq!(
        (first["outcome"].as_str(), first["attackType"].as_u64()),
        (Some("ATTACK"), Some(2))
    );
    assert_eq!(first["value"], 12.0);
    assert_eq!(
        d["decision"]["signals"][1]["value"], 0.62,
        "the decimal as the verdict wrote it"
    );

    let no_face = Verdict {
        score: 0,
        threshold: 50,
        passed: false,
        attack_type: None,
        quality: Some(QualityOutcome::NoFace),
        signals: vec![signal(
            "faces.count",
            Some(2.0),
            100,
            SignalOutcome::Quality(QualityOutcome::NoFace),
        )],
    };
    let (sid, _) = app.session(&t).await;
    app.finish_with_verdict(&sid, &challenge, &no_face).await;
    let r = app.get_result(&t, &sid).await;
    r.expect("NO_FACE_DETECTED", "No face detected from the image.");
    let d = &r.body["data"];
    assert_vendor_keys_and_decision(d, &VENDOR_KEYS);
    assert!(d["score"].is_null() && d["decision"]["score"].is_null());
    assert_decision(&d["decision"], &challenge, &no_face, Casing::Advance);
    assert_eq!(
        d["decision"]["signals"][0]["qualityCode"],
        "NO_FACE_DETECTED"
    );
}
both_backends!(decision_of_attacks_case, decision_of_attacks_and_quality);

async fn clear_data(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let clear = |q: String| {
        let t = t.clone();
        async move {
            app.send(
                reqwest::Method::GET,
                &format!("/liveness/h5/ext/v1/clear-data{q}"),
                Some(&t),
                None,
            )
            .await
        }
    };
    clear(String::new())
        .await
        .expect("PARAMETER_ERROR", "Parameter should not be empty");
    clear("?signatureId=".into())
        .await
        .expect("PARAMETER_ERROR", "Parameter should not be empty");
    clear("?signatureId=ac66706068e737b5".into()).await.expect(
        "PARAMETER_ERROR",
        "Parameter error, please check your request whether has illegal parameters",
    );
    let r = app
        .send(
            reqwest::Method::GET,
            "/liveness/h5/ext/v1/clear-data?signatureId=x",
            None,
            None,
        )
        .await;
    assert_eq!(r.code(), "IAM_FAILED");

    let r = app
        .get_token(
            &t,
            json!({"returnUrl": "https://www.example.com", "region": "IDN", "userId": "u-1"}),
        )
        .await;
    let sid = r.body["data"]["signatureId"].as_str().unwrap().to_owned();
    let blobs = finish(app, &sid, Outcome::Judged, Some(88)).await;
    app.get_result(&t, &sid).await.expect("SUCCESS", "OK");
    clear(format!("?signatureId={sid}"))
        .await
        .expect("SUCCESS", "OK");
    app.get_result(&t, &sid).await.expect(
        "RESULT_NOT_FOUND",
        "The requested resource was not found or has been deleted",
    );
    // The images are gone from disk; the verdict stays for audit; the user id is gone.
    for key in &blobs {
        assert!(
            app.blobs.get(key).await.is_err(),
            "blob {key} still readable"
        );
    }
    assert_eq!(
        app.store.pending_blob_deletions(10).await.unwrap(),
        Vec::<String>::new()
    );
    let s = app.store.session(&sid).await.unwrap().unwrap();
    assert!(s.cleared_at.is_some());
    assert_eq!(s.new.user_id, None);
    let r = s.result.unwrap();
    assert_eq!(r.score, Some(88));
    assert_eq!((r.image_far_blob, r.image_near_blob), (None, None));
    // Clearing again is harmless.
    clear(format!("?signatureId={sid}"))
        .await
        .expect("SUCCESS", "OK");
}
both_backends!(clear_data_case, clear_data);

async fn configure_ui(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let path = "/openapi/liveness/v1/h5/configureUI";
    let (before, _) = app.session(&t).await;
    let r = app
        .post(
            path,
            Some(&t),
            json!({
                "titleText": "Verify it's you",
                "locale": "id",
                "mobileLoadingPage": {"loadingText": "Memuat...", "loadingTextColor": "#ffffff", "progressColor": null},
                "mobileResultPage": {"showScore": true, "successDesc": "Berhasil"},
                "someFutureField": 1
            }),
        )
        .await;
    r.expect("SUCCESS", "OK");
    assert!(r.body["data"].is_null());
    let (after, _) = app.session(&t).await;
    let cfg_before = app
        .store
        .session(&before)
        .await
        .unwrap()
        .unwrap()
        .new
        .ui_config;
    let cfg_after = app
        .store
        .session(&after)
        .await
        .unwrap()
        .unwrap()
        .new
        .ui_config;
    assert_eq!(
        cfg_before, None,
        "a running session keeps its configuration"
    );
    let cfg: serde_json::Value = serde_json::from_str(&cfg_after.unwrap()).unwrap();
    assert_eq!(cfg["mobileLoadingPage"]["loadingText"], "Memuat...");
    assert_eq!(cfg["locale"], "id");
    assert!(cfg.get("someFutureField").is_none());

    let cases = [
        (
            json!({"mobileLoadingPage": {"progressColor": "red"}}),
            "M_PROGRESS_COLOR_WRONG_LOADING_PAGE",
            "Wrong format of the loading page progress color.",
        ),
        (
            json!({"mobileLoadingPage": {"loadingText": "x".repeat(51)}}),
            "M_LOADING_TEXT_TOO_LONG_LOADING_PAGE",
            "The loading text is too long of loading page.",
        ),
        (
            json!({"mobileResultPage": {"successIconLink": "http://x.com/i.png"}}),
            "M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE",
            "Wrong format of the success icon link at result page.",
        ),
        (
            json!({"mobileTipsPage": {"tips": [{"text":"a"},{"text":"b"},{"text":"c"},{"text":"d"},{"text":"e"}]}}),
            "M_TIPS_COUNT_OVERSTEP_TIPS_PAGE",
            "The number of prompts exceeds the limit, supporting up to four.",
        ),
    ];
    for (body, constant, message) in cases {
        let r = app.post(path, Some(&t), body).await;
        r.expect("PARAMETER_ERROR", message);
        assert_eq!(r.body["extra"], constant);
    }
    let r = app
        .post(
            path,
            Some(&t),
            json!({"mobileResultPage": {"showScore": 3}}),
        )
        .await;
    r.expect("PARAMETER_ERROR", "Parameter error,please check you input.");
    // Rejected calls changed nothing.
    let id = app.store.account_by_name("acme").await.unwrap().unwrap().id;
    let stored: serde_json::Value =
        serde_json::from_str(&app.store.ui_config(id).await.unwrap().unwrap()).unwrap();
    assert_eq!(stored["mobileResultPage"]["successDesc"], "Berhasil");
}
both_backends!(configure_ui_case, configure_ui);

async fn retention_purge(app: &TestApp) {
    let creds = app
        .create_account(NewAccount {
            retention_days: 7,
            ..account("acme")
        })
        .await;
    let keep = app
        .create_account(NewAccount {
            retention_days: 30,
            ..account("keeper")
        })
        .await;
    let t = app.token(&creds).await;
    let t2 = app.token(&keep).await;
    let (sid, _) = app.session(&t).await;
    let (kept, _) = app.session(&t2).await;
    let blobs = finish(app, &sid, Outcome::Judged, Some(90)).await;
    finish(app, &kept, Outcome::Judged, Some(90)).await;
    // Six days on nothing is due; eight days on the 7-day account's session is cleared.
    let day = 86_400_000;
    let r = openliveness_server::jobs::purge(app.store.as_ref(), &app.blobs, now_ms() + 6 * day)
        .await
        .unwrap();
    assert_eq!(r.sessions_cleared, 0);
    assert!(
        r.expired_records_purged >= 2,
        "tokens and signatures expired by then"
    );
    let r = openliveness_server::jobs::purge(app.store.as_ref(), &app.blobs, now_ms() + 8 * day)
        .await
        .unwrap();
    assert_eq!(r.sessions_cleared, 1);
    // The first pass purged the (by then expired) access tokens: fetch fresh ones.
    let (t, t2) = (app.token(&creds).await, app.token(&keep).await);
    app.get_result(&t, &sid).await.expect(
        "RESULT_NOT_FOUND",
        "The requested resource was not found or has been deleted",
    );
    for key in &blobs {
        assert!(app.blobs.get(key).await.is_err());
    }
    app.get_result(&t2, &kept).await.expect("SUCCESS", "OK");
}
both_backends!(retention_purge_case, retention_purge);
