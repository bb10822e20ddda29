//! The OpenLiveness service as a library: [`Application::build`] wires configuration,
//! store, blob store and limits into the router and binds the listener, so the binary and
//! the tests start exactly the same thing.

pub mod admin;
pub mod api;
pub mod config;
pub mod envelope;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod live;
pub mod lockout;
pub mod openapi;
pub mod page;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod webhooks;

use std::sync::Arc;

use anyhow::Context as _;
use openliveness_store::{BlobStore, Sealer, Store};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use admin::KeyCredentials;
pub use config::Config;
use limits::{InProcessLimiter, RateLimiter, RedisLimiter};
use state::AppState;
pub use webhooks::WebhookSettings;

/// Opens what every command needs: the store (migrated) and the master key.
pub async fn open_backend(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Sealer)> {
    // Readable by the service's user only, whatever the umask (user ids, URLs, signals).
    openliveness_store::private::dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {} with mode 0700",
            config.data_dir.display()
        )
    })?;
    let (sealer, warning) = admin::master_key(config)?;
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    let store = openliveness_store::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .context("cannot open the database")?;
    Ok((store, sealer))
}

/// Opens the blob store the configuration names and checks that it answers and was sealed
/// with this master key (a replica started with another key is refused here).
pub async fn open_blobs(config: &Config, sealer: &Sealer) -> anyhow::Result<BlobStore> {
    let location = config
        .blob_location()
        .map_err(|e| anyhow::anyhow!("blob store settings: {e}"))?;
    let blobs = BlobStore::open(&location, sealer.clone())
        .with_context(|| format!("cannot open the blob store ({location:?})"))?;
    tokio::time::timeout(std::time::Duration::from_secs(30), blobs.check())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the blob store {} did not answer within 30 s",
                blobs.describe()
            )
        })?
        .with_context(|| format!("the blob store {} cannot be used", blobs.describe()))?;
    tracing::info!(blobs = %blobs.describe(), "blob store ready");
    Ok(blobs)
}

pub struct Application {
    listener: TcpListener,
    serve_limits: serve::ServeLimits,
    state: AppState,
    demo: Option<KeyCredentials>,
    webhooks: WebhookSettings,
    /// How long running tries may take to finish after shutdown is asked for.
    shutdown_grace: std::time::Duration,
    /// How often sessions no page is connected to are looked at (`live::sweep`).
    sweep_interval: std::time::Duration,
    /// HTTPS with the demo's self-signed certificate (`serve --demo --lan`).
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// The SHA-256 of that certificate, for the operator to compare on the phone.
    tls_fingerprint: Option<String>,
}

/// Loads and checks the vision models (CPU-bound; runs on a blocking thread) with the runtime
/// `choice` asks for. The error names the missing file and the command that fetches it; the
/// log says which runtime measures frames and, under `auto`, why ONNX Runtime could not.
pub async fn load_vision(
    models_dir: &std::path::Path,
    choice: config::VisionRuntime,
) -> anyhow::Result<Arc<openliveness_vision::Engine>> {
    use openliveness_vision::{Engine, EngineOptions, Runtime};
    let dir = models_dir.to_path_buf();
    let engine = tokio::task::spawn_blocking(move || {
        let exact = |runtime| {
            Engine::load_with(
                &dir,
                EngineOptions {
                    runtime,
                    ..EngineOptions::default()
                },
            )
        };
        match choice {
            config::VisionRuntime::Ort => exact(Runtime::Ort),
            config::VisionRuntime::Tract => exact(Runtime::Tract),
            config::VisionRuntime::Auto => {
                let (engine, why) = Engine::load_auto(&dir, EngineOptions::default())?;
                if let Some(why) = why {
                    tracing::warn!(
                        reason = %why,
                        "vision models run in tract, several times slower than ONNX Runtime: \
                         its library could not be loaded"
                    );
                }
                Ok(engine)
            }
        }
    })
    .await
    .context("vision loader stopped")??;
    tracing::info!(runtime = ?engine.options().runtime, "vision models loaded");
    Ok(Arc::new(engine))
}

impl Application {
    /// Builds the service: checks and loads the models, opens the store, binds the port.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let engine = load_vision(&config.models_dir, config.vision_runtime).await?;
        Self::build_with_engine(config, engine).await
    }

    /// Like [`Application::build`] with an engine already loaded (tests share one).
    pub async fn build_with_engine(
        config: Config,
        engine: Arc<openliveness_vision::Engine>,
    ) -> anyhow::Result<Self> {
        let (store, sealer) = open_backend(&config).await?;
        admin::check_master_key(store.as_ref(), &sealer)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let blobs = open_blobs(&config, &sealer).await?;
        let limiter: Arc<dyn RateLimiter> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisLimiter::connect(url)
                    .await
                    .with_context(|| "cannot connect to REDIS_URL")?,
            ),
            None => Arc::new(InProcessLimiter::default()),
        };
        // `--demo --lan`: every interface, HTTPS for this machine's LAN address, which is
        // then the address every link and QR code carries.
        let lan = (config.demo && config.demo_lan).then(|| {
            let ip = tls::lan_ip();
            if ip.is_none() {
                tracing::warn!(
                    "no network route found: the demo is reachable on this machine only"
                );
            }
            ip.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        });
        let bind = match lan {
            Some(_) => std::net::SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                config.bind.port(),
            ),
            None => config.bind,
        };
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let local = listener.local_addr()?;
        let certificate = match lan {
            Some(ip) => Some(tls::self_signed(&[
                ip.to_string(),
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])?),
            None => None,
        };
        let reachable = match lan {
            Some(ip) => format!("https://{}", std::net::SocketAddr::new(ip, local.port())),
            None => format!("http://{local}"),
        };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or(reachable)
            .trim_end_matches('/')
            .to_owned();
        let demo = if config.demo {
            Some(admin::ensure_demo(&store, &sealer, &config.data_dir).await?)
        } else {
            None
        };
        let state = AppState {
            store,
            blobs,
            sealer,
            limiter,
            public_url: public_url.into(),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
            max_in_flight: config.max_in_flight,
            live: live::LiveChannels::default(),
            metrics: telemetry::install(),
            body_read_timeout: std::time::Duration::from_millis(config.body_read_timeout_ms),
            lockout: lockout::Lockout::from_config(&config),
            try_time_limit_ms: i64::try_from(config.try_time_limit_ms).unwrap_or(i64::MAX),
            live_lease_ms: i64::try_from(config.live_lease_ms).unwrap_or(i64::MAX),
            admission: live::admission::Admission::new(
                config.max_live_tries,
                live::admission::tries_per_core(engine.options().runtime),
                i64::try_from(config.admission_max_lag_ms).unwrap_or(i64::MAX),
            ),
            session_ttl_ms: i64::try_from(config.session_ttl_ms).unwrap_or(i64::MAX),
            vision: engine,
            step_window_ms: config.step_window_ms.clamp(1000, 30_000),
            replay_window_ms: config.replay_window_ms(),
            demo: demo.clone().map(|creds| {
                let own = certificate.as_ref().map(|c| c.der.clone());
                Arc::new(page::demo::DemoSite::new(creds, local, own))
            }),
        };
        let serve_limits = serve::ServeLimits {
            max_connections: serve::fit_connection_limit(config.max_connections),
            header_read_timeout: std::time::Duration::from_millis(config.header_read_timeout_ms),
        };
        Ok(Self {
            listener,
            serve_limits,
            shutdown_grace: std::time::Duration::from_millis(config.shutdown_grace_ms),
            sweep_interval: std::time::Duration::from_millis(config.sweep_interval_ms),
            tls: certificate.as_ref().map(|c| c.acceptor.clone()),
            tls_fingerprint: certificate.map(|c| c.fingerprint),
            state,
            demo,
            webhooks: WebhookSettings {
                retry_schedule_ms: config.webhook_retry_schedule_ms.clone(),
                timeout_ms: config.webhook_timeout_ms,
                ..WebhookSettings::default()
            },
        })
    }

    /// Replaces the webhook delivery settings (retry schedule, timeout, polling).
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = settings;
        self
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The SHA-256 (hex) of the self-signed certificate served with `--demo --lan`.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls_fingerprint.as_deref()
    }

    /// The store this application serves from (tests and tools use it to set up data).
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.state.blobs
    }

    pub fn sealer(&self) -> &Sealer {
        &self.state.sealer
    }

    /// The demo account's credentials, in demo mode.
    pub fn demo_credentials(&self) -> Option<&KeyCredentials> {
        self.demo.as_ref()
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight and the tries
    /// running (see [`Application::run_until`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes. Then it stops accepting connections, finishes
    /// the requests in flight, refuses new live channels, closes the ones where no try runs
    /// and lets running tries reach their verdict, for at most `shutdown_grace_ms`. The
    /// background workers (maintenance, webhook deliveries) stop with it, also when this
    /// future is dropped.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        jobs::sweep_blob_deletions(self.state.store.as_ref(), &self.state.blobs).await;
        let _workers = Workers(vec![
            tokio::spawn(jobs::run_maintenance(self.state.clone())),
            tokio::spawn(live::sweep::run(self.state.clone(), self.sweep_interval)),
            tokio::spawn(telemetry::upkeep(self.state.metrics.clone())),
            tokio::spawn(webhooks::run_worker(
                self.state.store.clone(),
                self.state.sealer.clone(),
                Arc::new(self.webhooks),
            )),
        ]);
        let live = self.state.live.clone();
        let grace = self.shutdown_grace;
        let app = api::router(self.state);
        let draining = {
            let live = live.clone();
            async move {
                shutdown.await;
                live.drain();
            }
        };
        serve::serve(self.listener, app, self.serve_limits, self.tls, draining).await?;
        live.wait(grace).await;
        Ok(())
    }
}

/// Background tasks that end when the serving future ends or is dropped.
struct Workers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Workers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
