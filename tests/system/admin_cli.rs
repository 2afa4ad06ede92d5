//! Scenario: an administrator manages offline from the command line, against the data
//! folder of a running server: `outpost-server admin …` (S6–S9).
//! Must hold: every command answers JSON; a broken profile is refused with its problems
//! and a non-zero exit; a good one publishes, is assigned by user name, and its dry run
//! counts the user's records; the running server honours it at the user's next pull.

use std::path::Path;
use std::process::Command;

use outpost_testkit::ServerProcess;
use serde_json::{Value, json};

pub(crate) fn admin(data: &Path, args: &[&str]) -> anyhow::Result<(bool, Value, String)> {
    let out = Command::new(outpost_testkit::binary("outpost-server")?)
        .arg("--data-dir")
        .arg(data)
        .arg("admin")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Ok((
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A profile of fiona's own accounts (each synced every `minutes`) and the org's people,
/// written to `dir`, created, assigned to fiona and published; its id.
fn assign_accounts_only(data: &Path, dir: &Path, minutes: u32) -> anyhow::Result<String> {
    let file = dir.join("accounts-only.json");
    std::fs::write(
        &file,
        json!({"name": "Accounts only", "items": [
        {"entity": "account", "data": {"kind": "other", "mine": true},
         "sync_interval_minutes": minutes},
        {"entity": "systemuser", "data": {"kind": "all"}},
        {"entity": "team", "data": {"kind": "all"}},
        {"entity": "businessunit", "data": {"kind": "all"}}]})
        .to_string(),
    )?;
    let (ok, created, err) = admin(data, &["profile-create", &file.to_string_lossy()])?;
    anyhow::ensure!(ok, "profile-create: {err}");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let (ok, assigned, err) = admin(data, &["assign", &id, "--user", "fiona"])?;
    anyhow::ensure!(ok, "assign: {err}");
    assert_eq!(assigned["users"].as_array().map(Vec::len), Some(1));
    let (ok, published, err) = admin(data, &["publish", &id])?;
    anyhow::ensure!(ok, "publish: {err}");
    assert_eq!(published["version"], 1);
    Ok(id)
}

/// The entities of the device's profile with their sync intervals, in name order.
async fn profile_entities(device: &outpost_tests::Device) -> anyhow::Result<Vec<(String, u32)>> {
    let mut entities: Vec<(String, u32)> = device
        .client
        .sync_status()
        .await?
        .entities
        .into_iter()
        .map(|e| (e.entity, e.sync_interval_minutes))
        .collect();
    entities.sort();
    Ok(entities)
}

#[tokio::test]
async fn a_profile_assigned_or_republished_while_a_device_is_signed_in_applies_at_its_next_sync()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let data = server.data_dir();
    let device = outpost_tests::Device::signed_in(&server.url()).await?;
    let before = profile_entities(&device).await?;
    assert!(
        before.iter().any(|(e, _)| e == "contact"),
        "the sales profile takes contacts offline: {before:?}"
    );
    assert!(!device.records("contact").await?.is_empty());

    // Another profile assigned: the device's profile follows at its next sync, no
    // sign-out, and what left the profile leaves the device.
    let dir = tempfile::tempdir()?;
    let id = assign_accounts_only(data, dir.path(), 15)?;
    device.client.sync_now().await?;
    let after: Vec<String> = profile_entities(&device)
        .await?
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(
        after,
        ["account", "businessunit", "systemuser", "team"],
        "the device's profile is the new one"
    );
    assert!(
        device.records("contact").await?.is_empty(),
        "contacts left the device with the profile"
    );

    // The same profile republished with another interval (version 2).
    let file = dir.path().join("accounts-only.json");
    let mut def: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    def["items"][0]["sync_interval_minutes"] = json!(30);
    std::fs::write(&file, def.to_string())?;
    let (ok, _, err) = admin(data, &["profile-update", &id, &file.to_string_lossy()])?;
    assert!(ok, "{err}");
    let (ok, published, err) = admin(data, &["publish", &id])?;
    assert!(ok && published["version"] == 2, "{err} {published}");
    device.client.sync_now().await?;
    let republished = profile_entities(&device).await?;
    assert_eq!(
        republished.iter().find(|(e, _)| e == "account"),
        Some(&("account".to_owned(), 30)),
        "the new interval applies: {republished:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_administrator_defines_publishes_and_assigns_a_profile_from_the_command_line()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let data = server.data_dir();
    let (ok, entities, _) = admin(data, &["entities"])?;
    assert!(
        ok && entities.as_array().is_some_and(|e| e.len() >= 10),
        "{entities}"
    );
    let (ok, narrowed, err) = admin(data, &["entity", "account", "--filter", "name ne null"])?;
    assert!(ok, "{err}");
    assert_eq!(narrowed["filter"], "name ne null");
    let (ok, _, err) = admin(data, &["entity", "account", "--filter", "name eq"])?;
    assert!(
        !ok && err.contains("expected"),
        "a bad filter is refused with the reason: {err}"
    );

    let dir = tempfile::tempdir()?;
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        json!({"name": "Broken", "items": [
        {"entity": "account", "data": {"kind": "related_only"}, "sync_interval_minutes": 1}]})
        .to_string(),
    )?;
    let (ok, created, err) = admin(data, &["profile-create", &broken.to_string_lossy()])?;
    assert!(ok, "{err}");
    let broken_id = created["id"].as_str().unwrap_or_default().to_owned();
    let (_, problems, _) = admin(data, &["validate", &broken_id])?;
    let codes: Vec<&str> = problems
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"bad_interval") && codes.contains(&"unreachable_item"),
        "{problems}"
    );
    let (ok, _, err) = admin(data, &["publish", &broken_id])?;
    assert!(
        !ok && err.contains("sync interval"),
        "publishing a broken profile fails and says why: {err}"
    );

    let id = assign_accounts_only(data, dir.path(), 15)?;
    let (_, dry, _) = admin(data, &["dry-run", &id])?;
    let accounts = dry["users"][0]["records"]["account"]
        .as_u64()
        .unwrap_or_default();
    assert_eq!(
        accounts,
        outpost_tests::fiona_accounts().len() as u64,
        "{dry}"
    );

    // The running server honours it: fiona's device gets her accounts and nothing else.
    let device = outpost_tests::Device::signed_in(&server.url()).await?;
    let held = device.records("account").await?;
    assert_eq!(held.len() as u64, accounts);
    let (ok, _, _) = admin(data, &["deprovision"])?;
    assert!(ok);
    let wiped = device.client.sync_now().await;
    assert!(
        wiped.is_err(),
        "a deprovisioned org wipes the device: {wiped:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_entity_switched_off_for_offline_is_unavailable_on_the_device_with_the_reason()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let data = server.data_dir();
    let device = outpost_tests::Device::signed_in(&server.url()).await?;
    let entity = |status: &outpost_core::api::SyncStatus, name: &str| {
        status
            .entities
            .iter()
            .find(|e| e.entity == name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{name} is not in the profile: {status:?}"))
    };
    let before = device.client.sync_status().await?;
    assert!(entity(&before, "contact")?.available, "{before:?}");

    let (ok, _, err) = admin(data, &["entity", "contact", "--disable"])?;
    assert!(ok, "{err}");
    // Sync times are to the second: the next sync must be in another one.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let report = device.client.sync_now().await?;
    let off = device.client.sync_status().await?;
    let contact = entity(&off, "contact")?;
    // Each entity's own last sync (C13): contacts keep the time of their last delivery.
    assert_eq!(
        (
            contact.last_sync_at.as_deref(),
            entity(&off, "account")?.last_sync_at.as_deref()
        ),
        (
            entity(&before, "contact")?.last_sync_at.as_deref(),
            Some(report.finished_at.as_str())
        ),
        "{off:?}"
    );
    assert!(!contact.available, "{off:?}");
    assert!(
        contact
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("switched offline off for contacts")),
        "{contact:?}"
    );
    assert!(
        entity(&off, "account")?.available,
        "only that entity: {off:?}"
    );

    let (ok, _, err) = admin(data, &["entity", "contact", "--filter", ""])?;
    assert!(ok, "{err}");
    device.client.sync_now().await?;
    let back = device.client.sync_status().await?;
    assert!(entity(&back, "contact")?.available, "{back:?}");
    Ok(())
}
