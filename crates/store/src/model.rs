//! The records the store keeps. Plain data: no SQL, no HTTP, no vendor wire names.
//!
//! Times are Unix milliseconds (`i64`) everywhere, because that is what both vendor APIs
//! speak and what both backends store without time-zone surprises.

use serde::Serialize;

/// A customer of the service: one business with its limits and permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    /// ISO 3166-1 alpha-3 codes the account may create sessions for.
    pub regions: Vec<String>,
    /// Hosts that redirect targets must match (exactly or as a subdomain). Empty: any host.
    pub allowed_domains: Vec<String>,
    pub rate_limit_per_second: Option<u32>,
    pub daily_quota: Option<u32>,
    /// Prepaid balance in billable calls. `None`: post-paid, never refused.
    pub balance: Option<i64>,
    pub disabled: bool,
    pub expires_at: Option<i64>,
    /// Score at or above which a session passes.
    pub pass_threshold: u8,
    pub video_enabled: bool,
    /// Days after which a session's images, frames and video are purged.
    pub retention_days: u32,
    /// Where a notice is POSTed when a session of this account finishes. `None`: no webhooks.
    pub callback_url: Option<String>,
    pub created_at: i64,
}

impl Account {
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now_ms)
    }

    pub fn allows_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }

    /// Applies an operator's change.
    pub fn apply(&mut self, p: AccountPatch) {
        if let Some(v) = p.regions {
            self.regions = v;
        }
        if let Some(v) = p.allowed_domains {
            self.allowed_domains = v;
        }
        if let Some(v) = p.rate_limit_per_second {
            self.rate_limit_per_second = v;
        }
        if let Some(v) = p.daily_quota {
            self.daily_quota = v;
        }
        if let Some(v) = p.balance {
            self.balance = v;
        }
        if let Some(v) = p.disabled {
            self.disabled = v;
        }
        if let Some(v) = p.expires_at {
            self.expires_at = v;
        }
        if let Some(v) = p.pass_threshold {
            self.pass_threshold = v;
        }
        if let Some(v) = p.video_enabled {
            self.video_enabled = v;
        }
        if let Some(v) = p.retention_days {
            self.retention_days = v;
        }
        if let Some(v) = p.callback_url {
            self.callback_url = v;
        }
    }
}

/// What an operator gives when creating an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: String,
    pub regions: Vec<String>,
    pub allowed_domains: Vec<String>,
    pub rate_limit_per_second: Option<u32>,
    pub daily_quota: Option<u32>,
    pub balance: Option<i64>,
    pub expires_at: Option<i64>,
    pub pass_threshold: u8,
    pub video_enabled: bool,
    pub retention_days: u32,
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub regions: Option<Vec<String>>,
    pub allowed_domains: Option<Vec<String>>,
    pub rate_limit_per_second: Option<Option<u32>>,
    pub daily_quota: Option<Option<u32>>,
    pub balance: Option<Option<i64>>,
    pub disabled: Option<bool>,
    pub expires_at: Option<Option<i64>>,
    pub pass_threshold: Option<u8>,
    pub video_enabled: Option<bool>,
    pub retention_days: Option<u32>,
    /// `Some(None)` removes the callback URL.
    pub callback_url: Option<Option<String>>,
}

/// An API key pair. The ADVANCE secret must be recoverable to check signatures, so it is
/// kept sealed with the master key; the TrustDecision partner key is only ever compared,
/// so only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub access_key: String,
    pub account_id: i64,
    pub secret_sealed: Vec<u8>,
    pub partner_code: String,
    pub partner_key_hash: String,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// An access token as stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub token_hash: String,
    pub access_key: String,
    pub account_id: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

/// A signature that was accepted once and must not be accepted again before it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedSignature {
    pub signature_hash: String,
    pub expires_at: i64,
}

/// Everything an authenticated request needs, read in one query.
#[derive(Debug, Clone)]
pub struct TokenContext {
    pub expires_at: i64,
    pub key: ApiKey,
    pub account: Account,
}

/// Where a session is in its life. The transitions are decided by the liveness core;
/// the store only records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Created,
    Opened,
    Positioned,
    Challenged,
    Capturing,
    Verifying,
    Passed,
    Failed,
    Expired,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 9] = [
        Self::Created,
        Self::Opened,
        Self::Positioned,
        Self::Challenged,
        Self::Capturing,
        Self::Verifying,
        Self::Passed,
        Self::Failed,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Opened => "opened",
            Self::Positioned => "positioned",
            Self::Challenged => "challenged",
            Self::Capturing => "capturing",
            Self::Verifying => "verifying",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The session's answer can be fetched, if it has a result: a verdict, the lockout, or
    /// an ending without a verdict (an expired session keeps an earlier try's verdict).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Passed | Self::Failed | Self::Expired)
    }
}

/// Which vendor API created a session; decides the shape of its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Facade {
    Advance,
    TrustDecision,
}

impl Facade {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advance => "advance",
            Self::TrustDecision => "trustdecision",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "advance" => Some(Self::Advance),
            "trustdecision" => Some(Self::TrustDecision),
            _ => None,
        }
    }
}

/// A session as created by Get Token (or the second facade's token call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub signature_id: String,
    pub account_id: i64,
    pub access_key: String,
    pub facade: Facade,
    /// SHA-256 of the page capability carried by the session URL.
    pub capability_hash: String,
    /// The second facade's token, when that facade created the session.
    pub td_token: Option<String>,
    pub region: String,
    pub user_id: Option<String>,
    pub return_url: String,
    pub failed_return_url: Option<String>,
    pub try_count: u32,
    pub product_level: String,
    pub locale: Option<String>,
    pub audio: bool,
    pub iframe: bool,
    /// The account's UI configuration at creation time, as JSON; later changes never
    /// reach a session already created.
    pub ui_config: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How a finished session ended, in the product's own words. Each API facade says it in its
/// contract's words (the primary contract's result codes, the second facade's `result_code`);
/// the store never holds a vendor's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The liveness core judged the frames: `score` and `attack_type` say how.
    Judged,
    /// A face-quality gate stopped the try before any score: the frames could not be judged.
    Quality(QualityIssue),
    /// The session ended without a verdict: its page was left, its last try timed out or
    /// was abandoned, or its link expired.
    NotCompleted,
    /// The user (or browser) failed too often; no new try was allowed.
    LockedOut,
}

/// Why the frames of a try could not be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityIssue {
    NoFace,
    TooManyFaces,
    /// Too big, too small, cut off or turned away.
    InvalidFace,
    Occluded,
    PoorQuality,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Self::Judged,
        Self::Quality(QualityIssue::NoFace),
        Self::Quality(QualityIssue::TooManyFaces),
        Self::Quality(QualityIssue::InvalidFace),
        Self::Quality(QualityIssue::Occluded),
        Self::Quality(QualityIssue::PoorQuality),
        Self::NotCompleted,
        Self::LockedOut,
    ];

    /// The stored word (migration 0009 wrote these over the primary contract's codes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judged => "judged",
            Self::Quality(QualityIssue::NoFace) => "quality.no_face",
            Self::Quality(QualityIssue::TooManyFaces) => "quality.too_many_faces",
            Self::Quality(QualityIssue::InvalidFace) => "quality.invalid_face",
            Self::Quality(QualityIssue::Occluded) => "quality.occluded",
            Self::Quality(QualityIssue::PoorQuality) => "quality.poor",
            Self::NotCompleted => "not_completed",
            Self::LockedOut => "locked_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The result of a finished session, as the liveness core decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionResult {
    pub outcome: Outcome,
    pub score: Option<i64>,
    pub attack_type: Option<i64>,
    /// JSON list of the signals behind the score.
    pub signals: Option<String>,
    pub image_far_blob: Option<String>,
    pub image_near_blob: Option<String>,
    pub video_blob: Option<String>,
    pub audit_blob: Option<String>,
    pub far_image_time: Option<i64>,
    pub near_image_time: Option<i64>,
    /// A second device opened the session's cross-device link.
    pub multi_device: bool,
    /// This verification was made on that second device, through the link.
    pub secondary_device: bool,
}

impl SessionResult {
    /// A result with this outcome and nothing else recorded.
    pub fn of(outcome: Outcome) -> SessionResult {
        SessionResult {
            outcome,
            score: None,
            attack_type: None,
            signals: None,
            image_far_blob: None,
            image_near_blob: None,
            video_blob: None,
            audit_blob: None,
            far_image_time: None,
            near_image_time: None,
            multi_device: false,
            secondary_device: false,
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub new: NewSession,
    pub status: SessionStatus,
    pub tries_used: u32,
    pub finished_at: Option<i64>,
    pub cleared_at: Option<i64>,
    pub result: Option<SessionResult>,
    /// The liveness core's state machine, serialised by the server; `None` until the page
    /// first connects.
    pub live_state: Option<String>,
    /// The single-use link that continues this session on a second device, once issued.
    pub secondary: Option<SecondaryLink>,
}

/// The cross-device link of a session: a second capability, shown as a QR code when the
/// first device cannot capture, that one other device may claim once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryLink {
    /// SHA-256 of the secondary capability; the capability itself is never stored.
    pub capability_hash: String,
    pub issued_at: i64,
    /// When a second device opened the link; `None` while it is still unclaimed.
    pub claimed_at: Option<i64>,
}

impl Session {
    pub fn signature_id(&self) -> &str {
        &self.new.signature_id
    }

    /// Every blob this session references, for deletion.
    pub fn blob_keys(&self) -> Vec<String> {
        let Some(r) = &self.result else {
            return Vec::new();
        };
        [
            &r.image_far_blob,
            &r.image_near_blob,
            &r.video_blob,
            &r.audit_blob,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

/// Where a webhook delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed; only an operator's retry sends it again.
    Failed,
}

impl WebhookStatus {
    pub const ALL: [WebhookStatus; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The event a webhook job announces. One exists today; the column leaves room for more.
pub const WEBHOOK_EVENT_SESSION_FINISHED: &str = "session.finished";

/// A queued webhook delivery: which session's verdict it announces, a snapshot of that
/// verdict, and where its delivery stands. Queued by [`crate::Store::finish_session`] in the
/// same transaction as the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookJob {
    pub id: i64,
    pub account_id: i64,
    pub signature_id: String,
    pub event: String,
    /// The session's status when the verdict was recorded (passed or failed).
    pub session_status: SessionStatus,
    pub outcome: Outcome,
    pub score: Option<i64>,
    pub attack_type: Option<i64>,
    pub finished_at: i64,
    pub status: WebhookStatus,
    /// Attempts made since the job was queued or last retried by an operator.
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A job handed to one delivery worker until `lease_until`; only the holder of `token`
/// can record its outcome, so two workers never both deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookLease {
    pub job: WebhookJob,
    pub token: String,
    pub lease_until: i64,
}

/// One delivery attempt as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempted_at: i64,
    pub duration_ms: i64,
    pub url: String,
    /// The HTTP status answered, if any answer came.
    pub http_status: Option<u16>,
    /// Why the attempt failed (connection error, timeout, non-2xx), shortened.
    pub error: Option<String>,
}

/// What an attempt leaves the job as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Delivered,
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// No attempts left.
    Failed,
}

/// Which jobs an operator lists; newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFilter {
    pub account_id: Option<i64>,
    pub status: Option<WebhookStatus>,
    pub limit: u32,
}

/// One frame's (or still's) fingerprint, kept for cross-session replay detection. Never the
/// image: a 64-bit perceptual hash and a 64-bit hash of the exact bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePrint {
    pub frame_no: u32,
    pub phash: u64,
    pub exact: u64,
}

impl FramePrint {
    /// The perceptual hash's four unsigned 16-bit bands, bits 0–15 first. Two hashes within
    /// Hamming distance 3 share at least one (pigeonhole), which is what the store indexes.
    pub fn bands(&self) -> [u16; 4] {
        phash_bands(self.phash)
    }
}

/// A fingerprint recorded by another session that may match one asked about: its `exact`
/// is equal, or its `phash` shares a band. The caller judges by Hamming distance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintMatch {
    pub session_id: String,
    pub try_no: u32,
    pub frame_no: u32,
    pub phash: u64,
    pub exact: u64,
}

/// `phash`'s four unsigned 16-bit bands: bits 0–15, 16–31, 32–47, 48–63.
pub fn phash_bands(phash: u64) -> [u16; 4] {
    [0, 16, 32, 48].map(|shift| (phash >> shift) as u16)
}

/// The day number (days since the Unix epoch, UTC) that daily quotas count in.
pub fn utc_day(now_ms: i64) -> i64 {
    now_ms.div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SessionStatus::parse("nope"), None);
        assert!(SessionStatus::Passed.is_finished());
        assert!(!SessionStatus::Capturing.is_finished());
    }

    #[test]
    fn webhook_status_round_trips() {
        for s in WebhookStatus::ALL {
            assert_eq!(WebhookStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(WebhookStatus::parse("done"), None);
    }

    #[test]
    fn bands_are_unsigned_and_ordered() {
        assert_eq!(
            phash_bands(0xFFFF_8000_0001_1234),
            [0x1234, 0x0001, 0x8000, 0xFFFF]
        );
        let p = FramePrint {
            frame_no: 0,
            phash: u64::MAX,
            exact: 0,
        };
        assert_eq!(p.bands(), [65535; 4]);
    }

    #[test]
    fn utc_day_boundaries() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(86_399_999), 0);
        assert_eq!(utc_day(86_400_000), 1);
        assert_eq!(utc_day(-1), -1);
    }
}
