//! `outpost-core` is the field app's client API: the `noun_verb` functions (`session_sign_in`,
//! `record_list`, `record_update`, `sync_now`, …) that the Tauri shell, the `outpost` CLI
//! and the browser bridge all call, so the three behave identically. It owns the local
//! [`outpost_store::Store`] and drives the sans-IO [`outpost_sync::Engine`] over HTTP.
//!
//! It must never know about Tauri, windows or the terminal, and never depend on the
//! server crate: it reaches the server only through the wire types of `outpost-protocol`.

mod access;
pub mod api;
pub mod bridge;
mod client;
pub mod commands;
mod error;
mod remote;

pub use api::{ApiError, ErrorCode};

/// This build's version, as it tells servers (`outpost-app-version`).
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");
pub use client::{
    Client, ClientConfig, Clock, Environment, Installer, Installing, Notifier, UpdateTicket,
};
pub use error::CoreError;
/// Background sync's timing (probe backoff, push debounce, retry), for the shells.
pub use outpost_sync::Config as SyncTiming;
/// What background sync tells the shells (desktop notifications, C19) and hears from them
/// (session lock, network, visibility).
pub use outpost_sync::{Event as SyncSignal, Notification};
pub use remote::{HttpRequest, HttpResponse, Sent, Transport};

/// What a release of this build must say (`outpost-app --release-manifest`, which `cargo
/// xtask bundle` writes beside the packages as `outpost-release.json`): its version, the
/// protocol it speaks and the device database formats it opens. One line of JSON.
pub fn release_manifest() -> String {
    let manifest = outpost_protocol::release::ReleaseManifest {
        version: APP_VERSION.to_owned(),
        protocol: outpost_protocol::PROTOCOL_VERSION,
        store_format: outpost_store::FORMAT,
        min_store_format: outpost_store::MIN_FORMAT,
    };
    serde_json::to_string(&manifest).unwrap_or_default()
}
