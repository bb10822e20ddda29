//! The session page `GET /h5/liveness?signatureId=…&token=…`: the built page's HTML with the
//! session's boot data injected, under a strict Content-Security-Policy.
//!
//! What must stay true: the boot data is JSON inside a non-executable script element, with
//! every `<` escaped so no value can close the element; in iframe mode only the account's
//! allowed domains may frame the page (any origin only when the account has no list, with a
//! warning in the log); the page is never cached.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use openliveness_store::{Session, SessionStatus};
use serde::Serialize;

use super::access::{authorize_access, Device, PageAccess, PageDenied};
use super::assets::INDEX_HTML;
use super::notice::{self, Notice};
use crate::state::{now_ms, AppState};

/// What the page learns from the server before it runs (the `ol-boot` element).
/// docs/integration.md describes each field; changing one is changing the page's contract.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Boot {
    pub signature_id: String,
    pub token: String,
    pub ws_url: String,
    pub locale: &'static str,
    pub audio: bool,
    pub iframe: bool,
    /// The account keeps the session video: only then does the page record and upload it.
    pub video: bool,
    pub try_count: u32,
    pub tries_used: u32,
    pub status: &'static str,
    pub expires_at: i64,
    pub server_time: i64,
    pub ui: Option<serde_json::Value>,
    pub secondary: bool,
    pub cross_device_allowed: bool,
    pub secondary_claimed: bool,
    pub parent_origin: Option<String>,
    pub status_url: String,
    pub cross_device_url: Option<String>,
}

/// `GET /h5/liveness`
pub async fn session_page(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = q
        .as_deref()
        .and_then(|q| super::access::PageQuery::parse(Some(q)))
        .and_then(|p| p.lang);
    let access = match authorize_access(&state, q.as_deref()).await {
        Ok(a) => a,
        Err(denied) => return denied_page(denied, lang.as_deref(), &headers),
    };
    let mut access = access;
    let mut claim = None;
    if access.device == Device::Secondary {
        match super::cross_device::enter_secondary(&state, &mut access, &headers).await {
            Ok(cookie) => claim = cookie,
            Err(notice) => return notice.render(lang.as_deref(), &headers),
        }
    }
    let mut resp = render(&state, &access, &headers).await;
    resp.headers_mut().extend(
        claim
            .into_iter()
            .chain(device_cookie(&state, &access, &headers))
            .map(|c| (header::SET_COOKIE, c)),
    );
    resp
}

/// `Set-Cookie` giving a browser without one its device id, which the lockout counts
/// failed tries by when the session has no user id. In an iframe the cookie is a
/// third-party one: `SameSite=None` (which browsers take only with `Secure`).
fn device_cookie(
    state: &AppState,
    access: &PageAccess,
    headers: &HeaderMap,
) -> Option<HeaderValue> {
    if crate::lockout::device_cookie(headers).is_some() {
        return None;
    }
    let https = state.public_url.starts_with("https://");
    let same_site = match (access.session.new.iframe, https) {
        (true, true) => "None; Secure",
        (_, true) => "Lax; Secure",
        (_, false) => "Lax",
    };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/h5/liveness; Max-Age={}; HttpOnly; SameSite={same_site}",
        crate::lockout::DEVICE_COOKIE,
        crate::state::random_hex(16),
        // As long as the lockout can look back, no longer.
        (state.lockout.horizon_ms() / 1000).max(60)
    ))
    .ok()
}

/// The notice for a refused session URL.
pub fn denied_page(denied: PageDenied, lang: Option<&str>, headers: &HeaderMap) -> Response {
    match denied {
        PageDenied::Unknown => Notice::Invalid.render(lang, headers),
        PageDenied::Expired => Notice::Expired.render(lang, headers),
        PageDenied::Store(e) => {
            tracing::error!(error = %e, "session page: store error");
            Notice::Busy.render(lang, headers)
        }
    }
}

async fn render(state: &AppState, access: &PageAccess, headers: &HeaderMap) -> Response {
    let session = &access.session;
    let account = match state.store.account_by_id(session.new.account_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "session page: store error");
            return Notice::Busy.render(access.query.lang.as_deref(), headers);
        }
    };
    let frame_ancestors = match (&account, session.new.iframe) {
        (Some(account), true) => frame_ancestors(&account.allowed_domains),
        _ => "'none'".to_owned(),
    };
    let mut boot = boot(access, headers);
    boot.video = account.is_some_and(|a| a.video_enabled);
    let html = inject_boot(INDEX_HTML, &boot);
    let mut resp = (StatusCode::OK, Html(html)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp(&state.public_url, &frame_ancestors)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self)"),
    );
    super::base_headers(h);
    super::no_store(&mut resp);
    resp
}

/// The boot data of an authorised session URL.
pub fn boot(access: &PageAccess, headers: &HeaderMap) -> Boot {
    let session = &access.session;
    let ui: Option<serde_json::Value> = session
        .new
        .ui_config
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    let ui_locale = ui
        .as_ref()
        .and_then(|u| u.get("locale"))
        .and_then(|l| l.as_str());
    let locale = session
        .new
        .locale
        .as_deref()
        .and_then(notice::supported)
        .or_else(|| ui_locale.and_then(notice::supported))
        .unwrap_or_else(|| notice::negotiate(access.query.lang.as_deref(), headers));
    let q = access.query.session_query();
    let secondary = access.device == Device::Secondary;
    let claimed = super::cross_device::secondary_claimed(session);
    let open = !session_over(session);
    let cross_device_allowed = !secondary && !claimed && open;
    Boot {
        signature_id: session.signature_id().to_owned(),
        token: access.query.token.clone(),
        ws_url: format!("/h5/liveness/ws?{q}"),
        locale,
        audio: session.new.audio,
        iframe: session.new.iframe,
        video: false,
        try_count: session.new.try_count,
        tries_used: session.tries_used,
        status: session.status.as_str(),
        expires_at: session.new.expires_at,
        server_time: now_ms(),
        ui,
        secondary,
        cross_device_allowed,
        secondary_claimed: claimed,
        parent_origin: session
            .new
            .iframe
            .then(|| parent_origin(&session.new.return_url))
            .flatten(),
        status_url: format!("/h5/liveness/status?{q}"),
        cross_device_url: cross_device_allowed.then(|| format!("/h5/liveness/cross-device?{q}")),
    }
}

/// Whether the session can take no more tries: a verdict with no retry left, or expired.
pub fn session_over(session: &Session) -> bool {
    match session.status {
        SessionStatus::Passed | SessionStatus::Expired => true,
        SessionStatus::Failed => !retry_left(session),
        _ => false,
    }
}

/// After a failed try: whether the liveness core allows another one.
fn retry_left(session: &Session) -> bool {
    use openliveness_liveness::SessionState;
    let state = session
        .live_state
        .as_deref()
        .and_then(|s| serde_json::from_str::<openliveness_liveness::Session>(s).ok());
    match state.as_ref().map(|s| s.state()) {
        Some(SessionState::Failed { retry_allowed, .. }) => *retry_allowed,
        _ => session.tries_used < session.new.try_count,
    }
}

/// The origin the page's `postMessage` targets in iframe mode: the return URL's.
pub fn parent_origin(return_url: &str) -> Option<String> {
    let url = url::Url::parse(return_url).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// `frame-ancestors` sources for an iframe-mode session: each allowed domain and its
/// subdomains over HTTPS, or any origin when the account has no list.
pub fn frame_ancestors(domains: &[String]) -> String {
    if domains.is_empty() {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "an iframe-mode session of an account without allowed domains: any site may \
                 frame its page; set the account's allowed domains to restrict it"
            );
        }
        return "*".to_owned();
    }
    domains
        .iter()
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        })
        .map(|d| format!("https://{d} https://*.{d}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The session page's policy. WebSocket origins are named as well as `'self'`, which older
/// WebKit does not extend to `ws:`/`wss:`.
pub fn csp(public_url: &str, frame_ancestors: &str) -> String {
    let ws = url::Url::parse(public_url)
        .ok()
        .and_then(|u| {
            let scheme = if u.scheme() == "https" { "wss" } else { "ws" };
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(p) => format!(" {scheme}://{host}:{p}"),
                None => format!(" {scheme}://{host}"),
            })
        })
        .unwrap_or_default();
    let frame_ancestors = if frame_ancestors.is_empty() {
        "'none'"
    } else {
        frame_ancestors
    };
    format!(
        "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; \
         connect-src 'self'{ws}; script-src 'self'; \
         style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; base-uri 'none'; \
         form-action 'none'; frame-ancestors {frame_ancestors}"
    )
}

/// Puts the boot data before `</head>` (or at the start of the document when the HTML has
/// no head).
pub fn inject_boot(html: &str, boot: &Boot) -> String {
    let json = serde_json::to_string(boot).unwrap_or_else(|_| "null".to_owned());
    let element = format!(
        "<script type=\"application/json\" id=\"ol-boot\">{}</script>",
        escape_json_for_html(&json)
    );
    match html.find("</head>") {
        Some(i) => format!("{}{element}{}", &html[..i], &html[i..]),
        None => format!("{element}{html}"),
    }
}

/// JSON that stays inert inside an HTML element: `<`, `>` and `&` as `\u` escapes, which
/// JSON parsers read back unchanged.
pub fn escape_json_for_html(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_json_cannot_close_the_element() {
        let json = serde_json::to_string(&serde_json::json!({"t": "</script><b>&"})).unwrap();
        let escaped = escape_json_for_html(&json);
        assert!(!escaped.contains('<') && !escaped.contains('>'));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["t"], "</script><b>&");
    }

    #[test]
    fn ancestors_and_origins() {
        assert_eq!(
            frame_ancestors(&["example.com".into(), "pay.example.org".into()]),
            "https://example.com https://*.example.com https://pay.example.org https://*.pay.example.org"
        );
        assert_eq!(frame_ancestors(&[]), "*");
        assert_eq!(
            parent_origin("https://Shop.Example.com:8443/done?isLivenessIframe=true").as_deref(),
            Some("https://shop.example.com:8443")
        );
        assert_eq!(
            parent_origin("http://127.0.0.1:8080/demo/done").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(parent_origin("not a url"), None);
        let policy = csp("https://live.example.com", "'none'");
        assert!(policy.contains("connect-src 'self' wss://live.example.com;"));
        assert!(policy.ends_with("frame-ancestors 'none'"));
        assert!(csp("http://127.0.0.1:9", "").contains("ws://127.0.0.1:9;"));
    }
}
