//! Sign-in.

use axum::Json;
use axum::extract::State;
use outpost_protocol::{LoginRequest, LoginResponse, UserInfo};

use crate::auth::{new_token, token_hash, verify_password};
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

/// `POST /api/v1/auth/login`: checks the password and issues a token for the device.
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    if req.device_id.trim().is_empty() || req.device_id.len() > 100 {
        return Err(ApiError::BadRequest {
            code: "invalid",
            message: "device_id must be 1 to 100 characters".to_owned(),
        });
    }
    let username = req.username.clone();
    let user = state
        .db
        .call(move |db| db.user_by_username(&username))
        .await?;
    // Verify against a fixed hash when the user is unknown, so both paths cost the same.
    let password = req.password.clone();
    let (user, ok) = tokio::task::spawn_blocking(move || {
        let phc = user
            .as_ref()
            .map_or(crate::auth::UNKNOWN_USER_HASH.as_str(), |u| {
                u.password_hash.as_str()
            });
        let ok = verify_password(&password, phc) && user.is_some();
        (user, ok)
    })
    .await
    .map_err(|e| anyhow::anyhow!("password check failed: {e}"))?;
    let user = user.filter(|_| ok).ok_or(ApiError::BadCredentials)?;
    let token = new_token();
    let hash = token_hash(&token);
    let (user_id, device_id) = (user.id.clone(), req.device_id.clone());
    state
        .db
        .call(move |db| db.token_insert(&hash, &user_id, &device_id))
        .await?;
    Ok(Json(LoginResponse {
        access_token: token,
        expires_in: 0,
        refresh_token: String::new(),
        user: UserInfo {
            id: user.id,
            username: req.username,
            display_name: user.display_name,
        },
    }))
}
