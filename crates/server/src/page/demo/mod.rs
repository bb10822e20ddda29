//! The demo integrator site at `/demo`, served only in demo mode (`serve --demo`): a small
//! business website whose backend uses the real API over HTTP with the demo account's keys,
//! in the redirect flow and the iframe flow, and shows what Get Result returns.
//!
//! What must stay true: the site goes through the public API exactly as an integrator
//! would (no shortcut into the store); outside demo mode every `/demo` path is a 404.

pub mod client;
mod views;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::admin::KeyCredentials;
use crate::error::ApiError;
use crate::state::AppState;
use client::ApiClient;

/// What demo mode gives the site: the demo keys and the address to call the API at.
pub struct DemoSite {
    pub api: ApiClient,
}

impl DemoSite {
    /// `listen` is the server's bound address; an unspecified IP (`0.0.0.0`, `::`) is
    /// reached over loopback. `tls`: the server's own certificate (DER) when it serves
    /// HTTPS (`--demo --lan`); the site's API calls then trust it and nothing else.
    pub fn new(credentials: KeyCredentials, listen: SocketAddr, tls: Option<Vec<u8>>) -> Self {
        let ip = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Self {
            api: ApiClient::new(credentials, SocketAddr::new(ip, listen.port()), tls),
        }
    }
}

/// The demo site of this server, in demo mode.
pub(crate) fn demo_site(state: &AppState) -> Option<Arc<DemoSite>> {
    state.demo.clone()
}

pub fn routes() -> Vec<crate::api::Route> {
    use axum::http::Method;
    vec![
        crate::api::route(Method::GET, "/demo", get(home)),
        crate::api::route(Method::POST, "/demo/start", axum::routing::post(start)),
        crate::api::route(Method::GET, "/demo/done", get(done)),
        crate::api::route(Method::GET, "/demo/site.css", get(stylesheet)),
        crate::api::route(Method::GET, "/demo/site.js", get(script)),
    ]
}

/// Which integration the visitor tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Redirect,
    Iframe,
}

async fn home(State(state): State<AppState>) -> Response {
    let Some(site) = demo_site(&state) else {
        return not_found();
    };
    let html = views::home(site.api.credentials(), &state.public_url);
    page(StatusCode::OK, &state, html)
}

/// `POST /demo/start` (form field `flow`): creates a session through the API.
async fn start(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(site) = demo_site(&state) else {
        return not_found();
    };
    let mut flow = None;
    if body.len() <= 256 {
        for (k, v) in url::form_urlencoded::parse(&body) {
            if k == "flow" {
                flow = match v.as_ref() {
                    "redirect" => Some(Flow::Redirect),
                    "iframe" => Some(Flow::Iframe),
                    _ => None,
                };
            }
        }
    }
    let Some(flow) = flow else {
        return page(
            StatusCode::BAD_REQUEST,
            &state,
            views::problem("Choose a flow", "Start from the demo's home page."),
        );
    };
    let done = format!("{}/demo/done", state.public_url);
    let return_url = match flow {
        Flow::Redirect => done,
        Flow::Iframe => format!("{done}?isLivenessIframe=true"),
    };
    let (signature_id, url) = match site.api.create_session(&return_url, &return_url).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "demo: Get Token failed");
            return page(
                StatusCode::BAD_GATEWAY,
                &state,
                views::problem("The API refused", &e.to_string()),
            );
        }
    };
    match flow {
        Flow::Redirect => {
            let mut resp = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            super::no_store(&mut resp);
            resp
        }
        Flow::Iframe => {
            let origin = super::session::parent_origin(&url).unwrap_or_default();
            page(
                StatusCode::OK,
                &state,
                views::iframe(&url, &origin, &signature_id),
            )
        }
    }
}

/// `GET /demo/done?signatureId=…` — the return URL: Get Result, shown.
async fn done(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let Some(site) = demo_site(&state) else {
        return not_found();
    };
    let sid = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "signatureId")
        .map(|(_, v)| v.into_owned())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        });
    let Some(sid) = sid else {
        return page(
            StatusCode::BAD_REQUEST,
            &state,
            views::problem(
                "No session named",
                "This page is the return URL: it expects ?signatureId=… from the session page.",
            ),
        );
    };
    match site.api.result(&sid).await {
        Ok(answer) => page(StatusCode::OK, &state, views::result(&sid, &answer)),
        Err(e) => {
            tracing::warn!(error = %e, "demo: Get Result failed");
            page(
                StatusCode::BAD_GATEWAY,
                &state,
                views::problem("The API could not be reached", &e.to_string()),
            )
        }
    }
}

async fn stylesheet(State(state): State<AppState>) -> Response {
    if demo_site(&state).is_none() {
        return not_found();
    }
    static_file("text/css; charset=utf-8", include_str!("site.css"))
}

async fn script(State(state): State<AppState>) -> Response {
    if demo_site(&state).is_none() {
        return not_found();
    }
    static_file("text/javascript; charset=utf-8", include_str!("site.js"))
}

fn static_file(content_type: &'static str, text: &'static str) -> Response {
    let mut resp = text.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    super::base_headers(h);
    resp
}

fn not_found() -> Response {
    ApiError::Client(StatusCode::NOT_FOUND).into_response()
}

/// A demo page with the site's policy: scripts, styles and frames from this server only.
fn page(status: StatusCode, state: &AppState, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    let own = super::session::parent_origin(&state.public_url).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         connect-src 'self'; frame-src 'self' {own}; form-action 'self' {own}; \
         base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    super::base_headers(h);
    super::no_store(&mut resp);
    resp
}
