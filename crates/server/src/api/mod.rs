//! The HTTP surface: every route, the request middleware (transaction id, log line,
//! caching headers, in-flight limit) and the JSON answers for unknown routes and methods.
//!
//! Architecture invariant: only this crate knows HTTP and JSON; handlers parse outside
//! input into domain values and call the store, never SQL.

pub mod advance;
pub mod auth;
pub mod body;
pub mod configure_ui;
pub mod decision;
pub mod sessions;
pub mod trustdecision;

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::envelope::{new_transaction_id, with_transaction_id, TRANSACTION_HEADER};
use crate::error::ApiError;
use crate::state::AppState;

/// One route: its method, its path (axum's syntax) and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

pub(crate) fn route(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        handler,
    }
}

/// Every route the service serves, in one table: the router is built from it and the
/// OpenAPI document is checked against it (`openapi::tests`), so neither can drift.
pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route(
            Method::POST,
            "/openapi/auth/ticket/v1/generate-token",
            post(advance::generate_token),
        ),
        route(
            Method::POST,
            "/openapi/liveness/v2/h5/token",
            post(advance::get_token),
        ),
        route(
            Method::POST,
            "/openapi/liveness/v4/h5/get-result",
            post(advance::get_result),
        ),
        route(
            Method::POST,
            "/openapi/liveness/v1/h5/configureUI",
            post(advance::configure_ui),
        ),
        route(
            Method::GET,
            "/liveness/h5/ext/v1/clear-data",
            get(advance::clear_data),
        ),
        route(
            Method::GET,
            "/openapi/liveness/v1/h5/audit-image",
            get(advance::audit_image),
        ),
        route(
            Method::POST,
            "/verification/kyc/h5/liveness/token/v1",
            post(trustdecision::token),
        ),
        route(
            Method::POST,
            "/verification/kyc/h5/liveness/result/v1",
            post(trustdecision::result),
        ),
        route(Method::GET, "/healthz", get(healthz)),
        route(Method::GET, "/readyz", get(readyz)),
        route(Method::GET, "/metrics", get(crate::telemetry::serve)),
        route(Method::GET, "/openapi.json", get(crate::openapi::serve)),
    ];
    all.extend(crate::page::routes());
    all
}

/// The method and path of every route, as [`routes`] lists them.
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().into_iter().map(|r| (r.method, r.path)).collect()
}

pub fn router(state: AppState) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
}

/// Refuses a request whose target or head is larger than we answer.
fn check_head(req: &Request) -> Result<(), ApiError> {
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err(ApiError::Client(StatusCode::URI_TOO_LONG));
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if head > MAX_HEADER_BYTES || req.headers().len() > MAX_HEADER_COUNT {
        return Err(ApiError::Client(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ));
    }
    Ok(())
}

/// Reads the request body in full: a declared length over the limit is refused at once
/// (413), a body that does not arrive within `deadline` gets 408 and the connection is
/// closed. WebSocket upgrades and bodiless requests pass untouched.
async fn read_body(req: Request, deadline: std::time::Duration) -> Result<Request, Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return Ok(req);
    }
    let close = |status: StatusCode| {
        let mut resp = ApiError::Client(status).into_response();
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    };
    if declared.is_some_and(|n| n > body::MAX_JSON_BODY as u64) {
        return Err(close(StatusCode::PAYLOAD_TOO_LARGE));
    }
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, body::MAX_JSON_BODY);
    match tokio::time::timeout(deadline, read).await {
        Err(_) => Err(close(StatusCode::REQUEST_TIMEOUT)),
        Ok(Err(e)) => {
            if e.into_inner().is::<http_body_util::LengthLimitError>() {
                Err(close(StatusCode::PAYLOAD_TOO_LARGE))
            } else {
                Err(close(StatusCode::BAD_REQUEST))
            }
        }
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
    }
}

async fn not_found() -> ApiError {
    ApiError::Client(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::Client(StatusCode::METHOD_NOT_ALLOWED)
}

async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.store.ping().await?;
    Ok(crate::envelope::json_response(&serde_json::json!({
        "status": "ok",
        "store": state.store.backend(),
        "rateLimiter": state.limiter.backend(),
        "version": env!("CARGO_PKG_VERSION"),
    })))
}

/// `GET /readyz`: 200 only when this replica can serve every request — the database answers,
/// the blob store answers and opens its key-check marker, and the master key opens the
/// stored API secrets. A replica started with another master key is never ready. The models
/// are loaded before the listener binds, so a replica that answers has them.
async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let mut check = |name: &str, r: Result<(), String>| {
        ready &= r.is_ok();
        checks.insert(
            name.to_owned(),
            match r {
                Ok(()) => serde_json::json!({"ok": true}),
                Err(e) => serde_json::json!({"ok": false, "error": e}),
            },
        );
    };
    let within = std::time::Duration::from_secs(5);
    let timed = |what: &str| format!("no answer within 5 s from the {what}");
    check(
        "database",
        match tokio::time::timeout(within, state.store.ping()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(timed("database")),
        },
    );
    check(
        "blobStore",
        match tokio::time::timeout(within, state.blobs.check()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(timed("blob store")),
        },
    );
    check(
        "masterKey",
        match tokio::time::timeout(
            within,
            crate::admin::check_master_key(state.store.as_ref(), &state.sealer),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(timed("database")),
        },
    );
    check("models", Ok(()));
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": checks,
        "blobStore": state.blobs.describe(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    let mut resp = crate::envelope::json_response(&body);
    if !ready {
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    resp
}

/// Paths of the two API facades: these get `no-store` and the in-flight limit.
fn is_api_path(path: &str) -> bool {
    path.starts_with("/openapi/")
        || path.starts_with("/liveness/h5/ext/")
        || path.starts_with("/verification/")
}

/// Longest request target (path and query) answered; longer ones get 414 in the envelope.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request head (all header names and values) answered; larger gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most headers a request may carry; more gets 431.
pub const MAX_HEADER_COUNT: usize = 100;

/// Wraps every request: a transaction id for body, header and log line; the request's size
/// limits; its body read in full (within the body deadline) before anything else; `no-store`
/// on API answers; and a bound on API requests in flight, past which callers get
/// `RETRY_LATER`. The body is read before an in-flight slot is taken, so a client sending
/// its body slowly holds a connection, never one of the slots.
async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = new_transaction_id();
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // The route's pattern, never the raw path: metric labels stay a bounded set.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let api = is_api_path(&path);
    let mut resp = with_transaction_id(id.clone(), async {
        if let Err(refusal) = check_head(&req) {
            return refusal.into_response();
        }
        let req = match read_body(req, state.body_read_timeout).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        };
        // From here the request is being handled: its connection is not closed for room.
        let busy = req
            .extensions()
            .get::<crate::serve::Connection>()
            .map(crate::serve::Connection::busy);
        let _permit = if api {
            match state.in_flight.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    return ApiError::RetryLater {
                        retry_after_secs: 1,
                    }
                    .into_response()
                }
            }
        } else {
            None
        };
        let resp = next.run(req).await;
        match busy {
            // Busy until the body is written, not only until the handler returns.
            Some(busy) => resp.map(|body| crate::serve::BusyBody::wrap(body, busy)),
            None => resp,
        }
    })
    .await;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(TRANSACTION_HEADER, v);
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    crate::telemetry::request(
        &route,
        method.as_str(),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    // The query string is never logged: session URLs carry a capability in it.
    tracing::info!(
        transaction_id = %id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}
