//! Fuzzes the live channel's binary header (`live::protocol::parse_binary`), the first code
//! to read every image and video message a page sends. Any bytes must give Ok or a refusal
//! with a stable code, never a panic; an accepted message must be exactly what
//! `encode_binary` writes for the parsed fields, so the two cannot drift apart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openliveness_server::live::protocol::{
    encode_binary, parse_binary, Kind, ProtocolError, HEADER_LEN, MAGIC,
};

/// Index of the header's reserved byte: it must be 0, as the encoder writes it.
const RESERVED: usize = 3;

fuzz_target!(|data: &[u8]| {
    match parse_binary(data) {
        Ok(msg) => {
            assert!(data.len() >= HEADER_LEN);
            assert_eq!(msg.payload, &data[HEADER_LEN..]);
            assert!(!msg.payload.is_empty() || msg.kind == Kind::VideoChunk);
            assert_eq!(data[RESERVED], 0);
            let encoded = encode_binary(msg.kind, msg.seq, msg.capture_ms, msg.payload);
            assert_eq!(encoded, data);
        }
        Err(e) => {
            if data.len() < HEADER_LEN {
                assert_eq!(e, ProtocolError::ShortHeader);
            } else if !data.starts_with(&MAGIC) {
                assert_eq!(e, ProtocolError::BadMagic);
            } else if data[RESERVED] != 0 {
                assert_eq!(e, ProtocolError::Reserved(data[RESERVED]));
            }
            assert!(
                matches!(
                    e.code(),
                    "MALFORMED_MESSAGE" | "MESSAGE_TOO_LARGE" | "BAD_IMAGE"
                ),
                "{e:?} answers {}",
                e.code()
            );
        }
    }
});
