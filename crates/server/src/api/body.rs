//! Reading request bodies and fields: the size limit, the empty body, unreadable JSON, and
//! the vendor habit of sending numbers as strings and strings as numbers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest JSON body any endpoint accepts. ConfigureUI is the largest legitimate one.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// A body still arriving after this is abandoned: a slow client must not hold one of the
/// in-flight slots for long.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// A request body that is a JSON object.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let read = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY);
        let bytes: Bytes = tokio::time::timeout(BODY_READ_TIMEOUT, read)
            .await
            .map_err(|_| ApiError::Client(StatusCode::REQUEST_TIMEOUT))?
            .map_err(|e| {
                if e.into_inner().is::<http_body_util::LengthLimitError>() {
                    ApiError::Client(StatusCode::PAYLOAD_TOO_LARGE)
                } else {
                    ApiError::Client(StatusCode::BAD_REQUEST)
                }
            })?;
        parse_object(&bytes).map(JsonObject)
    }
}

/// The rule every JSON endpoint follows: no bytes → `EMPTY_PARAMETER_ERROR`; bytes that are
/// not a JSON object → `CLIENT_ERROR` 400.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Client(StatusCode::BAD_REQUEST)),
    }
}

impl JsonObject {
    /// A text field: strings as given (trimmed), numbers in their decimal form. Absent,
    /// `null` or blank → `None`. Any other JSON type → `PARAMETER_ERROR`.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                Ok((!t.is_empty()).then(|| t.to_owned()))
            }
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::ParamInvalid),
        }
    }

    /// A text field that must be there.
    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        self.text(name)?.ok_or(ApiError::ParamEmpty)
    }

    /// A whole number given as a JSON number or a string of digits.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.text(name)? {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::ParamInvalid),
        }
    }

    /// A boolean given as JSON `true`/`false` or the strings "true"/"false".
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::ParamInvalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> JsonObject {
        JsonObject(parse_object(s.as_bytes()).unwrap())
    }

    #[test]
    fn empty_and_unreadable_bodies() {
        assert!(matches!(parse_object(b""), Err(ApiError::EmptyBody)));
        assert!(matches!(parse_object(b"  \n"), Err(ApiError::EmptyBody)));
        assert!(matches!(
            parse_object(b"{not json"),
            Err(ApiError::Client(StatusCode::BAD_REQUEST))
        ));
        assert!(matches!(
            parse_object(b"[1]"),
            Err(ApiError::Client(StatusCode::BAD_REQUEST))
        ));
    }

    #[test]
    fn field_types() {
        let o = obj(r#"{"a":"x","n":12,"s":" ","b":true,"bs":"false","arr":[1],"neg":"-3"}"#);
        assert_eq!(o.text("a").unwrap().as_deref(), Some("x"));
        assert_eq!(o.text("n").unwrap().as_deref(), Some("12"));
        assert_eq!(o.text("s").unwrap(), None);
        assert!(matches!(o.required("s"), Err(ApiError::ParamEmpty)));
        assert!(matches!(o.text("arr"), Err(ApiError::ParamInvalid)));
        assert_eq!(o.integer("n").unwrap(), Some(12));
        assert_eq!(o.integer("neg").unwrap(), Some(-3));
        assert!(matches!(o.integer("a"), Err(ApiError::ParamInvalid)));
        assert_eq!(o.boolean("b").unwrap(), Some(true));
        assert_eq!(o.boolean("bs").unwrap(), Some(false));
        assert!(matches!(o.boolean("n"), Err(ApiError::ParamInvalid)));
    }
}
