//! App releases (S19): an administrator creates a release (its notes and the device
//! database formats the build can open) and uploads one signed package per platform; a
//! device asks for the newest release newer than its own and downloads the package.
//!
//! A package is accepted only when it is signed with the org's update key
//! (`update_public_key` in the org settings) and the signature names the release's version
//! (`tauri signer sign --app-version`): a package changed after signing, signed with
//! another key, or signed for another version never reaches a device. The app checks the
//! same signature again with the key built into it before installing anything.
//!
//! Packages live in the database (base64 text, so both engines and every server process
//! on one PostgreSQL serve them alike); they are read whole, which suits installers of
//! tens of megabytes.

use base64::Engine as _;
use minisign_verify::{PublicKey, Signature};
use outpost_protocol::AppVersion;
use outpost_protocol::release::{
    ReleaseInfo, ReleasePackage, ReleaseSet, UpdateOffer, is_platform,
};
use sha2::Digest as _;

pub use outpost_protocol::release::SIGNATURE_HEADER;

use crate::ApiError;
use crate::db::{Conn, int, int_param, string, text};
use crate::org::Org;

/// The longest release notes kept.
pub const MAX_NOTES: usize = 64 * 1024;

/// The largest package accepted.
pub const MAX_PACKAGE: usize = 512 * 1024 * 1024;

fn version_of(version: &str) -> Result<AppVersion, ApiError> {
    AppVersion::parse(version).ok_or_else(|| {
        ApiError::invalid(format!(
            "a release version is major.minor.patch (like 1.4.0), not {version:?}"
        ))
    })
}

fn u32_of(value: &outpost_domain::query::SqlParam) -> anyhow::Result<u32> {
    Ok(u32::try_from(int(value)?)?)
}

/// Creates the release `version` or replaces its notes and formats.
///
/// # Errors
/// `invalid` for a malformed version, overlong notes or formats out of order; a database
/// error.
pub fn release_set(
    conn: &mut dyn Conn,
    version: &str,
    set: &ReleaseSet,
    by: &str,
    stamp: &str,
) -> Result<ReleaseInfo, ApiError> {
    let v = version_of(version)?;
    if set.notes.len() > MAX_NOTES {
        return Err(ApiError::invalid(format!(
            "release notes are at most {MAX_NOTES} bytes"
        )));
    }
    if set.min_store_format == 0 || set.min_store_format > set.store_format {
        return Err(ApiError::invalid(format!(
            "the store formats must satisfy 1 ≤ min_store_format ≤ store_format (got {} and {})",
            set.min_store_format, set.store_format
        )));
    }
    conn.execute(
        "INSERT INTO app_release (version, major, minor, patch, notes, store_format,
           min_store_format, created_on, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (version) DO UPDATE SET notes = excluded.notes,
           store_format = excluded.store_format, min_store_format = excluded.min_store_format",
        &[
            text(v.to_string()),
            int_param(i64::try_from(v.0).map_err(anyhow::Error::from)?),
            int_param(i64::try_from(v.1).map_err(anyhow::Error::from)?),
            int_param(i64::try_from(v.2).map_err(anyhow::Error::from)?),
            text(&set.notes),
            int_param(set.store_format),
            int_param(set.min_store_format),
            text(stamp),
            text(by),
        ],
    )?;
    release(conn, &v.to_string())?.ok_or_else(|| anyhow::anyhow!("the release just written").into())
}

/// One release with its packages.
fn release(conn: &mut dyn Conn, version: &str) -> anyhow::Result<Option<ReleaseInfo>> {
    let Some(row) = conn.query_opt(
        "SELECT version, notes, store_format, min_store_format, created_on, created_by
         FROM app_release WHERE version = $1",
        &[text(version)],
    )?
    else {
        return Ok(None);
    };
    let packages = conn
        .query(
            "SELECT platform, size, sha256, uploaded_on, uploaded_by FROM app_package
             WHERE version = $1 ORDER BY platform",
            &[text(version)],
        )?
        .iter()
        .map(|p| {
            Ok(ReleasePackage {
                platform: string(&p[0])?,
                size: u64::try_from(int(&p[1])?)?,
                sha256: string(&p[2])?,
                uploaded_on: string(&p[3])?,
                uploaded_by: string(&p[4])?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(ReleaseInfo {
        version: string(&row[0])?,
        notes: string(&row[1])?,
        store_format: u32_of(&row[2])?,
        min_store_format: u32_of(&row[3])?,
        created_on: string(&row[4])?,
        created_by: string(&row[5])?,
        packages,
    }))
}

/// Every release, newest first.
///
/// # Errors
/// A database error.
pub fn releases(conn: &mut dyn Conn) -> Result<Vec<ReleaseInfo>, ApiError> {
    let versions = conn.query(
        "SELECT version FROM app_release ORDER BY major DESC, minor DESC, patch DESC",
        &[],
    )?;
    let mut out = Vec::with_capacity(versions.len());
    for row in versions {
        if let Some(r) = release(conn, &string(&row[0])?)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Withdraws a release and its packages: no device is offered it any more.
///
/// # Errors
/// `not_found` when there is no such release; a database error.
pub fn release_delete(conn: &mut dyn Conn, version: &str) -> Result<(), ApiError> {
    let v = version_of(version)?.to_string();
    conn.execute("DELETE FROM app_package WHERE version = $1", &[text(&v)])?;
    let n = conn.execute("DELETE FROM app_release WHERE version = $1", &[text(&v)])?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("there is no release {v}")));
    }
    Ok(())
}

/// Checks that `package` is signed with the org's update key for `version`.
///
/// # Errors
/// `invalid`, saying what is wrong: no org key, a signature that is not one, a package
/// changed after signing or signed with another key, a signature for another version.
pub fn check_signature(
    org_key: &str,
    package: &[u8],
    signature: &str,
    version: &str,
) -> Result<(), ApiError> {
    if org_key.trim().is_empty() {
        return Err(ApiError::invalid(
            "the org has no update public key: set update_public_key in the org settings first",
        ));
    }
    let key = decode_key(org_key)?;
    let signature = decode_b64(signature)
        .and_then(|s| Signature::decode(&s).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "the signature is not a minisign signature (pass the .sig file `tauri signer sign` wrote)",
            )
        })?;
    key.verify(package, &signature, false).map_err(|_| {
        ApiError::invalid(
            "the package is not signed with the org's update key, or it changed after it was signed: it was refused",
        )
    })?;
    // The trusted comment is covered by the global signature `verify` just checked.
    let signed = signature
        .trusted_comment()
        .split('\t')
        .find_map(|f| f.strip_prefix("version:"));
    // Exactly the release's version: the app's updater compares them as they are.
    match signed.map(str::trim) {
        Some(v) if v == version => Ok(()),
        Some(v) => Err(ApiError::invalid(format!(
            "the package was signed for version {v}, not {version}"
        ))),
        None => Err(ApiError::invalid(
            "the signature does not name the app version: sign with `tauri signer sign --app-version`",
        )),
    }
}

fn decode_b64(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn decode_key(key: &str) -> Result<PublicKey, ApiError> {
    decode_b64(key)
        .and_then(|k| PublicKey::decode(&k).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "update_public_key is not a minisign public key (the content of the .pub file `tauri signer generate` wrote)",
            )
        })
}

/// Whether `key` reads as an update public key.
///
/// # Errors
/// `invalid` when it does not.
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    if key.trim().is_empty() {
        return Ok(());
    }
    decode_key(key).map(|_| ())
}

/// Stores `package` as the release's package for `platform`, once its signature checks.
///
/// # Errors
/// `not_found` when the release does not exist; `invalid` for a platform the updater does
/// not name, an empty package or a signature that does not check; a database error.
#[allow(clippy::too_many_arguments)] // one upload's parts
pub fn package_put(
    conn: &mut dyn Conn,
    org: &Org,
    version: &str,
    platform: &str,
    signature: &str,
    package: &[u8],
    by: &str,
    stamp: &str,
) -> Result<ReleasePackage, ApiError> {
    let v = version_of(version)?.to_string();
    if !is_platform(platform) {
        return Err(ApiError::invalid(format!(
            "{platform:?} is not a platform: use {{os}}-{{arch}}-{{installer}}, like linux-x86_64-deb"
        )));
    }
    if package.is_empty() {
        return Err(ApiError::invalid("the package is empty"));
    }
    if release(conn, &v)?.is_none() {
        return Err(ApiError::NotFound(format!(
            "there is no release {v}: create it (with its notes) first"
        )));
    }
    check_signature(&org.settings.update_public_key, package, signature, &v)?;
    let sha256 = hex::encode(sha2::Sha256::digest(package));
    conn.execute(
        "INSERT INTO app_package (version, platform, signature, size, sha256, data, uploaded_on, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (version, platform) DO UPDATE SET signature = excluded.signature,
           size = excluded.size, sha256 = excluded.sha256, data = excluded.data,
           uploaded_on = excluded.uploaded_on, uploaded_by = excluded.uploaded_by",
        &[
            text(&v),
            text(platform),
            text(signature.trim()),
            int_param(i64::try_from(package.len()).map_err(anyhow::Error::from)?),
            text(&sha256),
            text(base64::engine::general_purpose::STANDARD.encode(package)),
            text(stamp),
            text(by),
        ],
    )?;
    Ok(ReleasePackage {
        platform: platform.to_owned(),
        size: package.len() as u64,
        sha256,
        uploaded_on: stamp.to_owned(),
        uploaded_by: by.to_owned(),
    })
}

/// The newest release newer than `current` with a package for `platform`.
///
/// # Errors
/// `invalid` for a malformed platform or version; a database error.
pub fn offer(
    conn: &mut dyn Conn,
    platform: &str,
    current: &str,
) -> Result<Option<UpdateOffer>, ApiError> {
    if !is_platform(platform) {
        return Err(ApiError::invalid(format!("{platform:?} is not a platform")));
    }
    let current = version_of(current)?;
    let rows = conn.query(
        "SELECT r.version, r.major, r.minor, r.patch, r.notes, r.store_format,
           r.min_store_format, r.created_on, p.signature, p.size
         FROM app_release r JOIN app_package p ON p.version = r.version
         WHERE p.platform = $1
         ORDER BY r.major DESC, r.minor DESC, r.patch DESC LIMIT 1",
        &[text(platform)],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let part = |i: usize| -> anyhow::Result<u64> { Ok(u64::try_from(int(&row[i])?)?) };
    if AppVersion(part(1)?, part(2)?, part(3)?) <= current {
        return Ok(None);
    }
    let version = string(&row[0])?;
    Ok(Some(UpdateOffer {
        url: format!("/api/v1/app/releases/{version}/{platform}"),
        version,
        notes: string(&row[4])?,
        store_format: u32_of(&row[5])?,
        min_store_format: u32_of(&row[6])?,
        pub_date: string(&row[7])?,
        signature: string(&row[8])?,
        size: part(9)?,
        platform: platform.to_owned(),
    }))
}

/// The package of `version` for `platform`.
///
/// # Errors
/// `not_found` when there is none; a database error.
pub fn package(conn: &mut dyn Conn, version: &str, platform: &str) -> Result<Vec<u8>, ApiError> {
    let v = version_of(version)?.to_string();
    let data = conn
        .query_opt(
            "SELECT data FROM app_package WHERE version = $1 AND platform = $2",
            &[text(&v), text(platform)],
        )?
        .ok_or_else(|| ApiError::NotFound(format!("release {v} has no package for {platform}")))?;
    Ok(base64::engine::general_purpose::STANDARD
        .decode(string(&data[0])?)
        .map_err(anyhow::Error::from)?)
}
