//! Scenarios: the transitions where an offline app loses work — a wipe the administrator
//! orders while an edit waits behind a conflict, and a record that leaves the user's scope
//! while they are editing it — with a real server process and its admin CLI.
//! Must hold: nothing the user did is deleted without their yes; what a wipe cannot send
//! is sealed for the user (and their org's administrator) and comes back with its op ids;
//! a record being edited stays on the device, saying why, until its change is answered.

use std::path::Path;

use outpost_core::api::{RecordKey, SyncErrorResolveArgs};
use outpost_core::{CoreError, api::RecoveryRestoreArgs};
use outpost_testkit::{DEMO_PASSWORD, ServerProcess};
use outpost_tests::{Device, api_token, first_account, set};
use serde_json::{Value, json};

fn admin(data: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let (ok, json, err) = crate::admin_cli::admin(data, args)?;
    anyhow::ensure!(ok, "admin {args:?}: {err}");
    Ok(json)
}

/// `op` through the server's online API, as `user`.
async fn online(server: &ServerProcess, user: &str, op: Value) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let token = api_token(&server.url(), user, "console").await?;
    let res = http
        .post(format!("{}/api/v1/operations", server.url()))
        .bearer_auth(token)
        .json(&op)
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.text().await?);
    Ok(res.json().await?)
}

#[tokio::test]
async fn a_wipe_ordered_while_an_edit_waits_behind_a_conflict_seals_it_for_its_user_and_the_admin()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let data = server.data_dir();
    let (id, name) = first_account();
    let a = Device::signed_in(&server.url()).await?;
    let b = Device::signed_in(&server.url()).await?;
    b.client
        .record_update(set("account", &id, "name", &format!("{name} (b)")))
        .await?;
    b.client.sync_now().await?;

    let mine = format!("{name} (a, offline)");
    a.client
        .record_update(set("account", &id, "name", &mine))
        .await?;
    a.client
        .record_update(set("account", &id, "address1_city", "Parkville"))
        .await?;
    let report = a.client.sync_now().await?;
    assert_eq!(
        (report.conflicts, report.parked),
        (1, 1),
        "the name conflicts, and the city waits behind it (B2)"
    );

    admin(data, &["deprovision"])?;
    let wiped = a.client.sync_now().await;
    assert!(matches!(wiped, Err(CoreError::Wiped)), "{wiped:?}");
    let status = a.client.session_status().await?;
    assert!(!status.offline_data, "the offline data is gone");
    assert_eq!(
        status.recoveries, 1,
        "the unsent work is sealed, not deleted"
    );

    // An administrator of the org opens it with the org's recovery key.
    let file = std::fs::read_dir(a.dir.path().join("recovery"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("no recovery file"))??
        .path();
    let sealed = std::fs::read_to_string(&file)?;
    assert!(
        !sealed.contains("Parkville"),
        "nothing of it is in the clear"
    );
    let opened = admin(data, &["recovery-open", &file.to_string_lossy()])?;
    assert!(
        opened.to_string().contains("Parkville") && opened.to_string().contains(&mine),
        "the administrator reads the work: {opened}"
    );

    // Offline comes back; the user signs in again and restores it.
    admin(data, &["provision"])?;
    a.sign_in(&server.url()).await?;
    let list = a.client.recovery_list().await?;
    assert!(list[0].restorable, "{list:?}");
    let added = a
        .client
        .recovery_restore(RecoveryRestoreArgs {
            id: list[0].id.clone(),
        })
        .await?;
    assert_eq!((added.changes, added.sync_errors), (1, 1));
    let errors = a.client.sync_errors().await?;
    assert_eq!(
        errors.len(),
        1,
        "the conflict is back for the user to resolve"
    );
    a.client
        .sync_error_resolve(SyncErrorResolveArgs {
            op_id: errors[0].op_id.clone(),
            resolution: serde_json::from_value(json!({"action": "keep_mine"}))?,
        })
        .await?;
    a.client.sync_now().await?;
    assert_eq!(
        a.client.session_status().await?.pending_ops,
        0,
        "all of it reached the server"
    );

    b.client.sync_now().await?;
    let seen = b.account(&id).await?;
    assert_eq!(
        (
            seen.fields["name"].as_deref(),
            seen.fields["address1_city"].as_deref()
        ),
        (Some(mine.as_str()), Some("Parkville")),
        "another device sees the user's restored work, applied once"
    );
    Ok(())
}

#[tokio::test]
async fn a_record_that_leaves_scope_while_it_is_edited_stays_until_the_edit_is_answered()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let (id, name) = first_account();
    let a = Device::signed_in(&server.url()).await?;
    a.client
        .record_update(set("account", &id, "name", &format!("{name} (mine)")))
        .await?;

    // The administrator gives the account to somebody else: it leaves fiona's profile
    // ("my accounts"), and her user-depth write privilege with it.
    let other = outpost_domain::demo::demo_org(outpost_testkit::DEMO_SEED)
        .users
        .into_iter()
        .find(|u| u.username == outpost_tests::other_field_user())
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("no other field user"))?;
    online(
        &server,
        "admin",
        json!({"kind": "assign", "entity": "account", "id": id,
               "owner": {"entity": "systemuser", "id": other}}),
    )
    .await?;

    let report = a.client.sync_now().await?;
    assert_eq!(report.errors, 1, "the edit is refused: {report:?}");
    let key = RecordKey {
        entity: "account".into(),
        id: id.clone(),
    };
    let why = a.client.record_why(key.clone()).await?;
    assert_eq!(why.kind, "editing", "{why:?}");
    assert!(
        why.text.contains("You are editing it"),
        "Why is this here says so: {}",
        why.text
    );
    assert_eq!(
        a.field("account", &id, "name").await?.as_deref(),
        Some(format!("{name} (mine)").as_str()),
        "with the user's change on it"
    );

    let errors = a.client.sync_errors().await?;
    a.client
        .sync_error_resolve(SyncErrorResolveArgs {
            op_id: errors[0].op_id.clone(),
            resolution: serde_json::from_value(json!({"action": "take_server"}))?,
        })
        .await?;
    a.client.sync_now().await?;
    assert!(
        a.client.record_get(key).await.is_err(),
        "once the edit is answered, the record leaves as the server said"
    );
    Ok(())
}

#[tokio::test]
async fn a_field_secured_after_it_reached_a_device_is_forgotten_there_at_its_next_sync()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let a = Device::signed_in(&server.url()).await?;
    let with_revenue = |rows: &[outpost_core::api::RecordRow]| {
        rows.iter()
            .filter(|r| r.fields.get("revenue").cloned().flatten().is_some())
            .count()
    };
    let before = a.records("account").await?;
    assert!(
        with_revenue(&before) > 1,
        "fiona holds revenues: {}",
        before.len()
    );

    // The administrator secures account.revenue; no field profile grants it to fiona.
    let http = reqwest::Client::new();
    let token = api_token(&server.url(), "admin", "console").await?;
    let mut metadata: Value = http
        .get(format!("{}/api/v1/metadata", server.url()))
        .bearer_auth(&token)
        .send()
        .await?
        .json::<Value>()
        .await?["metadata"]
        .take();
    let revenue = metadata["entities"]
        .as_array_mut()
        .and_then(|e| e.iter_mut().find(|e| e["name"] == "account"))
        .and_then(|a| a["attributes"].as_array_mut())
        .and_then(|a| a.iter_mut().find(|a| a["name"] == "revenue"))
        .ok_or_else(|| anyhow::anyhow!("no account.revenue"))?;
    revenue["secured"] = json!(true);
    let put = http
        .put(format!("{}/api/v1/admin/metadata", server.url()))
        .bearer_auth(&token)
        .json(&metadata)
        .send()
        .await?;
    anyhow::ensure!(put.status().is_success(), "{}", put.text().await?);

    // The next sync finds the metadata update waiting for fiona's yes (C16), but what she
    // may read applies at once.
    let waiting = a.client.sync_now().await;
    assert!(
        matches!(waiting, Err(CoreError::MetadataPending(_))),
        "{waiting:?}"
    );
    let now = a.records("account").await?;
    assert_eq!(
        (with_revenue(&now), now.len()),
        (0, before.len()),
        "no account on the device keeps its revenue, and none is lost"
    );
    a.client.metadata_accept().await?;
    assert_eq!(
        with_revenue(&a.records("account").await?),
        0,
        "after the user's yes, the server's pages agree"
    );
    Ok(())
}

#[tokio::test]
async fn a_device_reported_lost_deletes_the_users_store_at_its_next_contact_and_keeps_nothing()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let a = Device::signed_in(&server.url()).await?;
    let (id, name) = first_account();
    a.client
        .record_update(set("account", &id, "name", &format!("{name} (lost)")))
        .await?;
    let device_id = a
        .client
        .session_status()
        .await?
        .device_id
        .ok_or_else(|| anyhow::anyhow!("no device id"))?;
    let b = Device::signed_in(&server.url()).await?;

    admin(
        server.data_dir(),
        &["revoke-device", "--user", "fiona", "--wipe", &device_id],
    )?;
    let wiped = a.client.sync_now().await;
    assert!(matches!(wiped, Err(CoreError::Wiped)), "{wiped:?}");
    let status = a.client.session_status().await?;
    assert!(
        !status.signed_in && !status.offline_data,
        "the lost device's store is gone: {status:?}"
    );
    assert_eq!(status.recoveries, 0, "and nothing of it is kept");
    let accounts = std::fs::read_dir(a.dir.path().join("accounts"))?.count();
    assert_eq!(accounts, 0, "not even its folder");
    assert!(
        b.client.sync_now().await.is_ok(),
        "fiona's other device goes on"
    );
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn the_servers_database_is_its_os_users_alone() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let server = ServerProcess::start()?;
    // A sign-in writes, so the journal files exist too.
    Device::signed_in(&server.url()).await?;
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(server.data_dir())? {
        let path = entry?.path();
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o077,
            0,
            "{} is {mode:o}: others may read it",
            path.display()
        );
        checked.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
    }
    for name in ["org.sqlite3", "org.sqlite3-wal"] {
        assert!(
            checked.contains(&Some(name.to_owned())),
            "{name} was checked: {checked:?}"
        );
    }
    if std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        // As the finding was made: another OS user tries to read the password hashes.
        let db = server.data_dir().join("org.sqlite3");
        let read = std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", "cat"])
            .arg(&db)
            .output()?;
        assert!(
            !read.status.success(),
            "nobody cannot read {}",
            db.display()
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_store_reported_lost_while_signed_out_goes_when_its_user_signs_in_there_again()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let a = Device::signed_in(&server.url()).await?;
    let (id, name) = first_account();
    a.client
        .record_update(set("account", &id, "name", &format!("{name} (lost)")))
        .await?;
    let lost = a
        .client
        .session_status()
        .await?
        .device_id
        .ok_or_else(|| anyhow::anyhow!("no device id"))?;
    a.client
        .session_sign_out(outpost_core::api::SignOutArgs::default())
        .await?;
    admin(
        server.data_dir(),
        &["revoke-device", "--user", "fiona", "--wipe", &lost],
    )?;

    let status = a.sign_in_with(&server.url(), DEMO_PASSWORD, None).await?;
    assert!(status.signed_in, "fiona signs in on the device again");
    assert_ne!(
        status.device_id.as_deref(),
        Some(lost.as_str()),
        "as a new device"
    );
    assert_eq!(
        status.pending_ops, 0,
        "the store reported lost went with its unsent edit"
    );
    assert_eq!(
        a.field("account", &id, "name").await?.as_deref(),
        Some(name.as_str()),
        "which never reached the server: the fresh store has the server's name"
    );
    assert_eq!(
        std::fs::read_dir(a.dir.path().join("accounts"))?.count(),
        1,
        "only the new store is left"
    );
    Ok(())
}
