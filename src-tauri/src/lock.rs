//! Session lock (C16): background sync pauses while the user's session is locked. A
//! [`LockWatcher`] reports the lock state; the shell passes it on as
//! `SyncSignal::Locked`. On Linux the source is logind's `LockedHint` over D-Bus
//! ([`Logind`]); other systems have none yet ([`NoLockWatcher`]), so sync never pauses
//! for a lock there.

use std::future::Future;

#[cfg(target_os = "linux")]
mod logind;

#[cfg(target_os = "linux")]
pub use logind::{ADDRESS_VAR, Logind};

/// Reports whether the user's session is locked.
pub trait LockWatcher: Send + 'static {
    /// Calls `on_change` with the state now, then after every change, until the source
    /// goes away.
    ///
    /// # Errors
    /// When the source cannot be reached (no logind, no system bus); the caller logs it
    /// and carries on unlocked.
    fn watch(
        self,
        on_change: impl FnMut(bool) + Send + 'static,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A system with no lock source: nothing is ever reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLockWatcher;

impl LockWatcher for NoLockWatcher {
    async fn watch(self, _on_change: impl FnMut(bool) + Send + 'static) -> anyhow::Result<()> {
        Ok(())
    }
}

/// This system's lock source.
#[cfg(target_os = "linux")]
pub fn platform() -> Logind {
    Logind::from_env()
}

/// This system's lock source.
#[cfg(not(target_os = "linux"))]
pub fn platform() -> NoLockWatcher {
    NoLockWatcher
}
