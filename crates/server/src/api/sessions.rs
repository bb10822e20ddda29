//! Creating a liveness session, shared by both facades: region, redirect-domain, balance and
//! quota checks, the ids and the page capability.
//!
//! What must stay true: the capability appears only in the URL handed to the integrator;
//! the store keeps its hash. A session snapshots the account's UI configuration, so a later
//! ConfigureUI never changes a session already handed out.

use openliveness_store::{Account, Facade, NewSession};
use url::Url;

use crate::error::{ApiError, Iam};
use crate::state::{now_ms, random_hex, sha256_hex, AppState};

/// Longest redirect URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Most tries a session may allow.
pub const MAX_TRY_COUNT: i64 = 1000;
/// Longest `userId` accepted.
pub const MAX_USER_ID_LEN: usize = 128;

pub struct SessionRequest {
    pub facade: Facade,
    pub return_url: Url,
    pub failed_return_url: Option<Url>,
    pub region: String,
    pub user_id: Option<String>,
    pub try_count: u32,
    pub product_level: ProductLevel,
    pub locale: Option<String>,
    pub audio: bool,
    pub td_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductLevel {
    Standard,
    Pro,
}

impl ProductLevel {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STANDARD" => Some(Self::Standard),
            "PRO" => Some(Self::Pro),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "STANDARD",
            Self::Pro => "PRO",
        }
    }
}

pub struct CreatedSession {
    pub signature_id: String,
    pub url: String,
}

/// Parses a redirect target: an absolute http(s) URL of bounded length, with a host whose
/// labels are all non-empty and no user name or password (`https://evil.com@acme.com/`
/// reads as one site and goes to another: no URL we send a browser to carries one).
pub fn parse_redirect(s: &str) -> Option<Url> {
    if s.len() > MAX_URL_LEN {
        return None;
    }
    let url = Url::parse(s).ok()?;
    let host_ok = match url.host() {
        Some(url::Host::Domain(d)) => d.split('.').all(|label| !label.is_empty()),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        None => false,
    };
    let ok = matches!(url.scheme(), "http" | "https")
        && host_ok
        && url.username().is_empty()
        && url.password().is_none();
    ok.then_some(url)
}

/// Whether `url`'s host is one of `domains` or a subdomain of one. An empty list allows all.
pub fn domain_allowed(url: &Url, domains: &[String]) -> bool {
    if domains.is_empty() {
        return true;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        host == d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|p| p.ends_with('.'))
    })
}

/// `isLivenessIframe=true` among the return URL's query parameters turns on iframe mode.
pub fn wants_iframe(url: &Url) -> bool {
    url.query_pairs()
        .any(|(k, v)| k == "isLivenessIframe" && v.eq_ignore_ascii_case("true"))
}

pub async fn create(
    state: &AppState,
    account: &Account,
    access_key: &str,
    req: SessionRequest,
) -> Result<CreatedSession, ApiError> {
    if !account.allows_region(&req.region) {
        return Err(ApiError::RegionWrong);
    }
    let targets = std::iter::once(&req.return_url).chain(req.failed_return_url.as_ref());
    for target in targets {
        if !domain_allowed(target, &account.allowed_domains) {
            return Err(ApiError::Iam(Iam::Domain));
        }
    }
    if account.balance.is_some_and(|b| b <= 0) {
        return Err(ApiError::InsufficientBalance);
    }
    let ui_config = state.store.ui_config(account.id).await?;
    let now = now_ms();
    let signature_id = random_hex(8);
    let capability = random_hex(32);
    let session = NewSession {
        signature_id: signature_id.clone(),
        account_id: account.id,
        access_key: access_key.to_owned(),
        facade: req.facade,
        capability_hash: sha256_hex(capability.as_bytes()),
        td_token: req.td_token,
        region: req.region,
        user_id: req.user_id,
        iframe: wants_iframe(&req.return_url),
        return_url: req.return_url.into(),
        failed_return_url: req.failed_return_url.map(Into::into),
        try_count: req.try_count,
        product_level: req.product_level.as_str().to_owned(),
        locale: req.locale,
        audio: req.audio,
        ui_config,
        created_at: now,
        expires_at: now.saturating_add(state.session_ttl_ms),
    };
    state
        .store
        .create_session(session, account.daily_quota)
        .await?;
    let url = format!(
        "{}/h5/liveness?signatureId={signature_id}&token={capability}",
        state.public_url
    );
    Ok(CreatedSession { signature_id, url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects() {
        assert!(parse_redirect("https://www.example.com").is_some());
        assert!(parse_redirect("http://a.b/x?y=1").is_some());
        for bad in [
            "",
            "www.example.com",
            "/relative",
            "javascript:alert(1)",
            "ftp://a.b",
            "https://",
            "https://evil.com@acme.com/",
            "https://user:pw@acme.com/",
            "https://:pw@acme.com/",
            "https://.acme.com/",
            "https://acme..com/",
            "https://acme.com./",
        ] {
            assert!(parse_redirect(bad).is_none(), "{bad}");
        }
        assert!(parse_redirect(&format!("https://a.b/{}", "x".repeat(3000))).is_none());
    }

    #[test]
    fn domains() {
        let u = |s: &str| Url::parse(s).unwrap();
        let list = vec!["example.com".to_string()];
        assert!(domain_allowed(&u("https://example.com/x"), &list));
        assert!(domain_allowed(&u("https://pay.EXAMPLE.com/x"), &list));
        assert!(!domain_allowed(&u("https://badexample.com/x"), &list));
        assert!(!domain_allowed(&u("https://example.com.evil.org/x"), &list));
        assert!(domain_allowed(&u("https://anything.org"), &[]));
    }

    #[test]
    fn iframe_flag() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(wants_iframe(&u(
            "https://a.com/?id=1&isLivenessIframe=true"
        )));
        assert!(!wants_iframe(&u("https://a.com/?isLivenessIframe=false")));
        assert!(!wants_iframe(&u("https://a.com/")));
    }
}
