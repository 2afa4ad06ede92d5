//! Scenario: a field user edits an account while the server is down; when it is back, one
//! sync carries the edit to the server and another device receives it.
//! Must hold: the edit shows at once offline, survives the failed sync, is applied once.

use outpost_core::{CoreError, api::SyncReport};
use outpost_testkit::ServerProcess;
use outpost_tests::{Device, first_account, set};

#[tokio::test]
async fn an_edit_made_offline_reaches_another_device_after_reconnect() -> anyhow::Result<()> {
    let (first, first_name) = first_account();
    let edited_name = format!("{first_name} Cycles");
    let mut server = ServerProcess::start()?;
    let a = Device::signed_in(&server.url()).await?;
    let b = Device::signed_in(&server.url()).await?;
    assert_eq!(
        a.account(&first).await?.fields["name"].as_deref(),
        Some(first_name.as_str()),
        "the first sync brought the demo accounts"
    );

    server.stop();
    let edited = a
        .client
        .record_update(set("account", &first, "name", &edited_name))
        .await?;
    assert!(edited.pending, "an offline edit waits for sync");
    assert_eq!(
        edited.fields["name"].as_deref(),
        Some(edited_name.as_str()),
        "and shows at once"
    );
    let offline = a.client.sync_now().await;
    assert!(
        matches!(offline, Err(CoreError::Unreachable(_))),
        "sync says the server is unreachable, got {offline:?}"
    );
    assert!(
        !a.client.session_status().await?.online,
        "the client knows it is offline"
    );
    assert_eq!(
        a.client.session_status().await?.pending_ops,
        1,
        "the edit is kept"
    );

    server.restart()?;
    let SyncReport {
        pushed,
        conflicts,
        errors,
        ..
    } = a.client.sync_now().await?;
    assert_eq!(
        (pushed, conflicts, errors),
        (1, 0, 0),
        "the edit is replayed once, cleanly"
    );
    assert_eq!(
        a.client.session_status().await?.pending_ops,
        0,
        "nothing waits any more"
    );
    let again = a.client.sync_now().await?;
    assert_eq!(again.pushed, 0, "nothing is sent twice");

    b.client.sync_now().await?;
    let seen = b.account(&first).await?;
    assert_eq!(
        seen.fields["name"].as_deref(),
        Some(edited_name.as_str()),
        "device b receives a's edit"
    );
    assert!(!seen.pending);
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_leaves_no_session() -> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let a = Device::in_memory()?;
    let err = a
        .sign_in_with(&server.url(), "wrong", None)
        .await
        .expect_err("a wrong password must not sign in");
    assert!(matches!(err, CoreError::Unauthorized), "got {err:?}");
    assert!(
        !a.client.session_status().await?.signed_in,
        "no session is left behind"
    );
    Ok(())
}
