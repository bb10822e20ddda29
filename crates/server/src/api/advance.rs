//! The ADVANCE-compatible endpoints (the primary contract): token authentication, Get
//! Token, Get Result, ConfigureUI and PII clear-data. Field names, codes and messages are
//! the vendor's, exactly; `docs/api.md` documents each.

use axum::extract::{RawQuery, State};
use base64::Engine as _;
use openliveness_store::{Facade, NewToken, Outcome, QualityIssue, Session, UsedSignature};
use serde_json::{json, Value};

use super::auth::{admit, constant_time_eq, Caller, DisabledAs};
use super::body::JsonObject;
use super::configure_ui;
use super::decision::Decision;
use super::sessions::{self, ProductLevel, SessionRequest, MAX_TRY_COUNT, MAX_USER_ID_LEN};
use crate::envelope::{Envelope, Pricing};
use crate::error::{ApiError, Iam};
use crate::state::{now_ms, random_hex, sha256_hex, AppState};

/// How far a request's timestamp may be from the server clock.
const TIMESTAMP_WINDOW_MS: i64 = 300_000;
const DEFAULT_TOKEN_PERIOD_S: i64 = 3600;

/// `POST /openapi/auth/ticket/v1/generate-token`
pub async fn generate_token(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<Envelope, ApiError> {
    let access_key = body.required("accessKey")?;
    let timestamp = body.required("timestamp")?;
    let signature = body.required("signature")?.to_ascii_lowercase();
    let period_s = match body.integer("periodSecond")? {
        None => DEFAULT_TOKEN_PERIOD_S,
        Some(p) if (60..=86_400).contains(&p) => p,
        Some(_) => return Err(ApiError::ParamInvalid),
    };
    let now = now_ms();
    let ts: i64 = match timestamp.parse() {
        Ok(ts) if timestamp.len() == 13 && timestamp.bytes().all(|b| b.is_ascii_digit()) => ts,
        _ => return Err(ApiError::Timestamp),
    };
    if (now - ts).abs() > TIMESTAMP_WINDOW_MS {
        return Err(ApiError::Timestamp);
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Signature);
    }
    let key = state
        .store
        .key(&access_key)
        .await?
        .ok_or(ApiError::Iam(Iam::KeyNotFound))?;
    if key.revoked_at.is_some() {
        return Err(ApiError::Iam(Iam::KeyRevoked));
    }
    let secret = state
        .sealer
        .open(&key.secret_sealed, access_key.as_bytes())
        .map_err(|e| ApiError::internal(format!("cannot unseal secret of {access_key}"), e))?;
    let mut combined = Vec::with_capacity(access_key.len() + secret.len() + timestamp.len());
    combined.extend_from_slice(access_key.as_bytes());
    combined.extend_from_slice(&secret);
    combined.extend_from_slice(timestamp.as_bytes());
    let expected = sha256_hex(&combined);
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(ApiError::Signature);
    }
    let account = state
        .store
        .account_by_id(key.account_id)
        .await?
        .ok_or_else(|| ApiError::broken(format!("key {access_key} has no account")))?;
    admit(&state, &account, now, DisabledAs::AccountDisabled).await?;

    let token = format!("olat_{}", random_hex(32));
    let expires_at = now + period_s * 1000;
    state
        .store
        .issue_token(
            UsedSignature {
                signature_hash: sha256_hex(signature.as_bytes()),
                // Past this the timestamp check refuses the signature by itself.
                expires_at: ts + TIMESTAMP_WINDOW_MS + 1000,
            },
            NewToken {
                token_hash: sha256_hex(token.as_bytes()),
                access_key: key.access_key,
                account_id: account.id,
                expires_at,
                created_at: now,
            },
        )
        .await?;
    Ok(Envelope::ok(
        json!({ "token": token, "expiredTime": expires_at }),
    ))
}

/// `POST /openapi/liveness/v2/h5/token`
pub async fn get_token(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<Envelope, ApiError> {
    let return_url =
        sessions::parse_redirect(&body.required("returnUrl")?).ok_or(ApiError::InvalidReturnUrl)?;
    let failed_return_url = match body.text("failedReturnUrl")? {
        None => None,
        Some(s) => Some(sessions::parse_redirect(&s).ok_or(ApiError::InvalidFailedReturnUrl)?),
    };
    let region = parse_region(&body.required("region")?)?;
    let try_count = match body.integer("tryCount")? {
        None => 1,
        Some(n) if n <= 0 => return Err(ApiError::TryCount),
        Some(n) if n > MAX_TRY_COUNT => return Err(ApiError::ParamInvalid),
        Some(n) => n as u32,
    };
    let product_level = match body.text("productLevel")? {
        None => ProductLevel::Standard,
        Some(s) => ProductLevel::parse(&s).ok_or(ApiError::ParamInvalid)?,
    };
    let user_id = body.text("userId")?;
    if user_id
        .as_ref()
        .is_some_and(|u| u.chars().count() > MAX_USER_ID_LEN)
    {
        return Err(ApiError::ParamInvalid);
    }
    let locale = parse_locale(body.text("locale")?)?;
    let audio = body.boolean("audio")?.unwrap_or(false);
    let created = sessions::create(
        &state,
        &caller.account,
        &caller.key.access_key,
        SessionRequest {
            facade: Facade::Advance,
            return_url,
            failed_return_url,
            region,
            user_id,
            try_count,
            product_level,
            locale,
            audio,
            td_token: None,
        },
    )
    .await?;
    Ok(Envelope::ok(json!({
        "signatureId": created.signature_id,
        "url": created.url,
    })))
}

/// A region code: three ASCII letters, upper-cased. Anything else is no region we serve.
fn parse_region(s: &str) -> Result<String, ApiError> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(ApiError::RegionWrong)
    }
}

/// An optional page language; must be one the page ships.
pub fn parse_locale(s: Option<String>) -> Result<Option<String>, ApiError> {
    match s {
        None => Ok(None),
        Some(l) if configure_ui::SUPPORTED_LOCALES.contains(&l.as_str()) => Ok(Some(l)),
        Some(_) => Err(ApiError::ParamInvalid),
    }
}

/// `POST /openapi/liveness/v4/h5/get-result`
pub async fn get_result(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<Envelope, ApiError> {
    let signature_id = body.required("signatureId")?;
    let session = owned_session(&state, &caller, &signature_id)
        .await?
        .ok_or(ApiError::SignatureNotExist)?;
    if !caller.account.allows_region(&session.new.region) {
        return Err(ApiError::Iam(Iam::Country));
    }
    if session.cleared_at.is_some() {
        return Err(ApiError::ResultNotFound);
    }
    let result = match (&session.result, session.status.is_finished()) {
        (Some(r), true) => r,
        _ => return Err(ApiError::LivenessNoResult),
    };
    let mut data = result_data(&state, &session, caller.account.video_enabled).await?;
    // Our addition: the signals behind the score, in `data` where clients already meet keys
    // they do not know (decision.rs says why not `extra`).
    if let Some(decision) = Decision::of(&session) {
        let decision = serde_json::to_value(decision.advance())
            .map_err(|e| ApiError::internal("serialising the decision", e))?;
        data.insert("decision".into(), decision);
    }
    let code = result_code(result.outcome);
    if result.outcome == Outcome::LockedOut {
        // Our addition: the user (or browser) failed too often; no try was made here.
        data.insert("lockout".into(), lockout_of(result));
        return Ok(Envelope {
            code,
            message: "Too many failed tries for this user; no new try was allowed".to_owned(),
            data: Value::Object(data),
            extra: Value::Null,
            pricing: Pricing::Free,
        });
    }
    if result.outcome == Outcome::NotCompleted {
        // Our addition: the session ended without any verdict; `ending.reason` says how.
        data.insert("ending".into(), ending_of(result));
        return Ok(Envelope {
            code,
            message: "The user did not complete the liveness check; no verdict was reached"
                .to_owned(),
            data: Value::Object(data),
            extra: Value::Null,
            pricing: Pricing::Free,
        });
    }
    if let Outcome::Quality(issue) = result.outcome {
        // Face-quality outcomes: the deprecated codes with their messages, never billed.
        return Ok(Envelope {
            code,
            message: quality_message(issue).to_owned(),
            data: Value::Object(data),
            extra: Value::Null,
            pricing: Pricing::Free,
        });
    }
    state.store.debit_balance(caller.account.id).await?;
    Ok(Envelope {
        pricing: Pricing::Pay,
        ..Envelope::ok(Value::Object(data))
    })
}

/// `{lockedUntil, failures, windowMinutes}` of a session the lockout ended.
pub fn lockout_of(result: &openliveness_store::SessionResult) -> Value {
    recorded(result, "lockout")
}

/// `{reason, triesUsed, triesAllowed}` of a session that ended without a verdict.
pub fn ending_of(result: &openliveness_store::SessionResult) -> Value {
    recorded(result, "ending")
}

/// One entry of what was recorded with a result that is not a verdict.
fn recorded(result: &openliveness_store::SessionResult, key: &str) -> Value {
    result
        .signals
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|mut v| v.get_mut(key).map(Value::take))
        .unwrap_or(Value::Null)
}

/// The primary contract's code for how a session ended: Get Result's `code`. The second
/// facade's `result_code` and the webhook's `resultCode` say it in the same words.
pub fn result_code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Judged => "SUCCESS",
        Outcome::Quality(QualityIssue::TooManyFaces) => "TOO_MANY_FACES_DETECTED",
        Outcome::Quality(QualityIssue::NoFace) => "NO_FACE_DETECTED",
        Outcome::Quality(QualityIssue::InvalidFace) => "INVALID_FACE_DETECTED",
        Outcome::Quality(QualityIssue::Occluded) => "FACE_OCCLUDED",
        Outcome::Quality(QualityIssue::PoorQuality) => "FACE_QUALITY_TOO_POOR",
        Outcome::NotCompleted => "NOT_COMPLETED",
        Outcome::LockedOut => "LOCKED_OUT",
    }
}

/// The seed's message for a face-quality code of Get Result.
fn quality_message(issue: QualityIssue) -> &'static str {
    match issue {
        QualityIssue::TooManyFaces => {
            "Multiple faces detected from the image,please only keep one face in the image."
        }
        QualityIssue::NoFace => "No face detected from the image.",
        QualityIssue::InvalidFace => {
            "The face is too big,small,incomplete,please show your front-view face."
        }
        QualityIssue::Occluded => "Face should not be occluded,please try again.",
        QualityIssue::PoorQuality => "Face quality is too low,please try again.",
    }
}

/// The session named by `signature_id` if it belongs to the caller's account. Another
/// account's session is reported exactly like a missing one.
async fn owned_session(
    state: &AppState,
    caller: &Caller,
    signature_id: &str,
) -> Result<Option<Session>, ApiError> {
    if signature_id.len() > 64 {
        return Ok(None);
    }
    Ok(state
        .store
        .session(signature_id)
        .await?
        .filter(|s| s.new.account_id == caller.account.id))
}

/// Get Result's `data`, as the seed shows it.
pub async fn result_data(
    state: &AppState,
    session: &Session,
    video_enabled: bool,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let Some(r) = &session.result else {
        return Ok(serde_json::Map::new());
    };
    let far = load_b64(state, r.image_far_blob.as_deref()).await?;
    let near = load_b64(state, r.image_near_blob.as_deref()).await?;
    let video = if video_enabled {
        load_b64(state, r.video_blob.as_deref()).await?
    } else {
        None
    };
    let audit_url = r.audit_blob.as_ref().map(|_| {
        format!(
            "{}/openapi/liveness/v1/h5/audit-image?signatureId={}",
            state.public_url,
            session.signature_id()
        )
    });
    let data = json!({
        "image": far,
        "imageFar": far,
        "imageNear": near,
        "farImageTime": r.far_image_time,
        "nearImageTime": r.near_image_time,
        "auditImageUrl": audit_url,
        "score": r.score,
        "cameraType": "WEB_CAMERA",
        "video": video,
        "multiDevice": r.multi_device,
        "useSlaveUrl": r.secondary_device,
        "attackType": r.attack_type,
    });
    Ok(match data {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    })
}

async fn load_b64(state: &AppState, key: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let bytes = state
        .blobs
        .get(key)
        .await
        .map_err(|e| ApiError::internal(format!("blob {key}"), e))?;
    Ok(Some(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// `POST /openapi/liveness/v1/h5/configureUI`
pub async fn configure_ui(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<Envelope, ApiError> {
    let parsed =
        configure_ui::parse_ui_config(&Value::Object(body.0)).map_err(|e| ApiError::UiConfig {
            constant: e.constant,
            message: e.message,
        })?;
    if !parsed.ignored.is_empty() {
        tracing::info!(ignored = ?parsed.ignored, "configureUI: unknown keys ignored");
    }
    let json = serde_json::to_string(&parsed.config)
        .map_err(|e| ApiError::internal("serialising UI config", e))?;
    state
        .store
        .set_ui_config(caller.account.id, &json, now_ms())
        .await?;
    Ok(Envelope::ok(Value::Null))
}

/// `GET /openapi/liveness/v1/h5/audit-image?signatureId=…` (header `X-ACCESS-TOKEN`): the
/// session's audit montage as JPEG, for the caller's own sessions only.
pub async fn audit_image(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let signature_id = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "signatureId")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::ParamEmpty)?;
    let session = owned_session(&state, &caller, &signature_id)
        .await?
        .ok_or(ApiError::SignatureNotExist)?;
    let key = session
        .result
        .as_ref()
        .and_then(|r| r.audit_blob.clone())
        .ok_or(ApiError::ResultNotFound)?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(|e| ApiError::internal(format!("audit blob {key}"), e))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /liveness/h5/ext/v1/clear-data?signatureId=…`
pub async fn clear_data(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Envelope, ApiError> {
    let signature_id = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "signatureId")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::ParamEmpty)?;
    owned_session(&state, &caller, &signature_id)
        .await?
        .ok_or(ApiError::ParamIllegal)?;
    let keys = state.store.clear_session(&signature_id, now_ms()).await?;
    crate::jobs::delete_blobs(state.store.as_ref(), &state.blobs, keys).await;
    Ok(Envelope::ok(Value::Null))
}
