//! Each fault, seen from both ends: what a raw TCP client gets back, and what a small
//! HTTP-ish upstream (a real listener on loopback) received.

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;

const REQUEST: &[u8] = b"GET /records?page=1 HTTP/1.1\r\nHost: outpost.test\r\n\r\n";

/// A fixed 1024-byte HTTP answer.
fn response() -> Vec<u8> {
    let head_len = "HTTP/1.1 200 OK\r\nContent-Length: 0000\r\nConnection: close\r\n\r\n".len();
    let body: Vec<u8> = (0..1024 - head_len)
        .map(|i| b'a' + u8::try_from(i % 26).expect("below 26"))
        .collect();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {:04}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    assert_eq!(out.len(), 1024, "the fixed answer is 1 KB");
    out
}

/// A real listener that reads one request per connection (up to the blank line), records
/// it, answers `response()` and closes. Stopped and joined when dropped.
struct Upstream {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    accepted: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
        listener
            .set_nonblocking(true)
            .expect("non-blocking upstream");
        let addr = listener.local_addr().expect("upstream address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (requests, accepted, stop) = (requests.clone(), accepted.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            *accepted.lock().expect("count lock") += 1;
                            answer(stream, &requests, &stop);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            }
        });
        Self {
            addr,
            requests,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("requests lock").clone()
    }

    fn accepted(&self) -> usize {
        *self.accepted.lock().expect("count lock")
    }
}

/// Serves one connection: reads up to the blank line (bounded by the stop flag and 5 s),
/// records what it read, answers.
fn answer(stream: TcpStream, requests: &Mutex<Vec<Vec<u8>>>, stop: &AtomicBool) {
    stream.set_nonblocking(false).expect("blocking stream");
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .expect("read timeout");
    let until = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\r\n\r\n") && !stop.load(Ordering::Relaxed) && Instant::now() < until {
        match (&stream).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if waits(&e) => {}
            Err(_) => break,
        }
    }
    let complete = got.ends_with(b"\r\n\r\n");
    requests.lock().expect("requests lock").push(got);
    if complete {
        let _ = (&stream).write_all(&response());
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An upstream and a proxy in front of it (bound in this order, the proxy is dropped first).
fn proxied() -> (Upstream, FaultProxy) {
    let upstream = Upstream::start();
    let proxy = FaultProxy::start(upstream.addr).expect("start proxy");
    (upstream, proxy)
}

/// What a client got back: the bytes, and how the stream ended.
#[derive(Debug)]
struct Seen {
    bytes: Vec<u8>,
    end: io::Result<()>,
}

/// Sends REQUEST through `addr` and reads until the stream ends (or 5 s pass).
fn round_trip(addr: SocketAddr) -> Seen {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    // A refused connection may already be reset here; what counts is what reading sees.
    let _ = stream.write_all(REQUEST);
    read_to_end(&mut stream)
}

fn read_to_end(stream: &mut TcpStream) -> Seen {
    let mut bytes = Vec::new();
    let end = stream.read_to_end(&mut bytes).map(|_| ());
    Seen { bytes, end }
}

#[test]
fn pass_forwards_the_request_and_the_answer_unchanged() {
    let (upstream, proxy) = proxied();
    let seen = round_trip(proxy.addr());
    assert!(seen.end.is_ok(), "the answer ends cleanly: {:?}", seen.end);
    assert_eq!(seen.bytes, response(), "the client gets the whole answer");
    assert_eq!(
        upstream.requests(),
        [REQUEST],
        "the upstream gets the request"
    );
    assert_eq!(proxy.connections(), 1, "one connection accepted");
    assert_eq!(
        proxy.counts(),
        FaultCounts {
            pass: 1,
            ..FaultCounts::default()
        },
        "it was passed through"
    );
    assert_eq!(
        proxy.url(),
        format!("http://127.0.0.1:{}", proxy.addr().port()),
        "the URL names the proxy's loopback port"
    );
}

#[test]
fn refuse_closes_before_any_byte_and_the_upstream_sees_nothing() {
    let (upstream, proxy) = proxied();
    proxy.set(Fault::Refuse);
    let seen = round_trip(proxy.addr());
    assert!(seen.bytes.is_empty(), "no answer byte: {:?}", seen.bytes);
    assert_eq!(proxy.counts().refuse, 1, "the connection was refused");
    drop(proxy); // joins every proxy thread: nothing can reach the upstream later
    assert_eq!(upstream.accepted(), 0, "the upstream was never contacted");
}

#[test]
fn delay_holds_back_each_direction_first_bytes() {
    let delay = Duration::from_millis(100);
    let (upstream, proxy) = proxied();
    proxy.set(Fault::Delay(delay));
    let started = Instant::now();
    let seen = round_trip(proxy.addr());
    let took = started.elapsed();
    assert_eq!(seen.bytes, response(), "a delayed answer is still whole");
    assert!(
        took >= 2 * delay,
        "request and answer are each held back {delay:?}, the round trip took {took:?}"
    );
    assert_eq!(
        upstream.requests(),
        [REQUEST],
        "the upstream gets the request"
    );
}

#[test]
fn latency_holds_back_every_answer_on_a_kept_alive_connection() {
    // An upstream that answers each 4-byte question with `ok` and keeps the connection.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let addr = listener.local_addr().expect("upstream address");
    let upstream = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("one connection");
        let mut question = [0u8; 4];
        while stream.read_exact(&mut question).is_ok() {
            stream.write_all(b"ok").expect("answer");
        }
    });
    let delay = Duration::from_millis(100);
    let proxy = FaultProxy::start(addr).expect("start proxy");
    let mut client =
        TcpStream::connect_timeout(&proxy.addr(), Duration::from_secs(2)).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut ask = |turn: &str| {
        let started = Instant::now();
        client.write_all(b"next").expect("ask");
        let mut answer = [0u8; 2];
        client.read_exact(&mut answer).expect("an answer");
        assert_eq!(&answer, b"ok", "the {turn} answer is whole");
        started.elapsed()
    };
    ask("first");
    // The connection was opened before the link slowed: the latency applies to it too.
    proxy.set_latency(delay);
    for turn in ["second", "third", "fourth"] {
        let took = ask(turn);
        assert!(
            took >= delay,
            "the {turn} answer on the same connection is held back {delay:?}; it took {took:?}"
        );
    }
    assert_eq!(proxy.connections(), 1, "one connection carried all four");
    drop(client);
    drop(proxy);
    upstream
        .join()
        .expect("the upstream ends with the connection");
}

#[test]
fn truncate_response_delivers_exactly_n_bytes_then_end_of_stream() {
    let (upstream, proxy) = proxied();
    proxy.set(Fault::TruncateResponse { after_bytes: 100 });
    let seen = round_trip(proxy.addr());
    assert!(
        seen.end.is_ok(),
        "a truncated answer ends cleanly: {:?}",
        seen.end
    );
    assert_eq!(
        seen.bytes,
        response()[..100],
        "the client gets the first 100 bytes"
    );
    assert_eq!(
        upstream.requests(),
        [REQUEST],
        "the request went through whole"
    );
}

#[test]
fn reset_after_request_lets_the_server_apply_it_and_loses_the_answer() {
    let (upstream, proxy) = proxied();
    proxy.set(Fault::ResetAfterRequest);
    let seen = round_trip(proxy.addr());
    assert!(seen.bytes.is_empty(), "no answer byte: {:?}", seen.bytes);
    let err = seen
        .end
        .expect_err("the client sees a reset, not a clean end");
    assert_eq!(
        err.kind(),
        io::ErrorKind::ConnectionReset,
        "the connection is reset: {err}"
    );
    assert_eq!(
        upstream.requests(),
        [REQUEST],
        "the upstream received the whole request"
    );
}

#[test]
fn fail_next_faults_only_the_next_n_connections() {
    let (upstream, proxy) = proxied();
    proxy.fail_next(2, Fault::Refuse);
    for i in 0..2 {
        let seen = round_trip(proxy.addr());
        assert!(seen.bytes.is_empty(), "connection {i} is refused");
    }
    let seen = round_trip(proxy.addr());
    assert_eq!(seen.bytes, response(), "the third connection passes");
    assert_eq!(
        proxy.counts(),
        FaultCounts {
            pass: 1,
            refuse: 2,
            ..FaultCounts::default()
        },
        "two refused, one passed"
    );
    assert_eq!(proxy.connections(), 3, "three connections accepted");
    assert_eq!(upstream.requests(), [REQUEST], "only the third reached it");
}

#[test]
fn blackhole_swallows_the_request_until_told_otherwise() {
    let (upstream, proxy) = proxied();
    proxy.set(Fault::Blackhole);
    let mut stream = TcpStream::connect(proxy.addr()).expect("connect");
    stream
        .write_all(REQUEST)
        .expect("a blackhole accepts writes");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let err = stream
        .read(&mut [0u8; 64])
        .expect_err("no answer comes while the blackhole lasts");
    assert!(waits(&err), "the read times out: {err}");

    proxy.set(Fault::Pass);
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("read timeout");
    let seen = read_to_end(&mut stream);
    assert!(
        seen.end.is_ok() && seen.bytes.is_empty(),
        "the held connection ends cleanly with no answer: {seen:?}"
    );
    assert_eq!(
        round_trip(proxy.addr()).bytes,
        response(),
        "new connections pass again"
    );
    assert_eq!(
        upstream.requests(),
        [REQUEST],
        "only the request sent after the blackhole reached the upstream"
    );
}

#[test]
fn dropping_the_proxy_closes_live_connections_and_stops_listening_promptly() {
    let (_upstream, proxy) = proxied();
    let addr = proxy.addr();
    // One connection mid-request (the upstream waits for the rest), one blackholed.
    let mut forwarding = TcpStream::connect(addr).expect("connect");
    forwarding
        .write_all(b"GET / HTTP/1.1\r\n")
        .expect("half a request");
    while proxy.connections() < 1 {
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.set(Fault::Blackhole);
    let mut silent = TcpStream::connect(addr).expect("connect");
    let waited = Instant::now();
    while proxy.connections() < 2 {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the proxy accepts within 5 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let started = Instant::now();
    drop(proxy);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "drop joined every thread promptly, took {took:?}"
    );
    for (name, stream) in [("forwarding", &mut forwarding), ("blackholed", &mut silent)] {
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("read timeout");
        let seen = read_to_end(stream);
        assert!(
            seen.bytes.is_empty() && !seen.end.as_ref().is_err_and(waits),
            "the {name} connection was closed, not left hanging: {seen:?}"
        );
    }
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "nothing listens on the proxy's port any more"
    );
}

#[test]
fn start_refuses_an_upstream_off_loopback() {
    let err = FaultProxy::start(SocketAddr::from(([192, 0, 2, 1], 80)))
        .err()
        .expect("a non-loopback upstream is refused");
    assert!(
        err.to_string().contains("loopback"),
        "the error says why: {err}"
    );
}

#[test]
fn an_unreachable_upstream_looks_like_a_refused_connection() {
    // A port that was free a moment ago: nothing listens there.
    let dead = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let proxy = FaultProxy::start(dead).expect("start proxy");
    let seen = round_trip(proxy.addr());
    assert!(seen.bytes.is_empty(), "no answer byte: {:?}", seen.bytes);
    assert!(
        seen.end.is_err(),
        "the client sees a reset, not a clean empty answer"
    );
}

#[test]
fn half_close_from_the_client_is_passed_on() {
    // A client that ends its request with a write shutdown still gets the whole answer.
    let (_upstream, proxy) = proxied();
    let mut stream = TcpStream::connect(proxy.addr()).expect("connect");
    stream.write_all(REQUEST).expect("request");
    stream.shutdown(Shutdown::Write).expect("half-close");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let seen = read_to_end(&mut stream);
    assert_eq!(seen.bytes, response(), "the answer still arrives whole");
}
