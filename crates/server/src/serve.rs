//! Serving the router over TCP: HTTP/1.1 with time limits on what a client sends, a cap on
//! open connections, the peer's address for every request (`ConnectInfo`, which sign-in
//! limits count by), and a graceful stop.
//!
//! Without limits, clients that send slowly (a slow-loris) would hold sockets and memory
//! for ever:
//! - a connection must finish its request headers within [`Limits::header_read`], counted
//!   from when the server starts reading them (so an idle kept-alive connection closes
//!   after it too);
//! - a request body must arrive within [`Limits::body_read`] from when the server starts
//!   reading it, plus one second for every [`BODY_MIN_RATE`] bytes received — a trickle
//!   is cut, a big body on a slow but honest link is not. A body past its deadline is not
//!   answered: the connection is closed, which a device takes as *unreachable* and
//!   retries, as it does when headers time out;
//! - at most [`Limits::max_connections`] connections are open at once; past it the server
//!   stops accepting (new ones wait in the kernel's queue) until one closes.
//!
//! HTTP/1.1 only: devices and browsers speak it to the org server (TLS, and with it
//! HTTP/2, is a reverse proxy's business).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// The default time a client has to send its request headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time a client has to send a request body (before [`BODY_MIN_RATE`]'s
/// allowance).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes per second of body that buy one more second to send the rest: a body arriving at
/// least this fast is never cut (8 kbit/s: slower than any link a device syncs over).
pub const BODY_MIN_RATE: u64 = 1024;
/// The default cap on open connections.
pub const MAX_CONNECTIONS: u32 = 4096;

/// What a client may hold of the server, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to send request headers (and to stay idle between requests).
    pub header_read: Duration,
    /// Time to send a request body, plus one second per [`BODY_MIN_RATE`] bytes.
    pub body_read: Duration,
    /// Connections open at once (at least 1).
    pub max_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Descriptors kept back from connections: the database, its journals, logs, the
/// listener, and what a request opens.
const RESERVED_FILES: u64 = 128;

/// Raises this process's open-file limit as far as the system allows, and answers it:
/// the connection cap must fit under it, or accepting fails before the cap is reached.
fn open_files_allowed() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(e) => {
                tracing::warn!(error = %e, "the open-file limit could not be read or raised");
                None
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// The connections open at once: `wanted` (at least 1), kept under the open-file limit
/// with [`RESERVED_FILES`] to spare.
fn connection_cap(wanted: u32, open_files: Option<u64>) -> usize {
    let wanted = u64::from(wanted.max(1));
    let cap = match open_files {
        Some(limit) => wanted.min(limit.saturating_sub(RESERVED_FILES).max(1)),
        None => wanted,
    };
    if cap < wanted {
        tracing::warn!(
            wanted,
            cap,
            "the connection cap is lowered to fit under the open-file limit"
        );
    }
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections
/// finish their requests.
///
/// # Errors
/// None today: a failed accept (e.g. out of file descriptors) is logged and retried.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let graceful = GracefulShutdown::new();
    let cap = connection_cap(limits.max_connections, open_files_allowed());
    let open = Arc::new(tokio::sync::Semaphore::new(cap));
    tokio::pin!(shutdown);
    loop {
        // A place for the next connection first: at the cap, stop accepting.
        let place = tokio::select! {
            place = Arc::clone(&open).acquire_owned() => place?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    // Out of descriptors, typically: give connections time to close.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // An answer goes out as soon as it is written: with Nagle's algorithm its last small
        // segment waited for the peer's delayed acknowledgement (40 ms on Linux).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY could not be set");
        }
        let app = app.clone();
        let body_read = limits.body_read;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let late = Arc::new(AtomicBool::new(false));
                let mut request = request.map(|body| {
                    axum::body::Body::new(DeadlineBody::new(body, body_read, Arc::clone(&late)))
                });
                request.extensions_mut().insert(ConnectInfo(peer));
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // No answer to a body that never arrived: hyper closes the connection.
                if late.load(Ordering::SeqCst) {
                    return Err(BodyTooSlow);
                }
                Ok(response)
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "a connection ended with an error");
            }
            drop(place);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A request body did not arrive in time ([`Limits::body_read`]).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTooSlow;

/// A request body with a deadline: [`Limits::body_read`] from its first read, one second
/// later for every [`BODY_MIN_RATE`] bytes that arrived. Past it, reading fails with
/// [`BodyTooSlow`] and `late` is set.
struct DeadlineBody<B> {
    body: B,
    allowed: Duration,
    received: u64,
    started: Option<Instant>,
    deadline: Option<Pin<Box<Sleep>>>,
    late: Arc<AtomicBool>,
}

impl<B> DeadlineBody<B> {
    fn new(body: B, allowed: Duration, late: Arc<AtomicBool>) -> Self {
        Self {
            body,
            allowed,
            received: 0,
            started: None,
            deadline: None,
            late,
        }
    }

    /// When the body must have arrived, counting from `started`.
    fn due(&self, started: Instant) -> Instant {
        started + self.allowed + Duration::from_secs(self.received / BODY_MIN_RATE)
    }
}

impl<B> hyper::body::Body for DeadlineBody<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this
                        .received
                        .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
                    let due = this.due(started);
                    if let Some(deadline) = this.deadline.as_mut() {
                        deadline.as_mut().reset(due);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let due = this.due(started);
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.late.store(true, Ordering::SeqCst);
                    return Poll::Ready(Some(Err(BodyTooSlow.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
