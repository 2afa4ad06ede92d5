//! Arbitrary JSON as the arguments of every client command the bridge (and the Tauri
//! shell, and the CLI) dispatches, run by the real `commands::dispatch` on a real client
//! signed in to a real org server on loopback: the first byte picks the command, the rest
//! is its JSON. Every command answers a value or an error, never a panic, and never an
//! `internal` error (the client failing on what its caller sent).
//!
//! Skipped, because they reach for the network or end the session every later input
//! needs: `session_sign_in` (its arguments name any server), `session_sign_out`,
//! `sync_now` and `server_probe`.

#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use outpost_core::api::{ErrorCode, SignInArgs};
use outpost_core::commands::{COMMANDS, dispatch};
use outpost_core::{Client, ClientConfig};
use outpost_fuzz::{FIELD_USER, PASSWORD, Renewed, demo_db, runtime};
use outpost_server::{AppState, app};

const SKIPPED: &[&str] = &[
    "session_sign_in",
    "session_sign_out",
    "sync_now",
    "server_probe",
];

/// The commands fuzzed, in `COMMANDS` order (so a saved input keeps its command).
fn commands() -> &'static [&'static str] {
    static FUZZED: OnceLock<Vec<&'static str>> = OnceLock::new();
    FUZZED.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !SKIPPED.contains(name))
            .collect()
    })
}

/// The demo org served on a loopback port for the whole process; its address.
fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free loopback port");
            let url = format!("http://{}", listener.local_addr().expect("its address"));
            let service = app(AppState::new(demo_db().await))
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            // Runs while the runtime does, i.e. while an input's command awaits it.
            tokio::spawn(async move { axum::serve(listener, service).await });
            url
        })
    })
}

/// A client (dropped before its folder) signed in as the field user, its offline data
/// downloaded.
struct Device {
    client: Client,
    _dir: tempfile::TempDir,
}

fn sign_in() -> Arc<Device> {
    let url = server_url();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let client = Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(outpost_store::MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })
    .expect("the client opens");
    let status = runtime()
        .block_on(client.session_sign_in(SignInArgs {
            server_url: url.to_owned(),
            username: FIELD_USER.to_owned(),
            password: PASSWORD.to_owned(),
            download: Some(true),
            allow_http: None,
        }))
        .expect("the field user signs in");
    assert!(status.signed_in, "signed in");
    Arc::new(Device { client, _dir: dir })
}

/// What inputs change (records, outbox, drafts) piles up; a new device every so many.
static DEVICE: Mutex<Renewed<Arc<Device>>> = Mutex::new(Renewed::new(5_000));

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let commands = commands();
    let command = commands[usize::from(pick) % commands.len()];
    // As the bridge reads a body: empty is no arguments, anything else must be JSON.
    let args = if json.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice(json) {
            Ok(args) => args,
            Err(_) => return,
        }
    };
    let device = DEVICE.lock().expect("one fuzzing thread").get(sign_in);
    match runtime().block_on(dispatch(&device.client, command, args)) {
        Ok(value) => outpost_fuzz::show(format_args!("{command}: {value}")),
        Err(e) => {
            outpost_fuzz::show(format_args!("{command}: {e:?}"));
            assert!(
                e.code != ErrorCode::Internal,
                "{command} failed on its arguments: {}",
                e.message
            );
        }
    }
});
