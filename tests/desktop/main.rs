//! Desktop-session tests: the real OS keychain (gnome-keyring over the Secret Service), the
//! `outpost` CLI using it, the app's desktop notifications through a real notification
//! daemon, its session-lock and network watchers against a fake logind and NetworkManager
//! on the bus, and the real Tauri app driven through tauri-driver and WebKitWebDriver
//! under Xvfb. `cargo xtask test` runs
//! this target inside `xvfb-run` + `dbus-run-session` with an unlocked gnome-keyring and
//! dunst.

mod app;
mod cli;
mod keychain;
mod kill;
mod notification;
mod trust;
mod update;
mod upgrade;
mod watch;
mod window;

use std::path::Path;
use std::process::{Command, Stdio};

use outpost_testkit::{DEMO_PASSWORD, binary};

/// `outpost --data-dir dir args…` with the demo password at hand and its output captured.
fn outpost_command(dir: &Path, args: &[&str]) -> anyhow::Result<Command> {
    let mut command = Command::new(binary("outpost")?);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("OUTPOST_PASSWORD", DEMO_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(command)
}

/// Runs `outpost args…`, which must succeed; its standard output.
fn run(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = outpost_command(dir, args)?.output()?;
    anyhow::ensure!(
        out.status.success(),
        "outpost {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
