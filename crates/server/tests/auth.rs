//! Token authentication and access-token checks, on both backends.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_store::{AccountPatch, NewToken, UsedSignature};
use serde_json::json;

#[test]
fn seed_signature_example() {
    assert_eq!(
        sign("sampleaccesskey", "samplesecretkey", "1665993522952"),
        "02209bbeaf0d0a3dd587f6a1ba22f84c98d142e3b545e77db7e4906ca56349f5"
    );
}

async fn generate_token_success(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let ts = now_ms();
    let r = app
        .generate_token_raw(json!({
            "accessKey": creds.access_key,
            "timestamp": ts,
            "signature": sign(&creds.access_key, &creds.secret_key, &ts.to_string()),
            "periodSecond": "120",
        }))
        .await;
    r.expect("SUCCESS", "OK");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["pricingStrategy"], "FREE");
    assert!(r.body["extra"].is_null());
    let txn = r.body["transactionId"].as_str().unwrap();
    assert!(!txn.is_empty() && txn.len() <= 64);
    assert_eq!(r.headers["x-transaction-id"], txn);
    assert_eq!(r.headers["cache-control"], "no-store");
    let expired = r.body["data"]["expiredTime"].as_i64().unwrap();
    assert!(
        (expired - (ts + 120_000)).abs() < 5_000,
        "expiredTime {expired}"
    );
    let token = r.body["data"]["token"].as_str().unwrap();
    // The token works, and is stored only as a hash.
    app.session(token).await;
    let hashed = openliveness_server::state::sha256_hex(token.as_bytes());
    assert!(app.store.token_context(&hashed).await.unwrap().is_some());
    assert!(app.store.token_context(token).await.unwrap().is_none());
}
both_backends!(generate_token_success_case, generate_token_success);

async fn generate_token_errors(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let (ak, sk) = (creds.access_key.as_str(), creds.secret_key.as_str());
    let ts = now_ms().to_string();
    let good = sign(ak, sk, &ts);

    for missing in ["accessKey", "timestamp", "signature"] {
        let mut body = json!({"accessKey": ak, "timestamp": ts, "signature": good});
        body.as_object_mut().unwrap().remove(missing);
        app.generate_token_raw(body)
            .await
            .expect("PARAMETER_ERROR", "Parameter should not be empty");
    }
    let old = (now_ms() - 301_000).to_string();
    let future = (now_ms() + 301_000).to_string();
    for bad_ts in [
        old.as_str(),
        future.as_str(),
        "123456789012",
        "16659935229520",
        "abc",
    ] {
        app.generate_token_raw(
            json!({"accessKey": ak, "timestamp": bad_ts, "signature": sign(ak, sk, bad_ts)}),
        )
        .await
        .expect("PARAMETER_ERROR", "Timestamp error");
    }
    app.generate_token_raw(
        json!({"accessKey": ak, "timestamp": ts, "signature": sign(ak, "wrong", &ts)}),
    )
    .await
    .expect("PARAMETER_ERROR", "Signature error");
    app.generate_token_raw(json!({"accessKey": ak, "timestamp": ts, "signature": "zz"}))
        .await
        .expect("PARAMETER_ERROR", "Signature error");
    for period in [json!(59), json!(86_401), json!("x")] {
        app.generate_token_raw(
            json!({"accessKey": ak, "timestamp": ts, "signature": good, "periodSecond": period}),
        )
        .await
        .expect("PARAMETER_ERROR", "Parameter error,please check you input.");
    }
    // Accepted once; the same signature again is a replay.
    app.generate_token_raw(
        json!({"accessKey": ak, "timestamp": ts, "signature": good.to_uppercase()}),
    )
    .await
    .expect("SUCCESS", "OK");
    app.generate_token_raw(json!({"accessKey": ak, "timestamp": ts, "signature": good}))
        .await
        .expect("PARAMETER_ERROR", "Signature error");

    app.generate_token_raw(
        json!({"accessKey": "nobody", "timestamp": ts, "signature": sign("nobody", sk, &ts)}),
    )
    .await
    .expect("IAM_FAILED", "Access Key not found");

    let ts2 = (now_ms() - 1).to_string();
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    app.generate_token_raw(
        json!({"accessKey": ak, "timestamp": ts2, "signature": sign(ak, sk, &ts2)}),
    )
    .await
    .expect("ACCOUNT_DISABLED", "Account Disabled");
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(false),
            expires_at: Some(Some(now_ms() - 1000)),
            ..Default::default()
        },
    )
    .await;
    let ts3 = (now_ms() - 2).to_string();
    app.generate_token_raw(
        json!({"accessKey": ak, "timestamp": ts3, "signature": sign(ak, sk, &ts3)}),
    )
    .await
    .expect(
        "IAM_FAILED",
        "Account is expired. Please contact your sales manager for help",
    );

    openliveness_server::admin::revoke_key(app.store.as_ref(), ak)
        .await
        .unwrap();
    let ts4 = (now_ms() - 3).to_string();
    app.generate_token_raw(
        json!({"accessKey": ak, "timestamp": ts4, "signature": sign(ak, sk, &ts4)}),
    )
    .await
    .expect("IAM_FAILED", "Access Key not found or expired");
}
both_backends!(generate_token_errors_case, generate_token_errors);

async fn access_token_checks(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let body = json!({"returnUrl": "https://www.example.com", "region": "IDN"});
    let r = app
        .post("/openapi/liveness/v2/h5/token", None, body.clone())
        .await;
    r.expect(
        "IAM_FAILED",
        "You are not authorized by the Identity and Access Management system",
    );
    app.get_token("olat_not-a-token", body.clone())
        .await
        .expect("IAM_FAILED", "Token not found or expired");

    // An expired token, as the store would hold it after its period ran out.
    let expired = "olat_expired_token_for_test";
    app.store
        .issue_token(
            UsedSignature {
                signature_hash: "s".repeat(64),
                expires_at: now_ms() + 60_000,
            },
            NewToken {
                token_hash: openliveness_server::state::sha256_hex(expired.as_bytes()),
                access_key: creds.access_key.clone(),
                account_id: app.store.account_by_name("acme").await.unwrap().unwrap().id,
                expires_at: now_ms() - 1,
                created_at: now_ms() - 61_000,
            },
        )
        .await
        .unwrap();
    app.get_token(expired, body.clone())
        .await
        .expect("IAM_FAILED", "Token not found or expired");

    let token = app.token(&creds).await;
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    app.get_token(&token, body.clone()).await.expect(
        "IAM_FAILED",
        "Account is disabled. Please contact your sales manager for help",
    );
    app.patch_account(
        "acme",
        AccountPatch {
            disabled: Some(false),
            ..Default::default()
        },
    )
    .await;
    app.session(&token).await;
    openliveness_server::admin::revoke_key(app.store.as_ref(), &creds.access_key)
        .await
        .unwrap();
    app.get_token(&token, body)
        .await
        .expect("IAM_FAILED", "Access Key not found or expired");
}
both_backends!(access_token_checks_case, access_token_checks);

async fn rate_limit(app: &TestApp) {
    let creds = app
        .create_account(openliveness_store::NewAccount {
            rate_limit_per_second: Some(3),
            ..account("busy")
        })
        .await;
    let token = app.token(&creds).await; // 1
    let body = json!({"returnUrl": "https://www.example.com", "region": "IDN"});
    let mut codes = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        let r = app.get_token(&token, body.clone()).await;
        if r.code() == "SERVICE_BUSY" {
            limited = Some(r);
            break;
        }
        codes.push(r.code().to_owned());
    }
    let r = limited.unwrap_or_else(|| panic!("never limited: {codes:?}"));
    r.expect(
        "SERVICE_BUSY",
        "Rate limit is exceeded, please retry after the suggested time in HTTP Header.",
    );
    assert_eq!(r.status, 429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Another account is not affected.
    let other = app.create_account(account("calm")).await;
    let t2 = app.token(&other).await;
    app.session(&t2).await;
}
both_backends!(rate_limit_case, rate_limit);
