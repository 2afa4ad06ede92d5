//! `outpost-app` is the Tauri shell of the field app. It stays thin (DESIGN §6): it opens
//! the [`outpost_core::Client`] with the OS keychain, registers one command, `core`, that
//! runs any core command by name (the same dispatch as the browser bridge), starts
//! background sync and feeds it what only the desktop knows (session lock, network, window
//! visibility), and shows its notifications on the desktop. Logic belongs in
//! `outpost-core`, never here.

mod commands;
pub mod notification;
pub mod update;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use outpost_core::{Client, ClientConfig, SyncSignal};
use outpost_store::OsKeychain;
use tauri::Manager as _;

use crate::watch::Watcher;

/// The keychain service under which the database key is kept (shared with the CLI).
const KEYCHAIN_SERVICE: &str = "dev.outpost.field";

/// When set (to anything), a second app process may start beside the first: the
/// end-to-end tests start one app per test through tauri-driver. Otherwise a second start
/// hands over to the running window and exits, so two processes never open one database.
pub const MULTI_INSTANCE_VAR: &str = "OUTPOST_MULTI_INSTANCE";

/// Starts the app; returns when the last window closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut builder = tauri::Builder::default();
    // First, so that a second instance exits before it opens anything.
    if std::env::var_os(MULTI_INSTANCE_VAR).is_none() {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            focus_main_window(app);
        }));
    }
    let result = builder
        .plugin(window_state())
        .plugin(update::plugin())
        .setup(|app| {
            let installer = update::platform().map(|platform| {
                Arc::new(update::TauriInstaller {
                    app: app.handle().clone(),
                    platform,
                }) as Arc<dyn outpost_core::Installer>
            });
            let client = Arc::new(open_client(app.path().app_data_dir().ok(), installer)?);
            tauri::async_runtime::spawn(Arc::clone(&client).run_scheduler(scheduler_config()));
            tauri::async_runtime::spawn(pass_on(
                watch::session_lock(),
                "the session lock",
                Arc::clone(&client),
                SyncSignal::Locked,
            ));
            tauri::async_runtime::spawn(pass_on(
                watch::network(),
                "the network",
                Arc::clone(&client),
                |up| SyncSignal::NetworkHint { up },
            ));
            if let Some(window) = app.get_webview_window("main") {
                report_visibility(&window, Arc::clone(&client));
                save_geometry_on_change(&window);
            }
            app.manage(client);
            Ok(())
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}

/// Brings the window forward when a second start of the app handed over to this one.
fn focus_main_window(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let shown = window
            .unminimize()
            .and_then(|()| window.show())
            .and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::debug!(error = %e, "focusing the window for a second start");
        }
    }
}

/// Remembers the window's size and position between runs (the tauri.conf.json minimum
/// size still holds). With `OUTPOST_DATA_DIR` set the file lives there, so tests never
/// write the user's own.
fn window_state() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    let builder = tauri_plugin_window_state::Builder::default();
    match std::env::var_os("OUTPOST_DATA_DIR") {
        // An absolute name replaces the plugin's folder (app config dir) when joined to it.
        Some(dir) => builder.with_filename(
            PathBuf::from(dir)
                .join("window-state.json")
                .to_string_lossy(),
        ),
        None => builder,
    }
    .build()
}

/// Passes a state of the system (the session lock, the network) on to background sync.
/// Without the source (no logind or NetworkManager, another OS) sync does without: it
/// never pauses for a lock, and learns of the network only from its probes.
async fn pass_on(
    source: impl Watcher,
    what: &'static str,
    client: Arc<Client>,
    signal: impl Fn(bool) -> SyncSignal + Send + 'static,
) {
    // Owned: a borrowed name held by the callback trips rustc's `Send` check of the
    // spawned future (a higher-ranked lifetime it cannot prove).
    let name = what.to_owned();
    let watched = source
        .watch(move |state| {
            tracing::info!(source = %name, state, "a state of the system changed");
            client.signal(signal(state));
        })
        .await;
    if let Err(e) = watched {
        tracing::info!(
            source = what,
            error = %format!("{e:#}"),
            "not watched; background sync does without it"
        );
    }
}

/// Tells background sync when the window is minimized or shown again. Sync goes on either
/// way; only the metadata prompt waits for a visible window.
fn report_visibility(window: &tauri::WebviewWindow, client: Arc<Client>) {
    let this = window.clone();
    let visible = AtomicBool::new(true);
    window.on_window_event(move |event| {
        let now = match event {
            tauri::WindowEvent::Focused(true) => true,
            tauri::WindowEvent::Resized(_) => !this.is_minimized().unwrap_or(false),
            _ => return,
        };
        if visible.swap(now, Ordering::Relaxed) != now {
            client.signal(SyncSignal::Visible(now));
        }
    });
}

/// Saves the window's size and position shortly after it is moved or resized (the plugin
/// saves only on a clean exit, which a crash, a kill or a shutdown never reaches). Only the
/// last change of a burst (a drag) is written.
fn save_geometry_on_change(window: &tauri::WebviewWindow) {
    use tauri_plugin_window_state::{AppHandleExt as _, StateFlags};
    let app = window.app_handle().clone();
    let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
    window.on_window_event(move |event| {
        if !matches!(
            event,
            tauri::WindowEvent::Moved(_) | tauri::WindowEvent::Resized(_)
        ) {
            return;
        }
        let mine = generation.fetch_add(1, Ordering::Relaxed) + 1;
        let (app, generation) = (app.clone(), Arc::clone(&generation));
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            if generation.load(Ordering::Relaxed) == mine
                && let Err(e) = app.save_window_state(StateFlags::all())
            {
                tracing::warn!(error = %e, "saving the window's size and position");
            }
        });
    });
}

/// Background sync's timing; `OUTPOST_PROBE_SECS` shortens the first reachability check
/// after the server was lost (tests stop and restart servers).
fn scheduler_config() -> outpost_core::SyncTiming {
    let first = std::env::var("OUTPOST_PROBE_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(5_000, |s| s.max(1) * 1000);
    outpost_core::SyncTiming {
        probe_initial_ms: first,
        probe_max_ms: (first * 60).min(300_000),
        ..outpost_core::SyncTiming::default()
    }
}

/// `OUTPOST_DATA_DIR` overrides the app-data folder (tests point it at a temp dir);
/// `OUTPOST_SERVER_URL` pre-fills the sign-in screen.
fn open_client(
    app_data_dir: Option<PathBuf>,
    installer: Option<Arc<dyn outpost_core::Installer>>,
) -> anyhow::Result<Client> {
    let data_dir = match std::env::var_os("OUTPOST_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app_data_dir.context("this OS has no app-data folder; set OUTPOST_DATA_DIR")?,
    };
    Client::open(ClientConfig {
        data_dir,
        keys: Arc::new(OsKeychain::new(KEYCHAIN_SERVICE)),
        default_server_url: std::env::var("OUTPOST_SERVER_URL").ok(),
        notifier: Some(notification::desktop()),
        env: Default::default(),
        installer,
    })
    .map_err(|e| anyhow::anyhow!("opening the local database: {e}"))
}
