use std::collections::BTreeSet;
use std::sync::Arc;

use outpost_store::MemoryKeyStore;

use super::{COMMANDS, dispatch};
use crate::api::ErrorCode;
use crate::{Client, ClientConfig};

#[test]
fn each_command_is_declared_once() {
    let names: BTreeSet<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), COMMANDS.len(), "a name declared twice");
}

/// Each command runs on a fresh, signed-out client with its arguments omitted (`{}`):
/// it may refuse, but never as an unknown command, and a command whose arguments are
/// all optional (or that takes none) is not refused for want of them.
#[tokio::test]
async fn every_declared_command_reaches_the_client_and_no_other_does() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let client = Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })
    .expect("a client over a temp dir");
    let empty = || serde_json::Value::Object(serde_json::Map::new());
    for (name, _) in COMMANDS {
        if let Err(e) = dispatch(&client, name, empty()).await {
            assert_ne!(
                e.message,
                format!("no command `{name}`"),
                "`{name}` is dispatched"
            );
        }
    }
    let status = dispatch(&client, "session_status", empty())
        .await
        .expect("session_status needs no arguments");
    assert_eq!(status["signed_in"], false, "signed out: {status}");
    let signed_out = dispatch(&client, "session_sign_out", empty()).await;
    assert!(
        !matches!(&signed_out, Err(e) if e.code == ErrorCode::InvalidInput),
        "session_sign_out's arguments are all optional: {signed_out:?}"
    );
    let unknown = dispatch(&client, "record_frobnicate", empty()).await;
    assert_eq!(
        unknown.map_err(|e| (e.code, e.message)),
        Err((
            ErrorCode::NotFound,
            "no command `record_frobnicate`".to_owned()
        ))
    );
}

#[test]
fn the_typescript_table_gives_each_command_its_arguments_and_answer() {
    let ts = super::typescript(&ts_rs::Config::default());
    for line in [
        "  session_status: [void, SessionStatus];",
        "  record_list: [RecordListArgs, Array<RecordRow>];",
        "  record_delete: [RecordKey, null];",
        "  script_create: [RecordCreateArgs, RecordRow];",
        "  server_probe: [void, boolean];",
    ] {
        assert!(ts.contains(line), "{line} in:\n{ts}");
    }
    assert_eq!(
        ts.matches("];\n").count(),
        COMMANDS.len(),
        "one entry per command"
    );
}
