//! Opaque bearer tokens (random, stored as SHA-256 only), refresh-token rotation,
//! per-device revocation and login rate limiting (passwords: [`crate::password`]).
//!
//! - An access token lives [`ACCESS_TTL`]; a refresh token [`REFRESH_TTL`] and buys one
//!   new pair: using it revokes it. Presenting a refresh token that was already used
//!   revokes every token of that device (it was copied: someone else has it) — unless it
//!   comes back within [`REFRESH_RETRY_GRACE`] and the pair it bought was never used: the
//!   answer was lost, so that pair is dropped and a new one issued.
//! - Revocation is per (user, device): device ids are the clients' choice. An
//!   administrator's revocation of a lost device may carry a wipe order: every token the
//!   device had for the user then answers `device_wipe` (401), so it deletes that user's
//!   offline data — and so does that user's sign-in on that device id (with the right
//!   password), which would otherwise issue clean tokens and cancel the order; a wiped
//!   device signs in again under a new device id.
//! - Sign-in failures are counted per (user name, client address), per address and
//!   server-wide, with a back-off that doubles ([`Failures::wait`]); an address with no
//!   failures is never held back, so no attacker can lock a user out from elsewhere. The
//!   counts live in the database, so every server process sharing it enforces the same
//!   limits.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::db::{Conn, int, int_param, string, text};
use time::OffsetDateTime;

use crate::{ApiError, AppState};

/// How long an access token is valid, in seconds.
pub const ACCESS_TTL: i64 = 3600;
/// How long a refresh token is valid, in seconds.
pub const REFRESH_TTL: i64 = 30 * 24 * 3600;
/// Seconds after a refresh during which the same refresh token may come again (its
/// answer was lost) and buy a new pair, provided the pair it bought is still unused.
pub const REFRESH_RETRY_GRACE: i64 = 60;
/// Wrong passwords one client address may try for one user name within
/// [`FAILURE_WINDOW`] before each further try waits (1 s, then 2 s, 4 s, … up to
/// [`MAX_BACKOFF`] after the last failure).
pub const MAX_FAILURES: i64 = 5;
/// Wrong passwords one client address may try across all user names (password spraying)
/// within [`FAILURE_WINDOW`] before each further try waits, growing the same way.
pub const MAX_ADDRESS_FAILURES: i64 = 20;
/// Wrong passwords the whole server takes within [`FAILURE_WINDOW`] (from any address)
/// before every address with a failure of its own waits [`MAX_BACKOFF`] between tries.
/// Addresses with no failure are never held back: an attacker cannot lock anyone out.
pub const MAX_GLOBAL_FAILURES: i64 = 1_000;
/// How long a failure counts, in seconds.
pub const FAILURE_WINDOW: i64 = 900;
/// The longest wait between tries, in seconds.
pub const MAX_BACKOFF: i64 = 300;

/// A new random bearer token (256 bits, base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the server stores instead of the token itself.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A user row as sign-in needs it.
pub struct UserAuth {
    /// User id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// PHC string.
    pub password_hash: String,
}

/// The enabled user with that sign-in name.
///
/// # Errors
/// A database error.
pub fn user_by_username(conn: &mut dyn Conn, username: &str) -> anyhow::Result<Option<UserAuth>> {
    conn.query_opt(
        "SELECT id, display_name, password_hash FROM org_user WHERE username = $1 AND disabled = 0",
        &[text(username)],
    )?
    .map(|row| {
        Ok(UserAuth {
            id: string(&row[0])?,
            display_name: string(&row[1])?,
            password_hash: string(&row[2])?,
        })
    })
    .transpose()
}

/// The failures that bear on one sign-in attempt, within [`FAILURE_WINDOW`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Of this user name from this address, and when the last was.
    pub pair: (i64, i64),
    /// From this address for any user name, and when the last was.
    pub address: (i64, i64),
    /// Everywhere.
    pub global: i64,
}

/// The wait after `n` failures where `free` are allowed: none below `free`, then 1 s,
/// 2 s, 4 s, … up to [`MAX_BACKOFF`].
fn backoff(n: i64, free: i64) -> i64 {
    if n < free {
        return 0;
    }
    let doublings = u32::try_from((n - free).min(30)).unwrap_or(30);
    (1_i64 << doublings).min(MAX_BACKOFF)
}

impl Failures {
    /// Seconds until the attempt may be made (`None`: now), at `now` (unix seconds).
    pub fn wait(&self, now: i64) -> Option<i64> {
        let (pair, pair_last) = self.pair;
        let (address, address_last) = self.address;
        let mut until = pair_last + backoff(pair, MAX_FAILURES);
        until = until.max(address_last + backoff(address, MAX_ADDRESS_FAILURES));
        if self.global >= MAX_GLOBAL_FAILURES && address > 0 {
            until = until.max(address_last + MAX_BACKOFF);
        }
        (until > now).then(|| until - now)
    }
}

/// The client address as failures are counted: an IPv4 address, or the /64 an IPv6
/// address is in (one subscriber's share, which they can walk through at will).
pub fn address_key(address: std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// One sign-in attempt of `username` from `address` at `now` (unix seconds): the seconds to
/// wait when it must wait; otherwise it is counted as a failure until the password proves
/// right ([`clear_failures`]), so parallel guesses cannot all slip under the limits.
///
/// # Errors
/// A database error.
pub fn login_attempt(
    conn: &mut dyn Conn,
    username: &str,
    address: &str,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    let since = now - FAILURE_WINDOW;
    conn.execute(
        "DELETE FROM login_failure WHERE at <= $1",
        &[int_param(since)],
    )?;
    let row = conn
        .query_opt(
            "SELECT count(CASE WHEN username = $1 AND address = $2 THEN 1 END),
             max(CASE WHEN username = $1 AND address = $2 THEN at END),
             count(CASE WHEN address = $2 THEN 1 END),
             max(CASE WHEN address = $2 THEN at END),
             count(*) FROM login_failure WHERE at > $3",
            &[text(username), text(address), int_param(since)],
        )?
        .unwrap_or_default();
    let value = |i: usize| -> anyhow::Result<i64> {
        match row.get(i) {
            Some(v @ crate::db::SqlParam::Int(_)) => int(v),
            _ => Ok(0),
        }
    };
    let failures = Failures {
        pair: (value(0)?, value(1)?),
        address: (value(2)?, value(3)?),
        global: value(4)?,
    };
    if let Some(wait) = failures.wait(now) {
        return Ok(Some(wait));
    }
    conn.execute(
        "INSERT INTO login_failure (username, address, at) VALUES ($1, $2, $3)",
        &[text(username), text(address), int_param(now)],
    )?;
    Ok(None)
}

/// Forgets the failures of a user name from one address (after a successful sign-in
/// there); failures from other addresses stay.
///
/// # Errors
/// A database error.
pub fn clear_failures(conn: &mut dyn Conn, username: &str, address: &str) -> anyhow::Result<()> {
    conn.execute(
        "DELETE FROM login_failure WHERE username = $1 AND address = $2",
        &[text(username), text(address)],
    )?;
    Ok(())
}

/// A new access and refresh token for a user's device: `(access, refresh)`.
///
/// # Errors
/// A database error.
pub fn issue_tokens(
    conn: &mut dyn Conn,
    user_id: &str,
    device_id: &str,
    now: OffsetDateTime,
) -> anyhow::Result<(String, String)> {
    issue_pair(conn, user_id, device_id, None, now)
}

/// [`issue_tokens`], remembering the hash of the refresh token that bought the pair.
fn issue_pair(
    conn: &mut dyn Conn,
    user_id: &str,
    device_id: &str,
    bought_by: Option<&str>,
    at: OffsetDateTime,
) -> anyhow::Result<(String, String)> {
    let (access, refresh) = (new_token(), new_token());
    let now = at.unix_timestamp();
    let created = outpost_domain::value::format_datetime(at);
    for (token, kind, ttl) in [
        (&access, "access", ACCESS_TTL),
        (&refresh, "refresh", REFRESH_TTL),
    ] {
        conn.execute(
            "INSERT INTO auth_token (token_hash, kind, user_id, device_id, expires_at, created_on,
             bought_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                text(token_hash(token)),
                text(kind),
                text(user_id),
                text(device_id),
                int_param(now + ttl),
                text(created.clone()),
                crate::db::opt_text(bought_by),
            ],
        )?;
    }
    Ok((access, refresh))
}

/// Whether a used refresh token may buy a pair again: it was used within
/// [`REFRESH_RETRY_GRACE`], and the pair it bought is still unused and unrevoked (so its
/// answer was lost, not copied). The unused pair is then forgotten: it never reached the
/// device.
fn retry_in_grace(
    conn: &mut dyn Conn,
    hash: &str,
    used_at: Option<i64>,
    now: i64,
) -> anyhow::Result<bool> {
    if used_at.is_none_or(|at| now - at > REFRESH_RETRY_GRACE) {
        return Ok(false);
    }
    let row = conn
        .query_opt(
            "SELECT count(*), count(used_at), count(CASE WHEN revoked <> 0 THEN 1 END)
             FROM auth_token WHERE bought_by = $1",
            &[text(hash)],
        )?
        .unwrap_or_default();
    let counts = row.iter().map(int).collect::<anyhow::Result<Vec<i64>>>()?;
    // Exactly one pair, neither used nor revoked.
    if counts != [2, 0, 0] {
        return Ok(false);
    }
    conn.execute("DELETE FROM auth_token WHERE bought_by = $1", &[text(hash)])?;
    Ok(true)
}

/// What refreshing came to.
pub enum Refreshed {
    /// A new pair for this user's device.
    Issued {
        /// The user.
        user: outpost_protocol::UserInfo,
        /// Device id.
        device_id: String,
        /// The new access token.
        access: String,
        /// The new refresh token.
        refresh: String,
    },
    /// Unknown, expired or revoked.
    Refused,
    /// The device was revoked as lost ([`ApiError::DeviceWipe`]).
    Wipe,
}

/// Trades a refresh token for a new pair, revoking it. A used one coming back within
/// [`REFRESH_RETRY_GRACE`] while the pair it bought is unused buys a new pair instead of
/// that one (the answer was lost); otherwise it was copied, and the device is revoked.
///
/// # Errors
/// A database error.
pub fn refresh(
    conn: &mut dyn Conn,
    refresh_token: &str,
    at: OffsetDateTime,
) -> anyhow::Result<Refreshed> {
    let hash = token_hash(refresh_token);
    let Some(row) = conn.query_opt(
        "SELECT user_id, device_id, expires_at, revoked, wipe, used_at FROM auth_token
         WHERE token_hash = $1 AND kind = 'refresh'",
        &[text(&hash)],
    )?
    else {
        return Ok(Refreshed::Refused);
    };
    if int(&row[4])? != 0 {
        return Ok(Refreshed::Wipe);
    }
    let (user_id, device_id) = (string(&row[0])?, string(&row[1])?);
    let now = at.unix_timestamp();
    let (expired, used) = (int(&row[2])? <= now, int(&row[3])? != 0);
    if expired && !used {
        return Ok(Refreshed::Refused);
    }
    // Used exactly once: of two requests racing with one token, only one claims it.
    let claimed = conn.execute(
        "UPDATE auth_token SET revoked = 1, used_at = $2 WHERE token_hash = $1 AND revoked = 0",
        &[text(&hash), int_param(now)],
    )?;
    let used_at = match &row[5] {
        crate::db::SqlParam::Int(at) => Some(*at),
        _ => None,
    };
    if claimed == 0 && !retry_in_grace(conn, &hash, used_at, now)? {
        tracing::warn!(
            device_id,
            "a used refresh token came back: revoking the device"
        );
        revoke_user_device(conn, &user_id, &device_id, false)?;
        return Ok(Refreshed::Refused);
    }
    let Some(user) = conn.query_opt(
        "SELECT username, display_name FROM org_user WHERE id = $1 AND disabled = 0",
        &[text(&user_id)],
    )?
    else {
        return Ok(Refreshed::Refused);
    };
    let (access, refresh) = issue_pair(conn, &user_id, &device_id, Some(&hash), at)?;
    Ok(Refreshed::Issued {
        user: outpost_protocol::UserInfo {
            id: user_id,
            username: string(&user[0])?,
            display_name: string(&user[1])?,
        },
        device_id,
        access,
        refresh,
    })
}

/// The signed-in caller of a request: a user on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id.
    pub user_id: String,
    /// The device the token was issued to.
    pub device_id: String,
    /// Whether the user may use the admin API.
    pub is_admin: bool,
}

impl Caller {
    /// The device as sync bookkeeping keys it (what it holds, the ops it pushed): one
    /// user's device, since device ids are chosen by clients and two users may pick the
    /// same one.
    pub fn device_key(&self) -> String {
        device_key(&self.user_id, &self.device_id)
    }
}

/// The key sync bookkeeping gives `device_id` of `user_id` ([`Caller::device_key`]).
pub fn device_key(user_id: &str, device_id: &str) -> String {
    format!("{user_id}/{device_id}")
}

/// Revokes every token of one user's device (their sign-out, a stolen refresh token, an
/// administrator's revocation); with `wipe`, every token the device ever had for the user
/// answers [`ApiError::DeviceWipe`] from now on (a lost device). The number of tokens.
///
/// # Errors
/// A database error.
pub fn revoke_user_device(
    conn: &mut dyn Conn,
    user_id: &str,
    device_id: &str,
    wipe: bool,
) -> anyhow::Result<u64> {
    let sql = if wipe {
        "UPDATE auth_token SET revoked = 1, wipe = 1 WHERE user_id = $1 AND device_id = $2"
    } else {
        "UPDATE auth_token SET revoked = 1 WHERE user_id = $1 AND device_id = $2 AND revoked = 0"
    };
    conn.execute(sql, &[text(user_id), text(device_id)])
}

/// Whether an administrator ordered the wipe of one user's device ([`revoke_user_device`]
/// with `wipe`): the order stands for that (user, device id) — its tokens, and any sign-in
/// on it, answer [`ApiError::DeviceWipe`].
///
/// # Errors
/// A database error.
pub fn wipe_ordered(conn: &mut dyn Conn, user_id: &str, device_id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM auth_token WHERE user_id = $1 AND device_id = $2 AND wipe <> 0
             LIMIT 1",
            &[text(user_id), text(device_id)],
        )?
        .is_some())
}

/// The caller a presented access token stands for.
///
/// # Errors
/// [`ApiError::Unauthorized`] / [`ApiError::TokenExpired`], or a database error.
pub fn caller_by_token(
    conn: &mut dyn Conn,
    token: &str,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let now = now.unix_timestamp();
    let hash = token_hash(token);
    let row = conn
        .query_opt(
            "SELECT t.user_id, t.device_id, t.expires_at, u.is_admin, t.revoked, t.wipe,
             u.disabled, t.used_at FROM auth_token t JOIN org_user u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.kind = 'access'",
            &[text(&hash)],
        )?
        .ok_or(ApiError::Unauthorized)?;
    // A wipe order reaches the device however old its token, so it is looked at first.
    if int(&row[5])? != 0 {
        return Err(ApiError::DeviceWipe);
    }
    if int(&row[4])? != 0 || int(&row[6])? != 0 {
        return Err(ApiError::Unauthorized);
    }
    if int(&row[2])? <= now {
        return Err(ApiError::TokenExpired);
    }
    // Its first use: from now on the refresh that bought it cannot be retried.
    if row[7] == crate::db::SqlParam::Null {
        conn.execute(
            "UPDATE auth_token SET used_at = $1 WHERE token_hash = $2",
            &[int_param(now), text(&hash)],
        )?;
    }
    Ok(Caller {
        user_id: string(&row[0])?,
        device_id: string(&row[1])?,
        is_admin: int(&row[3])? != 0,
    })
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?
            .to_owned();
        let state = AppState::from_ref(state);
        let now = state.now();
        state
            .db
            .tx(move |conn| Ok(caller_by_token(conn, &token, now)))
            .await?
    }
}

/// A caller that is an administrator.
pub struct Admin(pub Caller);

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_admin {
            Ok(Self(caller))
        } else {
            Err(ApiError::Forbidden(
                "the admin API is for administrators".to_owned(),
            ))
        }
    }
}
