//! The TrustDecision-compatible facade: the token call of its H5 liveness product and a
//! result call designed in the same style (`docs/api.md`). Same accounts, sessions and
//! store as the primary contract; only the wire shape differs.
//!
//! Wire shape: `{"code":200,"message":"success","sequence_id":…, …}` on success, and
//! `{"code":<numeric>,"sequence_id":…,"message":…}` on failure. `sequence_id` is the
//! request's transaction id (also in the `X-Transaction-Id` header and the log).

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openliveness_store::{Account, ApiKey, Facade, Outcome};
use serde_json::{json, Map, Value};

use super::advance::{parse_locale, result_data};
use super::auth::{admit, constant_time_eq};
use super::body::JsonObject;
use super::decision::Decision;
use super::sessions::{self, ProductLevel, SessionRequest};
use crate::envelope::{current_transaction_id, json_response};
use crate::error::{ApiError, Iam};
use crate::state::{now_ms, sha256_hex, AppState};

/// A failure of this facade; renders with its numeric code.
pub struct TdError(pub ApiError);

impl From<ApiError> for TdError {
    fn from(e: ApiError) -> Self {
        TdError(e)
    }
}

impl From<openliveness_store::StoreError> for TdError {
    fn from(e: openliveness_store::StoreError) -> Self {
        TdError(e.into())
    }
}

/// The facade's numeric codes. Kept in one table so `docs/api.md` can list it whole.
pub fn td_code(e: &ApiError) -> (StatusCode, u32, &'static str) {
    use ApiError::*;
    let ok = StatusCode::OK;
    match e {
        Iam(crate::error::Iam::NotAuthorized) => (ok, 11001, "Missing partner_code or partner_key"),
        Iam(crate::error::Iam::KeyNotFound | crate::error::Iam::KeyRevoked) => {
            (ok, 11002, "Invalid partner_code or partner_key")
        }
        Iam(crate::error::Iam::AccountDisabled) | AccountDisabled => {
            (ok, 11003, "Partner account disabled")
        }
        Iam(crate::error::Iam::AccountExpired) => (ok, 11004, "Partner account expired"),
        Iam(crate::error::Iam::Domain) => (ok, 11005, "Redirect domain not authorized"),
        Iam(_) | RegionWrong => (ok, 11006, "Region not enabled for this partner"),
        EmptyBody | Client(_) => (ok, 11100, "Invalid request body"),
        InvalidReturnUrl => (ok, 11101, "Invalid success_redirect"),
        InvalidFailedReturnUrl => (ok, 11102, "Invalid failure_redirect"),
        ParamInvalid | ParamIllegal | TryCount | Timestamp | Signature | UiConfig { .. } => {
            (ok, 11103, "Invalid parameter")
        }
        ParamEmpty => (ok, 11104, "Missing parameter"),
        SignatureNotExist => (ok, 11200, "Token not found"),
        LivenessNoResult => (ok, 11201, "Liveness detection has no result yet"),
        ResultNotFound => (ok, 11202, "Result has been deleted"),
        RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, 11300, "Rate limit exceeded"),
        QuotaExceeded => (ok, 11301, "Daily quota exceeded"),
        InsufficientBalance => (ok, 11302, "Insufficient balance"),
        RetryLater { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            11303,
            "Service busy, retry later",
        ),
        Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, 11350, "Internal error"),
    }
}

impl IntoResponse for TdError {
    fn into_response(self) -> Response {
        self.0.log_internal();
        let (status, code, message) = td_code(&self.0);
        let mut resp = json_response(&json!({
            "code": code,
            "sequence_id": current_transaction_id(),
            "message": message,
        }));
        *resp.status_mut() = status;
        if let Some(secs) = self.0.retry_after() {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

fn success(mut fields: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert("code".into(), json!(200));
    body.insert("message".into(), json!("success"));
    body.insert("sequence_id".into(), json!(current_transaction_id()));
    body.append(&mut fields);
    json_response(&Value::Object(body))
}

/// Checks `partner_code` / `partner_key` from the query string and the account behind them.
async fn partner(state: &AppState, query: Option<String>) -> Result<(ApiKey, Account), ApiError> {
    let mut code = None;
    let mut key = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "partner_code" => code = Some(v.into_owned()),
            "partner_key" => key = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(code), Some(partner_key)) = (
        code.filter(|c| !c.is_empty()),
        key.filter(|k| !k.is_empty()),
    ) else {
        return Err(ApiError::Iam(Iam::NotAuthorized));
    };
    let api_key = state
        .store
        .key_by_partner_code(&code)
        .await?
        .ok_or(ApiError::Iam(Iam::KeyNotFound))?;
    let presented = sha256_hex(partner_key.as_bytes());
    if !constant_time_eq(presented.as_bytes(), api_key.partner_key_hash.as_bytes())
        || api_key.revoked_at.is_some()
    {
        return Err(ApiError::Iam(Iam::KeyRevoked));
    }
    let account = state
        .store
        .account_by_id(api_key.account_id)
        .await?
        .ok_or_else(|| ApiError::broken("partner key without account"))?;
    admit(state, &account, now_ms(), Iam::AccountDisabled).await?;
    Ok((api_key, account))
}

/// `POST /verification/kyc/h5/liveness/token/v1?partner_code=…&partner_key=…`
pub async fn token(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, TdError> {
    let (key, account) = partner(&state, query).await?;
    let body = body?;
    let success_redirect = sessions::parse_redirect(&body.required("success_redirect")?)
        .ok_or(ApiError::InvalidReturnUrl)?;
    let failure_redirect = match body.text("failure_redirect")? {
        None => None,
        Some(s) => Some(sessions::parse_redirect(&s).ok_or(ApiError::InvalidFailedReturnUrl)?),
    };
    let locale = parse_locale(body.text("language")?)?;
    let audio = body.boolean("audio")?.unwrap_or(false);
    let region = account
        .regions
        .first()
        .cloned()
        .ok_or(ApiError::RegionWrong)?;
    let td_token = uuid_v4();
    let created = sessions::create(
        &state,
        &account,
        &key.access_key,
        SessionRequest {
            facade: Facade::TrustDecision,
            return_url: success_redirect,
            failed_return_url: failure_redirect,
            region,
            user_id: None,
            try_count: 1,
            product_level: ProductLevel::Standard,
            locale,
            audio,
            td_token: Some(td_token.clone()),
        },
    )
    .await?;
    let mut fields = Map::new();
    fields.insert("token".into(), json!(td_token));
    fields.insert("url".into(), json!(created.url));
    Ok(success(fields))
}

/// `POST /verification/kyc/h5/liveness/result/v1?partner_code=…&partner_key=…`, body
/// `{"token": …}`: the verdict, the signals behind it and the selfie of a session this
/// facade created.
pub async fn result(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, TdError> {
    let (_key, account) = partner(&state, query).await?;
    let token = body?.required("token")?;
    let session = state
        .store
        .session_by_td_token(&token)
        .await?
        .filter(|s| s.new.account_id == account.id)
        .ok_or(ApiError::SignatureNotExist)?;
    if !account.allows_region(&session.new.region) {
        return Err(ApiError::Iam(Iam::Country).into());
    }
    if session.cleared_at.is_some() {
        return Err(ApiError::ResultNotFound.into());
    }
    let Some(r) = session
        .result
        .as_ref()
        .filter(|_| session.status.is_finished())
    else {
        return Err(ApiError::LivenessNoResult.into());
    };
    let data = result_data(&state, &session, account.video_enabled).await?;
    let judged = r.outcome == Outcome::Judged;
    let passed = judged
        && r.score
            .is_some_and(|s| s >= i64::from(account.pass_threshold));
    if judged {
        state.store.debit_balance(account.id).await?;
    }
    let field = |k: &str| data.get(k).cloned().unwrap_or(Value::Null);
    let mut result = json!({
        "token": token,
        "status": if passed { "pass" } else { "fail" },
        "result_code": super::advance::result_code(r.outcome),
        "score": r.score,
        "attack_type": r.attack_type,
        "selfie": field("image"),
        "image_far": field("imageFar"),
        "image_near": field("imageNear"),
        "far_image_time": r.far_image_time,
        "near_image_time": r.near_image_time,
        "video": field("video"),
        "multi_device": r.multi_device,
        "use_slave_url": r.secondary_device,
        "finished_time": session.finished_at,
    });
    if let Some(obj) = result.as_object_mut() {
        if r.outcome == Outcome::LockedOut {
            obj.insert("lockout".into(), super::advance::lockout_of(r));
        }
        if r.outcome == Outcome::NotCompleted {
            obj.insert("ending".into(), super::advance::ending_of(r));
        }
        if let Some(decision) = Decision::of(&session) {
            let decision = serde_json::to_value(decision.trustdecision())
                .map_err(|e| ApiError::internal("serialising the decision", e))?;
            obj.insert("decision".into(), decision);
        }
    }
    let mut fields = Map::new();
    fields.insert("data".into(), result);
    Ok(success(fields))
}

/// A random (version 4) UUID in its usual text form, like the vendor's tokens.
fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid_v4(), u);
    }
}
