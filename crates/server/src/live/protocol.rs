//! The page ↔ server streaming protocol on the wire (docs/protocol.md): JSON text messages
//! for control, binary messages for images and video.
//!
//! What must stay true: every size, count and rate is bounded here, before any decoding;
//! a message that does not parse is an error with a stable code, never a panic.

use openliveness_liveness::Action;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of this protocol; `hello` must name it.
pub const PROTOCOL_VERSION: u32 = 1;
/// Binary message header: magic `OL`, kind, reserved, seq (u32 BE), capture ms (i64 BE).
pub const HEADER_LEN: usize = 16;
pub const MAGIC: [u8; 2] = *b"OL";
/// Largest streamed frame (JPEG).
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Largest far or near still (JPEG).
pub const MAX_STILL_BYTES: usize = 1024 * 1024;
/// Largest video, all chunks together.
pub const MAX_VIDEO_BYTES: usize = 8 * 1024 * 1024;
/// Largest text message.
pub const MAX_TEXT_BYTES: usize = 4 * 1024;
/// Most frames accepted in any one-second window.
pub const MAX_FRAMES_PER_SECOND: usize = 20;
/// A connection silent for this long is closed.
pub const IDLE_TIMEOUT_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frame,
    FarStill,
    NearStill,
    VideoChunk,
}

/// A parsed binary message; `payload` borrows the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binary<'a> {
    pub kind: Kind,
    pub seq: u32,
    pub capture_ms: i64,
    pub payload: &'a [u8],
}

/// Why a message was refused. `code()` is what the page receives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("binary message shorter than its {HEADER_LEN}-byte header")]
    ShortHeader,
    #[error("binary message does not start with \"OL\"")]
    BadMagic,
    #[error("unknown binary message kind {0}")]
    UnknownKind(u8),
    #[error("reserved header byte 3 is {0}, not 0")]
    Reserved(u8),
    #[error("{what} of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("empty image")]
    Empty,
    #[error("text message is not a known JSON message: {0}")]
    BadText(String),
    #[error("unsupported protocol version {0}; this server speaks {PROTOCOL_VERSION}")]
    Version(u32),
    #[error("more than {MAX_FRAMES_PER_SECOND} frames in one second")]
    RateExceeded,
    #[error("the image cannot be decoded")]
    BadImage,
    #[error("{0}")]
    OutOfOrder(String),
    #[error("no message for {IDLE_TIMEOUT_MS} ms")]
    Idle,
    #[error(
        "this check is already open in another window or on another device; close it, or \
         try again in {retry_after_s} s"
    )]
    Busy { retry_after_s: i64 },
    #[error("this check was taken over by another window or device")]
    TakenOver,
    #[error("the server cannot start the check right now; try again in a moment")]
    Unavailable,
    #[error("the server is restarting; try again in a moment")]
    ShuttingDown,
    #[error("the server is busy with other checks; try again in {retry_after_s} s")]
    Overloaded { retry_after_s: i64 },
}

impl ProtocolError {
    /// What the page is told: `{"type":"error","code":…,"message":…}`.
    pub fn message(&self) -> ServerMsg {
        ServerMsg::Error {
            code: self.code(),
            message: self.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::ShortHeader
            | ProtocolError::BadMagic
            | ProtocolError::UnknownKind(_)
            | ProtocolError::Reserved(_)
            | ProtocolError::BadText(_) => "MALFORMED_MESSAGE",
            ProtocolError::TooLarge { .. } => "MESSAGE_TOO_LARGE",
            ProtocolError::Empty | ProtocolError::BadImage => "BAD_IMAGE",
            ProtocolError::Version(_) => "UNSUPPORTED_VERSION",
            ProtocolError::RateExceeded => "RATE_EXCEEDED",
            ProtocolError::OutOfOrder(_) => "OUT_OF_ORDER",
            ProtocolError::Idle => "IDLE_TIMEOUT",
            ProtocolError::Busy { .. } | ProtocolError::TakenOver => "SESSION_BUSY",
            ProtocolError::Unavailable | ProtocolError::ShuttingDown => "SERVER_UNAVAILABLE",
            ProtocolError::Overloaded { .. } => "SERVER_BUSY",
        }
    }
}

pub fn parse_binary(bytes: &[u8]) -> Result<Binary<'_>, ProtocolError> {
    let Some((head, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(ProtocolError::ShortHeader);
    };
    let [m0, m1, kind, reserved, s0, s1, s2, s3, a0, a1, a2, a3, a4, a5, a6, a7] = *head;
    if [m0, m1] != MAGIC {
        return Err(ProtocolError::BadMagic);
    }
    // Reserved for later versions: a client setting it speaks something we do not.
    if reserved != 0 {
        return Err(ProtocolError::Reserved(reserved));
    }
    let kind = match kind {
        1 => Kind::Frame,
        2 => Kind::FarStill,
        3 => Kind::NearStill,
        4 => Kind::VideoChunk,
        k => return Err(ProtocolError::UnknownKind(k)),
    };
    let (what, limit) = match kind {
        Kind::Frame => ("frame", MAX_FRAME_BYTES),
        Kind::FarStill | Kind::NearStill => ("still", MAX_STILL_BYTES),
        Kind::VideoChunk => ("video chunk", MAX_VIDEO_BYTES),
    };
    if payload.len() > limit {
        return Err(ProtocolError::TooLarge {
            what,
            size: payload.len(),
            limit,
        });
    }
    if payload.is_empty() && kind != Kind::VideoChunk {
        return Err(ProtocolError::Empty);
    }
    Ok(Binary {
        kind,
        seq: u32::from_be_bytes([s0, s1, s2, s3]),
        capture_ms: i64::from_be_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
        payload,
    })
}

/// Builds a binary message (used by tests and clients written in Rust).
pub fn encode_binary(kind: Kind, seq: u32, capture_ms: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(match kind {
        Kind::Frame => 1,
        Kind::FarStill => 2,
        Kind::NearStill => 3,
        Kind::VideoChunk => 4,
    });
    out.push(0);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&capture_ms.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Text messages from the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message of every connection (and of every new try).
    Hello { protocol: u32 },
    /// The page's guidance judged the face positioned; asks for the challenge.
    Positioned,
    /// The last step's window has closed and the stills are sent: verify.
    Finish,
}

pub fn parse_text(text: &str) -> Result<ClientMsg, ProtocolError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ProtocolError::TooLarge {
            what: "text message",
            size: text.len(),
            limit: MAX_TEXT_BYTES,
        });
    }
    let value = crate::api::body::parse_strict(text.as_bytes()).map_err(|e| {
        ProtocolError::BadText(
            match e {
                crate::api::body::Strict::Syntax => "the message is not JSON",
                crate::api::body::Strict::DuplicateKey => "the message names a field twice",
            }
            .to_owned(),
        )
    })?;
    // serde does not refuse unknown fields on unit variants of a tagged enum: check here,
    // so a client speaking another version finds out at once.
    let allowed: &[&str] = match value.get("type").and_then(|t| t.as_str()) {
        Some("hello") => &["type", "protocol"],
        _ => &["type"],
    };
    if let Some(extra) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return Err(ProtocolError::BadText(format!("unknown field {extra:?}")));
    }
    // serde's own words name our types; the client is told what it can act on.
    let msg: ClientMsg = serde_json::from_value(value).map_err(|e| {
        tracing::debug!(error = %e, "live text message refused");
        ProtocolError::BadText(
            "expected {\"type\":\"hello\",\"protocol\":1}, {\"type\":\"positioned\"} or \
             {\"type\":\"finish\"}"
                .to_owned(),
        )
    })?;
    if let ClientMsg::Hello { protocol } = msg {
        if protocol != PROTOCOL_VERSION {
            return Err(ProtocolError::Version(protocol));
        }
    }
    Ok(msg)
}

/// A follow target's position on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(rename = "Target")]
pub struct TargetPos {
    pub x: f32,
    pub y: f32,
}

/// An action as the page names it (`Action::name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "Action")]
pub enum WireAction {
    Look,
    Blink,
    OpenMouth,
    TurnLeft,
    TurnRight,
    Nod,
    MoveCloser,
}

impl From<Action> for WireAction {
    fn from(a: Action) -> WireAction {
        match a {
            Action::Look => WireAction::Look,
            Action::Blink => WireAction::Blink,
            Action::OpenMouth => WireAction::OpenMouth,
            Action::TurnLeft => WireAction::TurnLeft,
            Action::TurnRight => WireAction::TurnRight,
            Action::Nod => WireAction::Nod,
            Action::MoveCloser => WireAction::MoveCloser,
        }
    }
}

/// Text messages to the page. The page's TypeScript declarations of these messages are
/// generated from these types (`web/src/wire.ts`, kept current by the test below).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMsg {
    #[serde(rename_all = "camelCase")]
    Session {
        signature_id: String,
        try_no: u32,
        tries_allowed: u32,
        expires_at: i64,
        server_time: i64,
        locale: Option<String>,
        audio: bool,
        iframe: bool,
        ui: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    Challenge {
        nonce: String,
        steps: usize,
    },
    #[serde(rename_all = "camelCase")]
    Step {
        index: usize,
        total: usize,
        action: WireAction,
        deadline: i64,
        /// `look` steps: where to draw the target, in the user's own view
        /// (`x` towards their right, `y` up, −1…1).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        target: Option<TargetPos>,
    },
    /// What one measured frame tells the user (positioning guidance, and the face's size for
    /// the page's choice of stills), sent as each frame is measured.
    #[serde(rename_all = "camelCase")]
    Guide {
        seq: u32,
        tip: openliveness_liveness::guide::Tip,
        /// Faces counted (the detector's last count while the face is tracked).
        faces: usize,
        /// `FaceObs::face_size`, 0 without a face.
        size: f32,
    },
    /// The open step's action was seen (and, for a blink, turn or nod, the face is back at
    /// rest): the page shows it as done; the next step follows shortly.
    #[serde(rename_all = "camelCase")]
    Seen {
        index: usize,
    },
    #[serde(rename_all = "camelCase")]
    Verifying {
        frames: usize,
    },
    #[serde(rename_all = "camelCase")]
    Result {
        passed: bool,
        score: Option<u8>,
        retry_allowed: bool,
        tries_left: u32,
        redirect_url: Option<String>,
        /// For a rejected try: what its user can fix (`Verdict::hint` says the rule).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        hint: Option<openliveness_liveness::Hint>,
    },
    #[serde(rename_all = "camelCase")]
    TryFailed {
        #[ts(type = r#""TIMED_OUT" | "ABANDONED" | "PROTOCOL_VIOLATION""#)]
        reason: &'static str,
        retry_allowed: bool,
        tries_left: u32,
    },
    Expired,
    /// Too many failed tries for this user (or browser): no try starts before
    /// `lockedUntil` (server clock, ms); the connection closes.
    #[serde(rename_all = "camelCase")]
    LockedOut {
        locked_until: i64,
        retry_after_s: i64,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        code: &'static str,
        message: String,
    },
}

/// The TypeScript declarations of the live channel's text messages, as `web/src/wire.ts`
/// holds them (the page imports its message types from there).
pub fn wire_ts() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        ServerMsg::decl(&cfg),
        ClientMsg::decl(&cfg),
        WireAction::decl(&cfg),
        TargetPos::decl(&cfg),
        openliveness_liveness::guide::Tip::decl(&cfg),
        openliveness_liveness::Hint::decl(&cfg),
        serde_json::Value::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/server/src/live/protocol.rs: do not edit. After changing a message\n\
         // there, run `OPENLIVENESS_WRITE_WIRE=1 cargo test --workspace --lib wire_types` to rewrite.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's message types cannot drift from the server's: `web/src/wire.ts` must be what
    /// `wire_ts` generates (with `OPENLIVENESS_WRITE_WIRE=1` the test writes it).
    #[test]
    fn wire_types_match_the_page() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/src/wire.ts");
        let want = wire_ts();
        if std::env::var_os("OPENLIVENESS_WRITE_WIRE").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is not what the server's message types generate; run \
             OPENLIVENESS_WRITE_WIRE=1 cargo test --workspace --lib wire_types",
            path.display()
        );
    }

    #[test]
    fn binary_round_trip_and_bounds() {
        let msg = encode_binary(Kind::Frame, 7, 1_700_000_000_123, b"\xff\xd8jpeg");
        let b = parse_binary(&msg).unwrap();
        assert_eq!(
            (b.kind, b.seq, b.capture_ms, b.payload),
            (Kind::Frame, 7, 1_700_000_000_123, &b"\xff\xd8jpeg"[..])
        );
        assert_eq!(parse_binary(&msg[..10]), Err(ProtocolError::ShortHeader));
        let mut bad = msg.clone();
        bad[0] = b'X';
        assert_eq!(parse_binary(&bad), Err(ProtocolError::BadMagic));
        bad = msg.clone();
        bad[2] = 9;
        assert_eq!(parse_binary(&bad), Err(ProtocolError::UnknownKind(9)));
        bad = msg.clone();
        bad[3] = 1;
        assert_eq!(parse_binary(&bad), Err(ProtocolError::Reserved(1)));
        let big = encode_binary(Kind::Frame, 1, 0, &vec![0u8; MAX_FRAME_BYTES + 1]);
        assert!(matches!(
            parse_binary(&big),
            Err(ProtocolError::TooLarge { .. })
        ));
        let empty = encode_binary(Kind::FarStill, 1, 0, b"");
        assert_eq!(parse_binary(&empty), Err(ProtocolError::Empty));
    }

    #[test]
    fn text_messages() {
        assert_eq!(
            parse_text(r#"{"type":"hello","protocol":1}"#),
            Ok(ClientMsg::Hello { protocol: 1 })
        );
        assert_eq!(
            parse_text(r#"{"type":"positioned"}"#),
            Ok(ClientMsg::Positioned)
        );
        assert_eq!(
            parse_text(r#"{"type":"hello","protocol":2}"#),
            Err(ProtocolError::Version(2))
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"{"type":"bogus"}"#,
            r#"{"type":"finish","x":1}"#,
        ] {
            assert_eq!(
                parse_text(bad).map_err(|e| e.code()),
                Err("MALFORMED_MESSAGE"),
                "{bad}"
            );
        }
        let long = format!(r#"{{"type":"positioned","pad":"{}"}}"#, "x".repeat(5000));
        assert_eq!(
            parse_text(&long).map_err(|e| e.code()),
            Err("MESSAGE_TOO_LARGE")
        );
    }
}
