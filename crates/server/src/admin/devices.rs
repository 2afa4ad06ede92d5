//! The devices users signed in on, as an administrator sees them to find a lost one, and
//! revoking one (with a wipe order for a lost device).

use outpost_protocol::admin::{AdminDevice, RevokeDeviceRequest};

use crate::ApiError;
use crate::db::{Conn, int, int_param, opt_string, string, text};

use super::user_id_of;

/// Every (user, device id) that signed in — of one user (name or id) when `user` is given
/// — by user name then device id, with when it last signed in, pulled and pushed, whether
/// it can still sync at `now` (unix seconds) and whether it has a wipe order.
///
/// # Errors
/// An unknown user, or a database error.
pub fn devices(
    conn: &mut dyn Conn,
    user: Option<&str>,
    now: i64,
) -> Result<Vec<AdminDevice>, ApiError> {
    let user_id = user.map(|u| user_id_of(conn, u)).transpose()?;
    // The device table keys sync bookkeeping by `user/device` (`Caller::device_key`).
    let sql = format!(
        "SELECT t.user_id, u.username, t.device_id, max(t.created_on),
         count(CASE WHEN t.kind = 'refresh' AND t.revoked = 0 AND t.expires_at > $1 THEN 1 END),
         count(CASE WHEN t.wipe <> 0 THEN 1 END), max(d.last_pull_on), max(d.last_push_on)
         FROM auth_token t JOIN org_user u ON u.id = t.user_id
         LEFT JOIN device d ON d.device_id = t.user_id || '/' || t.device_id
         {}
         GROUP BY t.user_id, u.username, t.device_id ORDER BY u.username, t.device_id",
        if user_id.is_some() {
            "WHERE t.user_id = $2"
        } else {
            ""
        }
    );
    let mut params = vec![int_param(now)];
    params.extend(user_id.map(text));
    let rows = conn.query(&sql, &params)?;
    rows.iter()
        .map(|row| {
            Ok(AdminDevice {
                user_id: string(&row[0])?,
                username: string(&row[1])?,
                device_id: string(&row[2])?,
                last_sign_in_on: opt_string(&row[3])?,
                signed_in: int(&row[4])? > 0,
                wipe_ordered: int(&row[5])? > 0,
                last_pull_on: opt_string(&row[6])?,
                last_push_on: opt_string(&row[7])?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(ApiError::from)
}

/// Revokes one user's tokens on a device (a lost tablet), with a wipe order when asked;
/// the number of tokens revoked.
///
/// # Errors
/// An unknown user, or a database error.
pub fn device_revoke(
    conn: &mut dyn Conn,
    device_id: &str,
    request: &RevokeDeviceRequest,
) -> Result<u64, ApiError> {
    let user_id = user_id_of(conn, &request.user)?;
    Ok(crate::auth::revoke_user_device(
        conn,
        &user_id,
        device_id,
        request.wipe,
    )?)
}
