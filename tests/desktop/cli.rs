//! The `outpost` CLI end to end, with the real keychain: sign in, list, edit, sync, and a
//! second device sees the edit.

use std::process::{Command, Output};

use outpost_testkit::{DEMO_PASSWORD, ServerProcess, binary};

fn outpost(data_dir: &std::path::Path, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(binary("outpost")?)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("OUTPOST_PASSWORD", DEMO_PASSWORD)
        .output()?)
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "command must succeed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_cli_signs_in_edits_and_syncs() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    for dir in [&a, &b] {
        let text = ok(outpost(
            dir.path(),
            &["login", "--server", &server.url(), "--user", "fiona"],
        )?);
        assert!(
            text.contains("signed in as fiona"),
            "login reports the session: {text}"
        );
    }
    let list = ok(outpost(a.path(), &["list", "account"])?);
    let owned = outpost_tests::fiona_accounts();
    assert!(
        owned
            .iter()
            .all(|(id, _)| list.lines().any(|l| l.starts_with(id.as_str()))),
        "every account of fiona's is listed: {list}"
    );

    let (first, _) = outpost_tests::first_account();
    let id = first.as_str();
    let updated = ok(outpost(
        a.path(),
        &["--json", "update", "account", id, "address1_city=Tacoma"],
    )?);
    let row: serde_json::Value = serde_json::from_str(&updated)?;
    assert_eq!(
        (
            row["fields"]["address1_city"].as_str(),
            row["pending"].as_bool()
        ),
        (Some("Tacoma"), Some(true))
    );
    let sync = ok(outpost(a.path(), &["sync"])?);
    assert!(sync.contains("1 sent"), "the edit is sent: {sync}");

    ok(outpost(b.path(), &["sync"])?);
    let list_b = ok(outpost(b.path(), &["list", "account"])?);
    assert!(
        list_b
            .lines()
            .any(|l| l.starts_with(id) && l.contains("address1_city=Tacoma")),
        "device b sees it: {list_b}"
    );

    let bad = outpost(a.path(), &["update", "account", id, "nonsense"])?;
    assert_eq!(
        bad.status.code(),
        Some(5),
        "invalid input has its own exit code"
    );
    let missing = outpost(
        a.path(),
        &["update", "account", "no-such-id", "address1_city=X"],
    )?;
    assert_eq!(missing.status.code(), Some(5), "so does a missing record");
    let fresh = tempfile::tempdir()?;
    let signed_out = outpost(fresh.path(), &["list", "account"])?;
    assert_eq!(
        signed_out.status.code(),
        Some(3),
        "not signed in has its own exit code"
    );
    Ok(())
}
