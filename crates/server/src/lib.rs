//! `outpost-server` is the org server: the CRM's system of record that devices sign in to,
//! pull their offline data from and push their offline work to.
//!
//! [`app`] builds the whole HTTP surface as one axum `Router` over an [`AppState`], so
//! tests drive it in-process with `oneshot` and `main.rs` only parses flags and serves it.
//! Business rules come from `outpost-domain` (the same code the device runs); this crate
//! adds storage, authentication and transport. It must never depend on any client crate.

pub mod auth;
pub mod error;
mod extract;
pub mod routes;
pub mod seed;
pub mod storage;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use outpost_domain::Metadata;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

pub use error::ApiError;
pub use storage::Db;

/// The largest request body the server reads (after decompression); bigger is a 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The org database.
    pub db: Db,
    /// The org's metadata.
    pub metadata: Arc<Metadata>,
}

impl AppState {
    /// State over an opened database with the skeleton's metadata.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            metadata: Arc::new(Metadata::skeleton()),
        }
    }
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .with_state(state)
}
