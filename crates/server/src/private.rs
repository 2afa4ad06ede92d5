//! Files only the server's OS user may open: the data folder (0700), the SQLite database
//! with its journals, and the demo credentials (0600). The org's password hashes and
//! records are in them, so another user of the machine must not read them.
//!
//! Modes are set when a file is created *and* tightened when an existing one is opened
//! (an older server, a copy or a crash may have left it open to all). Unix only: elsewhere
//! the folder's ACLs decide, as they do for any program's data folder.

use std::path::Path;

use anyhow::Context as _;

/// Creates `dir` (and its parents) if missing; the folder itself is made 0700.
///
/// # Errors
/// When it cannot be created or its mode set.
pub fn dir_create(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data folder {}", dir.display()))?;
    restrict(dir, 0o700)
}

/// Creates `path` empty if missing, and makes it (new or not) 0600.
///
/// # Errors
/// When it cannot be created or its mode set.
pub fn file_create(path: &Path) -> anyhow::Result<()> {
    drop(
        options()
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?,
    );
    restrict(path, 0o600)
}

/// Makes `path` 0600 if it exists.
///
/// # Errors
/// When its mode cannot be set.
pub fn file_tighten(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        restrict(path, 0o600)?;
    }
    Ok(())
}

/// Writes `text` to `path` (0600), replacing it.
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = options()
        .truncate(true)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // Before the text goes in: a file that existed keeps its mode when opened.
    restrict(path, 0o600)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Opens for writing, creating the file 0600 (never open to others, not even for a moment).
fn options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("making {} private ({mode:o})", path.display()))
}

#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)] // the same signature as on Unix
fn restrict(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}
