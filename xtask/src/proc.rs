//! Running commands: echoed before they run, failing with the command in the error.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// `cargo ARGS` with the cargo that runs xtask.
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args);
    cmd
}

/// A command from its program and arguments.
pub fn cmd(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

/// Runs `cmd` in `dir`, echoing it; an error when it fails.
pub fn run(cmd: &mut Command, dir: &Path) -> anyhow::Result<()> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {}", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", show(cmd));
    }
    Ok(())
}

/// Runs `cmd` in `dir`, echoing it and its output (stdout and stderr) as it comes, and
/// returns that output with colour codes removed, so summaries can be read from it.
pub fn run_tee(cmd: &mut Command, dir: &Path) -> anyhow::Result<String> {
    let (status, seen) = run_tee_status(cmd, dir)?;
    if !status.success() {
        bail!("`{}` failed ({status})", show(cmd));
    }
    Ok(seen)
}

/// [`run_tee`] that returns the output whatever the exit status, with that status: for a
/// command whose failure still says something worth reading.
pub fn run_tee_status(
    cmd: &mut Command,
    dir: &Path,
) -> anyhow::Result<(std::process::ExitStatus, String)> {
    use std::io::{BufRead as _, BufReader, Read, Write as _};
    fn pump<R: Read + Send + 'static>(from: R, to_stderr: bool) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in BufReader::new(from).lines().map_while(Result::ok) {
                if to_stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                seen.push_str(&strip_ansi(&line));
                seen.push('\n');
            }
            seen
        })
    }
    eprintln!("$ {}", show(cmd));
    let mut child = cmd
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", show(cmd)))?;
    let out = pump(child.stdout.take().context("piped stdout")?, false);
    let err = pump(child.stderr.take().context("piped stderr")?, true);
    let status = child.wait()?;
    let mut seen = out.join().unwrap_or_default();
    seen.push_str(&err.join().unwrap_or_default());
    Ok((status, seen))
}

/// Runs `cmd` in `dir` without showing its output as it comes: for a step that runs
/// beside another, whose output would interleave. Returns the status and the output
/// (stdout, then stderr), colour codes removed; the caller prints it when the step ends.
pub fn run_quiet(
    cmd: &mut Command,
    dir: &Path,
) -> anyhow::Result<(std::process::ExitStatus, String)> {
    let out = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", show(cmd)))?;
    let mut seen = format!("$ {}\n", show(cmd));
    seen.push_str(&strip_ansi(&String::from_utf8_lossy(&out.stdout)));
    seen.push_str(&strip_ansi(&String::from_utf8_lossy(&out.stderr)));
    Ok((out.status, seen))
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `program` is on the PATH.
pub fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn show(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}
