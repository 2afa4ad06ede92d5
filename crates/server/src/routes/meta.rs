//! The org's metadata with the caller's access and profile: what a device builds its
//! store from and decides which actions to offer by (B4).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use outpost_domain::security::{Depth, Privilege};
use outpost_protocol::{DeviceProfile, DeviceProfileItem, MetadataResponse, UserAccess};

use crate::auth::Caller;
use crate::{ApiError, AppState, now};

/// `GET /api/v1/metadata`.
pub async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MetadataResponse>, ApiError> {
    let org = state.org().await?;
    let principal = org.principal(&caller.user_id)?;
    let mut privileges = BTreeMap::new();
    let mut secured_fields = BTreeMap::new();
    for def in &org.metadata.entities {
        let depths: BTreeMap<Privilege, Depth> = Privilege::ALL
            .iter()
            .map(|p| (*p, principal.depth(def, *p)))
            .filter(|(_, d)| *d != Depth::None)
            .collect();
        if !depths.is_empty() {
            privileges.insert(def.name.clone(), depths);
        }
        let secured = principal.secured_fields(def);
        if !secured.is_empty() {
            secured_fields.insert(def.name.clone(), secured);
        }
    }
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
        access: UserAccess {
            user_id: caller.user_id.clone(),
            business_unit_id: principal.business_unit().to_owned(),
            team_ids: principal.teams().iter().cloned().collect(),
            hierarchy_user_ids: org.eval_context(&principal, now()).hierarchy_user_ids,
            privileges,
            secured_fields,
        },
        profile,
        recovery_key: org.recovery_public_key.clone(),
    }))
}
