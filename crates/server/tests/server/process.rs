//! The server as a real process: what only a process shows (its memory, its sockets).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use outpost_testkit::ServerProcess;

/// The process's resident memory, in KiB (`VmRSS` in `/proc/<pid>/status`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// One wrong-password sign-in over a fresh connection; the status code of the answer.
fn login(server: &ServerProcess, username: &str) -> u16 {
    login_as(server, username, "guess", "")
}

/// One sign-in over a fresh connection with more header lines (`extra`, each ending in
/// `\r\n`); the status code of the answer.
fn login_as(server: &ServerProcess, username: &str, password: &str, extra: &str) -> u16 {
    sign_in(server, Ipv4Addr::LOCALHOST, username, password, extra).0
}

/// One sign-in over a fresh connection from the loopback address `from`, with more header
/// lines (`extra`); the answer's status and error code (empty when none).
fn sign_in(
    server: &ServerProcess,
    from: Ipv4Addr,
    username: &str,
    password: &str,
    extra: &str,
) -> (u16, String) {
    let body = format!(r#"{{"username":"{username}","password":"{password}","device_id":"d1"}}"#);
    let mut stream =
        outpost_testkit::connect_from(from, server.addr()).expect("the server accepts");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {answer}"));
    let code = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
        .and_then(|body| body["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, code)
}

/// Sign-ins for unknown user names, all at once, cannot make the server hold memory
/// without bound: password checks run a few at a time over reused memory. Each comes from
/// a loopback address of its own, so no per-address limit turns any away: every one of
/// them reaches a password check.
#[test]
fn concurrent_sign_ins_for_unknown_names_keep_the_servers_memory_bounded() {
    const LIMIT_KIB: u64 = 150 * 1024;
    const SIGN_INS: u8 = 32;
    let server = ServerProcess::start_with(&["--password-checks", "2"]).expect("the server starts");
    let pid = server.pid().expect("a running server");
    assert_eq!(login(&server, "warm-up"), 401, "a first sign-in is refused");
    let before = rss_kib(pid);
    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let tries: Vec<_> = (0..SIGN_INS)
            .map(|i| {
                let server = &server;
                let from = Ipv4Addr::new(127, 0, 1, 1 + i);
                scope.spawn(move || sign_in(server, from, &format!("nobody-{i}"), "guess", ""))
            })
            .collect();
        tries
            .into_iter()
            .map(|t| t.join().expect("a sign-in thread"))
            .collect()
    });
    let after = rss_kib(pid);
    assert!(
        answers
            .iter()
            .all(|(status, code)| (*status, code.as_str()) == (401, "bad_credentials")),
        "every sign-in reached a password check and was refused as a wrong password (none \
         rate-limited or busy): {answers:?}"
    );
    assert!(
        after.saturating_sub(before) < LIMIT_KIB,
        "{SIGN_INS} concurrent sign-ins grew the server from {before} KiB to {after} KiB (at most {LIMIT_KIB} KiB more)"
    );
}

/// Half-sent requests (headers never finished: a slow-loris) are closed by the server
/// instead of held open for ever, and whole requests are still served.
#[test]
fn connections_that_never_finish_their_headers_are_closed() {
    /// A generous bound on how long the server may take: far above its timeout.
    const WAIT: Duration = Duration::from_secs(30);
    let server =
        ServerProcess::start_with(&["--header-read-timeout", "1"]).expect("the server starts");
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr()).expect("the server accepts");
            stream
                .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .expect("half a request is sent");
            stream
        })
        .collect();
    let started = std::time::Instant::now();
    for (i, stream) in stalled.iter_mut().enumerate() {
        let left = WAIT
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        if let Err(e) = closed_within(stream, left) {
            panic!("half-sent request {i} was still open after {WAIT:?}: {e}");
        }
    }
    assert_health_served(&server);
}

/// What the server sent before it closed `stream`, waiting at most `wait`; an error when
/// it was still open then. A reset counts as closed.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(wait))?;
    let mut sent = Vec::new();
    match stream.read_to_end(&mut sent) {
        Err(e) if e.kind() != std::io::ErrorKind::ConnectionReset => Err(e),
        _ => Ok(sent),
    }
}

/// A whole `GET /health` on a new connection is answered 200.
#[track_caller]
fn assert_health_served(server: &ServerProcess) {
    let mut whole = TcpStream::connect(server.addr()).expect("the server accepts");
    whole
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("a whole request is sent");
    let mut answer = String::new();
    whole.read_to_string(&mut answer).expect("an answer");
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "a whole request is served: {answer}"
    );
}

/// A request whose headers arrive whole but whose body trickles in a byte at a time (a
/// slow-loris on the body) is cut instead of holding its connection for ever; whole
/// requests are still served.
#[test]
fn a_body_trickled_a_byte_at_a_time_is_cut() {
    /// A generous bound on how long the server may take: far above its timeout.
    const WAIT: Duration = Duration::from_secs(30);
    let server =
        ServerProcess::start_with(&["--body-read-timeout", "1"]).expect("the server starts");
    let mut stream = TcpStream::connect(server.addr()).expect("the server accepts");
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{",
        )
        .expect("the headers are sent");
    let mut trickle = stream.try_clone().expect("a second handle");
    let trickler = std::thread::spawn(move || {
        // A byte every 100 ms for at most WAIT (the write fails once the server closes).
        for _ in 0..WAIT.as_millis() / 100 {
            if trickle.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let answer = closed_within(&mut stream, WAIT)
        .unwrap_or_else(|e| panic!("the trickled request was still open after {WAIT:?}: {e}"));
    let _ = stream.shutdown(std::net::Shutdown::Both);
    trickler.join().expect("the trickling thread");
    assert!(
        answer.is_empty(),
        "a body that never arrives is not answered (as a cut connection, the device retries \
         it): {}",
        String::from_utf8_lossy(&answer)
    );
    assert_health_served(&server);
}

/// A body that arrives slowly but steadily (faster than `BODY_MIN_RATE`: a slow link, not
/// a trickle) is read to the end even when that takes longer than `--body-read-timeout`.
#[test]
fn a_slow_but_steady_body_is_read_past_the_timeout() {
    let server =
        ServerProcess::start_with(&["--body-read-timeout", "1"]).expect("the server starts");
    let body = format!(
        r#"{{"username":"nobody","password":"guess","device_id":"d1"}}{}"#,
        " ".repeat(24 * 1024)
    );
    let mut stream = TcpStream::connect(server.addr()).expect("the server accepts");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("the headers are sent");
    // 2 KiB every 250 ms: 8 KiB/s, for about 3 s in all.
    for chunk in body.as_bytes().chunks(2048) {
        stream.write_all(chunk).expect("the server reads on");
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the whole body was read and the sign-in checked: {answer}"
    );
}

/// Past `--max-connections` the server stops accepting: a further connection waits (its
/// request unanswered) until an open one closes, and is then served.
#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    /// How long the waiting request is watched for an answer that must not come.
    const WATCH: Duration = Duration::from_secs(1);
    /// A generous bound on how long the server may take once a connection closes.
    const WAIT: Duration = Duration::from_secs(30);
    let server =
        ServerProcess::start_with(&["--max-connections", "2", "--header-read-timeout", "3600"])
            .expect("the server starts");
    let mut open: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(server.addr()).expect("the server accepts"))
        .collect();
    let mut third = TcpStream::connect(server.addr()).expect("the kernel queues it");
    third
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("a whole request is sent");
    third.set_read_timeout(Some(WATCH)).expect("a read timeout");
    let mut first = [0u8; 1];
    let early = third.read(&mut first);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "with two connections open and a cap of two, a third is not served: {early:?}"
    );
    drop(open.pop());
    let answer = closed_within(&mut third, WAIT).expect("the third is served and closed");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "once a connection closed, the waiting one is served: {}",
        String::from_utf8_lossy(&answer)
    );
}

/// Behind reverse proxies the server is told to trust (`--trusted-proxy`, here a
/// comma-separated list), sign-in limits count the client each request was forwarded for:
/// a guessing client waits, another client behind the same proxy signs in.
#[test]
fn behind_a_trusted_proxy_only_the_guessing_client_waits() {
    let server = ServerProcess::start_with(&["--trusted-proxy", "192.0.2.0/24,127.0.0.1"])
        .expect("the server starts");
    let attacker = "X-Forwarded-For: 203.0.113.7\r\n";
    for i in 0..outpost_server::auth::MAX_FAILURES {
        assert_eq!(
            login_as(&server, "admin", "guess", attacker),
            401,
            "guess {i} is checked"
        );
    }
    // Guess on until the back-off answers (on a slow machine a one-second window may pass
    // between two guesses; each further failure doubles it), then the right password comes
    // at once, inside the window.
    let held_back = (0..12).any(|_| login_as(&server, "admin", "guess", attacker) == 429);
    assert!(held_back, "the guessing client is held back");
    assert_eq!(
        login_as(&server, "admin", outpost_testkit::DEMO_PASSWORD, attacker),
        429,
        "the guessing client waits, even with the right password"
    );
    let office = "X-Forwarded-For: 198.51.100.20\r\n";
    assert_eq!(
        login_as(&server, "admin", outpost_testkit::DEMO_PASSWORD, office),
        200,
        "another client behind the same proxy signs in"
    );
}
