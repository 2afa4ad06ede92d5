//! `cargo xtask bench <server|…>`: runs a benchmark binary (release build) and writes the
//! Markdown table it prints into `docs/BENCHMARKS.md`, in that benchmark's section, with
//! the machine and the command. Benchmarks are never tests: no thresholds.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::proc;

const FILE: &str = "docs/BENCHMARKS.md";

/// Runs the named benchmark and records its figures.
pub fn bench(root: &Path, which: Option<&str>) -> anyhow::Result<()> {
    let (name, title) = match which {
        Some("server") => ("server", "Server"),
        Some("client") => ("client", "Client"),
        Some("ui") => ("ui", "Field app grid (Chromium)"),
        other => bail!("usage: cargo xtask bench server|client|ui (got {other:?})"),
    };
    crate::deps::ensure(root, crate::deps::Need::All)?;
    let mut cmd = proc::cargo(&["bench", "--workspace", "--locked", "--bench", name]);
    // The UI benchmark serves the production build of the UI, made here.
    let ui_build = if name == "ui" {
        let dist = crate::test::ui_build(root, "bench-ui")?;
        cmd.env("OUTPOST_BENCH_UI", &dist);
        Some(dist)
    } else {
        None
    };
    let output = proc::run_tee(&mut cmd, root).context("the benchmark failed");
    if let Some(dist) = ui_build {
        let _ = std::fs::remove_dir_all(dist);
    }
    let output = output?;
    let table = output
        .split("BEGIN-MARKDOWN")
        .nth(1)
        .and_then(|rest| rest.split("END-MARKDOWN").next())
        .context("the benchmark printed no table")?
        .trim();
    let section = format!(
        "<!-- bench:{name}:start -->\n## {title}\n\nMeasured {} on {} with `cargo xtask bench {name}`.\n\n{table}\n<!-- bench:{name}:end -->",
        today()?,
        machine()
    );
    let path = root.join(FILE);
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmarks\n\nFigures from `cargo xtask bench …`, newest run per section. Wall-clock on a shared VM: compare runs on the same machine only.\n".to_owned()
    });
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{section}{}", &current[..a], &current[b + end.len()..])
        }
        _ => format!("{}\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).with_context(|| format!("writing {FILE}"))?;
    println!("{table}\n\nwritten to {FILE}");
    Ok(())
}

/// Today's date (UTC), as `yyyy-mm-dd`.
pub(crate) fn today() -> anyhow::Result<String> {
    let out = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// CPU model, cores and memory, as far as the OS tells.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {} GiB", kb / 1024 / 1024));
    format!("{cpu}, {cores} cores{memory}, {}", std::env::consts::OS)
}
