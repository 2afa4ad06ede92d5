//! Installers and their icons, with the Tauri CLI (its bundler, icon generator and
//! signer), which xtask installs into `.tools/tauri-cli` at the version pinned in
//! `xtask/tauri-cli/package-lock.json` (npm ships it prebuilt; `cargo install tauri-cli`
//! would compile for minutes).
//!
//! - `cargo xtask bundle`: a release build of the field app and its `.deb` and `.rpm`.
//! - `cargo xtask bundle --debug`: the same packages around the debug build already in
//!   `target/debug` (what the suite installs and drives; no second build).
//! - `cargo xtask icons`: every icon the bundlers need, drawn from `icons/outpost.svg`.
//! - `cargo xtask update-key`: the development update key pair (`.tools/update-key/`).
//!
//! Each package is signed with the update key (`<package>.sig`) and the release manifest
//! (`outpost-release.json`: version, store formats) is written beside them: what
//! `outpost-server admin release-upload` takes.
//!
//! AppImage is not built: its bundler downloads linuxdeploy and its plugins from GitHub
//! at bundle time, and this project builds with the package registries only.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::{deps, proc};

/// The packages built on this OS: on Linux those that build offline; on Windows the
/// per-user NSIS installer (MSI needs WiX, fetched at bundle time, and admin rights to
/// install); on macOS the app and its disk image.
const BUNDLES: &str = if cfg!(target_os = "windows") {
    "nsis"
} else if cfg!(target_os = "macos") {
    "app,dmg"
} else {
    "deb,rpm"
};

/// The icons the bundlers take (`bundle.icon` in `src-tauri/tauri.conf.json`), by file
/// name in `icons/`.
const ICONS: &[&str] = &[
    "32x32.png",
    "64x64.png",
    "128x128.png",
    "128x128@2x.png",
    "icon.png",
    "icon.icns",
    "icon.ico",
];

/// Which build the packages hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `tauri build`: a release build with the assets served by the custom protocol.
    Release,
    /// The workspace's debug build, as it is.
    Debug,
}

/// The packages built, by kind (`deb`, `rpm`, `nsis`, …: the bundler's folder names).
#[derive(Debug)]
pub struct Packages(Vec<(String, PathBuf)>);

impl Packages {
    /// The package of `kind`.
    pub fn get(&self, kind: &str) -> anyhow::Result<&Path> {
        self.0
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, p)| p.as_path())
            .with_context(|| format!("no {kind} package was built"))
    }
}

/// The Tauri CLI, installed (again) when its pinned lock changed; returns the executable.
pub fn tauri_cli(root: &Path) -> anyhow::Result<PathBuf> {
    let pinned = root.join("xtask/tauri-cli");
    let home = root.join(".tools/tauri-cli");
    let exe = home.join("node_modules/.bin/tauri");
    let lock = std::fs::read(pinned.join("package-lock.json"))
        .context("reading xtask/tauri-cli/package-lock.json")?;
    let installed = std::fs::read(home.join("package-lock.json")).ok();
    if installed.as_deref() != Some(&lock[..]) || !exe.exists() {
        std::fs::create_dir_all(&home)?;
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(pinned.join(file), home.join(file))
                .with_context(|| format!("copying {file} into {}", home.display()))?;
        }
        proc::run(
            &mut proc::cmd("npm", &["ci", "--no-audit", "--no-fund"]),
            &home,
        )?;
    }
    Ok(exe)
}

/// `cargo xtask bundle [--debug]`.
pub fn command(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let profile = if args.iter().any(|a| a == "--debug") {
        Profile::Debug
    } else {
        Profile::Release
    };
    deps::ensure(root, deps::Need::Build)?;
    deps::ui(root)?;
    if profile == Profile::Debug {
        proc::run(
            &mut proc::cargo(&["build", "--workspace", "--locked"]),
            root,
        )?;
    }
    for (_, package) in bundle(root, profile)?.0 {
        println!("{}", package.display());
    }
    Ok(())
}

/// Builds the field app's packages for this OS (Linux: `.deb` and `.rpm`). For [`Profile::Debug`], `ui/dist` and
/// `target/debug/outpost-app` must be built already.
pub fn bundle(root: &Path, profile: Profile) -> anyhow::Result<Packages> {
    bundle_from(root, &root.join("src-tauri"), profile)
}

/// [`bundle`] of the app at `app` (a `src-tauri` folder: this checkout's, or a copy of the
/// tree as the upgrade test's next version), built into this checkout's target folder.
pub fn bundle_from(root: &Path, app: &Path, profile: Profile) -> anyhow::Result<Packages> {
    let tauri = tauri_cli(root)?;
    let out = root.join(match profile {
        Profile::Release => "target/release/bundle",
        Profile::Debug => "target/debug/bundle",
    });
    // Packages of an older version would be taken for this one's.
    let _ = std::fs::remove_dir_all(&out);
    let tauri = tauri.to_string_lossy().into_owned();
    match profile {
        // `--` hands the rest to cargo: the release build honours the lock file too.
        Profile::Release => proc::run(
            proc::cmd(
                &tauri,
                &["build", "--ci", "--bundles", BUNDLES, "--", "--locked"],
            )
            .env("CARGO_TARGET_DIR", root.join("target")),
            app,
        )?,
        Profile::Debug => proc::run(
            proc::cmd(&tauri, &["bundle", "--ci", "--debug", "--bundles", BUNDLES])
                .env("CARGO_TARGET_DIR", root.join("target")),
            app,
        )?,
    }
    let binary = root
        .join(match profile {
            Profile::Release => "target/release",
            Profile::Debug => "target/debug",
        })
        .join(format!("outpost-app{}", std::env::consts::EXE_SUFFIX));
    let manifest = release_manifest(&binary)?;
    std::fs::write(out.join(MANIFEST), &manifest)?;
    let version = serde_version(&manifest)?;
    let mut packages = Vec::new();
    for kind in BUNDLES.split(',') {
        // The bundler's folder and the package's extension, by kind.
        let (folder, ext) = match kind {
            "app" => ("macos", "app"),
            "nsis" => ("nsis", "exe"),
            other => (other, other),
        };
        let dir = out.join(folder);
        let found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("the bundler wrote no {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        match &found[..] {
            [one] => packages.push((kind.to_owned(), one.clone())),
            _ => bail!(
                "expected one {kind} package in {}, found {found:?}",
                dir.display()
            ),
        }
    }
    // Signed for the org's update channel (`<package>.sig`).
    for (_, package) in packages.iter().filter(|(_, p)| p.is_file()) {
        sign(root, package, &version)?;
    }
    Ok(Packages(packages))
}

/// Signs `package` for version `version` (`<package>.sig`) with the key of
/// [`signing_key`].
fn sign(root: &Path, package: &Path, version: &str) -> anyhow::Result<()> {
    let tauri = tauri_cli(root)?;
    let (secret, password) = signing_key(root)?;
    let secret = secret.to_string_lossy();
    let package = package.to_string_lossy();
    let mut args = vec!["signer", "sign", "--private-key-path", &secret];
    // A real password goes through the environment, out of sight of `ps`; the development
    // key has none, which only the flag can say.
    if password.is_empty() {
        args.extend(["--password", ""]);
    }
    args.extend(["--app-version", version, &package]);
    let mut sign = proc::cmd(&tauri.to_string_lossy(), &args);
    if !password.is_empty() {
        sign.env("TAURI_SIGNING_PRIVATE_KEY_PASSWORD", &password);
    }
    proc::run(&mut sign, root)
}

/// The release manifest's file name, beside the packages.
pub const MANIFEST: &str = "outpost-release.json";

/// What the built app says about itself for a release (`--release-manifest`).
fn release_manifest(binary: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new(binary)
        .arg("--release-manifest")
        .output()
        .with_context(|| format!("running {} --release-manifest", binary.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} --release-manifest failed: {}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// The `version` of a release manifest.
fn serde_version(manifest: &str) -> anyhow::Result<String> {
    // xtask has no JSON parser; the manifest is one flat object the app printed.
    let (_, rest) = manifest
        .split_once("\"version\":\"")
        .context("the release manifest has no version")?;
    Ok(rest
        .split('"')
        .next()
        .context("the release manifest's version")?
        .to_owned())
}

/// The key packages are signed with, and its password: the org's
/// (`OUTPOST_UPDATE_SECRET_KEY`, a path, with `OUTPOST_UPDATE_KEY_PASSWORD`) when set —
/// build with its public half in `OUTPOST_UPDATE_PUBKEY` then — else the development one.
fn signing_key(root: &Path) -> anyhow::Result<(PathBuf, String)> {
    let password = std::env::var("OUTPOST_UPDATE_KEY_PASSWORD").unwrap_or_default();
    match std::env::var_os("OUTPOST_UPDATE_SECRET_KEY") {
        Some(path) => {
            anyhow::ensure!(
                std::env::var_os("OUTPOST_UPDATE_PUBKEY").is_some(),
                "OUTPOST_UPDATE_SECRET_KEY is set but OUTPOST_UPDATE_PUBKEY is not: the app \
                 would trust the development key, not the one its packages are signed with"
            );
            Ok((PathBuf::from(path), password))
        }
        None => {
            anyhow::ensure!(
                std::env::var_os("OUTPOST_UPDATE_PUBKEY").is_none(),
                "OUTPOST_UPDATE_PUBKEY is set but OUTPOST_UPDATE_SECRET_KEY is not: the \
                 packages would be signed with the development key, which the app would refuse"
            );
            Ok((update_key(root)?.secret, password))
        }
    }
}

/// The development update key pair.
pub struct UpdateKey {
    /// The secret key (no password): signs packages.
    pub secret: PathBuf,
    /// The public key: built into the app (`src-tauri/build.rs`) and set as the org's
    /// `update_public_key`.
    pub public: PathBuf,
}

/// The development update key pair in `.tools/update-key/`, made with `tauri signer
/// generate` when missing. For real use an org makes its own and keeps the secret key
/// off developer machines (README, "Installers and updates").
pub fn update_key(root: &Path) -> anyhow::Result<UpdateKey> {
    let dir = root.join(".tools/update-key");
    let key = UpdateKey {
        secret: dir.join("outpost.key"),
        public: dir.join("outpost.key.pub"),
    };
    if !key.public.exists() || !key.secret.exists() {
        let tauri = tauri_cli(root)?;
        std::fs::create_dir_all(&dir)?;
        proc::run(
            &mut proc::cmd(
                &tauri.to_string_lossy(),
                &[
                    "signer",
                    "generate",
                    "--ci",
                    "--force",
                    "--password",
                    "",
                    "--write-keys",
                    &key.secret.to_string_lossy(),
                ],
            ),
            root,
        )?;
    }
    Ok(key)
}

/// `cargo xtask update-key`: makes the development key pair when missing; prints where.
pub fn update_key_command(root: &Path) -> anyhow::Result<()> {
    let key = update_key(root)?;
    println!(
        "secret {}\npublic {}",
        key.secret.display(),
        key.public.display()
    );
    Ok(())
}

/// Installs the `.deb` with apt (through sudo when not root), as a user would; returns
/// the installed app's binary.
pub fn install_deb(root: &Path, deb: &Path) -> anyhow::Result<PathBuf> {
    // apt takes a local package only as a path (`./…` or absolute).
    let deb = deb.canonicalize()?;
    let deb = deb.to_string_lossy();
    let mut args = vec![
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "--reinstall",
        // The upgrade test leaves the next version installed: this build replaces it.
        "--allow-downgrades",
        &deb,
    ];
    if !deps::is_root() {
        args.insert(0, "sudo");
    }
    let mut apt = proc::cmd(args[0], &args[1..]);
    apt.env("DEBIAN_FRONTEND", "noninteractive");
    proc::run(&mut apt, root)?;
    let desktop = Path::new("/usr/share/applications/Outpost.desktop");
    proc::run(
        &mut proc::cmd("desktop-file-validate", &[&desktop.to_string_lossy()]),
        root,
    )
    .context("the installed desktop entry is not valid")?;
    let exe = PathBuf::from("/usr/bin/outpost-app");
    anyhow::ensure!(exe.exists(), "the .deb installed no {}", exe.display());
    Ok(exe)
}

/// `cargo xtask icons`: regenerates the bundlers' icons in `icons/` from `icons/outpost.svg`.
pub fn icons(root: &Path) -> anyhow::Result<()> {
    let tauri = tauri_cli(root)?;
    let scratch = root.join("target/icons");
    let _ = std::fs::remove_dir_all(&scratch);
    proc::run(
        &mut proc::cmd(
            &tauri.to_string_lossy(),
            &["icon", "icons/outpost.svg", "--output", "target/icons"],
        ),
        root,
    )?;
    // The generator also draws mobile and Windows Store icons; the desktop bundles take these.
    for name in ICONS {
        std::fs::copy(scratch.join(name), root.join("icons").join(name))
            .with_context(|| format!("copying the generated {name}"))?;
    }
    Ok(())
}
