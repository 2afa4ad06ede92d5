//! Scenario: an administrator manages offline from the command line, against the data
//! folder of a running server: `outpost-server admin …` (S6–S9).
//! Must hold: every command answers JSON; a broken profile is refused with its problems
//! and a non-zero exit; a good one publishes, is assigned by user name, and its dry run
//! counts the user's records; the running server honours it at the user's next pull.

use std::path::Path;
use std::process::Command;

use outpost_testkit::ServerProcess;
use serde_json::{Value, json};

fn admin(data: &Path, args: &[&str]) -> anyhow::Result<(bool, Value, String)> {
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

    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        json!({"name": "Accounts only", "items": [
        {"entity": "account", "data": {"kind": "other", "mine": true}},
        {"entity": "systemuser", "data": {"kind": "all"}},
        {"entity": "team", "data": {"kind": "all"}},
        {"entity": "businessunit", "data": {"kind": "all"}}]})
        .to_string(),
    )?;
    let (ok, created, err) = admin(data, &["profile-create", &good.to_string_lossy()])?;
    assert!(ok, "{err}");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let (ok, assigned, err) = admin(data, &["assign", &id, "--user", "fiona"])?;
    assert!(ok, "{err}");
    assert_eq!(assigned["users"].as_array().map(Vec::len), Some(1));
    let (ok, published, err) = admin(data, &["publish", &id])?;
    assert!(ok, "{err}");
    assert_eq!(published["version"], 1);
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
    device.client.sync_now().await?;
    let off = device.client.sync_status().await?;
    let contact = entity(&off, "contact")?;
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
