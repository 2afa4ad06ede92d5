//! The real Tauri app, driven like a user through tauri-driver and WebKitWebDriver:
//! sign in, see the grid, edit a name while the server is down, and see the edit reach
//! the server by itself once it is back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use outpost_testkit::{DEMO_PASSWORD, ServerProcess, binary, free_port};
use outpost_tests::{Device, fiona_accounts, first_account};

/// tauri-driver and the WebKitWebDriver it starts, in their own process group so that
/// dropping this stops both (killing only tauri-driver would orphan WebKitWebDriver).
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(data_dir: &std::path::Path, server_url: &str) -> anyhow::Result<Self> {
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
async fn wait_text(c: &Client, id: &str, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
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

async fn fill(c: &Client, id: &str, text: &str) -> anyhow::Result<()> {
    let el = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css(id)))
        .await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

async fn click(c: &Client, id: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css(id)))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test]
async fn the_real_app_signs_in_edits_offline_and_replays_on_reconnect() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let mut server = ServerProcess::start()?;
    let data = tempfile::tempdir()?;
    let app = binary("outpost-app")?;
    let driver = Driver::start(data.path(), &server.url())?;
    let caps = serde_json::json!({ "tauri:options": { "application": app } });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("a json object literal")
    };
    let c = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .context("opening a WebDriver session on the app")?;
    let result = scenario(&c, &mut server).await;
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&shot)?;
    if let Ok(png) = c.screenshot().await {
        std::fs::write(shot.join("app-grid.png"), png)?;
    }
    c.close().await?;
    drop(driver);
    result
}

async fn scenario(c: &Client, server: &mut ServerProcess) -> anyhow::Result<()> {
    // Sign in (the server address is pre-filled from OUTPOST_SERVER_URL).
    fill(c, "signin-user", "fiona").await?;
    fill(c, "signin-password", DEMO_PASSWORD).await?;
    click(c, "signin-submit").await?;
    let (first, first_name) = first_account();
    let offline_name = format!("{first_name} Offline");
    let name_cell = format!("cell-name-{first}");
    wait_text(c, &name_cell, |t| t == first_name).await?;
    let rows = c
        .find_all(Locator::Css("[data-testid=\"accounts-grid\"] tbody tr"))
        .await?;
    assert!(
        rows.len() >= fiona_accounts().len(),
        "the grid shows every account of fiona's ({} rows)",
        rows.len()
    );

    // The server goes away; the edit still works and waits.
    server.stop();
    click(c, &format!("edit-{first}")).await?;
    fill(c, "edit-name", &offline_name).await?;
    click(c, "edit-save").await?;
    wait_text(c, &name_cell, |t| t == offline_name).await?;
    wait_text(c, &format!("pending-{first}"), |t| !t.is_empty()).await?;

    // The server comes back: background sync replays the edit without a click.
    server.restart()?;
    wait_text(c, "status-pending", |t| {
        t.contains('0') || t.to_lowercase().contains("no ")
    })
    .await?;
    let check = Device::in_memory()?;
    check.sign_in(&server.url()).await?;
    let on_server = check.account(&first).await?;
    assert_eq!(
        on_server.fields["name"].as_deref(),
        Some(offline_name.as_str()),
        "the edit made offline in the app reached the server"
    );
    Ok(())
}
