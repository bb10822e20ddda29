//! The end user's page. Until the guided-capture page is built into the binary, the session
//! URL serves a plain page that proves the link works: it checks the capability and says
//! whether the session is ready, expired or unknown.
//!
//! What must stay true: the capability is compared in constant time against the stored hash,
//! and an unknown session and a wrong capability look the same to the visitor.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::api::auth::constant_time_eq;
use openliveness_store::Session;

use crate::state::{now_ms, sha256_hex, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/h5/liveness", get(session_page))
        .route("/h5/liveness/ws", get(crate::live::upgrade))
        .route("/", get(index))
}

async fn index() -> Response {
    page(
        StatusCode::OK,
        "OpenLiveness",
        "This is an OpenLiveness server. The API is described at <a href=\"/openapi.json\">/openapi.json</a>.",
    )
}

/// Why a page or live-channel request is refused.
pub enum PageDenied {
    /// No such session, or a wrong capability: the two look the same.
    Unknown,
    Expired,
    Store(openliveness_store::StoreError),
}

/// Checks `signatureId` and the capability `token` of a session URL's query string.
pub async fn authorize(state: &AppState, query: Option<String>) -> Result<Session, PageDenied> {
    let mut sid = None;
    let mut cap = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "signatureId" => sid = Some(v.into_owned()),
            "token" => cap = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(sid), Some(cap)) = (sid, cap) else {
        return Err(PageDenied::Unknown);
    };
    if sid.len() > 64 {
        return Err(PageDenied::Unknown);
    }
    let session = state
        .store
        .session(&sid)
        .await
        .map_err(PageDenied::Store)?
        .ok_or(PageDenied::Unknown)?;
    let presented = sha256_hex(cap.as_bytes());
    if !constant_time_eq(presented.as_bytes(), session.new.capability_hash.as_bytes()) {
        return Err(PageDenied::Unknown);
    }
    if session.new.expires_at <= now_ms() || session.cleared_at.is_some() {
        return Err(PageDenied::Expired);
    }
    Ok(session)
}

async fn session_page(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match authorize(&state, q).await {
        Ok(_) => page(
            StatusCode::OK,
            "Liveness detection",
            "Your verification session is ready.",
        ),
        Err(PageDenied::Unknown) => invalid(),
        Err(PageDenied::Expired) => page(
            StatusCode::GONE,
            "Link expired",
            "This verification link has expired. Please go back and start again.",
        ),
        Err(PageDenied::Store(e)) => {
            tracing::error!(error = %e, "session page: store error");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "The service is busy. Please reload this page in a moment.",
            )
        }
    }
}

fn invalid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This verification link is not valid. Please go back and start again.",
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
         margin:3rem auto;padding:0 1rem;line-height:1.5}}</style></head>\
         <body><main><h1>{title}</h1><p>{body}</p></main></body></html>"
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}
