//! Serves the OpenAPI document of every endpoint. The document is written by hand in
//! `openapi.json` beside this crate and embedded at build time; a test checks that it
//! names every route the router serves.

use axum::response::Response;

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn serve() -> Response {
    let mut resp = axum::response::IntoResponse::into_response(DOCUMENT);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    resp
}
