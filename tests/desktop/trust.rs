//! Trust, tried as the findings were made: the real `outpost` CLI with the real keychain, a
//! real server process, and another OS user on the same machine.
//!
//! Must hold: a user's unsent work survives their server being typed another way and
//! another user signing in on the same device; the browser bridge answers nobody without
//! its run's key, no other site, and nothing but JSON; a password on the command line is
//! warned about.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use outpost_testkit::ServerProcess;

use crate::{outpost_command, run};

/// `outpost --json status` as JSON.
fn status(dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_str(&run(dir, &["--json", "status"])?)?)
}

/// The account's name as the server has it now (read through a second, fresh device).
fn server_name(server: &ServerProcess, id: &str) -> anyhow::Result<String> {
    let other = tempfile::tempdir()?;
    run(
        other.path(),
        &["login", "--server", &server.url(), "--user", "fiona"],
    )?;
    let list = run(other.path(), &["--json", "list", "account"])?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list)?;
    rows.iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["fields"]["name"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("account {id} is not on a fresh device"))
}

/// fiona signs in on `device`, renames her first account (`… (how)`) while the server is
/// down, and the server comes back: the account's id and its new name.
fn edit_offline(
    server: &mut ServerProcess,
    device: &std::path::Path,
    how: &str,
) -> anyhow::Result<(String, String)> {
    run(
        device,
        &["login", "--server", &server.url(), "--user", "fiona"],
    )?;
    let (id, name) = outpost_tests::first_account();
    let edited = format!("{name} ({how})");
    server.stop();
    run(
        device,
        &["update", "account", &id, &format!("name={edited}")],
    )?;
    assert_eq!(status(device)?["pending_ops"], 1, "the edit waits");
    server.restart()?;
    Ok((id, edited))
}

#[test]
fn an_offline_edit_survives_signing_in_again_with_the_server_spelled_otherwise()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let mut server = ServerProcess::start()?;
    let device = tempfile::tempdir()?;
    let (id, edited) = edit_offline(&mut server, device.path(), "edited offline")?;
    let localhost = server.url().replace("127.0.0.1", "localhost") + "/";
    run(
        device.path(),
        &["login", "--server", &localhost, "--user", "fiona"],
    )?;
    assert_eq!(
        status(device.path())?["pending_ops"],
        0,
        "the same org and user: the store was kept and its edit sent, not wiped"
    );
    assert_eq!(
        server_name(&server, &id)?,
        edited,
        "the edit reached the server"
    );
    Ok(())
}

#[test]
fn another_user_signing_in_leaves_the_first_users_unsent_work_alone() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let mut server = ServerProcess::start()?;
    let device = tempfile::tempdir()?;
    let (id, edited) = edit_offline(&mut server, device.path(), "fiona, offline")?;

    let other = outpost_tests::other_field_user();
    run(
        device.path(),
        &["login", "--server", &server.url(), "--user", &other],
    )?;
    let theirs = status(device.path())?;
    assert_eq!(theirs["username"], other.as_str());
    assert_eq!(theirs["pending_ops"], 0, "none of fiona's work is theirs");
    let list = run(device.path(), &["--json", "list", "account"])?;
    assert!(
        !list.contains(&edited),
        "they do not see fiona's unsent edit"
    );
    assert_ne!(
        server_name(&server, &id)?,
        edited,
        "nor is it sent in their session"
    );

    run(
        device.path(),
        &["login", "--server", &server.url(), "--user", "fiona"],
    )?;
    assert_eq!(
        status(device.path())?["pending_ops"],
        0,
        "fiona's store, kept as she left it, sent her edit at her sign-in"
    );
    assert_eq!(server_name(&server, &id)?, edited);
    Ok(())
}

#[test]
fn a_password_on_the_command_line_is_warned_about() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    let device = tempfile::tempdir()?;
    let out = outpost_command(
        device.path(),
        &[
            "login",
            "--server",
            &server.url(),
            "--user",
            "fiona",
            "--password",
            outpost_testkit::DEMO_PASSWORD,
        ],
    )?
    .output()?;
    assert!(out.status.success(), "it still signs in");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("visible to other users"),
        "and says why a password does not belong there: {stderr}"
    );
    let quiet = outpost_command(
        device.path(),
        &["login", "--server", &server.url(), "--user", "fiona"],
    )?
    .output()?;
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("visible to other users"),
        "OUTPOST_PASSWORD (or standard input) is the way"
    );
    Ok(())
}

/// `outpost bridge` on a free port over `device`: the process and the address it printed
/// (with its key).
fn bridge(device: &std::path::Path, ui: &std::path::Path) -> anyhow::Result<(Bridge, String)> {
    let mut child = outpost_command(
        device,
        &[
            "bridge",
            "--listen",
            "127.0.0.1:0",
            "--ui",
            &ui.to_string_lossy(),
        ],
    )?
    .stdout(Stdio::piped())
    .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let bridge = Bridge(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix(outpost_testkit::BRIDGE_LISTENING)
        .ok_or_else(|| anyhow::anyhow!("the bridge said: {line}"))?
        .to_owned();
    Ok((bridge, url))
}

struct Bridge(std::process::Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_bridge_answers_only_its_own_page_holding_the_runs_key() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    let device = tempfile::tempdir()?;
    run(
        device.path(),
        &["login", "--server", &server.url(), "--user", "fiona"],
    )?;
    let ui = tempfile::tempdir()?;
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>Outpost</title>",
    )?;
    let (_bridge, url) = bridge(device.path(), ui.path())?;
    let (base, key) = url
        .split_once("/#key=")
        .ok_or_else(|| anyhow::anyhow!("the address carries no key: {url}"))?;
    assert_eq!(key.len(), 64, "a 256-bit key");
    let list = format!("{base}/api/invoke/record_list");
    let body = r#"{"entity":"account"}"#;

    let runtime = tokio::runtime::Runtime::new()?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let post = |url: &str, headers: &[(&str, &str)], body: &'static str| {
        let mut req = http.post(url).body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        runtime.block_on(async move {
            let res = req.send().await?;
            let status = res.status().as_u16();
            Ok::<_, anyhow::Error>((status, res.text().await?))
        })
    };
    let json = ("content-type", "application/json");
    let bearer = format!("Bearer {key}");
    let auth = ("authorization", bearer.as_str());

    let (code, text) = post(&list, &[json], body)?;
    assert_eq!(code, 401, "no key, no data: {text}");
    assert!(text.contains("bridge_key"), "with its own code: {text}");
    let (code, _) = post(&list, &[json, ("authorization", "Bearer 0000")], body)?;
    assert_eq!(code, 401, "a wrong key neither");
    let (code, _) = post(
        &list,
        &[json, auth, ("origin", "http://evil.example")],
        body,
    )?;
    assert_eq!(code, 403, "another site's page is refused, key or not");
    let (code, _) = post(&list, &[json, auth, ("sec-fetch-site", "cross-site")], body)?;
    assert_eq!(
        code, 403,
        "a browser's cross-site request is refused, key or not"
    );
    let (code, _) = post(&list, &[json, auth, ("host", "evil.example")], body)?;
    assert_eq!(
        code, 403,
        "a name that is not loopback (DNS rebinding) is refused"
    );
    let (code, _) = post(&list, &[("content-type", "text/plain"), auth], body)?;
    assert_eq!(
        code, 415,
        "a command that is not JSON is refused, key or not"
    );
    let (code, _) = post(&format!("{base}/api/invoke/session_sign_out"), &[auth], "")?;
    assert_eq!(
        code, 415,
        "a command without a JSON type is refused, even with an empty body"
    );
    assert_eq!(
        status(device.path())?["signed_in"],
        true,
        "so nobody was signed out"
    );
    let (code, text) = post(&list, &[json, auth], body)?;
    assert_eq!(
        code, 200,
        "the page holding the key gets the records: {text}"
    );
    assert!(text.contains(&outpost_tests::first_account().0));

    // Another OS user on the same machine, as the finding was made: they reach the port
    // but not the key.
    if is_root() {
        let out = Command::new("runuser")
            .args([
                "-u",
                "nobody",
                "--",
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args([
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-d",
                body,
                &list,
            ])
            .output()?;
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "401",
            "another OS user gets nothing"
        );
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
