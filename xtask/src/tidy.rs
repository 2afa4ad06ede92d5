//! `cargo xtask tidy`: the conventions of STYLE.md and DESIGN §1, checked by code.
//!
//! - dependencies between the project's crates point only the allowed way;
//! - every crate root opens with a `//!` doc saying what it is for;
//! - no `mod.rs` (a module `foo.rs` sits beside its folder `foo/`);
//! - no parked tests (the ignore and should-panic test attributes);
//! - wire error codes are `outpost_protocol::WireCode` variants, never spelled out
//!   ([`codes`]);
//! - one path deletes a store with unsent work, and the shells reach the keychain only
//!   through the core ([`boundaries`]).

mod boundaries;
mod codes;

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Which project crates each crate may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("crates/domain", &[]),
    ("crates/protocol", &["outpost-domain"]),
    ("crates/store", &["outpost-domain", "outpost-protocol"]),
    ("crates/sync", &["outpost-domain", "outpost-protocol"]),
    (
        "crates/core",
        &[
            "outpost-domain",
            "outpost-protocol",
            "outpost-store",
            "outpost-sync",
        ],
    ),
    ("crates/server", &["outpost-domain", "outpost-protocol"]),
    ("crates/cli", &["outpost-core", "outpost-store"]),
    ("crates/testkit", &[]),
    (
        "crates/sim",
        &[
            "outpost-domain",
            "outpost-protocol",
            "outpost-store",
            "outpost-core",
            "outpost-server",
            "outpost-testkit",
        ],
    ),
    ("src-tauri", &["outpost-core", "outpost-store"]),
    (
        "tests",
        &[
            "outpost-app",
            "outpost-core",
            "outpost-store",
            "outpost-testkit",
            "outpost-domain",
            "outpost-protocol",
            "outpost-server",
        ],
    ),
    ("xtask", &["outpost-testkit"]),
];

pub fn tidy(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (dir, allowed) in ALLOWED {
        let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml"))?;
        for dep in normal_dependencies(&manifest) {
            if dep.starts_with("outpost-") && !allowed.contains(&dep.as_str()) {
                problems.push(format!("{dir} must not depend on {dep} (DESIGN §1)"));
            }
        }
        let src = root.join(dir).join("src");
        for entry in ["lib.rs", "main.rs"] {
            let file = src.join(entry);
            if let Ok(text) = std::fs::read_to_string(&file)
                && !text.trim_start().starts_with("//!")
            {
                problems.push(format!("{} must open with a //! doc", file.display()));
            }
        }
    }
    let wire_codes = codes::declared(&std::fs::read_to_string(root.join(codes::DECLARED_IN))?);
    if wire_codes.is_empty() {
        problems.push(format!("{}: no wire codes found", codes::DECLARED_IN));
    }
    for file in rust_files(root) {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let rel = relative.display().to_string();
        if file.file_name().is_some_and(|n| n == "mod.rs") {
            problems.push(format!("{rel}: use foo.rs beside foo/, not mod.rs"));
        }
        let text = std::fs::read_to_string(&file)?;
        if codes::checked(relative) {
            problems.extend(codes::problems(&rel, &text, &wire_codes));
        }
        problems.extend(boundaries::problems(
            &relative.to_string_lossy().replace('\\', "/"),
            &text,
        ));
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Written in two halves so this file does not trip its own check.
            for banned in [concat!("#[ig", "nore"), concat!("#[should", "_panic")] {
                if code.starts_with(banned) {
                    problems.push(format!(
                        "{rel}:{}: {banned}] parks a test; fix it or assert today's behaviour",
                        i + 1
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for p in &problems {
        eprintln!("tidy: {p}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

/// Names under `[dependencies]` (not dev- or build-dependencies).
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.to_owned());
            }
        }
    }
    deps
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["crates", "src-tauri", "tests", "xtask"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "gen" && name != "node_modules" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}
