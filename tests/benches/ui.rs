//! `cargo xtask bench ui`: the field app's grid in the system Chromium, over a device
//! holding 200,000 records (`OUTPOST_BENCH_SIZES` to change it). The device is a real
//! client (outpost-core, release build, this process) synced from a real server in a child
//! process; the UI is the production build (`OUTPOST_BENCH_UI`, built by xtask) served by
//! the browser bridge, and Playwright drives Chromium through `ui/bench/grid.bench.ts`:
//! open the contacts view with the most rows, scroll it steadily, then jump to its middle
//! and its end. Not a test: it prints a Markdown table between `BEGIN-MARKDOWN` and
//! `END-MARKDOWN`, which xtask writes into `docs/BENCHMARKS.md`.

#![allow(missing_docs, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use outpost_core::api::{RecordListArgs, SignInArgs};
use outpost_core::{Client, ClientConfig};
use outpost_store::MemoryKeyStore;
use serde_json::Value;

#[path = "org.rs"]
mod org;

/// The module and entity the grid is measured on (contacts: the most records).
const MODULE: &str = "field-sales";
const ENTITY: &str = "contact";

fn ms(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "n/a".to_owned(), |ms| format!("{ms:.1} ms"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let records = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000);
        return org::serve(records).await;
    }
    let records: u64 = std::env::var("OUTPOST_BENCH_SIZES")
        .ok()
        .and_then(|s| s.split(',').next().and_then(|n| n.trim().parse().ok()))
        .unwrap_or(200_000);
    let ui_dir = PathBuf::from(
        std::env::var_os("OUTPOST_BENCH_UI")
            .context("OUTPOST_BENCH_UI (the built UI) is not set: run `cargo xtask bench ui`")?,
    );
    let ui_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui");

    eprintln!("the device syncs {records} records…");
    let server = org::Server::start(records)?;
    let dir = tempfile::tempdir()?;
    let client = Arc::new(Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })?);
    let started = Instant::now();
    client
        .session_sign_in(SignInArgs {
            server_url: server.url.clone(),
            username: "admin".into(),
            password: org::PASSWORD.into(),
            download: None,
            allow_http: None,
        })
        .await?;
    eprintln!("synced in {:.1} s", started.elapsed().as_secs_f64());
    let held = client
        .metadata_get()
        .await?
        .entities
        .iter()
        .map(|e| e.name.clone())
        .collect::<Vec<_>>();
    let mut on_device = 0;
    for entity in held {
        on_device += client.record_list(RecordListArgs { entity }).await?.len();
    }
    let (view_id, view_name, rows) = org::largest_view(&client, ENTITY)
        .await?
        .context("contacts have no view")?;

    let (tx, rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bridge = tokio::spawn({
        let client = Arc::clone(&client);
        async move {
            outpost_core::bridge::serve(
                client,
                &ui_dir,
                ([127, 0, 0, 1], 0).into(),
                move |addr, key| {
                    let _ = tx.send((addr, key.as_str().to_owned()));
                },
                async move {
                    let _ = stop_rx.await;
                },
            )
            .await
        }
    });
    let (addr, key) = rx.await.context("the bridge did not start")?;
    let out = dir.path().join("grid-bench.json");
    eprintln!("Chromium scrolls {view_name} ({rows} rows)…");
    let status = tokio::process::Command::new("npx")
        .args([
            "playwright",
            "test",
            "--config",
            "playwright.bench.config.ts",
        ])
        .current_dir(&ui_root)
        .env("OUTPOST_BRIDGE_URL", format!("http://{addr}"))
        .env("OUTPOST_BRIDGE_KEY", key)
        .env("OUTPOST_BENCH_MODULE", MODULE)
        .env("OUTPOST_BENCH_ENTITY", ENTITY)
        .env("OUTPOST_BENCH_VIEW", &view_id)
        .env("OUTPOST_BENCH_ROWS", rows.to_string())
        .env("OUTPOST_BENCH_OUT", &out)
        .status()
        .await?;
    let _ = stop_tx.send(());
    bridge.await??;
    anyhow::ensure!(status.success(), "the browser benchmark failed");
    let f: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;

    println!("BEGIN-MARKDOWN");
    println!(
        "| records on the device | view (rows) | open the view | scroll: median frame | p95 frame | longest frame | frames over 50 ms | frames showing rows still loading | jump to the middle | jump to the end |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {on_device} | {ENTITY}: {view_name} ({rows}) | {} | {} | {} | {} | {} of {} | {} of {} | {} | {} |",
        ms(&f["open_ms"]),
        ms(&f["frame_median_ms"]),
        ms(&f["frame_p95_ms"]),
        ms(&f["frame_max_ms"]),
        f["frames_over_50ms"],
        f["frames"],
        f["frames_loading"],
        f["frames"],
        ms(&f["jump_middle_ms"]),
        ms(&f["jump_end_ms"]),
    );
    println!();
    println!(
        "- Headless system Chromium (software rendering) at 1024×768 on the production UI build, through the browser bridge over a release outpost-core holding the records in its encrypted store. *Open the view*: from choosing it in the view switcher to its first rows on screen (the first page carries the total count). *Scroll*: {} animation frames, each moving the grid {} px (about {} rows a second at 60 frames a second); frame times are the gaps between animation frames. *Rows still loading*: frames where a row in sight shows \"Loading…\". *Jumps*: from setting the scroll position to every row in sight loaded (pages are keyset pages read in order, up to 1000 rows each).",
        f["frames"], f["step_px"], f["rows_per_second"]
    );
    println!("END-MARKDOWN");
    Ok(())
}
