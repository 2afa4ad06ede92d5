//! `outpost-protocol` is the wire format between a device and the org server: the JSON
//! bodies of `/api/v1`, described for people in `docs/PROTOCOL.md`.
//!
//! It only declares types (serde). It must never know how either side stores or sends
//! them: no HTTP client or server, no SQL, no async.

use outpost_domain::{FieldConflict, Fields, Operation};
use serde::{Deserialize, Serialize};

/// Every route lives under this prefix; a breaking change bumps it.
pub const API_PREFIX: &str = "/api/v1";

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password, only ever sent over this request.
    pub password: String,
    /// The device's stable id; tokens and applied operations are kept per device.
    pub device_id: String,
}

/// Answer to a successful login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Opaque bearer token; the server keeps only its hash.
    pub access_token: String,
    /// Who signed in.
    pub user: UserInfo,
}

/// A user as a device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Name to show.
    pub display_name: String,
}

/// `GET /api/v1/sync/pull?checkpoint=N&limit=M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The checkpoint of the last page the device stored (0 for an initial sync).
    pub checkpoint: u64,
    /// Most records in one page.
    pub limit: u32,
}

/// One page of changes since a checkpoint. Pages are ordered by row version, so storing a
/// page and then its checkpoint makes an interrupted sync resume where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Records to insert or replace on the device.
    pub records: Vec<RecordPayload>,
    /// Records the device must drop.
    pub removed: Vec<RecordRef>,
    /// Store this after applying the page; send it back to get the next one.
    pub checkpoint: u64,
    /// Whether another page follows right away.
    pub has_more: bool,
    /// The org's metadata version.
    pub metadata_version: u64,
}

/// A record as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPayload {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// The row version of this state of the record.
    pub row_version: u64,
    /// Field values the user may read.
    pub fields: Fields,
}

/// Names a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
}

/// `POST /api/v1/sync/push`: a device's operations, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Operations in order.
    pub ops: Vec<PushOp>,
}

/// One operation of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOp {
    /// Unique per device; the server answers a resent id with the stored outcome.
    pub op_id: String,
    /// The row version the device's change was based on.
    pub base_version: Option<u64>,
    /// The operation itself.
    pub op: Operation,
}

/// Answer to a push: one outcome per operation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Outcomes, same order as the request.
    pub outcomes: Vec<OpOutcome>,
}

/// The outcome of one pushed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    /// The operation's id.
    pub op_id: String,
    /// What happened.
    pub result: OpResult,
}

/// What happened to a pushed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OpResult {
    /// Applied; the record now has this row version.
    Applied {
        /// New row version of the record.
        row_version: u64,
    },
    /// Not applied: both sides changed these fields.
    Conflict {
        /// The conflicting fields with the server's values.
        fields: Vec<FieldConflict>,
    },
    /// Not applied for another reason.
    Error {
        /// Machine-readable reason (`not_found`, `invalid`, `forbidden`, …).
        code: String,
        /// What a person reads.
        message: String,
    },
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code; clients branch on it, never on the message.
    pub code: String,
    /// What a person reads.
    pub message: String,
}

#[cfg(test)]
mod tests;
