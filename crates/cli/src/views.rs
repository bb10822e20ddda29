//! What the operator commands print: JSON views of the store's records, owned here so the
//! command line's output is a contract of its own. A store field can be renamed without
//! changing what an operator's script reads, and the other way round.

use openliveness_store::{Account, WebhookAttempt, WebhookJob};
use serde::Serialize;

/// An account as `account create|update|list` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView<'a> {
    pub id: i64,
    pub name: &'a str,
    pub regions: &'a [String],
    pub allowed_domains: &'a [String],
    pub rate_limit_per_second: Option<u32>,
    pub daily_quota: Option<u32>,
    pub balance: Option<i64>,
    pub disabled: bool,
    pub expires_at: Option<i64>,
    pub pass_threshold: u8,
    pub video_enabled: bool,
    pub retention_days: u32,
    pub callback_url: Option<&'a str>,
    pub created_at: i64,
    /// A webhook secret just made: shown once, never stored in the clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

impl<'a> AccountView<'a> {
    pub fn new(a: &'a Account, webhook_secret: Option<String>) -> Self {
        AccountView {
            id: a.id,
            name: &a.name,
            regions: &a.regions,
            allowed_domains: &a.allowed_domains,
            rate_limit_per_second: a.rate_limit_per_second,
            daily_quota: a.daily_quota,
            balance: a.balance,
            disabled: a.disabled,
            expires_at: a.expires_at,
            pass_threshold: a.pass_threshold,
            video_enabled: a.video_enabled,
            retention_days: a.retention_days,
            callback_url: a.callback_url.as_deref(),
            created_at: a.created_at,
            webhook_secret,
        }
    }
}

/// A webhook job as `webhook list|show|retry` prints it, with its account's name.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookJobView<'a> {
    pub id: i64,
    pub account_id: i64,
    pub account: Option<&'a str>,
    pub signature_id: &'a str,
    pub event: &'a str,
    pub session_status: &'static str,
    /// How the session ended, in the product's words (docs/webhooks.md).
    pub outcome: &'static str,
    pub score: Option<i64>,
    pub attack_type: Option<i64>,
    pub finished_at: i64,
    pub status: &'static str,
    /// Attempts since the job was queued or last retried.
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<&'a str>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

impl<'a> WebhookJobView<'a> {
    pub fn new(job: &'a WebhookJob, account: Option<&'a str>) -> Self {
        WebhookJobView {
            id: job.id,
            account_id: job.account_id,
            account,
            signature_id: &job.signature_id,
            event: &job.event,
            session_status: job.session_status.as_str(),
            outcome: job.outcome.as_str(),
            score: job.score,
            attack_type: job.attack_type,
            finished_at: job.finished_at,
            status: job.status.as_str(),
            attempts: job.attempts,
            next_attempt_at: job.next_attempt_at,
            last_error: job.last_error.as_deref(),
            created_at: job.created_at,
            delivered_at: job.delivered_at,
        }
    }
}

/// One delivery attempt as `webhook show` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView<'a> {
    pub attempted_at: i64,
    pub duration_ms: i64,
    pub url: &'a str,
    pub http_status: Option<u16>,
    pub error: Option<&'a str>,
}

impl<'a> From<&'a WebhookAttempt> for AttemptView<'a> {
    fn from(a: &'a WebhookAttempt) -> Self {
        AttemptView {
            attempted_at: a.attempted_at,
            duration_ms: a.duration_ms,
            url: &a.url,
            http_status: a.http_status,
            error: a.error.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openliveness_store::{Outcome, SessionStatus, WebhookStatus};

    /// The printed names are this module's, whatever the store calls its fields.
    #[test]
    fn a_job_prints_its_outcome_in_the_products_words() {
        let job = WebhookJob {
            id: 7,
            account_id: 1,
            signature_id: "s1".into(),
            event: "session.finished".into(),
            session_status: SessionStatus::Failed,
            outcome: Outcome::NotCompleted,
            score: None,
            attack_type: None,
            finished_at: 5,
            status: WebhookStatus::Pending,
            attempts: 0,
            next_attempt_at: 6,
            last_error: None,
            created_at: 5,
            delivered_at: None,
        };
        let v = serde_json::to_value(WebhookJobView::new(&job, Some("acme"))).unwrap();
        assert_eq!(v["outcome"], "not_completed");
        assert_eq!(v["sessionStatus"], "failed");
        assert_eq!(v["status"], "pending");
        assert_eq!(v["account"], "acme");
        assert_eq!(v["signatureId"], "s1");
    }
}
