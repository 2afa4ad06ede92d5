//! App releases the org server hosts (S19): an administrator uploads a signed package per
//! platform with the release's notes; the field app asks for an update and gets the
//! newest release for its platform, in the shape Tauri's updater reads, plus what the
//! app must know before it may install it (the store formats the new build can open).

use serde::{Deserialize, Serialize};

/// The header carrying a package's signature on upload: the content of the `.sig` file
/// `tauri signer sign` writes (base64 of a minisign signature, one line).
pub const SIGNATURE_HEADER: &str = "outpost-release-signature";

/// `PUT /api/v1/admin/releases/{version}`: creates a release or changes its notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSet {
    /// What changed, for the user's "update available" prompt.
    pub notes: String,
    /// The newest device database format the build writes (`outpost_store::FORMAT`).
    pub store_format: u32,
    /// The oldest device database format the build can move forward.
    pub min_store_format: u32,
}

/// What `outpost-app --release-manifest` prints and `cargo xtask bundle` writes beside the
/// packages (`outpost-release.json`): what an upload must say about the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    /// The app's version.
    pub version: String,
    /// The protocol version it speaks.
    pub protocol: u32,
    /// See [`ReleaseSet::store_format`].
    pub store_format: u32,
    /// See [`ReleaseSet::min_store_format`].
    pub min_store_format: u32,
}

/// A release as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    /// `major.minor.patch`.
    pub version: String,
    /// See [`ReleaseSet::notes`].
    pub notes: String,
    /// See [`ReleaseSet::store_format`].
    pub store_format: u32,
    /// See [`ReleaseSet::min_store_format`].
    pub min_store_format: u32,
    /// When it was created (RFC 3339).
    pub created_on: String,
    /// Who created it (user id).
    pub created_by: String,
    /// Its packages, by platform.
    pub packages: Vec<ReleasePackage>,
}

/// One platform's package of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePackage {
    /// `{os}-{arch}-{installer}` as Tauri's updater names it: `linux-x86_64-deb`,
    /// `linux-x86_64-rpm`, `windows-x86_64-nsis`, `darwin-aarch64-app`, …
    pub platform: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the package, hex.
    pub sha256: String,
    /// When it was uploaded (RFC 3339).
    pub uploaded_on: String,
    /// Who uploaded it (user id).
    pub uploaded_by: String,
}

/// `GET /api/v1/app/update?platform=…&current=…`: the newest release newer than `current`
/// with a package for `platform` (`204 No Content` when there is none). The fields Tauri's
/// updater reads (`version`, `notes`, `pub_date`, `url`, `signature`) keep its names;
/// `url` is relative to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    /// The release's version.
    pub version: String,
    /// Its notes.
    pub notes: String,
    /// When it was created (RFC 3339).
    pub pub_date: String,
    /// Where its package is: `/api/v1/app/releases/{version}/{platform}`.
    pub url: String,
    /// The package's signature (the `.sig` file's content).
    pub signature: String,
    /// The platform it is for.
    pub platform: String,
    /// Bytes.
    pub size: u64,
    /// See [`ReleaseSet::store_format`].
    pub store_format: u32,
    /// See [`ReleaseSet::min_store_format`].
    pub min_store_format: u32,
}

/// Whether `platform` is a name Tauri's updater uses: `{os}-{arch}` with an optional
/// `-{installer}`.
pub fn is_platform(platform: &str) -> bool {
    let mut parts = platform.split('-');
    let os = parts.next();
    let arch = parts.next();
    let installer = parts.next();
    matches!(os, Some("linux" | "windows" | "darwin"))
        && matches!(
            arch,
            Some("x86_64" | "aarch64" | "i686" | "armv7" | "riscv64")
        )
        && matches!(
            installer,
            None | Some("deb" | "rpm" | "appimage" | "nsis" | "msi" | "app")
        )
        && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::is_platform;

    #[test]
    fn platforms_are_the_updaters_names_and_nothing_else() {
        for ok in [
            "linux-x86_64-deb",
            "linux-aarch64-rpm",
            "windows-x86_64-nsis",
            "darwin-aarch64-app",
            "linux-x86_64",
        ] {
            assert!(is_platform(ok), "{ok}");
        }
        for bad in [
            "",
            "linux",
            "linux-x86_64-deb-x",
            "Linux-x86_64-deb",
            "linux-x86-deb",
            "../etc",
            "linux-x86_64-zip",
        ] {
            assert!(!is_platform(bad), "{bad}");
        }
    }
}
