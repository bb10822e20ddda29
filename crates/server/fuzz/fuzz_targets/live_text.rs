//! Fuzzes the live channel's text messages (`live::protocol::parse_text`). Any text must give
//! Ok or a refusal with a stable code, never a panic; an accepted message must be one of the
//! three of docs/protocol.md, spelled as documented, with no field beyond its own.
//! Inputs that are not UTF-8 are skipped: a WebSocket text message is UTF-8 by the time it
//! reaches the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openliveness_server::live::protocol::{
    parse_text, ClientMsg, ProtocolError, MAX_TEXT_BYTES, PROTOCOL_VERSION,
};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_text(text) {
        Ok(msg) => {
            assert!(text.len() <= MAX_TEXT_BYTES);
            let value: Value = serde_json::from_str(text).expect("an accepted message is JSON");
            let object = value.as_object().expect("an accepted message is an object");
            let kind = object.get("type").and_then(Value::as_str);
            match msg {
                ClientMsg::Hello { protocol } => {
                    assert_eq!(protocol, PROTOCOL_VERSION);
                    assert_eq!(kind, Some("hello"));
                    assert_eq!(object.len(), 2, "hello has type and protocol only");
                }
                ClientMsg::Positioned => {
                    assert_eq!(kind, Some("positioned"));
                    assert_eq!(object.len(), 1);
                }
                ClientMsg::Finish => {
                    assert_eq!(kind, Some("finish"));
                    assert_eq!(object.len(), 1);
                }
            }
        }
        Err(e) => {
            if text.len() > MAX_TEXT_BYTES {
                assert!(matches!(e, ProtocolError::TooLarge { .. }), "{e:?}");
            }
            assert!(
                matches!(
                    e.code(),
                    "MALFORMED_MESSAGE" | "MESSAGE_TOO_LARGE" | "UNSUPPORTED_VERSION"
                ),
                "{e:?} answers {}",
                e.code()
            );
        }
    }
});
