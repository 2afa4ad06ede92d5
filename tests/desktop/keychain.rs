//! The database key really lives in the OS keychain.

use outpost_store::{DatabaseKey, KeyStore, OsKeychain};

/// A keychain service of the tests' own, so they never touch a real user's entries.
fn keychain() -> OsKeychain {
    OsKeychain::new("dev.outpost.tests")
}

#[test]
fn a_key_survives_in_the_keychain_and_can_be_forgotten() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let keys = keychain();
    let id = format!("roundtrip-{}", std::process::id());
    let key = DatabaseKey::generate();
    keys.set(&id, &key)?;
    // A separate handle reads it back: the value lives in the Secret Service, not here.
    assert_eq!(
        keychain().get(&id)?,
        Some(key),
        "the keychain returns the stored key"
    );
    keys.delete(&id)?;
    assert_eq!(keychain().get(&id)?, None, "a deleted key is gone");
    Ok(())
}

#[tokio::test]
async fn a_device_opens_its_database_with_the_keychain_key_and_not_without_it() -> anyhow::Result<()>
{
    outpost_testkit::require_desktop_session()?;
    let server = outpost_testkit::ServerProcess::start()?;
    let device = outpost_tests::Device::new(std::sync::Arc::new(keychain()))?;
    device.sign_in(&server.url()).await?;
    let dir = device.dir.path().to_owned();
    // One store per (org, user), each under its own key: this user's is the only one.
    let accounts: Vec<_> = std::fs::read_dir(dir.join("accounts"))?.collect::<Result<_, _>>()?;
    assert_eq!(accounts.len(), 1, "one account on this device");
    let key_id = format!("database:{}", accounts[0].path().display());
    assert!(
        keychain().get(&key_id)?.is_some(),
        "sign-in kept a key in the keychain"
    );
    drop(device.client);
    // Reopening through the keychain works and finds the data.
    let reopened = outpost_core::Client::open(outpost_core::ClientConfig {
        data_dir: dir.clone(),
        keys: std::sync::Arc::new(keychain()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })?;
    assert!(
        reopened.session_status().await?.signed_in,
        "the session is still there"
    );
    drop(reopened);
    // Without the key, the database is unreadable: the app still opens (whoever uses the
    // device can sign in), says why, and the file stays.
    keychain().delete(&key_id)?;
    let locked = outpost_core::Client::open(outpost_core::ClientConfig {
        data_dir: dir.clone(),
        keys: std::sync::Arc::new(keychain()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })?;
    let status = locked.session_status().await?;
    assert_eq!(
        (
            status.signed_in,
            status.offline_data,
            status.signed_out_reason
        ),
        (
            false,
            false,
            Some(outpost_core::api::SignedOutReason::StoreLocked)
        ),
        "no key, no data, and the status says why"
    );
    assert!(
        accounts[0].path().join("outpost.db").exists(),
        "the unreadable store is not deleted"
    );
    Ok(())
}
