//! Row ↔ record mapping for SQLite, by column name so a reordered SELECT cannot misread.

use rusqlite::Row;

use crate::model::*;
use crate::split_list;

pub(crate) const ACCOUNT_COLS: &str = "a.id, a.name, a.regions, a.allowed_domains, \
    a.rate_limit_per_second, a.daily_quota, a.balance, a.disabled, a.expires_at, \
    a.pass_threshold, a.video_enabled, a.retention_days, a.callback_url, a.created_at";

pub(crate) const KEY_COLS: &str =
    "k.access_key, k.account_id, k.secret_sealed, k.partner_code, k.partner_key_hash, \
     k.revoked_at, k.created_at AS key_created_at";

pub(crate) fn account(r: &Row) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get("id")?,
        name: r.get("name")?,
        regions: split_list(&r.get::<_, String>("regions")?),
        allowed_domains: split_list(&r.get::<_, String>("allowed_domains")?),
        rate_limit_per_second: r.get("rate_limit_per_second")?,
        daily_quota: r.get("daily_quota")?,
        balance: r.get("balance")?,
        disabled: r.get("disabled")?,
        expires_at: r.get("expires_at")?,
        pass_threshold: r.get("pass_threshold")?,
        video_enabled: r.get("video_enabled")?,
        retention_days: r.get("retention_days")?,
        callback_url: r.get("callback_url")?,
        created_at: r.get("created_at")?,
    })
}

pub(crate) fn key(r: &Row) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        access_key: r.get("access_key")?,
        account_id: r.get("account_id")?,
        secret_sealed: r.get("secret_sealed")?,
        partner_code: r.get("partner_code")?,
        partner_key_hash: r.get("partner_key_hash")?,
        revoked_at: r.get("revoked_at")?,
        created_at: r.get("key_created_at")?,
    })
}

pub(crate) fn session(r: &Row) -> rusqlite::Result<Session> {
    let text_err = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let facade: String = r.get("facade")?;
    let status: String = r.get("status")?;
    let outcome: Option<String> = r.get("outcome")?;
    let result = match outcome {
        None => None,
        Some(outcome) => Some(SessionResult {
            outcome: Outcome::parse(&outcome).ok_or_else(|| text_err(0, "outcome"))?,
            score: r.get("score")?,
            attack_type: r.get("attack_type")?,
            signals: r.get("signals")?,
            image_far_blob: r.get("image_far_blob")?,
            image_near_blob: r.get("image_near_blob")?,
            video_blob: r.get("video_blob")?,
            audit_blob: r.get("audit_blob")?,
            far_image_time: r.get("far_image_time")?,
            near_image_time: r.get("near_image_time")?,
            multi_device: r.get("multi_device")?,
            secondary_device: r.get("secondary_device")?,
        }),
    };
    Ok(Session {
        new: NewSession {
            signature_id: r.get("signature_id")?,
            account_id: r.get("account_id")?,
            access_key: r.get("access_key")?,
            facade: Facade::parse(&facade).ok_or_else(|| text_err(0, "facade"))?,
            capability_hash: r.get("capability_hash")?,
            td_token: r.get("td_token")?,
            region: r.get("region")?,
            user_id: r.get("user_id")?,
            return_url: r.get("return_url")?,
            failed_return_url: r.get("failed_return_url")?,
            try_count: r.get("try_count")?,
            product_level: r.get("product_level")?,
            locale: r.get("locale")?,
            audio: r.get("audio")?,
            iframe: r.get("iframe")?,
            ui_config: r.get("ui_config")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
        },
        status: SessionStatus::parse(&status).ok_or_else(|| text_err(0, "status"))?,
        tries_used: r.get("tries_used")?,
        finished_at: r.get("finished_at")?,
        cleared_at: r.get("cleared_at")?,
        result,
        live_state: r.get("live_state")?,
        secondary: match r.get::<_, Option<String>>("secondary_capability_hash")? {
            None => None,
            Some(capability_hash) => Some(SecondaryLink {
                capability_hash,
                issued_at: r.get("secondary_issued_at")?,
                claimed_at: r.get("secondary_claimed_at")?,
            }),
        },
    })
}

pub(crate) const WEBHOOK_COLS: &str = "id, account_id, signature_id, event, session_status, \
    outcome, score, attack_type, finished_at, status, attempts, next_attempt_at, \
    last_error, created_at, delivered_at";

pub(crate) fn webhook_job(r: &Row) -> rusqlite::Result<WebhookJob> {
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let session_status: String = r.get("session_status")?;
    let status: String = r.get("status")?;
    let outcome: String = r.get("outcome")?;
    Ok(WebhookJob {
        id: r.get("id")?,
        account_id: r.get("account_id")?,
        signature_id: r.get("signature_id")?,
        event: r.get("event")?,
        session_status: SessionStatus::parse(&session_status)
            .ok_or_else(|| bad("session status"))?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| bad("outcome"))?,
        score: r.get("score")?,
        attack_type: r.get("attack_type")?,
        finished_at: r.get("finished_at")?,
        status: WebhookStatus::parse(&status).ok_or_else(|| bad("webhook status"))?,
        attempts: r.get("attempts")?,
        next_attempt_at: r.get("next_attempt_at")?,
        last_error: r.get("last_error")?,
        created_at: r.get("created_at")?,
        delivered_at: r.get("delivered_at")?,
    })
}

pub(crate) fn webhook_attempt(r: &Row) -> rusqlite::Result<WebhookAttempt> {
    Ok(WebhookAttempt {
        attempted_at: r.get("attempted_at")?,
        duration_ms: r.get("duration_ms")?,
        url: r.get("url")?,
        http_status: r.get("http_status")?,
        error: r.get("error")?,
    })
}
