//! What the end user's browser loads: the session page with its boot data, the page's static
//! assets, the cross-device link and the status the first device
//! polls, the plain notice pages for links that do not open, and (in demo mode) the demo
//! integrator site.
//!
//! What must stay true: a session URL is a capability, compared in constant time against the
//! stored hash, and an unknown session and a wrong capability look the same to the visitor;
//! the capability travels only in the query string, which is never logged; every page that
//! shows session data is `no-store`.

pub mod access;
pub mod assets;
pub mod cross_device;
pub mod demo;
pub mod notice;
pub mod session;

use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post};

use crate::api::{route, Route};

pub use access::{authorize, PageDenied};

/// The routes of what the browser loads (the demo's answer 404 outside demo mode).
pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route(Method::GET, "/h5/liveness", get(session::session_page)),
        route(Method::GET, "/h5/liveness/ws", get(crate::live::upgrade)),
        route(
            Method::GET,
            "/h5/liveness/status",
            get(cross_device::status),
        ),
        route(
            Method::POST,
            "/h5/liveness/cross-device",
            post(cross_device::issue),
        ),
        route(Method::GET, "/h5/{*path}", get(assets::asset)),
        route(Method::GET, "/", get(notice::index)),
    ];
    all.extend(demo::routes());
    all
}

/// Headers every page answer carries, whatever its content.
pub(crate) fn base_headers(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Marks an answer as never to be stored by a browser or a proxy.
pub(crate) fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
