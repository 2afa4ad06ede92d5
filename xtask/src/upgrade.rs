//! The next version of the field app, built from this tree for the upgrade test (C23,
//! S19): the same sources with the workspace version's patch number raised and one more
//! device database format (an extra migration step), bundled as a `.deb` and signed like
//! any release. `tests/upgrade` installs this checkout's app, works offline with it, and
//! updates to this build through the org server's update channel.
//!
//! The copy builds in the workspace's own target folder (`--workspace --bin
//! outpost-app`, the same features as every build here), so only the workspace's crates
//! compile again. Its binary replaces `target/debug/outpost-app` until the next build of
//! this checkout restores it, so the suite builds it after everything else has run.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::{bundle, proc};

/// What the upgrade test needs: the next version's package and its release manifest.
pub struct NextBuild {
    /// The signed `.deb`.
    pub deb: PathBuf,
    /// Its `outpost-release.json`.
    pub manifest: PathBuf,
}

/// Builds, bundles and signs the next version of the app (see the module docs).
pub fn build(root: &Path) -> anyhow::Result<NextBuild> {
    let copy = root.join("target/next-version");
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(root, &copy)?;
    let version = bump_version(&copy)?;
    add_store_format(&copy)?;
    // The lock names the workspace's crates with their version.
    proc::run(
        &mut proc::cargo(&["update", "--workspace", "--offline"]),
        &copy,
    )?;
    let mut build = proc::cargo(&["build", "--workspace", "--locked", "--bin", "outpost-app"]);
    // The next version trusts the same development key as this one.
    let key = std::fs::read_to_string(bundle::update_key(root)?.public)?;
    build
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("OUTPOST_UPDATE_PUBKEY", key.trim());
    proc::run(&mut build, &copy)?;
    let packages = bundle::bundle_from(root, &copy.join("src-tauri"), bundle::Profile::Debug)?;
    let manifest = root.join("target/debug/bundle").join(bundle::MANIFEST);
    let text = std::fs::read_to_string(&manifest)?;
    anyhow::ensure!(
        text.contains(&format!("\"version\":\"{version}\"")),
        "the next build says it is {text}"
    );
    let deb = packages.get("deb")?.to_owned();
    Ok(NextBuild { deb, manifest })
}

/// The files git knows of (committed or not, ignored ones left out), and `ui/dist`.
fn copy_tree(root: &Path, to: &Path) -> anyhow::Result<()> {
    let listed = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("listing the tree's files with git")?;
    anyhow::ensure!(listed.status.success(), "git ls-files failed");
    let mut files: Vec<PathBuf> = listed
        .stdout
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| PathBuf::from(String::from_utf8_lossy(f).into_owned()))
        .collect();
    for entry in walk(&root.join("ui/dist"))? {
        files.push(entry.strip_prefix(root)?.to_owned());
    }
    for file in files {
        let from = root.join(&file);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let dest = to.join(&file);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&from, &dest).with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// Raises the workspace version's patch number; the new version.
fn bump_version(copy: &Path) -> anyhow::Result<String> {
    let path = copy.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)?;
    let (head, rest) = text
        .split_once("[workspace.package]\nversion = \"")
        .context("Cargo.toml has no [workspace.package] version")?;
    let (version, tail) = rest.split_once('"').context("an unterminated version")?;
    let mut parts: Vec<u64> = version
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("the version {version:?}"))?;
    let Some(patch) = parts.last_mut() else {
        bail!("the version {version:?} has no parts")
    };
    *patch += 1;
    let next = parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    std::fs::write(
        &path,
        format!("{head}[workspace.package]\nversion = \"{next}\"{tail}"),
    )?;
    Ok(next)
}

/// One more device database format: `FORMAT` up by one and a step that adds a table.
fn add_store_format(copy: &Path) -> anyhow::Result<()> {
    let path = copy.join("crates/store/src/migrate.rs");
    let text = std::fs::read_to_string(&path)?;
    let marker = "pub const FORMAT: u32 = ";
    let (head, rest) = text
        .split_once(marker)
        .context("migrate.rs declares no FORMAT")?;
    let (number, tail) = rest.split_once(';').context("FORMAT's declaration")?;
    let format: u32 = number.trim().parse().context("FORMAT's value")?;
    let next = format + 1;
    let text = format!("{head}{marker}{next};{tail}");
    let steps = "const STEPS: [Step; FORMAT as usize - 1] = [";
    let (head, rest) = text.split_once(steps).context("migrate.rs has no STEPS")?;
    let (list, tail) = rest.split_once("];").context("STEPS's list")?;
    let text = format!(
        "{head}{steps}{list}, to_upgrade_probe];{tail}\n\
         /// The upgrade test's format {next}: a table the format adds.\n\
         fn to_upgrade_probe(tx: &Transaction<'_>) -> Result<(), StoreError> {{\n    \
         tx.execute_batch(\"CREATE TABLE IF NOT EXISTS upgrade_probe (id INTEGER PRIMARY KEY)\")?;\n    \
         Ok(())\n}}\n"
    );
    std::fs::write(&path, text)?;
    Ok(())
}

/// `cargo xtask next-version`: builds the next version and says where it is, to run the
/// upgrade test by hand (inside the desktop session, with this checkout's `.deb`
/// installed): `OUTPOST_NEXT_DEB=… OUTPOST_NEXT_MANIFEST=… OUTPOST_APP_BINARY=/usr/bin/outpost-app
/// cargo nextest run --workspace --locked -E 'binary(desktop) & test(/^upgrade::/)'`.
pub fn command(root: &Path) -> anyhow::Result<()> {
    let next = build(root)?;
    println!(
        "OUTPOST_NEXT_DEB={} OUTPOST_NEXT_MANIFEST={}",
        next.deb.display(),
        next.manifest.display()
    );
    Ok(())
}
