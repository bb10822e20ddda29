//! Reading request bodies and fields: the size limit, the empty body, unreadable JSON, and
//! the vendor habit of sending numbers as strings and strings as numbers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest JSON body any endpoint accepts. ConfigureUI is the largest legitimate one.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A request body that is a JSON object.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        // The request middleware has read the body already, within its deadline.
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
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
/// not a JSON object → `CLIENT_ERROR` 400; an object naming one key twice, at any depth →
/// `PARAMETER_ERROR` (which of two values a reader takes is not something a signature or
/// a check should depend on).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    match parse_strict(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Client(StatusCode::BAD_REQUEST)),
        Err(Strict::DuplicateKey) => Err(ApiError::ParamInvalid),
        Err(Strict::Syntax) => Err(ApiError::Client(StatusCode::BAD_REQUEST)),
    }
}

/// Why [`parse_strict`] refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strict {
    /// Not JSON.
    Syntax,
    /// JSON, with an object naming one key twice.
    DuplicateKey,
}

/// Parses JSON like `serde_json::from_slice::<Value>`, refusing objects that name a key
/// twice at any depth.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, Strict> {
    use serde::de::DeserializeSeed as _;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Our visitor takes any JSON, so the only data error it raises is the repeated key; a
    // repeated key in text that is not JSON at all is a syntax error (found by fuzzing). The
    // check reads a full `Value`: `IgnoredAny` skips strings without checking their UTF-8, so
    // a repeat beside an invalid string passed as JSON (found by fuzzing too).
    let value = StrictValue
        .deserialize(&mut de)
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Data if serde_json::from_slice::<Value>(bytes).is_ok() => {
                Strict::DuplicateKey
            }
            _ => Strict::Syntax,
        })?;
    de.end().map_err(|_| Strict::Syntax)?;
    Ok(value)
}

/// Builds a `Value`, failing on a repeated object key.
struct StrictValue;

impl<'de> serde::de::DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(StrictValue)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
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
    fn repeated_keys_are_refused_at_any_depth() {
        for body in [
            r#"{"accessKey":"bogus","accessKey":"right"}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"a":[{"k":1},{"k":2,"k":3}]}"#,
        ] {
            assert!(
                matches!(parse_object(body.as_bytes()), Err(ApiError::ParamInvalid)),
                "{body}"
            );
        }
        // The same key in sibling objects is not a repeat; escapes are decoded first.
        let o = obj(r#"{"a":{"k":1},"b":{"k":2},"c":[1.5,null,"x"]}"#);
        assert_eq!(o.0.len(), 3);
        assert!(matches!(
            parse_object(br#"{"k":1,"\u006b":2}"#),
            Err(ApiError::ParamInvalid)
        ));
        // A repeated key in text that is not JSON is a syntax error, not a parameter error.
        assert!(matches!(
            parse_object(br#"{"a":0,"a""#),
            Err(ApiError::Client(StatusCode::BAD_REQUEST))
        ));
        // So is a repeat beside a string that is not UTF-8 (a fuzzing find).
        assert!(matches!(
            parse_object(b"{\"r\":\"1\",\"r\":\"t\xfft\"}"),
            Err(ApiError::Client(StatusCode::BAD_REQUEST))
        ));
        // Trailing bytes are still a syntax error, and so is a bare duplicate-looking text.
        assert!(matches!(
            parse_object(br#"{"a":1} x"#),
            Err(ApiError::Client(StatusCode::BAD_REQUEST))
        ));
        assert_eq!(
            parse_strict(br#""duplicate key""#),
            Ok(Value::String("duplicate key".into()))
        );
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
