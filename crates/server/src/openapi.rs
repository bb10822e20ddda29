//! Serves the OpenAPI document of every endpoint. The document is written by hand in
//! `openapi.json` beside this crate and embedded at build time; a test checks it against
//! the router's own route table ([`crate::api::routes`]) both ways: every route is
//! documented with its method, and every documented operation is served.

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

/// The OpenAPI spelling of an axum path: `{*rest}` becomes `{rest}`.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_document_and_the_router_name_the_same_operations() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |m| (m.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = crate::api::route_table()
            .into_iter()
            .map(|(m, p)| (m.as_str().to_owned(), openapi_path(p)))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.json: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "openapi.json names routes nobody serves: {unserved:?}"
        );
    }
}
