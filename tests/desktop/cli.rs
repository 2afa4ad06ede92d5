//! The `outpost` CLI end to end, with the real keychain: sign in, list, edit, sync, and a
//! second device sees the edit.

use outpost_testkit::ServerProcess;

use crate::{outpost_command, run};

#[test]
fn the_cli_signs_in_edits_and_syncs() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    for dir in [&a, &b] {
        let text = run(
            dir.path(),
            &["login", "--server", &server.url(), "--user", "fiona"],
        )?;
        assert!(
            text.contains("signed in as fiona"),
            "login reports the session: {text}"
        );
    }
    let list = run(a.path(), &["list", "account"])?;
    let owned = outpost_tests::fiona_accounts();
    assert!(
        owned
            .iter()
            .all(|(id, _)| list.lines().any(|l| l.starts_with(id.as_str()))),
        "every account of fiona's is listed: {list}"
    );

    let (first, _) = outpost_tests::first_account();
    let id = first.as_str();
    let updated = run(
        a.path(),
        &["--json", "update", "account", id, "address1_city=Tacoma"],
    )?;
    let row: serde_json::Value = serde_json::from_str(&updated)?;
    assert_eq!(
        (
            row["fields"]["address1_city"].as_str(),
            row["pending"].as_bool()
        ),
        (Some("Tacoma"), Some(true))
    );
    let sync = run(a.path(), &["sync"])?;
    assert!(sync.contains("1 sent"), "the edit is sent: {sync}");

    run(b.path(), &["sync"])?;
    let list_b = run(b.path(), &["list", "account"])?;
    assert!(
        list_b
            .lines()
            .any(|l| l.starts_with(id) && l.contains("address1_city=Tacoma")),
        "device b sees it: {list_b}"
    );

    let bad = outpost_command(a.path(), &["update", "account", id, "nonsense"])?.output()?;
    assert_eq!(
        bad.status.code(),
        Some(5),
        "invalid input has its own exit code"
    );
    let missing = outpost_command(
        a.path(),
        &["update", "account", "no-such-id", "address1_city=X"],
    )?
    .output()?;
    assert_eq!(missing.status.code(), Some(5), "so does a missing record");
    let fresh = tempfile::tempdir()?;
    let signed_out = outpost_command(fresh.path(), &["list", "account"])?.output()?;
    assert_eq!(
        signed_out.status.code(),
        Some(3),
        "not signed in has its own exit code"
    );
    Ok(())
}
