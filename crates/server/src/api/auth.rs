//! Who is calling: the `X-ACCESS-TOKEN` check of the primary contract, and the account
//! checks every facade shares (disabled, expired, rate limit).
//!
//! What must stay true: tokens are looked up by their SHA-256 only; a revoked key, a
//! disabled or expired account stops its tokens at once, not when they expire.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openliveness_store::{Account, ApiKey};

use crate::error::{ApiError, Iam};
use crate::state::{now_ms, sha256_hex, AppState};

pub const ACCESS_TOKEN_HEADER: &str = "x-access-token";

/// An authenticated caller of the primary contract.
pub struct Caller {
    pub account: Account,
    pub key: ApiKey,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(ACCESS_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Iam(Iam::NotAuthorized))?;
        let now = now_ms();
        let ctx = state
            .store
            .token_context(&sha256_hex(token.as_bytes()))
            .await?
            .filter(|c| c.expires_at > now)
            .ok_or(ApiError::Iam(Iam::TokenNotFound))?;
        if ctx.key.revoked_at.is_some() {
            return Err(ApiError::Iam(Iam::KeyRevoked));
        }
        admit(state, &ctx.account, now, Iam::AccountDisabled).await?;
        Ok(Caller {
            account: ctx.account,
            key: ctx.key,
        })
    }
}

/// The account checks every authenticated call passes: not disabled (answered with
/// `disabled`, since the token endpoint has its own code for it), not expired, and
/// within its rate limit.
pub async fn admit(
    state: &AppState,
    account: &Account,
    now: i64,
    disabled: impl Into<DisabledAs>,
) -> Result<(), ApiError> {
    if account.disabled {
        return Err(match disabled.into() {
            DisabledAs::Iam(why) => ApiError::Iam(why),
            DisabledAs::AccountDisabled => ApiError::AccountDisabled,
        });
    }
    if account.is_expired(now) {
        return Err(ApiError::Iam(Iam::AccountExpired));
    }
    if let Some(limit) = account.rate_limit_per_second {
        state
            .limiter
            .check(account.id, limit)
            .await
            .map_err(|secs| ApiError::RateLimited {
                retry_after_secs: secs,
            })?;
    }
    Ok(())
}

/// How a disabled account is reported: the token endpoint has `ACCOUNT_DISABLED`, every
/// other endpoint `IAM_FAILED` with the glossary's message.
pub enum DisabledAs {
    Iam(Iam),
    AccountDisabled,
}

impl From<Iam> for DisabledAs {
    fn from(why: Iam) -> Self {
        DisabledAs::Iam(why)
    }
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
