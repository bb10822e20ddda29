//! The demo site's server side speaking to the API as an integrator's backend would: plain
//! HTTP/1.1 to this server's own listening address, the access token obtained with the
//! signed `generate-token` call and reused until shortly before it expires.
//!
//! What must stay true: the secret key never leaves this process (only the signature does);
//! every timestamp signed is new, since the server accepts a signature once; answers are
//! bounded in size and time.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::admin::KeyCredentials;
use crate::state::{now_ms, sha256_hex};

/// Largest answer read (Get Result carries images and, when enabled, the video).
const MAX_RESPONSE: usize = 48 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);
/// A cached access token is renewed this long before it expires.
const TOKEN_MARGIN_MS: i64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the API at {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
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
    /// The current access token and its expiry; the lock also serialises token requests.
    token: tokio::sync::Mutex<Option<(String, i64)>>,
    /// Last timestamp signed, so two signatures are never the same.
    last_ts: std::sync::Mutex<i64>,
}

impl ApiClient {
    pub fn new(credentials: KeyCredentials, addr: SocketAddr) -> Self {
        Self {
            credentials,
            addr,
            token: tokio::sync::Mutex::new(None),
            last_ts: std::sync::Mutex::new(0),
        }
    }

    pub fn access_key(&self) -> &str {
        &self.credentials.access_key
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
        let token = data["token"]
            .as_str()
            .ok_or(ClientError::Malformed("no token"))?
            .to_owned();
        let expires = data["expiredTime"].as_i64().unwrap_or(0);
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
        let sid = data["signatureId"].as_str();
        let url = data["url"].as_str();
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
        let body = serde_json::to_vec(body).map_err(|_| ClientError::Malformed("request"))?;
        let raw = tokio::time::timeout(TIMEOUT, self.exchange(path, token, &body))
            .await
            .map_err(|_| ClientError::Timeout)??;
        let (status, payload) = parse_response(&raw)?;
        let value: Value = serde_json::from_slice(&payload)
            .map_err(|_| ClientError::Malformed("body is not JSON"))?;
        if !(200..300).contains(&status) && value.get("code").is_none() {
            return Err(ClientError::Malformed("error without an envelope"));
        }
        Ok(value)
    }

    async fn exchange(
        &self,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let mut stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| ClientError::Connect(self.addr, e))?;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        if let Some(t) = token {
            head.push_str(&format!("X-ACCESS-TOKEN: {t}\r\n"));
        }
        head.push_str("\r\n");
        let io = |e| ClientError::Connect(self.addr, e);
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        stream.write_all(body).await.map_err(io)?;
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take(MAX_RESPONSE as u64 + 1);
        limited.read_to_end(&mut raw).await.map_err(io)?;
        if raw.len() > MAX_RESPONSE {
            return Err(ClientError::Malformed("answer too large"));
        }
        Ok(raw)
    }
}

/// The `data` of a `SUCCESS` envelope, or the refusal.
fn success(answer: Value) -> Result<Value, ClientError> {
    if answer["code"] == "SUCCESS" {
        Ok(answer["data"].clone())
    } else {
        Err(ClientError::Refused {
            code: answer["code"].as_str().unwrap_or("?").to_owned(),
            message: answer["message"].as_str().unwrap_or("").to_owned(),
        })
    }
}

/// Splits an HTTP/1.1 answer read to the end of the connection into status and body,
/// undoing chunked transfer coding.
pub fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), ClientError> {
    let end = find(raw, b"\r\n\r\n").ok_or(ClientError::Malformed("no header end"))?;
    let head =
        std::str::from_utf8(&raw[..end]).map_err(|_| ClientError::Malformed("header bytes"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(ClientError::Malformed("status line"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or(ClientError::Malformed("short body"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or(ClientError::Malformed("chunk size"))?;
        let size_text = std::str::from_utf8(&data[..line_end])
            .map_err(|_| ClientError::Malformed("chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ClientError::Malformed("chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data
            .get(..size)
            .ok_or(ClientError::Malformed("short chunk"))?;
        out.extend_from_slice(chunk);
        data = data
            .get(size + 2..)
            .ok_or(ClientError::Malformed("short chunk"))?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked).unwrap(),
            (404, b"{\"a\":1}".to_vec())
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nff\r\nab",
        ] {
            assert!(parse_response(bad).is_err());
        }
    }
}
