//! Streams the demo org's records and reports how many, how fast, and the process's peak
//! memory — to show that generating N records takes memory flat in N.
//!
//! `cargo run --release -p outpost-domain --example demo_stream -- 1000000`

use std::time::Instant;

use outpost_domain::demo::{self, DemoData, demo_org};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let as_of = time::macros::datetime!(2026-11-28 12:00 UTC);
    let data = DemoData::new(&demo::metadata(), &demo_org(42), 42, total, as_of);
    let started = Instant::now();
    let (mut records, mut bytes) = (0u64, 0usize);
    for record in data.records() {
        records += 1;
        bytes += record
            .fields
            .values()
            .flatten()
            .map(String::len)
            .sum::<usize>();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{records} records ({:.0} MiB of field text) in {secs:.1} s ({:.0} records/s); peak RSS {} KiB",
        bytes as f64 / 1_048_576.0,
        records as f64 / secs,
        peak_rss_kib().map_or_else(|| "unknown".to_owned(), |k| k.to_string())
    );
}
