//! Fuzzes the reader every JSON endpoint's body goes through (`api::body::parse_object`) and
//! the field readers of `JsonObject`, on the keys the endpoints ask for and on keys the body
//! itself has. Beyond "no panic": the refusal is the documented one (blank → empty body,
//! anything but an object → client error, a key named twice → parameter error), an accepted
//! body is the value serde_json reads, and each reader's answer agrees with the JSON value it
//! read (a text is trimmed and never blank, an integer is that text's number, …).
#![no_main]

use libfuzzer_sys::fuzz_target;
use openliveness_server::api::body::{parse_object, JsonObject};
use openliveness_server::error::ApiError;
use serde_json::Value;

/// Field names read by the handlers of both facades (api/advance.rs, api/trustdecision.rs).
const ENDPOINT_KEYS: &[&str] = &[
    "accessKey",
    "signature",
    "timestamp",
    "region",
    "returnUrl",
    "failedReturnUrl",
    "userId",
    "tryCount",
    "periodSecond",
    "audio",
    "locale",
    "language",
    "productLevel",
    "signatureId",
    "token",
    "success_redirect",
    "failure_redirect",
];

/// Keys of the body itself that are read too, so the readers see every JSON type.
const BODY_KEYS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let blank = data.iter().all(u8::is_ascii_whitespace);
    let map = match parse_object(data) {
        Ok(map) => map,
        Err(ApiError::EmptyBody) => {
            assert!(blank);
            return;
        }
        Err(ApiError::Client(_)) => {
            assert!(!blank);
            let value = serde_json::from_slice::<Value>(data);
            assert!(!matches!(value, Ok(Value::Object(_))), "{value:?}");
            return;
        }
        Err(ApiError::ParamInvalid) => {
            // A key named twice, at any depth, in a body that is JSON all through
            // (`{"a":0,"a"` is not: it is a client error; seed-repeat-not-json).
            assert!(!blank);
            let value = serde_json::from_slice::<Value>(data);
            assert!(value.is_ok(), "{value:?}");
            return;
        }
        Err(other) => panic!("unexpected refusal {other:?}"),
    };
    assert!(!blank);
    // Whatever the body reader adds to serde_json, what it accepts reads the same.
    let plain = serde_json::from_slice::<Value>(data).ok();
    assert_eq!(plain.as_ref().and_then(Value::as_object), Some(&map));
    let own: Vec<String> = map.keys().take(BODY_KEYS).cloned().collect();
    let body = JsonObject(map);
    for key in ENDPOINT_KEYS
        .iter()
        .copied()
        .chain(own.iter().map(String::as_str))
    {
        check_readers(&body, key);
    }
});

fn check_readers(body: &JsonObject, key: &str) {
    let value = body.0.get(key);
    let text = body.text(key);
    match (&text, value) {
        (Ok(Some(t)), Some(Value::String(_) | Value::Number(_))) => {
            assert!(!t.is_empty());
            assert_eq!(t.trim(), t);
        }
        (Ok(None), None | Some(Value::Null)) => {}
        (Ok(None), Some(Value::String(s))) => assert!(s.trim().is_empty()),
        (
            Err(ApiError::ParamInvalid),
            Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)),
        ) => {}
        other => panic!("text({key:?}) answered {other:?}"),
    }
    match (body.required(key), &text) {
        (Ok(r), Ok(Some(t))) => assert_eq!(&r, t),
        (Err(ApiError::ParamEmpty), Ok(None)) | (Err(ApiError::ParamInvalid), Err(_)) => {}
        other => panic!("required({key:?}) answered {other:?}"),
    }
    match (body.integer(key), &text) {
        (Ok(Some(n)), Ok(Some(t))) => assert_eq!(t.parse::<i64>().ok(), Some(n)),
        (Ok(None), Ok(None)) | (Err(ApiError::ParamInvalid), Err(_)) => {}
        (Err(ApiError::ParamInvalid), Ok(Some(t))) => assert!(t.parse::<i64>().is_err()),
        other => panic!("integer({key:?}) answered {other:?}"),
    }
    match (body.boolean(key), value) {
        (Ok(Some(b)), Some(Value::Bool(v))) => assert_eq!(b, *v),
        (Ok(Some(b)), Some(Value::String(s))) => {
            assert!(s.eq_ignore_ascii_case(if b { "true" } else { "false" }))
        }
        (Ok(None), None | Some(Value::Null)) | (Err(ApiError::ParamInvalid), Some(_)) => {}
        other => panic!("boolean({key:?}) answered {other:?}"),
    }
}
