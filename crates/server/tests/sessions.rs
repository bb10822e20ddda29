//! Get Token: validation, regions, domains, quota, balance, the session page; both backends.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_store::NewAccount;
use serde_json::json;

const PARAM: &str = "Parameter error,please check you input.";

async fn get_token_validation(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let ok_url = "https://www.example.com/done";
    let cases = [
        (
            json!({"region": "IDN"}),
            "PARAMETER_ERROR",
            "Parameter should not be empty",
        ),
        (
            json!({"returnUrl": ok_url}),
            "PARAMETER_ERROR",
            "Parameter should not be empty",
        ),
        (
            json!({"returnUrl": "", "region": "IDN"}),
            "PARAMETER_ERROR",
            "Parameter should not be empty",
        ),
        (
            json!({"returnUrl": "www.example.com", "region": "IDN"}),
            "PARAMETER_ERROR",
            "Invalid returnUrl,please check your returnUrl",
        ),
        (
            json!({"returnUrl": "javascript:alert(1)", "region": "IDN"}),
            "PARAMETER_ERROR",
            "Invalid returnUrl,please check your returnUrl",
        ),
        (
            json!({"returnUrl": ok_url, "failedReturnUrl": "/fail", "region": "IDN"}),
            "PARAMETER_ERROR",
            "Invalid failedReturnUrl, please check your failedReturnUrl",
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "tryCount": 0}),
            "PARAMETER_ERROR",
            "try count must > 0",
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "tryCount": "-2"}),
            "PARAMETER_ERROR",
            "try count must > 0",
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "tryCount": "many"}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "tryCount": 1001}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "productLevel": "GOLD"}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "userId": "u".repeat(129)}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": "IDN", "locale": "xx"}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": ["IDN"]}),
            "PARAMETER_ERROR",
            PARAM,
        ),
        (
            json!({"returnUrl": ok_url, "region": "PHL"}),
            "REGION_WRONG",
            "Region is wrong",
        ),
        (
            json!({"returnUrl": ok_url, "region": "Indonesia"}),
            "REGION_WRONG",
            "Region is wrong",
        ),
    ];
    for (body, code, message) in cases {
        let r = app.get_token(&t, body.clone()).await;
        assert_eq!(
            (r.code(), r.message()),
            (code, message),
            "body {body}: {}",
            r.body
        );
        assert_eq!(r.status, 200);
    }
    // The seed's own example: tryCount as a number, iframe mode in the URLs, lower-case region.
    let r = app
        .get_token(
            &t,
            json!({
                "returnUrl": "https://www.example-success.com/?id=123&isLivenessIframe=true",
                "tryCount": 1000,
                "region": "idn",
                "failedReturnUrl": "https://www.example-fail.com/?id=123&isLivenessIframe=true",
                "productLevel": "PRO",
                "userId": "user-42"
            }),
        )
        .await;
    r.expect("SUCCESS", "OK");
    let sid = r.body["data"]["signatureId"].as_str().unwrap();
    let s = app.store.session(sid).await.unwrap().unwrap();
    assert!(s.new.iframe);
    assert_eq!(s.new.try_count, 1000);
    assert_eq!(s.new.region, "IDN");
    assert_eq!(s.new.product_level, "PRO");
    assert_eq!(s.new.user_id.as_deref(), Some("user-42"));
    assert!(s.new.expires_at - s.new.created_at == 3_600_000);
}
both_backends!(get_token_validation_case, get_token_validation);

async fn session_url_is_a_capability(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, url) = app.session(&t).await;
    assert!(url.starts_with(&app.base), "{url}");
    assert!(url.contains(&sid));
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors"), "{csp}");
    assert!(page.text().await.unwrap().contains("id=\"ol-boot\""));
    // A changed capability, or none, opens nothing.
    let forged = format!("{}0", &url[..url.len() - 1]);
    let forged = if forged == url {
        format!("{}1", &url[..url.len() - 1])
    } else {
        forged
    };
    assert_eq!(app.client.get(&forged).send().await.unwrap().status(), 404);
    let bare = format!("{}/h5/liveness?signatureId={sid}", app.base);
    assert_eq!(app.client.get(&bare).send().await.unwrap().status(), 404);
    // The stored session keeps only a hash of the capability.
    let s = app.store.session(&sid).await.unwrap().unwrap();
    let cap = url.rsplit("token=").next().unwrap();
    assert_ne!(s.new.capability_hash, cap);
    assert_eq!(
        s.new.capability_hash,
        openliveness_server::state::sha256_hex(cap.as_bytes())
    );
}
both_backends!(session_url_case, session_url_is_a_capability);

async fn allowed_domains(app: &TestApp) {
    let creds = app
        .create_account(NewAccount {
            allowed_domains: vec!["example.com".into()],
            ..account("acme")
        })
        .await;
    let t = app.token(&creds).await;
    for (ret, failed) in [
        ("https://evil.org/x", None),
        ("https://example.com.evil.org/x", None),
        ("https://pay.example.com/x", Some("https://evil.org/fail")),
    ] {
        let mut body = json!({"returnUrl": ret, "region": "IDN"});
        if let Some(f) = failed {
            body["failedReturnUrl"] = json!(f);
        }
        app.get_token(&t, body)
            .await
            .expect("IAM_FAILED", "Account not authorized for this domain");
    }
    app.get_token(&t, json!({"returnUrl": "https://pay.example.com/x", "failedReturnUrl": "https://example.com/f", "region": "SGP"}))
        .await
        .expect("SUCCESS", "OK");
}
both_backends!(allowed_domains_case, allowed_domains);

async fn daily_quota(app: &TestApp) {
    let creds = app
        .create_account(NewAccount {
            daily_quota: Some(2),
            ..account("acme")
        })
        .await;
    let t = app.token(&creds).await;
    app.session(&t).await;
    app.session(&t).await;
    let body = json!({"returnUrl": "https://www.example.com", "region": "IDN"});
    app.get_token(&t, body.clone()).await.expect(
        "OVER_QUERY_LIMIT",
        "Quota exceeded. you have exceeded free query quota, please contact your sales manager for help",
    );
    // A refused call is not counted, and nothing was created for it.
    let id = app.store.account_by_name("acme").await.unwrap().unwrap().id;
    assert_eq!(app.store.sessions_today(id, now_ms()).await.unwrap(), 2);
}
both_backends!(daily_quota_case, daily_quota);

async fn insufficient_balance(app: &TestApp) {
    let creds = app
        .create_account(NewAccount {
            balance: Some(0),
            ..account("acme")
        })
        .await;
    let t = app.token(&creds).await;
    app.get_token(
        &t,
        json!({"returnUrl": "https://www.example.com", "region": "IDN"}),
    )
    .await
    .expect(
        "INSUFFICIENT_BALANCE",
        "Insufficient balance, please top up or contact your sales manager for help",
    );
}
both_backends!(insufficient_balance_case, insufficient_balance);
