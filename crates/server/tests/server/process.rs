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

/// One sign-in over a fresh connection; the status code of the answer.
fn login(server: &ServerProcess, username: &str) -> u16 {
    let body = format!(r#"{{"username":"{username}","password":"guess","device_id":"d1"}}"#);
    let mut stream = TcpStream::connect(server.addr()).expect("the server accepts");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
