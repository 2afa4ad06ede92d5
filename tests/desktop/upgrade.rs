//! Version N → N+1 with work pending, end to end (C23, S19). `cargo xtask test` installs
//! this checkout's `.deb` (N), then builds the next version from the same tree — the
//! version's patch number up and one more device database format (`xtask/src/upgrade.rs`)
//! — and runs this test alone, naming that build in `OUTPOST_NEXT_DEB` and
//! `OUTPOST_NEXT_MANIFEST`.
//!
//! N signs in and downloads; then, offline, the user leaves an edit pending, a change in
//! conflict (a sync error), a change parked behind it, a resolution queued for it and a
//! draft. The org requires N+1 and publishes it signed: N is told `update_required`, keeps
//! everything, offers the update, and installs it on the user's yes through the org
//! server's channel. N+1 starts on the same data (its migration runs), syncs, and the
//! server has every change exactly once; the draft is still there and saves once.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use outpost_testkit::proxy::{Fault, FaultProxy};
use outpost_testkit::{APP_BINARY_VAR, ServerProcess};
use outpost_tests::{Device, Release, admin_setting, publish_release, set};
use serde_json::{Value, json};

use crate::app::{Driver, click, gone, shown, sign_in_and_open_sales, wait_text};
use crate::{outpost_command, run};

/// The next version's package and release manifest, from `cargo xtask test`.
struct Next {
    deb: std::path::PathBuf,
    manifest: Value,
    version: String,
}

fn next_build() -> anyhow::Result<Next> {
    let var = |name: &str| {
        std::env::var_os(name).with_context(|| {
            format!("{name} is not set: `cargo xtask test` builds the next version and runs this test with it")
        })
    };
    let deb = std::path::PathBuf::from(var("OUTPOST_NEXT_DEB")?);
    let manifest: Value = serde_json::from_slice(&std::fs::read(var("OUTPOST_NEXT_MANIFEST")?)?)?;
    let version = manifest["version"]
        .as_str()
        .context("the manifest's version")?
        .to_owned();
    Ok(Next {
        deb,
        manifest,
        version,
    })
}

/// The version of the installed package.
fn installed_version() -> anyhow::Result<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "outpost"])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The ids of the running installed apps.
fn app_pids() -> Vec<u32> {
    std::process::Command::new("pgrep")
        .args(["-x", "outpost-app"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `outpost --json <args>` on the app's data, as JSON.
fn cli(dir: &std::path::Path, args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    Ok(serde_json::from_str(&run(dir, &all)?)?)
}

async fn server_fields(url: &str, id: &str) -> anyhow::Result<outpost_domain::Fields> {
    Ok(Device::signed_in(url).await?.account(id).await?.fields)
}

#[tokio::test]
async fn version_n_updates_to_the_next_through_the_org_server_with_work_pending_and_loses_nothing()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let next = next_build()?;
    std::env::var_os(APP_BINARY_VAR).context("the installed app (cargo xtask test installs it)")?;
    anyhow::ensure!(
        installed_version()? == outpost_core::APP_VERSION,
        "version N ({}) is installed",
        outpost_core::APP_VERSION
    );
    let server = ServerProcess::start()?;
    let url = server.url();
    let proxy = FaultProxy::start(server.addr())?;
    let key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.tools/update-key/outpost.key.pub"),
    )
    .context("the development update key (cargo xtask makes it)")?;
    admin_setting(&url, "update_public_key", json!(key.trim())).await?;
    let mut signature = next.deb.clone().into_os_string();
    signature.push(".sig");
    publish_release(
        &url,
        &Release {
            version: &next.version,
            notes: "The next version, built by the upgrade test.",
            store_format: u32::try_from(next.manifest["store_format"].as_u64().unwrap_or(0))?,
            min_store_format: u32::try_from(
                next.manifest["min_store_format"].as_u64().unwrap_or(0),
            )?,
            package: std::fs::read(&next.deb)?,
            signature: std::fs::read(signature)?,
            platforms: &["linux-x86_64-deb"],
        },
    )
    .await?;

    // N signs in and downloads.
    let data = tempfile::tempdir()?;
    {
        let driver = Driver::start(data.path(), &proxy.url(), &[])?;
        let c = driver.session().await?;
        let signed_in = async {
            sign_in_and_open_sales(&c).await?;
            click(&c, "download-start").await?;
            wait_text(&c, "status-last-sync", |t| !t.contains("Never")).await?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        c.close().await?;
        signed_in?;
    }

    // Work on N's store: a conflict first (the same field changed on the server), then,
    // offline, a change parked behind it, a resolution for it, an edit and a draft.
    let other = Device::signed_in(&url).await?;
    let accounts = other.my_active_accounts().await?;
    let (a, b) = (accounts[0].clone(), accounts[1].clone());
    other
        .client
        .record_update(set("account", &b, "telephone1", "555-0101"))
        .await?;
    other.client.sync_now().await?;
    let dir = data.path();
    cli(
        dir,
        &[
            "record-update",
            "entity=account",
            &format!("id={b}"),
            "fields.telephone1=555-0202",
        ],
    )?;
    let synced = run(dir, &["sync"])?;
    let errors = cli(dir, &["sync-errors"])?;
    let op_id = errors[0]["op_id"]
        .as_str()
        .with_context(|| format!("a sync error after {synced}: {errors}"))?
        .to_owned();
    proxy.set(Fault::Refuse);
    cli(
        dir,
        &[
            "record-update",
            "entity=account",
            &format!("id={b}"),
            "fields.address1_city=Parkville",
        ],
    )?;
    run(
        dir,
        &[
            "sync-error-resolve",
            &format!("op_id={op_id}"),
            "resolution.action=keep_mine",
        ],
    )?;
    cli(
        dir,
        &[
            "record-update",
            "entity=account",
            &format!("id={a}"),
            "fields.name=Renamed on version N",
        ],
    )?;
    let draft = cli(
        dir,
        &[
            "draft-create",
            "entity=account",
            "fields.name=Upgrade draft",
            "fields.telephone1=555 0142",
        ],
    )?;
    let draft_id = draft["id"].as_str().context("the draft's id")?.to_owned();
    let unsent = cli(dir, &["session-unsent"])?;
    let count = |k: &str| unsent[k].as_u64().unwrap_or(0);
    assert!(
        count("changes") >= 2 && count("resolutions") == 1 && count("drafts") == 1,
        "before the update: the edit and the parked change, the error, its resolution and \
         the draft wait on the device: {unsent}"
    );

    // The org requires the next version and offers it: N keeps everything and installs it.
    admin_setting(&url, "min_app_version", json!(next.version)).await?;
    proxy.set(Fault::Pass);
    {
        let driver = Driver::start(data.path(), &proxy.url(), &[])?;
        let c = driver.session().await?;
        let before = app_pids();
        let installing = async {
            wait_text(&c, "status-update-required", |t| {
                t.contains("Update required")
            })
            .await?;
            wait_text(&c, "status-update-available", |t| t.contains(&next.version)).await?;
            click(&c, "status-update-available").await?;
            shown(&c, "update-prompt-required").await?;
            click(&c, "update-install").await?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        installing?;
        // The app installs, then restarts itself: this session ends with it.
        let deadline = Instant::now() + Duration::from_secs(120);
        while installed_version()? != next.version {
            if Instant::now() > deadline {
                bail!(
                    "version {} was not installed within 2 minutes",
                    next.version
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // The app restarts itself as the new version, outside this WebDriver session.
        let restarted = loop {
            if let Some(pid) = app_pids().into_iter().find(|p| !before.contains(p)) {
                break pid;
            }
            if Instant::now() > deadline {
                bail!("the app did not restart itself after installing the update");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let _ = c.close().await;
        // Let it start (it opens the data, moving it to the new format), then stop it to
        // start N+1 again under WebDriver.
        tokio::time::sleep(Duration::from_secs(3)).await;
        for pid in app_pids() {
            if pid == restarted || before.contains(&pid) {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let driver = Driver::start(data.path(), &proxy.url(), &[])?;
    let c = driver.session().await?;
    let after = async {
        wait_text(&c, "status-pending", |t| t.to_lowercase().contains("no ")).await?;
        gone(&c, "status-update-required").await?;
        click(&c, "module-switch").await?;
        click(&c, "module-quick-capture").await?;
        click(&c, "sitemap-drafts").await?;
        let item = format!("draft-{draft_id}");
        shown(&c, &item).await?;
        c.find(fantoccini::Locator::Css(&format!(
            "[data-testid=\"{item}\"] [data-testid=\"draft-save\"]"
        )))
        .await?
        .click()
        .await?;
        gone(&c, &item).await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    c.close().await?;
    drop(driver);
    after?;

    // N's CLI cannot open the data N+1 moved to its format: the migration ran.
    let old = outpost_command(dir, &["status"])?.output()?;
    assert!(
        !old.status.success(),
        "version N refuses the store version N+1 wrote: {}",
        String::from_utf8_lossy(&old.stdout)
    );

    // Everything reached the server exactly once (read by this build's client, which the
    // org's minimum would refuse).
    admin_setting(&url, "min_app_version", json!("")).await?;
    let fields_b = server_fields(&url, &b).await?;
    let fields_a = server_fields(&url, &a).await?;
    let value = |f: &outpost_domain::Fields, k: &str| f.get(k).cloned().flatten();
    assert_eq!(
        value(&fields_b, "telephone1").as_deref(),
        Some("555-0202"),
        "keep mine"
    );
    assert_eq!(
        value(&fields_b, "address1_city").as_deref(),
        Some("Parkville"),
        "the parked change"
    );
    assert_eq!(
        value(&fields_a, "name").as_deref(),
        Some("Renamed on version N")
    );
    let checker = Device::signed_in(&url).await?;
    let drafts_saved = checker
        .records("account")
        .await?
        .into_iter()
        .filter(|r| r.fields.get("name").cloned().flatten().as_deref() == Some("Upgrade draft"))
        .count();
    assert_eq!(drafts_saved, 1, "the draft was saved once");
    Ok(())
}
