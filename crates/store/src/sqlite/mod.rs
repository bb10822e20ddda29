//! The SQLite backend: the default, one file under the data directory.
//!
//! Writes go through one writer thread with group commit ([`writer`]); reads run on a small
//! pool of read connections, which WAL mode lets proceed while the writer commits.

mod prints;
mod rows;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::migrate::{self, Migration};
use crate::model::*;
use crate::{
    lease_token, truncate, PrintQuery, Result, Store, StoreError, ATTEMPT_ERROR_MAX,
    PRINT_PURGE_BATCH, SESSION_TAKES_LINK,
};
use rows::{ACCOUNT_COLS, KEY_COLS, WEBHOOK_COLS};
use writer::Writer;

/// Idle read connections kept open; more are opened under load and closed afterwards.
/// Opening one re-parses the schema, so keep as many as requests read at once under load
/// (64 concurrent connections in docs/benchmarks.md: 8 made most reads open and close a
/// connection).
const MAX_IDLE_READERS: usize = 64;

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_sync(path))
            .await
            .map_err(StoreError::Task)?
    }

    fn open_sync(path: PathBuf) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                what: format!("cannot create {}", dir.display()),
                source,
            })?;
        }
        // SQLite gives the -wal and -shm files the database file's mode: a 0600 database
        // keeps all three private. Files of older versions are narrowed here.
        let narrow = |p: &Path| {
            crate::private::narrow_if_present(p).map_err(|source| StoreError::Io {
                what: format!("cannot make {} private", p.display()),
                source,
            })
        };
        crate::private::file(&path).map_err(|source| StoreError::Io {
            what: format!("cannot create {}", path.display()),
            source,
        })?;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            narrow(Path::new(&side))?;
        }
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        apply_migrations(&mut conn, migrate::SQLITE)?;
        Ok(Self {
            writer: Writer::start(conn),
            readers: Arc::new(Readers {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let out = f(&conn);
            readers.give_back(conn);
            out
        })
        .await
        .map_err(StoreError::Task)?
    }
}

impl Readers {
    fn take(&self) -> Result<Connection> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // FULL: a commit is synced before the caller hears of it, so an acknowledged write
    // survives power loss too, not only a killed process. Group commit pays for it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Room for every statement the store prepares once (`prepare_cached`), so none is
    // evicted and prepared again (rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn apply_migrations(conn: &mut Connection, migrations: &[Migration]) -> Result<()> {
    conn.execute_batch(migrate::CREATE_TABLE)?;
    conn.execute_batch(migrate::CREATE_CHECKSUMS)?;
    for m in migrations {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()?;
        let applied: Option<String> = tx
            .query_row(
                "SELECT sha256 FROM schema_checksums WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(checksum) = m.check(applied.as_deref())? {
            tx.execute(
                "INSERT INTO schema_checksums (version, sha256) VALUES (?1, ?2)",
                params![m.version, checksum],
            )?;
        }
        if done.is_none() {
            tx.execute_batch(m.sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![m.version, m.name, now_ms()],
            )?;
            tracing::info!(
                version = m.version,
                name = m.name,
                "applied SQLite migration"
            );
        }
        tx.commit()?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn load_account_by(
    conn: &Connection,
    clause: &str,
    arg: &dyn rusqlite::ToSql,
) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts a WHERE {clause}");
    // Every API request reads its account: the statement is prepared once per connection.
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arg], rows::account)
        .optional()?)
}

const SESSION_SELECT: &str = "SELECT * FROM sessions WHERE ";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn create_account(&self, new: NewAccount, now_ms: i64) -> Result<Account> {
        self.writer
            .write(move |c| {
                let res = c.execute(
                    "INSERT INTO accounts (name, regions, allowed_domains, rate_limit_per_second,
                        daily_quota, balance, disabled, expires_at, pass_threshold, video_enabled,
                        retention_days, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        new.name,
                        new.regions.join(","),
                        new.allowed_domains.join(","),
                        new.rate_limit_per_second,
                        new.daily_quota,
                        new.balance,
                        new.expires_at,
                        new.pass_threshold,
                        new.video_enabled,
                        new.retention_days,
                        now_ms
                    ],
                );
                match res {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::Conflict("account"))
                    }
                    other => other?,
                };
                load_account_by(c, "a.id = ?1", &c.last_insert_rowid())?
                    .ok_or(StoreError::NotFound("account"))
            })
            .await
    }

    async fn update_account(&self, name: &str, patch: AccountPatch) -> Result<Account> {
        let name = name.to_owned();
        self.writer
            .write(move |c| {
                let mut a = load_account_by(c, "a.name = ?1", &name)?
                    .ok_or(StoreError::NotFound("account"))?;
                a.apply(patch);
                c.execute(
                    "UPDATE accounts SET regions = ?2, allowed_domains = ?3,
                        rate_limit_per_second = ?4, daily_quota = ?5, balance = ?6, disabled = ?7,
                        expires_at = ?8, pass_threshold = ?9, video_enabled = ?10,
                        retention_days = ?11, callback_url = ?12
                     WHERE id = ?1",
                    params![
                        a.id,
                        a.regions.join(","),
                        a.allowed_domains.join(","),
                        a.rate_limit_per_second,
                        a.daily_quota,
                        a.balance,
                        a.disabled,
                        a.expires_at,
                        a.pass_threshold,
                        a.video_enabled,
                        a.retention_days,
                        a.callback_url
                    ],
                )?;
                Ok(a)
            })
            .await
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        let name = name.to_owned();
        self.read(move |c| load_account_by(c, "a.name = ?1", &name))
            .await
    }

    async fn account_by_id(&self, id: i64) -> Result<Option<Account>> {
        self.read(move |c| load_account_by(c, "a.id = ?1", &id))
            .await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.read(|c| {
            let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts a ORDER BY a.id");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], rows::account)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn create_key(&self, key: ApiKey) -> Result<()> {
        self.writer
            .write(move |c| {
                let res = c.execute(
                    "INSERT INTO api_keys (access_key, account_id, secret_sealed, partner_code,
                        partner_key_hash, revoked_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        key.access_key,
                        key.account_id,
                        key.secret_sealed,
                        key.partner_code,
                        key.partner_key_hash,
                        key.revoked_at,
                        key.created_at
                    ],
                );
                match res {
                    Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("key")),
                    other => other.map(|_| ()).map_err(Into::into),
                }
            })
            .await
    }

    async fn key(&self, access_key: &str) -> Result<Option<ApiKey>> {
        let access_key = access_key.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.access_key = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([access_key], rows::key)
                .optional()?)
        })
        .await
    }

    async fn key_by_partner_code(&self, partner_code: &str) -> Result<Option<ApiKey>> {
        let code = partner_code.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.partner_code = ?1");
            Ok(c.query_row(&sql, [code], rows::key).optional()?)
        })
        .await
    }

    async fn list_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {KEY_COLS} FROM api_keys k WHERE k.account_id = ?1 ORDER BY k.created_at"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([account_id], rows::key)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_key(&self, access_key: &str, now_ms: i64) -> Result<bool> {
        let access_key = access_key.to_owned();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE access_key = ?1",
                    params![access_key, now_ms],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn issue_token(&self, signature: UsedSignature, token: NewToken) -> Result<()> {
        self.writer
            .write(move |c| {
                let fresh = c
                    .prepare_cached(
                        "INSERT INTO used_signatures (signature_hash, expires_at) VALUES (?1, ?2)
                         ON CONFLICT (signature_hash) DO NOTHING",
                    )?
                    .execute(params![signature.signature_hash, signature.expires_at])?;
                if fresh == 0 {
                    return Err(StoreError::Replay);
                }
                c.prepare_cached(
                    "INSERT INTO access_tokens (token_hash, access_key, account_id, expires_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    token.token_hash,
                    token.access_key,
                    token.account_id,
                    token.expires_at,
                    token.created_at
                ])?;
                Ok(())
            })
            .await
    }

    async fn token_context(&self, token_hash: &str) -> Result<Option<TokenContext>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            let sql = format!(
                "SELECT t.expires_at AS token_expires_at, {KEY_COLS}, {ACCOUNT_COLS}
                 FROM access_tokens t
                 JOIN api_keys k ON k.access_key = t.access_key
                 JOIN accounts a ON a.id = k.account_id
                 WHERE t.token_hash = ?1"
            );
            Ok(c.prepare_cached(&sql)?
                .query_row([token_hash], |r| {
                    Ok(TokenContext {
                        expires_at: r.get("token_expires_at")?,
                        key: rows::key(r)?,
                        account: rows::account(r)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn create_session(&self, s: NewSession, daily_quota: Option<u32>) -> Result<()> {
        self.writer
            .write(move |c| {
                let used: i64 = c
                    .prepare_cached(
                        "INSERT INTO daily_usage (account_id, day, sessions) VALUES (?1, ?2, 1)
                         ON CONFLICT (account_id, day) DO UPDATE SET sessions = sessions + 1
                         RETURNING sessions",
                    )?
                    .query_row(params![s.account_id, utc_day(s.created_at)], |r| r.get(0))?;
                if daily_quota.is_some_and(|q| used > i64::from(q)) {
                    return Err(StoreError::QuotaExceeded);
                }
                let mut insert = c.prepare_cached(
                    "INSERT INTO sessions (signature_id, account_id, access_key, facade,
                        capability_hash, td_token, region, user_id, return_url, failed_return_url,
                        try_count, product_level, locale, audio, iframe, ui_config, status,
                        created_at, expires_at, sweep_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                        ?16, 'created', ?17, ?18, ?18)",
                )?;
                let res = insert.execute(params![
                    s.signature_id,
                    s.account_id,
                    s.access_key,
                    s.facade.as_str(),
                    s.capability_hash,
                    s.td_token,
                    s.region,
                    s.user_id,
                    s.return_url,
                    s.failed_return_url,
                    s.try_count,
                    s.product_level,
                    s.locale,
                    s.audio,
                    s.iframe,
                    s.ui_config,
                    s.created_at,
                    s.expires_at
                ]);
                match res {
                    Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("session")),
                    other => other.map(|_| ()).map_err(Into::into),
                }
            })
            .await
    }

    async fn session(&self, signature_id: &str) -> Result<Option<Session>> {
        let id = signature_id.to_owned();
        self.read(move |c| {
            let sql = format!("{SESSION_SELECT} signature_id = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([id], rows::session)
                .optional()?)
        })
        .await
    }

    async fn session_by_td_token(&self, td_token: &str) -> Result<Option<Session>> {
        let token = td_token.to_owned();
        self.read(move |c| {
            let sql = format!("{SESSION_SELECT} td_token = ?1");
            Ok(c.query_row(&sql, [token], rows::session).optional()?)
        })
        .await
    }

    async fn set_session_status(&self, signature_id: &str, status: SessionStatus) -> Result<()> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    "UPDATE sessions SET status = ?2 WHERE signature_id = ?1",
                    params![id, status.as_str()],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound("session"));
                }
                Ok(())
            })
            .await
    }

    async fn save_live_state(
        &self,
        signature_id: &str,
        fence: Option<i64>,
        status: SessionStatus,
        tries_used: u32,
        live_state: &str,
        sweep_at: Option<i64>,
    ) -> Result<()> {
        let id = signature_id.to_owned();
        let state = live_state.to_owned();
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "UPDATE sessions SET status = ?2, tries_used = ?3, live_state = ?4,
                            sweep_at = ?6
                         WHERE signature_id = ?1 AND (?5 IS NULL OR live_fence = ?5)",
                    )?
                    .execute(params![
                        id,
                        status.as_str(),
                        tries_used,
                        state,
                        fence,
                        sweep_at
                    ])?;
                if n == 0 {
                    return Err(not_written(c, &id, fence)?);
                }
                Ok(())
            })
            .await
    }

    async fn finish_session(
        &self,
        signature_id: &str,
        fence: Option<i64>,
        status: SessionStatus,
        r: SessionResult,
        now_ms: i64,
    ) -> Result<()> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    "UPDATE sessions SET status = ?2, finished_at = ?3, outcome = ?4, score = ?5,
                        attack_type = ?6, signals = ?7, image_far_blob = ?8, image_near_blob = ?9,
                        video_blob = ?10, audit_blob = ?11, far_image_time = ?12,
                        near_image_time = ?13, multi_device = ?14, secondary_device = ?15
                     WHERE signature_id = ?1 AND cleared_at IS NULL
                        AND (?16 IS NULL OR live_fence = ?16)",
                    params![
                        id,
                        status.as_str(),
                        now_ms,
                        r.outcome.as_str(),
                        r.score,
                        r.attack_type,
                        r.signals,
                        r.image_far_blob,
                        r.image_near_blob,
                        r.video_blob,
                        r.audit_blob,
                        r.far_image_time,
                        r.near_image_time,
                        r.multi_device,
                        r.secondary_device,
                        fence
                    ],
                )?;
                if n == 0 {
                    return Err(not_written(c, &id, fence)?);
                }
                c.execute(
                    "INSERT INTO webhook_jobs (account_id, signature_id, event, session_status,
                        outcome, score, attack_type, finished_at, status, attempts,
                        next_attempt_at, created_at)
                     SELECT s.account_id, s.signature_id, ?2, s.status, s.outcome, s.score,
                        s.attack_type, s.finished_at, 'pending', 0, ?3, ?3
                     FROM sessions s JOIN accounts a ON a.id = s.account_id
                     WHERE s.signature_id = ?1 AND a.callback_url IS NOT NULL",
                    params![id, WEBHOOK_EVENT_SESSION_FINISHED, now_ms],
                )?;
                Ok(())
            })
            .await
    }

    async fn issue_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let id = signature_id.to_owned();
        let hash = capability_hash.to_owned();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    &format!(
                        "UPDATE sessions SET secondary_capability_hash = ?2,
                            secondary_issued_at = ?3, secondary_claimed_at = NULL
                         WHERE signature_id = ?1 AND secondary_claimed_at IS NULL
                            AND {SESSION_TAKES_LINK}"
                    ),
                    params![id, hash, now_ms],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn claim_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let id = signature_id.to_owned();
        let hash = capability_hash.to_owned();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    &format!(
                        "UPDATE sessions SET secondary_claimed_at = ?2
                         WHERE signature_id = ?1 AND secondary_capability_hash = ?3
                            AND secondary_claimed_at IS NULL AND {SESSION_TAKES_LINK}"
                    ),
                    params![id, now_ms, hash],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn clear_session(&self, signature_id: &str, now_ms: i64) -> Result<Vec<String>> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                let sql = format!("{SESSION_SELECT} signature_id = ?1");
                let session = c
                    .query_row(&sql, [&id], rows::session)
                    .optional()?
                    .ok_or(StoreError::NotFound("session"))?;
                let keys = session.blob_keys();
                for key in &keys {
                    c.execute(
                        "INSERT INTO pending_blob_deletions (blob_key) VALUES (?1)
                         ON CONFLICT (blob_key) DO NOTHING",
                        [key],
                    )?;
                }
                c.execute(
                    "UPDATE sessions SET user_id = NULL, image_far_blob = NULL,
                        image_near_blob = NULL, video_blob = NULL, audit_blob = NULL,
                        secondary_capability_hash = NULL, secondary_issued_at = NULL,
                        secondary_claimed_at = NULL, sweep_at = NULL,
                        cleared_at = COALESCE(cleared_at, ?2)
                     WHERE signature_id = ?1",
                    params![id, now_ms],
                )?;
                Ok(keys)
            })
            .await
    }

    async fn pending_blob_deletions(&self, limit: u32) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT blob_key FROM pending_blob_deletions ORDER BY blob_key LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    async fn confirm_blob_deletions(&self, keys: &[String]) -> Result<()> {
        let keys = keys.to_vec();
        self.writer
            .write(move |c| {
                for key in &keys {
                    c.execute(
                        "DELETE FROM pending_blob_deletions WHERE blob_key = ?1",
                        [key],
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn debit_balance(&self, account_id: i64) -> Result<Option<i64>> {
        self.writer
            .write(move |c| {
                let balance: Option<Option<i64>> = c
                    .prepare_cached("SELECT balance FROM accounts WHERE id = ?1")?
                    .query_row([account_id], |r| r.get(0))
                    .optional()?;
                match balance {
                    None => Err(StoreError::NotFound("account")),
                    Some(None) => Ok(None),
                    Some(Some(b)) if b <= 0 => Err(StoreError::InsufficientBalance),
                    Some(Some(b)) => {
                        c.prepare_cached(
                            "UPDATE accounts SET balance = balance - 1 WHERE id = ?1",
                        )?
                        .execute([account_id])?;
                        Ok(Some(b - 1))
                    }
                }
            })
            .await
    }

    async fn sessions_today(&self, account_id: i64, now_ms: i64) -> Result<u32> {
        self.read(move |c| {
            let n: Option<u32> = c
                .prepare_cached(
                    "SELECT sessions FROM daily_usage WHERE account_id = ?1 AND day = ?2",
                )?
                .query_row(params![account_id, utc_day(now_ms)], |r| r.get(0))
                .optional()?;
            Ok(n.unwrap_or(0))
        })
        .await
    }

    async fn set_ui_config(&self, account_id: i64, json: &str, now_ms: i64) -> Result<()> {
        let json = json.to_owned();
        self.writer
            .write(move |c| {
                c.execute(
                    "INSERT INTO ui_configs (account_id, config, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (account_id) DO UPDATE SET config = excluded.config,
                        updated_at = excluded.updated_at",
                    params![account_id, json, now_ms],
                )?;
                Ok(())
            })
            .await
    }

    async fn ui_config(&self, account_id: i64) -> Result<Option<String>> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT config FROM ui_configs WHERE account_id = ?1")?
                    .query_row([account_id], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    async fn sessions_past_retention(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT s.signature_id FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.cleared_at IS NULL AND s.created_at < ?1 - a.retention_days * 86400000
                 ORDER BY s.created_at LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now_ms, limit], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64> {
        self.writer
            .write(move |c| {
                let a = c.execute(
                    "DELETE FROM used_signatures WHERE expires_at < ?1",
                    [now_ms],
                )?;
                let b = c.execute("DELETE FROM access_tokens WHERE expires_at < ?1", [now_ms])?;
                Ok((a + b) as u64)
            })
            .await
    }

    async fn set_webhook_secret(&self, account_id: i64, sealed: &[u8]) -> Result<()> {
        let sealed = sealed.to_vec();
        self.writer
            .write(move |c| {
                let n = c.execute(
                    "UPDATE accounts SET webhook_secret_sealed = ?2 WHERE id = ?1",
                    params![account_id, sealed],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound("account"));
                }
                Ok(())
            })
            .await
    }

    async fn webhook_secret(&self, account_id: i64) -> Result<Option<Vec<u8>>> {
        self.read(move |c| {
            let v: Option<Option<Vec<u8>>> = c
                .query_row(
                    "SELECT webhook_secret_sealed FROM accounts WHERE id = ?1",
                    [account_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(v.flatten())
        })
        .await
    }

    async fn claim_webhook_jobs(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<WebhookLease>> {
        // Workers poll often; a read answers "nothing due" without a turn of the writer.
        let due: bool = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM webhook_jobs
                        WHERE status = 'pending' AND next_attempt_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1))",
                    [now_ms],
                    |r| r.get(0),
                )?)
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        let token = lease_token();
        let lease_until = now_ms.saturating_add(lease_ms);
        self.writer
            .write(move |c| {
                // The single writer serialises claims, so select-then-update cannot race.
                let sql = format!(
                    "UPDATE webhook_jobs SET lease_until = ?2, lease_token = ?3
                     WHERE id IN (SELECT id FROM webhook_jobs
                        WHERE status = 'pending' AND next_attempt_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1)
                        ORDER BY next_attempt_at, id LIMIT ?4)
                     RETURNING {WEBHOOK_COLS}"
                );
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt.query_map(params![now_ms, lease_until, token, limit], |r| {
                    rows::webhook_job(r)
                })?;
                let mut jobs = rows.collect::<rusqlite::Result<Vec<_>>>()?;
                jobs.sort_by_key(|j| (j.next_attempt_at, j.id));
                Ok(jobs
                    .into_iter()
                    .map(|job| WebhookLease {
                        job,
                        token: token.clone(),
                        lease_until,
                    })
                    .collect())
            })
            .await
    }

    async fn record_webhook_attempt(
        &self,
        job_id: i64,
        lease_token: &str,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> Result<bool> {
        let token = lease_token.to_owned();
        let error = attempt
            .error
            .as_deref()
            .map(|e| truncate(e, ATTEMPT_ERROR_MAX));
        let url = truncate(&attempt.url, 2048);
        self.writer
            .write(move |c| {
                let (status, next, delivered) = match outcome {
                    WebhookOutcome::Delivered => {
                        (WebhookStatus::Delivered, None, Some(attempt.attempted_at))
                    }
                    WebhookOutcome::RetryAt(at) => (WebhookStatus::Pending, Some(at), None),
                    WebhookOutcome::Failed => (WebhookStatus::Failed, None, None),
                };
                let n = c.execute(
                    "UPDATE webhook_jobs SET status = ?3, attempts = attempts + 1,
                        next_attempt_at = COALESCE(?4, next_attempt_at), delivered_at = ?5,
                        last_error = ?6, lease_until = NULL, lease_token = NULL
                     WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
                    params![job_id, token, status.as_str(), next, delivered, error],
                )?;
                if n == 0 {
                    return Ok(false);
                }
                c.execute(
                    "INSERT INTO webhook_attempts (job_id, attempted_at, duration_ms, url,
                        http_status, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        job_id,
                        attempt.attempted_at,
                        attempt.duration_ms,
                        url,
                        attempt.http_status,
                        error
                    ],
                )?;
                Ok(true)
            })
            .await
    }

    async fn webhook_jobs(&self, filter: WebhookFilter) -> Result<Vec<WebhookJob>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {WEBHOOK_COLS} FROM webhook_jobs
                 WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR status = ?2)
                 ORDER BY id DESC LIMIT ?3"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(
                params![
                    filter.account_id,
                    filter.status.map(WebhookStatus::as_str),
                    filter.limit
                ],
                rows::webhook_job,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn webhook_job(&self, id: i64) -> Result<Option<WebhookJob>> {
        self.read(move |c| {
            let sql = format!("SELECT {WEBHOOK_COLS} FROM webhook_jobs WHERE id = ?1");
            Ok(c.query_row(&sql, [id], rows::webhook_job).optional()?)
        })
        .await
    }

    async fn webhook_attempts(&self, job_id: i64) -> Result<Vec<WebhookAttempt>> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT attempted_at, duration_ms, url, http_status, error
                 FROM webhook_attempts WHERE job_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([job_id], rows::webhook_attempt)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn retry_webhook_job(&self, id: i64, now_ms: i64) -> Result<bool> {
        self.writer
            .write(move |c| {
                // A pending job keeps its lease and attempts and only becomes due.
                let n = c.execute(
                    "UPDATE webhook_jobs SET
                        attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END,
                        lease_until = CASE WHEN status = 'pending' THEN lease_until ELSE NULL END,
                        lease_token = CASE WHEN status = 'pending' THEN lease_token ELSE NULL END,
                        next_attempt_at = MIN(next_attempt_at, ?2),
                        delivered_at = NULL,
                        status = 'pending'
                     WHERE id = ?1",
                    params![id, now_ms],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn purge_webhook_jobs(&self, now_ms: i64) -> Result<u64> {
        self.writer
            .write(move |c| {
                let n = c.execute(
                    "DELETE FROM webhook_jobs WHERE status = 'delivered' AND delivered_at <
                        ?1 - (SELECT a.retention_days FROM accounts a
                              WHERE a.id = webhook_jobs.account_id) * 86400000",
                    [now_ms],
                )?;
                Ok(n as u64)
            })
            .await
    }

    async fn record_prints(
        &self,
        session_id: &str,
        try_no: u32,
        created_at_ms: i64,
        prints: &[FramePrint],
    ) -> Result<()> {
        if prints.is_empty() {
            return Ok(());
        }
        let id = session_id.to_owned();
        let prints = prints.to_vec();
        self.writer
            .write(move |c| prints::insert(c, &id, try_no, created_at_ms, &prints))
            .await
    }

    async fn find_prints(
        &self,
        session_id: &str,
        since_ms: i64,
        prints: &[FramePrint],
        limit: usize,
    ) -> Result<Vec<PrintMatch>> {
        if prints.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let id = session_id.to_owned();
        let query = PrintQuery::new(prints);
        self.read(move |c| prints::find(c, &id, since_ms, &query, limit))
            .await
    }

    async fn purge_prints(&self, before_ms: i64) -> Result<u64> {
        // One batch per writer job, so commits of other callers interleave with a long purge.
        let mut total = 0;
        loop {
            let n = self
                .writer
                .write(move |c| prints::purge_step(c, before_ms))
                .await?;
            total += n;
            if n < PRINT_PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    async fn sessions_due(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT signature_id FROM sessions
                 WHERE sweep_at IS NOT NULL AND sweep_at <= ?1 AND cleared_at IS NULL
                    AND (live_lease_until IS NULL OR live_lease_until <= ?1)
                 ORDER BY sweep_at LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now_ms, limit], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    async fn acquire_live_lease(
        &self,
        signature_id: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<i64>> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                let fence: Option<i64> = c
                    .prepare_cached(
                        "UPDATE sessions SET live_fence = live_fence + 1, live_lease_until = ?3
                         WHERE signature_id = ?1
                            AND (live_lease_until IS NULL OR live_lease_until <= ?2)
                         RETURNING live_fence",
                    )?
                    .query_row(params![id, now_ms, until_ms], |r| r.get(0))
                    .optional()?;
                if fence.is_none() {
                    let exists = c
                        .prepare_cached("SELECT 1 FROM sessions WHERE signature_id = ?1")?
                        .exists([&id])?;
                    if !exists {
                        return Err(StoreError::NotFound("session"));
                    }
                }
                Ok(fence)
            })
            .await
    }

    async fn renew_live_lease(
        &self,
        signature_id: &str,
        fence: i64,
        until_ms: i64,
    ) -> Result<bool> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "UPDATE sessions SET live_lease_until = ?3
                         WHERE signature_id = ?1 AND live_fence = ?2
                            AND live_lease_until IS NOT NULL",
                    )?
                    .execute(params![id, fence, until_ms])?;
                Ok(n == 1)
            })
            .await
    }

    async fn release_live_lease(&self, signature_id: &str, fence: i64) -> Result<()> {
        let id = signature_id.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE sessions SET live_lease_until = NULL
                     WHERE signature_id = ?1 AND live_fence = ?2",
                )?
                .execute(params![id, fence])?;
                Ok(())
            })
            .await
    }

    async fn record_try_failure(&self, account_id: i64, subject: &str, at_ms: i64) -> Result<()> {
        let subject = subject.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO try_failures (account_id, subject, failed_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![account_id, subject, at_ms])?;
                Ok(())
            })
            .await
    }

    async fn recent_try_failures(
        &self,
        account_id: i64,
        subject: &str,
        limit: u32,
    ) -> Result<Vec<i64>> {
        let subject = subject.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT failed_at FROM try_failures WHERE account_id = ?1 AND subject = ?2
                 ORDER BY failed_at DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![account_id, subject, limit], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
        })
        .await
    }

    async fn purge_try_failures(&self, before_ms: i64) -> Result<u64> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached("DELETE FROM try_failures WHERE failed_at < ?1")?
                    .execute(params![before_ms])?;
                Ok(n as u64)
            })
            .await
    }
}

/// Why a fenced write touched no row: the session is gone (or cleared), or its live lease
/// now belongs to another connection.
fn not_written(c: &rusqlite::Connection, id: &str, fence: Option<i64>) -> Result<StoreError> {
    let current: Option<i64> = c
        .prepare_cached("SELECT live_fence FROM sessions WHERE signature_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(match (current, fence) {
        (Some(now), Some(mine)) if now != mine => StoreError::LeaseLost,
        _ => StoreError::NotFound("session"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before the store held neutral outcomes carried the primary contract's
    /// codes; migration 9 translates every one of them, in sessions and webhook jobs, and
    /// keeps the renamed `use_slave_url` flag.
    #[test]
    fn migration_9_translates_the_contract_codes() {
        let codes = [
            ("SUCCESS", Outcome::Judged),
            ("NO_FACE_DETECTED", Outcome::Quality(QualityIssue::NoFace)),
            (
                "TOO_MANY_FACES_DETECTED",
                Outcome::Quality(QualityIssue::TooManyFaces),
            ),
            (
                "INVALID_FACE_DETECTED",
                Outcome::Quality(QualityIssue::InvalidFace),
            ),
            ("FACE_OCCLUDED", Outcome::Quality(QualityIssue::Occluded)),
            (
                "FACE_QUALITY_TOO_POOR",
                Outcome::Quality(QualityIssue::PoorQuality),
            ),
            ("NOT_COMPLETED", Outcome::NotCompleted),
            ("LOCKED_OUT", Outcome::LockedOut),
        ];
        assert_eq!(
            codes.len(),
            Outcome::ALL.len(),
            "every outcome has its old code"
        );
        let mut conn = Connection::open_in_memory().unwrap();
        let (before, ninth) = migrate::SQLITE.split_at(8);
        assert_eq!(ninth[0].version, 9);
        apply_migrations(&mut conn, before).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, regions, created_at) VALUES (1, 'acme', 'IDN', 0);",
        )
        .unwrap();
        for (i, (code, _)) in codes.iter().enumerate() {
            conn.execute(
                "INSERT INTO sessions (signature_id, account_id, access_key, facade,
                    capability_hash, region, return_url, try_count, product_level, status,
                    created_at, expires_at, result_code, use_slave_url)
                 VALUES (?1, 1, 'k', 'advance', ?1, 'IDN', 'https://x', 1, 'standard',
                    'failed', 0, 0, ?2, ?3)",
                params![format!("s{i}"), code, i % 2 == 1],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO webhook_jobs (account_id, signature_id, event, session_status,
                    result_code, finished_at, status, next_attempt_at, created_at)
                 VALUES (1, ?1, 'session.finished', 'failed', ?2, 0, 'pending', 0, 0)",
                params![format!("s{i}"), code],
            )
            .unwrap();
        }
        apply_migrations(&mut conn, migrate::SQLITE).unwrap();
        for (i, (code, outcome)) in codes.iter().enumerate() {
            for table in ["sessions", "webhook_jobs"] {
                let stored: String = conn
                    .query_row(
                        &format!("SELECT outcome FROM {table} WHERE signature_id = ?1"),
                        [format!("s{i}")],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(Outcome::parse(&stored), Some(*outcome), "{table}: {code}");
            }
            let secondary: bool = conn
                .query_row(
                    "SELECT secondary_device FROM sessions WHERE signature_id = ?1",
                    [format!("s{i}")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(secondary, i % 2 == 1);
        }
    }

    fn checksums(conn: &Connection) -> Vec<(i64, String)> {
        let mut stmt = conn
            .prepare("SELECT version, sha256 FROM schema_checksums ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Every applied migration's text is remembered; a database migrated with another text
    /// does not open, and says which migration and why.
    #[test]
    fn an_edited_migration_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_migrations(&mut conn, migrate::SQLITE).unwrap();
        let kept = checksums(&conn);
        assert_eq!(kept.len(), migrate::SQLITE.len());
        assert_eq!(kept[2], (3, migrate::SQLITE[2].checksum()));
        // Opening again changes nothing.
        apply_migrations(&mut conn, migrate::SQLITE).unwrap();
        assert_eq!(checksums(&conn), kept);

        conn.execute(
            "UPDATE schema_checksums SET sha256 = 'ab' WHERE version = 3",
            [],
        )
        .unwrap();
        let err = apply_migrations(&mut conn, migrate::SQLITE).unwrap_err();
        assert!(
            matches!(err, StoreError::MigrationChanged { version: 3, .. }),
            "{err}"
        );
        let said = err.to_string();
        assert!(said.contains("migration 3 (secondary_link)"), "{said}");
        assert!(said.contains("edited after its release"), "{said}");
    }

    /// A database migrated before checksums were kept gets them on its next start.
    #[test]
    fn checksums_are_recorded_for_older_databases() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_migrations(&mut conn, migrate::SQLITE).unwrap();
        let kept = checksums(&conn);
        conn.execute_batch("DROP TABLE schema_checksums").unwrap();
        apply_migrations(&mut conn, migrate::SQLITE).unwrap();
        assert_eq!(checksums(&conn), kept);
    }
}
