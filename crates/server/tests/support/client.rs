//! A client of the live protocol (docs/protocol.md), written from the document: it plays a
//! script — what image to send at each moment of each revealed step — in real time.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use image::RgbImage;
use openliveness_server::live::protocol::{encode_binary, Kind};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::subject::jpeg;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Frames per second the client streams at.
pub const FPS: u64 = 10;
/// How long the page streams the "come closer" phase after the last step, before it sends
/// the stills and `finish`.
pub const CLOSING_MS: i64 = 1500;

/// What the script is told when asked for a frame.
#[derive(Debug, Clone)]
pub struct Moment {
    /// Milliseconds since the session started (hello).
    pub t_ms: i64,
    /// The clock now (Unix milliseconds), the capture time a live camera would declare.
    pub now_ms: i64,
    /// The current step's action and milliseconds since it was revealed, if any. After the
    /// last step's window the page asks the user to come closer for the near still: that
    /// phase shows here as the action `near`.
    pub step: Option<(String, i64)>,
    /// Actions revealed so far, in order.
    pub revealed: Vec<String>,
    /// During the follow part: where the head should turn to.
    pub look: Option<Look>,
}

/// A follow target being shown: the previous target (the centre before the first), this
/// one, both `(x, y)` in the user's view (x to their right, y up), and milliseconds since
/// it was revealed.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub from: (f32, f32),
    pub to: (f32, f32),
    pub e: i64,
}

/// One sent binary message, for replays.
#[derive(Debug, Clone)]
pub struct Sent {
    pub kind: Kind,
    pub seq: u32,
    pub capture_ms: i64,
    pub payload: Vec<u8>,
    pub t_ms: i64,
}

/// What a script sends: an image to encode now, or recorded bytes with their own capture
/// time (replays).
pub enum Shot {
    Image(RgbImage),
    Raw(Vec<u8>, i64),
}

pub trait Script: Send {
    /// The frame to send now, or `None` to send nothing.
    fn frame(&mut self, m: &Moment) -> Option<Shot>;
    /// The far and near stills.
    fn stills(&mut self) -> (Shot, Shot);
    /// The capture time to declare for a frame made at `now_ms` (server and page share a
    /// clock in the tests). Attacks that inject old material override it.
    fn capture_ms(&mut self, now_ms: i64, _m: &Moment) -> i64 {
        now_ms
    }
    /// Extra frames sent right after each frame (bursts).
    fn burst(&mut self) -> usize {
        0
    }
}

fn shot(s: Shot, declared: i64) -> (Vec<u8>, i64) {
    match s {
        Shot::Image(img) => (jpeg(&img), declared),
        Shot::Raw(bytes, at) => (bytes, at),
    }
}

pub struct Outcome {
    /// The steps as the client saw them: action, milliseconds from `hello` to the reveal,
    /// target (follow part).
    pub steps: Vec<StepAt>,
    /// Each step message as received: action, when (Unix ms), its deadline (Unix ms).
    pub received: Vec<(String, i64, i64)>,
    pub result: Option<Value>,
    pub messages: Vec<Value>,
    pub sent: Vec<Sent>,
    /// From sending `finish` to receiving the verdict (which the server sends only once it
    /// is stored), in milliseconds.
    pub finish_to_result_ms: Option<f64>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.result.as_ref().is_some_and(|r| r["passed"] == true)
    }
}

pub fn ws_url(page_url: &str) -> String {
    page_url
        .replacen("http://", "ws://", 1)
        .replacen("/h5/liveness?", "/h5/liveness/ws?", 1)
}

pub fn now_ms() -> i64 {
    openliveness_server::state::now_ms()
}

/// Sends one binary message; false once the server has closed the connection (after an
/// error it reports, which `finish` then collects).
async fn send_bin(ws: &mut Ws, s: &Sent) -> bool {
    let msg = encode_binary(s.kind, s.seq, s.capture_ms, &s.payload);
    ws.send(Message::Binary(msg.into())).await.is_ok()
}

/// Reads whatever the server has sent, without waiting.
async fn drain(ws: &mut Ws, into: &mut Vec<Value>) {
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(1), ws.next()).await {
        if let Message::Text(t) = msg {
            if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                into.push(v);
            }
        }
    }
}

pub async fn wait_for(
    ws: &mut Ws,
    into: &mut Vec<Value>,
    kinds: &[&str],
    limit: Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).ok()?;
                into.push(v.clone());
                if kinds.iter().any(|k| v["type"] == *k) {
                    return Some(v);
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

/// Plays `script` against the session at `page_url`; returns what the server answered.
pub async fn run(page_url: &str, script: &mut dyn Script) -> Outcome {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(page_url))
        .await
        .expect("websocket connects");
    drive(ws, script).await
}

/// Plays `script` over a live channel already open (nothing said on it yet).
pub async fn drive(mut ws: Ws, script: &mut dyn Script) -> Outcome {
    let mut msgs = Vec::new();
    ws.send(Message::Text(hello().into())).await.unwrap();
    wait_for(&mut ws, &mut msgs, &["session"], Duration::from_secs(10))
        .await
        .expect("session message");
    after_session(ws, msgs, script).await
}

/// Opens the live channel at `page_url` and says `hello`: the channel, what came back, and
/// the answer — `session`, or the `error` that refused the try (a busy server, a session
/// held elsewhere).
pub async fn say_hello(page_url: &str, limit: Duration) -> (Ws, Vec<Value>, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(page_url))
        .await
        .expect("websocket connects");
    ws.send(Message::Text(hello().into())).await.unwrap();
    let mut msgs = Vec::new();
    let answer = wait_for(&mut ws, &mut msgs, &["session", "error"], limit)
        .await
        .expect("an answer to hello");
    (ws, msgs, answer)
}

/// The page's `hello`.
pub fn hello() -> String {
    json!({"type":"hello","protocol":1}).to_string()
}

/// Plays `script` over a live channel whose `hello` has been answered with `session` (the
/// last of `msgs`, everything received so far).
pub async fn after_session(mut ws: Ws, mut msgs: Vec<Value>, script: &mut dyn Script) -> Outcome {
    let mut sent = Vec::new();
    let start = now_ms();

    let mut seq = 0u32;
    let mut interval = tokio::time::interval(Duration::from_millis(1000 / FPS));
    // A camera that fell behind drops frames; it never sends a catch-up burst.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut positioned = false;
    // action, revealed at, deadline, target
    let mut steps: Vec<StepSeen> = Vec::new();
    let mut total = usize::MAX;
    let mut closing: Option<i64> = None;
    loop {
        interval.tick().await;
        let now = now_ms();
        let t = now - start;
        drain(&mut ws, &mut msgs).await;
        for m in &msgs {
            if m["type"] == "challenge" {
                total = m["steps"].as_u64().unwrap_or(0) as usize;
            }
            if m["type"] == "step" {
                let idx = m["index"].as_u64().unwrap_or(0) as usize;
                if idx == steps.len() {
                    let target = m["target"].as_object().map(|t| {
                        let at = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0) as f32;
                        (at("x"), at("y"))
                    });
                    steps.push((
                        m["action"].as_str().unwrap_or("").to_owned(),
                        now,
                        m["deadline"].as_i64().unwrap_or(0),
                        target,
                    ));
                }
            }
        }
        if msgs
            .iter()
            .any(|m| m["type"] == "error" || m["type"] == "tryFailed" || m["type"] == "expired")
        {
            return finish(ws, msgs, sent, seen(&steps, start)).await;
        }
        if steps.len() == total && steps.last().is_some_and(|s| now > s.2 + 150) {
            let since = now - *closing.get_or_insert(now);
            if since >= CLOSING_MS {
                break;
            }
        }
        if t > 60_000 {
            break;
        }
        if !positioned && t >= 1000 {
            ws.send(Message::Text(
                json!({"type":"positioned"}).to_string().into(),
            ))
            .await
            .unwrap();
            positioned = true;
        }
        let step = match closing {
            Some(at) => Some(("near".to_owned(), now - at)),
            None => steps.last().map(|(a, at, _, _)| (a.clone(), now - at)),
        };
        let look = match (closing, steps.len()) {
            (None, n) if n > 0 => steps[n - 1].3.map(|to| Look {
                from: n
                    .checked_sub(2)
                    .and_then(|i| steps[i].3)
                    .unwrap_or((0.0, 0.0)),
                to,
                e: now - steps[n - 1].1,
            }),
            _ => None,
        };
        let moment = Moment {
            t_ms: t,
            now_ms: now,
            step,
            revealed: steps.iter().map(|s| s.0.clone()).collect(),
            look,
        };
        if let Some(next) = script.frame(&moment) {
            let declared = script.capture_ms(now, &moment);
            let (payload, capture_ms) = shot(next, declared);
            for _ in 0..=script.burst() {
                seq += 1;
                let s = Sent {
                    kind: Kind::Frame,
                    seq,
                    capture_ms,
                    payload: payload.clone(),
                    t_ms: t,
                };
                let ok = send_bin(&mut ws, &s).await;
                sent.push(s);
                if !ok {
                    return finish(ws, msgs, sent, seen(&steps, start)).await;
                }
            }
        }
    }
    let (far, near) = script.stills();
    for (kind, still) in [(Kind::FarStill, far), (Kind::NearStill, near)] {
        let now = now_ms();
        let (payload, capture_ms) = shot(still, now);
        let s = Sent {
            kind,
            seq: 0,
            capture_ms,
            payload,
            t_ms: now - start,
        };
        let ok = send_bin(&mut ws, &s).await;
        sent.push(s);
        if !ok {
            break;
        }
    }
    let mut out = finish(ws, msgs, sent, seen(&steps, start)).await;
    out.received = steps
        .iter()
        .map(|(a, at, deadline, _)| (a.clone(), *at, *deadline))
        .collect();
    out
}

/// A step as the client received it: action, when (Unix ms), deadline, target.
type StepSeen = (String, i64, i64, Option<(f32, f32)>);
/// A step of an `Outcome`: action, milliseconds from `hello` to its reveal, target.
pub type StepAt = (String, i64, Option<(f32, f32)>);

fn seen(steps: &[StepSeen], start: i64) -> Vec<StepAt> {
    steps
        .iter()
        .map(|(a, at, _, t)| (a.clone(), at - start, *t))
        .collect()
}

async fn finish(mut ws: Ws, mut msgs: Vec<Value>, sent: Vec<Sent>, steps: Vec<StepAt>) -> Outcome {
    let _ = ws
        .send(Message::Text(json!({"type":"finish"}).to_string().into()))
        .await;
    let finished = std::time::Instant::now();
    let result = wait_for(
        &mut ws,
        &mut msgs,
        &["result", "error", "tryFailed", "expired"],
        Duration::from_secs(60),
    )
    .await
    .filter(|v| v["type"] == "result");
    let finish_to_result_ms = result
        .is_some()
        .then(|| finished.elapsed().as_secs_f64() * 1e3);
    let _ = ws.close(None).await;
    Outcome {
        received: Vec::new(),
        steps,
        result,
        messages: msgs,
        sent,
        finish_to_result_ms,
    }
}
