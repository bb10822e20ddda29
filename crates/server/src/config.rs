//! Configuration: defaults → config file → `OPENLIVENESS_*` environment → command-line
//! flags, merged into one typed [`Config`]. This file is the one place every setting is
//! named; `docs/configuration.md` mirrors it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use openliveness_store::{BlobLocation, S3Location};
use serde::Deserialize;

/// A secret string whose `Debug` never shows it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `vision_runtime`: which library runs the vision models (docs/configuration.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisionRuntime {
    /// ONNX Runtime when its library loads, tract otherwise (logged).
    Auto,
    Ort,
    Tract,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Where the SQLite file, blobs and (when not configured) the master key live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; unset for the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// `redis://…` to share rate limits between replicas; unset for in-process limits.
    pub redis_url: Option<String>,
    /// Base URL the end user's browser reaches this service at, used in session URLs.
    /// Defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    /// 64 hex characters; seals blobs and API secrets at rest.
    pub master_key: Option<Secret>,
    /// Create a demo account and print its keys and the demo page URL.
    pub demo: bool,
    /// Directory of the vision models fetched by `bash tools/models/setup.sh`.
    pub models_dir: PathBuf,
    /// Which library runs the vision models: `auto` (ONNX Runtime when its library from
    /// setup loads, else tract), `ort` or `tract` (refuse to start without it).
    pub vision_runtime: VisionRuntime,
    /// How long the user has for each challenge step, in milliseconds.
    pub step_window_ms: i64,
    /// API requests served at once before new ones get `RETRY_LATER`.
    pub max_in_flight: usize,
    pub log_format: LogFormat,
    /// Delays before each webhook retry, in milliseconds; a job gets `len + 1` attempts.
    pub webhook_retry_schedule_ms: Vec<u64>,
    /// Time allowed for one webhook POST, in milliseconds.
    pub webhook_timeout_ms: u64,
    /// Days the frames' fingerprints are kept for cross-session replay detection.
    pub replay_window_days: u32,
    /// Connections held open at once. Past it, the connection idle longest is closed to make
    /// room; the open-file limit lowers it at start-up when it cannot hold this many.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, in milliseconds; it also bounds how
    /// long a kept-alive connection may wait idle for its next request.
    pub header_read_timeout_ms: u64,
    /// Time a client has to send a request's body, in milliseconds.
    pub body_read_timeout_ms: u64,
    /// Failed tries of one user (or one device) after which new tries are refused; 0 turns
    /// the lockout off.
    pub lockout_failures: u32,
    /// How long one try may last from `hello` before it fails as timed out, in milliseconds.
    pub try_time_limit_ms: u64,
    /// The window the failed tries are counted in, in minutes.
    pub lockout_window_minutes: u32,
    /// How long a locked-out user waits after their last failure, in minutes.
    pub lockout_minutes: u32,
    /// How long a live connection's hold on its session lasts without renewal, in
    /// milliseconds; a second connection to the session is refused while it runs.
    pub live_lease_ms: u64,
    /// How often the server looks for sessions no page is connected to that are due to end
    /// (an abandoned try at its time limit, a URL at its deadline), in milliseconds.
    pub sweep_interval_ms: u64,
    /// Tries this replica runs at once; a page beyond it is told `SERVER_BUSY`. 0: two per
    /// core with ONNX Runtime, one with tract (`live::admission::tries_per_core`).
    pub max_live_tries: usize,
    /// New tries are refused while the running tries' frames are measured this late after
    /// their arrival, on average (milliseconds).
    pub admission_max_lag_ms: u64,
    /// How long a session URL from Get Token stays valid, in milliseconds (the vendor's
    /// 3600 s by default).
    pub session_ttl_ms: u64,
    /// On SIGTERM, how long tries already running may take to finish before the process
    /// exits, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Where blobs (images, video) are kept: `None` for files under `data_dir/blobs`, or
    /// `s3://bucket/prefix` for an S3-compatible store shared by every replica.
    pub blob_store: Option<String>,
    /// The S3-compatible store's endpoint (`http(s)://host:port`); unset for AWS itself.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    /// Credentials; unset ones come from the standard `AWS_*` environment variables.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
    /// Allows a plain-HTTP endpoint.
    pub s3_allow_http: bool,
    /// With `demo`: serve HTTPS on every interface with a self-signed certificate for this
    /// machine's LAN address, so a phone on the same network can try the demo (flag `--lan`
    /// of `serve` only).
    pub demo_lan: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            public_url: None,
            master_key: None,
            demo: false,
            models_dir: PathBuf::from("./models"),
            vision_runtime: VisionRuntime::Auto,
            step_window_ms: 5000,
            max_in_flight: 1024,
            log_format: LogFormat::Text,
            webhook_retry_schedule_ms: crate::webhooks::WebhookSettings::default()
                .retry_schedule_ms,
            webhook_timeout_ms: crate::webhooks::WebhookSettings::default().timeout_ms,
            replay_window_days: 30,
            max_connections: 4096,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            lockout_failures: 5,
            try_time_limit_ms: 120_000,
            lockout_window_minutes: 30,
            lockout_minutes: 30,
            live_lease_ms: 15_000,
            sweep_interval_ms: 5_000,
            max_live_tries: 0,
            admission_max_lag_ms: 1_500,
            session_ttl_ms: 3_600_000,
            shutdown_grace_ms: 30_000,
            blob_store: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            demo_lan: false,
        }
    }
}

/// Accepted `replay_window_days`.
const REPLAY_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;

/// The config file's shape: every key optional; unknown keys are reported, not fatal.
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    redis_url: Option<String>,
    public_url: Option<String>,
    master_key: Option<Secret>,
    demo: Option<bool>,
    models_dir: Option<PathBuf>,
    vision_runtime: Option<VisionRuntime>,
    step_window_ms: Option<i64>,
    max_in_flight: Option<usize>,
    log_format: Option<LogFormat>,
    webhook_retry_schedule_ms: Option<Vec<u64>>,
    webhook_timeout_ms: Option<u64>,
    replay_window_days: Option<u32>,
    max_connections: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    lockout_failures: Option<u32>,
    try_time_limit_ms: Option<u64>,
    lockout_window_minutes: Option<u32>,
    lockout_minutes: Option<u32>,
    live_lease_ms: Option<u64>,
    sweep_interval_ms: Option<u64>,
    max_live_tries: Option<usize>,
    admission_max_lag_ms: Option<u64>,
    session_ttl_ms: Option<u64>,
    shutdown_grace_ms: Option<u64>,
    blob_store: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<Secret>,
    s3_allow_http: Option<bool>,
}

const FILE_KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "redis_url",
    "public_url",
    "master_key",
    "demo",
    "models_dir",
    "vision_runtime",
    "step_window_ms",
    "max_in_flight",
    "log_format",
    "webhook_retry_schedule_ms",
    "webhook_timeout_ms",
    "replay_window_days",
    "max_connections",
    "header_read_timeout_ms",
    "body_read_timeout_ms",
    "lockout_failures",
    "try_time_limit_ms",
    "lockout_window_minutes",
    "lockout_minutes",
    "live_lease_ms",
    "sweep_interval_ms",
    "max_live_tries",
    "admission_max_lag_ms",
    "session_ttl_ms",
    "shutdown_grace_ms",
    "blob_store",
    "s3_endpoint",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    "s3_allow_http",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub demo: bool,
    pub demo_lan: bool,
}

impl Config {
    /// Builds the configuration from all layers. `env` is the process environment (passed
    /// in so tests can give their own). Returns the config and warnings for the log.
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        cli: Overrides,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut cfg = Config::default();
        let mut warnings = Vec::new();
        let env_get = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env_get("OPENLIVENESS_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            cfg.apply_file_text(&path, &text, &mut warnings)?;
        }
        cfg.apply_env(&env_get)?;
        if let Some(v) = cli.bind {
            cfg.bind = v;
        }
        if let Some(v) = cli.data_dir {
            cfg.data_dir = v;
        }
        if let Some(v) = cli.database_url {
            cfg.database_url = Some(v);
        }
        if let Some(v) = cli.public_url {
            cfg.public_url = Some(v);
        }
        cfg.demo |= cli.demo;
        cfg.demo_lan |= cli.demo_lan;
        Ok((cfg, warnings))
    }

    /// Applies a config file's text over `self`: unknown keys become warnings, a value of
    /// the wrong type or out of range is an error naming `path`. Never panics, whatever the
    /// text (fuzzed: `crates/server/fuzz`).
    pub fn apply_file_text(
        &mut self,
        path: &Path,
        text: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| parse_error(e.message().to_owned()))?;
        for key in table.keys().filter(|k| !FILE_KEYS.contains(&k.as_str())) {
            warnings.push(format!(
                "config file {}: unknown key `{key}` ignored",
                path.display()
            ));
        }
        let f: FileConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| parse_error(e.message().to_owned()))?;
        self.apply_file(f);
        self.check().map_err(parse_error)
    }

    fn apply_file(&mut self, f: FileConfig) {
        let FileConfig {
            bind,
            data_dir,
            database_url,
            redis_url,
            public_url,
            master_key,
            demo,
            models_dir,
            vision_runtime,
            step_window_ms,
            max_in_flight,
            log_format,
            webhook_retry_schedule_ms,
            webhook_timeout_ms,
            replay_window_days,
            max_connections,
            header_read_timeout_ms,
            body_read_timeout_ms,
            lockout_failures,
            try_time_limit_ms,
            lockout_window_minutes,
            lockout_minutes,
            live_lease_ms,
            sweep_interval_ms,
            max_live_tries,
            admission_max_lag_ms,
            session_ttl_ms,
            shutdown_grace_ms,
            blob_store,
            s3_endpoint,
            s3_region,
            s3_access_key_id,
            s3_secret_access_key,
            s3_allow_http,
        } = f;
        self.bind = bind.unwrap_or(self.bind);
        self.data_dir = data_dir.unwrap_or(self.data_dir.clone());
        self.database_url = database_url.or(self.database_url.take());
        self.redis_url = redis_url.or(self.redis_url.take());
        self.public_url = public_url.or(self.public_url.take());
        self.master_key = master_key.or(self.master_key.take());
        self.demo = demo.unwrap_or(self.demo);
        self.models_dir = models_dir.unwrap_or(self.models_dir.clone());
        self.vision_runtime = vision_runtime.unwrap_or(self.vision_runtime);
        self.step_window_ms = step_window_ms.unwrap_or(self.step_window_ms);
        self.max_in_flight = max_in_flight.unwrap_or(self.max_in_flight);
        self.log_format = log_format.unwrap_or(self.log_format);
        if let Some(v) = webhook_retry_schedule_ms {
            self.webhook_retry_schedule_ms = v;
        }
        self.webhook_timeout_ms = webhook_timeout_ms.unwrap_or(self.webhook_timeout_ms);
        self.replay_window_days = replay_window_days.unwrap_or(self.replay_window_days);
        self.max_connections = max_connections.unwrap_or(self.max_connections);
        self.header_read_timeout_ms = header_read_timeout_ms.unwrap_or(self.header_read_timeout_ms);
        self.body_read_timeout_ms = body_read_timeout_ms.unwrap_or(self.body_read_timeout_ms);
        self.lockout_failures = lockout_failures.unwrap_or(self.lockout_failures);
        self.try_time_limit_ms = try_time_limit_ms.unwrap_or(self.try_time_limit_ms);
        self.lockout_window_minutes = lockout_window_minutes.unwrap_or(self.lockout_window_minutes);
        self.lockout_minutes = lockout_minutes.unwrap_or(self.lockout_minutes);
        self.live_lease_ms = live_lease_ms.unwrap_or(self.live_lease_ms);
        self.sweep_interval_ms = sweep_interval_ms.unwrap_or(self.sweep_interval_ms);
        self.max_live_tries = max_live_tries.unwrap_or(self.max_live_tries);
        self.admission_max_lag_ms = admission_max_lag_ms.unwrap_or(self.admission_max_lag_ms);
        self.session_ttl_ms = session_ttl_ms.unwrap_or(self.session_ttl_ms);
        self.shutdown_grace_ms = shutdown_grace_ms.unwrap_or(self.shutdown_grace_ms);
        self.blob_store = blob_store.or(self.blob_store.take());
        self.s3_endpoint = s3_endpoint.or(self.s3_endpoint.take());
        self.s3_region = s3_region.or(self.s3_region.take());
        self.s3_access_key_id = s3_access_key_id.or(self.s3_access_key_id.take());
        self.s3_secret_access_key = s3_secret_access_key.or(self.s3_secret_access_key.take());
        self.s3_allow_http = s3_allow_http.unwrap_or(self.s3_allow_http);
    }

    /// Where blobs are kept, from `blob_store` and the `s3_*` settings.
    pub fn blob_location(&self) -> Result<BlobLocation, String> {
        let Some(url) = &self.blob_store else {
            return Ok(BlobLocation::Files(self.data_dir.join("blobs")));
        };
        let mut s3 = S3Location::parse(url).map_err(|e| format!("blob_store: {e}"))?;
        if let Some(e) = &self.s3_endpoint {
            let u = url::Url::parse(e)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| format!("s3_endpoint = {e:?}: use http(s)://host:port"))?;
            if u.scheme() == "http" && !self.s3_allow_http {
                return Err(format!(
                    "s3_endpoint = {e:?} is plain HTTP: set s3_allow_http = true to allow it"
                ));
            }
        }
        s3.endpoint = self.s3_endpoint.clone();
        s3.region = self.s3_region.clone();
        s3.access_key_id = self.s3_access_key_id.clone();
        s3.secret_access_key = self
            .s3_secret_access_key
            .as_ref()
            .map(|s| s.expose().to_owned());
        s3.allow_http = self.s3_allow_http;
        Ok(BlobLocation::S3(s3))
    }

    /// Sets one of [`Config::ranges`]'s settings from a value already range-checked.
    fn set_ranged(&mut self, name: &str, n: u64) {
        let small = u32::try_from(n).unwrap_or(u32::MAX);
        match name {
            "max_connections" => self.max_connections = usize::try_from(n).unwrap_or(usize::MAX),
            "header_read_timeout_ms" => self.header_read_timeout_ms = n,
            "body_read_timeout_ms" => self.body_read_timeout_ms = n,
            "lockout_failures" => self.lockout_failures = small,
            "try_time_limit_ms" => self.try_time_limit_ms = n,
            "lockout_window_minutes" => self.lockout_window_minutes = small,
            "lockout_minutes" => self.lockout_minutes = small,
            "live_lease_ms" => self.live_lease_ms = n,
            "sweep_interval_ms" => self.sweep_interval_ms = n,
            "max_live_tries" => self.max_live_tries = usize::try_from(n).unwrap_or(usize::MAX),
            "admission_max_lag_ms" => self.admission_max_lag_ms = n,
            "session_ttl_ms" => self.session_ttl_ms = n,
            "shutdown_grace_ms" => self.shutdown_grace_ms = n,
            _ => {}
        }
    }

    /// The replay window in milliseconds: fingerprints older than this are purged and not
    /// looked up.
    pub fn replay_window_ms(&self) -> i64 {
        i64::from(self.replay_window_days) * 86_400_000
    }

    /// The connection and lockout settings with their accepted ranges, named as in the file.
    fn ranges(&self) -> [(&'static str, u64, std::ops::RangeInclusive<u64>); 13] {
        [
            (
                "max_connections",
                self.max_connections as u64,
                16..=1_000_000,
            ),
            (
                "header_read_timeout_ms",
                self.header_read_timeout_ms,
                100..=600_000,
            ),
            (
                "body_read_timeout_ms",
                self.body_read_timeout_ms,
                100..=600_000,
            ),
            (
                "lockout_failures",
                u64::from(self.lockout_failures),
                0..=1000,
            ),
            ("try_time_limit_ms", self.try_time_limit_ms, 5_000..=600_000),
            (
                "lockout_window_minutes",
                u64::from(self.lockout_window_minutes),
                1..=10_080,
            ),
            (
                "lockout_minutes",
                u64::from(self.lockout_minutes),
                1..=10_080,
            ),
            ("live_lease_ms", self.live_lease_ms, 1_000..=300_000),
            ("sweep_interval_ms", self.sweep_interval_ms, 100..=600_000),
            ("max_live_tries", self.max_live_tries as u64, 0..=100_000),
            (
                "admission_max_lag_ms",
                self.admission_max_lag_ms,
                100..=60_000,
            ),
            ("session_ttl_ms", self.session_ttl_ms, 10_000..=86_400_000),
            ("shutdown_grace_ms", self.shutdown_grace_ms, 0..=600_000),
        ]
    }

    /// Range checks for values a file can give out of range.
    fn check(&self) -> Result<(), String> {
        self.blob_location()?;
        if !(1000..=30_000).contains(&self.step_window_ms) {
            return Err(format!(
                "step_window_ms = {}: use 1000…30000",
                self.step_window_ms
            ));
        }
        if self.max_in_flight == 0 {
            return Err("max_in_flight = 0: use a positive number".to_owned());
        }
        crate::webhooks::WebhookSettings::check_schedule(&self.webhook_retry_schedule_ms)
            .map_err(|e| format!("webhook_retry_schedule_ms: {e}"))?;
        if !(1000..=60_000).contains(&self.webhook_timeout_ms) {
            return Err(format!(
                "webhook_timeout_ms = {}: use 1000…60000",
                self.webhook_timeout_ms
            ));
        }
        if !REPLAY_WINDOW_DAYS.contains(&self.replay_window_days) {
            return Err(format!(
                "replay_window_days = {}: use 1…3650",
                self.replay_window_days
            ));
        }
        for (name, value, range) in self.ranges() {
            if !range.contains(&value) {
                return Err(format!(
                    "{name} = {value}: use {}…{}",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(())
    }

    fn apply_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let bad = |name: &str, message: String| ConfigError::Env {
            name: name.to_owned(),
            message,
        };
        if let Some(v) = get("OPENLIVENESS_BIND") {
            self.bind = v
                .parse()
                .map_err(|_| bad("OPENLIVENESS_BIND", format!("{v:?} is not ADDRESS:PORT")))?;
        }
        if let Some(v) = get("OPENLIVENESS_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("OPENLIVENESS_MODELS_DIR") {
            self.models_dir = PathBuf::from(v);
        }
        if let Some(v) = get("OPENLIVENESS_VISION_RUNTIME") {
            self.vision_runtime = match v.as_str() {
                "auto" => VisionRuntime::Auto,
                "ort" => VisionRuntime::Ort,
                "tract" => VisionRuntime::Tract,
                _ => {
                    return Err(bad(
                        "OPENLIVENESS_VISION_RUNTIME",
                        format!("{v:?}: use auto, ort or tract"),
                    ))
                }
            };
        }
        if let Some(v) = get("OPENLIVENESS_STEP_WINDOW_MS") {
            self.step_window_ms = v
                .parse()
                .ok()
                .filter(|n| (1000..=30_000).contains(n))
                .ok_or_else(|| {
                    bad(
                        "OPENLIVENESS_STEP_WINDOW_MS",
                        format!("{v:?}: use 1000…30000"),
                    )
                })?;
        }
        if let Some(v) = get("DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("REDIS_URL") {
            self.redis_url = Some(v);
        }
        if let Some(v) = get("OPENLIVENESS_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("OPENLIVENESS_MASTER_KEY") {
            self.master_key = Some(Secret::new(v));
        }
        for (var, slot) in [
            ("OPENLIVENESS_BLOB_STORE", &mut self.blob_store),
            ("OPENLIVENESS_S3_ENDPOINT", &mut self.s3_endpoint),
            ("OPENLIVENESS_S3_REGION", &mut self.s3_region),
            ("OPENLIVENESS_S3_ACCESS_KEY_ID", &mut self.s3_access_key_id),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("OPENLIVENESS_S3_SECRET_ACCESS_KEY") {
            self.s3_secret_access_key = Some(Secret::new(v));
        }
        if let Some(v) = get("OPENLIVENESS_S3_ALLOW_HTTP") {
            self.s3_allow_http = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(bad(
                        "OPENLIVENESS_S3_ALLOW_HTTP",
                        format!("{v:?}: use true or false"),
                    ))
                }
            };
        }
        if let Some(v) = get("OPENLIVENESS_MAX_IN_FLIGHT") {
            self.max_in_flight = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                bad(
                    "OPENLIVENESS_MAX_IN_FLIGHT",
                    format!("{v:?} is not a positive number"),
                )
            })?;
        }
        if let Some(v) = get("OPENLIVENESS_WEBHOOK_RETRY_SCHEDULE_MS") {
            self.webhook_retry_schedule_ms =
                crate::webhooks::WebhookSettings::parse_schedule(&v)
                    .map_err(|e| bad("OPENLIVENESS_WEBHOOK_RETRY_SCHEDULE_MS", e))?;
        }
        if let Some(v) = get("OPENLIVENESS_WEBHOOK_TIMEOUT_MS") {
            self.webhook_timeout_ms = v
                .parse()
                .ok()
                .filter(|n| (1000..=60_000).contains(n))
                .ok_or_else(|| {
                    bad(
                        "OPENLIVENESS_WEBHOOK_TIMEOUT_MS",
                        format!("{v:?}: use 1000…60000"),
                    )
                })?;
        }
        if let Some(v) = get("OPENLIVENESS_REPLAY_WINDOW_DAYS") {
            self.replay_window_days = v
                .parse()
                .ok()
                .filter(|n| REPLAY_WINDOW_DAYS.contains(n))
                .ok_or_else(|| {
                    bad(
                        "OPENLIVENESS_REPLAY_WINDOW_DAYS",
                        format!("{v:?}: use 1…3650"),
                    )
                })?;
        }
        for (name, _, range) in self.ranges() {
            let var = format!("OPENLIVENESS_{}", name.to_ascii_uppercase());
            let Some(v) = get(&var) else { continue };
            let n: u64 = v
                .parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    bad(
                        &var,
                        format!("{v:?}: use {}…{}", range.start(), range.end()),
                    )
                })?;
            self.set_ranged(name, n);
        }
        if let Some(v) = get("OPENLIVENESS_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(bad(
                        "OPENLIVENESS_LOG_FORMAT",
                        format!("{v:?}: use text or json"),
                    ))
                }
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\ndata_dir = \"/file\"\nmax_in_flight = 7\nbogus = 1\n",
        )
        .unwrap();
        let (cfg, warnings) = Config::load(
            Some(&file),
            &env(&[
                ("OPENLIVENESS_DATA_DIR", "/env"),
                ("OPENLIVENESS_MASTER_KEY", "k"),
            ]),
            Overrides {
                bind: Some("127.0.0.1:0".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.bind.port(), 0);
        assert_eq!(cfg.data_dir, PathBuf::from("/env"));
        assert_eq!(cfg.max_in_flight, 7);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("bogus"));
        assert_eq!(format!("{:?}", cfg.master_key), "Some(<redacted>)");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(
            None,
            &env(&[("OPENLIVENESS_BIND", "nope")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("OPENLIVENESS_BIND"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "bind = 5").unwrap();
        assert!(Config::load(Some(&file), &[], Overrides::default()).is_err());
        std::fs::write(&file, "webhook_retry_schedule_ms = [0]").unwrap();
        let err = Config::load(Some(&file), &[], Overrides::default()).unwrap_err();
        assert!(
            err.to_string().contains("webhook_retry_schedule_ms"),
            "{err}"
        );
        let err = Config::load(
            None,
            &env(&[("OPENLIVENESS_WEBHOOK_TIMEOUT_MS", "5")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("OPENLIVENESS_WEBHOOK_TIMEOUT_MS"));
    }

    #[test]
    fn file_values_out_of_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        for (text, named) in [
            ("step_window_ms = 10", "step_window_ms"),
            ("max_in_flight = 0", "max_in_flight"),
            ("live_lease_ms = 5", "live_lease_ms"),
            ("blob_store = \"s3://NO\"", "blob_store"),
            ("blob_store = \"/var/blobs\"", "blob_store"),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = Config::load(Some(&file), &[], Overrides::default()).unwrap_err();
            assert!(err.to_string().contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn blob_store_settings() {
        let files = Config::default().blob_location().unwrap();
        assert_eq!(files, BlobLocation::Files(PathBuf::from("./data/blobs")));
        let (cfg, _) = Config::load(
            None,
            &env(&[
                ("OPENLIVENESS_BLOB_STORE", "s3://images/prod"),
                ("OPENLIVENESS_S3_ENDPOINT", "http://127.0.0.1:9000"),
                ("OPENLIVENESS_S3_ALLOW_HTTP", "true"),
                ("OPENLIVENESS_S3_SECRET_ACCESS_KEY", "hunter2"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        let BlobLocation::S3(s3) = cfg.blob_location().unwrap() else {
            panic!("an S3 location");
        };
        assert_eq!((s3.bucket.as_str(), s3.prefix.as_str()), ("images", "prod"));
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s3.allow_http);
        assert!(!format!("{cfg:?}").contains("hunter2"));
        // A plain-HTTP endpoint must be allowed in so many words.
        let plain = Config {
            s3_allow_http: false,
            ..cfg
        };
        let err = plain.blob_location().unwrap_err();
        assert!(err.contains("s3_allow_http"), "{err}");
    }

    #[test]
    fn webhook_schedule_layers() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "webhook_retry_schedule_ms = [100, 200]\n").unwrap();
        let (cfg, warnings) = Config::load(Some(&file), &[], Overrides::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg.webhook_retry_schedule_ms, vec![100, 200]);
        let (cfg, _) = Config::load(
            Some(&file),
            &env(&[("OPENLIVENESS_WEBHOOK_RETRY_SCHEDULE_MS", "5,10,20")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.webhook_retry_schedule_ms, vec![5, 10, 20]);
        assert_eq!(Config::default().webhook_retry_schedule_ms.len(), 7);
    }

    #[test]
    fn replay_window_layers() {
        assert_eq!(Config::default().replay_window_days, 30);
        assert_eq!(Config::default().replay_window_ms(), 30 * 86_400_000);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "replay_window_days = 7\n").unwrap();
        let (cfg, warnings) = Config::load(Some(&file), &[], Overrides::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg.replay_window_days, 7);
        let (cfg, _) = Config::load(
            Some(&file),
            &env(&[("OPENLIVENESS_REPLAY_WINDOW_DAYS", "90")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.replay_window_days, 90);
        let err = Config::load(
            None,
            &env(&[("OPENLIVENESS_REPLAY_WINDOW_DAYS", "0")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("OPENLIVENESS_REPLAY_WINDOW_DAYS"));
        std::fs::write(&file, "replay_window_days = 5000\n").unwrap();
        let err = Config::load(Some(&file), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("replay_window_days"), "{err}");
    }
}
