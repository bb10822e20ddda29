//! The response envelope of the primary contract and the per-request transaction id.
//!
//! Every JSON answer, success or error, goes through [`Envelope`], which stamps the
//! transaction id of the request being served (a task-local set by the request middleware),
//! so body, `X-Transaction-Id` header and log line always agree.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Serialize;

tokio::task_local! {
    static TRANSACTION_ID: String;
}

pub const TRANSACTION_HEADER: &str = "x-transaction-id";

/// A fresh transaction id: 16 lowercase hex characters, like the vendor's.
pub fn new_transaction_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Runs `fut` with `id` as the current transaction id.
pub async fn with_transaction_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    TRANSACTION_ID.scope(id, fut).await
}

/// The transaction id of the request being served.
pub fn current_transaction_id() -> String {
    TRANSACTION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| new_transaction_id())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Pricing {
    Free,
    Pay,
}

/// `{"code","message","data","extra","transactionId","pricingStrategy"}`.
#[derive(Debug)]
pub struct Envelope {
    pub code: &'static str,
    pub message: String,
    pub data: serde_json::Value,
    pub extra: serde_json::Value,
    pub pricing: Pricing,
}

impl Envelope {
    pub fn ok(data: serde_json::Value) -> Self {
        Self {
            code: "SUCCESS",
            message: "OK".into(),
            data,
            extra: serde_json::Value::Null,
            pricing: Pricing::Free,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    code: &'a str,
    message: &'a str,
    data: &'a serde_json::Value,
    extra: &'a serde_json::Value,
    transaction_id: &'a str,
    pricing_strategy: Pricing,
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        let id = current_transaction_id();
        json_response(&Wire {
            code: self.code,
            message: &self.message,
            data: &self.data,
            extra: &self.extra,
            transaction_id: &id,
            pricing_strategy: self.pricing,
        })
    }
}

/// Serialises `body` as a JSON response. Serialising our own types cannot fail; if it ever
/// did, the client still gets JSON.
pub fn json_response<T: Serialize>(body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        br#"{"code":"ERROR","message":"Server error","data":null,"extra":null}"#.to_vec()
    });
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
