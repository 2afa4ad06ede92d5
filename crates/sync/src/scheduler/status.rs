//! The status value the UI renders (C12–C15), derived from the scheduler's state.
//!
//! The state is the first of these that holds: signed out (not available); the session
//! ended by the server (error when the token was refused, not available when wiped); a
//! run under way after an error (not available with a warning: repair under way); the last
//! run failed with an error (error); a metadata update waits (available with a warning, or
//! not available before the first download); the first download is not done
//! (initializing, or not available while the server is unreachable); the profile holds no
//! entities (not available); otherwise available.

use serde::{Deserialize, Serialize};

use super::{Ended, Millis, Reach, Scheduler};

/// The footer's six states (C12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// Offline data is there and in order.
    Available,
    /// Offline data is there, but a metadata update waits for the user.
    AvailableWarning,
    /// The first download is under way (or about to start).
    Initializing,
    /// No usable offline data: signed out, wiped, nothing in the profile, or the first
    /// download waits for a connection.
    NotAvailable,
    /// Repair under way: a sync is running after the last one failed with an error.
    NotAvailableWarning,
    /// The last sync failed with an error (not mere unreachability), or the server refused
    /// the session.
    Error,
}

/// One offline entity, for the flyout, the sitemap marker (C14) and grid footers (C13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityStatus {
    /// Entity logical name.
    pub entity: String,
    /// Whether its offline data can be used (green marker) or not (red).
    pub available: bool,
    /// Why it cannot, when it cannot.
    pub reason: Option<String>,
    /// When a run last finished that refreshed it, in this session.
    pub last_sync_at: Option<Millis>,
}

/// What the UI shows; it only renders this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The footer state.
    pub state: StatusState,
    /// `false` once the server is known to be unreachable (the offline indicator, C15).
    pub online: bool,
    /// A sync run is under way.
    pub syncing: bool,
    /// Paused while the session is locked.
    pub locked: bool,
    /// Operations waiting to be pushed.
    pub pending_ops: u32,
    /// When the last successful run finished, in this session.
    pub last_sync_at: Option<Millis>,
    /// When the next automatic sync is planned, if one is and nothing holds it back.
    pub next_sync_at: Option<Millis>,
    /// When reachability is next checked, while offline.
    pub next_probe_at: Option<Millis>,
    /// The metadata version waiting for the user, if any.
    pub metadata_pending: Option<u64>,
    /// The profile's entities, in profile order.
    pub entities: Vec<EntityStatus>,
    /// Short human reasons behind the state, for the flyout.
    pub reasons: Vec<String>,
}

impl Scheduler {
    /// The status as of the last event.
    pub fn status(&self) -> Status {
        let online = self.reach != Reach::Offline;
        let mut reasons = Vec::new();
        let state = self.state(online, &mut reasons);
        if self.signed_in && self.ended.is_none() {
            if !online {
                reasons.push(if self.network_up {
                    "The server is unreachable".to_owned()
                } else {
                    "No network".to_owned()
                });
                if self.pending_ops > 0 {
                    reasons.push(format!("{} changes wait to be sent", self.pending_ops));
                }
            }
            if self.locked {
                reasons.push("Paused while the session is locked".to_owned());
            }
            reasons.extend(
                self.items
                    .iter()
                    .filter_map(|i| i.failure.as_ref().map(|f| format!("{}: {f}", i.entity))),
            );
        }
        let has_data = self.signed_in && self.first_sync_done;
        Status {
            state,
            online,
            syncing: self.running,
            locked: self.locked,
            pending_ops: self.pending_ops,
            last_sync_at: self.last_sync_at,
            next_sync_at: if self.may_sync() {
                self.next_auto_sync_at()
            } else {
                None
            },
            next_probe_at: self.probe_timer().filter(|_| self.reach == Reach::Offline),
            metadata_pending: self.metadata_pending,
            entities: self
                .items
                .iter()
                .map(|i| EntityStatus {
                    entity: i.entity.clone(),
                    available: has_data && i.failure.is_none(),
                    reason: i
                        .failure
                        .clone()
                        .or_else(|| (!has_data).then(|| "Not downloaded yet".to_owned())),
                    last_sync_at: i.last_sync_at,
                })
                .collect(),
            reasons,
        }
    }

    /// The footer state, with the reason behind it pushed onto `reasons`.
    fn state(&self, online: bool, reasons: &mut Vec<String>) -> StatusState {
        let (state, reason) = if !self.signed_in {
            (StatusState::NotAvailable, "Signed out".to_owned())
        } else if self.ended == Some(Ended::Unauthorized) {
            (
                StatusState::Error,
                "The server refused the session: sign in again".to_owned(),
            )
        } else if self.ended == Some(Ended::Wiped) {
            (
                StatusState::NotAvailable,
                "The server removed the offline data".to_owned(),
            )
        } else if let Some(error) = &self.last_error {
            if self.running {
                (
                    StatusState::NotAvailableWarning,
                    format!("Repairing after a failed sync: {error}"),
                )
            } else {
                (StatusState::Error, format!("Last sync failed: {error}"))
            }
        } else if let Some(version) = self.metadata_pending {
            let state = if self.first_sync_done {
                StatusState::AvailableWarning
            } else {
                StatusState::NotAvailable
            };
            (
                state,
                format!("Metadata update {version} waits for your approval"),
            )
        } else if !self.first_sync_done {
            if self.running || online {
                (
                    StatusState::Initializing,
                    "First download of offline data".to_owned(),
                )
            } else {
                (
                    StatusState::NotAvailable,
                    "The first download needs a connection".to_owned(),
                )
            }
        } else if self.items.is_empty() {
            (
                StatusState::NotAvailable,
                "No tables are set up for offline use".to_owned(),
            )
        } else {
            return StatusState::Available;
        };
        reasons.push(reason);
        state
    }
}
