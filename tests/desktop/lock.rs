//! The session-lock watcher against a fake logind: a zbus service on the session bus that
//! owns `org.freedesktop.login1`, answers `Manager.GetSession("auto")` and exposes a
//! `Session` whose `LockedHint` the test sets, announcing each change with
//! `PropertiesChanged` as logind does. Locking and unlocking must reach the watcher's
//! callback in order; with no logind on the bus the watcher must give up with an error
//! (which the app logs) instead of hanging.

use std::time::Duration;

use anyhow::{Context as _, bail};
use outpost_app::lock::{LockWatcher as _, Logind};
use tokio::sync::mpsc;
use zbus::OwnedObjectPath;

const MANAGER: &str = "/org/freedesktop/login1";
const SESSION: &str = "/org/freedesktop/login1/session/_31";

struct FakeManager;

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl FakeManager {
    fn get_session(&self, session_id: &str) -> zbus::fdo::Result<OwnedObjectPath> {
        if session_id != "auto" {
            return Err(zbus::fdo::Error::InvalidArgs(format!(
                "no session {session_id}"
            )));
        }
        OwnedObjectPath::try_from(SESSION).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }
}

struct FakeSession {
    locked: bool,
}

#[zbus::interface(name = "org.freedesktop.login1.Session")]
impl FakeSession {
    #[zbus(property)]
    fn locked_hint(&self) -> bool {
        self.locked
    }
}

/// Sets the fake session's `LockedHint` and announces it.
async fn set_locked(logind: &zbus::Connection, locked: bool) -> anyhow::Result<()> {
    let session = logind
        .object_server()
        .interface::<_, FakeSession>(SESSION)
        .await?;
    let mut state = session.get_mut().await;
    state.locked = locked;
    state.locked_hint_changed(session.signal_emitter()).await?;
    Ok(())
}

/// The next state the watcher reported, waiting at most 10 s.
async fn next(reports: &mut mpsc::UnboundedReceiver<bool>) -> anyhow::Result<bool> {
    match tokio::time::timeout(Duration::from_secs(10), reports.recv()).await {
        Ok(Some(locked)) => Ok(locked),
        Ok(None) => bail!("the watcher stopped"),
        Err(_) => bail!("the watcher reported nothing within 10 s"),
    }
}

#[tokio::test]
async fn locking_and_unlocking_the_session_reaches_the_lock_watcher() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")?;

    // No logind: the watcher gives up at once instead of waiting for one.
    for address in [bus.as_str(), "unix:path=/nonexistent/outpost-bus"] {
        let gave_up =
            tokio::time::timeout(Duration::from_secs(10), Logind::at(address).watch(|_| {}))
                .await
                .with_context(|| format!("the watcher on {address} with no logind returns"))?;
        assert!(
            gave_up.is_err(),
            "with no logind on {address} the watcher reports an error"
        );
    }

    let logind = zbus::connection::Builder::address(bus.as_str())
        .name("org.freedesktop.login1")
        .serve_at(MANAGER, FakeManager)
        .serve_at(SESSION, FakeSession { locked: false })
        .build()
        .await
        .context("starting the fake logind on the session bus")?;
    let (tx, mut reports) = mpsc::unbounded_channel();
    let watcher = tokio::spawn(Logind::at(bus.as_str()).watch(move |locked| {
        let _ = tx.send(locked);
    }));

    assert!(
        !next(&mut reports).await?,
        "the watcher first reports the session unlocked, as it is"
    );
    set_locked(&logind, true).await?;
    assert!(
        next(&mut reports).await?,
        "locking the session reports Locked(true)"
    );
    set_locked(&logind, false).await?;
    assert!(
        !next(&mut reports).await?,
        "unlocking the session reports Locked(false)"
    );
    assert!(
        !watcher.is_finished(),
        "the watcher keeps watching while logind is there"
    );
    watcher.abort();
    Ok(())
}
