//! `outpost-tests` is the end-to-end suite (`system/`, `desktop/`); this library holds the
//! scenario helpers they share. It must never be a dependency of a product crate.

use std::sync::Arc;

use outpost_core::api::{RecordListArgs, RecordRow, SignInArgs};
use outpost_core::{Client, ClientConfig};
use outpost_store::{KeyStore, MemoryKeyStore};

/// The accounts the demo field user owns in the org test servers load, as `(id, name)`
/// in id order (the generator is deterministic; dates do not change ids or names).
pub fn fiona_accounts() -> Vec<(String, String)> {
    use outpost_domain::demo::{self, DemoData};
    let metadata = demo::metadata();
    let org = demo::demo_org(outpost_testkit::DEMO_SEED);
    let owner = org
        .user(demo::FIELD_USERNAME)
        .map(|u| format!("systemuser:{}", u.id))
        .unwrap_or_default();
    let data = DemoData::new(
        &metadata,
        &org,
        outpost_testkit::DEMO_SEED,
        outpost_testkit::DEMO_RECORDS,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    (0..data.count("account"))
        .filter_map(|n| data.record("account", n))
        .filter(|r| r.fields.get("ownerid").cloned().flatten().as_deref() == Some(owner.as_str()))
        .map(|r| {
            let name = r.fields.get("name").cloned().flatten().unwrap_or_default();
            (r.id, name)
        })
        .collect()
}

/// The first of [`fiona_accounts`].
pub fn first_account() -> (String, String) {
    fiona_accounts()
        .into_iter()
        .next()
        .expect("the demo field user owns accounts")
}

/// A field client in its own temp folder, with its key store.
pub struct Device {
    /// The client.
    pub client: Arc<Client>,
    /// Its data folder (removed on drop).
    pub dir: tempfile::TempDir,
}

impl Device {
    /// A fresh device whose database key is kept by `keys`.
    pub fn new(keys: Arc<dyn KeyStore>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let client = Client::open(ClientConfig {
            data_dir: dir.path().to_owned(),
            keys,
            default_server_url: None,
            notifier: None,
        })?;
        Ok(Self {
            client: Arc::new(client),
            dir,
        })
    }

    /// A fresh device with an in-memory key store (for scenarios about sync, not the keychain).
    pub fn in_memory() -> anyhow::Result<Self> {
        Self::new(Arc::new(MemoryKeyStore::default()))
    }

    /// Signs in as the demo field user.
    pub async fn sign_in(&self, server_url: &str) -> anyhow::Result<()> {
        self.client
            .session_sign_in(SignInArgs {
                server_url: server_url.to_owned(),
                username: "fiona".to_owned(),
                password: outpost_testkit::DEMO_PASSWORD.to_owned(),
            })
            .await?;
        Ok(())
    }

    /// The local account with `id`.
    pub async fn account(&self, id: &str) -> anyhow::Result<RecordRow> {
        self.client
            .record_list(RecordListArgs {
                entity: "account".into(),
            })
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| anyhow::anyhow!("account {id} is not on the device"))
    }
}
