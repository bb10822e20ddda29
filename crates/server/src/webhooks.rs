//! Webhooks: when a session's verdict is recorded, the account's callback URL receives a
//! signed JSON notice, so integrators need not poll Get Result.
//!
//! The store queues a job in the same transaction as the verdict (`Store::finish_session`),
//! so an acknowledged verdict never loses its notice. The worker here leases due jobs (a
//! lease that expires, so a dead worker's jobs come back and two replicas never both
//! deliver one), POSTs them, and records every attempt; a failure is retried on the
//! configured schedule with jitter until the attempts run out.
//!
//! What must stay true: the body carries no personal data or images; a delivery goes only
//! to a URL that passes [`CallbackUrl::parse`] at the moment of sending; redirects are never
//! followed; the signing secret exists in clear only in memory, sealed at rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use openliveness_store::{
    Sealer, SessionStatus, Store, WebhookAttempt, WebhookJob, WebhookLease, WebhookOutcome,
};
use rand::Rng;
use serde_json::json;
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::state::{now_ms, random_hex};

/// Seconds since the Unix epoch at which the notice was sent, as a decimal string.
pub const TIMESTAMP_HEADER: &str = "X-OpenLiveness-Timestamp";
/// `sha256=<hex>`: HMAC-SHA256 with the account's webhook secret over `timestamp.body`.
pub const SIGNATURE_HEADER: &str = "X-OpenLiveness-Signature";
/// The event name, also in the body.
pub const EVENT_HEADER: &str = "X-OpenLiveness-Event";
/// The job id, stable across retries: receivers deduplicate on it.
pub const DELIVERY_HEADER: &str = "X-OpenLiveness-Delivery";

/// Longest callback URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Jobs one worker leases at a time.
const BATCH: u32 = 16;
/// The part of a non-2xx answer's body kept in the attempt record.
const ANSWER_EXCERPT: usize = 200;

/// How deliveries are paced. Production uses [`WebhookSettings::default`]; tests shorten
/// the schedule to milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Delay before each retry, in milliseconds: after attempt N fails, attempt N+1 waits
    /// `retry_schedule_ms[N-1]` (±20 % jitter). A job gets `len + 1` attempts in all.
    pub retry_schedule_ms: Vec<u64>,
    /// Time allowed for one POST, connection included.
    pub timeout_ms: u64,
    /// How often the worker looks for due jobs.
    pub poll_interval_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            // 10 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h: eight attempts over about 10 hours.
            retry_schedule_ms: vec![
                10_000, 30_000, 120_000, 600_000, 3_600_000, 10_800_000, 21_600_000,
            ],
            timeout_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

impl WebhookSettings {
    /// Most retries a schedule may list.
    pub const MAX_RETRIES: usize = 20;
    /// Longest single delay: one week.
    pub const MAX_DELAY_MS: u64 = 7 * 86_400_000;

    /// Checks a retry schedule: 0–20 delays, each 1 ms … 7 days.
    pub fn check_schedule(schedule: &[u64]) -> Result<(), String> {
        if schedule.len() > Self::MAX_RETRIES {
            return Err(format!(
                "at most {} retry delays, got {}",
                Self::MAX_RETRIES,
                schedule.len()
            ));
        }
        if let Some(bad) = schedule
            .iter()
            .find(|d| **d == 0 || **d > Self::MAX_DELAY_MS)
        {
            return Err(format!(
                "retry delay {bad} ms: use 1 … {} ms",
                Self::MAX_DELAY_MS
            ));
        }
        Ok(())
    }

    /// Parses `10000,30000,120000` (milliseconds) into a checked schedule.
    pub fn parse_schedule(s: &str) -> Result<Vec<u64>, String> {
        let schedule = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<u64>()
                    .map_err(|_| format!("{p:?} is not a number of milliseconds"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::check_schedule(&schedule)?;
        Ok(schedule)
    }

    /// Attempts a job gets before it is marked failed.
    pub fn max_attempts(&self) -> u32 {
        self.retry_schedule_ms.len() as u32 + 1
    }

    /// What a failed attempt (the `attempts_made`-th) leaves the job as.
    pub fn after_failure(&self, attempts_made: u32, now: i64) -> WebhookOutcome {
        let Some(&base) = (attempts_made as usize)
            .checked_sub(1)
            .and_then(|i| self.retry_schedule_ms.get(i))
        else {
            return WebhookOutcome::Failed;
        };
        let jitter = rand::thread_rng().gen_range(0.8..=1.2);
        let delay = ((base as f64) * jitter).round().max(1.0) as i64;
        WebhookOutcome::RetryAt(now.saturating_add(delay))
    }

    /// The lease a worker takes on a job: long enough for one POST and its bookkeeping.
    fn lease_ms(&self) -> i64 {
        self.timeout_ms.saturating_add(60_000).min(i64::MAX as u64) as i64
    }
}

/// A callback URL that may receive notices: absolute `http`/`https` with a host, no
/// credentials, no fragment, at most [`MAX_URL_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(url::Url);

impl CallbackUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the callback URL is empty".into());
        }
        if s.len() > MAX_URL_LEN {
            return Err(format!(
                "the callback URL is longer than {MAX_URL_LEN} bytes"
            ));
        }
        let url = url::Url::parse(s).map_err(|e| format!("callback URL {s:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "callback URL {s:?}: use http:// or https://, not {}://",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("callback URL {s:?} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "callback URL {s:?} carries credentials; notices are signed instead"
            ));
        }
        if url.fragment().is_some() {
            return Err(format!("callback URL {s:?} has a #fragment"));
        }
        if url.as_str().len() > MAX_URL_LEN {
            return Err(format!(
                "the callback URL is longer than {MAX_URL_LEN} bytes"
            ));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A fresh signing secret: `whsec_` and 32 random bytes as 64 hex characters. The HMAC key
/// is this whole text's bytes.
pub fn new_secret() -> String {
    format!("whsec_{}", random_hex(32))
}

fn secret_ad(account_id: i64) -> Vec<u8> {
    format!("webhook-secret:{account_id}").into_bytes()
}

/// Seals the account's signing secret with the master key, bound to the account.
pub fn seal_secret(sealer: &Sealer, account_id: i64, secret: &str) -> Vec<u8> {
    sealer.seal(secret.as_bytes(), &secret_ad(account_id))
}

/// Opens a sealed signing secret.
pub fn open_secret(sealer: &Sealer, account_id: i64, sealed: &[u8]) -> Result<String, String> {
    let bytes = sealer
        .open(sealed, &secret_ad(account_id))
        .map_err(|e| format!("cannot open the webhook secret: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "the webhook secret is not text".into())
}

/// `sha256=<hex>` of HMAC-SHA256(secret, `timestamp + "." + body`).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The notice's JSON body: what happened and to which session, never images or user data.
pub fn payload(job: &WebhookJob) -> Vec<u8> {
    let body = json!({
        "event": job.event,
        "eventId": job.id,
        "signatureId": job.signature_id,
        "passed": job.session_status == SessionStatus::Passed,
        "resultCode": crate::api::advance::result_code(job.outcome),
        "score": job.score,
        "attackType": job.attack_type,
        "finishedAt": job.finished_at,
    });
    body.to_string().into_bytes()
}

/// Delivers due webhook jobs until the task is dropped.
pub async fn run_worker(store: Arc<dyn Store>, sealer: Sealer, settings: Arc<WebhookSettings>) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(settings.timeout_ms))
        .connect_timeout(Duration::from_millis(settings.timeout_ms.min(5_000)))
        .user_agent(concat!("OpenLiveness-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; no webhooks will be sent");
            return;
        }
    };
    let poll = Duration::from_millis(settings.poll_interval_ms.max(1));
    loop {
        let leases = match store
            .claim_webhook_jobs(now_ms(), settings.lease_ms(), BATCH)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim webhook jobs");
                Vec::new()
            }
        };
        let full = leases.len() as u32 == BATCH;
        let mut running = JoinSet::new();
        for lease in leases {
            let (store, sealer, settings, client) = (
                store.clone(),
                sealer.clone(),
                settings.clone(),
                client.clone(),
            );
            running.spawn(async move {
                deliver(store.as_ref(), &sealer, &settings, &client, lease).await;
            });
        }
        while running.join_next().await.is_some() {}
        if !full {
            tokio::time::sleep(poll).await;
        }
    }
}

/// One attempt at one leased job, recorded whatever happens.
async fn deliver(
    store: &dyn Store,
    sealer: &Sealer,
    settings: &WebhookSettings,
    client: &reqwest::Client,
    lease: WebhookLease,
) {
    let job = &lease.job;
    let started_at = now_ms();
    let started = Instant::now();
    let (url, result) = match prepare(store, sealer, job).await {
        Ok((url, secret)) => {
            let r = post(client, &url, &secret, job).await;
            (url.as_str().to_owned(), r)
        }
        Err(Prepare::Fatal(url, e)) => (url, Err(Failure::Fatal(e))),
        Err(Prepare::Retry(url, e)) => (url, Err(Failure::Retry(None, e))),
    };
    let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
    let attempts_made = job.attempts.saturating_add(1);
    let (http_status, error, outcome) = match result {
        Ok(status) => (Some(status), None, WebhookOutcome::Delivered),
        Err(Failure::Retry(status, e)) => (
            status,
            Some(e),
            settings.after_failure(attempts_made, now_ms()),
        ),
        Err(Failure::Fatal(e)) => (None, Some(e), WebhookOutcome::Failed),
    };
    match &outcome {
        WebhookOutcome::Delivered => {
            tracing::info!(job = job.id, signature_id = %job.signature_id, duration_ms, "webhook delivered")
        }
        WebhookOutcome::RetryAt(at) => tracing::warn!(
            job = job.id,
            attempt = attempts_made,
            retry_in_ms = at - now_ms(),
            error = error.as_deref().unwrap_or(""),
            "webhook attempt failed; will retry"
        ),
        WebhookOutcome::Failed => tracing::warn!(
            job = job.id,
            attempt = attempts_made,
            error = error.as_deref().unwrap_or(""),
            "webhook failed for good (`openliveness webhook retry {}` sends it again)",
            job.id
        ),
    }
    let attempt = WebhookAttempt {
        attempted_at: started_at,
        duration_ms,
        url,
        http_status,
        error,
    };
    match store
        .record_webhook_attempt(job.id, &lease.token, attempt, outcome)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            job = job.id,
            "webhook lease lost before the attempt was recorded"
        ),
        Err(e) => {
            // The lease expires and the job is tried again: a receiver may see it twice,
            // which the delivery id lets it ignore.
            tracing::warn!(job = job.id, error = %e, "cannot record a webhook attempt")
        }
    }
}

enum Prepare {
    /// Cannot ever succeed as things stand (no account, no URL, invalid URL).
    Fatal(String, String),
    /// May succeed later (the store was busy, the secret is missing).
    Retry(String, String),
}

enum Failure {
    Fatal(String),
    Retry(Option<u16>, String),
}

/// The URL to send to now and the secret to sign with, read at the time of each attempt
/// so an operator's fix applies to pending jobs.
async fn prepare(
    store: &dyn Store,
    sealer: &Sealer,
    job: &WebhookJob,
) -> Result<(CallbackUrl, String), Prepare> {
    let account = match store.account_by_id(job.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(Prepare::Fatal(String::new(), "the account is gone".into())),
        Err(e) => return Err(Prepare::Retry(String::new(), format!("store: {e}"))),
    };
    let Some(raw) = account.callback_url else {
        return Err(Prepare::Fatal(
            String::new(),
            "the account has no callback URL any more".into(),
        ));
    };
    let url = CallbackUrl::parse(&raw).map_err(|e| Prepare::Fatal(raw.clone(), e))?;
    let sealed = match store.webhook_secret(account.id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(Prepare::Retry(
                raw,
                format!(
                    "no webhook secret (`openliveness account rotate-webhook-secret {}`)",
                    account.name
                ),
            ))
        }
        Err(e) => return Err(Prepare::Retry(raw, format!("store: {e}"))),
    };
    let secret = open_secret(sealer, account.id, &sealed).map_err(|e| Prepare::Retry(raw, e))?;
    Ok((url, secret))
}

/// POSTs the notice; `Ok(status)` for a 2xx answer.
async fn post(
    client: &reqwest::Client,
    url: &CallbackUrl,
    secret: &str,
    job: &WebhookJob,
) -> Result<u16, Failure> {
    let body = payload(job);
    let timestamp = (now_ms() / 1000).to_string();
    let signature = sign(secret, &timestamp, &body);
    let sent = client
        .post(url.0.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_HEADER, &job.event)
        .header(DELIVERY_HEADER, job.id.to_string())
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Err(Failure::Retry(None, describe(&e))),
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let mut error = format!("HTTP {status}");
    if status.is_redirection() {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        error.push_str(&format!(" (redirect to {to:?} not followed)"));
    } else if let Ok(Some(chunk)) = resp.chunk().await {
        let text = String::from_utf8_lossy(chunk.get(..ANSWER_EXCERPT).unwrap_or(&chunk));
        let text = text.trim();
        if !text.is_empty() {
            error.push_str(": ");
            error.push_str(text);
        }
    }
    Err(Failure::Retry(Some(status.as_u16()), error))
}

/// A transport error in words an operator can act on, without the URL (recorded apart).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls() {
        assert_eq!(
            CallbackUrl::parse(" https://hooks.example.com/in?x=1 ")
                .unwrap()
                .as_str(),
            "https://hooks.example.com/in?x=1"
        );
        assert!(CallbackUrl::parse("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "",
            "hooks.example.com/in",
            "/relative",
            "ftp://example.com/",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "http://",
            "https://:443/",
        ] {
            assert!(CallbackUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(CallbackUrl::parse(&long).is_err());
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Expected value from Python: hmac.new(key, b"1700000000." + body, sha256).
        assert_eq!(
            sign(
                "whsec_test",
                "1700000000",
                br#"{"event":"session.finished"}"#
            ),
            "sha256=cdcd0f1052130e8edd921d4e44947b3ce382e0f1c29daca68f6acd68e60a6cd1"
        );
    }

    #[test]
    fn schedule() {
        let s = WebhookSettings::default();
        assert_eq!(s.max_attempts(), 8);
        for n in 1..=7 {
            let WebhookOutcome::RetryAt(at) = s.after_failure(n, 1_000) else {
                panic!("attempt {n} should be retried");
            };
            let base = s.retry_schedule_ms[n as usize - 1] as i64;
            assert!((1_000 + base * 8 / 10..=1_000 + base * 12 / 10).contains(&at));
        }
        assert_eq!(s.after_failure(8, 0), WebhookOutcome::Failed);
        assert_eq!(
            WebhookSettings::parse_schedule("5, 10,20").unwrap(),
            vec![5, 10, 20]
        );
        assert_eq!(
            WebhookSettings::parse_schedule("").unwrap(),
            Vec::<u64>::new()
        );
        assert!(WebhookSettings::parse_schedule("5,x").is_err());
        assert!(WebhookSettings::parse_schedule("0").is_err());
        assert!(WebhookSettings::parse_schedule(&"1,".repeat(21)).is_err());
    }
}
