//! The live capture channel of the session page: a WebSocket at `/h5/liveness/ws`
//! (docs/protocol.md). Authorised by the same capability as the page URL.
//!
//! What must stay true: one connection at a time drives a session's try; the server's clock
//! stamps every arrival; the vision work runs on blocking threads, never on the reactor.

pub mod audit;
pub mod conn;
pub mod observe;
pub mod protocol;
pub mod record;

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::page::{authorize, PageDenied};
use crate::state::AppState;
use conn::Conn;
use protocol::{ProtocolError, ServerMsg};

/// How often the state machine's clock advances (step reveals, time-outs).
const TICK: Duration = Duration::from_millis(200);

/// `GET /h5/liveness/ws?signatureId=…&token=…` (WebSocket upgrade).
pub async fn upgrade(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let session = match authorize(&state, q).await {
        Ok(s) => s,
        Err(PageDenied::Unknown) => return ApiError::Client(StatusCode::NOT_FOUND).into_response(),
        Err(PageDenied::Expired) => return ApiError::Client(StatusCode::GONE).into_response(),
        Err(PageDenied::Store(e)) => return ApiError::from(e).into_response(),
    };
    let engine = state.vision.clone();
    let account = match state.store.account_by_id(session.new.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return ApiError::Internal("session without account".into()).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    ws.max_message_size(protocol::HEADER_LEN + protocol::MAX_VIDEO_BYTES)
        .on_upgrade(move |socket| run(socket, Conn::new(state, engine, session, account)))
}

async fn send(socket: &mut WebSocket, msgs: Vec<ServerMsg>) -> bool {
    for m in msgs {
        let Ok(text) = serde_json::to_string(&m) else {
            continue;
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return false;
        }
    }
    true
}

async fn run(mut socket: WebSocket, mut conn: Conn) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle = Duration::from_millis(protocol::IDLE_TIMEOUT_MS);
    loop {
        let reply = tokio::select! {
            msg = tokio::time::timeout(idle, socket.recv()) => match msg {
                Err(_) => conn.fail(ProtocolError::Idle).await,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => break,
                Ok(Some(Ok(Message::Text(t)))) => conn.on_text(t.as_str()).await,
                Ok(Some(Ok(Message::Binary(b)))) => conn.on_binary(&b).await,
                Ok(Some(Ok(_))) => continue,
            },
            _ = tick.tick() => conn.on_tick().await,
        };
        if !send(&mut socket, reply.messages).await {
            break;
        }
        if reply.close {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1000,
                    reason: "".into(),
                })))
                .await;
            break;
        }
    }
}
