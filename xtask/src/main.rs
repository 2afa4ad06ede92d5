//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `run`: installs what is missing, builds, starts a local org server with the demo org,
//!   and opens the field app signed in as the demo field user (a browser URL when there is
//!   no display).
//! - `test`: the whole suite, exactly what CI runs.
//! - `codegen [--check]`: TypeScript types from the Rust API types.
//! - `sim`: the deterministic simulation of devices, server, network and clock.
//! - `tidy`: conventions checked by code.
//! - `bundle [--debug]`: the field app's `.deb` and `.rpm`; `icons`: their icons.
//! - `bench server` / `bench client`: benchmarks, figures written into `docs/BENCHMARKS.md`.
//! - `fuzz [TARGET|all] [--time SECONDS]`: the fuzz targets of `fuzz/`, figures written into
//!   `fuzz/README.md`.

mod bench;
mod bundle;
mod deps;
mod fuzz;
mod proc;
mod run;
mod test;
mod tidy;
mod upgrade;

use std::path::PathBuf;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run::run(&root),
        Some("test") => test::test(&root),
        Some("e2e") => test::e2e(&root, &args[1..]),
        Some("e2e-in-session") => test::e2e_in_session(&root, &args[1..]),
        Some("test-in-session") => test::in_session(&root),
        Some("codegen") => codegen(&root, args.iter().any(|a| a == "--check")),
        Some("tidy") => tidy::tidy(&root),
        Some("bench") => bench::bench(&root, args.get(1).map(String::as_str)),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("bundle") => bundle::command(&root, &args[1..]),
        Some("icons") => bundle::icons(&root),
        Some("update-key") => bundle::update_key_command(&root),
        Some("next-version") => upgrade::command(&root),
        Some("deps") => deps::ensure(&root, deps::Need::All).map(|_| ()),
        Some("sim") => sim(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run               build and start the server and the field app\n  test              the whole test suite (what CI runs)\n  e2e [args]        the browser specs alone (binaries from target/debug; args go to playwright)\n  codegen [--check] regenerate (or check) ui/src/lib/api/bindings.ts\n  tidy              check the project's conventions\n  deps              install missing system packages and tools\n  bundle [--debug]  the field app's .deb and .rpm (release, or around the debug build)\n  icons             regenerate the bundlers' icons from icons/outpost.svg\n  update-key        make the development update signing key (.tools/update-key/)\n  next-version      build the next version of the app for the upgrade test (target/next-version)\n  bench server      measure the server; figures into docs/BENCHMARKS.md\n  bench client      measure the field client; figures into docs/BENCHMARKS.md\n  sim [--seeds N] [--first S] [--seed S [--trace]] [--mutant NAME|all] [--steps K] [--postgres]\n                    the deterministic simulation (crates/sim)\n  fuzz [TARGET|all] [--time SECONDS]\n                    run the fuzz targets (60 s each by default); figures into fuzz/README.md"
            );
            bail!("unknown or missing command")
        }
    }
}

/// How long a started server or bridge may take to say it listens.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask lives in the workspace")?
        .to_owned())
}

/// Builds the workspace and runs the simulation with `args` (see `crates/sim/src/main.rs`).
fn sim(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    proc::run(
        &mut proc::cargo(&["build", "--workspace", "--locked", "--bin", "outpost-sim"]),
        root,
    )?;
    let exe = root.join("target/debug/outpost-sim");
    let status = std::process::Command::new(exe)
        .args(args)
        .current_dir(root)
        .status()
        .context("running outpost-sim")?;
    if !status.success() {
        bail!("the simulation found violations (or missed a mutant)");
    }
    Ok(())
}

/// Regenerates the TypeScript bindings (or, with `--check`, fails when they drifted). The
/// generator is a test in outpost-core, so it shares the test build instead of adding one.
fn codegen(root: &std::path::Path, check: bool) -> anyhow::Result<()> {
    let mut cmd = proc::cargo(&[
        "test",
        "--workspace",
        "--locked",
        "--lib",
        "--",
        "generated_typescript",
    ]);
    if !check {
        cmd.env("OUTPOST_CODEGEN", "write");
    }
    proc::run(&mut cmd, root).context(if check {
        "the TypeScript bindings are out of date: run `cargo xtask codegen`"
    } else {
        "codegen"
    })
}
