//! Opening a recovery file (`outpost-server admin recovery-open`): the work a device kept
//! sealed when a wipe could not send it, read with the org's recovery key.
//!
//! The file is encrypted, not signed: its body key is sealed to the org's *public*
//! recovery key, which every signed-in device is given, so whoever has that key can make a
//! file saying anything, for any user. What the administrator reads is therefore what a
//! device wrote, and is answered with a plain warning saying so.

use outpost_protocol::recovery::{RecoveryFile, open_as_org};

use crate::ApiError;
use crate::db::Conn;
use crate::org::{key, recovery_secret, setting};

/// What the administrator is told next to the work.
pub const AUTHENTICITY: &str = "This is what the device wrote when it kept the file. It is \
    not signed by the user (nor by the device): the user and device named in the header are \
    the device's word, and anyone holding the org's public recovery key (every signed-in \
    device has it) could have made such a file. Confirm it with the user before acting on \
    any of it.";

/// The header, [`AUTHENTICITY`] and the work (JSON) of a recovery file of this org.
///
/// # Errors
/// A file of another org (said with both ids), one that does not open with this org's
/// key, or a database error.
pub fn recovery_open(
    conn: &mut dyn Conn,
    file: &RecoveryFile,
) -> Result<serde_json::Value, ApiError> {
    let org_id = setting(conn, key::ORG_ID)?.unwrap_or_default();
    if file.header.org_id != org_id {
        return Err(ApiError::invalid(format!(
            "this recovery file belongs to the org {}, not to this org ({org_id}): open it on \
             that org's server",
            file.header.org_id
        )));
    }
    let body = open_as_org(file, &recovery_secret(conn)?)
        .map_err(|e| ApiError::invalid(format!("the recovery file does not open: {e}")))?;
    let work: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the recovery file's work is not JSON: {e}")))?;
    Ok(serde_json::json!({
        "header": file.header,
        "authenticity": AUTHENTICITY,
        "work": work,
    }))
}
