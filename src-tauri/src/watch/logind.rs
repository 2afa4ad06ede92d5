//! logind's `LockedHint` over D-Bus: desktop lock screens set it on the session object
//! (`org.freedesktop.login1.Session`), and logind announces each change with
//! `PropertiesChanged`.

use anyhow::Context as _;
use zbus::OwnedObjectPath;

use super::Watcher;
use super::bus::{Bus, forward};

/// The environment variable that points the lock watcher at another bus than the system
/// bus (a D-Bus address); tests run a fake logind on their session bus.
pub const LOGIND_ADDRESS_VAR: &str = "OUTPOST_LOGIND_ADDRESS";

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

/// The `LockedHint` of this process's logind session: `true` while locked.
#[derive(Debug, Clone, Default)]
pub struct Logind {
    bus: Bus,
}

impl Logind {
    /// On the system bus, or on the bus at [`LOGIND_ADDRESS_VAR`] when it is set.
    pub fn from_env() -> Self {
        Self {
            bus: Bus::from_env(LOGIND_ADDRESS_VAR),
        }
    }

    /// On the bus at `address` (a D-Bus address such as `unix:path=…`).
    pub fn at(address: impl Into<String>) -> Self {
        Self {
            bus: Bus::at(address),
        }
    }
}

impl Watcher for Logind {
    async fn watch(self, on_change: impl FnMut(bool) + Send + 'static) -> anyhow::Result<()> {
        let connection = self.bus.connect().await?;
        let path = ManagerProxy::new(&connection)
            .await?
            .get_session("auto")
            .await
            .with_context(|| format!("asking logind on {} for this session", self.bus.name()))?;
        let session = SessionProxy::builder(&connection)
            .path(path)
            .build()
            .await?;
        let changes = session.receive_locked_hint_changed().await;
        forward(changes, "LockedHint", |locked| locked, on_change).await
    }
}
