//! logind's `LockedHint` over D-Bus: desktop lock screens set it on the session object
//! (`org.freedesktop.login1.Session`), and logind announces each change with
//! `PropertiesChanged`.

use anyhow::Context as _;
use futures_util::StreamExt as _;
use zbus::OwnedObjectPath;

use super::LockWatcher;

/// The environment variable that points the watcher at another bus than the system bus
/// (a D-Bus address); tests run a fake logind on their session bus.
pub const ADDRESS_VAR: &str = "OUTPOST_LOGIND_ADDRESS";

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Manager {
    /// The object of session `session_id`; `auto` is the caller's own session (or its
    /// user's display session when the caller has none).
    fn get_session(&self, session_id: &str) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.login1.Session",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1/session/auto"
)]
trait Session {
    /// Whether the session is locked.
    #[zbus(property)]
    fn locked_hint(&self) -> zbus::Result<bool>;
}

/// The `LockedHint` of this process's logind session.
#[derive(Debug, Clone, Default)]
pub struct Logind {
    /// The bus logind is on; `None`: the system bus.
    address: Option<String>,
}

impl Logind {
    /// On the system bus, or on the bus at [`ADDRESS_VAR`] when it is set.
    pub fn from_env() -> Self {
        Self {
            address: std::env::var(ADDRESS_VAR).ok().filter(|a| !a.is_empty()),
        }
    }

    /// On the bus at `address` (a D-Bus address such as `unix:path=…`).
    pub fn at(address: impl Into<String>) -> Self {
        Self {
            address: Some(address.into()),
        }
    }

    async fn connect(&self) -> anyhow::Result<zbus::Connection> {
        Ok(match &self.address {
            Some(address) => {
                zbus::connection::Builder::address(address.as_str())
                    .build()
                    .await?
            }
            None => zbus::Connection::system().await?,
        })
    }
}

impl LockWatcher for Logind {
    async fn watch(self, mut on_change: impl FnMut(bool) + Send + 'static) -> anyhow::Result<()> {
        let bus = self.address.as_deref().unwrap_or("the system bus");
        let connection = self
            .connect()
            .await
            .with_context(|| format!("connecting to {bus}"))?;
        let path = ManagerProxy::new(&connection)
            .await?
            .get_session("auto")
            .await
            .with_context(|| format!("asking logind on {bus} for this session"))?;
        let session = SessionProxy::builder(&connection)
            .path(path)
            .build()
            .await?;
        // The stream yields the current value first, then each change; zbus keeps only the
        // latest, so a quick lock and unlock may arrive as one unchanged value (dropped).
        let mut changes = session.receive_locked_hint_changed().await;
        let mut last = None;
        while let Some(change) = changes.next().await {
            let locked = change.get().await.context("reading LockedHint")?;
            if last != Some(locked) {
                last = Some(locked);
                on_change(locked);
            }
        }
        Ok(())
    }
}
