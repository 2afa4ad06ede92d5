//! The real Tauri app, driven like a user through tauri-driver and WebKitWebDriver: sign
//! in, open the sales module and download its data over a slow link (the server sends
//! small pages, the proxy holds back each answer) watching its progress, edit a record while the server is
//! down and see the edit reach the server by itself once it is back; then a conflict
//! (the same field changed on another device while this one was offline) announced on
//! the desktop (a `Notify` call on the session bus) and resolved from the sync error
//! screen.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use outpost_testkit::proxy::{Fault, FaultProxy};
use outpost_testkit::{DEMO_PASSWORD, ServerProcess, app_binary, free_port};
use outpost_tests::{Device, fiona_accounts, first_account, set};

use crate::notification::NotifyMonitor;

/// tauri-driver and the WebKitWebDriver it starts, in their own process group so that
/// dropping this stops both (killing only tauri-driver would orphan WebKitWebDriver).
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// tauri-driver for an app on `data_dir` that offers `server_url` at sign-in, with
    /// more environment variables in `env`.
    pub(crate) fn start(
        data_dir: &std::path::Path,
        server_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let native = free_port()?;
        let exe = std::env::var_os("TAURI_DRIVER")
            .map_or_else(|| PathBuf::from("tauri-driver"), PathBuf::from);
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("OUTPOST_DATA_DIR", data_dir)
        .env("OUTPOST_SERVER_URL", server_url)
        // One app per test: the single-instance lock would hand a second start to the first.
        .env(outpost_app::MULTI_INSTANCE_VAR, "1")
        .env("NO_AT_BRIDGE", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().with_context(|| {
            format!("starting {} (cargo xtask test installs it)", exe.display())
        })?;
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("tauri-driver did not listen on {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(driver)
    }

    /// A WebDriver session on the app (tauri-driver starts the app for it).
    pub(crate) async fn session(&self) -> anyhow::Result<Client> {
        let app = app_binary()?;
        let caps = serde_json::json!({ "tauri:options": { "application": app } });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a json object literal")
        };
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("opening a WebDriver session on the app")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn css(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits (bounded) until the element's text satisfies `ok`.
pub(crate) async fn wait_text(
    c: &Client,
    id: &str,
    ok: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(&css(id))).await {
            last = el.text().await.unwrap_or_default();
            if ok(&last) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("`{id}` never showed the expected text; last seen: {last:?}")
}

pub(crate) async fn fill(c: &Client, id: &str, text: &str) -> anyhow::Result<()> {
    let el = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css(id)))
        .await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

pub(crate) async fn click(c: &Client, id: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css(id)))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn fill_field(c: &Client, field: &str, text: &str) -> anyhow::Result<()> {
    let el = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&format!(
            "{} input",
            css(&format!("field-{field}"))
        )))
        .await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

/// Signs in as the demo field user (the server address is pre-filled from
/// `OUTPOST_SERVER_URL`) and opens the sales module, which asks to download its data.
pub(crate) async fn sign_in_and_open_sales(c: &Client) -> anyhow::Result<()> {
    fill(c, "signin-user", "fiona").await?;
    fill(c, "signin-password", DEMO_PASSWORD).await?;
    click(c, "signin-submit").await?;
    click(c, "module-field-sales").await?;
    shown(c, "download-prompt").await
}

/// Waits (bounded) until no element with `id` is left.
pub(crate) async fn gone(c: &Client, id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.find(Locator::Css(&css(id))).await.is_ok() {
        if Instant::now() > deadline {
            bail!("`{id}` was still shown after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Goes to a screen of the app by its address (`#/record/account/<id>`).
async fn go(c: &Client, hash: &str) -> anyhow::Result<()> {
    c.execute(&format!("location.hash = {hash:?}"), Vec::new())
        .await?;
    Ok(())
}

/// Waits (bounded) until an element with `id` exists.
pub(crate) async fn shown(c: &Client, id: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css(id)))
        .await?;
    Ok(())
}

/// Records done and in all from a progress text (`40 records of 301 — 5 s left`).
fn progress_counts(text: &str) -> Option<(u64, u64)> {
    let number = |s: &str| s.split_whitespace().next()?.replace(',', "").parse().ok();
    let (done, rest) = text.split_once(" of ")?;
    Some((number(done)?, number(rest)?))
}

async fn server_field(url: &str, id: &str, field: &str) -> anyhow::Result<Option<String>> {
    let check = Device::signed_in(url).await?;
    Ok(check
        .account(id)
        .await?
        .fields
        .get(field)
        .cloned()
        .flatten())
}

#[tokio::test]
async fn the_real_app_works_offline_replays_on_reconnect_and_resolves_a_conflict()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    // Pages of 5 records: the download takes many round trips, so its progress shows.
    let mut server = ServerProcess::start_with(&["--max-pull-page", "5"])?;
    // The app reaches the server through a proxy the test can switch off (the device is
    // offline while the server goes on serving another device).
    let proxy = FaultProxy::start(server.addr())?;
    let data = tempfile::tempdir()?;
    let mut notifications = NotifyMonitor::start()?;
    let driver = Driver::start(data.path(), &proxy.url(), &[])?;
    let c = driver.session().await?;
    let result = scenario(&c, &mut server, &proxy, &mut notifications).await;
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&shot)?;
    if let Ok(png) = c.screenshot().await {
        std::fs::write(shot.join("app-conflict.png"), png)?;
    }
    c.close().await?;
    drop(driver);
    result
}

async fn scenario(
    c: &Client,
    server: &mut ServerProcess,
    proxy: &FaultProxy,
    notifications: &mut NotifyMonitor,
) -> anyhow::Result<()> {
    sign_in_and_open_sales(c).await?;
    proxy.set_latency(Duration::from_millis(300));
    click(c, "download-start").await?;
    // Progress in records and time left, e.g. "40 records of 301 — 5 s left".
    let progress = wait_text(c, "download-progress", |t| {
        progress_counts(t).is_some_and(|(done, total)| done > 0 && done < total)
    })
    .await?;
    proxy.set_latency(Duration::ZERO);
    wait_text(c, "status-last-sync", |t| !t.contains("Never")).await?;
    let (_, total) = progress_counts(&progress).context("counts in the progress")?;
    assert!(
        total > 5 && progress.contains(" left"),
        "the download spans several pages of 5 and says the time left ({progress:?})"
    );
    wait_text(c, "grid-total", |t| {
        t.split_whitespace()
            .next()
            .and_then(|n| n.replace(',', "").parse::<usize>().ok())
            .is_some_and(|n| n >= 1)
    })
    .await?;

    // The server goes away; an edit in the form still works and waits.
    let (first, first_name) = first_account();
    let offline_name = format!("{first_name} Offline");
    go(c, &format!("#/record/account/{first}")).await?;
    shown(c, "record-form").await?;
    server.stop();
    fill_field(c, "name", &offline_name).await?;
    click(c, "record-save").await?;
    shown(c, "pending-badge").await?;
    wait_text(c, "status-pending", |t| t.contains("1 change")).await?;

    // The server comes back: background sync replays the edit without a click.
    server.restart()?;
    wait_text(c, "status-pending", |t| t.to_lowercase().contains("no ")).await?;
    assert_eq!(
        server_field(&server.url(), &first, "name")
            .await?
            .as_deref(),
        Some(offline_name.as_str()),
        "the edit made offline in the app reached the server"
    );

    // Offline again (the proxy refuses), the same field changes on both sides: a
    // conflict, announced on the desktop, kept mine from the sync error screen.
    let other = Device::signed_in(&server.url()).await?;
    let fiona_ids: Vec<String> = fiona_accounts().into_iter().map(|(id, _)| id).collect();
    let second = other
        .records("account")
        .await?
        .into_iter()
        .find(|r| {
            r.id != first
                && fiona_ids.contains(&r.id)
                && r.fields.get("statecode").cloned().flatten().as_deref() == Some("0")
        })
        .map(|r| r.id)
        .context("fiona has a second active account")?;
    go(c, &format!("#/record/account/{second}")).await?;
    shown(c, "record-form").await?;
    proxy.set(Fault::Refuse);
    other
        .client
        .record_update(set("account", &second, "telephone1", "555-0101"))
        .await?;
    other.client.sync_now().await?;
    fill_field(c, "telephone1", "555-0202").await?;
    click(c, "record-save").await?;
    shown(c, "pending-badge").await?;
    proxy.set(Fault::Pass);
    click(c, "sync-now").await?;
    notifications
        .wait_for(&["Sync needs your attention", "conflict"])
        .context("the conflict was announced on the desktop")?;
    click(c, "status-errors").await?;
    click(c, "error-row").await?;
    wait_text(c, "conflict-server-telephone1", |t| t.contains("555-0101")).await?;
    wait_text(c, "conflict-mine-telephone1", |t| t.contains("555-0202")).await?;
    click(c, "error-keep-mine").await?;
    click(c, "sync-now").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = server_field(&server.url(), &second, "telephone1").await?;
        if value.as_deref() == Some("555-0202") {
            break;
        }
        if Instant::now() > deadline {
            bail!("keep mine never reached the server (it holds {value:?})");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}
