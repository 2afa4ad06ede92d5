//! The HTTP routes under `/api/v1`, one module per area.

mod auth;
mod sync;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/sync/pull", get(sync::pull))
        .route("/api/v1/sync/push", post(sync::push))
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}
