//! `cargo xtask test`: every check and test, in the order that fails fastest, with the
//! tests that need a desktop (keychain, notifications, WebDriver, browser) inside one
//! Xvfb + D-Bus session. CI runs exactly this.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

use outpost_testkit::{
    BRIDGE_LISTENING, Background, PROXY_LISTENING, PgServer, SERVER_LISTENING, SHARED_PG,
};

use crate::{READY_WITHIN, deps, proc};

/// File where the in-session half leaves its test counts for the summary line.
const COUNTS: &str = "target/xtask-test-counts";

pub fn test(root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let this_exe = std::env::current_exe()?;
    let ui = root.join("ui");
    // Two cores: the UI's install and checks (node, mostly one core, much of it waiting)
    // run beside the cargo steps, whose compiles leave a core idle in their serial
    // stretches. Their output is shown when each ends.
    let tools = std::thread::scope(|scope| {
        // ui/dist must exist before any cargo command that compiles the app.
        let ui_built = scope.spawn(|| deps::ui(root));
        let tools = deps::ensure(root, deps::Need::All);
        ui_built
            .join()
            .map_err(|_| anyhow::anyhow!("the UI build panicked"))??;
        tools
    })?;
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    proc::run(&mut proc::cargo(&["fmt", "--all", "--check"]), root)?;
    let vitest = std::thread::scope(|scope| -> anyhow::Result<String> {
        let checks = scope.spawn(|| ui_checks(&ui));
        let rust = (|| -> anyhow::Result<()> {
            proc::run(
                &mut proc::cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ]),
                root,
            )?;
            crate::tidy::tidy(root)?;
            crate::codegen(root, true)
        })();
        let checks = checks
            .join()
            .map_err(|_| anyhow::anyhow!("the UI checks panicked"))?;
        rust?;
        checks
    })?;
    // The binaries the end-to-end tests start.
    proc::run(
        &mut proc::cargo(&["build", "--workspace", "--locked"]),
        root,
    )?;
    // The app as a user gets it: its .deb (and .rpm) around the build above, installed
    // with apt; the desktop tests drive the installed binary.
    let packages = crate::bundle::bundle(root, crate::bundle::Profile::Debug)?;
    let installed = crate::bundle::install_deb(root, packages.get("deb")?)?;
    let _ = std::fs::remove_file(root.join(COUNTS));
    // The workspace build above may rebuild this very binary (xtask is a member), so the
    // session runs a copy taken before it could change.
    let me = root.join("target/xtask-in-session");
    std::fs::copy(&this_exe, &me).context("copying the xtask binary for the session")?;
    let mut session = desktop_session(&me, "test-in-session");
    session
        .env("PATH", &path)
        .env("TAURI_DRIVER", tools.join("tauri-driver"))
        .env(outpost_testkit::APP_BINARY_VAR, &installed);
    proc::run(&mut session, root)?;
    let inner = std::fs::read_to_string(root.join(COUNTS))
        .context("the in-session tests left no counts")?;
    let (mut passed, mut failed) = parse_pair(&inner);
    let (vp, vf) = (
        count(&vitest, "Tests", "passed"),
        count(&vitest, "Tests", "failed"),
    );
    passed += vp;
    failed += vf;
    println!(
        "cargo xtask test: every step passed in {:.0?}",
        started.elapsed()
    );
    println!("summary: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} tests failed");
    }
    Ok(())
}

/// The UI's type check, lint and unit tests, one after the other, their output shown as
/// each ends; the unit tests' output, for the summary.
fn ui_checks(ui: &Path) -> anyhow::Result<String> {
    let mut vitest = String::new();
    for args in [&["run", "check"][..], &["run", "lint"], &["test"]] {
        let mut cmd = proc::cmd("npm", args);
        let (status, output) = proc::run_quiet(&mut cmd, ui)?;
        print!("{output}");
        if !status.success() {
            bail!("`npm {}` failed ({status})", args.join(" "));
        }
        vitest = output;
    }
    Ok(vitest)
}

/// The half of the suite that runs inside the desktop session.
pub fn in_session(root: &Path) -> anyhow::Result<()> {
    // One PostgreSQL for the whole run: each test that asks for one gets a database of its
    // own there instead of a cluster of its own (initdb + start + stop, ~1.5 s a test).
    // Stopped and removed when this returns.
    let pg = PgServer::start_cluster().context("starting the tests' shared PostgreSQL")?;
    let nextest = proc::has("cargo-nextest");
    // Everything but the upgrade test, which needs the next version built (below).
    let mut tests = if nextest {
        proc::cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
            "-E",
            &format!("not ({UPGRADE_TEST})"),
        ])
    } else {
        proc::cargo(&[
            "test",
            "--workspace",
            "--locked",
            "--no-fail-fast",
            "--",
            "--skip",
            "upgrade::",
        ])
    };
    tests.env(SHARED_PG, pg.server());
    let rust = proc::run_tee(&mut tests, root)?;
    drop(pg);
    let rust_passed = count(&rust, " run:", "passed").max(sum_cargo_test(&rust));
    // The next version of the app builds while the browser specs run (one worker, mostly
    // waiting on the browser); the upgrade test comes last, as it replaces the installed
    // app and target/debug/outpost-app: version N → N+1.
    let (browser, next) = std::thread::scope(|scope| {
        let next = scope.spawn(|| crate::upgrade::build(root));
        let browser = browser_specs(root, &root.join("ui/dist"), &[]);
        let next = next
            .join()
            .map_err(|_| anyhow::anyhow!("building the next version panicked"));
        (browser, next)
    });
    let browser_passed = count(&browser?, "", "passed");
    let next = next??;
    let mut upgrade = if nextest {
        proc::cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "-E",
            UPGRADE_TEST,
        ])
    } else {
        proc::cargo(&[
            "test",
            "--workspace",
            "--locked",
            "--test",
            "desktop",
            "--",
            "upgrade::",
        ])
    };
    upgrade
        .env("OUTPOST_NEXT_DEB", &next.deb)
        .env("OUTPOST_NEXT_MANIFEST", &next.manifest);
    let upgrade = proc::run_tee(&mut upgrade, root)?;
    let upgrade_passed = count(&upgrade, " run:", "passed").max(sum_cargo_test(&upgrade));
    std::fs::write(
        root.join(COUNTS),
        format!("{} 0", rust_passed + browser_passed + upgrade_passed),
    )?;
    Ok(())
}

/// The upgrade test, as a nextest filter.
const UPGRADE_TEST: &str = "binary(desktop) & test(/^upgrade::/)";

/// `xtask <command>` (the copy at `me`) inside a throwaway desktop session: Xvfb, a
/// private D-Bus, an unlocked gnome-keyring (`xtask/scripts/desktop-session.sh`).
fn desktop_session(me: &Path, command: &str) -> Command {
    let mut session = Command::new("xvfb-run");
    session
        .args([
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            "dbus-run-session",
            "--",
            "bash",
            "xtask/scripts/desktop-session.sh",
        ])
        .arg(me)
        .arg(command);
    session
}

/// `cargo xtask e2e [playwright args…]`: the browser specs alone, for working on the UI:
/// builds `ui/dist`, then runs Playwright against a fresh server and bridge from the
/// binaries already built in `target/debug` (`cargo build --workspace --locked` first).
pub fn e2e(root: &Path, args: &[String]) -> anyhow::Result<()> {
    // The bridge keeps its key in the OS keychain: run inside the same throwaway desktop
    // session as the suite (gnome-keyring on a private D-Bus).
    let me = root.join(format!("target/xtask-e2e-{}", std::process::id()));
    std::fs::copy(std::env::current_exe()?, &me).context("copying the xtask binary")?;
    let mut session = desktop_session(&me, "e2e-in-session");
    session.args(args).env("OUTPOST_SESSION_NOTIFICATIONS", "0");
    let result = proc::run(&mut session, root);
    let _ = std::fs::remove_file(&me);
    result
}

/// The inside of [`e2e`].
pub fn e2e_in_session(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let bin = root.join("target/debug");
    for name in ["outpost-server", "outpost"] {
        anyhow::ensure!(
            bin.join(name).exists(),
            "{} is not built: run `cargo build --workspace --locked` first",
            bin.join(name).display()
        );
    }
    // Its own build of the UI, so runs side by side never serve each other a half-built one.
    let dist = ui_build(root, "e2e-dist")?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = browser_specs(root, &dist, &args);
    let _ = std::fs::remove_dir_all(&dist);
    let out = out?;
    anyhow::ensure!(count(&out, "", "failed") == 0, "some browser specs failed");
    Ok(())
}

/// Playwright on the system Chromium against a real server and the bridge.
fn browser_specs(root: &Path, ui: &Path, extra: &[&str]) -> anyhow::Result<String> {
    let bin = root.join("target/debug");
    let tmp = tempdir(root, "browser")?;
    let password = "outpost-browser-password";
    let mut server = Command::new(bin.join("outpost-server"));
    server.arg("--data-dir").arg(tmp.join("server")).args([
        "--listen",
        "127.0.0.1:0",
        "--demo-password",
        password,
        // Small pages: a download takes several round trips, so specs can watch progress.
        "--max-pull-page",
        "10",
    ]);
    let (server, direct_url) = Background::start(server, SERVER_LISTENING, READY_WITHIN)?;
    // The device reaches the server through a fault proxy the specs switch off and on
    // (offline for real); the specs' own "other device" talks to the server directly.
    let mut proxy = Command::new(bin.join("outpost-fault-proxy"));
    proxy.args(["--upstream", direct_url.trim_start_matches("http://")]);
    let (proxy, line) = Background::start(proxy, PROXY_LISTENING, READY_WITHIN)?;
    let (server_url, control_url) = line
        .split_once(" control ")
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .context("the fault proxy did not say where it listens")?;
    let mut bridge = Command::new(bin.join("outpost"));
    bridge.arg("--data-dir").arg(tmp.join("client")).args([
        "bridge",
        "--listen",
        "127.0.0.1:0",
        "--ui",
        &ui.to_string_lossy(),
        "--probe-every",
        "600",
        "--server",
        &server_url,
    ]);
    let (bridge, bridge_line) = Background::start(bridge, BRIDGE_LISTENING, READY_WITHIN)?;
    let (bridge_url, bridge_key) = bridge_line
        .trim()
        .split_once("/#key=")
        .context("the bridge did not print its key")?;
    let out = proc::run_tee(
        proc::cmd("npx", &[&["playwright", "test"][..], extra].concat())
            .env("OUTPOST_BRIDGE_URL", bridge_url)
            .env("OUTPOST_BRIDGE_KEY", bridge_key)
            .env("OUTPOST_SERVER_URL", &server_url)
            .env("OUTPOST_DIRECT_SERVER_URL", &direct_url)
            .env("OUTPOST_PROXY_CONTROL", &control_url)
            .env("OUTPOST_DEMO_USER", "fiona")
            .env("OUTPOST_DEMO_PASSWORD", password),
        &root.join("ui"),
    );
    drop((bridge, proxy, server));
    let _ = std::fs::remove_dir_all(&tmp);
    out
}

/// A production build of the UI in a fresh folder of its own (`name` under
/// `target/xtask-tmp`), for a server of its own; the caller removes it.
pub(crate) fn ui_build(root: &Path, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dist = tempdir(root, name)?;
    proc::run(
        &mut proc::cmd(
            "npx",
            &[
                "vite",
                "build",
                "--emptyOutDir",
                "--outDir",
                &dist.to_string_lossy(),
            ],
        ),
        &root.join("ui"),
    )?;
    Ok(dist)
}

fn tempdir(root: &Path, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = root
        .join("target/xtask-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The number before `word` on the last line containing `marker` (0 when absent).
fn count(output: &str, marker: &str, word: &str) -> u64 {
    output
        .lines()
        .rev()
        .filter(|l| l.contains(marker))
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[1].trim_end_matches([',', ';']) == word)
                .and_then(|w| w[0].trim_start_matches(':').parse().ok())
        })
        .unwrap_or(0)
}

/// Sum of `test result: ok. N passed` lines (plain `cargo test`).
fn sum_cargo_test(output: &str) -> u64 {
    output
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .map(|l| count(l, "", "passed"))
        .sum()
}

fn parse_pair(text: &str) -> (u64, u64) {
    let mut parts = text.split_whitespace().map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}
