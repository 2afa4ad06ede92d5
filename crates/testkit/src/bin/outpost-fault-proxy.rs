//! `outpost-fault-proxy --upstream 127.0.0.1:PORT`: the fault proxy as a process, for the
//! browser specs (the bridge talks to the org server through it). It prints
//! `outpost-fault-proxy listening on http://… control http://…`, then serves until
//! killed. `POST /pass`, `/refuse`, `/blackhole` or `/reset-after-request` on the control
//! address switch the fault, `/latency?ms=N` holds back every answer N ms (a slow link; 0
//! ends it); anything else answers 404.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};

use anyhow::Context as _;
use outpost_testkit::proxy::{Fault, FaultProxy};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let upstream: SocketAddr = args
        .iter()
        .position(|a| a == "--upstream")
        .and_then(|i| args.get(i + 1))
        .context("usage: outpost-fault-proxy --upstream 127.0.0.1:PORT")?
        .parse()
        .context("--upstream must be host:port")?;
    let proxy = FaultProxy::start(upstream)?;
    let control = TcpListener::bind("127.0.0.1:0")?;
    println!(
        "{}{} control http://{}",
        outpost_testkit::PROXY_LISTENING,
        proxy.url(),
        control.local_addr()?
    );
    std::io::stdout().flush()?;
    for stream in control.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut line = String::new();
        let mut reader = BufReader::new(&stream);
        if reader.read_line(&mut line).is_err() {
            continue;
        }
        // Drain the headers (bodies are not used).
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
            header.clear();
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default();
        let fault = match path {
            "/pass" => Some(Fault::Pass),
            "/refuse" => Some(Fault::Refuse),
            "/blackhole" => Some(Fault::Blackhole),
            "/reset-after-request" => Some(Fault::ResetAfterRequest),
            _ => None,
        };
        let latency = path
            .strip_prefix("/latency?ms=")
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis);
        let status = match (fault, latency) {
            (Some(fault), _) => {
                proxy.set(fault);
                "200 OK"
            }
            (None, Some(latency)) => {
                proxy.set_latency(latency);
                "200 OK"
            }
            (None, None) => "404 Not Found",
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }
    Ok(())
}
