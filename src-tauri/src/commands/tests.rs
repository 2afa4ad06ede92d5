use std::sync::Arc;

use outpost_core::{ClientConfig, ErrorCode};
use outpost_store::MemoryKeyStore;

use super::call;

#[tokio::test]
async fn no_arguments_or_null_mean_an_empty_object() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let client = outpost_core::Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })
    .expect("a client over a temp dir");
    for (name, _) in outpost_core::commands::COMMANDS {
        if let Err(e) = call(&client, name, None).await {
            assert!(
                !(e.code == ErrorCode::InvalidInput && e.message.contains("null")),
                "`{name}` invoked without arguments gets an object, not null: {e:?}"
            );
        }
    }
    let status = call(&client, "session_status", Some(serde_json::Value::Null))
        .await
        .expect("session_status needs no arguments");
    assert_eq!(
        status["signed_in"], false,
        "a fresh client is signed out: {status}"
    );
    let signed_out = call(&client, "session_sign_out", None).await;
    assert!(
        !matches!(&signed_out, Err(e) if e.code == ErrorCode::InvalidInput),
        "session_sign_out's arguments are all optional: {signed_out:?}"
    );
}
