//! The types that cross the UI boundary. TypeScript declarations are generated from them
//! (`cargo xtask codegen`), so the UI and the core cannot drift apart silently.

use outpost_domain::Fields;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Declares an enum of unit variants with `ALL`, each variant in order: the UI's runtime
/// list of error codes is generated from it, so it cannot miss one.
macro_rules! listed {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[doc = $doc:literal])* $variant:ident,)* }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];
        }
    };
}

listed! {
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
        /// The record does not exist (locally, or on the server for an online call).
        NotFound,
        /// The input was refused (with the reason in the message).
        InvalidInput,
        /// The user's privileges do not allow the action (it is not offered either).
        Forbidden,
        /// The record's state or the business rules refuse the action (a closed record, a
        /// flow step to fill first, …); the message says which.
        Refused,
        /// The local database does not open with the key in the keychain.
        WrongKey,
        /// The OS keychain failed or has no key for the local database.
        Keychain,
        /// The server refused an online call for a reason the kinds above do not name
        /// (busy, its own failure, a newer server's code): the message is the server's.
        Server,
        /// The server asked this device to delete its offline data: it is deleted and the
        /// user is signed out.
        Wiped,
        /// A newer org metadata waits for the user's yes (`metadata_accept`); sync waits.
        MetadataPending,
        /// The browser bridge refused a command without its run's key: open the address the
        /// bridge printed.
        BridgeKey,
        /// Deleting the offline data would lose work that has not reached the server: the
        /// message names it, and the call must name it too to go ahead (`discard`).
        UnsentWork,
        /// The device's disk is full: the step did not happen and nothing before it was
        /// lost; free some space and try again.
        DiskFull,
        /// This version of the app cannot go on: the local data was written by a newer
        /// version. Install the newer version; nothing was changed.
        UpdateRequired,
        /// A bug: details are in the log.
        Internal,
    }
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
    /// Sync errors waiting for the user.
    pub sync_errors: u32,
    /// A newer org metadata waits for the user's yes (`metadata_accept`), by version.
    #[ts(type = "number | null")]
    pub metadata_pending: Option<u64>,
    /// The signed-in user's id.
    pub user_id: Option<String>,
    /// Whether this device holds offline data (work can go on offline without a
    /// session, C18).
    pub offline_data: bool,
    /// The sync under way, if one is (B6).
    pub progress: Option<SyncProgress>,
    /// Sealed recovery files on this device (work a wipe could not send): see
    /// `recovery_list`.
    pub recoveries: u32,
    /// This device's id for the signed-in user: what an administrator names to revoke it
    /// (`revoke-device --user U ID`) if it is lost.
    pub device_id: Option<String>,
    /// The server needs a newer app (its message), until a sync goes through again; sync
    /// is refused meanwhile and every change waits on the device.
    pub update_required: Option<String>,
}

/// How a sync under way stands (B6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncProgress {
    /// Records stored so far in this run.
    #[ts(type = "number")]
    pub done: u64,
    /// Records the server says remain.
    #[ts(type = "number")]
    pub remaining: u64,
    /// Estimated seconds left, once a rate is known.
    #[ts(type = "number | null")]
    pub seconds_left: Option<u64>,
}

/// The footer's status (C12–C15): one of the six states, the entities offline with their
/// availability and last sync time, and the reasons behind the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    /// `available`, `available_warning` (metadata update pending), `initializing`,
    /// `not_available`, `not_available_warning` (repair under way), `error`; `none` when
    /// offline is not set up for this user.
    pub state: String,
    /// Whether the server is not known to be unreachable (the offline indicator, C15).
    pub online: bool,
    /// Whether a sync runs now.
    pub syncing: bool,
    /// Whether the session is locked (sync pauses).
    pub locked: bool,
    /// Changes waiting to be sent.
    pub pending_ops: u32,
    /// Sync errors waiting for the user.
    pub sync_errors: u32,
    /// When the last sync finished (RFC 3339).
    pub last_sync_at: Option<String>,
    /// A metadata update waiting for the user's yes, by version.
    #[ts(type = "number | null")]
    pub metadata_pending: Option<u64>,
    /// The offline entities (C14 sitemap markers, C13 last sync time).
    pub entities: Vec<EntityAvailability>,
    /// The reasons behind the state, for the flyout.
    pub reasons: Vec<String>,
    /// The run under way (B6).
    pub progress: Option<SyncProgress>,
    /// The server needs a newer app (its message): the footer says "Update required".
    pub update_required: Option<String>,
    /// A newer release of the app the org offers (S19): the footer offers it.
    pub update: Option<AppUpdate>,
}

/// A newer release of the app, offered by the org server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppUpdate {
    /// Its version.
    pub version: String,
    /// What changed.
    pub notes: String,
    /// The package's size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// Why it cannot be installed (the new build could not open this device's data);
    /// `None` when it can.
    pub blocked: Option<String>,
    /// An install is under way (sync waits for it).
    pub installing: bool,
    /// Why the last install failed (nothing was installed).
    pub failed: Option<String>,
}

/// One offline entity's availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EntityAvailability {
    /// Entity logical name.
    pub entity: String,
    /// Whether its offline data can be used (green) or not (red).
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// When it was last synced (RFC 3339).
    pub last_sync_at: Option<String>,
    /// Its profile item's sync interval.
    pub sync_interval_minutes: u32,
}

/// `session_sign_out` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SignOutArgs {
    /// Delete the offline data and its key too.
    #[serde(default)]
    pub wipe: bool,
    /// With `wipe`, the unsent work the user agreed to lose, exactly as
    /// `session_unsent` counts it now; the wipe is refused when anything unsent is not
    /// named (more was made since the user said yes, or they were never asked).
    #[serde(default)]
    #[ts(optional)]
    pub discard: Option<Unsent>,
}

/// Work that has not reached the server, by kind: what deleting the offline data would
/// lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Unsent {
    /// Changes waiting to be sent (parked ones included).
    pub changes: u32,
    /// Changes the server refused, waiting for a resolution.
    pub sync_errors: u32,
    /// Resolutions made here that the server has not heard yet.
    pub resolutions: u32,
    /// Drafts not yet saved to the server.
    pub drafts: u32,
}

impl Unsent {
    /// Whether nothing is unsent.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn store(&self) -> outpost_store::Unsent {
        outpost_store::Unsent {
            changes: self.changes.into(),
            sync_errors: self.sync_errors.into(),
            resolutions: self.resolutions.into(),
            drafts: self.drafts.into(),
        }
    }

    /// What a person reads: "2 changes and 1 draft".
    pub fn describe(&self) -> String {
        self.store().describe()
    }

    /// "2 changes and 1 draft have" / "1 change has".
    pub(crate) fn describe_have(&self) -> String {
        let count = self.changes + self.sync_errors + self.resolutions + self.drafts;
        format!(
            "{} {}",
            self.describe(),
            if count == 1 { "has" } else { "have" }
        )
    }

    /// "it" / "them".
    pub(crate) fn it_or_them(&self) -> &'static str {
        if self.changes + self.sync_errors + self.resolutions + self.drafts == 1 {
            "it"
        } else {
            "them"
        }
    }
}

impl From<outpost_store::Unsent> for Unsent {
    fn from(u: outpost_store::Unsent) -> Self {
        let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            changes: n(u.changes),
            sync_errors: n(u.sync_errors),
            resolutions: n(u.resolutions),
            drafts: n(u.drafts),
        }
    }
}

/// A sealed recovery file on this device: work a wipe ordered by the server could not
/// send, kept encrypted for its user (or an administrator of their org) to recover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecoveryInfo {
    /// Its id (`recovery_restore`).
    pub id: String,
    /// When it was kept (RFC 3339).
    pub created_on: String,
    /// Whose work: the user name, when this device can read it.
    pub username: Option<String>,
    /// The server it came from, when this device can read it.
    pub server_url: Option<String>,
    /// What it holds, when this device can read it.
    pub unsent: Option<Unsent>,
    /// Whether it can be restored into the store open now (the same org and user).
    pub restorable: bool,
}

/// `recovery_restore` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRestoreArgs {
    /// The recovery file's id.
    pub id: String,
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
    /// The same, and what had not reached the server is kept in a sealed recovery file
    /// for its user to restore after signing in again.
    WipedSealed,
    /// An administrator reported this device lost: the user's data here is deleted,
    /// nothing kept.
    DeviceLost,
    /// The last user's data on this device cannot be opened: its key is missing from the
    /// keychain (or does not open it). It stays on the device; signing in goes on.
    StoreLocked,
}

impl SignedOutReason {
    /// The name kept in the store (the serde name).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnded => "session_ended",
            Self::Wiped => "wiped",
            Self::WipedSealed => "wiped_sealed",
            Self::DeviceLost => "device_lost",
            Self::StoreLocked => "store_locked",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::SessionEnded,
            Self::Wiped,
            Self::WipedSealed,
            Self::DeviceLost,
            Self::StoreLocked,
        ]
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
    /// Whether to download the offline data now (the default). The app says no and asks
    /// the user when they open an offline module for the first time (C1); background sync
    /// starts after that first download.
    #[serde(default)]
    #[ts(optional)]
    pub download: Option<bool>,
    /// Allow a plain `http://` server that is not on this machine (a test server): the
    /// password and data then cross the network unencrypted.
    #[serde(default)]
    #[ts(optional)]
    pub allow_http: Option<bool>,
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
    /// Operations held back behind a failed one (B2).
    pub parked: u32,
    /// Resolutions made on the device that the server took.
    pub resolved: u32,
    /// When the sync finished (RFC 3339).
    pub finished_at: String,
}

/// `record_get`, `record_delete` and `record_why` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecordKey {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
}

/// `record_create` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecordCreateArgs {
    /// Entity logical name.
    pub entity: String,
    /// The values given; system fields are stamped.
    pub fields: Fields,
}

/// What a user may do with a record, from the privileges cached at the last sign-in or
/// sync (the server checks again when the change arrives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct Allowed {
    /// Change its fields.
    pub write: bool,
    /// Delete it.
    pub delete: bool,
    /// Give it to another owner.
    pub assign: bool,
    /// Attach other records to it.
    pub append_to: bool,
}

/// A record with what a form needs besides its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecordDetail {
    /// The record.
    pub record: RecordRow,
    /// Whether the user follows it.
    pub followed: bool,
    /// Why it is on the device (B3).
    pub why: Why,
    /// What the user may do with it.
    pub allowed: Allowed,
    /// Lookup values as a person reads them: `field → name of the record it points at`,
    /// for the records the device holds.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Whether the record is open: only open records take edits, flow moves and commands.
    pub open: bool,
    /// The label of the record's state (`Qualified`), when it has one.
    pub state_label: Option<String>,
    /// The commands the record offers and the user may run (C5), in the order a command
    /// bar shows them; none when it is closed or the user may not change it. Follow,
    /// assign and delete are not here: `followed` and `allowed` say those.
    pub commands: Vec<CommandOffer>,
}

/// A command a record offers (C5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandOffer {
    /// The `command` of its [`CommandArgs`] (`lead_qualify`, `opportunity_close_lost`, …).
    pub command: String,
    /// The status reasons it may close the record with (the dialog's choices); empty when
    /// it asks for none.
    pub statuses: Vec<outpost_domain::metadata::StatusOption>,
}

/// Why a record is on the device (B3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Why {
    /// `profile`, `follow`, `related`, `local` (made on the device and not synced yet),
    /// or `editing` (out of the user's scope now, kept while their change waits, S10).
    pub kind: String,
    /// What a person reads, e.g. "Related to account Contoso (parentcustomerid)".
    pub text: String,
}

/// `view_page` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ViewPageArgs {
    /// Entity logical name.
    pub entity: String,
    /// The system view (its default view when absent).
    #[serde(default)]
    pub view_id: Option<String>,
    /// Narrow to records whose quick-find text matches.
    #[serde(default)]
    pub search: Option<String>,
    /// The cursor of the previous page.
    #[serde(default)]
    pub after: Option<String>,
    /// Rows per page (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Sort instead of the view's own order: `field [asc|desc]`, comma-separated (a
    /// column header's sort). A cursor belongs to one order: start again when it changes.
    #[serde(default)]
    pub order_by: Option<String>,
}

/// A view as a switcher lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ViewInfo {
    /// View id.
    pub id: String,
    /// What a person sees.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<String>,
    /// Whether it is the entity's default view.
    pub is_default: bool,
}

/// One page of a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ViewPageResult {
    /// The view shown.
    pub view: ViewInfo,
    /// Rows in the view's order.
    pub rows: Vec<RecordRow>,
    /// How many rows the view has (first page only).
    #[ts(type = "number | null")]
    pub total: Option<u64>,
    /// The cursor of the next page, when there are more rows.
    pub next: Option<String>,
    /// When the entity was last synced (RFC 3339), for the grid's footer (C13).
    pub last_sync_at: Option<String>,
    /// The names of the records this page's lookup and owner values point at
    /// (`entity:id` → name), for those the device holds.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Whether the user may create records of this entity (the grid's New).
    pub can_create: bool,
    /// Whether the user may change some records of this entity (bulk actions such as
    /// Mark complete; each record is checked again).
    pub can_write: bool,
    /// Whether the entity is an activity (its records can be marked complete, C5).
    pub is_activity: bool,
}

/// `search` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What the user typed (words are prefixes; dates as `yyyy-mm-dd`).
    pub text: String,
    /// One entity (categorized search, C8) or several (B5); every offline entity when
    /// absent.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// Hits at most (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One search hit, or one choice of a lookup dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SearchHitRow {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// The record's primary field (its name).
    pub name: Option<String>,
    /// The record.
    pub record: RecordRow,
}

/// `lookup_search` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LookupSearchArgs {
    /// The entity whose lookup field is being filled.
    pub entity: String,
    /// The lookup field.
    pub field: String,
    /// What the user typed (empty: the first records by name).
    #[serde(default)]
    pub text: String,
    /// Choices at most (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A command (C4, C5), with the ids of anything it creates chosen by the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum CommandArgs {
    /// Qualify a lead, creating the chosen records.
    LeadQualify {
        /// The lead.
        lead_id: String,
        /// Create an account from the company name.
        create_account: bool,
        /// Create a contact from the person's name.
        create_contact: bool,
        /// Create an opportunity.
        create_opportunity: bool,
    },
    /// Disqualify a lead with a status reason (4 Lost, 5 Cannot Contact, 6 No Longer
    /// Interested, 7 Canceled).
    LeadDisqualify {
        /// The lead.
        lead_id: String,
        /// Status reason.
        status: i32,
    },
    /// Close an opportunity as won.
    OpportunityCloseWon {
        /// The opportunity.
        id: String,
        /// Actual revenue (money text); the estimate when absent.
        #[serde(default)]
        actual_revenue: Option<String>,
        /// Why it was won.
        #[serde(default)]
        description: Option<String>,
    },
    /// Close an opportunity as lost (status 4 Canceled or 5 Out-Sold).
    OpportunityCloseLost {
        /// The opportunity.
        id: String,
        /// Status reason.
        status: i32,
        /// Who won instead.
        #[serde(default)]
        competitor: Option<String>,
        /// Why it was lost.
        #[serde(default)]
        description: Option<String>,
    },
    /// Resolve a case (status 5 Problem Solved or 1000 Information Provided).
    CaseResolve {
        /// The case.
        id: String,
        /// Resolution type (status reason).
        status: i32,
        /// The resolution.
        subject: String,
        /// Minutes spent.
        #[serde(default)]
        time_spent_minutes: Option<u32>,
    },
    /// Create an opportunity from an activity and complete the activity.
    ActivityConvertToOpportunity {
        /// Activity entity (`task`, `phonecall`, `appointment`).
        entity: String,
        /// Activity id.
        id: String,
    },
    /// Complete an activity.
    ActivityMarkComplete {
        /// Activity entity.
        entity: String,
        /// Activity id.
        id: String,
    },
    /// Give a record to another user or team.
    Assign {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
        /// `systemuser` or `team`.
        owner_entity: String,
        /// The new owner's id.
        owner_id: String,
    },
    /// Move to the flow's next stage.
    FlowNext {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
    },
    /// Move to the flow's previous stage.
    FlowPrevious {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
    },
    /// Make a stage the active one.
    FlowSetActive {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
        /// The stage.
        stage_id: String,
    },
    /// Follow the record (it then stays on the device, S11).
    Follow {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
    },
    /// Stop following the record.
    Unfollow {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
    },
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandResult {
    /// The record the command was about, as it is now (absent when it was deleted).
    pub record: Option<RecordRow>,
    /// Records it created, with the ids they keep after sync.
    pub created: Vec<RecordKey>,
}

/// A sync error as the user sees it (C11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncErrorRow {
    /// The failed operation's id.
    pub op_id: String,
    /// Operation kind (`update`, `lead_qualify`, …).
    pub kind: String,
    /// The record it was about.
    pub entity: String,
    /// The record it was about.
    pub id: String,
    /// The record's name, when the device holds it.
    pub name: Option<String>,
    /// `conflict` or the server's error code.
    pub code: String,
    /// What a person reads.
    pub message: String,
    /// For a conflict: each field both sides changed, with both values ("!").
    pub conflicts: Vec<ConflictField>,
    /// For an invalid change: each refused field with its code.
    pub fields: Vec<FieldProblem>,
    /// The change the device made (field → value), for "edit and resubmit".
    pub changes: Fields,
    /// Operations waiting behind this one (B2).
    pub waiting: Vec<String>,
    /// Whether a resolution made here waits to reach the server.
    pub resolving: bool,
    /// That resolution (`keep_mine`, `take_server` or `resubmit`), while it waits.
    pub resolution: Option<String>,
    /// When the change was made (RFC 3339).
    pub created_on: Option<String>,
}

/// One operation of the device's change log, as it waits for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OutboxRow {
    /// The operation's id (what the server deduplicates on).
    pub op_id: String,
    /// Operation kind (`create`, `update`, `lead_qualify`, …).
    pub kind: String,
    /// The record it is about.
    pub entity: String,
    /// The record it is about.
    pub id: String,
    /// `pending`, `parked` (behind a sync error of the same record, B2), `failed` (a sync
    /// error) or `resolving` (resolved here, the resolution not yet sent).
    pub state: String,
    /// The failed operation a parked one waits behind.
    pub parked_behind: Option<String>,
}

/// One conflicting field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConflictField {
    /// The field.
    pub field: String,
    /// What the device saw before its change.
    pub before: Option<String>,
    /// The device's value.
    pub mine: Option<String>,
    /// The server's value.
    pub server: Option<String>,
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldProblem {
    /// The field.
    pub field: String,
    /// Machine-readable code (`required`, `too_long`, …).
    pub code: String,
    /// What a person reads.
    pub message: String,
}

/// How to resolve a sync error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum SyncErrorAction {
    /// Keep the device's change (the server applies it over its values).
    KeepMine,
    /// Take the server's record; the change is dropped.
    TakeServer,
    /// Send these field values instead (an update or create only).
    Resubmit {
        /// The corrected values.
        fields: Fields,
    },
}

/// `sync_error_resolve` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SyncErrorResolveArgs {
    /// The failed operation.
    pub op_id: String,
    /// What to do.
    pub resolution: SyncErrorAction,
}

/// An app module the user may open (C1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppModuleInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `sync`, `drafts`, or null when not offline.
    pub offline: Option<String>,
    /// Its entities.
    pub entities: Vec<String>,
}

/// `script_retrieve_multiple` arguments (C20): the offline API's query options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ScriptQueryArgs {
    /// Entity logical name.
    pub entity: String,
    /// `?$select=…&$filter=…&$orderby=…&$top=…` (the leading `?` optional).
    #[serde(default)]
    pub options: String,
}

/// One change of a script's batch (`script_execute_multiple`, C20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScriptChange {
    /// A new record (its id is made here).
    Create {
        /// Entity logical name.
        entity: String,
        /// The values given.
        fields: Fields,
    },
    /// Fields of a record.
    Update {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The values given.
        fields: Fields,
    },
    /// A record deleted.
    Delete {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
    },
}

/// `script_execute_multiple` arguments: changes applied in order, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ScriptBatchArgs {
    /// The changes, in order (at most 10,000).
    pub changes: Vec<ScriptChange>,
}

/// What became of one change of a script's batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScriptChangeResult {
    /// The record's id (a created one's new id).
    pub id: String,
    /// Why it was refused (nothing of it was written); `None`: applied and queued.
    pub error: Option<ApiError>,
}

/// A new record made in a drafts module (C17), waiting to be saved to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DraftRow {
    /// The id the record gets on the server.
    pub id: String,
    /// Entity logical name.
    pub entity: String,
    /// Field values.
    pub fields: Fields,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was last changed (RFC 3339).
    pub updated_at: String,
    /// Why the last save failed, if it did.
    pub error: Option<String>,
}

/// `draft_update` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DraftUpdateArgs {
    /// The draft.
    pub id: String,
    /// The fields to change, with their new values.
    pub fields: Fields,
}

/// `draft_save` and `draft_delete` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DraftKey {
    /// The draft.
    pub id: String,
}

/// `recent_list` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RecentListArgs {
    /// Only this entity's records (all when absent).
    #[serde(default)]
    pub entity: Option<String>,
}

/// The TypeScript declarations of every type above, as committed in
/// `ui/src/lib/api/bindings.ts`.
pub fn typescript_bindings() -> String {
    use outpost_domain::metadata as M;
    let cfg = ts_rs::Config::default();
    let decls = [
        ErrorCode::decl(&cfg),
        ApiError::decl(&cfg),
        SessionStatus::decl(&cfg),
        SignedOutReason::decl(&cfg),
        SignInArgs::decl(&cfg),
        SyncProgress::decl(&cfg),
        AppUpdate::decl(&cfg),
        SyncStatus::decl(&cfg),
        EntityAvailability::decl(&cfg),
        SignOutArgs::decl(&cfg),
        Unsent::decl(&cfg),
        RecoveryInfo::decl(&cfg),
        RecoveryRestoreArgs::decl(&cfg),
        RecordListArgs::decl(&cfg),
        RecordRow::decl(&cfg),
        RecordUpdateArgs::decl(&cfg),
        SyncReport::decl(&cfg),
        RecordKey::decl(&cfg),
        RecordCreateArgs::decl(&cfg),
        Allowed::decl(&cfg),
        RecordDetail::decl(&cfg),
        CommandOffer::decl(&cfg),
        Why::decl(&cfg),
        ViewPageArgs::decl(&cfg),
        ViewInfo::decl(&cfg),
        ViewPageResult::decl(&cfg),
        SearchArgs::decl(&cfg),
        SearchHitRow::decl(&cfg),
        LookupSearchArgs::decl(&cfg),
        CommandArgs::decl(&cfg),
        CommandResult::decl(&cfg),
        SyncErrorRow::decl(&cfg),
        ConflictField::decl(&cfg),
        FieldProblem::decl(&cfg),
        SyncErrorAction::decl(&cfg),
        SyncErrorResolveArgs::decl(&cfg),
        AppModuleInfo::decl(&cfg),
        ScriptQueryArgs::decl(&cfg),
        ScriptChange::decl(&cfg),
        ScriptBatchArgs::decl(&cfg),
        ScriptChangeResult::decl(&cfg),
        DraftRow::decl(&cfg),
        DraftUpdateArgs::decl(&cfg),
        DraftKey::decl(&cfg),
        RecentListArgs::decl(&cfg),
        M::Ownership::decl(&cfg),
        M::ChoiceOption::decl(&cfg),
        M::StatusOption::decl(&cfg),
        M::AttributeKind::decl(&cfg),
        M::Requirement::decl(&cfg),
        M::AttributeDef::decl(&cfg),
        M::Relationship::decl(&cfg),
        M::FormSection::decl(&cfg),
        M::FormTab::decl(&cfg),
        M::Form::decl(&cfg),
        M::SortDir::decl(&cfg),
        M::View::decl(&cfg),
        M::EntityDef::decl(&cfg),
        M::FlowStep::decl(&cfg),
        M::FlowStage::decl(&cfg),
        M::ProcessFlow::decl(&cfg),
        M::SubArea::decl(&cfg),
        M::SitemapGroup::decl(&cfg),
        M::SitemapArea::decl(&cfg),
        M::OfflineMode::decl(&cfg),
        M::AppModule::decl(&cfg),
        M::Metadata::decl(&cfg),
    ];
    let mut out = String::from(
        "// This file is generated by `cargo xtask codegen` from the Rust types in outpost-core. Do not edit.\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push('\n');
    }
    out.push_str("/** Every `ErrorCode`, for telling one from anything else at run time. */\nexport const ERROR_CODES: readonly ErrorCode[] = [\n");
    for code in ErrorCode::ALL {
        let text = serde_json::to_value(code).expect("an error code serializes as its name");
        out.push_str(&format!("  {text},\n"));
    }
    out.push_str("];\n");
    out.push_str(&crate::commands::typescript(&cfg));
    out
}

#[cfg(test)]
mod tests;
