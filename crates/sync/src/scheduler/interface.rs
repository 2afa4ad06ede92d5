//! The scheduler's contract: the events the driver feeds in and the actions it carries out.

use outpost_protocol::DeviceProfileItem;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::Scheduler;
use super::Status;

/// What the driver tells the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// Time passed; fed when [`Scheduler::next_wakeup`] is reached.
    Tick,
    /// A session started (sign-in, or app start with a stored session).
    SignedIn {
        /// The offline profile's entities with their sync intervals (0 minutes: refreshed
        /// only by a full or manual sync, never on its own).
        items: Vec<DeviceProfileItem>,
        /// Whether the device already holds a complete first download.
        first_sync_done: bool,
        /// Operations waiting in the outbox.
        pending_ops: u32,
    },
    /// The session ended; the driver has already stopped any running sync and will not
    /// report it.
    SignedOut,
    /// The published profile changed (after a sync brought a new one). Entities kept keep
    /// their last sync time; new ones are due at once.
    ProfileChanged {
        /// The new items.
        items: Vec<DeviceProfileItem>,
    },
    /// The answer to [`Action::Probe`]. The driver answers every probe exactly once.
    ProbeResult {
        /// Whether the server answered.
        reachable: bool,
    },
    /// The OS says the network came up or went down. Down means offline at once.
    NetworkHint {
        /// Whether a network is there.
        up: bool,
    },
    /// The session was locked (`true`) or unlocked: nothing starts while locked.
    Locked(bool),
    /// The app window became visible (`true`) or was minimized. Background sync goes on
    /// either way; only the metadata prompt waits for visibility.
    Visible(bool),
    /// A local change was written to the outbox.
    OutboxChanged {
        /// Operations now waiting to be pushed (not counting ones parked behind an error).
        pending: u32,
    },
    /// The user pressed *Sync now* or tapped the offline indicator.
    SyncRequested,
    /// A sync run started. Optional after [`Action::Sync`]; needed when the driver starts a
    /// run on its own, so that the scheduler does not start another.
    SyncStarted,
    /// The sync run ended.
    SyncFinished {
        /// How it ended.
        outcome: SyncOutcome,
    },
    /// The user agreed to download the waiting metadata update.
    MetadataAccepted,
    /// One entity's offline data cannot be used (a failed migration, say). Stays until
    /// [`Event::EntityOk`] or a new session; a successful run does not clear it.
    EntityFailed {
        /// Entity logical name.
        entity: String,
        /// Why, for the user.
        message: String,
    },
    /// One entity's offline data is usable again.
    EntityOk {
        /// Entity logical name.
        entity: String,
    },
}

/// How a sync run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Pushed and pulled everything; every entity is now fresh.
    Ok {
        /// Records received.
        pulled: u32,
        /// New conflicts among the pushed operations.
        conflicts: u32,
        /// New errors among the pushed operations.
        errors: u32,
        /// Operations still waiting to be pushed after the run (changes made during it).
        pending: u32,
    },
    /// The server could not be reached.
    Unreachable,
    /// The server refused the session's token.
    Unauthorized,
    /// The server had the offline data deleted; the session is over.
    Wiped,
    /// The server has newer metadata that the user must accept first.
    MetadataPending {
        /// The waiting metadata version.
        version: u64,
    },
    /// Anything else.
    Failed {
        /// What went wrong, short.
        message: String,
    },
}

/// What the scheduler asks the driver to do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "data", rename_all = "snake_case")]
pub enum Action {
    /// Check cheaply whether the server answers; feed back [`Event::ProbeResult`].
    Probe,
    /// Run one sync (push the outbox, then pull); feed back [`Event::SyncFinished`].
    Sync {
        /// Why it runs.
        reason: SyncReason,
    },
    /// Ask the user, in the app window, to accept the metadata update (once per version).
    PromptMetadata {
        /// The waiting version.
        version: u64,
    },
    /// Show a desktop notification (C19).
    Notify(Notification),
    /// The status changed; hand it to the UI.
    Status(Status),
}

/// Why a sync runs. Every run pushes the whole outbox and pulls all changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncReason {
    /// The device has no complete first download yet.
    Initial,
    /// Local changes wait to be pushed.
    Push,
    /// These entities reached their sync interval.
    Refresh {
        /// The entities due, in profile order.
        entities: Vec<String>,
    },
    /// The user asked for it.
    Manual,
    /// The server is reachable again and changes wait (C10).
    Reconnect,
    /// The user accepted a metadata update.
    MetadataAccepted,
    /// The last run failed with an error; trying again after the backoff.
    Retry,
}

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// A sync ended with new conflicts or errors.
    SyncIssues {
        /// New conflicts.
        conflicts: u32,
        /// New errors.
        errors: u32,
    },
    /// A metadata update waits for the user's yes.
    MetadataWaiting {
        /// The waiting version.
        version: u64,
    },
}
