//! Webhooks end to end: the real application on 127.0.0.1:0 delivers to a real HTTP
//! receiver in this test, which checks the signature itself and can be told to refuse the
//! first attempts. Verdicts are recorded through the application's store
//! (`Store::finish_session`, as the live channel does), which queues the job.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::{engine, now_ms, pg_url, Backend};
use hmac::{Hmac, Mac};
use openliveness_server::config::{Config, Secret};
use openliveness_server::{admin, Application, WebhookSettings};
use openliveness_store::{
    Facade, NewSession, Outcome, Sealer, SessionResult, SessionStatus, Store, WebhookJob,
    WebhookStatus,
};
use serde_json::Value;
use tokio::sync::oneshot;

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    at_ms: i64,
    signature_ok: bool,
    timestamp: i64,
    delivery: String,
    body: Value,
    answered: u16,
}

struct Receiver {
    secret: Mutex<String>,
    /// Requests still to refuse, and with which status.
    refuse: AtomicU32,
    refuse_with: StatusCode,
    seen: Mutex<Vec<Seen>>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let timestamp = header("x-openliveness-timestamp");
    let signature = header("x-openliveness-signature");
    // Verified here with the HMAC crate directly, as an integrator would.
    let secret = r.secret.lock().unwrap().clone();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signature_ok = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .is_some_and(|sig| mac.verify_slice(&sig).is_ok());
    let refuse = r
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if !signature_ok {
        StatusCode::UNAUTHORIZED
    } else if refuse {
        r.refuse_with
    } else {
        StatusCode::NO_CONTENT
    };
    r.seen.lock().unwrap().push(Seen {
        at_ms: now_ms(),
        signature_ok,
        timestamp: timestamp.parse().unwrap_or(0),
        delivery: header("x-openliveness-delivery"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered: status.as_u16(),
    });
    if status.is_redirection() {
        return (
            status,
            [("location", "http://elsewhere.invalid/hook")],
            "moved",
        )
            .into_response();
    }
    (status, "try later").into_response()
}

/// Starts a receiver refusing its first `refuse` requests with `refuse_with`.
async fn receiver(refuse: u32, refuse_with: StatusCode) -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver {
        secret: Mutex::new(String::new()),
        refuse: AtomicU32::new(refuse),
        refuse_with,
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

/// Where a test's data lives, shared by every start of the application.
struct Place {
    dir: tempfile::TempDir,
    master_key: String,
    database_url: Option<String>,
    schema: Option<(openliveness_store::postgres::PgStore, String)>,
}

impl Place {
    async fn new(backend: Backend) -> Self {
        let mut place = Place {
            dir: tempfile::tempdir().unwrap(),
            master_key: Sealer::generate_hex(),
            database_url: None,
            schema: None,
        };
        if let Backend::Postgres = backend {
            let name = format!("w_{}", openliveness_server::state::random_hex(8));
            let base = pg_url();
            let pg = openliveness_store::postgres::PgStore::connect_in_schema(&base, Some(&name))
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {base} is needed: {e}"));
            let sep = if base.contains('?') { '&' } else { '?' };
            place.database_url = Some(format!("{base}{sep}options=-csearch_path%3D{name}"));
            place.schema = Some((pg, name));
        }
        place
    }

    async fn cleanup(self) {
        if let Some((pg, name)) = &self.schema {
            let _ = pg.drop_schema(name).await;
        }
    }
}

/// One running application.
struct Running {
    store: Arc<dyn Store>,
    sealer: Sealer,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(place: &Place, schedule_ms: &[u64]) -> Self {
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: place.dir.path().to_path_buf(),
            database_url: place.database_url.clone(),
            master_key: Some(Secret::new(place.master_key.clone())),
            ..Config::default()
        };
        let engine = tokio::task::spawn_blocking(engine).await.unwrap();
        let app = Application::build_with_engine(config, engine)
            .await
            .expect("application builds")
            .with_webhook_settings(WebhookSettings {
                retry_schedule_ms: schedule_ms.to_vec(),
                timeout_ms: 5_000,
                poll_interval_ms: 20,
            });
        let store = app.store();
        let sealer = app.sealer().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Running {
            store,
            sealer,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the application; its webhook worker is gone when this returns.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// An account with `url` as callback; the receiver learns the secret printed once.
async fn account_with_callback(run: &Running, name: &str, url: &str, rx: &Receiver) -> i64 {
    let account = admin::create_account(run.store.as_ref(), common::account(name))
        .await
        .unwrap();
    let (updated, secret) =
        admin::set_callback_url(run.store.as_ref(), &run.sealer, name, Some(url))
            .await
            .unwrap();
    assert_eq!(updated.callback_url.as_deref(), Some(url));
    let secret = secret.expect("the first callback URL creates a secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    *rx.secret.lock().unwrap() = secret;
    account.id
}

/// Creates a session and records a passed verdict for it, as the live channel does.
async fn finish(store: &dyn Store, id: &str, account_id: i64) -> i64 {
    let now = now_ms();
    store
        .create_session(
            NewSession {
                signature_id: id.into(),
                account_id,
                access_key: "ak".into(),
                facade: Facade::Advance,
                capability_hash: "c".repeat(64),
                td_token: None,
                region: "IDN".into(),
                user_id: Some("user-1".into()),
                return_url: "https://www.example.com/done".into(),
                failed_return_url: None,
                try_count: 3,
                product_level: "STANDARD".into(),
                locale: None,
                audio: false,
                iframe: false,
                ui_config: None,
                created_at: now,
                expires_at: now + 3_600_000,
            },
            None,
        )
        .await
        .unwrap();
    let result = SessionResult {
        outcome: Outcome::Judged,
        score: Some(93),
        attack_type: None,
        ..SessionResult::of(Outcome::Judged)
    };
    store
        .finish_session(id, None, SessionStatus::Passed, result, now)
        .await
        .unwrap();
    now
}

/// Polls the store until a job satisfies `done`, for up to 60 s, failing early once no
/// job is pending.
async fn wait_job(store: &dyn Store, done: impl Fn(&WebhookJob) -> bool) -> WebhookJob {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = store
            .webhook_jobs(openliveness_store::WebhookFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        if let Some(job) = jobs.iter().find(|j| done(j)) {
            return job.clone();
        }
        // Nothing pending any more: the expected state cannot come.
        assert!(
            jobs.is_empty() || jobs.iter().any(|j| j.status == WebhookStatus::Pending),
            "every job ended, none as expected: {jobs:?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no job reached the expected state: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn retried_with_backoff(backend: Backend) {
    let place = Place::new(backend).await;
    let (url, rx) = receiver(2, StatusCode::SERVICE_UNAVAILABLE).await;
    let run = Running::start(&place, &[300, 600, 600]).await;
    let account_id = account_with_callback(&run, "acme", &url, &rx).await;
    let finished_at = finish(run.store.as_ref(), "sig-retry", account_id).await;

    let job = wait_job(run.store.as_ref(), |j| j.status == WebhookStatus::Delivered).await;
    assert_eq!(job.attempts, 3);
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|s| s.answered).collect::<Vec<_>>(),
        vec![503, 503, 204]
    );
    assert!(seen.iter().all(|s| s.signature_ok), "{seen:?}");
    assert!(seen
        .iter()
        .all(|s| (s.timestamp - now_ms() / 1000).abs() < 300));
    assert!(seen.iter().all(|s| s.delivery == job.id.to_string()));
    // The schedule's delays, less the 20 % jitter, passed between attempts.
    assert!(seen[1].at_ms - seen[0].at_ms >= 240, "{seen:?}");
    assert!(seen[2].at_ms - seen[1].at_ms >= 480, "{seen:?}");
    let body = &seen[2].body;
    assert_eq!(body["event"], "session.finished");
    assert_eq!(body["eventId"], job.id);
    assert_eq!(body["signatureId"], "sig-retry");
    assert_eq!(body["passed"], true);
    assert_eq!(body["resultCode"], "SUCCESS");
    assert_eq!(body["score"], 93);
    assert_eq!(body["attackType"], Value::Null);
    assert_eq!(body["finishedAt"], finished_at);
    assert!(body.get("userId").is_none() && !body.to_string().contains("user-1"));

    // Every attempt is visible to the operator.
    let attempts = run.store.webhook_attempts(job.id).await.unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.http_status).collect::<Vec<_>>(),
        vec![Some(503), Some(503), Some(204)]
    );
    assert!(attempts[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("503") && e.contains("try later")));
    assert_eq!(attempts[2].error, None);
    assert!(attempts.iter().all(|a| a.url == url && a.duration_ms >= 0));
    run.stop().await;
    place.cleanup().await;
}

async fn failed_then_retried_by_operator(backend: Backend) {
    let place = Place::new(backend).await;
    // A receiver that redirects: never followed, so every attempt fails.
    let (url, rx) = receiver(2, StatusCode::FOUND).await;
    let run = Running::start(&place, &[50]).await;
    let account_id = account_with_callback(&run, "acme", &url, &rx).await;
    finish(run.store.as_ref(), "sig-fail", account_id).await;

    let job = wait_job(run.store.as_ref(), |j| j.status == WebhookStatus::Failed).await;
    assert_eq!(job.attempts, 2, "one try and one retry");
    let attempts = run.store.webhook_attempts(job.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.http_status == Some(302)
        && a.error
            .as_deref()
            .is_some_and(|e| e.contains("not followed"))));
    assert_eq!(
        rx.seen.lock().unwrap().len(),
        2,
        "nothing reached elsewhere.invalid"
    );

    // The operator retries; the receiver now accepts.
    let again = admin::retry_webhook(run.store.as_ref(), job.id)
        .await
        .unwrap();
    assert_eq!((again.status, again.attempts), (WebhookStatus::Pending, 0));
    let job = wait_job(run.store.as_ref(), |j| j.status == WebhookStatus::Delivered).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(run.store.webhook_attempts(job.id).await.unwrap().len(), 3);
    assert!(matches!(
        admin::retry_webhook(run.store.as_ref(), job.id + 1000).await,
        Err(admin::AdminError::NoWebhookJob(_))
    ));

    // Removing the callback URL fails what is pending and queues nothing new.
    admin::set_callback_url(run.store.as_ref(), &run.sealer, "acme", None)
        .await
        .unwrap();
    finish(run.store.as_ref(), "sig-none", account_id).await;
    admin::retry_webhook(run.store.as_ref(), job.id)
        .await
        .unwrap();
    let job = wait_job(run.store.as_ref(), |j| j.status == WebhookStatus::Failed).await;
    let last = run.store.webhook_attempts(job.id).await.unwrap();
    assert!(last
        .last()
        .and_then(|a| a.error.as_deref())
        .is_some_and(|e| e.contains("no callback URL")));
    assert_eq!(
        run.store
            .webhook_jobs(openliveness_store::WebhookFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    run.stop().await;
    place.cleanup().await;
}

async fn survives_restart(backend: Backend) {
    let place = Place::new(backend).await;
    let (url, rx) = receiver(1, StatusCode::INTERNAL_SERVER_ERROR).await;
    // The retry is due 3.2–4.8 s after the first attempt: ample time to stop the first
    // application before it can make it, even on a loaded machine.
    let first = Running::start(&place, &[4_000]).await;
    let account_id = account_with_callback(&first, "acme", &url, &rx).await;
    finish(first.store.as_ref(), "sig-restart", account_id).await;
    let job = wait_job(first.store.as_ref(), |j| j.attempts == 1).await;
    assert_eq!(job.status, WebhookStatus::Pending);
    first.stop().await;
    assert_eq!(rx.seen.lock().unwrap().len(), 1);

    let second = Running::start(&place, &[4_000]).await;
    let job = wait_job(second.store.as_ref(), |j| {
        j.status == WebhookStatus::Delivered
    })
    .await;
    assert_eq!(job.attempts, 2);
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|s| s.answered).collect::<Vec<_>>(),
        vec![500, 204]
    );
    assert!(seen.iter().all(|s| s.signature_ok));
    second.stop().await;
    place.cleanup().await;
}

macro_rules! on_both {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Backend::Postgres).await;
            }
        }
    };
}

on_both!(retry_with_backoff, retried_with_backoff);
on_both!(operator_retry, failed_then_retried_by_operator);
on_both!(restart, survives_restart);
