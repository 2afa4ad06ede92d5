//! The app's updater: Tauri's updater plugin, pointed at the org server by the core
//! ([`outpost_core::Installer`]). The core decides when an update may be installed and
//! hands over the release; this downloads the package, checks its signature with the org's
//! update key built into this app ([`ORG_UPDATE_KEY`]) and the version it was signed for,
//! installs it (a `.deb` through `dpkg`, asking for the administrator's password the way
//! the desktop does; an NSIS installer on Windows; the app bundle on macOS), and restarts.

use outpost_core::{Installer, Installing, UpdateTicket};
use tauri::AppHandle;
use tauri_plugin_updater::UpdaterExt as _;

/// The org's update public key this build trusts, from `OUTPOST_UPDATE_PUBKEY` when it was
/// built (or the development key `cargo xtask update-key` made); empty: none, and the app
/// offers no updates (see `build.rs`).
pub const ORG_UPDATE_KEY: &str = env!("OUTPOST_UPDATE_PUBKEY_BUILT");

/// The updater plugin, trusting the org's key.
pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new()
        .pubkey(ORG_UPDATE_KEY)
        .build()
}

/// `{os}-{arch}-{installer}` as the updater names this installed app; `None` when it was
/// not installed from a package (a build run from `target/`) or has no org key: such an
/// app cannot update itself.
pub fn platform() -> Option<String> {
    use tauri::utils::config::BundleType;
    use tauri::utils::platform::bundle_type;
    if ORG_UPDATE_KEY.is_empty() {
        return None;
    }
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "darwin",
        "windows" => "windows",
        _ => return None,
    };
    let arch = match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7",
        other => other,
    };
    let installer = match bundle_type()? {
        BundleType::Deb => "deb",
        BundleType::Rpm => "rpm",
        BundleType::AppImage => "appimage",
        BundleType::Msi => "msi",
        BundleType::Nsis => "nsis",
        BundleType::App => "app",
        _ => return None,
    };
    Some(format!("{os}-{arch}-{installer}"))
}

/// The Tauri side of [`Installer`].
pub struct TauriInstaller {
    /// The running app.
    pub app: AppHandle,
    /// What [`platform`] said.
    pub platform: String,
}

impl Installer for TauriInstaller {
    fn platform(&self) -> String {
        self.platform.clone()
    }

    fn install(&self, ticket: UpdateTicket) -> Installing {
        let app = self.app.clone();
        Box::pin(async move { install(&app, ticket).await })
    }

    fn restart(&self) {
        self.app.restart();
    }
}

async fn install(app: &AppHandle, ticket: UpdateTicket) -> Result<(), String> {
    // The updater insists on an endpoint; the release is already here (`restore_update`),
    // so the package's own address stands in and is never asked.
    let url = ticket.manifest["url"].as_str().unwrap_or_default();
    let url = tauri::Url::parse(url).map_err(|e| format!("the package's address {url:?}: {e}"))?;
    let mut builder = app
        .updater_builder()
        .endpoints(vec![url])
        .map_err(|e| format!("preparing the update: {e}"))?;
    for (name, value) in &ticket.headers {
        builder = builder
            .header(name.as_str(), value.as_str())
            .map_err(|e| format!("preparing the download: {e}"))?;
    }
    // A download that stalls ends in time (sync waits while an install runs).
    let updater = builder
        .timeout(std::time::Duration::from_secs(20 * 60))
        .build()
        .map_err(|e| format!("preparing the update: {e}"))?;
    // The release as the core got it from the org server; the updater then insists the
    // signature names this very version.
    let update = updater
        .restore_update(ticket.manifest)
        .map_err(|e| format!("the release the server offers cannot be read: {e}"))?
        .ok_or_else(|| "the release offered is not newer than this app".to_owned())?;
    tracing::info!(version = %update.version, "downloading and installing the update");
    let bytes = update.download(|_, _| {}, || {}).await.map_err(describe)?;
    update.install(bytes).map_err(describe)
}

/// The updater's failure in words for the user.
fn describe(e: tauri_plugin_updater::Error) -> String {
    use tauri_plugin_updater::Error;
    match e {
        Error::Minisign(_) | Error::Base64(_) | Error::SignatureUtf8(_) => {
            "The update was refused: the package is not signed with your organization's \
             update key, or it was changed after signing. Nothing was installed; tell your \
             administrator."
                .to_owned()
        }
        Error::SignedVersionMismatch { signed, announced } => format!(
            "The update was refused: the package was signed for version {signed}, but the \
             server offered it as {announced}. Nothing was installed; tell your administrator."
        ),
        Error::MissingSignedVersion => "The update was refused: its signature does not say \
             which version it is for. Nothing was installed; tell your administrator."
            .to_owned(),
        Error::Reqwest(_) | Error::Network(_) => format!(
            "The download of the update broke off ({e}). Nothing was installed; try again \
             when the connection is better."
        ),
        Error::AuthenticationFailed => {
            "Installing needs the computer's administrator password, and none was given. \
             Nothing was installed."
                .to_owned()
        }
        other => format!("The update could not be installed ({other}). Nothing was changed."),
    }
}
