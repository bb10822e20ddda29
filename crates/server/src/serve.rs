//! The accept loop: HTTP/1 connections served by hyper under bounds a crowd of idle or slow
//! clients cannot exhaust.
//!
//! What must stay true:
//! - a client has `header_read_timeout` to send a request's headers, and the same bound on
//!   the wait between two requests of a kept-alive connection (hyper starts the header
//!   timer as soon as a connection is idle);
//! - at most `limit` connections are held; a new one past the limit closes the connection
//!   that has been idle longest, so clients holding sockets open without sending anything
//!   (or sending a body slowly) cannot lock out a client that is sending a request. A
//!   connection whose request is being handled — its body read — is never closed this way;
//!   when every held connection is busy, the new one is closed instead.
//! - the open-file limit is raised to its hard limit at start-up and `limit` kept below it,
//!   so `accept` does not fail with "too many open files".

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// File descriptors kept back from the connection limit: the database, blobs, models,
/// outgoing webhooks and upgraded live channels (which leave the connection count when
/// they upgrade).
const FD_RESERVE: u64 = 256;
/// Largest request head hyper buffers; beyond it hyper itself answers 431 (bare). Below it,
/// the request middleware answers oversize URIs and headers with the JSON envelope.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header count past which hyper itself refuses the request (bare 431). The middleware
/// refuses more than [`crate::api::MAX_HEADER_COUNT`] with the envelope first.
const HYPER_MAX_HEADERS: usize = 256;
/// After shutdown is asked for, connections still busy get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Raises the open-file limit to its hard limit and returns the connection limit that fits
/// under it (never above `wanted`). Logs both.
pub fn fit_connection_limit(wanted: usize) -> usize {
    let nofile = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return wanted;
        }
    };
    let room = usize::try_from(nofile.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    let limit = wanted.min(room).max(16);
    if limit < wanted {
        tracing::warn!(
            open_files = nofile,
            max_connections = limit,
            wanted,
            "the open-file limit caps the connections held at once; raise `ulimit -n` to hold more"
        );
    } else {
        tracing::info!(
            open_files = nofile,
            max_connections = limit,
            "open-file limit raised"
        );
    }
    limit
}

/// One held connection, as the limit sees it.
struct Slot {
    /// Requests of this connection being answered now.
    busy: AtomicUsize,
    /// When the connection last started or finished a request (ms since the registry began).
    last_active_ms: AtomicU64,
    /// Closes the connection (it is dropped without a response).
    close: Notify,
}

/// The connections held, to pick the one idle longest when room is needed.
struct Registry {
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    epoch: Instant,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn insert(&self, id: u64) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            busy: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(id, slot.clone());
        }
        slot
    }

    fn remove(&self, id: u64) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&id);
        }
    }

    /// Closes the connection idle longest; false when every connection is busy.
    fn evict_idlest(&self) -> bool {
        let Ok(mut slots) = self.slots.lock() else {
            return false;
        };
        let victim = slots
            .iter()
            .filter(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, s)| s.last_active_ms.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        match victim.and_then(|id| slots.remove(&id)) {
            Some(slot) => {
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The connection a request came on, in the request's extensions: the request middleware
/// marks it busy once the body is read, for as long as the request is handled.
#[derive(Clone)]
pub struct Connection {
    slot: Arc<Slot>,
    registry: Arc<Registry>,
}

impl Connection {
    /// Marks the connection busy (not to be closed for room) until the guard drops. Taken
    /// under the registry's lock, so it never interleaves with the choice of a connection
    /// to close.
    pub fn busy(&self) -> Busy {
        {
            let _chosen_apart = self.registry.slots.lock();
            self.slot.busy.fetch_add(1, Ordering::AcqRel);
        }
        self.touch();
        Busy {
            slot: self.slot.clone(),
            registry: self.registry.clone(),
        }
    }

    fn touch(&self) {
        self.slot
            .last_active_ms
            .store(self.registry.now_ms(), Ordering::Release);
    }
}

/// Marks its connection busy while a request is being handled.
pub struct Busy {
    slot: Arc<Slot>,
    registry: Arc<Registry>,
}

/// A response body that keeps its connection busy until the last byte is written, so a
/// large answer to a slow reader is never closed for room.
pub struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl BusyBody {
    pub fn wrap(inner: Body, busy: Busy) -> Body {
        Body::new(BusyBody { inner, _busy: busy })
    }
}

impl http_body::Body for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot
            .last_active_ms
            .store(self.registry.now_ms(), Ordering::Release);
        self.slot.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Removes a connection from the registry when its task ends.
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// Errors of one incoming connection, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets the
/// connections with a request in progress finish (bounded) and returns.
/// With `tls`, each connection first completes a TLS handshake, within the header-read
/// timeout (the demo's HTTPS, `serve --demo --lan`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry {
        slots: Mutex::new(HashMap::new()),
        epoch: Instant::now(),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(HYPER_MAX_HEADERS)
        .keep_alive(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        // Reap finished connection tasks so the set stays as small as the connections held.
        while tasks.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // One client gave up before we accepted it: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors despite the limit (other files open): make room and
                // back off a moment rather than spin.
                tracing::warn!(error = %e, "accept failed");
                registry.evict_idlest();
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if registry.len() >= limits.max_connections && !registry.evict_idlest() {
            tracing::warn!(
                max_connections = limits.max_connections,
                "every connection is busy; a new one was closed"
            );
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let slot = registry.insert(id);
        let svc = {
            let (slot, registry, app) = (slot.clone(), registry.clone(), app.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let connection = Connection {
                    slot: slot.clone(),
                    registry: registry.clone(),
                };
                connection.touch();
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(connection);
                app.clone().oneshot(req)
            })
        };
        let registry = registry.clone();
        let stop = stop_rx.clone();
        let (http, tls) = (http.clone(), tls.clone());
        let handshake_timeout = limits.header_read_timeout;
        tasks.spawn(async move {
            // Leaves the registry however the task ends (a panic included).
            let _registered = Registered { registry, id };
            match tls {
                None => drive(&http, TokioIo::new(stream), svc, &slot, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => drive(&http, TokioIo::new(tls), svc, &slot, stop).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            still_open = tasks.len(),
            "connections still busy after the shutdown grace period were closed"
        );
        tasks.abort_all();
    }
    Ok(())
}

/// Serves one connection until it ends, its slot is closed to make room, or shutdown asks it
/// to finish (then it ends after the request in progress).
async fn drive<I, S>(
    http: &hyper::server::conn::http1::Builder,
    io: I,
    svc: S,
    slot: &Arc<Slot>,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http.serve_connection(io, svc).with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = slot.close.notified() => break,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
