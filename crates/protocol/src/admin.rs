//! Wire types of the admin API (`/api/v1/admin/…`) and of `outpost-server admin …`:
//! offline provisioning, per-entity offline settings, offline profiles with their
//! lifecycle, assignment and dry run (S6–S9, S11), and org settings.

use serde::{Deserialize, Serialize};

/// An offline profile's content (S8): what a device of an assigned user holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDef {
    /// Unique name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// One item per entity the profile takes offline.
    pub items: Vec<ProfileItem>,
}

/// One entity of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileItem {
    /// Entity logical name; it must be offline-enabled.
    pub entity: String,
    /// Which of its records go offline.
    pub data: ItemData,
    /// Related records this item's records bring along.
    #[serde(default)]
    pub relationships: Vec<RelationshipRule>,
    /// Minutes between background syncs of the entity (5–1440).
    #[serde(default = "default_interval")]
    pub sync_interval_minutes: u32,
}

fn default_interval() -> u32 {
    15
}

/// The data filter of a profile item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemData {
    /// Only records another item's relationship rule brings.
    RelatedOnly,
    /// Every record the user may read (within the org's entity filter).
    All,
    /// Records matching the chosen ownership options (any of them; none chosen means
    /// any owner) and the custom filter, if given.
    Other {
        /// Records the user owns.
        #[serde(default)]
        mine: bool,
        /// Records owned by the user's teams or by their members.
        #[serde(default)]
        my_team: bool,
        /// Records of the user's business unit.
        #[serde(default)]
        my_business_unit: bool,
        /// A filter in the query language (B7), e.g. `statecode eq 0`.
        #[serde(default)]
        custom: Option<String>,
    },
}

/// A relationship rule: records of `entity` linked to this item's records through the
/// lookup `attribute` — a lookup of `entity` pointing at the item's entity (its children)
/// or a lookup of the item's entity pointing at `entity` (its parents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipRule {
    /// The related entity (an item of the same profile).
    pub entity: String,
    /// The lookup attribute that links them.
    pub attribute: String,
}

/// A profile as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// Id.
    pub id: String,
    /// The draft being edited.
    pub draft: ProfileDef,
    /// What devices get, once published.
    pub published: Option<ProfileDef>,
    /// Bumped by every publish (0: never published).
    pub version: u64,
    /// Whether the draft differs from the published profile.
    pub unpublished_changes: bool,
    /// Assigned users (ids).
    pub users: Vec<String>,
    /// Assigned teams (ids).
    pub teams: Vec<String>,
}

/// A problem that stops a profile from being published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileProblem {
    /// Machine-readable code (`entity_not_enabled`, `lookup_target_not_enabled`,
    /// `bad_filter`, `bad_relationship`, `circular_relationship`, `unreachable_item`,
    /// `bad_interval`, `duplicate_item`, `ownership_on_org_entity`).
    pub code: String,
    /// The entity it is about.
    pub entity: String,
    /// What a person reads.
    pub message: String,
}

/// `PUT /api/v1/admin/profiles/{id}/assignments`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignments {
    /// User ids.
    #[serde(default)]
    pub users: Vec<String>,
    /// Team ids.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// `POST /api/v1/admin/profiles/{id}/publish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish even when a user's data would exceed the per-user budget.
    #[serde(default)]
    pub force: bool,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishResponse {
    /// The new version.
    pub version: u64,
    /// The dry run it was checked against.
    pub dry_run: DryRun,
}

/// What a profile would send (S9 dry run): per assigned user, records and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRun {
    /// The per-user budget in bytes.
    pub budget_bytes: u64,
    /// One line per assigned user.
    pub users: Vec<DryRunUser>,
}

/// One user's share of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunUser {
    /// User id.
    pub user_id: String,
    /// Sign-in name.
    pub username: String,
    /// Records per entity.
    pub records: std::collections::BTreeMap<String, u64>,
    /// All records.
    pub total_records: u64,
    /// Bytes of the records as the device would receive them (uncompressed JSON).
    pub bytes: u64,
    /// Whether `bytes` is over the budget.
    pub over_budget: bool,
}

/// The org-level offline settings of one entity (S7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityOffline {
    /// Entity logical name.
    #[serde(default)]
    pub entity: String,
    /// Whether the entity may go offline at all.
    pub enabled: bool,
    /// The org filter bounding what any device receives, in the query language; `""`
    /// admits every record, none (null) admits nothing.
    #[serde(default)]
    pub filter: Option<String>,
}

/// Org settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    /// Offline is provisioned for the org (S6); switching it off wipes every device.
    pub provisioned: bool,
    /// Field-level conflict detection on push (B1); off means the device wins.
    pub conflict_detection: bool,
    /// Most bytes a profile may send one user before publish refuses without `force`.
    pub budget_bytes: u64,
    /// The oldest field app version that may sync (`major.minor.patch`); older ones are
    /// answered `update_required`. Empty: any.
    #[serde(default)]
    pub min_app_version: String,
    /// The org's update signing public key (what `tauri signer generate` writes to its
    /// `.pub` file): uploaded packages must be signed with its secret half. Empty: no
    /// release can be uploaded.
    #[serde(default)]
    pub update_public_key: String,
}

/// A user as the admin API lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Name to show.
    pub display_name: String,
    /// Business unit id.
    pub business_unit: String,
    /// Manager's id.
    pub manager: Option<String>,
    /// Role ids.
    pub roles: Vec<String>,
    /// Team ids.
    pub teams: Vec<String>,
    /// May use the admin API.
    pub is_admin: bool,
}

/// One user's session on one device, as `GET /api/v1/admin/devices` lists them (device
/// ids are the clients' choice: two users may share one, each listed on their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminDevice {
    /// The user's id.
    pub user_id: String,
    /// The user's sign-in name.
    pub username: String,
    /// The device id (what `POST /admin/devices/{id}/revoke` takes).
    pub device_id: String,
    /// When the device last signed in or refreshed its tokens (UTC, RFC 3339).
    pub last_sign_in_on: Option<String>,
    /// When it last pulled (none: never).
    pub last_pull_on: Option<String>,
    /// When it last pushed an operation (none: never).
    pub last_push_on: Option<String>,
    /// It holds a refresh token that is neither used, revoked nor expired: it can still
    /// sync. False once signed out, revoked or past the refresh token's lifetime.
    pub signed_in: bool,
    /// It was revoked as lost: at its next contact it is told to delete the user's data.
    pub wipe_ordered: bool,
}

/// `POST /api/v1/admin/devices/{id}/revoke`: revokes one user's tokens on a device (device
/// ids are the clients' choice, so another user's session on "the same" id is untouched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeDeviceRequest {
    /// The user, by user name or id.
    pub user: String,
    /// The device was lost: when it next presents any of those tokens it is told to delete
    /// the user's offline data (`device_wipe`).
    #[serde(default)]
    pub wipe: bool,
}
