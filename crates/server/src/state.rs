//! What every handler shares: the store, the blob store, the sealer, the limiter and the
//! few settings handlers need. Built once by [`crate::Application::build`].

use std::sync::Arc;

use openliveness_store::{BlobStore, Sealer, Store};
use tokio::sync::Semaphore;

use crate::limits::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub sealer: Sealer,
    pub limiter: Arc<dyn RateLimiter>,
    /// Base URL of session pages, without a trailing slash.
    pub public_url: Arc<str>,
    /// Permits for API requests in flight; none left → `RETRY_LATER`.
    pub in_flight: Arc<Semaphore>,
    /// How many permits `in_flight` started with (configuration `max_in_flight`).
    pub max_in_flight: usize,
    /// The live channels open in this process (a shutdown drains them).
    pub live: crate::live::LiveChannels,
    /// Renders `/metrics`; `None` when the process has another metrics recorder.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Time a client has to send a request body (configuration `body_read_timeout_ms`).
    pub body_read_timeout: std::time::Duration,
    /// Lockout after repeated failed tries (configuration `lockout_*`).
    pub lockout: crate::lockout::Lockout,
    /// Milliseconds one try may last (configuration `try_time_limit_ms`).
    pub try_time_limit_ms: i64,
    /// Milliseconds a live connection's hold on its session lasts unrenewed (configuration
    /// `live_lease_ms`).
    pub live_lease_ms: i64,
    /// How many tries this replica runs at once, and how late their frames may be measured
    /// before new tries are refused (`max_live_tries`, `admission_max_lag_ms`).
    pub admission: Arc<crate::live::admission::Admission>,
    /// How long a session URL stays valid after Get Token (configuration `session_ttl_ms`).
    pub session_ttl_ms: i64,
    /// Milliseconds the user has for each challenge step.
    pub step_window_ms: i64,
    /// Milliseconds frame fingerprints are kept and looked up for cross-session replay
    /// detection (configuration `replay_window_days`).
    pub replay_window_ms: i64,
    /// The vision engine that measures the page's frames.
    pub vision: Arc<openliveness_vision::Engine>,
    /// Demo mode only: the demo integrator site at `/demo` (the demo keys, the API address).
    pub demo: Option<Arc<crate::page::demo::DemoSite>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Lowercase hex SHA-256, the form every stored hash takes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
