//! `outpost-tests` is the end-to-end suite (`system/`, `desktop/`); this library holds the
//! scenario helpers they share. It must never be a dependency of a product crate.

use std::sync::Arc;

use outpost_core::api::{RecordListArgs, RecordRow, SignInArgs};
use outpost_core::{Client, ClientConfig};
use outpost_store::{KeyStore, MemoryKeyStore};

/// The first demo account's id.
pub const FIRST_ACCOUNT: &str = "00000000-0000-7000-8000-000000001000";

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
