//! The core's side of app updates (S19, C23) against a real server: the offer the org
//! publishes reaches the status; installing waits for a sync under way and holds sync still
//! until it ends; a release whose build could not open this device's data is never
//! installed; a failed install changes nothing and lets sync go on.
//!
//! The installer here is the shell's part (download, signature check, system installer):
//! it records what it was handed, downloads the package with the headers it got, and
//! answers as told. The real one, Tauri's updater in the installed app, is driven in the
//! desktop suite (`tests/desktop/update.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outpost_core::{
    Client, ClientConfig, CoreError, Environment, Installer, Installing, UpdateTicket,
};
use outpost_store::{FORMAT, MIN_FORMAT, MemoryKeyStore};
use outpost_testkit::ServerProcess;
use outpost_testkit::proxy::FaultProxy;
use outpost_tests::{Device, Release, admin_setting, publish_release, release_fixture};
use serde_json::json;

const PLATFORM: &str = "linux-x86_64-deb";

/// What the installer saw: each install with when it began, the package it downloaded,
/// and whether the app was restarted.
#[derive(Default)]
struct Seen {
    installs: Vec<(Instant, UpdateTicket, Vec<u8>)>,
    restarted: bool,
}

struct TestInstaller {
    seen: Arc<Mutex<Seen>>,
    /// What the install answers.
    answer: Mutex<Result<(), String>>,
}

impl Installer for TestInstaller {
    fn platform(&self) -> String {
        PLATFORM.to_owned()
    }

    fn install(&self, ticket: UpdateTicket) -> Installing {
        let seen = Arc::clone(&self.seen);
        let answer = self.answer.lock().expect("answer").clone();
        let began = Instant::now();
        Box::pin(async move {
            let url = ticket.manifest["url"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut request = reqwest::Client::new().get(&url);
            for (name, value) in &ticket.headers {
                request = request.header(name, value);
            }
            let res = request.send().await.map_err(|e| e.to_string())?;
            let status = res.status();
            let bytes = res.bytes().await.map_err(|e| e.to_string())?.to_vec();
            if !status.is_success() {
                return Err(format!("download answered {status}"));
            }
            seen.lock()
                .expect("seen")
                .installs
                .push((began, ticket, bytes));
            answer
        })
    }

    fn restart(&self) {
        self.seen.lock().expect("seen").restarted = true;
    }
}

/// A device with the test installer, signed in through `url`.
async fn device(url: &str, installer: Arc<TestInstaller>) -> anyhow::Result<Device> {
    let dir = tempfile::tempdir()?;
    let client = Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Environment {
            app_version: Some("0.1.0".into()),
            ..Environment::default()
        },
        installer: Some(installer),
    })?;
    let device = Device {
        client: Arc::new(client),
        dir,
    };
    device.sign_in(url).await?;
    Ok(device)
}

fn release(
    version: &'static str,
    signature: &str,
    store_format: u32,
    min_store_format: u32,
) -> anyhow::Result<Release<'static>> {
    Ok(Release {
        version,
        notes: "Faster sync.",
        store_format,
        min_store_format,
        package: release_fixture("package.bin")?,
        signature: release_fixture(signature)?,
        platforms: &[PLATFORM],
    })
}

#[tokio::test]
async fn an_update_waits_for_the_sync_under_way_and_is_never_installed_when_it_could_not_open_the_data()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let url = server.url();
    let key = String::from_utf8(release_fixture("org.key.pub")?)?;
    admin_setting(&url, "update_public_key", json!(key.trim())).await?;
    let proxy = FaultProxy::start(server.addr())?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let installer = Arc::new(TestInstaller {
        seen: Arc::clone(&seen),
        answer: Mutex::new(Ok(())),
    });
    let d = device(&proxy.url(), Arc::clone(&installer)).await?;
    assert_eq!(
        d.client.update_check().await?,
        None,
        "nothing published yet"
    );

    publish_release(
        &url,
        &release("0.2.0", "org-0.2.0.sig", FORMAT, MIN_FORMAT)?,
    )
    .await?;
    let offer = d
        .client
        .update_check()
        .await?
        .expect("the release is offered");
    assert_eq!(
        (
            offer.version.as_str(),
            offer.blocked.as_deref(),
            offer.installing
        ),
        ("0.2.0", None, false)
    );
    assert_eq!(
        d.client.sync_status().await?.update.map(|u| u.version),
        Some("0.2.0".to_owned()),
        "the footer's status carries the offer"
    );

    // A sync under way (a change to push, then a pull: two slow round trips): the
    // install waits for it to end.
    let account = d.my_active_accounts().await?[0].clone();
    d.client
        .record_update(outpost_tests::set(
            "account",
            &account,
            "name",
            "Mid-update",
        ))
        .await?;
    proxy.set_latency(Duration::from_millis(1500));
    let syncing = {
        let client = Arc::clone(&d.client);
        tokio::spawn(async move {
            let result = client.sync_now().await;
            (Instant::now(), result)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    d.client.update_install().await?;
    let (sync_ended, synced) = syncing.await?;
    synced?;
    proxy.set_latency(Duration::ZERO);
    {
        let seen = seen.lock().expect("seen");
        let (began, ticket, bytes) = seen.installs.first().expect("one install");
        assert!(
            *began >= sync_ended,
            "the install began only after the sync under way ended"
        );
        assert!(seen.restarted, "a successful install restarts the app");
        assert_eq!(ticket.manifest["version"], json!("0.2.0"));
        assert_eq!(
            ticket.manifest["signature"],
            json!(String::from_utf8(release_fixture("org-0.2.0.sig")?)?.trim())
        );
        assert!(
            ticket.manifest["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&proxy.url())),
            "the package is fetched from the server the app syncs with: {}",
            ticket.manifest
        );
        assert!(
            *bytes == release_fixture("package.bin")?,
            "with the app's own token"
        );
    }

    // A release whose build could not open this device's data is not installed.
    publish_release(
        &url,
        &release("0.3.0", "org-0.3.0.sig", FORMAT + 1, FORMAT + 1)?,
    )
    .await?;
    let blocked = d.client.update_check().await?.expect("0.3.0 is offered");
    assert_eq!(blocked.version, "0.3.0");
    let why = blocked.blocked.expect("it says why it cannot be installed");
    assert!(
        why.contains("cannot move this device's offline data forward"),
        "{why}"
    );
    let refused = d.client.update_install().await;
    assert!(
        matches!(&refused, Err(CoreError::Invalid(m)) if m == &why),
        "{refused:?}"
    );
    assert_eq!(
        seen.lock().expect("seen").installs.len(),
        1,
        "nothing more was installed"
    );
    let downgrade = publish_release(&url, &release("0.3.0", "org-0.3.0.sig", FORMAT - 1, 1)?).await;
    downgrade?;
    let older_format = d.client.update_check().await?.expect("offered");
    assert!(
        older_format
            .blocked
            .is_some_and(|w| w.contains("older format than this app")),
        "a build that writes an older format would not open the data"
    );

    // A failed install changes nothing, says why, and sync goes on.
    publish_release(
        &url,
        &release("0.3.0", "org-0.3.0.sig", FORMAT, MIN_FORMAT)?,
    )
    .await?;
    *installer.answer.lock().expect("answer") = Err(
        "The update was refused: the package is not signed with your organization's update key"
            .into(),
    );
    seen.lock().expect("seen").restarted = false;
    let failed = d.client.update_install().await;
    assert!(
        matches!(&failed, Err(CoreError::Invalid(m)) if m.contains("not signed")),
        "{failed:?}"
    );
    let status = d.client.sync_status().await?;
    let update = status.update.expect("still offered");
    assert!(update.failed.is_some_and(|f| f.contains("not signed")));
    assert!(!update.installing);
    assert!(
        !seen.lock().expect("seen").restarted,
        "no restart after a failed install"
    );
    tokio::time::timeout(Duration::from_secs(30), d.client.sync_now())
        .await
        .map_err(|_| anyhow::anyhow!("sync stayed held after the failed install"))??;
    Ok(())
}
