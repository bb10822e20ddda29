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
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::envelope::{new_transaction_id, with_transaction_id, TRANSACTION_HEADER};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/openapi/auth/ticket/v1/generate-token",
            post(advance::generate_token),
        )
        .route("/openapi/liveness/v2/h5/token", post(advance::get_token))
        .route(
            "/openapi/liveness/v4/h5/get-result",
            post(advance::get_result),
        )
        .route(
            "/openapi/liveness/v1/h5/configureUI",
            post(advance::configure_ui),
        )
        .route("/liveness/h5/ext/v1/clear-data", get(advance::clear_data))
        .route(
            "/openapi/liveness/v1/h5/audit-image",
            get(advance::audit_image),
        )
        .route(
            "/verification/kyc/h5/liveness/token/v1",
            post(trustdecision::token),
        )
        .route(
            "/verification/kyc/h5/liveness/result/v1",
            post(trustdecision::result),
        )
        .merge(crate::page::routes())
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(crate::openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
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

/// Paths of the two API facades: these get `no-store` and the in-flight limit.
fn is_api_path(path: &str) -> bool {
    path.starts_with("/openapi/")
        || path.starts_with("/liveness/h5/ext/")
        || path.starts_with("/verification/")
}

/// Wraps every request: a transaction id for body, header and log line; `no-store` on API
/// answers; and a bound on API requests in flight, past which callers get `RETRY_LATER`.
async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = new_transaction_id();
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let api = is_api_path(&path);
    let mut resp = with_transaction_id(id.clone(), async {
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
        next.run(req).await
    })
    .await;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(TRANSACTION_HEADER, v);
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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
