//! App releases (S19): the admin routes that create releases and upload their signed
//! packages, and the routes a signed-in field app asks for its update through.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_protocol::release::{ReleaseInfo, ReleasePackage, ReleaseSet, SIGNATURE_HEADER};

use crate::auth::{Admin, Caller};
use crate::extract::ApiJson;
use crate::{ApiError, AppState, now, releases};

fn stamp() -> String {
    outpost_domain::value::format_datetime(now())
}

/// `GET /api/v1/admin/releases`: every release with its packages, newest first.
pub async fn list(State(s): State<AppState>, _: Admin) -> Result<Json<Vec<ReleaseInfo>>, ApiError> {
    Ok(Json(s.db.tx(|c| Ok(releases::releases(c))).await??))
}

/// `PUT /api/v1/admin/releases/{version}` `{"notes", "store_format", "min_store_format"}`.
pub async fn set(
    State(s): State<AppState>,
    Admin(admin): Admin,
    Path(version): Path<String>,
    ApiJson(body): ApiJson<ReleaseSet>,
) -> Result<Json<ReleaseInfo>, ApiError> {
    let stamp = stamp();
    Ok(Json(
        s.db.write(move |c| {
            Ok(releases::release_set(
                c,
                &version,
                &body,
                &admin.user_id,
                &stamp,
            ))
        })
        .await??,
    ))
}

/// `DELETE /api/v1/admin/releases/{version}`: withdraws it.
pub async fn delete(
    State(s): State<AppState>,
    _: Admin,
    Path(version): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.db.write(move |c| Ok(releases::release_delete(c, &version)))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/admin/releases/{version}/{platform}`: the package's bytes as the body, its
/// signature in the `outpost-release-signature` header.
pub async fn upload(
    State(s): State<AppState>,
    Admin(admin): Admin,
    Path((version, platform)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ReleasePackage>, ApiError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "send the package's signature (its .sig file) in the {SIGNATURE_HEADER} header"
            ))
        })?;
    let stamp = stamp();
    Ok(Json(
        s.db.write(move |c| {
            let org = crate::org::Org::load(c)?;
            Ok(releases::package_put(
                c,
                &org,
                &version,
                &platform,
                &signature,
                &body,
                &admin.user_id,
                &stamp,
            ))
        })
        .await??,
    ))
}

/// Query of `GET /api/v1/app/update`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateQuery {
    /// `{os}-{arch}-{installer}`.
    platform: String,
    /// The app's own version.
    current: String,
}

/// `GET /api/v1/app/update?platform=…&current=…`: the update for this app, or 204.
pub async fn update(
    State(s): State<AppState>,
    _: Caller,
    query: Result<Query<UpdateQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let offer =
        s.db.tx(move |c| Ok(releases::offer(c, &q.platform, &q.current)))
            .await??;
    Ok(match offer {
        Some(offer) => Json(offer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `GET /api/v1/app/releases/{version}/{platform}`: the package.
pub async fn package(
    State(s): State<AppState>,
    _: Caller,
    Path((version, platform)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let bytes =
        s.db.tx(move |c| Ok(releases::package(c, &version, &platform)))
            .await??;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
