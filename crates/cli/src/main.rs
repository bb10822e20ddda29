//! `openliveness`: parses the command line and configuration, then calls the library.
//! Nothing here decides anything a test of the library could not also exercise.

mod args;
mod views;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use openliveness_server::admin;
use openliveness_server::config::{Config, LogFormat, Overrides};
use openliveness_server::{open_backend, Application};
use openliveness_store::{AccountPatch, NewAccount};

use args::{AccountCmd, Cli, Command, KeyCmd, Shared, WebhookCmd};
use views::{AccountView, AttemptView, WebhookJobView};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn load_config(shared: &Shared, extra: Overrides) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let (config, warnings) = Config::load(
        shared.config.as_deref(),
        &env,
        Overrides {
            data_dir: shared.data_dir.clone(),
            database_url: shared.database_url.clone(),
            ..extra
        },
    )?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

fn init_logging(default_level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENLIVENESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(s) => {
            let config = load_config(
                &s.shared,
                Overrides {
                    bind: s.bind,
                    public_url: s.public_url.clone(),
                    demo: s.demo,
                    demo_lan: s.lan,
                    ..Default::default()
                },
            )?;
            init_logging("info", config.log_format);
            serve(config).await
        }
        Command::Migrate(shared) => {
            let config = load_config(&shared, Overrides::default())?;
            init_logging("info", config.log_format);
            let (store, _) = open_backend(&config).await?;
            eprintln!("migrations applied ({} store)", store.backend());
            Ok(())
        }
        Command::Account(cmd) => account(cmd).await,
        Command::Key(cmd) => key(cmd).await,
        Command::Webhook(cmd) => webhook(cmd).await,
        Command::Purge(shared) => {
            let config = load_config(&shared, Overrides::default())?;
            init_logging("warn", config.log_format);
            let (store, sealer) = open_backend(&config).await?;
            let blobs = openliveness_server::open_blobs(&config, &sealer).await?;
            let now = openliveness_server::state::now_ms();
            let window = config.replay_window_ms();
            let report =
                openliveness_server::jobs::purge_with_window(store.as_ref(), &blobs, now, window)
                    .await?;
            print_json(&report)
        }
        Command::Analyze(a) => analyze(a),
        Command::Version => {
            println!("openliveness {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

/// `openliveness analyze IMAGE... --json [--draw OUT.png]`: one JSON object per image on
/// stdout (`{"file", "error"}` for an image that cannot be read); exit 1 if any failed.
fn analyze(a: args::AnalyzeArgs) -> anyhow::Result<()> {
    use openliveness_vision::{analysis_to_json, decode_image, draw_analysis, Engine};
    let dir = a
        .models
        .unwrap_or_else(openliveness_vision::default_models_dir);
    let engine = Engine::load(&dir)?;
    let mut failed = 0;
    for (i, path) in a.images.iter().enumerate() {
        let one = || -> Result<serde_json::Value, String> {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let frame = decode_image(&bytes).map_err(|e| e.to_string())?;
            let analysis = engine.analyze(&frame).map_err(|e| e.to_string())?;
            if let Some(out) = &a.draw {
                let out = if a.images.len() > 1 {
                    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("draw");
                    out.with_file_name(format!("{stem}-{i}.png"))
                } else {
                    out.clone()
                };
                draw_analysis(&bytes, &analysis, &out).map_err(|e| e.to_string())?;
            }
            let mut v = analysis_to_json(&analysis);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("file".into(), serde_json::json!(path));
            }
            Ok(v)
        };
        match one() {
            Ok(v) => println!("{v}"),
            Err(e) => {
                failed += 1;
                println!("{}", serde_json::json!({ "file": path, "error": e }));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} image(s) could not be analysed",
            a.images.len()
        );
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir: PathBuf = config.data_dir.clone();
    let app = Application::build(config).await?;
    let base = app.public_url().to_owned();
    tracing::info!(url = %base, data_dir = %data_dir.display(), "OpenLiveness listening");
    // One stable stdout line that scripts and tests can read the address from.
    let scheme = if app.tls_fingerprint().is_some() {
        "https"
    } else {
        "http"
    };
    println!("openliveness listening on {scheme}://{}", app.local_addr()?);
    if let Some(fingerprint) = app.tls_fingerprint() {
        let demo = format!("{base}/demo");
        println!(
            "\nOn a phone on the same network, open {demo}\n\
             (or scan the code). The certificate is made for this run and signed by nobody:\n\
             the browser warns once; its SHA-256 is {fingerprint}.\n"
        );
        if let Some(qr) = openliveness_server::tls::terminal_qr(&demo) {
            println!("{qr}");
        }
    }
    if let Some(creds) = app.demo_credentials() {
        println!(
            "\nOpenLiveness demo is running: open {base}/demo in a browser\n\
             \n  demo account keys (also in {}):\n    accessKey  {}\n    secretKey  {}\n    partnerCode {}\n    partnerKey  {}\n\
             \n  try it: docs/api.md walks through generate-token → Get Token → Get Result with curl.\n  OpenAPI: {base}/openapi.json\n",
            data_dir.join("demo-credentials.json").display(),
            creds.access_key,
            creds.secret_key,
            creds.partner_code,
            creds.partner_key,
        );
    }
    app.run_until_stopped().await.context("server error")
}

async fn account(cmd: AccountCmd) -> anyhow::Result<()> {
    let shared = cmd.shared();
    let config = load_config(shared, Overrides::default())?;
    init_logging("warn", config.log_format);
    let (store, sealer) = open_backend(&config).await?;
    match cmd {
        AccountCmd::Create(a) => {
            // Checked before anything is written, so a bad URL leaves no account behind.
            let callback_url = a
                .callback_url
                .as_deref()
                .map(admin::parse_callback_url)
                .transpose()?;
            let new = NewAccount {
                name: admin::check_name(&a.name)?,
                regions: admin::parse_regions(&a.regions)?,
                allowed_domains: a
                    .allowed_domains
                    .as_deref()
                    .map(admin::parse_domains)
                    .transpose()?
                    .unwrap_or_default(),
                rate_limit_per_second: a.rate_limit_per_second,
                daily_quota: a.daily_quota,
                balance: a.balance,
                expires_at: a.expires_at.map(|t| t.0),
                pass_threshold: a.pass_threshold,
                video_enabled: a.video,
                retention_days: a.retention_days,
            };
            let mut account = admin::create_account(store.as_ref(), new).await?;
            let mut secret = None;
            if let Some(url) = callback_url {
                (account, secret) =
                    admin::set_callback_url(store.as_ref(), &sealer, &account.name, Some(&url))
                        .await?;
            }
            print_json(&AccountView::new(&account, secret))
        }
        AccountCmd::Update(u) => {
            let callback_url = u
                .callback_url
                .as_deref()
                .map(admin::parse_callback_url)
                .transpose()?;
            let patch = AccountPatch {
                regions: u.regions.as_deref().map(admin::parse_regions).transpose()?,
                allowed_domains: u
                    .allowed_domains
                    .as_deref()
                    .map(admin::parse_domains)
                    .transpose()?,
                rate_limit_per_second: u.rate_limit_per_second.map(|n| (n > 0).then_some(n)),
                daily_quota: u.daily_quota.map(|n| (n > 0).then_some(n)),
                balance: u.balance.map(Some),
                expires_at: u.expires_at.map(|t| Some(t.0)),
                pass_threshold: u.pass_threshold,
                video_enabled: u.video,
                retention_days: u.retention_days,
                callback_url: u.no_callback_url.then_some(None),
                disabled: None,
            };
            let mut account = admin::update_account(store.as_ref(), &u.name, patch).await?;
            let mut secret = None;
            if let Some(url) = callback_url {
                (account, secret) =
                    admin::set_callback_url(store.as_ref(), &sealer, &u.name, Some(&url)).await?;
            }
            print_json(&AccountView::new(&account, secret))
        }
        AccountCmd::RotateWebhookSecret { ref name, .. } => {
            let secret = admin::rotate_webhook_secret(store.as_ref(), &sealer, name).await?;
            print_json(&serde_json::json!({ "name": name, "webhookSecret": secret }))
        }
        AccountCmd::Disable { ref name, .. } | AccountCmd::Enable { ref name, .. } => {
            let disabled = matches!(cmd, AccountCmd::Disable { .. });
            let patch = AccountPatch {
                disabled: Some(disabled),
                ..Default::default()
            };
            let account = admin::update_account(store.as_ref(), name, patch).await?;
            print_json(&AccountView::new(&account, None))
        }
        AccountCmd::List { .. } => {
            let accounts = store.list_accounts().await?;
            let views: Vec<_> = accounts.iter().map(|a| AccountView::new(a, None)).collect();
            print_json(&views)
        }
    }
}

async fn key(cmd: KeyCmd) -> anyhow::Result<()> {
    let config = load_config(cmd.shared(), Overrides::default())?;
    init_logging("warn", config.log_format);
    let (store, sealer) = open_backend(&config).await?;
    match cmd {
        KeyCmd::Create { name, .. } => {
            print_json(&admin::create_key(store.as_ref(), &sealer, &name).await?)
        }
        KeyCmd::Revoke { access_key, .. } => {
            admin::revoke_key(store.as_ref(), &access_key).await?;
            print_json(&serde_json::json!({ "accessKey": access_key, "revoked": true }))
        }
        KeyCmd::List { name, .. } => {
            let account = store
                .account_by_name(&name)
                .await?
                .ok_or_else(|| admin::AdminError::NoAccount(name.clone()))?;
            let keys: Vec<_> = store
                .list_keys(account.id)
                .await?
                .into_iter()
                .map(|k| {
                    serde_json::json!({
                        "accessKey": k.access_key,
                        "partnerCode": k.partner_code,
                        "createdAt": k.created_at,
                        "revokedAt": k.revoked_at,
                    })
                })
                .collect();
            print_json(&keys)
        }
    }
}

async fn webhook(cmd: WebhookCmd) -> anyhow::Result<()> {
    use openliveness_store::{WebhookFilter, WebhookJob, WebhookStatus};
    let config = load_config(cmd.shared(), Overrides::default())?;
    init_logging("warn", config.log_format);
    let (store, _) = open_backend(&config).await?;
    let names: std::collections::HashMap<i64, String> = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let describe = |job: &WebhookJob| -> anyhow::Result<serde_json::Value> {
        let account = names.get(&job.account_id).map(String::as_str);
        Ok(serde_json::to_value(WebhookJobView::new(job, account))?)
    };
    match cmd {
        WebhookCmd::List {
            account,
            status,
            limit,
            ..
        } => {
            let account_id = match account {
                Some(name) => Some(
                    store
                        .account_by_name(&name)
                        .await?
                        .ok_or(admin::AdminError::NoAccount(name))?
                        .id,
                ),
                None => None,
            };
            let filter = WebhookFilter {
                account_id,
                // clap already restricted the value to the three states.
                status: status.as_deref().and_then(WebhookStatus::parse),
                limit,
            };
            let jobs = store.webhook_jobs(filter).await?;
            let out = jobs
                .iter()
                .map(describe)
                .collect::<anyhow::Result<Vec<_>>>()?;
            print_json(&out)
        }
        WebhookCmd::Show { id, .. } => {
            let job = store
                .webhook_job(id)
                .await?
                .ok_or(admin::AdminError::NoWebhookJob(id))?;
            let mut v = describe(&job)?;
            let attempts = store.webhook_attempts(id).await?;
            let attempts =
                serde_json::to_value(attempts.iter().map(AttemptView::from).collect::<Vec<_>>())?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("attempts".into(), attempts);
                obj.insert("attemptCount".into(), job.attempts.into());
            }
            print_json(&v)
        }
        WebhookCmd::Retry { id, .. } => {
            let job = admin::retry_webhook(store.as_ref(), id).await?;
            print_json(&describe(&job)?)
        }
    }
}
