//! What only the desktop knows, passed on to background sync: whether the user's session
//! is locked (nothing starts while it is, C16) and whether a network is there (down means
//! offline at once, without waiting for a probe to fail; up means probe now). Each source
//! is a [`Watcher`] of one yes/no state. On Linux they are logind's `LockedHint`
//! ([`Logind`]) and NetworkManager's `State` ([`NetworkManager`]) over D-Bus; other
//! systems have none yet ([`Unwatched`]): sync then never pauses for a lock and learns of
//! the network only from its probes.

use std::future::Future;

#[cfg(target_os = "linux")]
mod bus;
#[cfg(target_os = "linux")]
mod logind;
#[cfg(target_os = "linux")]
mod network_manager;

#[cfg(target_os = "linux")]
pub use logind::{LOGIND_ADDRESS_VAR, Logind};
#[cfg(target_os = "linux")]
pub use network_manager::{NETWORK_MANAGER_ADDRESS_VAR, NetworkManager, network_is_up};

/// Reports one yes/no state of the system (locked, network up).
pub trait Watcher: Send + 'static {
    /// Calls `on_change` with the state now, then after every change, until the source
    /// goes away.
    ///
    /// # Errors
    /// When the source cannot be reached (no such service, no system bus); the caller
    /// logs it and carries on without it.
    fn watch(
        self,
        on_change: impl FnMut(bool) + Send + 'static,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A system without the source: nothing is ever reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unwatched;

impl Watcher for Unwatched {
    async fn watch(self, _on_change: impl FnMut(bool) + Send + 'static) -> anyhow::Result<()> {
        Ok(())
    }
}

/// This system's session-lock source.
#[cfg(target_os = "linux")]
pub fn session_lock() -> Logind {
    Logind::from_env()
}

/// This system's session-lock source.
#[cfg(not(target_os = "linux"))]
pub fn session_lock() -> Unwatched {
    Unwatched
}

/// This system's network source.
#[cfg(target_os = "linux")]
pub fn network() -> NetworkManager {
    NetworkManager::from_env()
}

/// This system's network source.
#[cfg(not(target_os = "linux"))]
pub fn network() -> Unwatched {
    Unwatched
}
