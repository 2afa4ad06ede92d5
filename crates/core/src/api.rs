//! The types that cross the UI boundary. TypeScript declarations are generated from them
//! (`cargo xtask codegen`), so the UI and the core cannot drift apart silently.

use outpost_domain::Fields;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What kind of failure a UI call met; the UI branches on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No one is signed in on this device.
    NotSignedIn,
    /// Wrong user name or password, or the session was revoked.
    Unauthorized,
    /// The server cannot be reached; offline work goes on.
    ServerUnreachable,
    /// The record does not exist locally.
    NotFound,
    /// The input was refused (with the reason in the message).
    InvalidInput,
    /// The local database does not open with the key in the keychain.
    WrongKey,
    /// The OS keychain failed or has no key for the local database.
    Keychain,
    /// The server answered with an error.
    Server,
    /// The server asked this device to delete its offline data: it is deleted and the
    /// user is signed out.
    Wiped,
    /// A bug: details are in the log.
    Internal,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What a person reads.
    pub message: String,
}

/// The session and sync state the footer shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SessionStatus {
    /// Whether a user is signed in on this device.
    pub signed_in: bool,
    /// The server signed in to (or the configured default before sign-in).
    pub server_url: Option<String>,
    /// Who is signed in.
    pub username: Option<String>,
    /// Whether the last contact with the server succeeded.
    pub online: bool,
    /// Operations waiting to be sent (or refused and waiting for the user).
    pub pending_ops: u32,
    /// When the last sync finished (RFC 3339), if ever.
    pub last_sync_at: Option<String>,
    /// Why nobody is signed in any more, when a session ended without the user signing
    /// out (offline work is kept unless the reason is `wiped`).
    pub signed_out_reason: Option<SignedOutReason>,
}

/// Why a session ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SignedOutReason {
    /// The server no longer accepts the session (revoked, or the refresh failed); the
    /// local data and offline work are kept for the next sign-in.
    SessionEnded,
    /// The server asked the device to delete its offline data, and it did.
    Wiped,
}

impl SignedOutReason {
    /// The name kept in the store (the serde name).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnded => "session_ended",
            Self::Wiped => "wiped",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::SessionEnded, Self::Wiped]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// `session_sign_in` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SignInArgs {
    /// Server base URL, e.g. `https://crm.example.com`.
    pub server_url: String,
    /// User name.
    pub username: String,
    /// Password; sent to the server once, never stored.
    pub password: String,
}

/// `record_list` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecordListArgs {
    /// Entity logical name.
    pub entity: String,
}

/// A record as a grid or form shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecordRow {
    /// Record id.
    pub id: String,
    /// Entity logical name.
    pub entity: String,
    /// Field values by logical name.
    pub fields: Fields,
    /// The server row version the local state is based on.
    #[ts(type = "number")]
    pub row_version: u64,
    /// Whether local changes wait to be synced.
    pub pending: bool,
    /// Why the record is on the device (B3): `profile`, `follow`, or
    /// `related:<entity>.<attribute>`; null for a record made on the device, not yet synced.
    pub reason: Option<String>,
}

/// `record_update` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecordUpdateArgs {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// The fields to change, with their new values.
    pub fields: Fields,
}

/// What `sync_now` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncReport {
    /// Operations the server applied.
    pub pushed: u32,
    /// Records received.
    pub pulled: u32,
    /// Operations refused as conflicts.
    pub conflicts: u32,
    /// Operations refused for another reason.
    pub errors: u32,
    /// When the sync finished (RFC 3339).
    pub finished_at: String,
}

/// The TypeScript declarations of every type above, as committed in
/// `ui/src/lib/api/bindings.ts`.
pub fn typescript_bindings() -> String {
    let cfg = ts_rs::Config::default();
    let decls = [
        ErrorCode::decl(&cfg),
        ApiError::decl(&cfg),
        SessionStatus::decl(&cfg),
        SignedOutReason::decl(&cfg),
        SignInArgs::decl(&cfg),
        RecordListArgs::decl(&cfg),
        RecordRow::decl(&cfg),
        RecordUpdateArgs::decl(&cfg),
        SyncReport::decl(&cfg),
    ];
    let mut out = String::from(
        "// This file is generated by `cargo xtask codegen` from the Rust types in outpost-core. Do not edit.\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
