//! Cross-device fallback: when the first device cannot use its camera, it asks for a second,
//! single-use link (`POST /h5/liveness/cross-device`), shows it as a QR code, and polls
//! `GET /h5/liveness/status` until the second device has finished.
//!
//! What must stay true: only the hash of the second link's capability is stored; the link is
//! claimed by the first page load that presents it, and any other browser presenting it
//! afterwards is refused. The claiming browser gets a sealed cookie bound to the session and
//! the claim time, so reloading the page there keeps working. The live channel accepts the
//! second capability only once the link was claimed.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openliveness_store::{Session, SessionStatus};
use serde_json::json;

use super::access::{authorize_access, Device, PageAccess, PageDenied};
use super::notice::Notice;
use super::session::session_over;
use crate::envelope::{json_response, Envelope, Pricing};
use crate::error::ApiError;
use crate::state::{now_ms, random_hex, sha256_hex, AppState};

/// Associated data of the second device's cookie: it opens nothing else.
const COOKIE_AAD: &[u8] = b"openliveness:secondary-device";

/// `POST /h5/liveness/cross-device?signatureId=…&token=…` (first device only).
pub async fn issue(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let access = match authorize_access(&state, q.as_deref()).await {
        Ok(a) => a,
        Err(denied) => return denied_json(denied),
    };
    let session = &access.session;
    if access.device != Device::Primary {
        return refused("A cross-device link can only be created from the first device.");
    }
    if session_over(session) {
        return refused("This verification is already finished.");
    }
    if secondary_claimed(session) {
        return refused(
            "The cross-device link was already opened on another device; continue there.",
        );
    }
    let capability = random_hex(32);
    let now = now_ms();
    match state
        .store
        .issue_secondary(
            session.signature_id(),
            &sha256_hex(capability.as_bytes()),
            now,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                "A cross-device link cannot be created now: the link was already used or the \
                 verification is finished.",
            )
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("signatureId", session.signature_id())
        .append_pair("token", &capability)
        .append_pair("device", "secondary")
        .finish();
    let mut resp = json_response(&json!({
        "url": format!("{}/h5/liveness?{query}", state.public_url),
        "expiresAt": session.new.expires_at,
    }));
    super::no_store(&mut resp);
    resp
}

/// `GET /h5/liveness/status?signatureId=…&token=…` — what the first page polls.
pub async fn status(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let access = match authorize_access(&state, q.as_deref()).await {
        Ok(a) => a,
        Err(denied) => return denied_json(denied),
    };
    let mut resp = json_response(&status_body(&access.session));
    super::no_store(&mut resp);
    resp
}

/// `{status, finished, passed, redirectUrl?, secondaryClaimed}`.
pub fn status_body(session: &Session) -> serde_json::Value {
    let finished = session_over(session);
    let passed = session.status == SessionStatus::Passed;
    let mut body = json!({
        "status": session.status.as_str(),
        "finished": finished,
        "passed": passed,
        "secondaryClaimed": secondary_claimed(session),
    });
    if finished && session.status.is_finished() {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("redirectUrl".into(), json!(redirect_url(session, passed)));
        }
    }
    body
}

/// Where the page goes after the verdict: the return URL, or the failure URL when the
/// session failed and has one, with `signatureId` appended.
pub fn redirect_url(session: &Session, passed: bool) -> String {
    let target = match (&session.new.failed_return_url, passed) {
        (Some(failed), false) => failed,
        _ => &session.new.return_url,
    };
    match url::Url::parse(target) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("signatureId", session.signature_id());
            u.into()
        }
        Err(_) => target.clone(),
    }
}

/// Whether the session's second link was claimed by a device.
pub fn secondary_claimed(session: &Session) -> bool {
    session
        .secondary
        .as_ref()
        .is_some_and(|link| link.claimed_at.is_some())
}

/// The second device's page load: claims the link, or recognises the browser that claimed
/// it by its cookie. Returns the cookie to set on a fresh claim.
pub async fn enter_secondary(
    state: &AppState,
    access: &mut PageAccess,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, Notice> {
    let sid = access.session.signature_id().to_owned();
    let now = now_ms();
    let presented = sha256_hex(access.query.token.as_bytes());
    match state.store.claim_secondary(&sid, &presented, now).await {
        Ok(true) => {
            if let Some(link) = access.session.secondary.as_mut() {
                link.claimed_at = Some(now);
            }
            Ok(claim_cookie(state, &access.session, now))
        }
        Ok(false) => {
            let claimed_at = access.session.secondary.as_ref().and_then(|l| l.claimed_at);
            match claimed_at {
                Some(at) if presents_claim(state, headers, &sid, at) => Ok(None),
                Some(_) => Err(Notice::AlreadyUsed),
                // Claimed by another browser since this request read the session, or never
                // claimed and now it cannot be: the session is over.
                None if session_over(&access.session) => Err(Notice::Expired),
                None => Err(Notice::AlreadyUsed),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cross-device claim: store error");
            Err(Notice::Busy)
        }
    }
}

fn cookie_name(signature_id: &str) -> String {
    format!("ol_sd_{signature_id}")
}

/// What the claiming browser's cookie seals: the session and the moment of the claim.
fn claim_token(signature_id: &str, claimed_at: i64) -> String {
    format!("{signature_id}.{claimed_at}")
}

/// `Set-Cookie` for the browser that just claimed the link, valid while the session is.
fn claim_cookie(state: &AppState, session: &Session, claimed_at: i64) -> Option<HeaderValue> {
    let sid = session.signature_id();
    let sealed = state
        .sealer
        .seal(claim_token(sid, claimed_at).as_bytes(), COOKIE_AAD);
    let max_age = ((session.new.expires_at - claimed_at) / 1000).max(0);
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/h5/liveness; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(sid),
        hex::encode(sealed)
    ))
    .ok()
}

/// Whether the request carries the cookie sealed for this session's claim.
pub(crate) fn presents_claim(
    state: &AppState,
    headers: &HeaderMap,
    signature_id: &str,
    at: i64,
) -> bool {
    let name = cookie_name(signature_id);
    let expected = claim_token(signature_id, at);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, v)| *k == name && v.len() <= 512)
        .filter_map(|(_, v)| hex::decode(v).ok())
        .filter_map(|sealed| state.sealer.open(&sealed, COOKIE_AAD).ok())
        .any(|plain| plain == expected.as_bytes())
}

/// A page JSON endpoint's answer to a refused session URL (the live channel's answers).
fn denied_json(denied: PageDenied) -> Response {
    match denied {
        PageDenied::Unknown => ApiError::Client(StatusCode::NOT_FOUND).into_response(),
        PageDenied::Expired => ApiError::Client(StatusCode::GONE).into_response(),
        PageDenied::Store(e) => ApiError::from(e).into_response(),
    }
}

/// `409` with the reason, in the `CLIENT_ERROR` envelope.
fn refused(message: &str) -> Response {
    let mut resp = Envelope {
        code: "CLIENT_ERROR",
        message: message.to_owned(),
        data: serde_json::Value::Null,
        extra: serde_json::Value::Null,
        pricing: Pricing::Free,
    }
    .into_response();
    *resp.status_mut() = StatusCode::CONFLICT;
    super::no_store(&mut resp);
    resp
}
