//! Scenario: the `outpost` client process is killed (`SIGKILL`) at pseudo-random moments
//! while it pulls its first download and while it replays offline work, then restarted.
//! Must hold: it converges — the device ends with exactly the records another device
//! gets, every offline edit reaches the server, every record made offline exists once.

use std::process::Child;
use std::time::Duration;

use outpost_testkit::ServerProcess;
use outpost_tests::Device;

use crate::{outpost_command, run};

/// Starts `outpost args` and kills it after `after` (if it is still running).
fn kill_after(dir: &std::path::Path, args: &[&str], after: Duration) -> anyhow::Result<bool> {
    let mut child: Child = outpost_command(dir, args)?.spawn()?;
    std::thread::sleep(after);
    let killed = child.try_wait()?.is_none();
    if killed {
        child.kill()?; // SIGKILL on Unix
    }
    child.wait()?;
    Ok(killed)
}

/// Deterministic pseudo-random delays (so a failing run can be replayed).
struct Delays(u64);

impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_millis(10 + (self.0 >> 33) % max_ms)
    }
}

fn status(dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_str(&run(dir, &["--json", "status"])?)?)
}

fn json_list(dir: &std::path::Path, entity: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = run(dir, &["--json", "record-list", &format!("entity={entity}")])?;
    Ok(serde_json::from_str(&text)?)
}

#[tokio::test]
async fn a_client_killed_during_pull_and_push_converges_with_nothing_lost_or_doubled()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let seed = 0x5eed_0001;
    let mut delays = Delays(seed);
    let mut server = ServerProcess::start()?;
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let login = ["login", "--server", &server.url(), "--user", "fiona"];

    // The first download, killed and resumed.
    let mut kills = 0;
    if kill_after(dir, &login, delays.next(600))? {
        kills += 1;
    }
    for _ in 0..6 {
        if status(dir)?["signed_in"] != serde_json::Value::Bool(true) {
            run(dir, &login)?;
            continue;
        }
        if kill_after(dir, &["sync"], delays.next(300))? {
            kills += 1;
        }
    }
    if status(dir)?["signed_in"] != serde_json::Value::Bool(true) {
        run(dir, &login)?;
    }
    run(dir, &["sync"])?;
    let reference = Device::signed_in(&server.url()).await?;
    for entity in ["account", "contact", "lead"] {
        let mine: Vec<String> = json_list(dir, entity)?
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        let theirs: Vec<String> = reference
            .records(entity)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            mine, theirs,
            "{entity}: the killed device holds exactly the scope (seed {seed:#x})"
        );
    }

    // Offline work, replayed by syncs that are killed.
    server.stop();
    let me = status(dir)?["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let accounts: Vec<String> = json_list(dir, "account")?
        .iter()
        .filter(|r| {
            r["fields"]["statecode"] == "0"
                && r["fields"]["ownerid"].as_str() == Some(format!("systemuser:{me}").as_str())
        })
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .take(8)
        .collect();
    assert!(accounts.len() >= 4, "active accounts to edit");
    for (i, id) in accounts.iter().enumerate() {
        run(
            dir,
            &[
                "record-update",
                "entity=account",
                &format!("id={id}"),
                &format!("fields.address1_city=Killed {i}"),
            ],
        )?;
        run(
            dir,
            &[
                "record-create",
                "entity=account",
                &format!("fields.name=Survivor {i}"),
            ],
        )?;
    }
    assert_eq!(status(dir)?["pending_ops"], accounts.len() * 2);
    server.restart()?;
    for _ in 0..8 {
        if kill_after(dir, &["sync"], delays.next(250))? {
            kills += 1;
        }
    }
    run(dir, &["sync"])?;
    assert_eq!(
        status(dir)?["pending_ops"],
        0,
        "everything reached the server"
    );
    assert!(
        json_list(dir, "account")?
            .iter()
            .all(|r| r["pending"] == false)
    );
    assert!(
        kills > 0,
        "at least one run was killed mid-way (seed {seed:#x})"
    );

    let check = Device::signed_in(&server.url()).await?;
    let all = check.records("account").await?;
    for (i, id) in accounts.iter().enumerate() {
        let there = all.iter().find(|r| &r.id == id).expect("still in scope");
        assert_eq!(
            there.fields["address1_city"].as_deref(),
            Some(format!("Killed {i}").as_str())
        );
        let made = all
            .iter()
            .filter(|r| r.fields["name"].as_deref() == Some(format!("Survivor {i}").as_str()))
            .count();
        assert_eq!(made, 1, "Survivor {i} exists exactly once (seed {seed:#x})");
    }
    Ok(())
}
