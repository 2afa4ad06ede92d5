//! `cargo xtask fuzz [TARGET|all] [--time SECONDS]`: runs the cargo-fuzz targets of
//! `fuzz/` (installing cargo-fuzz when missing), one after another, on the stable
//! toolchain (no sanitizer), each for the given time, with its seeds and dictionary; prints
//! one line per target (executions, seconds, crashes) and writes them into the "Last run"
//! table of `fuzz/README.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::proc;

const README: &str = "fuzz/README.md";
const TABLE_START: &str = "<!-- fuzz:last-run:start -->";
const TABLE_END: &str = "<!-- fuzz:last-run:end -->";
const HEADER: &str =
    "| target | executions | seconds | crashes | date |\n| --- | ---: | ---: | ---: | --- |";

/// Seconds each target runs unless `--time` says otherwise.
const DEFAULT_SECONDS: u64 = 60;
/// An input that takes longer than this is a finding (libFuzzer saves it as `timeout-…`):
/// every decoder must answer in milliseconds, and even a target's periodic rebuild of its
/// org takes a few seconds at most.
const INPUT_TIMEOUT_SECONDS: u64 = 30;

/// What one target's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Figures {
    executions: u64,
    seconds: u64,
    crashes: usize,
}

/// Runs `args` (`[TARGET|all] [--time SECONDS]`).
pub fn fuzz(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (which, seconds) = parse_args(args)?;
    let tools = ensure_cargo_fuzz(root)?;
    let path = std::env::join_paths(std::iter::once(tools).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let dir = root.join("fuzz");
    let listed = proc::run_tee(&mut cargo_fuzz(&["list"], &path), &dir)?;
    let all: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let targets = match which.as_deref() {
        None | Some("all") => all,
        Some(one) if all.iter().any(|t| t == one) => vec![one.to_owned()],
        Some(other) => bail!("no fuzz target `{other}`; there are: {}", all.join(", ")),
    };
    let mut results = Vec::new();
    let readme = root.join(README);
    for target in &targets {
        let figures = run_target(&dir, &path, target, seconds)?;
        println!(
            "fuzz {target}: {} executions in {} s, {} crash(es)",
            thousands(figures.executions),
            figures.seconds,
            figures.crashes
        );
        // Written after each target, so a campaign stopped early keeps what ran.
        let current =
            std::fs::read_to_string(&readme).with_context(|| format!("reading {README}"))?;
        let row = [(target.clone(), figures.clone())];
        std::fs::write(
            &readme,
            with_last_run(&current, &row, &crate::bench::today()?),
        )
        .with_context(|| format!("writing {README}"))?;
        results.push((target.clone(), figures));
    }
    println!("\nwritten to {README}");
    for (target, figures) in &results {
        println!(
            "{target:<20} {:>14} executions {:>6} s {:>3} crash(es)",
            thousands(figures.executions),
            figures.seconds,
            figures.crashes
        );
    }
    let crashed: Vec<&str> = results
        .iter()
        .filter(|(_, f)| f.crashes > 0)
        .map(|(t, _)| t.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "crashes found by {}: see fuzz/artifacts/<target>/",
            crashed.join(", ")
        );
    }
    Ok(())
}

fn parse_args(args: &[String]) -> anyhow::Result<(Option<String>, u64)> {
    let mut which = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args.next().context("--time needs a number of seconds")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--time {value}: not a number of seconds"))?;
            }
            flag if flag.starts_with("--") => {
                bail!("usage: cargo xtask fuzz [TARGET|all] [--time SECONDS] (got {flag})")
            }
            name if which.is_none() => which = Some(name.to_owned()),
            extra => bail!("one target at a time, or `all` (got {extra} too)"),
        }
    }
    Ok((which, seconds))
}

/// Installs cargo-fuzz into the project's tools folder unless one is on the PATH already;
/// returns that folder.
fn ensure_cargo_fuzz(root: &Path) -> anyhow::Result<std::path::PathBuf> {
    if proc::has("cargo-fuzz") {
        return Ok(root.join(".tools/bin"));
    }
    crate::deps::cargo_tool(root, "cargo-fuzz", None)
}

/// `cargo fuzz ARGS` with `path` as PATH (where cargo-fuzz was installed). Its builds go
/// to `fuzz/target` whatever target folder the workspace uses: they need libFuzzer's
/// flags, so they share nothing with the workspace's builds.
fn cargo_fuzz(args: &[&str], path: &std::ffi::OsStr) -> std::process::Command {
    let mut cmd = proc::cargo(&["fuzz"]);
    cmd.args(args)
        .env("PATH", path)
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Builds and runs one target for `seconds`; its figures.
fn run_target(
    dir: &Path,
    path: &std::ffi::OsStr,
    target: &str,
    seconds: u64,
) -> anyhow::Result<Figures> {
    // Built first, so the time measured is fuzzing, not compiling.
    proc::run(
        &mut cargo_fuzz(&["build", "--sanitizer", "none", target], path),
        dir,
    )?;
    let corpus = format!("corpus/{target}");
    std::fs::create_dir_all(dir.join(&corpus))?;
    let artifacts = dir.join("artifacts").join(target);
    let before = findings(&artifacts);
    let mut args = vec![
        "run".to_owned(),
        "--sanitizer".to_owned(),
        "none".to_owned(),
        target.to_owned(),
        // New inputs go to the first folder; the committed seeds are read only.
        corpus,
    ];
    if dir.join("seeds").join(target).is_dir() {
        args.push(format!("seeds/{target}"));
    }
    args.extend([
        "--".to_owned(),
        format!("-max_total_time={seconds}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
        "-print_final_stats=1".to_owned(),
    ]);
    if dir.join(format!("{target}.dict")).is_file() {
        args.push(format!("-dict={target}.dict"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    // A crash ends the run with a failure; the figures are read all the same.
    let (status, output) = proc::run_tee_status(&mut cargo_fuzz(&args, path), dir)?;
    let wall = started.elapsed().as_secs();
    let crashes = findings(&artifacts).len().saturating_sub(before.len());
    if !status.success() && crashes == 0 {
        bail!("fuzzing {target} failed ({status}) without saving a finding");
    }
    let (executions, seconds) = read_stats(&output)
        .with_context(|| format!("libFuzzer printed no figures for {target}"))?;
    Ok(Figures {
        executions,
        seconds: seconds.unwrap_or(wall),
        crashes,
    })
}

/// The inputs libFuzzer saved as findings (crashes, timeouts, running out of memory).
fn findings(artifacts: &Path) -> Vec<String> {
    std::fs::read_dir(artifacts)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    ["crash-", "timeout-", "oom-", "leak-"]
                        .iter()
                        .any(|p| n.starts_with(p))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Executions and seconds from libFuzzer's output: `stat::number_of_executed_units`
/// (printed at the end of every run, a crash's too) or `Done N runs in S second(s)`
/// (printed when the time is up).
fn read_stats(output: &str) -> Option<(u64, Option<u64>)> {
    let mut executions = None;
    let mut seconds = None;
    for line in output.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            executions = n.trim().parse().ok().or(executions);
        } else if let Some(rest) = line.strip_prefix("Done ") {
            let mut words = rest.split_whitespace();
            let runs = words.next().and_then(|n| n.parse().ok());
            let secs = words.nth(2).and_then(|s| s.parse().ok());
            if words.next().is_some_and(|w| w.starts_with("second")) {
                executions = executions.or(runs);
                seconds = secs;
            }
        }
    }
    executions.map(|e| (e, seconds))
}

/// `text` with its "Last run" table holding `results` (dated `today`); other targets'
/// rows stay as they were.
fn with_last_run(text: &str, results: &[(String, Figures)], today: &str) -> String {
    let (before, table, after) = match (text.find(TABLE_START), text.find(TABLE_END)) {
        (Some(a), Some(b)) if b > a => (
            &text[..a],
            &text[a + TABLE_START.len()..b],
            &text[b + TABLE_END.len()..],
        ),
        _ => (text.trim_end(), "", "\n"),
    };
    let mut rows: BTreeMap<String, String> = table
        .lines()
        .filter_map(|l| {
            let name = l.strip_prefix("| ")?.split(" |").next()?.trim();
            (!name.is_empty() && name != "target" && !name.starts_with("---"))
                .then(|| (name.to_owned(), l.to_owned()))
        })
        .collect();
    for (target, f) in results {
        rows.insert(
            target.clone(),
            format!(
                "| {target} | {} | {} | {} | {today} |",
                thousands(f.executions),
                f.seconds,
                f.crashes
            ),
        );
    }
    let body: Vec<&str> = rows.values().map(String::as_str).collect();
    let separator = if before.ends_with('\n') { "" } else { "\n\n" };
    format!(
        "{before}{separator}{TABLE_START}\n{HEADER}\n{}\n{TABLE_END}{after}",
        body.join("\n")
    )
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_a_run_that_ran_its_time() {
        let output = "#1048576\tpulse  cov: 812 ft: 3120 corp: 233/9Kb exec/s: 17476 rss: 61Mb\n\
                      Done 1118481 runs in 61 second(s)\n\
                      stat::number_of_executed_units: 1118481\n\
                      stat::average_exec_per_sec:     18335\n";
        assert_eq!(read_stats(output), Some((1_118_481, Some(61))));
    }

    #[test]
    fn figures_are_read_from_a_run_that_crashed() {
        let output = "==123== ERROR: libFuzzer: deadly signal\n\
                      artifact_prefix='artifacts/server_push/'; Test unit written to artifacts/server_push/crash-da39\n\
                      stat::number_of_executed_units: 4242\n";
        assert_eq!(read_stats(output), Some((4_242, None)));
        assert_eq!(read_stats("error: could not compile"), None);
    }

    #[test]
    fn the_table_keeps_other_targets_and_replaces_those_that_ran() {
        let figures = |executions, seconds, crashes| Figures {
            executions,
            seconds,
            crashes,
        };
        let first = with_last_run(
            "# Fuzzing\n\nLast run:\n",
            &[
                ("parse_filter".to_owned(), figures(91_549_949, 601, 0)),
                ("server_push".to_owned(), figures(1_000, 60, 1)),
            ],
            "2026-12-07",
        );
        assert_eq!(
            first,
            format!(
                "# Fuzzing\n\nLast run:\n\n{TABLE_START}\n{HEADER}\n\
                 | parse_filter | 91,549,949 | 601 | 0 | 2026-12-07 |\n\
                 | server_push | 1,000 | 60 | 1 | 2026-12-07 |\n{TABLE_END}\n"
            )
        );
        let second = with_last_run(
            &format!("{first}\nMore text.\n"),
            &[("server_push".to_owned(), figures(2_000, 900, 0))],
            "2026-12-08",
        );
        assert!(
            second.contains("| parse_filter | 91,549,949 | 601 | 0 | 2026-12-07 |\n| server_push | 2,000 | 900 | 0 | 2026-12-08 |\n"),
            "{second}"
        );
        assert!(second.ends_with("\nMore text.\n"), "{second}");
        assert_eq!(second.matches(TABLE_START).count(), 1, "{second}");
    }

    #[test]
    fn arguments_name_one_target_or_all_and_a_time() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(args(&[]).expect("no arguments"), (None, DEFAULT_SECONDS));
        assert_eq!(
            args(&["server_pull", "--time", "900"]).expect("a target and a time"),
            (Some("server_pull".to_owned()), 900)
        );
        assert!(args(&["--time", "soon"]).is_err(), "a time is a number");
        assert!(args(&["a", "b"]).is_err(), "one target at a time");
    }
}
