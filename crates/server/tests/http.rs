//! The HTTP edge: client errors as JSON envelopes, capacity limits, internal errors,
//! health and the OpenAPI document.

mod common;

use std::io::{Read, Write};

use common::*;
use serde_json::json;

async fn client_errors(app: &TestApp) {
    use reqwest::Method;
    let r = app.send(Method::GET, "/no/such/route", None, None).await;
    r.expect("CLIENT_ERROR", "HTTP 404 - Not Found");
    assert_eq!(r.status, 404);
    let r = app
        .send(Method::GET, "/openapi/liveness/v2/h5/token", None, None)
        .await;
    r.expect("CLIENT_ERROR", "HTTP 405 - Method Not Allowed");
    assert_eq!(r.status, 405);
    let r = app
        .send(
            Method::POST,
            "/openapi/auth/ticket/v1/generate-token",
            None,
            Some(b"{\"accessKey\":".to_vec()),
        )
        .await;
    r.expect("CLIENT_ERROR", "HTTP 400 - Bad Request");
    assert_eq!(r.status, 400);
    let r = app
        .send(
            Method::POST,
            "/openapi/auth/ticket/v1/generate-token",
            None,
            Some(b"\xff\xfe".to_vec()),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "CLIENT_ERROR"));
    let r = app
        .send(
            Method::POST,
            "/openapi/auth/ticket/v1/generate-token",
            None,
            Some(vec![b' '; 70_000]),
        )
        .await;
    r.expect("CLIENT_ERROR", "HTTP 413 - Payload Too Large");
    let r = app
        .send(
            Method::POST,
            "/openapi/auth/ticket/v1/generate-token",
            None,
            Some(Vec::new()),
        )
        .await;
    r.expect("EMPTY_PARAMETER_ERROR", "Parameter should not be empty");
    assert_eq!(r.status, 200);
    // Every error carries a transaction id in body and header.
    assert_eq!(
        r.headers["x-transaction-id"],
        r.body["transactionId"].as_str().unwrap()
    );
}
both_backends!(client_errors_case, client_errors);

async fn health(app: &TestApp) {
    let r = app.send(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["store"], app.store.backend());
}
both_backends!(health_case, health);

#[tokio::test]
async fn postgres_tests_really_use_postgres() {
    let app = spawn(Backend::Postgres).await;
    assert_eq!(app.store.backend(), "postgres");
    let r = app.send(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(r.body["store"], "postgres");
    app.cleanup().await;
}

/// A server whose request capacity is used up answers RETRY_LATER with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_later_when_capacity_is_exhausted() {
    let app = spawn_with(Backend::Sqlite, |c| c.max_in_flight = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Hold the only slot: a request whose body never finishes arriving.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(
        b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let r = loop {
        let r = app.generate_token_raw(json!({"accessKey": "a"})).await;
        if r.code() == "RETRY_LATER" || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    r.expect(
        "RETRY_LATER",
        "Query failed, please retry after the suggested time in HTTP Header.",
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["retry-after"], "1");
    // Once the slow request ends, service resumes.
    tokio::task::spawn_blocking(move || {
        slow.write_all(&[b' '; 99]).unwrap();
        let mut buf = [0u8; 512];
        let _ = slow.read(&mut buf).unwrap();
    })
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = app.generate_token_raw(json!({"accessKey": "a"})).await;
        if r.code() == "PARAMETER_ERROR" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "capacity never freed: {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.cleanup().await;
}

/// A key sealed under another master key (a misconfigured replica) is a server error:
/// ERROR, HTTP 500, and no internal detail in the answer.
async fn internal_error(app: &TestApp) {
    openliveness_server::admin::create_account(app.store.as_ref(), account("acme"))
        .await
        .unwrap();
    let other =
        openliveness_store::Sealer::from_hex(&openliveness_store::Sealer::generate_hex()).unwrap();
    let creds = openliveness_server::admin::create_key(app.store.as_ref(), &other, "acme")
        .await
        .unwrap();
    let ts = now_ms().to_string();
    let r = app
        .generate_token_raw(json!({
            "accessKey": creds.access_key,
            "timestamp": ts,
            "signature": sign(&creds.access_key, &creds.secret_key, &ts),
        }))
        .await;
    r.expect("ERROR", "Server error");
    assert_eq!(r.status, 500);
    assert!(r.body["extra"].is_null());
    assert!(!r.body.to_string().contains("unseal"));
}
both_backends!(internal_error_case, internal_error);

/// The OpenAPI document served by the binary names every route the router serves.
#[tokio::test]
async fn openapi_lists_every_route() {
    let app = spawn(Backend::Sqlite).await;
    let r = app
        .send(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(r.status, 200);
    let paths = r.body["paths"].as_object().expect("paths");
    for route in [
        "/openapi/auth/ticket/v1/generate-token",
        "/openapi/liveness/v2/h5/token",
        "/openapi/liveness/v4/h5/get-result",
        "/openapi/liveness/v1/h5/configureUI",
        "/liveness/h5/ext/v1/clear-data",
        "/openapi/liveness/v1/h5/audit-image",
        "/h5/liveness/ws",
        "/verification/kyc/h5/liveness/token/v1",
        "/verification/kyc/h5/liveness/result/v1",
        "/h5/liveness",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(
            paths.contains_key(route),
            "{route} missing from openapi.json"
        );
    }
    app.cleanup().await;
}
