//! `cargo xtask run`: from a fresh clone to the field app signed in to a local org server.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use outpost_testkit::{BRIDGE_LISTENING, Background, SERVER_LISTENING};

use crate::{READY_WITHIN, deps, proc};

/// Where `outpost-server` listens by default.
const SERVER_PORT: &str = "127.0.0.1:8640";

pub fn run(root: &Path) -> anyhow::Result<()> {
    deps::ensure(root, deps::Need::Build)?;
    deps::ui(root)?;
    proc::run(
        &mut proc::cargo(&["build", "--workspace", "--locked"]),
        root,
    )?;
    let home = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
        .context("no HOME to keep the demo's data in")?
        .join("outpost-dev");
    let server_dir = home.join("server");
    let client_dir = home.join("client");
    let password = demo_password_kept(&home)?;
    std::fs::create_dir_all(&server_dir)?;
    let bin = root.join("target/debug");
    // The server's usual port when it is free, so a device signed in on an earlier run
    // finds it again; any free port otherwise.
    let listen = if std::net::TcpListener::bind(SERVER_PORT).is_ok() {
        SERVER_PORT
    } else {
        "127.0.0.1:0"
    };
    let server = server_command(&bin, &server_dir, listen, &password);
    let (server, url) = Background::start(server, SERVER_LISTENING, READY_WITHIN)?;
    println!(
        "\norg server:   {url}  (data and log: {})",
        server_dir.display()
    );
    println!("admin user:   admin / {password}");
    println!("field user:   fiona / {password}");
    let outpost = |args: &[&str]| {
        let mut cmd = Command::new(bin.join("outpost"));
        cmd.arg("--data-dir").arg(&client_dir).args(args);
        cmd
    };
    let display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if display {
        proc::run(
            outpost(&["login", "--server", &url, "--user", "fiona"])
                .env("OUTPOST_PASSWORD", &password),
            root,
        )?;
        println!(
            "field app:    opening, signed in as fiona (client data: {})",
            client_dir.display()
        );
        println!("Ctrl-C stops everything.");
        let status = Command::new(bin.join("outpost-app"))
            .env("OUTPOST_DATA_DIR", &client_dir)
            .env("OUTPOST_SERVER_URL", &url)
            .status()?;
        drop(server);
        anyhow::ensure!(status.success(), "the app stopped with {status}");
    } else {
        println!("no display: serving the field app to a browser instead");
        let bridge_args = [
            "bridge",
            "--listen",
            "127.0.0.1:0",
            "--ui",
            "ui/dist",
            "--server",
            &url,
        ];
        // Without a session bus there is no Secret Service for the database key: run the
        // bridge in its own D-Bus session with an unlocked gnome-keyring whose folder
        // lives next to the demo data, so the key survives between runs.
        let mut bridge = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
            && proc::has("dbus-run-session")
            && proc::has("gnome-keyring-daemon")
        {
            let mut cmd = Command::new("dbus-run-session");
            cmd.args(["--", "bash", "xtask/scripts/desktop-session.sh"])
                .arg(bin.join("outpost"))
                .arg("--data-dir")
                .arg(&client_dir)
                .args(bridge_args)
                .env("OUTPOST_KEYRING_HOME", home.join("keyring"))
                .env("OUTPOST_SESSION_NOTIFICATIONS", "0");
            cmd
        } else {
            outpost(&bridge_args)
        };
        bridge.current_dir(root);
        let (bridge, bridge_url) = Background::start(bridge, BRIDGE_LISTENING, READY_WITHIN)?;
        println!(
            "field app:    open {bridge_url} and sign in as fiona (client data: {})",
            client_dir.display()
        );
        println!("Ctrl-C stops everything.");
        bridge.wait();
        drop(server);
    }
    Ok(())
}

/// The demo password of the data folder `home`: made once and kept in
/// `home/demo-password`, so the printed credentials stay valid across runs. The folder is
/// made 0700 and the file 0600 (Unix), existing ones too: it signs in as the admin.
fn demo_password_kept(home: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(home)?;
    private(home, 0o700)?;
    let pw_file = home.join("demo-password");
    if pw_file.exists() {
        private(&pw_file, 0o600)?;
    }
    Ok(match std::fs::read_to_string(&pw_file) {
        Ok(pw) if pw.starts_with("demo-") => {
            // Made by an older xtask from the clock (about 32 bits): the demo org in this
            // folder was loaded with it, so it stays until the folder goes.
            println!(
                "note: the demo password in {} is a weak one from an older `cargo xtask run`; \
                 delete {} to start over with a strong one",
                pw_file.display(),
                home.display()
            );
            pw.trim().to_owned()
        }
        Ok(pw) => pw.trim().to_owned(),
        Err(_) => {
            let pw = demo_password();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            // Created 0600: never readable by others, not even for a moment.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(&mut options.open(&pw_file)?, pw.as_bytes())?;
            pw
        }
    })
}

/// Sets `path`'s mode (Unix; elsewhere the folder's ACLs decide).
#[cfg(unix)]
fn private(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("making {} private ({mode:o})", path.display()))
}

#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)] // the same signature as on Unix
fn private(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// The org server of `cargo xtask run`, on `listen`, keeping its data in `data`, loading
/// the demo org with `password` — given in its environment, since every user of the
/// machine can read a command line (`ps`).
fn server_command(bin: &Path, data: &Path, listen: &str, password: &str) -> Command {
    let mut server = Command::new(bin.join("outpost-server"));
    server
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", listen])
        .env("OUTPOST_DEMO_PASSWORD", password);
    server
}

/// A new demo password: 128 random bits as 32 lowercase hex digits (one word, so a
/// double-click selects it whole).
fn demo_password() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests;
