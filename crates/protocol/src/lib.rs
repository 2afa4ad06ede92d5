//! `outpost-protocol` is the wire format between a device and the org server: the JSON
//! bodies of `/api/v1`, described for people in `docs/PROTOCOL.md`.
//!
//! It declares types (serde), and one file format both sides read: the sealed recovery
//! file ([`recovery`]). It must never know how either side stores or sends them: no HTTP
//! client or server, no SQL, no async.

pub mod admin;
mod code;
pub mod recovery;
pub mod release;
mod version;

pub use code::WireCode;
pub use version::{
    APP_VERSION_HEADER, AppVersion, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION,
};

use std::collections::BTreeMap;

use outpost_domain::metadata::Metadata;
use outpost_domain::security::{Depth, FieldPermission, Privilege};
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

/// Answer to a successful login or token refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Opaque bearer token for every other request; the server keeps only its hash.
    pub access_token: String,
    /// Seconds the access token stays valid; after that, refresh.
    #[serde(default)]
    pub expires_in: u64,
    /// Opaque token that buys a new pair once (`POST /api/v1/auth/refresh`); rotated on use.
    #[serde(default)]
    pub refresh_token: String,
    /// Who signed in.
    pub user: UserInfo,
    /// The org's identity (stable across the server's addresses): a device keeps one
    /// local database per (org, user). Empty from a server older than it.
    #[serde(default)]
    pub org_id: String,
}

/// `POST /api/v1/auth/refresh`: trades a refresh token for a new token pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last login or refresh.
    pub refresh_token: String,
}

/// `GET /api/v1/metadata`: the org's metadata and what the caller may do with it — what a
/// device needs to build its store and to offer only allowed actions (B4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// Entities, forms, views, flows, sitemap, app modules; `metadata.version` bumps on
    /// every change.
    pub metadata: Metadata,
    /// The caller's privileges and field permissions.
    pub access: UserAccess,
    /// The offline profile published for the caller, if any.
    pub profile: Option<DeviceProfile>,
    /// The fingerprint of `access` that pull pages carry too (`PullResponse::access_key`).
    #[serde(default)]
    pub access_key: String,
    /// The org's public recovery key (base64, X25519): work a wipe cannot send is sealed
    /// to it too, so an administrator can recover it ([`recovery`]). Empty from a server
    /// older than it.
    #[serde(default)]
    pub recovery_key: String,
}

/// One user's effective security, as a device caches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccess {
    /// The user's id.
    pub user_id: String,
    /// The user's business unit id.
    pub business_unit_id: String,
    /// Ids of the teams the user is a member of.
    pub team_ids: Vec<String>,
    /// The user and everyone below them in the manager chain (the query language's
    /// `eq-useroruserhierarchy`, so views filter the same offline).
    #[serde(default)]
    pub hierarchy_user_ids: Vec<String>,
    /// Entity → privilege → effective depth (only entities with some privilege).
    pub privileges: BTreeMap<String, BTreeMap<Privilege, Depth>>,
    /// Entity → secured attribute → what the user may do with it.
    pub secured_fields: BTreeMap<String, BTreeMap<String, FieldPermission>>,
    /// The user's whole security principal, as the server decides with it: the device
    /// checks an action with the same `Principal::can` (depths, business-unit tree,
    /// manager hierarchy, field security). Absent from servers before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<outpost_domain::security::Principal>,
}

/// The published offline profile that decides what a device holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfile {
    /// Profile id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Bumped by every publish.
    pub version: u64,
    /// The entities it takes offline, with their sync intervals.
    pub items: Vec<DeviceProfileItem>,
}

/// One entity of a device's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfileItem {
    /// Entity logical name.
    pub entity: String,
    /// Minutes between background syncs of this entity (5–1440).
    pub sync_interval_minutes: u32,
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

/// `GET /api/v1/sync/pull?checkpoint=N&limit=M[&resend=E1,E2]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The checkpoint of the last page the device stored (0 for an initial sync).
    pub checkpoint: u64,
    /// Most records in one page.
    pub limit: u32,
    /// Entities, comma-separated, whose records in scope the server must send again whole:
    /// the device forgot values of their fields when an access answer said the user may
    /// no longer read them (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resend: String,
    /// The checkpoint of a page the device received and is storing now, not yet stored
    /// (`checkpoint` is still the one before it): the device asks for the page after it,
    /// so the server computes and sends the next page while the device writes this one
    /// (ADR 0016). The server answers `ahead_refused` when it cannot (the page is not part
    /// of a sweep, or what the device holds changed); the device then asks again once the
    /// page is stored. Nothing is acknowledged by it but `checkpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u64>,
}

impl PullRequest {
    /// The entity names `resend` lists.
    pub fn resend_entities(&self) -> impl Iterator<Item = &str> {
        self.resend
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}

/// One page of changes since a checkpoint. Pages are ordered by row version, so storing a
/// page and then its checkpoint makes an interrupted sync resume where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// The version of the profile this page was computed for (0: none).
    #[serde(default)]
    pub profile_version: u64,
    /// The id of that profile (empty: none). With `profile_version` it tells the device
    /// its cached profile is stale (republished, or another one assigned): it fetches
    /// `/metadata` again for the new items and intervals.
    #[serde(default)]
    pub profile_id: String,
    /// A fingerprint of the user's access (privileges, teams, field security, hierarchy),
    /// as `/metadata` answers it: when it differs from the one the device keeps, the
    /// device fetches `/metadata` again, so what it offers and shows follows a security
    /// change at once. Empty from a server older than it.
    #[serde(default)]
    pub access_key: String,
    /// The device must drop its server layer (keeping its pending operations) before
    /// applying this page: the server restarted its view of what the device holds.
    #[serde(default)]
    pub reset: bool,
    /// The device must delete its offline data and key: offline was switched off for the
    /// org, or the user no longer has a profile. Nothing else in the page counts.
    #[serde(default)]
    pub wipe: bool,
    /// About how many records are still to come in this sync (for progress, B6).
    #[serde(default)]
    pub remaining: u64,
    /// Sync errors of this device that were resolved on the server since the last page.
    #[serde(default)]
    pub resolutions: Vec<Resolution>,
    /// Entities of the profile that the server cannot deliver now, with why (the device
    /// shows them unavailable, C14); every other entity of the profile is delivered.
    #[serde(default)]
    pub unavailable: Vec<EntityProblem>,
    /// The request asked for the page after one not yet stored (`ahead`) and the server
    /// cannot send it now: nothing else in this answer counts; ask again with that page's
    /// checkpoint once it is stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ahead_refused: bool,
}

/// An entity of the profile the server cannot deliver, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityProblem {
    /// Entity logical name.
    pub entity: String,
    /// Why, for the user.
    pub message: String,
}

/// A sync error resolved on the server (by the user elsewhere, or by an administrator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The failed operation's id on this device.
    pub op_id: String,
    /// What was decided.
    pub action: ResolutionAction,
}

/// How a sync error was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionAction {
    /// The offline change was applied after all (conflict detection off for it).
    Apply,
    /// The offline change was dropped; the server's record stands.
    Discard,
}

/// `POST /api/v1/sync/errors/{id}/resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// Apply the offline change or discard it.
    pub action: ResolutionAction,
}

/// A failed replayed operation (S14), as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncErrorInfo {
    /// Sync error id.
    pub id: String,
    /// The user whose operation failed (the owner of the error).
    pub user_id: String,
    /// The device it came from.
    pub device_id: String,
    /// The operation's id on that device.
    pub op_id: String,
    /// The record the operation was about.
    pub entity: String,
    /// Its id.
    pub record_id: String,
    /// `conflict`, or the error code (`not_found`, `forbidden`, `invalid`, …).
    pub code: String,
    /// What a person reads.
    pub message: String,
    /// The operation as the device sent it (the request data).
    pub operation: Operation,
    /// For a conflict: the fields with yours and the server's values.
    pub conflicts: Vec<FieldConflict>,
    /// `open`, `applied` or `discarded`.
    pub state: String,
    /// When it failed (RFC 3339).
    pub created_on: String,
    /// When it was resolved.
    pub resolved_on: Option<String>,
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
    /// Why the record is on the device (B3): `profile`, `follow`, or
    /// `related:<entity>.<attribute>`.
    #[serde(default)]
    pub reason: String,
}

/// A record as the records API answers it (`/records/{entity}[/{id}]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBody {
    /// Id.
    pub id: String,
    /// Row version (also the `ETag`).
    pub row_version: i64,
    /// Fields the caller may read.
    pub fields: Fields,
}

/// `POST /records/{entity}` body: a create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The id to use (a new one when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Field values.
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
        /// Machine-readable reason: a [`WireCode`] (`not_found`, `already_exists`,
        /// `forbidden`, `invalid`, `invalid_state`, `unknown_flow`), kept as text like
        /// [`ErrorBody::code`].
        code: String,
        /// What a person reads.
        message: String,
        /// For `invalid`: each refused field with its code.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<FieldError>,
    },
}

/// One refused field of a create or update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The attribute.
    pub field: String,
    /// Machine-readable reason (`required`, `too_long`, `bad_choice`, `forbidden`, …).
    pub code: String,
    /// What a person reads.
    pub message: String,
}

impl FieldError {
    /// A field that field security refuses: its code is the error's own, `forbidden`.
    pub fn forbidden(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: WireCode::Forbidden.into(),
            message: message.into(),
        }
    }
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code; clients branch on it, never on the message. Text rather
    /// than a [`WireCode`] so that a newer server's code still decodes.
    pub code: String,
    /// What a person reads.
    pub message: String,
    /// For a validation error: each refused field with its code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ErrorBody {
    /// An error with one of the codes this build knows.
    pub fn new(code: WireCode, message: impl Into<String>, fields: Vec<FieldError>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields,
        }
    }

    /// The code, when it is one this build knows.
    pub fn wire_code(&self) -> Option<WireCode> {
        WireCode::parse(&self.code)
    }
}

#[cfg(test)]
mod tests;
