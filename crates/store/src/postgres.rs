//! The PostgreSQL backend: the scale-out path, shared by any number of server replicas.
//!
//! Every multi-statement write runs in one transaction; uniqueness and counters are left to
//! the database (`ON CONFLICT`, `UPDATE … RETURNING`) so concurrent replicas stay correct.

mod prints;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};

use crate::migrate;
use crate::model::*;
use crate::{
    lease_token, split_list, truncate, PrintQuery, Result, Store, StoreError, ATTEMPT_ERROR_MAX,
    SESSION_TAKES_LINK,
};

pub struct PgStore {
    pool: PgPool,
}

const ACCOUNT_COLS: &str = "a.id, a.name, a.regions, a.allowed_domains, \
    a.rate_limit_per_second, a.daily_quota, a.balance, a.disabled, a.expires_at, \
    a.pass_threshold, a.video_enabled, a.retention_days, a.callback_url, a.created_at";

const KEY_COLS: &str =
    "k.access_key, k.account_id, k.secret_sealed, k.partner_code, k.partner_key_hash, \
     k.revoked_at, k.created_at AS key_created_at";

impl PgStore {
    /// Why a fenced write touched no row: the session is gone (or cleared), or its live
    /// lease now belongs to another connection.
    async fn not_written(&self, signature_id: &str, fence: Option<i64>) -> Result<StoreError> {
        let current: Option<i64> =
            sqlx::query_scalar("SELECT live_fence FROM sessions WHERE signature_id = $1")
                .bind(signature_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match (current, fence) {
            (Some(now), Some(mine)) if now != mine => StoreError::LeaseLost,
            _ => StoreError::NotFound("session"),
        })
    }

    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_in_schema(url, None).await
    }

    /// Connects with every table inside `schema` (created if missing). Tests use this to
    /// give each run its own namespace in one database.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self> {
        let mut opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid DATABASE_URL: {e}")))?;
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Database("invalid schema name".into()));
            }
            let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            opts = opts.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // One migrator at a time across replicas starting together.
        sqlx::query("SELECT pg_advisory_xact_lock(7316420118)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(migrate::CREATE_TABLE).execute(&mut *tx).await?;
        sqlx::query(migrate::CREATE_CHECKSUMS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        for m in migrate::POSTGRES {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7316420118)")
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
            let applied: Option<String> =
                sqlx::query_scalar("SELECT sha256 FROM schema_checksums WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(checksum) = m.check(applied.as_deref())? {
                sqlx::query("INSERT INTO schema_checksums (version, sha256) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(checksum)
                    .execute(&mut *tx)
                    .await?;
            }
            if done.is_none() {
                sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                tracing::info!(
                    version = m.version,
                    name = m.name,
                    "applied PostgreSQL migration"
                );
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Drops the test schema this store was opened in. For tests only.
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StoreError::Database("invalid schema name".into()));
        }
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn account_where(&self, clause: &str, bind: AccountKey<'_>) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts a WHERE {clause}");
        let q = sqlx::query(&sql);
        let q = match bind {
            AccountKey::Id(id) => q.bind(id),
            AccountKey::Name(n) => q.bind(n),
        };
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| account(&r))
            .transpose()
    }
}

enum AccountKey<'a> {
    Id(i64),
    Name(&'a str),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn to_u32(v: Option<i64>) -> Result<Option<u32>> {
    v.map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} out of range"))))
        .transpose()
}

fn account(r: &PgRow) -> Result<Account> {
    let threshold: i64 = r.try_get("pass_threshold")?;
    let retention: i64 = r.try_get("retention_days")?;
    Ok(Account {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        regions: split_list(r.try_get("regions")?),
        allowed_domains: split_list(r.try_get("allowed_domains")?),
        rate_limit_per_second: to_u32(r.try_get("rate_limit_per_second")?)?,
        daily_quota: to_u32(r.try_get("daily_quota")?)?,
        balance: r.try_get("balance")?,
        disabled: r.try_get("disabled")?,
        expires_at: r.try_get("expires_at")?,
        pass_threshold: u8::try_from(threshold)
            .map_err(|_| StoreError::Corrupt("pass_threshold out of range".into()))?,
        video_enabled: r.try_get("video_enabled")?,
        retention_days: to_u32(Some(retention))?.unwrap_or(0),
        callback_url: r.try_get("callback_url")?,
        created_at: r.try_get("created_at")?,
    })
}

fn key(r: &PgRow) -> Result<ApiKey> {
    Ok(ApiKey {
        access_key: r.try_get("access_key")?,
        account_id: r.try_get("account_id")?,
        secret_sealed: r.try_get("secret_sealed")?,
        partner_code: r.try_get("partner_code")?,
        partner_key_hash: r.try_get("partner_key_hash")?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("key_created_at")?,
    })
}

fn session(r: &PgRow) -> Result<Session> {
    let facade: String = r.try_get("facade")?;
    let status: String = r.try_get("status")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let result = match outcome {
        None => None,
        Some(outcome) => Some(SessionResult {
            outcome: Outcome::parse(&outcome)
                .ok_or_else(|| StoreError::Corrupt(format!("outcome {outcome}")))?,
            score: r.try_get("score")?,
            attack_type: r.try_get("attack_type")?,
            signals: r.try_get("signals")?,
            image_far_blob: r.try_get("image_far_blob")?,
            image_near_blob: r.try_get("image_near_blob")?,
            video_blob: r.try_get("video_blob")?,
            audit_blob: r.try_get("audit_blob")?,
            far_image_time: r.try_get("far_image_time")?,
            near_image_time: r.try_get("near_image_time")?,
            multi_device: r.try_get("multi_device")?,
            secondary_device: r.try_get("secondary_device")?,
        }),
    };
    Ok(Session {
        new: NewSession {
            signature_id: r.try_get("signature_id")?,
            account_id: r.try_get("account_id")?,
            access_key: r.try_get("access_key")?,
            facade: Facade::parse(&facade)
                .ok_or_else(|| StoreError::Corrupt(format!("facade {facade}")))?,
            capability_hash: r.try_get("capability_hash")?,
            td_token: r.try_get("td_token")?,
            region: r.try_get("region")?,
            user_id: r.try_get("user_id")?,
            return_url: r.try_get("return_url")?,
            failed_return_url: r.try_get("failed_return_url")?,
            try_count: to_u32(Some(r.try_get("try_count")?))?.unwrap_or(1),
            product_level: r.try_get("product_level")?,
            locale: r.try_get("locale")?,
            audio: r.try_get("audio")?,
            iframe: r.try_get("iframe")?,
            ui_config: r.try_get("ui_config")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        },
        status: SessionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        tries_used: to_u32(Some(r.try_get("tries_used")?))?.unwrap_or(0),
        finished_at: r.try_get("finished_at")?,
        cleared_at: r.try_get("cleared_at")?,
        result,
        live_state: r.try_get("live_state")?,
        secondary: match r.try_get::<Option<String>, _>("secondary_capability_hash")? {
            None => None,
            Some(capability_hash) => Some(SecondaryLink {
                capability_hash,
                issued_at: r.try_get("secondary_issued_at")?,
                claimed_at: r.try_get("secondary_claimed_at")?,
            }),
        },
    })
}

const WEBHOOK_COLS: &str = "id, account_id, signature_id, event, session_status, \
    outcome, score, attack_type, finished_at, status, attempts, next_attempt_at, \
    last_error, created_at, delivered_at";

fn webhook_job(r: &PgRow) -> Result<WebhookJob> {
    let session_status: String = r.try_get("session_status")?;
    let status: String = r.try_get("status")?;
    let outcome: String = r.try_get("outcome")?;
    Ok(WebhookJob {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        signature_id: r.try_get("signature_id")?,
        event: r.try_get("event")?,
        session_status: SessionStatus::parse(&session_status)
            .ok_or_else(|| StoreError::Corrupt(format!("session status {session_status}")))?,
        outcome: Outcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("outcome {outcome}")))?,
        score: r.try_get("score")?,
        attack_type: r.try_get("attack_type")?,
        finished_at: r.try_get("finished_at")?,
        status: WebhookStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("webhook status {status}")))?,
        attempts: to_u32(Some(r.try_get("attempts")?))?.unwrap_or(0),
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

fn webhook_attempt(r: &PgRow) -> Result<WebhookAttempt> {
    let status: Option<i64> = r.try_get("http_status")?;
    Ok(WebhookAttempt {
        attempted_at: r.try_get("attempted_at")?,
        duration_ms: r.try_get("duration_ms")?,
        url: r.try_get("url")?,
        http_status: status
            .map(|n| u16::try_from(n).map_err(|_| StoreError::Corrupt(format!("HTTP status {n}"))))
            .transpose()?,
        error: r.try_get("error")?,
    })
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount, now_ms: i64) -> Result<Account> {
        let res = sqlx::query(
            "INSERT INTO accounts (name, regions, allowed_domains, rate_limit_per_second,
                daily_quota, balance, disabled, expires_at, pass_threshold, video_enabled,
                retention_days, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8, $9, $10, $11)
             RETURNING id",
        )
        .bind(&new.name)
        .bind(new.regions.join(","))
        .bind(new.allowed_domains.join(","))
        .bind(new.rate_limit_per_second.map(i64::from))
        .bind(new.daily_quota.map(i64::from))
        .bind(new.balance)
        .bind(new.expires_at)
        .bind(i64::from(new.pass_threshold))
        .bind(new.video_enabled)
        .bind(i64::from(new.retention_days))
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await;
        let id: i64 = match res {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict("account")),
            other => other?.try_get("id")?,
        };
        self.account_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("account"))
    }

    async fn update_account(&self, name: &str, patch: AccountPatch) -> Result<Account> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts a WHERE a.name = $1 FOR UPDATE");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        let mut a = account(&row)?;
        a.apply(patch);
        sqlx::query(
            "UPDATE accounts SET regions = $2, allowed_domains = $3, rate_limit_per_second = $4,
                daily_quota = $5, balance = $6, disabled = $7, expires_at = $8,
                pass_threshold = $9, video_enabled = $10, retention_days = $11,
                callback_url = $12
             WHERE id = $1",
        )
        .bind(a.id)
        .bind(a.regions.join(","))
        .bind(a.allowed_domains.join(","))
        .bind(a.rate_limit_per_second.map(i64::from))
        .bind(a.daily_quota.map(i64::from))
        .bind(a.balance)
        .bind(a.disabled)
        .bind(a.expires_at)
        .bind(i64::from(a.pass_threshold))
        .bind(a.video_enabled)
        .bind(i64::from(a.retention_days))
        .bind(&a.callback_url)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        self.account_where("a.name = $1", AccountKey::Name(name))
            .await
    }

    async fn account_by_id(&self, id: i64) -> Result<Option<Account>> {
        self.account_where("a.id = $1", AccountKey::Id(id)).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts a ORDER BY a.id");
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account)
            .collect()
    }

    async fn create_key(&self, k: ApiKey) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO api_keys (access_key, account_id, secret_sealed, partner_code,
                partner_key_hash, revoked_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.access_key)
        .bind(k.account_id)
        .bind(&k.secret_sealed)
        .bind(&k.partner_code)
        .bind(&k.partner_key_hash)
        .bind(k.revoked_at)
        .bind(k.created_at)
        .execute(&self.pool)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("key")),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn key(&self, access_key: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.access_key = $1");
        sqlx::query(&sql)
            .bind(access_key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| key(&r))
            .transpose()
    }

    async fn key_by_partner_code(&self, partner_code: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.partner_code = $1");
        sqlx::query(&sql)
            .bind(partner_code)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| key(&r))
            .transpose()
    }

    async fn list_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created_at"
        );
        sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key)
            .collect()
    }

    async fn revoke_key(&self, access_key: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE access_key = $1",
        )
        .bind(access_key)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn issue_token(&self, signature: UsedSignature, token: NewToken) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO used_signatures (signature_hash, expires_at) VALUES ($1, $2)
             ON CONFLICT (signature_hash) DO NOTHING",
        )
        .bind(&signature.signature_hash)
        .bind(signature.expires_at)
        .execute(&mut *tx)
        .await?;
        if fresh.rows_affected() == 0 {
            return Err(StoreError::Replay);
        }
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, access_key, account_id, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_hash)
        .bind(&token.access_key)
        .bind(token.account_id)
        .bind(token.expires_at)
        .bind(token.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_context(&self, token_hash: &str) -> Result<Option<TokenContext>> {
        let sql = format!(
            "SELECT t.expires_at AS token_expires_at, {KEY_COLS}, {ACCOUNT_COLS}
             FROM access_tokens t
             JOIN api_keys k ON k.access_key = t.access_key
             JOIN accounts a ON a.id = k.account_id
             WHERE t.token_hash = $1"
        );
        let Some(r) = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(TokenContext {
            expires_at: r.try_get("token_expires_at")?,
            key: key(&r)?,
            account: account(&r)?,
        }))
    }

    async fn create_session(&self, s: NewSession, daily_quota: Option<u32>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let used: i64 = sqlx::query(
            "INSERT INTO daily_usage (account_id, day, sessions) VALUES ($1, $2, 1)
             ON CONFLICT (account_id, day) DO UPDATE SET sessions = daily_usage.sessions + 1
             RETURNING sessions",
        )
        .bind(s.account_id)
        .bind(utc_day(s.created_at))
        .fetch_one(&mut *tx)
        .await?
        .try_get("sessions")?;
        if daily_quota.is_some_and(|q| used > i64::from(q)) {
            return Err(StoreError::QuotaExceeded);
        }
        let res = sqlx::query(
            "INSERT INTO sessions (signature_id, account_id, access_key, facade, capability_hash,
                td_token, region, user_id, return_url, failed_return_url, try_count,
                product_level, locale, audio, iframe, ui_config, status, created_at, expires_at,
                sweep_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                'created', $17, $18, $18)",
        )
        .bind(&s.signature_id)
        .bind(s.account_id)
        .bind(&s.access_key)
        .bind(s.facade.as_str())
        .bind(&s.capability_hash)
        .bind(&s.td_token)
        .bind(&s.region)
        .bind(&s.user_id)
        .bind(&s.return_url)
        .bind(&s.failed_return_url)
        .bind(i64::from(s.try_count))
        .bind(&s.product_level)
        .bind(&s.locale)
        .bind(s.audio)
        .bind(s.iframe)
        .bind(&s.ui_config)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict("session")),
            other => other?,
        };
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, signature_id: &str) -> Result<Option<Session>> {
        sqlx::query("SELECT * FROM sessions WHERE signature_id = $1")
            .bind(signature_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| session(&r))
            .transpose()
    }

    async fn session_by_td_token(&self, td_token: &str) -> Result<Option<Session>> {
        sqlx::query("SELECT * FROM sessions WHERE td_token = $1")
            .bind(td_token)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| session(&r))
            .transpose()
    }

    async fn set_session_status(&self, signature_id: &str, status: SessionStatus) -> Result<()> {
        let done = sqlx::query("UPDATE sessions SET status = $2 WHERE signature_id = $1")
            .bind(signature_id)
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("session"));
        }
        Ok(())
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
        let done = sqlx::query(
            "UPDATE sessions SET status = $2, tries_used = $3, live_state = $4, sweep_at = $6
             WHERE signature_id = $1 AND ($5::BIGINT IS NULL OR live_fence = $5)",
        )
        .bind(signature_id)
        .bind(status.as_str())
        .bind(i64::from(tries_used))
        .bind(live_state)
        .bind(fence)
        .bind(sweep_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(self.not_written(signature_id, fence).await?);
        }
        Ok(())
    }

    async fn finish_session(
        &self,
        signature_id: &str,
        fence: Option<i64>,
        status: SessionStatus,
        r: SessionResult,
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE sessions SET status = $2, finished_at = $3, outcome = $4, score = $5,
                attack_type = $6, signals = $7, image_far_blob = $8, image_near_blob = $9,
                video_blob = $10, audit_blob = $11, far_image_time = $12, near_image_time = $13,
                multi_device = $14, secondary_device = $15
             WHERE signature_id = $1 AND cleared_at IS NULL
                AND ($16::BIGINT IS NULL OR live_fence = $16)",
        )
        .bind(signature_id)
        .bind(status.as_str())
        .bind(now_ms)
        .bind(r.outcome.as_str())
        .bind(r.score)
        .bind(r.attack_type)
        .bind(&r.signals)
        .bind(&r.image_far_blob)
        .bind(&r.image_near_blob)
        .bind(&r.video_blob)
        .bind(&r.audit_blob)
        .bind(r.far_image_time)
        .bind(r.near_image_time)
        .bind(r.multi_device)
        .bind(r.secondary_device)
        .bind(fence)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Err(self.not_written(signature_id, fence).await?);
        }
        sqlx::query(
            "INSERT INTO webhook_jobs (account_id, signature_id, event, session_status,
                outcome, score, attack_type, finished_at, status, attempts, next_attempt_at,
                created_at)
             SELECT s.account_id, s.signature_id, $2, s.status, s.outcome, s.score,
                s.attack_type, s.finished_at, 'pending', 0, $3, $3
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.signature_id = $1 AND a.callback_url IS NOT NULL",
        )
        .bind(signature_id)
        .bind(WEBHOOK_EVENT_SESSION_FINISHED)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn issue_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE sessions SET secondary_capability_hash = $2, secondary_issued_at = $3,
                    secondary_claimed_at = NULL
                 WHERE signature_id = $1 AND secondary_claimed_at IS NULL
                    AND {SESSION_TAKES_LINK}"
        ))
        .bind(signature_id)
        .bind(capability_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_secondary(
        &self,
        signature_id: &str,
        capability_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        // One UPDATE: the row lock makes concurrent claimers wait, and the loser then sees
        // `secondary_claimed_at` set and matches nothing.
        let done = sqlx::query(&format!(
            "UPDATE sessions SET secondary_claimed_at = $2
                 WHERE signature_id = $1 AND secondary_capability_hash = $3
                    AND secondary_claimed_at IS NULL AND {SESSION_TAKES_LINK}"
        ))
        .bind(signature_id)
        .bind(now_ms)
        .bind(capability_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn clear_session(&self, signature_id: &str, now_ms: i64) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM sessions WHERE signature_id = $1 FOR UPDATE")
            .bind(signature_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("session"))?;
        let keys = session(&row)?.blob_keys();
        for k in &keys {
            sqlx::query(
                "INSERT INTO pending_blob_deletions (blob_key) VALUES ($1)
                 ON CONFLICT (blob_key) DO NOTHING",
            )
            .bind(k)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE sessions SET user_id = NULL, image_far_blob = NULL, image_near_blob = NULL,
                video_blob = NULL, audit_blob = NULL, secondary_capability_hash = NULL,
                secondary_issued_at = NULL, secondary_claimed_at = NULL, sweep_at = NULL,
                cleared_at = COALESCE(cleared_at, $2)
             WHERE signature_id = $1",
        )
        .bind(signature_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(keys)
    }

    async fn pending_blob_deletions(&self, limit: u32) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT blob_key FROM pending_blob_deletions ORDER BY blob_key LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| r.try_get("blob_key").map_err(Into::into))
            .collect()
    }

    async fn confirm_blob_deletions(&self, keys: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM pending_blob_deletions WHERE blob_key = ANY($1)")
            .bind(keys)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn debit_balance(&self, account_id: i64) -> Result<Option<i64>> {
        let debited = sqlx::query(
            "UPDATE accounts SET balance = balance - 1
             WHERE id = $1 AND balance IS NOT NULL AND balance > 0
             RETURNING balance",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = debited {
            return Ok(Some(row.try_get("balance")?));
        }
        let balance: Option<Option<i64>> =
            sqlx::query("SELECT balance FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("balance"))
                .transpose()?;
        match balance {
            None => Err(StoreError::NotFound("account")),
            Some(None) => Ok(None),
            Some(Some(_)) => Err(StoreError::InsufficientBalance),
        }
    }

    async fn sessions_today(&self, account_id: i64, now_ms: i64) -> Result<u32> {
        let n: Option<i64> =
            sqlx::query("SELECT sessions FROM daily_usage WHERE account_id = $1 AND day = $2")
                .bind(account_id)
                .bind(utc_day(now_ms))
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("sessions"))
                .transpose()?;
        Ok(to_u32(n)?.unwrap_or(0))
    }

    async fn set_ui_config(&self, account_id: i64, json: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO ui_configs (account_id, config, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE SET config = excluded.config,
                updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(json)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ui_config(&self, account_id: i64) -> Result<Option<String>> {
        sqlx::query("SELECT config FROM ui_configs WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("config").map_err(Into::into))
            .transpose()
    }

    async fn sessions_past_retention(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.signature_id FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.cleared_at IS NULL AND s.created_at < $1 - a.retention_days * 86400000
             ORDER BY s.created_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM used_signatures WHERE expires_at < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        let b = sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }

    async fn set_webhook_secret(&self, account_id: i64, sealed: &[u8]) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET webhook_secret_sealed = $2 WHERE id = $1")
            .bind(account_id)
            .bind(sealed)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("account"));
        }
        Ok(())
    }

    async fn webhook_secret(&self, account_id: i64) -> Result<Option<Vec<u8>>> {
        let v: Option<Option<Vec<u8>>> =
            sqlx::query("SELECT webhook_secret_sealed FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("webhook_secret_sealed"))
                .transpose()?;
        Ok(v.flatten())
    }

    async fn claim_webhook_jobs(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<WebhookLease>> {
        let token = lease_token();
        let lease_until = now_ms.saturating_add(lease_ms);
        // SKIP LOCKED: replicas claiming at the same moment take disjoint rows instead of
        // waiting for each other; the lease keeps them disjoint after the commit.
        let sql = format!(
            "UPDATE webhook_jobs SET lease_until = $2, lease_token = $3
             WHERE id IN (SELECT id FROM webhook_jobs
                WHERE status = 'pending' AND next_attempt_at <= $1
                   AND (lease_until IS NULL OR lease_until <= $1)
                ORDER BY next_attempt_at, id LIMIT $4
                FOR UPDATE SKIP LOCKED)
             RETURNING {WEBHOOK_COLS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .bind(lease_until)
            .bind(&token)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows.iter().map(webhook_job).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.next_attempt_at, j.id));
        Ok(jobs
            .into_iter()
            .map(|job| WebhookLease {
                job,
                token: token.clone(),
                lease_until,
            })
            .collect())
    }

    async fn record_webhook_attempt(
        &self,
        job_id: i64,
        lease_token: &str,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> Result<bool> {
        let error = attempt
            .error
            .as_deref()
            .map(|e| truncate(e, ATTEMPT_ERROR_MAX));
        let (status, next, delivered) = match outcome {
            WebhookOutcome::Delivered => {
                (WebhookStatus::Delivered, None, Some(attempt.attempted_at))
            }
            WebhookOutcome::RetryAt(at) => (WebhookStatus::Pending, Some(at), None),
            WebhookOutcome::Failed => (WebhookStatus::Failed, None, None),
        };
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_jobs SET status = $3, attempts = attempts + 1,
                next_attempt_at = COALESCE($4, next_attempt_at), delivered_at = $5,
                last_error = $6, lease_until = NULL, lease_token = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        )
        .bind(job_id)
        .bind(lease_token)
        .bind(status.as_str())
        .bind(next)
        .bind(delivered)
        .bind(&error)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (job_id, attempted_at, duration_ms, url, http_status,
                error)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(job_id)
        .bind(attempt.attempted_at)
        .bind(attempt.duration_ms)
        .bind(truncate(&attempt.url, 2048))
        .bind(attempt.http_status.map(i64::from))
        .bind(&error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn webhook_jobs(&self, filter: WebhookFilter) -> Result<Vec<WebhookJob>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLS} FROM webhook_jobs
             WHERE ($1::BIGINT IS NULL OR account_id = $1)
                AND ($2::TEXT IS NULL OR status = $2)
             ORDER BY id DESC LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(filter.account_id)
            .bind(filter.status.map(WebhookStatus::as_str))
            .bind(i64::from(filter.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(webhook_job)
            .collect()
    }

    async fn webhook_job(&self, id: i64) -> Result<Option<WebhookJob>> {
        let sql = format!("SELECT {WEBHOOK_COLS} FROM webhook_jobs WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| webhook_job(&r))
            .transpose()
    }

    async fn webhook_attempts(&self, job_id: i64) -> Result<Vec<WebhookAttempt>> {
        sqlx::query(
            "SELECT attempted_at, duration_ms, url, http_status, error
             FROM webhook_attempts WHERE job_id = $1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(webhook_attempt)
        .collect()
    }

    async fn retry_webhook_job(&self, id: i64, now_ms: i64) -> Result<bool> {
        // One statement: a pending job keeps its lease and attempts and only becomes due.
        let done = sqlx::query(
            "UPDATE webhook_jobs SET
                attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END,
                lease_until = CASE WHEN status = 'pending' THEN lease_until ELSE NULL END,
                lease_token = CASE WHEN status = 'pending' THEN lease_token ELSE NULL END,
                next_attempt_at = LEAST(next_attempt_at, $2),
                delivered_at = NULL,
                status = 'pending'
             WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_webhook_jobs(&self, now_ms: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_jobs j USING accounts a
             WHERE a.id = j.account_id AND j.status = 'delivered'
                AND j.delivered_at < $1 - a.retention_days * 86400000",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
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
        prints::insert(&self.pool, session_id, try_no, created_at_ms, prints).await
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
        let query = PrintQuery::new(prints);
        prints::find(&self.pool, session_id, since_ms, &query, limit).await
    }

    async fn purge_prints(&self, before_ms: i64) -> Result<u64> {
        prints::purge(&self.pool, before_ms).await
    }

    async fn sessions_due(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT signature_id FROM sessions
             WHERE sweep_at IS NOT NULL AND sweep_at <= $1 AND cleared_at IS NULL
                AND (live_lease_until IS NULL OR live_lease_until <= $1)
             ORDER BY sweep_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn acquire_live_lease(
        &self,
        signature_id: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<i64>> {
        let fence: Option<i64> = sqlx::query_scalar(
            "UPDATE sessions SET live_fence = live_fence + 1, live_lease_until = $3
             WHERE signature_id = $1 AND (live_lease_until IS NULL OR live_lease_until <= $2)
             RETURNING live_fence",
        )
        .bind(signature_id)
        .bind(now_ms)
        .bind(until_ms)
        .fetch_optional(&self.pool)
        .await?;
        if fence.is_none() {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM sessions WHERE signature_id = $1")
                    .bind(signature_id)
                    .fetch_optional(&self.pool)
                    .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound("session"));
            }
        }
        Ok(fence)
    }

    async fn renew_live_lease(
        &self,
        signature_id: &str,
        fence: i64,
        until_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET live_lease_until = $3
             WHERE signature_id = $1 AND live_fence = $2 AND live_lease_until IS NOT NULL",
        )
        .bind(signature_id)
        .bind(fence)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_live_lease(&self, signature_id: &str, fence: i64) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET live_lease_until = NULL
             WHERE signature_id = $1 AND live_fence = $2",
        )
        .bind(signature_id)
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_try_failure(&self, account_id: i64, subject: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO try_failures (account_id, subject, failed_at) VALUES ($1, $2, $3)",
        )
        .bind(account_id)
        .bind(subject)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recent_try_failures(
        &self,
        account_id: i64,
        subject: &str,
        limit: u32,
    ) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT failed_at FROM try_failures WHERE account_id = $1 AND subject = $2
             ORDER BY failed_at DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(subject)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(Into::into))
            .collect()
    }

    async fn purge_try_failures(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM try_failures WHERE failed_at < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
