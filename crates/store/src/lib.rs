//! Storage for OpenLiveness.
//!
//! Architecture invariant: this crate is the only place SQL is written. Callers see the
//! [`Store`] trait and plain records from [`model`]; which backend runs is decided once, at
//! start-up, from the database URL ([`open`]).
//!
//! Every method that returns `Ok` after a write has committed it durably: SQLite runs in WAL
//! mode with `synchronous=FULL`, PostgreSQL commits before answering.

pub mod blob;
mod migrate;
pub mod model;
pub mod postgres;
pub mod private;
pub mod seal;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

pub use blob::{BlobError, BlobLocation, BlobStore, S3Location};
pub use model::*;
pub use seal::{SealError, Sealer};

/// What can go wrong in the store, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The signature was already used once.
    #[error("signature already used")]
    Replay,
    /// The account's daily quota of sessions is used up.
    #[error("daily quota exhausted")]
    QuotaExceeded,
    /// The account's prepaid balance is used up.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// The store cannot take more work right now; retrying later may succeed.
    #[error("store busy: {0}")]
    Busy(String),
    /// The store failed in a way of its own (a setting, a stopped writer).
    #[error("database error: {0}")]
    Database(String),
    /// SQLite failed. The driver's error is kept as the source (and said in the message, so a
    /// log line is whole); shared, because one failed commit answers every write of its batch.
    #[error("SQLite: {0}")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    /// PostgreSQL (or its connection pool) failed; the driver's error is the source.
    #[error("PostgreSQL: {0}")]
    Postgres(#[source] sqlx::Error),
    /// A file or directory of the store could not be made or used.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A blocking task of the store died (it panicked or the runtime is shutting down).
    #[error("a store task did not finish: {0}")]
    Task(#[source] tokio::task::JoinError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A migration this binary carries differs from the text the database was migrated with:
    /// the schema may not be what the code expects, so the store does not open.
    #[error(
        "migration {version} ({name}) differs from the one applied to this database \
         (sha256 {applied} applied, {carried} in this binary): a migration file was edited \
         after its release, or the database was migrated by another build"
    )]
    MigrationChanged {
        version: i64,
        name: &'static str,
        applied: String,
        carried: String,
    },
    /// The session's live lease was taken over by another connection (see
    /// [`Store::acquire_live_lease`]); nothing was written.
    #[error("the session's live lease is held by another connection")]
    LeaseLost,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Busy(e.to_string())
            }
            other => StoreError::Sqlite(Arc::new(other)),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Busy("connection pool timed out".into()),
            other => StoreError::Postgres(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The metadata store. One implementation per backend; both pass `tests/suite.rs`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and `healthz`.
    fn backend(&self) -> &'static str;

    /// Answers once the database accepts a query.
    async fn ping(&self) -> Result<()>;

    async fn create_account(&self, new: NewAccount, now_ms: i64) -> Result<Account>;
    async fn update_account(&self, name: &str, patch: AccountPatch) -> Result<Account>;
    async fn account_by_name(&self, name: &str) -> Result<Option<Account>>;
    async fn account_by_id(&self, id: i64) -> Result<Option<Account>>;
    async fn list_accounts(&self) -> Result<Vec<Account>>;

    async fn create_key(&self, key: ApiKey) -> Result<()>;
    async fn key(&self, access_key: &str) -> Result<Option<ApiKey>>;
    async fn key_by_partner_code(&self, partner_code: &str) -> Result<Option<ApiKey>>;
    async fn list_keys(&self, account_id: i64) -> Result<Vec<ApiKey>>;
    /// Marks a key revoked. `Ok(false)` when there is no such key.
    async fn revoke_key(&self, access_key: &str, now_ms: i64) -> Result<bool>;

    /// Records the signature as used and stores the token, atomically.
    /// `Err(Replay)` when the signature was used before.
    async fn issue_token(&self, signature: UsedSignature, token: NewToken) -> Result<()>;
    /// The token with its key and account, whatever their state; the caller judges.
    async fn token_context(&self, token_hash: &str) -> Result<Option<TokenContext>>;

    /// Creates a session, counting it against `daily_quota` (sessions per UTC day) when given.
    /// `Err(QuotaExceeded)` leaves nothing behind.
    async fn create_session(&self, session: NewSession, daily_quota: Option<u32>) -> Result<()>;
    async fn session(&self, signature_id: &str) -> Result<Option<Session>>;
    async fn session_by_td_token(&self, td_token: &str) -> Result<Option<Session>>;
    async fn set_session_status(&self, signature_id: &str, status: SessionStatus) -> Result<()>;
    /// Records the liveness state machine with the status it implies, the tries used and
    /// when the server must look at it again if no page is connected (`sweep_at`). With a `fence` (from [`Store::acquire_live_lease`]) it writes only while that lease is
    /// the session's current one, else `Err(LeaseLost)`.
    async fn save_live_state(
        &self,
        signature_id: &str,
        fence: Option<i64>,
        status: SessionStatus,
        tries_used: u32,
        live_state: &str,
        sweep_at: Option<i64>,
    ) -> Result<()>;
    /// Sessions that need the server's attention without a page: `sweep_at` (set by
    /// [`Store::save_live_state`], and the URL deadline at creation) is at or before `now_ms`,
    /// no connection holds their live lease, and they were not cleared. Earliest first.
    async fn sessions_due(&self, now_ms: i64, limit: u32) -> Result<Vec<String>>;
    /// Records the verdict and moves the session to `status` (passed or failed). When the
    /// account has a callback URL, a webhook job announcing the verdict is queued in the
    /// same transaction, so an acknowledged verdict never loses its notice. With a `fence`,
    /// only while that lease is current, else `Err(LeaseLost)` and nothing is written.
    async fn finish_session(
        &self,
        signature_id: &str,
        fence: Option<i64>,
        status: SessionStatus,
        result: SessionResult,
        now_ms: i64,
    ) -> Result<()>;
    /// Takes the session's live lease until `until_ms` when no lease runs (none was taken,
    /// it was released, or it ran out before `now_ms`), and returns its fencing token: one
    /// more than the last holder's. `Ok(None)` while another connection's lease runs;
    /// `Err(NotFound)` when there is no such session.
    async fn acquire_live_lease(
        &self,
        signature_id: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<i64>>;
    /// Extends the lease `fence` until `until_ms`. `Ok(false)`, changing nothing, when it
    /// is no longer the session's current lease.
    async fn renew_live_lease(&self, signature_id: &str, fence: i64, until_ms: i64)
        -> Result<bool>;
    /// Ends the lease `fence` at once, if it is still current, so the next connection need
    /// not wait for it to run out.
    async fn release_live_lease(&self, signature_id: &str, fence: i64) -> Result<()>;
    /// Records (or replaces, while unclaimed) the hashed capability of the session's
    /// cross-device link. `Ok(false)`, changing nothing, when the session does not exist,
    /// is finished (passed, expired, or failed with no try left), was cleared, or its link
    /// was already claimed.
    async fn issue_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool>;
    /// Marks the session's cross-device link with this `capability_hash` claimed. `Ok(true)`
    /// only for the one call that claimed it; `Ok(false)` when no such link is current (none
    /// issued, or replaced by a newer one), it was claimed already, or the session is
    /// finished or cleared.
    async fn claim_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool>;
    /// Removes the session's personal data (user id, images, frames, video references, the
    /// cross-device link) and keeps its verdict. Returns the blob keys to delete; they are also queued durably in
    /// the same transaction, so a crash before the files go cannot leave them forever.
    async fn clear_session(&self, signature_id: &str, now_ms: i64) -> Result<Vec<String>>;

    /// Blob deletions queued by [`Store::clear_session`] and not yet confirmed done.
    async fn pending_blob_deletions(&self, limit: u32) -> Result<Vec<String>>;
    async fn confirm_blob_deletions(&self, keys: &[String]) -> Result<()>;

    /// Takes one billable call from the prepaid balance, if the account has one.
    /// Returns the balance left (`None`: post-paid). `Err(InsufficientBalance)` at zero.
    async fn debit_balance(&self, account_id: i64) -> Result<Option<i64>>;

    /// Sessions created so far in the UTC day of `now_ms`.
    async fn sessions_today(&self, account_id: i64, now_ms: i64) -> Result<u32>;

    async fn set_ui_config(&self, account_id: i64, json: &str, now_ms: i64) -> Result<()>;
    async fn ui_config(&self, account_id: i64) -> Result<Option<String>>;

    /// Sessions whose account's retention period has passed and whose personal data is still
    /// there; the caller clears them with [`Store::clear_session`].
    async fn sessions_past_retention(&self, now_ms: i64, limit: u32) -> Result<Vec<String>>;

    /// Deletes expired tokens and signature records. Returns how many rows went.
    async fn purge_expired(&self, now_ms: i64) -> Result<u64>;

    /// Stores the account's webhook signing secret, sealed by the caller. `Err(NotFound)`
    /// when there is no such account.
    async fn set_webhook_secret(&self, account_id: i64, sealed: &[u8]) -> Result<()>;
    /// The account's sealed webhook signing secret, if one was ever set.
    async fn webhook_secret(&self, account_id: i64) -> Result<Option<Vec<u8>>>;

    /// Leases up to `limit` pending jobs that are due at `now_ms` and not leased by another
    /// worker, until `now_ms + lease_ms`. An expired lease (a worker that died) makes the job
    /// claimable again. On PostgreSQL concurrent claimers skip each other's rows.
    async fn claim_webhook_jobs(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<WebhookLease>>;
    /// Records one attempt and what it leaves the job as, and releases the lease, in one
    /// transaction. `Ok(false)`, recording nothing, when the lease was lost (it expired and
    /// another worker took the job, or an operator changed it).
    async fn record_webhook_attempt(
        &self,
        job_id: i64,
        lease_token: &str,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> Result<bool>;
    /// Jobs matching `filter`, newest first.
    async fn webhook_jobs(&self, filter: WebhookFilter) -> Result<Vec<WebhookJob>>;
    async fn webhook_job(&self, id: i64) -> Result<Option<WebhookJob>>;
    /// The job's attempts, oldest first.
    async fn webhook_attempts(&self, job_id: i64) -> Result<Vec<WebhookAttempt>>;
    /// An operator's retry: a delivered or failed job becomes pending again, due at
    /// `now_ms`, with a fresh set of attempts; a pending job becomes due at `now_ms`.
    /// `Ok(false)` when there is no such job.
    async fn retry_webhook_job(&self, id: i64, now_ms: i64) -> Result<bool>;
    /// Deletes delivered jobs (and their attempts) older than their account's retention
    /// period. Returns how many jobs went.
    async fn purge_webhook_jobs(&self, now_ms: i64) -> Result<u64>;

    /// Records the fingerprints of one try's frames and stills, in one transaction. A
    /// `frame_no` already recorded for this session and try keeps its first fingerprint, so
    /// a retried call adds nothing twice.
    async fn record_prints(
        &self,
        session_id: &str,
        try_no: u32,
        created_at_ms: i64,
        prints: &[FramePrint],
    ) -> Result<()>;
    /// Candidates recorded at or after `since_ms` by sessions other than `session_id`: rows
    /// whose `exact` equals some print's `exact`, or whose `phash` shares one of its four
    /// 16-bit bands ([`phash_bands`]) with some print's phash — every phash within Hamming
    /// distance 3 and many further; the caller filters by distance. At most `limit` rows,
    /// rows with an equal `exact` first.
    async fn find_prints(
        &self,
        session_id: &str,
        since_ms: i64,
        prints: &[FramePrint],
        limit: usize,
    ) -> Result<Vec<PrintMatch>>;
    /// Deletes fingerprints recorded before `before_ms`, in batches so other writes are not
    /// held up behind one long delete. Returns how many went.
    async fn purge_prints(&self, before_ms: i64) -> Result<u64>;

    /// Records a failed try of `subject` (a hash naming a user or a device) for the lockout.
    async fn record_try_failure(&self, account_id: i64, subject: &str, at_ms: i64) -> Result<()>;
    /// The times of `subject`'s last `limit` failed tries, newest first.
    async fn recent_try_failures(
        &self,
        account_id: i64,
        subject: &str,
        limit: u32,
    ) -> Result<Vec<i64>>;
    /// Deletes failed tries recorded before `before_ms`. Returns how many went.
    async fn purge_try_failures(&self, before_ms: i64) -> Result<u64>;
}

/// Opens the store named by `database_url`, or the SQLite file under `data_dir` when there
/// is none, and runs the migrations.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::PgStore::connect(url).await?))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Ok(Arc::new(sqlite::SqliteStore::open(Path::new(path)).await?))
        }
        Some(url) => Err(StoreError::Database(format!(
            "unsupported DATABASE_URL scheme in {:?}: use postgres://… or sqlite:PATH",
            url.split("://").next().unwrap_or(url)
        ))),
        None => Ok(Arc::new(
            sqlite::SqliteStore::open(&data_dir.join("openliveness.db")).await?,
        )),
    }
}

/// A random lease token for a batch of claimed webhook jobs.
pub(crate) fn lease_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Longest error text kept per webhook attempt.
pub(crate) const ATTEMPT_ERROR_MAX: usize = 500;

/// SQL condition (both backends) on `sessions`: the session can still take a cross-device
/// link or its claim — not passed, expired, cleared, or failed with no try left.
pub(crate) const SESSION_TAKES_LINK: &str = "status NOT IN ('passed', 'expired') \
     AND NOT (status = 'failed' AND tries_used >= try_count) AND cleared_at IS NULL";

/// Rows one purge step deletes; between steps other writes get their turn.
pub(crate) const PRINT_PURGE_BATCH: i64 = 5_000;

/// The query side of [`Store::find_prints`], ready to bind: distinct exact hashes and the
/// distinct values of each band, all as the stored `i64`.
pub(crate) struct PrintQuery {
    pub exact: Vec<i64>,
    pub bands: [Vec<i64>; 4],
}

impl PrintQuery {
    pub(crate) fn new(prints: &[FramePrint]) -> Self {
        let mut exact: Vec<i64> = prints.iter().map(|p| p.exact as i64).collect();
        exact.sort_unstable();
        exact.dedup();
        let mut bands: [Vec<i64>; 4] = Default::default();
        for p in prints {
            for (column, band) in bands.iter_mut().zip(p.bands()) {
                column.push(i64::from(band));
            }
        }
        for v in &mut bands {
            v.sort_unstable();
            v.dedup();
        }
        Self { exact, bands }
    }
}

/// Shortens `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Splits a stored comma list; empty string is an empty list.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::error::Error;

    use super::*;

    #[test]
    fn driver_errors_keep_their_cause() {
        let e = StoreError::from(rusqlite::Error::QueryReturnedNoRows);
        assert!(matches!(e, StoreError::Sqlite(_)), "{e:?}");
        // Shared (one failed commit answers a whole batch), the driver's own error inside.
        let source = e.source().unwrap();
        assert!(source.is::<Arc<rusqlite::Error>>());
        assert_eq!(
            source.to_string(),
            rusqlite::Error::QueryReturnedNoRows.to_string()
        );
        let e = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
        assert!(e.source().is_some_and(|s| s.is::<sqlx::Error>()));
        // A busy database stays "busy": the caller retries.
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(StoreError::from(busy), StoreError::Busy(_)));
    }

    #[tokio::test]
    async fn a_data_directory_that_cannot_be_made_says_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, b"").unwrap();
        let Err(e) = sqlite::SqliteStore::open(&blocker.join("data").join("db.sqlite")).await
        else {
            panic!("a database under a file opened");
        };
        assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("a-file"), "{e}");
        assert!(e.source().is_some_and(|s| s.is::<std::io::Error>()));
    }
}
