//! The admin API (`/api/v1/admin/…`), for administrators only: thin wrappers over
//! [`crate::admin`], one transaction each.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use outpost_protocol::SyncErrorInfo;
use outpost_protocol::admin::{
    AdminDevice, AdminUser, Assignments, DryRun, EntityOffline, OrgSettings, ProfileDef,
    ProfileInfo, ProfileProblem, PublishRequest, PublishResponse, RevokeDeviceRequest,
};

use crate::auth::Admin;
use crate::extract::ApiJson;
use crate::{ApiError, AppState, admin, now};

fn stamp() -> String {
    outpost_domain::value::format_datetime(now())
}

/// `GET /api/v1/admin/users`.
pub async fn users(State(s): State<AppState>, _: Admin) -> Result<Json<Vec<AdminUser>>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(admin::users(c))).await??))
}

/// `GET /api/v1/admin/security`: business units, teams, roles, field profiles, hierarchy.
pub async fn security(
    State(s): State<AppState>,
    _: Admin,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(admin::security(c))).await??))
}

/// `GET /api/v1/admin/settings`.
pub async fn settings(State(s): State<AppState>, _: Admin) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(admin::settings(c))).await??))
}

/// `PUT /api/v1/admin/settings`.
pub async fn settings_set(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<OrgSettings>,
) -> Result<Json<OrgSettings>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::settings_set(c, &body)))
            .await??,
    ))
}

/// `GET /api/v1/admin/offline/entities`.
pub async fn entities(
    State(s): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<EntityOffline>>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(admin::entities(c))).await??))
}

/// `PUT /api/v1/admin/metadata`: a changed presentation of the org (labels, forms,
/// views, flows, sitemap, modules); the version goes up by one.
pub async fn metadata_set(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<outpost_domain::Metadata>,
) -> Result<Json<outpost_domain::Metadata>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::metadata_set(c, body)))
            .await??,
    ))
}

/// `PUT /api/v1/admin/offline/entities/{entity}`.
pub async fn entity_set(
    State(s): State<AppState>,
    _: Admin,
    Path(entity): Path<String>,
    ApiJson(body): ApiJson<EntityOffline>,
) -> Result<Json<EntityOffline>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::entity_set(c, &entity, &body)))
            .await??,
    ))
}

/// `GET /api/v1/admin/profiles`.
pub async fn profiles(
    State(s): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<ProfileInfo>>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(admin::profiles(c))).await??))
}

/// `POST /api/v1/admin/profiles`: a new draft.
pub async fn profile_create(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(def): ApiJson<ProfileDef>,
) -> Result<(StatusCode, Json<ProfileInfo>), ApiError> {
    let info =
        s.db.write(move |c| Ok(admin::profile_create(c, &def, &stamp())))
            .await??;
    Ok((StatusCode::CREATED, Json(info)))
}

/// `GET /api/v1/admin/profiles/{id}`.
pub async fn profile(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<ProfileInfo>, ApiError> {
    Ok(Json(s.db.tx(move |c| Ok(admin::profile(c, &id))).await??))
}

/// `PUT /api/v1/admin/profiles/{id}`: replaces the draft.
pub async fn profile_update(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(def): ApiJson<ProfileDef>,
) -> Result<Json<ProfileInfo>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::profile_update(c, &id, &def, &stamp())))
            .await??,
    ))
}

/// `DELETE /api/v1/admin/profiles/{id}`.
pub async fn profile_delete(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.db.write(move |c| Ok(admin::profile_delete(c, &id)))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/profiles/{id}/validate`: the draft's problems (empty: valid).
pub async fn validate(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<ProfileProblem>>, ApiError> {
    let problems =
        s.db.tx(move |c| Ok(admin::validate_draft(c, &id)))
            .await??;
    Ok(Json(problems))
}

/// `POST /api/v1/admin/profiles/{id}/dry-run`: what the draft would send each user.
pub async fn dry_run(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<DryRun>, ApiError> {
    let report =
        s.db.tx(move |c| Ok(admin::dry_run_draft(c, &id, now())))
            .await??;
    Ok(Json(report))
}

/// `POST /api/v1/admin/profiles/{id}/publish`.
pub async fn publish(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PublishRequest>,
) -> Result<Json<PublishResponse>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::publish(c, &id, req.force, now())))
            .await??,
    ))
}

/// `PUT /api/v1/admin/profiles/{id}/assignments`.
pub async fn assign(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(to): ApiJson<Assignments>,
) -> Result<Json<ProfileInfo>, ApiError> {
    Ok(Json(
        s.db.write(move |c| Ok(admin::assign(c, &id, &to)))
            .await??,
    ))
}

/// Query of `GET /api/v1/admin/devices`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesQuery {
    /// Only this user's devices (user name or id).
    user: Option<String>,
}

/// `GET /api/v1/admin/devices[?user=U]`: every user's (or one user's) devices, with when
/// each last signed in, pulled and pushed, and whether it is signed in or has a wipe
/// order — what an administrator looks through to revoke a lost one.
pub async fn devices(
    State(s): State<AppState>,
    _: Admin,
    query: Result<Query<DevicesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AdminDevice>>, ApiError> {
    let Query(q) = query?;
    let now = now().unix_timestamp();
    Ok(Json(
        s.db.tx(move |c| Ok(admin::devices(c, q.user.as_deref(), now)))
            .await??,
    ))
}

/// `POST /api/v1/admin/devices/{id}/revoke` `{"user", "wipe"?}`: revokes one user's
/// tokens on a device, with a wipe order for a lost one.
pub async fn revoke(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevokeDeviceRequest>,
) -> Result<StatusCode, ApiError> {
    s.db.tx(move |c| Ok(admin::device_revoke(c, &id, &body)))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/admin/sync-errors`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsQuery {
    /// Also resolved ones.
    #[serde(default)]
    all: bool,
}

/// `GET /api/v1/admin/sync-errors`: every user's sync errors.
pub async fn sync_errors(
    State(s): State<AppState>,
    _: Admin,
    query: Result<Query<ErrorsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SyncErrorInfo>>, ApiError> {
    let Query(q) = query?;
    Ok(Json(
        s.db.tx(move |c| crate::push::errors_list(c, None, q.all))
            .await?,
    ))
}
