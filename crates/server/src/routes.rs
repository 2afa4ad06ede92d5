//! The HTTP routes under `/api/v1`, one module per area.

mod admin;
mod auth;
mod meta;
mod records;
mod releases;
mod sync;

pub use sync::MAX_PAGE as MAX_PULL_PAGE;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::AppState;

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/metadata", get(meta::metadata))
        .route("/api/v1/sync/pull", get(sync::pull))
        .route("/api/v1/sync/push", post(sync::push))
        .route("/api/v1/sync/errors", get(sync::errors))
        .route("/api/v1/sync/errors/{id}/resolve", post(sync::resolve))
        .route("/api/v1/sync/ops/{op_id}/resolve", post(sync::resolve_op))
        .route("/api/v1/operations", post(records::operation))
        .route(
            "/api/v1/records/{entity}",
            get(records::list).post(records::create),
        )
        .route(
            "/api/v1/records/{entity}/{id}",
            get(records::get)
                .patch(records::update)
                .delete(records::delete),
        )
        .route("/api/v1/admin/users", get(admin::users))
        .route("/api/v1/admin/security", get(admin::security))
        .route(
            "/api/v1/admin/settings",
            get(admin::settings).put(admin::settings_set),
        )
        .route("/api/v1/admin/metadata", put(admin::metadata_set))
        .route("/api/v1/admin/offline/entities", get(admin::entities))
        .route(
            "/api/v1/admin/offline/entities/{entity}",
            put(admin::entity_set),
        )
        .route(
            "/api/v1/admin/profiles",
            get(admin::profiles).post(admin::profile_create),
        )
        .route(
            "/api/v1/admin/profiles/{id}",
            get(admin::profile)
                .put(admin::profile_update)
                .delete(admin::profile_delete),
        )
        .route(
            "/api/v1/admin/profiles/{id}/validate",
            post(admin::validate),
        )
        .route("/api/v1/admin/profiles/{id}/dry-run", post(admin::dry_run))
        .route("/api/v1/admin/profiles/{id}/publish", post(admin::publish))
        .route(
            "/api/v1/admin/profiles/{id}/assignments",
            put(admin::assign),
        )
        .route("/api/v1/admin/devices", get(admin::devices))
        .route("/api/v1/admin/devices/{id}/revoke", post(admin::revoke))
        .route("/api/v1/admin/sync-errors", get(admin::sync_errors))
        .route("/api/v1/admin/releases", get(releases::list))
        .route(
            "/api/v1/admin/releases/{version}",
            put(releases::set).delete(releases::delete),
        )
        .route(
            "/api/v1/admin/releases/{version}/{platform}",
            put(releases::upload).layer(DefaultBodyLimit::max(crate::releases::MAX_PACKAGE)),
        )
        .route("/api/v1/app/update", get(releases::update))
        .route(
            "/api/v1/app/releases/{version}/{platform}",
            get(releases::package),
        )
}

/// `GET /api/v1/health`: the server answers, and says which org it is (devices key their
/// data by the org id, not by the address they typed). From memory after the first probe:
/// probes come often and must not queue behind database work.
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, crate::ApiError> {
    let org_id = state.org_id().await?;
    Ok(axum::Json(
        serde_json::json!({ "status": "ok", "org_id": org_id }),
    ))
}
