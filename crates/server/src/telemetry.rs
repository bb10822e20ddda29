//! What `/metrics` reports, in the Prometheus text format: recorded where things happen
//! through the `metrics` facade, rendered by `metrics-exporter-prometheus`. The names are
//! listed in docs/operations.md.
//!
//! One recorder serves the whole process (several applications in one test process share
//! it); the gauges that describe the store (webhook backlog, pending deletions) are read when
//! the page is scraped.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use openliveness_store::{WebhookFilter, WebhookStatus};

use crate::error::ApiError;
use crate::state::AppState;

pub const HTTP_REQUESTS: &str = "openliveness_http_requests_total";
pub const HTTP_DURATION: &str = "openliveness_http_request_duration_seconds";
pub const VERDICTS: &str = "openliveness_verdicts_total";
pub const FRAMES: &str = "openliveness_frames_measured_total";
pub const FRAME_SECONDS: &str = "openliveness_frame_measure_seconds";
pub const LIVE_CONNECTIONS: &str = "openliveness_live_connections";
pub const LIVE_QUEUED: &str = "openliveness_live_queued_messages";
pub const LIVE_REFUSED: &str = "openliveness_live_refused_total";
pub const LIVE_TRIES: &str = "openliveness_live_tries";
pub const MEASURE_LAG: &str = "openliveness_measure_lag_seconds";
pub const API_IN_FLIGHT: &str = "openliveness_api_in_flight";
pub const WEBHOOK_BACKLOG: &str = "openliveness_webhook_backlog";
pub const BLOB_DELETIONS: &str = "openliveness_blob_deletions_pending";

/// Buckets of every `_seconds` histogram: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most rows counted for a store gauge; the gauge says "at least" past it.
const GAUGE_COUNT_LIMIT: u32 = 10_000;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its handle; `None` when another
/// recorder was installed first (then `/metrics` answers 404).
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer, by route and method"
    );
    describe_counter!(
        VERDICTS,
        "Sessions' outcomes recorded, by outcome (passed, rejected, quality; not_completed: \
         ended without a verdict) and attack type"
    );
    describe_counter!(FRAMES, "Frames and stills measured by the vision engine");
    describe_histogram!(
        FRAME_SECONDS,
        Unit::Seconds,
        "Time the vision engine took to measure one frame or still"
    );
    describe_gauge!(LIVE_CONNECTIONS, "Live channels open on this replica");
    describe_gauge!(
        LIVE_QUEUED,
        "Messages received on live channels and waiting to be measured"
    );
    describe_counter!(
        LIVE_REFUSED,
        "Live channels refused, by reason (busy: another connection holds the session; \
         overloaded: admission control)"
    );
    describe_gauge!(
        LIVE_TRIES,
        "Tries admitted and running on this replica (admission control)"
    );
    describe_histogram!(
        MEASURE_LAG,
        Unit::Seconds,
        "Time from a frame's arrival to the end of its measuring"
    );
    describe_gauge!(API_IN_FLIGHT, "API requests being served");
    describe_gauge!(
        WEBHOOK_BACKLOG,
        "Webhook deliveries pending, across replicas (counted up to 10000)"
    );
    describe_gauge!(
        BLOB_DELETIONS,
        "Blob deletions queued by clear-data or retention and not done yet (up to 10000)"
    );
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(handle) = &state.metrics else {
        return Err(ApiError::Client(axum::http::StatusCode::NOT_FOUND));
    };
    let in_flight = state.max_in_flight - state.in_flight.available_permits();
    metrics::gauge!(API_IN_FLIGHT).set(in_flight as f64);
    let backlog = state
        .store
        .webhook_jobs(WebhookFilter {
            account_id: None,
            status: Some(WebhookStatus::Pending),
            limit: GAUGE_COUNT_LIMIT,
        })
        .await?
        .len();
    metrics::gauge!(WEBHOOK_BACKLOG).set(backlog as f64);
    let deletions = state
        .store
        .pending_blob_deletions(GAUGE_COUNT_LIMIT)
        .await?
        .len();
    metrics::gauge!(BLOB_DELETIONS).set(deletions as f64);
    let mut resp = handle.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}

/// Drains recorded histogram samples into their buckets every few seconds, for as long as the
/// server runs: without it they pile up between scrapes (and for good when nobody scrapes).
pub async fn upkeep(handle: Option<PrometheusHandle>) {
    let Some(handle) = handle else { return };
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

/// Counts one answered request and its latency. `route` is the matched route's path
/// pattern, or `unmatched`, so the label set stays bounded whatever paths clients send.
pub fn request(route: &str, method: &str, status: u16, seconds: f64) {
    let status = status.to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method.to_owned(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned(), "method" => method.to_owned())
        .record(seconds);
}

/// Counts one recorded verdict.
pub fn verdict(outcome: &'static str, attack_type: Option<i64>) {
    let attack = attack_type.map_or_else(|| "none".to_owned(), |a| a.to_string());
    metrics::counter!(VERDICTS, "outcome" => outcome, "attack_type" => attack).increment(1);
}

/// Counts one measured frame or still.
pub fn frame_measured(seconds: f64) {
    metrics::counter!(FRAMES).increment(1);
    metrics::histogram!(FRAME_SECONDS).record(seconds);
}
