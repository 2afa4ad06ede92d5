//! The sealed recovery file: the user's unsent work (changes, sync errors, resolutions,
//! drafts) that a wipe could not send, kept encrypted so the user — or an administrator
//! of their org — can recover it, and nobody else can read it.
//!
//! The body is encrypted with XChaCha20-Poly1305 under a fresh random key, with the
//! header (format, id, org, user, time) as associated data, so it cannot be moved to
//! another header. That key is kept twice: in the device's keychain (the user restores
//! the work after signing in again) and sealed to the org's recovery public key (an X25519
//! sealed box, [`MetadataResponse::recovery_key`](crate::MetadataResponse)), which only
//! the org server's administrators can open (`outpost-server admin recovery-open`).
//!
//! The device and the server both use this module: one format, one implementation.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

/// The format this module writes and reads.
pub const FORMAT: &str = "outpost-recovery/2";

/// What a recovery file says in the clear: whose work it is and when it was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryHeader {
    /// Unique id (also the file's name).
    pub id: String,
    /// The org the work belongs to.
    pub org_id: String,
    /// The user who did it.
    pub user_id: String,
    /// The device id the work was sent under: the store the user restores it into
    /// continues that device, so the server recognises the operations it already answered.
    #[serde(default)]
    pub device_id: String,
    /// When the file was written (RFC 3339).
    pub created_on: String,
}

/// A recovery file as it lies on the device (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryFile {
    /// [`FORMAT`].
    pub format: String,
    /// Whose work, when.
    #[serde(flatten)]
    pub header: RecoveryHeader,
    /// The body's key sealed to the org's recovery key (base64); empty when the device
    /// knew no org key.
    pub org_sealed_key: String,
    /// The body's nonce (base64, 24 bytes).
    pub nonce: String,
    /// The encrypted body (base64).
    pub body: String,
}

/// Why a recovery file cannot be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecoveryError {
    /// Not a file of this format.
    #[error("not an Outpost recovery file ({0})")]
    Format(String),
    /// The key does not open it, or the file was altered.
    #[error("the key does not open this recovery file, or the file was altered")]
    Key,
    /// It was written without a key for the org.
    #[error("this recovery file was written without the org's recovery key")]
    NoOrgKey,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The header as associated data: each part length-prefixed, so no two headers give the
/// same bytes.
fn associated(header: &RecoveryHeader) -> Vec<u8> {
    let mut bytes = Vec::new();
    for part in [
        FORMAT,
        &header.id,
        &header.org_id,
        &header.user_id,
        &header.device_id,
        &header.created_on,
    ] {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

/// A new org recovery key pair: `(secret, public)`, 32 bytes each.
pub fn org_keypair() -> ([u8; 32], [u8; 32]) {
    let secret = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
    (secret.to_bytes(), *secret.public_key().as_bytes())
}

/// Seals `body` for `header`'s user under `key` (32 random bytes the caller keeps in the
/// keychain), with `key` also sealed to the org's public recovery key when known.
///
/// # Errors
/// When encryption fails (it does not for valid lengths).
pub fn seal(
    header: RecoveryHeader,
    body: &[u8],
    key: &[u8; 32],
    org_public_key: Option<&[u8; 32]>,
) -> Result<RecoveryFile, RecoveryError> {
    let mut nonce = [0u8; 24];
    crypto_box::aead::rand_core::RngCore::fill_bytes(&mut crypto_box::aead::OsRng, &mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: body,
                aad: &associated(&header),
            },
        )
        .map_err(|_| RecoveryError::Key)?;
    let org_sealed_key = match org_public_key {
        Some(public) => b64().encode(
            crypto_box::PublicKey::from(*public)
                .seal(&mut crypto_box::aead::OsRng, key)
                .map_err(|_| RecoveryError::Key)?,
        ),
        None => String::new(),
    };
    Ok(RecoveryFile {
        format: FORMAT.to_owned(),
        header,
        org_sealed_key,
        nonce: b64().encode(nonce),
        body: b64().encode(sealed),
    })
}

/// Opens `file` with the body key the device kept.
///
/// # Errors
/// [`RecoveryError::Format`] for another format; [`RecoveryError::Key`] for a wrong key or
/// an altered file.
pub fn open(file: &RecoveryFile, key: &[u8; 32]) -> Result<Vec<u8>, RecoveryError> {
    if file.format != FORMAT {
        return Err(RecoveryError::Format(file.format.clone()));
    }
    let nonce: [u8; 24] = b64()
        .decode(&file.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| RecoveryError::Format("bad nonce".into()))?;
    let body = b64()
        .decode(&file.body)
        .map_err(|_| RecoveryError::Format("bad body".into()))?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &body,
                aad: &associated(&file.header),
            },
        )
        .map_err(|_| RecoveryError::Key)
}

/// Opens `file` with the org's secret recovery key (an administrator's way in).
///
/// # Errors
/// As [`open`]; [`RecoveryError::NoOrgKey`] when the device knew no org key.
pub fn open_as_org(
    file: &RecoveryFile,
    org_secret_key: &[u8; 32],
) -> Result<Vec<u8>, RecoveryError> {
    if file.org_sealed_key.is_empty() {
        return Err(RecoveryError::NoOrgKey);
    }
    let sealed = b64()
        .decode(&file.org_sealed_key)
        .map_err(|_| RecoveryError::Format("bad org key".into()))?;
    let key: [u8; 32] = crypto_box::SecretKey::from(*org_secret_key)
        .unseal(&sealed)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(RecoveryError::Key)?;
    open(file, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecoveryHeader {
        RecoveryHeader {
            id: "r1".into(),
            org_id: "org".into(),
            user_id: "u1".into(),
            device_id: "d1".into(),
            created_on: "2026-12-07T10:00:00Z".into(),
        }
    }

    #[test]
    fn the_user_and_the_org_both_open_what_was_sealed_and_nobody_else_does() {
        let key = [7u8; 32];
        let (org_secret, org_public) = org_keypair();
        let work = b"Zanzibar plaintext marker";
        let file = seal(header(), work, &key, Some(&org_public)).expect("sealed");
        assert_eq!(open(&file, &key).expect("the user's key opens it"), work);
        assert_eq!(
            open_as_org(&file, &org_secret).expect("the org's key opens it"),
            work
        );
        assert_eq!(
            open(&file, &[8u8; 32]),
            Err(RecoveryError::Key),
            "another key does not"
        );
        let (other_secret, _) = org_keypair();
        assert_eq!(
            open_as_org(&file, &other_secret),
            Err(RecoveryError::Key),
            "another org's key does not"
        );
        let written = serde_json::to_string(&file).expect("json");
        assert!(
            !written.contains("Zanzibar") && written.contains(&file.body),
            "the file as written holds the body encrypted, nothing of it in the clear"
        );
    }

    #[test]
    fn a_body_moved_under_another_header_does_not_open() {
        let key = [7u8; 32];
        let mut file = seal(header(), b"work", &key, None).expect("sealed");
        file.header.user_id = "u2".into();
        assert_eq!(open(&file, &key), Err(RecoveryError::Key));
        assert_eq!(open_as_org(&file, &[1u8; 32]), Err(RecoveryError::NoOrgKey));
    }
}
