//! The command-line contract. `serve`, `account create`, `key create` and their flags are
//! relied on by outside checks: add beside them, never rename.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "openliveness",
    version,
    about = "Self-hosted H5 liveness detection, compatible with the ADVANCE AI and TrustDecision APIs.",
    long_about = "Self-hosted H5 liveness detection, compatible with the ADVANCE AI and TrustDecision APIs.\n\n\
        With no configuration, data lives in ./data (SQLite file, encrypted blobs, master key).\n\
        Settings come from defaults, then a config file (--config or OPENLIVENESS_CONFIG), then\n\
        OPENLIVENESS_* / DATABASE_URL / REDIS_URL environment variables, then flags.\n\
        See docs/configuration.md.",
    after_help = "Quick start:\n  openliveness serve --demo\n  openliveness account create acme --regions IDN,SGP\n  openliveness key create acme"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (API, session pages). Answers GET /healthz once ready.
    Serve(ServeArgs),
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate(Shared),
    /// Manage accounts (the businesses using the service).
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Inspect and retry webhook deliveries (see docs/webhooks.md).
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Clear sessions past their account's retention period, delete expired tokens and old delivered webhooks (serve does this every 10 minutes).
    Purge(Shared),
    /// Find faces and measure them in images; prints one JSON object per image.
    Analyze(AnalyzeArgs),
    /// Print the version.
    Version,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// JPEG or PNG files
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Print JSON (the only output format; accepted for scripts that pass it)
    #[arg(long)]
    pub json: bool,
    /// Draw each face's box and mesh into this PNG (with several images: OUT-N.png)
    #[arg(long, value_name = "OUT.png")]
    pub draw: Option<PathBuf>,
    /// Model directory [env: OPENLIVENESS_MODELS_DIR] [default: ./models]
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// Where the data is; accepted by every command.
#[derive(Debug, Clone, Args, Default)]
pub struct Shared {
    /// Data directory (SQLite file, blobs, master key) [env: OPENLIVENESS_DATA_DIR] [default: ./data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the SQLite file [env: DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// TOML configuration file [env: OPENLIVENESS_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: OPENLIVENESS_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Create a demo account and print its keys
    #[arg(long)]
    pub demo: bool,
    /// With --demo: serve HTTPS on every interface with a self-signed certificate for this
    /// machine's LAN address, and print that address with a QR code to open on a phone
    #[arg(long, requires = "demo")]
    pub lan: bool,
    /// Base URL users' browsers reach this server at [env: OPENLIVENESS_PUBLIC_URL]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub shared: Shared,
}

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Create an account and print it as JSON.
    Create(CreateAccount),
    /// Change an account's regions, domains or limits.
    Update(UpdateAccount),
    /// Disable an account: its keys and tokens stop working at once.
    Disable {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
    /// Enable a disabled account again.
    Enable {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
    /// List accounts as JSON.
    List {
        #[command(flatten)]
        shared: Shared,
    },
    /// Replace the account's webhook signing secret; prints the new one once. The old one
    /// stops signing at once.
    RotateWebhookSecret {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
}

impl AccountCmd {
    pub fn shared(&self) -> &Shared {
        match self {
            AccountCmd::Create(a) => &a.shared,
            AccountCmd::Update(u) => &u.shared,
            AccountCmd::Disable { shared, .. }
            | AccountCmd::Enable { shared, .. }
            | AccountCmd::RotateWebhookSecret { shared, .. }
            | AccountCmd::List { shared } => shared,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateAccount {
    /// Account name: 1–64 letters, digits, '-', '_' or '.'
    pub name: String,
    /// Regions the account may create sessions for, ISO 3166-1 alpha-3, comma-separated
    #[arg(long, value_name = "IDN,SGP")]
    pub regions: String,
    /// Hosts that returnUrl / failedReturnUrl must be on (subdomains included); default any
    #[arg(long, value_name = "a.com,b.org")]
    pub allowed_domains: Option<String>,
    /// Requests per second before SERVICE_BUSY (HTTP 429); default unlimited
    #[arg(long, value_name = "N")]
    pub rate_limit_per_second: Option<u32>,
    /// Sessions per UTC day before OVER_QUERY_LIMIT; default unlimited
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u32>,
    /// Prepaid billable calls; at 0, INSUFFICIENT_BALANCE; default post-paid
    #[arg(long, value_name = "N")]
    pub balance: Option<i64>,
    /// When the account expires: YYYY-MM-DD (UTC) or Unix milliseconds
    #[arg(long, value_name = "WHEN")]
    pub expires_at: Option<When>,
    /// Score (0–100) at or above which a session passes
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub pass_threshold: u8,
    /// Keep and return the session video
    #[arg(long)]
    pub video: bool,
    /// Days after which session images and video are purged
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub retention_days: u32,
    /// http(s) URL notified (signed POST) when a session finishes; prints the webhook secret once
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    #[command(flatten)]
    pub shared: Shared,
}

#[derive(Debug, Args)]
pub struct UpdateAccount {
    /// Account name
    pub name: String,
    #[arg(long, value_name = "IDN,SGP")]
    pub regions: Option<String>,
    #[arg(long, value_name = "a.com,b.org")]
    pub allowed_domains: Option<String>,
    /// 0 removes the limit
    #[arg(long, value_name = "N")]
    pub rate_limit_per_second: Option<u32>,
    /// 0 removes the quota
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u32>,
    #[arg(long, value_name = "N")]
    pub balance: Option<i64>,
    #[arg(long, value_name = "WHEN")]
    pub expires_at: Option<When>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub pass_threshold: Option<u8>,
    #[arg(long, value_name = "true|false")]
    pub video: Option<bool>,
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// http(s) URL notified when a session finishes (the first one set prints the webhook secret)
    #[arg(long, value_name = "URL", conflicts_with = "no_callback_url")]
    pub callback_url: Option<String>,
    /// Remove the callback URL: no more webhooks; pending ones fail
    #[arg(long)]
    pub no_callback_url: bool,
    #[command(flatten)]
    pub shared: Shared,
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Create a key for an account; prints accessKey, secretKey, partnerCode, partnerKey once.
    Create {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
    /// Revoke a key: it and every token made with it stop working at once.
    Revoke {
        access_key: String,
        #[command(flatten)]
        shared: Shared,
    },
    /// List an account's keys (without secrets).
    List {
        name: String,
        #[command(flatten)]
        shared: Shared,
    },
}

impl KeyCmd {
    pub fn shared(&self) -> &Shared {
        match self {
            KeyCmd::Create { shared, .. }
            | KeyCmd::Revoke { shared, .. }
            | KeyCmd::List { shared, .. } => shared,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// List webhook jobs as JSON, newest first.
    List {
        /// Only this account's jobs
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Only jobs in this state
        #[arg(long, value_name = "STATUS", value_parser = ["pending", "delivered", "failed"])]
        status: Option<String>,
        /// Most jobs to print
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        #[command(flatten)]
        shared: Shared,
    },
    /// Show one job with every delivery attempt (time, HTTP status or error, duration).
    Show {
        id: i64,
        #[command(flatten)]
        shared: Shared,
    },
    /// Send a job again now: a failed or delivered one gets a fresh set of attempts.
    Retry {
        id: i64,
        #[command(flatten)]
        shared: Shared,
    },
}

impl WebhookCmd {
    pub fn shared(&self) -> &Shared {
        match self {
            WebhookCmd::List { shared, .. }
            | WebhookCmd::Show { shared, .. }
            | WebhookCmd::Retry { shared, .. } => shared,
        }
    }
}

/// A moment given as `YYYY-MM-DD` (midnight UTC) or Unix milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct When(pub i64);

impl std::str::FromStr for When {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(ms) = s.parse::<i64>() {
            return Ok(When(ms));
        }
        let parts: Vec<&str> = s.split('-').collect();
        if let [y, m, d] = parts[..] {
            if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) {
                if (1..=12).contains(&m) && (1..=31).contains(&d) {
                    return Ok(When(days_from_civil(y, m, d) * 86_400_000));
                }
            }
        }
        Err(format!("{s:?}: use YYYY-MM-DD or Unix milliseconds"))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dates() {
        assert_eq!("1970-01-01".parse::<When>().unwrap().0, 0);
        assert_eq!("2000-03-01".parse::<When>().unwrap().0, 951_868_800_000);
        assert_eq!("12345".parse::<When>().unwrap().0, 12345);
        assert!("2020-13-01".parse::<When>().is_err());
        assert!("soon".parse::<When>().is_err());
    }
}
