//! The server as a real process: what only a process shows (its memory, its sockets).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

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
    let body = format!(r#"{{"username":"{username}","password":"{password}","device_id":"d1"}}"#);
    let mut stream = TcpStream::connect(server.addr()).expect("the server accepts");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {answer}"))
}

/// Sign-ins for unknown user names, all at once, cannot make the server hold memory
/// without bound: password checks run a few at a time over reused memory.
#[test]
fn concurrent_sign_ins_for_unknown_names_keep_the_servers_memory_bounded() {
    const LIMIT_KIB: u64 = 150 * 1024;
    let server = ServerProcess::start_with(&["--password-checks", "2"]).expect("the server starts");
    let pid = server.pid().expect("a running server");
    assert_eq!(login(&server, "warm-up"), 401, "a first sign-in is refused");
    let before = rss_kib(pid);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let tries: Vec<_> = (0..32)
            .map(|i| {
                let server = &server;
                scope.spawn(move || login(server, &format!("nobody-{i}")))
            })
            .collect();
        tries
            .into_iter()
            .map(|t| t.join().expect("a sign-in thread"))
            .collect()
    });
    let after = rss_kib(pid);
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "every sign-in is refused as it should be (wrong, too many, busy): {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 401).count() >= 16,
        "most were checked: {statuses:?}"
    );
    assert!(
        after.saturating_sub(before) < LIMIT_KIB,
        "32 concurrent sign-ins grew the server from {before} KiB to {after} KiB (at most {LIMIT_KIB} KiB more)"
    );
}

/// Half-sent requests (headers never finished: a slow-loris) are closed by the server
/// instead of held open for ever, and whole requests are still served.
#[test]
fn connections_that_never_finish_their_headers_are_closed() {
    /// A generous bound on how long the server may take: far above its timeout.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
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
            .max(std::time::Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).expect("a read timeout");
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("half-sent request {i} was still open after {WAIT:?}: {e}"),
        }
    }
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
