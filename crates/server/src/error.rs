//! The one error type at the HTTP edge: every failure a handler can meet, mapped to the
//! vendor code, message and HTTP status of the primary contract.
//!
//! What must stay true: internal causes (SQL, paths, panics) are logged with the request's
//! transaction id and never sent; every variant renders as the JSON envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openliveness_store::StoreError;

use crate::envelope::{Envelope, Pricing};

/// Why the identity and access checks refused a request. Messages are the glossary's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iam {
    NotAuthorized,
    KeyNotFound,
    KeyRevoked,
    TokenNotFound,
    Country,
    Domain,
    AccountExpired,
    AccountDisabled,
}

impl Iam {
    pub fn message(self) -> &'static str {
        match self {
            Iam::NotAuthorized => {
                "You are not authorized by the Identity and Access Management system"
            }
            Iam::KeyNotFound => "Access Key not found",
            Iam::KeyRevoked => "Access Key not found or expired",
            Iam::TokenNotFound => "Token not found or expired",
            Iam::Country => "Account not authorized for this country",
            Iam::Domain => "Account not authorized for this domain",
            Iam::AccountExpired => "Account is expired. Please contact your sales manager for help",
            Iam::AccountDisabled => {
                "Account is disabled. Please contact your sales manager for help"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a required parameter is missing or empty")]
    ParamEmpty,
    #[error("a parameter has the wrong type or value")]
    ParamInvalid,
    #[error("a parameter is illegal")]
    ParamIllegal,
    #[error("timestamp outside the accepted window or malformed")]
    Timestamp,
    #[error("signature does not verify or was used before")]
    Signature,
    #[error("invalid returnUrl")]
    InvalidReturnUrl,
    #[error("invalid failedReturnUrl")]
    InvalidFailedReturnUrl,
    #[error("tryCount must be positive")]
    TryCount,
    #[error("UI configuration rejected: {constant:?}")]
    UiConfig {
        constant: Option<&'static str>,
        message: &'static str,
    },
    #[error("empty request body")]
    EmptyBody,
    #[error("account disabled")]
    AccountDisabled,
    #[error("access denied: {0:?}")]
    Iam(Iam),
    #[error("region not enabled for the account")]
    RegionWrong,
    #[error("prepaid balance exhausted")]
    InsufficientBalance,
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    #[error("daily quota exceeded")]
    QuotaExceeded,
    #[error("capacity exhausted")]
    RetryLater { retry_after_secs: u64 },
    #[error("unknown signatureId")]
    SignatureNotExist,
    #[error("session has no result yet")]
    LivenessNoResult,
    #[error("result deleted")]
    ResultNotFound,
    #[error("HTTP client error {0}")]
    Client(StatusCode),
    /// A failure of ours the client cannot fix: logged with its causes, answered as a
    /// generic server error.
    #[error("{what}")]
    Internal {
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ApiError {
    /// An internal failure caused by `source`, said as `what` in the log.
    pub fn internal(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ApiError::Internal {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// An internal failure with no error behind it (a broken invariant).
    pub fn broken(what: impl Into<String>) -> Self {
        ApiError::Internal {
            what: what.into(),
            source: None,
        }
    }

    /// Logs an internal failure with its whole chain of causes, once, at the edge.
    pub fn log_internal(&self) {
        if let ApiError::Internal { .. } = self {
            tracing::error!(cause = %chain(self), "internal error");
        }
    }
}

/// An error and its causes on one line: "blob ab/cd: cannot read: permission denied".
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        // Causes whose message already ends ours (thiserror's "{0}" style) are not repeated.
        if !line.ends_with(&said) {
            line.push_str(": ");
            line.push_str(&said);
        }
        next = cause.source();
    }
    line
}

impl ApiError {
    /// HTTP status, vendor code and message, as the primary contract spells them.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        let ok = StatusCode::OK;
        let (status, code, message): (StatusCode, &'static str, &str) = match self {
            ParamEmpty => (ok, "PARAMETER_ERROR", "Parameter should not be empty"),
            ParamInvalid => (ok, "PARAMETER_ERROR", "Parameter error,please check you input."),
            ParamIllegal => (
                ok,
                "PARAMETER_ERROR",
                "Parameter error, please check your request whether has illegal parameters",
            ),
            Timestamp => (ok, "PARAMETER_ERROR", "Timestamp error"),
            Signature => (ok, "PARAMETER_ERROR", "Signature error"),
            InvalidReturnUrl => (
                ok,
                "PARAMETER_ERROR",
                "Invalid returnUrl,please check your returnUrl",
            ),
            InvalidFailedReturnUrl => (
                ok,
                "PARAMETER_ERROR",
                "Invalid failedReturnUrl, please check your failedReturnUrl",
            ),
            TryCount => (ok, "PARAMETER_ERROR", "try count must > 0"),
            UiConfig { message, .. } => (ok, "PARAMETER_ERROR", message),
            EmptyBody => (ok, "EMPTY_PARAMETER_ERROR", "Parameter should not be empty"),
            AccountDisabled => (ok, "ACCOUNT_DISABLED", "Account Disabled"),
            Iam(why) => (ok, "IAM_FAILED", why.message()),
            RegionWrong => (ok, "REGION_WRONG", "Region is wrong"),
            InsufficientBalance => (
                ok,
                "INSUFFICIENT_BALANCE",
                "Insufficient balance, please top up or contact your sales manager for help",
            ),
            RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "SERVICE_BUSY",
                "Rate limit is exceeded, please retry after the suggested time in HTTP Header.",
            ),
            QuotaExceeded => (
                ok,
                "OVER_QUERY_LIMIT",
                "Quota exceeded. you have exceeded free query quota, please contact your sales manager for help",
            ),
            RetryLater { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "RETRY_LATER",
                "Query failed, please retry after the suggested time in HTTP Header.",
            ),
            SignatureNotExist => (ok, "SIGNATURE_NOT_EXIST", "This signatureId is not exist"),
            LivenessNoResult => (ok, "LIVENESS_NO_RESULT", "This token has no detection result"),
            ResultNotFound => (
                ok,
                "RESULT_NOT_FOUND",
                "The requested resource was not found or has been deleted",
            ),
            Client(status) => {
                let reason = status.canonical_reason().unwrap_or("Client Error");
                return (
                    *status,
                    "CLIENT_ERROR",
                    format!("HTTP {} - {reason}", status.as_u16()),
                );
            }
            Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "ERROR", "Server error"),
        };
        (status, code, message.to_owned())
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::RetryLater { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy(_) => {
                tracing::warn!(error = %e, "store busy");
                ApiError::RetryLater {
                    retry_after_secs: 1,
                }
            }
            StoreError::QuotaExceeded => ApiError::QuotaExceeded,
            StoreError::InsufficientBalance => ApiError::InsufficientBalance,
            StoreError::Replay => ApiError::Signature,
            other => ApiError::internal("the store failed", other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_internal();
        let (status, code, message) = self.parts();
        let extra = match &self {
            ApiError::UiConfig {
                constant: Some(c), ..
            } => serde_json::Value::String((*c).to_owned()),
            _ => serde_json::Value::Null,
        };
        let mut resp = Envelope {
            code,
            message,
            data: serde_json::Value::Null,
            extra,
            pricing: Pricing::Free,
        }
        .into_response();
        *resp.status_mut() = status;
        if let Some(secs) = self.retry_after() {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::error::Error as _;

    use super::*;

    #[test]
    fn an_internal_failure_keeps_its_causes_and_tells_the_client_nothing() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "/data/blobs/ab");
        let store = StoreError::Io {
            what: "cannot read the blob".into(),
            source: io,
        };
        let e = ApiError::from(store);
        // The chain reaches the io::Error, each message said once.
        let root = e.source().and_then(|s| s.source()).unwrap();
        assert!(root.is::<std::io::Error>());
        assert_eq!(
            chain(&e),
            "the store failed: cannot read the blob: /data/blobs/ab"
        );
        let (status, code, message) = e.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!((code, message.as_str()), ("ERROR", "Server error"));
        assert_eq!(chain(&ApiError::broken("no account")), "no account");
    }
}
