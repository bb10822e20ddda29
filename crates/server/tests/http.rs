//! The HTTP edge: client errors as JSON envelopes, capacity limits, internal errors,
//! health and the OpenAPI document.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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

/// `/readyz` is 200 with every check passed; it turns 503, naming the check, when the blob
/// store no longer opens with this master key. A server started with another master key
/// than the one that sealed the stored API secrets does not start at all.
async fn readiness(app: &TestApp) {
    let r = app.send(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("ready")),
        "{}",
        r.body
    );
    for check in ["database", "blobStore", "masterKey", "models"] {
        assert_eq!(r.body["checks"][check]["ok"], true, "{check}: {}", r.body);
    }
    let creds = app.create_account(account("acme")).await;
    assert!(!creds.access_key.is_empty());

    // Another master key on the same database: refused at start-up, saying why.
    let mut config = openliveness_server::config::Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: app.data_dir.path().to_path_buf(),
        master_key: Some(openliveness_server::config::Secret::new(
            openliveness_store::Sealer::generate_hex(),
        )),
        ..Default::default()
    };
    config.database_url = app.database_url().map(str::to_owned);
    let refused = openliveness_server::Application::build_with_engine(config, engine())
        .await
        .err()
        .expect("a server with another master key does not start");
    assert!(refused.to_string().contains("master key"), "{refused:#}");

    // The blob store's marker replaced (as if another key had sealed the store): not ready.
    std::fs::write(
        app.data_dir.path().join("blobs/key-check"),
        b"sealed by someone else",
    )
    .unwrap();
    let r = app.send(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["status"], "not ready");
    assert_eq!(r.body["checks"]["blobStore"]["ok"], false);
    assert!(
        r.body["checks"]["blobStore"]["error"]
            .as_str()
            .unwrap()
            .contains("master key"),
        "{}",
        r.body
    );
    assert_eq!(r.body["checks"]["database"]["ok"], true);
}
both_backends!(readiness_case, readiness);

/// `/metrics` is Prometheus text that counts requests by route pattern (never by raw path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route() {
    let app = spawn(Backend::Sqlite).await;
    app.send(reqwest::Method::GET, "/healthz", None, None).await;
    app.send(reqwest::Method::GET, "/no/such/path/12345", None, None)
        .await;
    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    let counted = |labels: &[&str]| {
        text.lines().any(|l| {
            l.starts_with("openliveness_http_requests_total{")
                && labels.iter().all(|label| l.contains(label))
        })
    };
    assert!(
        counted(&[r#"route="/healthz""#, r#"method="GET""#, r#"status="200""#]),
        "{text}"
    );
    assert!(
        counted(&[r#"route="unmatched""#, r#"status="404""#]),
        "{text}"
    );
    for needle in [
        "# TYPE openliveness_http_requests_total counter",
        "# TYPE openliveness_http_request_duration_seconds histogram",
        "openliveness_webhook_backlog",
        "openliveness_blob_deletions_pending",
        "openliveness_api_in_flight",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("12345"), "raw paths never become labels");
    app.cleanup().await;
}

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
    let app = spawn_with(Backend::Sqlite, |c| c.max_in_flight = 0).await;
    let r = app.generate_token_raw(json!({"accessKey": "a"})).await;
    r.expect(
        "RETRY_LATER",
        "Query failed, please retry after the suggested time in HTTP Header.",
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["retry-after"], "1");
    app.cleanup().await;
}

/// Writes `head` on a fresh socket and returns what the server answers before it closes
/// the connection or `within` passes (then: what arrived so far).
fn raw_exchange(addr: &str, head: &[u8], within: std::time::Duration) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(within)).unwrap();
    s.write_all(head).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON body of a raw HTTP/1.1 answer.
fn raw_body(answer: &str) -> serde_json::Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON answer: {answer:?}"))
}

/// A request that is slow to send its body holds its connection, never one of the API's
/// in-flight slots, and is answered 408 (connection closed) when its body deadline passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_holds_no_slot_and_times_out() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.max_in_flight = 1;
        c.body_read_timeout_ms = 1500;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let slow = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let answer = raw_exchange(
            &addr,
            b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            std::time::Duration::from_secs(20),
        );
        (answer, started.elapsed())
    });
    // While the slow body trickles, the one slot stays free for others.
    for _ in 0..5 {
        let r = app.generate_token_raw(json!({"accessKey": "a"})).await;
        assert_eq!(r.code(), "PARAMETER_ERROR", "{}", r.body);
    }
    let (answer, took) = slow.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert_eq!(raw_body(&answer)["code"], "CLIENT_ERROR");
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    app.cleanup().await;
}

/// A declared body over the limit is refused at once with 413, not after the body
/// deadline; oversize request targets and heads, and the live route without an Upgrade,
/// get the JSON envelope with a transaction id like every other refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_requests_get_envelopes_at_once() {
    let app = spawn_with(Backend::Sqlite, |c| c.body_read_timeout_ms = 30_000).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        let within = std::time::Duration::from_secs(10);
        let started = std::time::Instant::now();
        let big_body = raw_exchange(
            &addr,
            b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n\
              Content-Length: 1000000\r\n\r\n",
            within,
        );
        let big_body_took = started.elapsed();
        let long_uri = raw_exchange(
            &addr,
            format!("GET /healthz?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(10_000))
                .as_bytes(),
            within,
        );
        let big_head = raw_exchange(
            &addr,
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "b".repeat(20_000))
                .as_bytes(),
            within,
        );
        let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
        let many_headers = raw_exchange(
            &addr,
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n").as_bytes(),
            within,
        );
        let no_upgrade = raw_exchange(
            &addr,
            b"GET /h5/liveness/ws?signatureId=x&token=y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            within,
        );
        (big_body, big_body_took, long_uri, big_head, many_headers, no_upgrade)
    })
    .await
    .unwrap();
    let (big_body, big_body_took, long_uri, big_head, many_headers, no_upgrade) = answers;
    assert!(big_body.starts_with("HTTP/1.1 413"), "{big_body}");
    assert!(
        big_body_took < std::time::Duration::from_secs(5),
        "{big_body_took:?}"
    );
    for (answer, status) in [
        (&big_body, "413"),
        (&long_uri, "414"),
        (&big_head, "431"),
        (&many_headers, "431"),
        (&no_upgrade, "4"),
    ] {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        let body = raw_body(answer);
        assert_eq!(body["code"], "CLIENT_ERROR", "{answer}");
        assert_eq!(
            body["transactionId"].as_str().map(str::len),
            Some(16),
            "{answer}"
        );
    }
    app.cleanup().await;
}

/// An object naming a key twice is refused as a parameter error, in either order, so no
/// reader can be made to see another value than the one checked.
async fn repeated_keys(app: &TestApp) {
    for body in [
        r#"{"accessKey":"bogus","accessKey":"other","timestamp":"1","signature":"s"}"#,
        r#"{"accessKey":"a","timestamp":"1","timestamp":"2","signature":"s"}"#,
    ] {
        let r = app
            .send(
                reqwest::Method::POST,
                "/openapi/auth/ticket/v1/generate-token",
                None,
                Some(body.as_bytes().to_vec()),
            )
            .await;
        r.expect("PARAMETER_ERROR", "Parameter error,please check you input.");
    }
}
both_backends!(repeated_keys_case, repeated_keys);

/// More idle, header-trickling and slow-body sockets than the connection limit: the server
/// closes the ones idle longest, and `/healthz` and the API keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_past_the_limit_cannot_lock_clients_out() {
    const LIMIT: usize = 32;
    let app = spawn_with(Backend::Sqlite, |c| {
        c.max_connections = LIMIT;
        c.header_read_timeout_ms = 60_000;
        c.body_read_timeout_ms = 60_000;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for round in 0..3 {
        // Five times the limit: a third silent, a third sending the start of a request's
        // head, a third a whole head and the first byte of a body, then nothing.
        for i in 0..LIMIT * 5 {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            let start: &[u8] = match i % 3 {
                0 => b"",
                1 => b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                _ => {
                    b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n\
                       Content-Length: 100\r\n\r\n{"
                }
            };
            s.write_all(start).unwrap();
            held.push(s);
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap();
        let health = client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: /healthz did not answer: {e}"));
        assert_eq!(health.status(), 200);
        let api = client
            .post(format!(
                "{}/openapi/auth/ticket/v1/generate-token",
                app.base
            ))
            .body(r#"{"accessKey":"a"}"#)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the API did not answer: {e}"));
        let body: serde_json::Value = api.json().await.unwrap();
        assert_eq!(body["code"], "PARAMETER_ERROR");
    }
    // The server closed the sockets idle longest: the first ones read end-of-stream.
    let first = held.swap_remove(0);
    first
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let n = (&first).read(&mut [0u8; 64]).unwrap_or(usize::MAX);
    assert_eq!(n, 0, "the oldest idle socket was not closed");
    app.cleanup().await;
}

/// A client that starts a request and stops, or keeps a connection open without a next
/// request, is disconnected after the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_idle_connections_are_closed() {
    let app = spawn_with(Backend::Sqlite, |c| c.header_read_timeout_ms = 500).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let (stalled, idle) = tokio::task::spawn_blocking(move || {
        let within = std::time::Duration::from_secs(10);
        let started = std::time::Instant::now();
        let _ = raw_exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", within);
        let stalled = started.elapsed();
        // A complete request on a kept-alive connection, then nothing.
        let started = std::time::Instant::now();
        let answer = raw_exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", within);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        (stalled, started.elapsed())
    })
    .await
    .unwrap();
    assert!(
        stalled < std::time::Duration::from_secs(5),
        "stalled head held {stalled:?}"
    );
    assert!(
        idle < std::time::Duration::from_secs(5),
        "idle connection held {idle:?}"
    );
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

/// The OpenAPI document served by the binary names every operation the router serves.
#[tokio::test]
async fn openapi_lists_every_route() {
    let app = spawn(Backend::Sqlite).await;
    let r = app
        .send(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(r.status, 200);
    let paths = r.body["paths"].as_object().expect("paths");
    // The router's own table, not a list kept here (the unit test checks both ways).
    for (method, route) in openliveness_server::api::route_table() {
        let path = openliveness_server::openapi::openapi_path(route);
        let op = method.as_str().to_ascii_lowercase();
        assert!(
            paths.get(&path).and_then(|p| p.get(&op)).is_some(),
            "{method} {path} missing from the served openapi.json"
        );
    }
    app.cleanup().await;
}
