//! Sign-in, token refresh and sign-out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use outpost_protocol::{LoginRequest, LoginResponse, RefreshRequest, UserInfo};

use crate::auth::{
    ACCESS_TTL, Caller, Refreshed, clear_failures, issue_tokens, login_attempt, user_by_username,
    wipe_ordered,
};
use crate::extract::{ApiJson, ClientAddress};
use crate::password::{Busy, UNKNOWN_USER_HASH};
use crate::{ApiError, AppState};

fn check_device(device_id: &str) -> Result<(), ApiError> {
    if device_id.trim().is_empty() || device_id.len() > 100 {
        return Err(ApiError::invalid("device_id must be 1 to 100 characters"));
    }
    Ok(())
}

fn response(access: String, refresh: String, user: UserInfo, org_id: String) -> LoginResponse {
    LoginResponse {
        access_token: access,
        expires_in: ACCESS_TTL.unsigned_abs(),
        refresh_token: refresh,
        user,
        org_id,
    }
}

/// `POST /api/v1/auth/login`: checks the password and issues tokens for the device —
/// unless the user's session on that device id was revoked with a wipe order
/// (`device_wipe`).
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    check_device(&req.device_id)?;
    if req.username.len() > 200 || req.password.len() > 1024 {
        return Err(ApiError::BadCredentials);
    }
    let username = req.username.clone();
    let now = state.now().unix_timestamp();
    // The attempt counts before the password is checked, so parallel guesses cannot all
    // slip under the limits; the right password clears the count (for this address).
    let from = address.clone();
    let (user, wait) = state
        .db
        .write(move |conn| {
            let wait = login_attempt(conn, &username, &from, now)?;
            Ok((user_by_username(conn, &username)?, wait))
        })
        .await?;
    if let Some(retry_after) = wait {
        return Err(ApiError::RateLimited { retry_after });
    }
    // Verify against a fixed hash when the user is unknown, so both paths cost the same
    // (and wait for the same bounded slots).
    let phc = user
        .as_ref()
        .map_or_else(|| UNKNOWN_USER_HASH.clone(), |u| u.password_hash.clone());
    let matches = state
        .password_checks()
        .verify(req.password.clone(), phc)
        .await?
        .map_err(|Busy| ApiError::Busy)?;
    let ok = matches && user.is_some();
    let username = req.username.clone();
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::BadCredentials);
    };
    let (user_id, device_id) = (user.id.clone(), req.device_id.clone());
    let now = state.now();
    let issued = state
        .db
        .tx(move |conn| {
            clear_failures(conn, &username, &address)?;
            // A lost device signing in again is told to wipe, not given a way around it.
            if wipe_ordered(conn, &user_id, &device_id)? {
                return Ok(None);
            }
            Ok(Some(issue_tokens(conn, &user_id, &device_id, now)?))
        })
        .await?;
    let Some((access, refresh)) = issued else {
        return Err(ApiError::DeviceWipe);
    };
    let org_id = state.org_id().await?;
    Ok(Json(response(
        access,
        refresh,
        UserInfo {
            id: user.id,
            username: req.username,
            display_name: user.display_name,
        },
        org_id,
    )))
}

/// `POST /api/v1/auth/refresh`: a new token pair for a refresh token (used once).
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = state.now();
    let outcome = state
        .db
        .tx(move |conn| crate::auth::refresh(conn, &req.refresh_token, now))
        .await?;
    match outcome {
        Refreshed::Issued {
            user,
            access,
            refresh,
            ..
        } => Ok(Json(response(access, refresh, user, state.org_id().await?))),
        Refreshed::Refused => Err(ApiError::Unauthorized),
        Refreshed::Wipe => Err(ApiError::DeviceWipe),
    }
}

/// `POST /api/v1/auth/logout`: revokes every token of the caller's device.
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state
        .db
        .tx(move |conn| {
            crate::auth::revoke_user_device(conn, &caller.user_id, &caller.device_id, false)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
