//! `outpost-tests` is the end-to-end suite (`system/`, `desktop/`); this library holds the
//! scenario helpers they share. It must never be a dependency of a product crate.

use std::sync::Arc;

use outpost_core::api::{
    RecordKey, RecordListArgs, RecordRow, RecordUpdateArgs, SessionStatus, SignInArgs,
};
use outpost_core::{Client, ClientConfig, CoreError};
use outpost_store::{KeyStore, MemoryKeyStore};

/// Every account of the demo org the test servers load, as `(id, name, ownerid)` in id
/// order (the generator is deterministic; dates do not change ids, names or owners).
pub fn demo_accounts() -> Vec<(String, String, String)> {
    use outpost_domain::demo::{self, DemoData};
    let metadata = demo::metadata();
    let org = demo::demo_org(outpost_testkit::DEMO_SEED);
    let data = DemoData::new(
        &metadata,
        &org,
        outpost_testkit::DEMO_SEED,
        outpost_testkit::DEMO_RECORDS,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    (0..data.count("account"))
        .filter_map(|n| data.record("account", n))
        .map(|r| {
            let field = |name: &str| r.fields.get(name).cloned().flatten().unwrap_or_default();
            (r.id.clone(), field("name"), field("ownerid"))
        })
        .collect()
}

/// The owner reference (`systemuser:<id>`) of the demo field user.
pub fn fiona_owner() -> String {
    use outpost_domain::demo;
    demo::demo_org(outpost_testkit::DEMO_SEED)
        .user(demo::FIELD_USERNAME)
        .map(|u| format!("systemuser:{}", u.id))
        .unwrap_or_default()
}

/// The accounts the demo field user owns, as `(id, name)` in id order.
pub fn fiona_accounts() -> Vec<(String, String)> {
    let owner = fiona_owner();
    demo_accounts()
        .into_iter()
        .filter(|(_, _, o)| *o == owner)
        .map(|(id, name, _)| (id, name))
        .collect()
}

/// A field user of the demo org other than fiona (a sales rep of another area), to share
/// her device.
pub fn other_field_user() -> String {
    use outpost_domain::demo::{self, Job};
    demo::demo_org(outpost_testkit::DEMO_SEED)
        .users
        .into_iter()
        .find(|u| u.job == Job::SalesRep && u.username != demo::FIELD_USERNAME)
        .map(|u| u.username)
        .unwrap_or_default()
}

/// The first of [`fiona_accounts`].
pub fn first_account() -> (String, String) {
    fiona_accounts()
        .into_iter()
        .next()
        .expect("the demo field user owns accounts")
}

/// Signs `username` in to the server at `url` through its HTTP API (as the console or a
/// script does), on device `device`; the access token.
pub async fn api_token(url: &str, username: &str, device: &str) -> anyhow::Result<String> {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({
            "username": username,
            "password": outpost_testkit::DEMO_PASSWORD,
            "device_id": device,
        }))
        .send()
        .await?
        .json()
        .await?;
    login["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{username} was not signed in: {login}"))
}

/// Sets one org setting (`key` of `OrgSettings`) through the admin API.
pub async fn admin_setting(url: &str, key: &str, value: serde_json::Value) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let token = api_token(url, "admin", "console").await?;
    let settings_url = format!("{url}/api/v1/admin/settings");
    let mut settings: serde_json::Value = http
        .get(&settings_url)
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    settings[key] = value;
    let res = http
        .put(&settings_url)
        .bearer_auth(&token)
        .json(&settings)
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.text().await?);
    Ok(())
}

/// A release file the server's tests keep (`crates/server/tests/server/fixtures/releases`):
/// a package, its signatures made with `tauri signer sign`, and the public keys.
pub fn release_fixture(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/server/tests/server/fixtures/releases")
        .join(name);
    std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// What an administrator publishes: a release, its package and signature, and for which
/// platforms and device database formats.
pub struct Release<'a> {
    /// `major.minor.patch`.
    pub version: &'a str,
    /// The notes.
    pub notes: &'a str,
    /// The newest store format the build writes.
    pub store_format: u32,
    /// The oldest store format the build moves forward.
    pub min_store_format: u32,
    /// The package's bytes.
    pub package: Vec<u8>,
    /// Its signature (the `.sig` file's content).
    pub signature: Vec<u8>,
    /// `linux-x86_64-deb`, …
    pub platforms: &'a [&'a str],
}

/// Publishes `release` through the admin API (the org's update key must be set).
pub async fn publish_release(url: &str, release: &Release<'_>) -> anyhow::Result<()> {
    let admin = api_token(url, "admin", "console").await?;
    let http = reqwest::Client::new();
    let version = release.version;
    let res = http
        .put(format!("{url}/api/v1/admin/releases/{version}"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "notes": release.notes,
            "store_format": release.store_format,
            "min_store_format": release.min_store_format,
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.text().await?);
    let signature = String::from_utf8(release.signature.clone())?;
    for platform in release.platforms {
        let res = http
            .put(format!("{url}/api/v1/admin/releases/{version}/{platform}"))
            .bearer_auth(&admin)
            .header(outpost_server::releases::SIGNATURE_HEADER, signature.trim())
            .body(release.package.clone())
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "uploading for {platform}: {}",
            res.text().await?
        );
    }
    Ok(())
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
            env: Default::default(),
            installer: None,
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

    /// A fresh in-memory device signed in as the demo field user at `server_url` (its
    /// first download done).
    pub async fn signed_in(server_url: &str) -> anyhow::Result<Self> {
        let device = Self::in_memory()?;
        device.sign_in(server_url).await?;
        Ok(device)
    }

    /// Signs in as the demo field user.
    pub async fn sign_in(&self, server_url: &str) -> anyhow::Result<()> {
        self.sign_in_with(server_url, outpost_testkit::DEMO_PASSWORD, None)
            .await?;
        Ok(())
    }

    /// Signs in as the demo field user with `password`; `download` as the sign-in form
    /// passes it (`None`: the client's default).
    pub async fn sign_in_with(
        &self,
        server_url: &str,
        password: &str,
        download: Option<bool>,
    ) -> Result<SessionStatus, CoreError> {
        self.client
            .session_sign_in(SignInArgs {
                server_url: server_url.to_owned(),
                username: "fiona".to_owned(),
                password: password.to_owned(),
                download,
                allow_http: None,
            })
            .await
    }

    /// The local records of `entity`.
    pub async fn records(&self, entity: &str) -> anyhow::Result<Vec<RecordRow>> {
        Ok(self
            .client
            .record_list(RecordListArgs {
                entity: entity.into(),
            })
            .await?)
    }

    /// The local account with `id`.
    pub async fn account(&self, id: &str) -> anyhow::Result<RecordRow> {
        self.records("account")
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| anyhow::anyhow!("account {id} is not on the device"))
    }

    /// The local record `entity`/`id` (an error when the device does not hold it).
    pub async fn get(&self, entity: &str, id: &str) -> anyhow::Result<RecordRow> {
        Ok(self
            .client
            .record_get(RecordKey {
                entity: entity.into(),
                id: id.into(),
            })
            .await?
            .record)
    }

    /// The ids of the active accounts the signed-in user owns (closed ones are read-only).
    pub async fn my_active_accounts(&self) -> anyhow::Result<Vec<String>> {
        let me = self
            .client
            .session_status()
            .await?
            .user_id
            .unwrap_or_default();
        let owner = format!("systemuser:{me}");
        Ok(self
            .records("account")
            .await?
            .into_iter()
            .filter(|r| {
                r.fields.get("statecode").cloned().flatten().as_deref() == Some("0")
                    && r.fields.get("ownerid").cloned().flatten().as_deref() == Some(owner.as_str())
            })
            .map(|r| r.id)
            .collect())
    }

    /// The value of field `name` of the local record `entity`/`id`.
    pub async fn field(
        &self,
        entity: &str,
        id: &str,
        name: &str,
    ) -> anyhow::Result<Option<String>> {
        Ok(self
            .get(entity, id)
            .await?
            .fields
            .get(name)
            .cloned()
            .flatten())
    }
}

/// The key of record `entity`/`id`.
pub fn key(entity: &str, id: &str) -> RecordKey {
    RecordKey {
        entity: entity.into(),
        id: id.into(),
    }
}

/// An update of one field of `entity`/`id` to `value`.
pub fn set(entity: &str, id: &str, field: &str, value: &str) -> RecordUpdateArgs {
    RecordUpdateArgs {
        entity: entity.into(),
        id: id.into(),
        fields: [(field.to_owned(), Some(value.to_owned()))].into(),
    }
}
