//! The capability check of session URLs, shared by the page, its JSON endpoints and the live
//! channel.
//!
//! What must stay true: the presented capability is hashed and compared in constant time
//! with every hash the session holds (the first device's and, once issued, the second
//! device's), with no early exit on the first; an unknown session and a wrong capability are
//! the same answer; malformed query strings are refused before the store is asked.

use axum::http::HeaderMap;
use openliveness_store::Session;

use crate::api::auth::constant_time_eq;
use crate::state::{now_ms, sha256_hex, AppState};

/// Why a page or live-channel request is refused.
pub enum PageDenied {
    /// No such session, or a wrong capability: the two look the same.
    Unknown,
    Expired,
    Store(openliveness_store::StoreError),
}

/// Longest query string considered; session URLs are far shorter.
const MAX_QUERY_LEN: usize = 1024;
/// Longest signature id accepted (ours are 16 hex characters).
const MAX_SIGNATURE_ID_LEN: usize = 64;
/// A capability is 32 random bytes as lowercase hex.
const CAPABILITY_LEN: usize = 64;

/// The parameters of a session URL, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    pub signature_id: String,
    pub token: String,
    /// The visitor's language request (`lang=`), when well formed.
    pub lang: Option<String>,
}

impl PageQuery {
    /// Parses a query string. `None` when the signature id or the capability is missing,
    /// repeated or malformed, or the query is oversized.
    pub fn parse(query: Option<&str>) -> Option<PageQuery> {
        let query = query.unwrap_or_default();
        if query.len() > MAX_QUERY_LEN {
            return None;
        }
        let mut sid = None;
        let mut cap = None;
        let mut lang = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "signatureId" => &mut sid,
                "token" => &mut cap,
                "lang" => &mut lang,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return None;
            }
        }
        let sid = sid.filter(|s| is_signature_id(s))?;
        let cap = cap.filter(|c| is_capability(c))?;
        Some(PageQuery {
            signature_id: sid,
            token: cap,
            lang: lang.filter(|l| {
                !l.is_empty()
                    && l.len() <= 16
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }),
        })
    }

    /// `signatureId=…&token=…`, for the URLs the page is told about.
    pub fn session_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("signatureId", &self.signature_id)
            .append_pair("token", &self.token)
            .finish()
    }
}

fn is_signature_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SIGNATURE_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn is_capability(s: &str) -> bool {
    s.len() == CAPABILITY_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Which link opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The URL handed to the integrator by Get Token.
    Primary,
    /// The single-use cross-device link issued from the first device.
    Secondary,
}

/// A session URL that checked out.
pub struct PageAccess {
    pub session: Session,
    pub device: Device,
    pub query: PageQuery,
}

/// Checks a session URL's query string: the session exists, the capability is one of its
/// own, and the URL has not expired and the session's data was not cleared.
pub async fn authorize_access(
    state: &AppState,
    query: Option<&str>,
) -> Result<PageAccess, PageDenied> {
    let query = PageQuery::parse(query).ok_or(PageDenied::Unknown)?;
    let session = state
        .store
        .session(&query.signature_id)
        .await
        .map_err(PageDenied::Store)?
        .ok_or(PageDenied::Unknown)?;
    let device = match_capability(&session, &query.token).ok_or(PageDenied::Unknown)?;
    if session.new.expires_at <= now_ms() || session.cleared_at.is_some() {
        return Err(PageDenied::Expired);
    }
    Ok(PageAccess {
        session,
        device,
        query,
    })
}

/// Compares the presented capability with both of the session's hashes, always both.
fn match_capability(session: &Session, capability: &str) -> Option<Device> {
    let presented = sha256_hex(capability.as_bytes());
    let primary = constant_time_eq(presented.as_bytes(), session.new.capability_hash.as_bytes());
    let secondary_hash = secondary_hash(session);
    // Without a second link, compare with a value no capability hashes to, so both paths
    // take the same time.
    let secondary = constant_time_eq(
        presented.as_bytes(),
        secondary_hash.unwrap_or(NO_HASH).as_bytes(),
    ) && secondary_hash.is_some();
    match (primary, secondary) {
        (true, _) => Some(Device::Primary),
        (false, true) => Some(Device::Secondary),
        (false, false) => None,
    }
}

const NO_HASH: &str = "----------------------------------------------------------------";

fn secondary_hash(session: &Session) -> Option<&str> {
    session
        .secondary
        .as_ref()
        .map(|link| link.capability_hash.as_str())
}

/// Checks `signatureId` and the capability `token` of a session URL's query string for the
/// live channel. The second device's capability opens it only once that link was claimed
/// by loading the page, and only from the browser that claimed it (its sealed cookie):
/// anyone else who saw the link is refused.
pub async fn authorize(
    state: &AppState,
    query: Option<String>,
    headers: &HeaderMap,
) -> Result<Session, PageDenied> {
    let access = authorize_access(state, query.as_deref()).await?;
    if access.device == Device::Secondary {
        let claimed_at = access
            .session
            .secondary
            .as_ref()
            .and_then(|link| link.claimed_at);
        let sid = access.session.signature_id();
        match claimed_at {
            Some(at) if super::cross_device::presents_claim(state, headers, sid, at) => {}
            _ => return Err(PageDenied::Unknown),
        }
    }
    Ok(access.session)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn query_shape() {
        let q = PageQuery::parse(Some(&format!("signatureId=ab12&token={CAP}&lang=zh"))).unwrap();
        assert_eq!(q.signature_id, "ab12");
        assert_eq!(q.token, CAP);
        assert_eq!(q.lang.as_deref(), Some("zh"));
        assert_eq!(q.session_query(), format!("signatureId=ab12&token={CAP}"));
        // Extra parameters (such as `device`) are ignored.
        assert!(PageQuery::parse(Some(&format!("signatureId=a&token={CAP}&device=x"))).is_some());
        for bad in [
            String::new(),
            "signatureId=a".to_owned(),
            format!("token={CAP}"),
            format!("signatureId=&token={CAP}"),
            format!("signatureId=a&token={}", &CAP[1..]),
            format!("signatureId=a&token={}", CAP.to_uppercase()),
            format!("signatureId=a&token={CAP}0"),
            format!("signatureId=a%20b&token={CAP}"),
            format!("signatureId={}&token={CAP}", "a".repeat(65)),
            format!("signatureId=a&signatureId=b&token={CAP}"),
            format!("signatureId=a&token={CAP}&token={CAP}"),
            format!("signatureId=a&token={CAP}&x={}", "y".repeat(1100)),
        ] {
            assert!(PageQuery::parse(Some(&bad)).is_none(), "{bad}");
        }
        assert!(PageQuery::parse(None).is_none());
        let odd_lang = PageQuery::parse(Some(&format!("signatureId=a&token={CAP}&lang=<x>")));
        assert_eq!(odd_lang.unwrap().lang, None);
    }
}
