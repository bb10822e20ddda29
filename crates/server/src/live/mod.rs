//! The live capture channel of the session page: a WebSocket at `/h5/liveness/ws`
//! (docs/protocol.md). Authorised by the same capability as the page URL.
//!
//! What must stay true: one connection at a time drives a session's try, across replicas
//! (a lease in the database, renewed while the connection lives, and a fencing token on
//! every write of the session's state and verdict); the server's clock
//! stamps every arrival the moment it is read, before it waits behind the measuring of
//! earlier frames; the vision work runs on blocking threads, never on the reactor.

pub mod admission;
pub mod audit;
pub mod conn;
pub mod observe;
pub mod protocol;
pub mod record;
pub mod sweep;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::page::{authorize, PageDenied};
use crate::state::{now_ms, AppState};
use conn::Conn;
use protocol::{ProtocolError, ServerMsg};

/// The live channels of this process, for a shutdown that lets running tries finish: once
/// draining, new channels are refused, channels without a running try are closed, and the
/// others close after their try's verdict.
#[derive(Clone)]
pub struct LiveChannels {
    tracker: tokio_util::task::TaskTracker,
    draining: tokio::sync::watch::Sender<bool>,
}

impl Default for LiveChannels {
    fn default() -> Self {
        Self {
            tracker: tokio_util::task::TaskTracker::new(),
            draining: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl LiveChannels {
    /// Starts draining: no new channel, and each open one closes as soon as no try runs.
    pub fn drain(&self) {
        self.draining.send_replace(true);
        self.tracker.close();
    }

    /// Waits (at most `grace`) for every open channel to close; `false` if some were still
    /// open when the time ran out (their tries are abandoned with the process).
    pub async fn wait(&self, grace: Duration) -> bool {
        let left = self.tracker.len();
        if left > 0 {
            tracing::info!(live_channels = left, "waiting for running tries to finish");
        }
        let done = tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok();
        if !done {
            tracing::warn!(
                live_channels = self.tracker.len(),
                "live channels still open after the shutdown grace period were dropped"
            );
        }
        done
    }

    fn draining(&self) -> bool {
        *self.draining.borrow()
    }
}

/// How often the state machine's clock advances (step reveals, time-outs).
const TICK: Duration = Duration::from_millis(200);
/// The longest a queue of received messages may hold the clock back.
const MAX_TICK_DELAY: Duration = Duration::from_secs(2);

/// `GET /h5/liveness/ws?signatureId=…&token=…` (WebSocket upgrade).
pub async fn upgrade(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // A plain GET (no `Upgrade: websocket`) gets the JSON envelope like every other refusal.
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return ApiError::Client(rejection.status()).into_response(),
    };
    let presented = url::form_urlencoded::parse(q.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| crate::state::sha256_hex(v.as_bytes()));
    let session = match authorize(&state, q, &headers).await {
        Ok(s) => s,
        Err(PageDenied::Unknown) => return ApiError::Client(StatusCode::NOT_FOUND).into_response(),
        Err(PageDenied::Expired) => return ApiError::Client(StatusCode::GONE).into_response(),
        Err(PageDenied::Store(e)) => return ApiError::from(e).into_response(),
    };
    let engine = state.vision.clone();
    let account = match state.store.account_by_id(session.new.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return ApiError::broken("session without account").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    ws.max_message_size(protocol::HEADER_LEN + protocol::MAX_VIDEO_BYTES)
        .on_upgrade(move |socket| async move {
            // Counted until the channel closes: a shutdown waits for it.
            let _tracked = state.live.tracker.token();
            if state.live.draining() {
                return refuse(socket, ProtocolError::ShuttingDown).await;
            }
            let id = session.signature_id().to_owned();
            let fence = match take_lease(&state, &id).await {
                Ok(fence) => fence,
                Err(refusal) => return refuse(socket, refusal).await,
            };
            // Read again under the lease: the connection that held it before may have moved
            // the state machine on since the upgrade was authorised.
            let session = match state.store.session(&id).await {
                Ok(Some(s)) => s,
                Ok(None) | Err(_) => {
                    release_lease(&state, &id, fence).await;
                    return refuse(socket, ProtocolError::Unavailable).await;
                }
            };
            let secondary_device = session
                .secondary
                .as_ref()
                .zip(presented)
                .is_some_and(|(link, cap)| link.capability_hash == cap);
            let mut conn = Conn::new(state.clone(), engine, session, account);
            conn.secondary_device = secondary_device;
            conn.device = crate::lockout::device_cookie(&headers);
            conn.fence = Some(fence);
            run(socket, conn).await;
        })
}

/// Takes the session's live lease for a new connection: its fencing token, or why the
/// connection is refused (another connection holds the session, or the store cannot say).
async fn take_lease(state: &AppState, id: &str) -> Result<i64, ProtocolError> {
    let now = now_ms();
    let ttl = state.live_lease_ms;
    match state
        .store
        .acquire_live_lease(id, now, now.saturating_add(ttl))
        .await
    {
        Ok(Some(fence)) => Ok(fence),
        Ok(None) => {
            metrics::counter!(crate::telemetry::LIVE_REFUSED, "reason" => "busy").increment(1);
            tracing::info!(
                signature_id = id,
                "live connection refused: another one holds the session"
            );
            Err(ProtocolError::Busy {
                retry_after_s: (ttl + 999) / 1000,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot take the session's live lease");
            Err(ProtocolError::Unavailable)
        }
    }
}

/// Ends a connection's live lease, so the next connection need not wait for it to run out.
async fn release_lease(state: &AppState, id: &str, fence: i64) {
    if let Err(e) = state.store.release_live_lease(id, fence).await {
        tracing::warn!(error = %e, "cannot release the live lease; it runs out by itself");
    }
}

/// Tells a connection why it cannot drive the session, and closes it.
async fn refuse(socket: WebSocket, why: ProtocolError) {
    let (mut sink, _stream) = socket.split();
    if send(&mut sink, vec![why.message()]).await {
        close(&mut sink).await;
    }
}

/// Sends the normal closing frame.
async fn close(socket: &mut SplitSink<WebSocket, Message>) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
}

async fn send(socket: &mut SplitSink<WebSocket, Message>, msgs: Vec<ServerMsg>) -> bool {
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

/// What the reader hands the connection: a message stamped on arrival, holding its share
/// of the queue's byte budget until it has been processed.
enum Incoming {
    Message(Message, i64, Queued),
    Idle,
    Closed,
}

/// A received message's share of its connection's byte budget, counted in the process-wide
/// `openliveness_live_queued_messages` gauge until it has been processed (or dropped).
struct Queued {
    _permit: OwnedSemaphorePermit,
}

impl Queued {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        metrics::gauge!(crate::telemetry::LIVE_QUEUED).increment(1.0);
        Queued { _permit: permit }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::LIVE_QUEUED).decrement(1.0);
    }
}

/// Counts an open live channel in `openliveness_live_connections` while it lives.
struct Open;

impl Open {
    fn new() -> Self {
        metrics::gauge!(crate::telemetry::LIVE_CONNECTIONS).increment(1.0);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::LIVE_CONNECTIONS).decrement(1.0);
    }
}

/// Bytes of received, not yet processed messages per connection. The reader stamps every
/// message the moment it arrives, so a frame waiting while the one before it is measured
/// keeps its true arrival time; past this budget the reader stops reading (back-pressure).
const QUEUE_BYTES: usize = 24 << 20;

/// Reads the socket, stamps each message's arrival on the server clock and queues it. Sets
/// `gone` when the page has closed the connection.
async fn read(
    mut stream: SplitStream<WebSocket>,
    tx: mpsc::Sender<Incoming>,
    gone: Arc<AtomicBool>,
) {
    let idle = Duration::from_millis(protocol::IDLE_TIMEOUT_MS);
    let budget = Arc::new(Semaphore::new(QUEUE_BYTES));
    loop {
        let msg = match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => {
                let _ = tx.send(Incoming::Idle).await;
                return;
            }
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
                gone.store(true, Ordering::Relaxed);
                let _ = tx.send(Incoming::Closed).await;
                return;
            }
            Ok(Some(Ok(m))) => m,
        };
        let arrival = now_ms();
        let len = match &msg {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => continue,
        };
        let permits = len.clamp(1, QUEUE_BYTES) as u32;
        let Ok(permit) = budget.clone().acquire_many_owned(permits).await else {
            return;
        };
        if tx
            .send(Incoming::Message(msg, arrival, Queued::new(permit)))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn run(socket: WebSocket, mut conn: Conn) {
    let _open = Open::new();
    let (mut sink, stream) = socket.split();
    let (tx, mut rx) = mpsc::channel(256);
    // Once the page has gone, what it left in the queue is not measured: a departed page's
    // backlog would otherwise keep the vision engine busy for nobody (the try is abandoned,
    // as on any reconnection).
    let gone = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(read(stream, tx, gone.clone()));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The lease is renewed three times per period, so one slow renewal does not lose it.
    let renew_every = Duration::from_millis((conn.state.live_lease_ms / 3).max(100) as u64);
    let mut renew =
        tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining = conn.state.live.draining.subscribe();
    let mut closing_after_try = false;
    let mut last_tick = Instant::now();
    loop {
        // The next step is revealed the moment it falls due, ahead of any queued frames:
        // its window starts when the page is told, not when a backlog has been measured.
        // (Only a step can be due then, never a time-out: the last deadline is not known
        // before the last step is out.)
        let reveal_in = conn.next_reveal_in(now_ms());
        let reply = tokio::select! {
            // No tick while received messages wait (a tick would move the state machine's
            // clock past their arrival stamps), unless the queue has held the clock back for
            // `MAX_TICK_DELAY`: an overloaded server still times tries out by the wall
            // clock, at most that late. Polled in this order.
            biased;
            _ = tokio::time::sleep(reveal_in.unwrap_or(Duration::ZERO)), if reveal_in.is_some() => {
                conn.on_tick().await
            }
            changed = draining.changed(), if !closing_after_try => {
                if changed.is_err() || !*draining.borrow() {
                    continue;
                }
                // Shutting down: a running try may finish; an idle channel closes now.
                closing_after_try = true;
                if conn.try_running() {
                    continue;
                }
                Conn::closing(ProtocolError::ShuttingDown)
            }
            _ = renew.tick() => {
                if conn.renew_lease().await {
                    continue;
                }
                Conn::taken_over()
            }
            _ = tick.tick(), if rx.is_empty() || last_tick.elapsed() >= MAX_TICK_DELAY => {
                last_tick = Instant::now();
                conn.on_tick().await
            }
            incoming = rx.recv() => match incoming {
                _ if gone.load(Ordering::Relaxed) => break,
                None | Some(Incoming::Closed) => break,
                Some(Incoming::Idle) => conn.fail(ProtocolError::Idle).await,
                Some(Incoming::Message(Message::Text(t), at, _permit)) => {
                    conn.on_text(t.as_str(), at).await
                }
                Some(Incoming::Message(Message::Binary(b), at, _permit)) => {
                    conn.on_binary(&b, at).await
                }
                Some(Incoming::Message(..)) => continue,
            },
        };
        // A fenced write found another connection holding the session: what this one
        // computed since is void.
        let mut reply = if conn.lease_lost() {
            Conn::taken_over()
        } else {
            reply
        };
        // Shutting down and the try is over (its verdict is in this reply): close after it.
        if closing_after_try && !reply.close && !conn.try_running() {
            reply
                .messages
                .extend(Conn::closing(ProtocolError::ShuttingDown).messages);
            reply.close = true;
        }
        if !send(&mut sink, reply.messages).await {
            break;
        }
        if reply.close {
            conn.release_lease().await;
            close(&mut sink).await;
            break;
        }
    }
    reader.abort();
    conn.release_lease().await;
}
