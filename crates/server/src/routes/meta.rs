//! The org's metadata with the caller's access and profile: what a device builds its
//! store from and decides which actions to offer by (B4).

use axum::Json;
use axum::extract::State;
use outpost_protocol::{DeviceProfile, DeviceProfileItem, MetadataResponse};

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `GET /api/v1/metadata`.
pub async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MetadataResponse>, ApiError> {
    let org = state.org().await?;
    let now = state.now();
    let principal = org.principal(&caller.user_id)?;
    let access = org.user_access(&principal, &caller.user_id, now);
    let profile = org.profile_for(&caller.user_id).and_then(|p| {
        p.published.as_ref().map(|def| DeviceProfile {
            id: p.id.clone(),
            name: def.name.clone(),
            version: p.version,
            items: def
                .items
                .iter()
                .map(|i| DeviceProfileItem {
                    entity: i.entity.clone(),
                    sync_interval_minutes: i.sync_interval_minutes,
                })
                .collect(),
        })
    });
    Ok(Json(MetadataResponse {
        metadata: (*org.metadata).clone(),
        access_key: crate::org::access_key(&access),
        access,
        profile,
        recovery_key: org.recovery_public_key.clone(),
    }))
}
