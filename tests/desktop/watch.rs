//! The shell's watchers of the system, against fakes on the session bus (this machine has
//! no systemd): a fake logind that owns `org.freedesktop.login1`, answers
//! `Manager.GetSession("auto")` and exposes a `Session` whose `LockedHint` the test sets;
//! and a fake NetworkManager whose `State` the test sets. Each announces changes with
//! `PropertiesChanged` as the real service does. Changes must reach the watcher's callback
//! in order; with no service on the bus a watcher must give up with an error (which the
//! app logs) instead of hanging. Then the real app, pointed at the fake NetworkManager,
//! shows the offline indicator as soon as the network goes down (the server still
//! answers, so nothing else can explain it) and goes online again when it comes back.

use std::time::Duration;

use anyhow::{Context as _, bail};
use outpost_app::watch::{Logind, NETWORK_MANAGER_ADDRESS_VAR, NetworkManager, Watcher};
use outpost_testkit::ServerProcess;
use tokio::sync::mpsc;
use zbus::OwnedObjectPath;

use crate::app::{Driver, click, gone, shown, sign_in_and_open_sales, wait_text};

const MANAGER: &str = "/org/freedesktop/login1";
const SESSION: &str = "/org/freedesktop/login1/session/_31";
const NETWORK_MANAGER: &str = "/org/freedesktop/NetworkManager";
/// `NMState` values.
const CONNECTED_GLOBAL: u32 = 70;
const CONNECTED_SITE: u32 = 60;
const DISCONNECTED: u32 = 20;

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

struct FakeNetworkManager {
    state: u32,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager")]
impl FakeNetworkManager {
    #[zbus(property)]
    fn state(&self) -> u32 {
        self.state
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

/// Sets the fake NetworkManager's `State` and announces it.
async fn set_network(nm: &zbus::Connection, state: u32) -> anyhow::Result<()> {
    let manager = nm
        .object_server()
        .interface::<_, FakeNetworkManager>(NETWORK_MANAGER)
        .await?;
    let mut fake = manager.get_mut().await;
    fake.state = state;
    fake.state_changed(manager.signal_emitter()).await?;
    Ok(())
}

/// A fake NetworkManager on the session bus, in `state`.
async fn fake_network_manager(bus: &str, state: u32) -> anyhow::Result<zbus::Connection> {
    zbus::connection::Builder::address(bus)
        .name("org.freedesktop.NetworkManager")
        .serve_at(NETWORK_MANAGER, FakeNetworkManager { state })
        .build()
        .await
        .context("starting the fake NetworkManager on the session bus")
}

/// Starts `watcher`; what it reports arrives on the receiver.
fn watching(
    watcher: impl Watcher,
) -> (
    tokio::task::JoinHandle<anyhow::Result<()>>,
    mpsc::UnboundedReceiver<bool>,
) {
    let (tx, reports) = mpsc::unbounded_channel();
    let task = tokio::spawn(watcher.watch(move |state| {
        let _ = tx.send(state);
    }));
    (task, reports)
}

/// The next state the watcher reported, waiting at most 10 s.
async fn next(reports: &mut mpsc::UnboundedReceiver<bool>) -> anyhow::Result<bool> {
    match tokio::time::timeout(Duration::from_secs(10), reports.recv()).await {
        Ok(Some(state)) => Ok(state),
        Ok(None) => bail!("the watcher stopped"),
        Err(_) => bail!("the watcher reported nothing within 10 s"),
    }
}

/// With no service on `address` the watcher gives up at once instead of waiting for one.
async fn gives_up(watcher: impl Watcher, address: &str) -> anyhow::Result<()> {
    let gave_up = tokio::time::timeout(Duration::from_secs(10), watcher.watch(|_| {}))
        .await
        .with_context(|| format!("the watcher on {address} with no service returns"))?;
    assert!(
        gave_up.is_err(),
        "with no service on {address} the watcher reports an error"
    );
    Ok(())
}

const NO_BUS: &str = "unix:path=/nonexistent/outpost-bus";

#[tokio::test]
async fn locking_and_unlocking_the_session_reaches_the_lock_watcher() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")?;
    for address in [bus.as_str(), NO_BUS] {
        gives_up(Logind::at(address), address).await?;
    }

    let logind = zbus::connection::Builder::address(bus.as_str())
        .name("org.freedesktop.login1")
        .serve_at(MANAGER, FakeManager)
        .serve_at(SESSION, FakeSession { locked: false })
        .build()
        .await
        .context("starting the fake logind on the session bus")?;
    let (watcher, mut reports) = watching(Logind::at(bus.as_str()));
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

/// One test for both, as each needs the fake to own NetworkManager's bus name (tests of
/// this target share one session bus).
#[tokio::test]
async fn the_network_going_down_and_up_reaches_the_watcher_and_takes_the_real_app_offline_and_back()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")?;
    for address in [bus.as_str(), NO_BUS] {
        gives_up(NetworkManager::at(address), address).await?;
    }

    let nm = fake_network_manager(&bus, CONNECTED_GLOBAL).await?;
    let (watcher, mut reports) = watching(NetworkManager::at(bus.as_str()));
    assert!(
        next(&mut reports).await?,
        "the watcher first reports the network up, as it is"
    );
    set_network(&nm, DISCONNECTED).await?;
    assert!(
        !next(&mut reports).await?,
        "a disconnected machine reports the network down"
    );
    // Connected to the site only still counts: the org server may be on it.
    set_network(&nm, CONNECTED_SITE).await?;
    assert!(
        next(&mut reports).await?,
        "a site connection reports the network up"
    );
    assert!(
        !watcher.is_finished(),
        "the watcher keeps watching while NetworkManager is there"
    );
    watcher.abort();

    // The real app, told of the network by the same fake.
    set_network(&nm, CONNECTED_GLOBAL).await?;
    let server = ServerProcess::start()?;
    let data = tempfile::tempdir()?;
    let driver = Driver::start(
        data.path(),
        &server.url(),
        &[(NETWORK_MANAGER_ADDRESS_VAR, bus.as_str())],
    )?;
    let c = driver.session().await?;
    let result = async {
        sign_in_and_open_sales(&c).await?;
        click(&c, "download-start").await?;
        wait_text(&c, "status-last-sync", |t| !t.contains("Never")).await?;
        gone(&c, "offline-indicator").await?;
        // The server keeps answering: only the network's word can take the app offline.
        set_network(&nm, DISCONNECTED).await?;
        shown(&c, "offline-indicator").await?;
        set_network(&nm, CONNECTED_GLOBAL).await?;
        gone(&c, "offline-indicator").await
    }
    .await;
    c.close().await?;
    drop(driver);
    result
}
