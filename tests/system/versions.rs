//! A rollout (C23, S19): field apps of two versions sync side by side against one server
//! until the administrator requires the newer one; the older then keeps every change,
//! says "update required", and once updated sends each change exactly once.

use std::sync::Arc;

use outpost_core::{Client, ClientConfig, CoreError, Environment};
use outpost_store::{KeyStore, MemoryKeyStore};
use outpost_testkit::ServerProcess;
use outpost_tests::{Device, admin_setting, set};
use serde_json::json;

const CITY: &str = "address1_city";

/// A client on `dir` whose keys are `keys`, telling servers it is `version` (`None`: this
/// build).
fn client(
    dir: &std::path::Path,
    keys: &Arc<dyn KeyStore>,
    version: Option<&str>,
) -> anyhow::Result<Client> {
    Ok(Client::open(ClientConfig {
        data_dir: dir.to_owned(),
        keys: Arc::clone(keys),
        default_server_url: None,
        notifier: None,
        env: Environment {
            app_version: version.map(str::to_owned),
            ..Environment::default()
        },
        installer: None,
    })?)
}

/// Sets the org's minimum app version through the admin API.
async fn require(server: &ServerProcess, version: &str) -> anyhow::Result<()> {
    admin_setting(&server.url(), "min_app_version", json!(version)).await
}

#[tokio::test]
async fn during_a_rollout_old_and_new_apps_sync_side_by_side_until_the_old_one_must_update()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let url = server.url();
    let keys: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::default());
    let dir = tempfile::tempdir()?;
    let old = client(dir.path(), &keys, Some("0.0.1"))?;
    let old = Device {
        client: Arc::new(old),
        dir,
    };
    old.sign_in(&url).await?;
    let new = Device::signed_in(&url).await?;
    let accounts = new.my_active_accounts().await?;
    let (a1, a2) = (accounts[0].clone(), accounts[1].clone());

    old.client
        .record_update(set("account", &a1, "name", "From the old app"))
        .await?;
    new.client
        .record_update(set("account", &a2, "name", "From the new app"))
        .await?;
    old.client.sync_now().await?;
    new.client.sync_now().await?;
    old.client.sync_now().await?;
    for device in [&old, &new] {
        assert_eq!(
            device.field("account", &a1, "name").await?.as_deref(),
            Some("From the old app")
        );
        assert_eq!(
            device.field("account", &a2, "name").await?.as_deref(),
            Some("From the new app")
        );
    }

    // The administrator requires this build: the old app keeps its change and says why.
    require(&server, outpost_core::APP_VERSION).await?;
    old.client
        .record_update(set("account", &a1, CITY, "Waits for the update"))
        .await?;
    let refused = old.client.sync_now().await.expect_err("too old now");
    assert!(
        matches!(refused, CoreError::UpdateRequired(_)),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains(outpost_core::APP_VERSION),
        "{refused}"
    );
    let status = old.client.session_status().await?;
    assert_eq!(status.pending_ops, 1, "the change waits on the device");
    assert!(status.update_required.is_some(), "{status:?}");
    let footer = old.client.sync_status().await?;
    assert!(footer.update_required.is_some());
    assert_eq!(
        old.field("account", &a1, CITY).await?.as_deref(),
        Some("Waits for the update"),
        "and still shows"
    );
    new.client.sync_now().await?;

    // Updated: the same store, opened by this build, sends the change once.
    let Device {
        client: old_client,
        dir,
    } = old;
    drop(old_client);
    let updated = Device {
        client: Arc::new(client(dir.path(), &keys, None)?),
        dir,
    };
    let report = updated.client.sync_now().await?;
    assert_eq!(report.pushed, 1, "{report:?}");
    let status = updated.client.session_status().await?;
    assert_eq!((status.pending_ops, status.update_required), (0, None));
    new.client.sync_now().await?;
    assert_eq!(
        new.field("account", &a1, CITY).await?.as_deref(),
        Some("Waits for the update")
    );
    Ok(())
}
