//! Installs what building and testing need and that cargo and npm do not bring: Debian
//! packages (apt, non-interactively; through sudo when not root), tauri-driver, and the
//! development update key.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

use crate::proc;

/// What a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Building the app and running it.
    Build,
    /// Everything, tests included.
    All,
}

/// To build the Tauri app, SQLCipher (system OpenSSL) and the keychain client.
const BUILD: &[&str] = &[
    "build-essential",
    "pkg-config",
    "file",
    "libssl-dev",
    "libdbus-1-dev",
    "libwebkit2gtk-4.1-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libxdo-dev",
];

/// To test: a display, a session bus, a keychain, a notification daemon, the WebKit
/// WebDriver, Chromium for browser tests, PostgreSQL for the storage contract suite.
const TEST: &[&str] = &[
    "xvfb",
    "xauth",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-tools",
    "dunst",
    "webkit2gtk-driver",
    "chromium",
    "fonts-dejavu-core",
    "keyutils",
    "postgresql",
    "imagemagick",
    "desktop-file-utils",
    "sudo",
];

/// tauri-driver's version (2.x; 3.0 is an alpha).
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// Installs what is missing; returns the folder of project-local tools (put it on PATH).
pub fn ensure(root: &Path, need: Need) -> anyhow::Result<PathBuf> {
    let mut wanted: Vec<&str> = BUILD.to_vec();
    if need == Need::All {
        wanted.extend(TEST);
    }
    if cfg!(target_os = "linux") && proc::has("dpkg-query") {
        let missing: Vec<&str> = wanted.into_iter().filter(|p| !installed(p)).collect();
        if !missing.is_empty() {
            eprintln!("installing system packages: {}", missing.join(" "));
            let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
            let apt = |args: &[&str]| {
                let mut all: Vec<&str> = sudo.to_vec();
                all.extend_from_slice(args);
                let mut cmd = Command::new(all[0]);
                cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
                proc::run(&mut cmd, root)
            };
            apt(&["apt-get", "update", "-qq"])?;
            let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
            install.extend(&missing);
            apt(&install)?;
        }
    } else if cfg!(target_os = "linux") {
        eprintln!(
            "not a Debian/Ubuntu system: install the equivalents of {}",
            wanted.join(" ")
        );
    } else {
        eprintln!(
            "on this OS, install Node.js 20+ and the Tauri prerequisites (https://tauri.app/start/prerequisites/)"
        );
    }
    let tools = if need == Need::All {
        cargo_tool(root, "tauri-driver", Some(TAURI_DRIVER_VERSION))?
    } else {
        root.join(".tools/bin")
    };
    if !proc::has("npm") {
        bail!("npm is missing: install Node.js 20 or newer");
    }
    // The app's build takes the org's update key in: the development one, made once, so
    // every build of this checkout trusts the packages `cargo xtask bundle` signs.
    crate::bundle::update_key(root)?;
    Ok(tools)
}

/// Installs the cargo tool `name` (at `version`, else the newest) into the project's tools
/// folder unless it is there already; returns that folder (`.tools/bin`).
pub fn cargo_tool(root: &Path, name: &str, version: Option<&str>) -> anyhow::Result<PathBuf> {
    let bin = root.join(".tools/bin");
    if !bin.join(name).exists() {
        let mut args = vec!["install", "--quiet", "--locked", "--root", ".tools", name];
        if let Some(version) = version {
            args.extend(["--version", version]);
        }
        proc::run(&mut proc::cargo(&args), root)?;
    }
    Ok(bin)
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Whether xtask runs as root (else apt goes through sudo).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `npm ci` (when the lock changed or node_modules is missing) and `npm run build`.
pub fn ui(root: &Path) -> anyhow::Result<()> {
    let ui = root.join("ui");
    let stamp = ui.join("node_modules/.package-lock.json");
    let lock = ui.join("package-lock.json");
    let fresh = match (std::fs::metadata(&stamp), std::fs::metadata(&lock)) {
        (Ok(s), Ok(l)) => s.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if !fresh {
        proc::run(
            &mut proc::cmd("npm", &["ci", "--no-audit", "--no-fund"]),
            &ui,
        )?;
    }
    proc::run(&mut proc::cmd("npm", &["run", "build"]), &ui)
}
