//! A loopback TCP proxy that stands between a client and the real server and breaks the
//! network on purpose: refused connections, latency, truncated answers, answers lost after
//! the server applied the request, requests swallowed by a silent peer.
//!
//! It fakes nothing above TCP: bytes that pass are the server's own bytes, unchanged, and
//! it never parses HTTP. Faults are chosen per connection when it is accepted, so a test
//! can change them at any time and the next connection sees the change.
//!
//! Every loop in here ends by itself: threads poll a stop flag at least every
//! [`POLL`], a silent connection closes after [`BLACKHOLE_LIMIT`], and dropping the proxy
//! joins every thread it started.

use std::collections::VecDeque;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

/// How often the proxy's threads look at their stop flags (and the longest a blocked read
/// or write waits before looking again).
pub const POLL: Duration = Duration::from_millis(10);

/// How long a [`Fault::Blackhole`] connection stays silent at most before it closes itself.
pub const BLACKHOLE_LIMIT: Duration = Duration::from_secs(30);

/// How long the proxy waits for the upstream to accept a connection.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// After a truncated answer, how long the proxy keeps reading (and dropping) what the
/// client still sends, so its close is a clean end of stream rather than a reset that
/// could destroy the bytes the client has not read yet.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// What the proxy does to a connection. Chosen once, when the connection is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward both directions faithfully.
    Pass,
    /// Accept, then reset the connection at once without reading a byte. The upstream is
    /// never contacted; the client sees a reset (or end of stream) before any answer.
    Refuse,
    /// Forward faithfully, but hold each direction's first bytes back for this long, so
    /// one request/answer round trip takes at least twice the delay.
    Delay(Duration),
    /// Forward the request faithfully and only the first `after_bytes` bytes of the
    /// upstream's answer, then end the client's stream cleanly: the client sees a short
    /// answer followed by end of stream.
    TruncateResponse {
        /// How many bytes of the answer reach the client.
        after_bytes: usize,
    },
    /// Forward the request faithfully; when the upstream starts answering (so it has
    /// processed the request) reset the client connection without passing on any byte of
    /// the answer: the request was applied on the server and the answer was lost.
    ResetAfterRequest,
    /// Accept and read whatever the client sends, never contact the upstream and never
    /// answer. The connection closes (clean end of stream) when the client closes it,
    /// when [`FaultProxy::set`] is next called, when the proxy is dropped, or after
    /// [`BLACKHOLE_LIMIT`].
    Blackhole,
}

/// How many accepted connections got each fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Connections forwarded with [`Fault::Pass`].
    pub pass: u64,
    /// Connections given [`Fault::Refuse`].
    pub refuse: u64,
    /// Connections given [`Fault::Delay`].
    pub delay: u64,
    /// Connections given [`Fault::TruncateResponse`].
    pub truncate_response: u64,
    /// Connections given [`Fault::ResetAfterRequest`].
    pub reset_after_request: u64,
    /// Connections given [`Fault::Blackhole`].
    pub blackhole: u64,
}

impl FaultCounts {
    fn count(&mut self, fault: Fault) {
        let slot = match fault {
            Fault::Pass => &mut self.pass,
            Fault::Refuse => &mut self.refuse,
            Fault::Delay(_) => &mut self.delay,
            Fault::TruncateResponse { .. } => &mut self.truncate_response,
            Fault::ResetAfterRequest => &mut self.reset_after_request,
            Fault::Blackhole => &mut self.blackhole,
        };
        *slot += 1;
    }
}

/// Which fault the next connections get.
struct Plan {
    /// The fault for every connection once `queued` is empty.
    standing: Fault,
    /// Faults for the next connections, one each, in order (from `fail_next`).
    queued: VecDeque<Fault>,
    counts: FaultCounts,
    /// Bumped by every `set`; a blackholed connection closes when it changes.
    epoch: u64,
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<Plan>,
    /// Mirrors `plan.epoch` so silent connections can poll it without the lock.
    epoch: AtomicU64,
    /// Milliseconds every answer is held back (see [`FaultProxy::set_latency`]).
    latency_ms: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    fn plan(&self) -> MutexGuard<'_, Plan> {
        // The plan stays consistent even if a holder panicked: every update is one store.
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A fault-injecting TCP proxy on a free loopback port in front of a loopback upstream
/// (the real server). Dropping it stops accepting, closes every live connection and joins
/// all its threads.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards every accepted connection to `upstream`,
    /// starting with [`Fault::Pass`]. Errors when `upstream` is not a loopback address or
    /// the proxy cannot listen.
    pub fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        ensure!(
            upstream.ip().is_loopback(),
            "the fault proxy only forwards to loopback, not to {upstream}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fault proxy")?;
        let addr = listener.local_addr()?;
        // Non-blocking so the accept loop can notice the stop flag; see `accept_loop`.
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(Plan {
                standing: Fault::Pass,
                queued: VecDeque::new(),
                counts: FaultCounts::default(),
                epoch: 0,
            }),
            epoch: AtomicU64::new(0),
            latency_ms: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accept = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || accept_loop(&listener, &shared)
            })
            .context("starting the fault proxy's accept thread")?;
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Gives every connection accepted from now on `fault`. Clears faults queued by
    /// [`FaultProxy::fail_next`] and ends connections currently held by
    /// [`Fault::Blackhole`]; connections already forwarding keep their fault.
    pub fn set(&self, fault: Fault) {
        let mut plan = self.shared.plan();
        plan.standing = fault;
        plan.queued.clear();
        plan.epoch += 1;
        self.shared.epoch.store(plan.epoch, Ordering::Relaxed);
    }

    /// Holds back every answer for `latency` from now on, on every connection that
    /// forwards (kept-alive ones included, whatever their fault): each time the upstream
    /// starts answering after the client asked something. A slow link, where each round
    /// trip costs the latency. [`Duration::ZERO`] ends it.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Gives the next `n` accepted connections `fault` (after any still queued), then goes
    /// back to the fault of the last [`FaultProxy::set`] ([`Fault::Pass`] if none).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.shared
            .plan()
            .queued
            .extend(std::iter::repeat_n(fault, n));
    }

    /// How many connections the proxy has accepted, whatever their fault.
    pub fn connections(&self) -> u64 {
        let counts = self.counts();
        counts.pass
            + counts.refuse
            + counts.delay
            + counts.truncate_response
            + counts.reset_after_request
            + counts.blackhole
    }

    /// How many accepted connections got each fault.
    pub fn counts(&self) -> FaultCounts {
        self.shared.plan().counts
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            // Every thread polls the stop flag, so this join is bounded (a few POLLs, or
            // CONNECT_LIMIT if an upstream connect is in flight).
            let _ = accept.join();
        }
    }
}

/// Accepts until the proxy is dropped, then joins every connection thread. Polls a
/// non-blocking listener rather than blocking in `accept`, so stopping needs nothing from
/// the network (no connect-to-self that could fail).
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // WouldBlock: nobody is waiting. Anything else (e.g. out of file handles) is
            // retried after the same pause rather than ending the proxy.
            Err(_) => {
                std::thread::sleep(POLL);
                continue;
            }
        };
        let (fault, epoch) = {
            let mut plan = shared.plan();
            let fault = plan.queued.pop_front().unwrap_or(plan.standing);
            plan.counts.count(fault);
            (fault, plan.epoch)
        };
        let spawned = std::thread::Builder::new()
            .name(format!("fault-proxy-conn-{fault:?}"))
            .spawn({
                let shared = Arc::clone(shared);
                move || serve(client, fault, epoch, &shared)
            });
        // If no thread can be started the client is dropped, which closes it.
        if let Ok(handle) = spawned {
            connections.push(handle);
        }
        let (finished, live): (Vec<_>, Vec<_>) =
            connections.into_iter().partition(|c| c.is_finished());
        connections = live;
        for c in finished {
            let _ = c.join();
        }
    }
    for c in connections {
        let _ = c.join();
    }
}

/// How a connection ends, decided by whichever direction ended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The source closed cleanly and the close was passed on; the other direction goes on.
    Eof,
    /// The answer was cut short and the client's stream ended cleanly.
    Truncated,
    /// The client must be reset without an answer.
    ResetClient,
    /// A socket failed: both sides are reset, as a broken network would.
    Failed,
    /// The proxy is stopping or the other direction ended the connection.
    Stopped,
}

/// One accepted connection, from its fault to its close.
fn serve(client: TcpStream, fault: Fault, epoch: u64, shared: &Shared) {
    // Accepted sockets inherit non-blocking mode on some platforms (BSDs, macOS).
    if client.set_nonblocking(false).is_err() {
        return;
    }
    match fault {
        Fault::Refuse => return reset(&client),
        Fault::Blackhole => return blackhole(&client, epoch, shared),
        Fault::Pass
        | Fault::Delay(_)
        | Fault::TruncateResponse { .. }
        | Fault::ResetAfterRequest => {}
    }
    let Ok(upstream) = TcpStream::connect_timeout(&shared.upstream, CONNECT_LIMIT) else {
        // No server behind the proxy looks, to the client, like a refused connection.
        return reset(&client);
    };
    for s in [&client, &upstream] {
        if s.set_read_timeout(Some(POLL)).is_err() || s.set_write_timeout(Some(POLL)).is_err() {
            return reset(&client);
        }
    }
    let done = AtomicBool::new(false);
    let asked = AtomicBool::new(false);
    let ctl = Ctl {
        shared,
        done: &done,
        asked: &asked,
    };
    let (request_end, response_end) = std::thread::scope(|scope| {
        let request = std::thread::Builder::new()
            .name("fault-proxy-request".into())
            .spawn_scoped(scope, || {
                pump(&client, &upstream, Dir::Request, fault, &ctl)
            });
        let Ok(request) = request else {
            return (End::Failed, End::Stopped);
        };
        let response_end = pump(&upstream, &client, Dir::Response, fault, &ctl);
        let request_end = request.join().unwrap_or(End::Failed);
        (request_end, response_end)
    });
    let ends = [request_end, response_end];
    if ends.contains(&End::Failed) {
        reset(&upstream);
        reset(&client);
    } else if ends.contains(&End::ResetClient) {
        reset(&client);
    } else if ends.contains(&End::Truncated) {
        drop(upstream);
        drain(&client, shared);
    }
    // Otherwise both streams are dropped here, which closes them cleanly.
}

/// The stop conditions a forwarding loop polls.
struct Ctl<'a> {
    shared: &'a Shared,
    /// Set by a direction that ends the whole connection.
    done: &'a AtomicBool,
    /// Set when the client sent bytes the upstream has not started answering yet.
    asked: &'a AtomicBool,
}

impl Ctl<'_> {
    fn stopped(&self) -> bool {
        self.shared.stopping() || self.done.load(Ordering::Relaxed)
    }

    fn end(&self, end: End) -> End {
        if end != End::Eof {
            self.done.store(true, Ordering::Relaxed);
        }
        end
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Client to upstream.
    Request,
    /// Upstream to client.
    Response,
}

/// Copies `from` to `to` under `fault` until `from` ends, a socket fails, the fault ends
/// the connection, or the proxy stops.
fn pump(from: &TcpStream, to: &TcpStream, dir: Dir, fault: Fault, ctl: &Ctl<'_>) -> End {
    let mut buf = [0u8; 16 * 1024];
    let mut forwarded = 0usize;
    loop {
        if ctl.stopped() {
            return End::Stopped;
        }
        let n = match (&*from).read(&mut buf) {
            Ok(n) => n,
            Err(e) if waits(&e) => continue,
            Err(_) => return ctl.end(End::Failed),
        };
        if dir == Dir::Response && fault == Fault::ResetAfterRequest {
            // The upstream answered (or closed): it has processed the request.
            return ctl.end(End::ResetClient);
        }
        if n == 0 {
            // Pass the half-close on; the other direction may still be talking.
            let _ = to.shutdown(Shutdown::Write);
            return ctl.end(End::Eof);
        }
        let mut hold = match fault {
            Fault::Delay(delay) if forwarded == 0 => delay,
            _ => Duration::ZERO,
        };
        if dir == Dir::Response && ctl.asked.swap(false, Ordering::SeqCst) {
            hold += Duration::from_millis(ctl.shared.latency_ms.load(Ordering::Relaxed));
        }
        if !hold.is_zero() && !sleep_unless_stopped(hold, ctl) {
            return End::Stopped;
        }
        let mut chunk = &buf[..n];
        let mut cut = false;
        if dir == Dir::Response
            && let Fault::TruncateResponse { after_bytes } = fault
        {
            let room = after_bytes.saturating_sub(forwarded);
            if chunk.len() >= room {
                chunk = &chunk[..room];
                cut = true;
            }
        }
        if dir == Dir::Request {
            // Before the bytes go: the upstream may answer before this thread runs again.
            ctl.asked.store(true, Ordering::SeqCst);
        }
        if let Err(e) = write_all(to, chunk, ctl) {
            return if waits(&e) {
                End::Stopped
            } else {
                ctl.end(End::Failed)
            };
        }
        forwarded += chunk.len();
        if cut {
            let _ = to.shutdown(Shutdown::Write);
            return ctl.end(End::Truncated);
        }
    }
}

/// `write_all` on a socket with a short write timeout, giving up only when the proxy
/// stops (a timeout error) or the socket fails.
fn write_all(to: &TcpStream, mut bytes: &[u8], ctl: &Ctl<'_>) -> io::Result<()> {
    while !bytes.is_empty() {
        if ctl.stopped() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match (&*to).write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if waits(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// True for the errors a socket timeout or a signal gives: nothing happened yet.
fn waits(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Sleeps `delay` in POLL slices; false if the connection was stopped meanwhile.
fn sleep_unless_stopped(delay: Duration, ctl: &Ctl<'_>) -> bool {
    let until = Instant::now() + delay;
    loop {
        if ctl.stopped() {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(POLL));
    }
}

/// Closes `stream` with a TCP reset (RST) rather than a clean end of stream: `SO_LINGER`
/// zero, then close. Only a reset if this is the stream's last handle.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Reads and drops what the client sends, never answering, until the client closes, the
/// proxy is `set` again or stopped, or BLACKHOLE_LIMIT passes; then ends the stream cleanly.
fn blackhole(client: &TcpStream, epoch: u64, shared: &Shared) {
    let _ = client.set_read_timeout(Some(POLL));
    let until = Instant::now() + BLACKHOLE_LIMIT;
    let mut buf = [0u8; 16 * 1024];
    while !shared.stopping()
        && shared.epoch.load(Ordering::Relaxed) == epoch
        && Instant::now() < until
    {
        match (&*client).read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if waits(&e) => {}
            Err(_) => break,
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// After a truncated answer (our side already shut for writing): reads and drops what the
/// client still sends until it closes, so closing our side does not reset the connection
/// and destroy the bytes the client has not read. Bounded by DRAIN_LIMIT and the stop flag.
fn drain(client: &TcpStream, shared: &Shared) {
    let until = Instant::now() + DRAIN_LIMIT;
    let mut buf = [0u8; 16 * 1024];
    while !shared.stopping() && Instant::now() < until {
        match (&*client).read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if waits(&e) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests;
