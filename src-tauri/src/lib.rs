//! `outpost-app` is the Tauri shell of the field app. It stays thin (DESIGN §6): it opens
//! the [`outpost_core::Client`] with the OS keychain, registers one command per core
//! function (same `noun_verb` names as the browser bridge), and starts background sync.
//! Logic belongs in `outpost-core`, never here.

mod commands;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use outpost_core::{Client, ClientConfig};
use outpost_store::OsKeychain;
use tauri::Manager as _;

/// The keychain service under which the database key is kept (shared with the CLI).
const KEYCHAIN_SERVICE: &str = "dev.outpost.field";

/// Starts the app; returns when the last window closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tauri::Builder::default()
        .setup(|app| {
            let client = Arc::new(open_client(app.path().app_data_dir().ok())?);
            tauri::async_runtime::spawn(
                Arc::clone(&client)
                    .run_background(Duration::from_secs(5), Duration::from_secs(15 * 60)),
            );
            app.manage(client);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session_status,
            commands::session_sign_in,
            commands::record_list,
            commands::record_update,
            commands::sync_now,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}

/// `OUTPOST_DATA_DIR` overrides the app-data folder (tests point it at a temp dir);
/// `OUTPOST_SERVER_URL` pre-fills the sign-in screen.
fn open_client(app_data_dir: Option<PathBuf>) -> anyhow::Result<Client> {
    let data_dir = match std::env::var_os("OUTPOST_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app_data_dir.context("this OS has no app-data folder; set OUTPOST_DATA_DIR")?,
    };
    Client::open(ClientConfig {
        data_dir,
        keys: Arc::new(OsKeychain::new(KEYCHAIN_SERVICE)),
        default_server_url: std::env::var("OUTPOST_SERVER_URL").ok(),
    })
    .map_err(|e| anyhow::anyhow!("opening the local database: {e}"))
}
