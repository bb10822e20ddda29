//! The demo site's server side speaking to the API as an integrator's backend would: HTTP
//! (reqwest) to this server's own listening address, the access token obtained with the
//! signed `generate-token` call and reused until shortly before it expires.
//!
//! What must stay true: the secret key never leaves this process (only the signature does);
//! every timestamp signed is new, since the server accepts a signature once; answers are
//! bounded in size and time.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::admin::KeyCredentials;
use crate::state::{now_ms, sha256_hex};

/// Largest answer read (Get Result carries images and, when enabled, the video).
const MAX_RESPONSE: usize = 48 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);
/// A cached access token is renewed this long before it expires.
const TOKEN_MARGIN_MS: i64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the API at {0}")]
    Connect(SocketAddr, #[source] reqwest::Error),
    #[error("the API did not answer in time")]
    Timeout,
    #[error("malformed answer from the API: {0}")]
    Malformed(&'static str),
    #[error("the API refused: {code} {message}")]
    Refused { code: String, message: String },
}

/// The demo account's keys and where the API listens.
pub struct ApiClient {
    credentials: KeyCredentials,
    addr: SocketAddr,
    /// `https` when the server serves its own certificate (`--demo --lan`).
    scheme: &'static str,
    http: reqwest::Client,
    /// The current access token and its expiry; the lock also serialises token requests.
    token: tokio::sync::Mutex<Option<(String, i64)>>,
    /// Last timestamp signed, so two signatures are never the same.
    last_ts: std::sync::Mutex<i64>,
}

impl ApiClient {
    pub fn new(credentials: KeyCredentials, addr: SocketAddr, tls: Option<Vec<u8>>) -> Self {
        // No proxy from the environment: the API is this process, on loopback.
        // No pooled connections: the server closes idle ones after its header timeout,
        // which can be shorter than any pool's idle time.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none());
        let scheme = match tls.as_deref().map(reqwest::Certificate::from_der) {
            Some(Ok(own)) => {
                // This process's own self-signed certificate, and no other authority.
                builder = builder
                    .tls_built_in_root_certs(false)
                    .add_root_certificate(own);
                "https"
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "demo: the server's certificate does not load");
                "https"
            }
            None => "http",
        };
        Self {
            credentials,
            addr,
            scheme,
            http: builder.build().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "demo: HTTP client settings refused; defaults used");
                reqwest::Client::new()
            }),
            token: tokio::sync::Mutex::new(None),
            last_ts: std::sync::Mutex::new(0),
        }
    }

    pub fn access_key(&self) -> &str {
        &self.credentials.access_key
    }

    /// The demo account's keys, shown on the demo's home page (demo mode only).
    pub fn credentials(&self) -> &KeyCredentials {
        &self.credentials
    }

    /// A valid access token, from the cache or from `generate-token`.
    pub async fn access_token(&self) -> Result<String, ClientError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if *expires - TOKEN_MARGIN_MS > now_ms() {
                return Ok(token.clone());
            }
        }
        let ts = self.fresh_timestamp().to_string();
        let signature = sha256_hex(
            format!(
                "{}{}{}",
                self.credentials.access_key, self.credentials.secret_key, ts
            )
            .as_bytes(),
        );
        let answer = self
            .post(
                "/openapi/auth/ticket/v1/generate-token",
                None,
                &json!({
                    "accessKey": self.credentials.access_key,
                    "timestamp": ts,
                    "signature": signature,
                }),
            )
            .await?;
        let data = success(answer)?;
        let token = data
            .get("token")
            .and_then(Value::as_str)
            .ok_or(ClientError::Malformed("no token"))?
            .to_owned();
        let expires = data.get("expiredTime").and_then(Value::as_i64).unwrap_or(0);
        *cached = Some((token.clone(), expires));
        Ok(token)
    }

    /// Get Token: a new session, returning (signatureId, url).
    pub async fn create_session(
        &self,
        return_url: &str,
        failed_return_url: &str,
    ) -> Result<(String, String), ClientError> {
        let token = self.access_token().await?;
        let answer = self
            .post(
                "/openapi/liveness/v2/h5/token",
                Some(&token),
                &json!({
                    "returnUrl": return_url,
                    "failedReturnUrl": failed_return_url,
                    "region": "IDN",
                    "tryCount": 3,
                }),
            )
            .await?;
        let data = success(answer)?;
        let sid = data.get("signatureId").and_then(Value::as_str);
        let url = data.get("url").and_then(Value::as_str);
        match (sid, url) {
            (Some(s), Some(u)) => Ok((s.to_owned(), u.to_owned())),
            _ => Err(ClientError::Malformed("no signatureId or url")),
        }
    }

    /// Get Result: the whole envelope, whatever its code.
    pub async fn result(&self, signature_id: &str) -> Result<Value, ClientError> {
        let token = self.access_token().await?;
        self.post(
            "/openapi/liveness/v4/h5/get-result",
            Some(&token),
            &json!({ "signatureId": signature_id }),
        )
        .await
    }

    fn fresh_timestamp(&self) -> i64 {
        let mut last = self.last_ts.lock().unwrap_or_else(|e| e.into_inner());
        let ts = now_ms().max(*last + 1);
        *last = ts;
        ts
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<Value, ClientError> {
        let mut req = self
            .http
            .post(format!("{}://{}{path}", self.scheme, self.addr))
            .header("Accept", "application/json")
            .json(body);
        if let Some(t) = token {
            req = req.header("X-ACCESS-TOKEN", t);
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                ClientError::Timeout
            } else {
                ClientError::Connect(self.addr, e)
            }
        };
        let mut resp = req.send().await.map_err(failed)?;
        let status = resp.status();
        let mut payload = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            if payload.len() + chunk.len() > MAX_RESPONSE {
                return Err(ClientError::Malformed("answer too large"));
            }
            payload.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&payload)
            .map_err(|_| ClientError::Malformed("body is not JSON"))?;
        if !status.is_success() && value.get("code").is_none() {
            return Err(ClientError::Malformed("error without an envelope"));
        }
        Ok(value)
    }
}

/// The `data` of a `SUCCESS` envelope, or the refusal.
fn success(mut answer: Value) -> Result<Value, ClientError> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    if answer.get("code").and_then(Value::as_str) == Some("SUCCESS") {
        Ok(answer
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null))
    } else {
        Err(ClientError::Refused {
            code: answer
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            message: text(&answer, "message"),
        })
    }
}
