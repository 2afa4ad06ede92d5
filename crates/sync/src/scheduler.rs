//! When to sync: the background-sync scheduler (C9, C12–C16, C19) as a sans-IO state machine.
//!
//! The driver in `outpost-core` runs one task that loops: sleep until
//! [`Scheduler::next_wakeup`] or the next event, whichever comes first; feed
//! [`Scheduler::handle`] the event (or [`Event::Tick`]) with the current time of a
//! monotonic clock; carry out the returned [`Action`]s in order. The scheduler never reads
//! the clock, sleeps or touches the network, so every decision is a function of the
//! events and the times they came with.
//!
//! The rules it keeps:
//! - At most one [`Action::Sync`] runs at a time: the next one comes only after
//!   [`Event::SyncFinished`]. No sync is asked for while signed out, locked, offline, or
//!   while a metadata update waits for the user (metadata is never accepted in the
//!   background, C16). An already running sync is left to finish.
//! - Reachability is probed with [`Action::Probe`] only while the server is not known to
//!   be reachable: at once when unknown, then with exponential backoff (no jitter) while
//!   unreachable, and only at the long fallback interval while the OS says the network is
//!   down. Online, a sync that fails as unreachable starts probing again, and so does a
//!   quiet minute ([`Config::online_check_ms`] after the last contact, no sync running):
//!   the offline indicator must not wait for the next sync that happens to be due.
//! - A status value goes out ([`Action::Status`], always last) whenever it changes.
//!
//! `Millis` are milliseconds of the driver's monotonic clock; the scheduler only compares
//! and adds them. A time earlier than one already seen is taken as the one already seen.

use outpost_protocol::DeviceProfileItem;
use serde::{Deserialize, Serialize};

mod interface;
mod status;

pub use interface::{Action, Event, Notification, SyncOutcome, SyncReason};
pub use status::{EntityStatus, Status, StatusState};

/// Milliseconds on the driver's monotonic clock.
pub type Millis = u64;

const MINUTE: Millis = 60_000;

/// The scheduler's timings. [`Config::default`] is what the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Delay before the first probe after reachability was lost; doubles per failed probe.
    pub probe_initial_ms: Millis,
    /// Upper bound of the probe delay.
    pub probe_max_ms: Millis,
    /// While the OS says the network is down, probe only this often (hints can be wrong).
    pub network_down_probe_ms: Millis,
    /// How long after the first unsent local change a push starts; later changes within
    /// the window ride along.
    pub push_debounce_ms: Millis,
    /// Delay before retrying after a sync failed with an error; doubles per failure.
    pub retry_initial_ms: Millis,
    /// Upper bound of the retry delay.
    pub retry_max_ms: Millis,
    /// While the server is known to be reachable and no sync runs, check it is still there
    /// this long after the last contact, so the offline indicator shows soon after the
    /// server goes away (C15) even when nothing is due. 0: only a failed sync tells.
    pub online_check_ms: Millis,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            probe_initial_ms: 5_000,
            probe_max_ms: 5 * MINUTE,
            network_down_probe_ms: 15 * MINUTE,
            push_debounce_ms: 2_000,
            retry_initial_ms: 30_000,
            retry_max_ms: 15 * MINUTE,
            online_check_ms: MINUTE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Not probed yet in this session.
    Unknown,
    Online,
    Offline,
}

#[derive(Debug, Clone)]
struct Item {
    entity: String,
    interval_ms: Millis,
    last_sync_at: Option<Millis>,
    failure: Option<String>,
}

impl Item {
    fn new(item: DeviceProfileItem) -> Self {
        Self {
            entity: item.entity,
            interval_ms: Millis::from(item.sync_interval_minutes).saturating_mul(MINUTE),
            last_sync_at: None,
            failure: None,
        }
    }

    /// When it is next due on its own; never with a zero interval. Never synced: at once.
    fn due_at(&self) -> Option<Millis> {
        (self.interval_ms > 0).then(|| {
            self.last_sync_at
                .map_or(0, |t| t.saturating_add(self.interval_ms))
        })
    }
}

/// Why the session cannot sync until the next sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Unauthorized,
    Wiped,
}

/// The background-sync scheduler. One per app; it outlives sessions.
#[derive(Debug, Clone)]
pub struct Scheduler {
    config: Config,
    now: Millis,
    // Environment, kept across sessions.
    network_up: bool,
    locked: bool,
    visible: bool,
    reach: Reach,
    probe_in_flight: bool,
    probe_failures: u32,
    next_probe_at: Option<Millis>,
    // Session.
    signed_in: bool,
    ended: Option<Ended>,
    first_sync_done: bool,
    items: Vec<Item>,
    pending_ops: u32,
    running: bool,
    last_sync_at: Option<Millis>,
    push_due_at: Option<Millis>,
    want_manual: bool,
    want_metadata: bool,
    want_reconnect: bool,
    last_error: Option<String>,
    retry_failures: u32,
    retry_at: Option<Millis>,
    metadata_pending: Option<u64>,
    notified_metadata: Option<u64>,
    prompted_metadata: Option<u64>,
    last_status: Option<Status>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Scheduler {
    /// A scheduler with no session, network assumed up, unlocked and visible.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            now: 0,
            network_up: true,
            locked: false,
            visible: true,
            reach: Reach::Unknown,
            probe_in_flight: false,
            probe_failures: 0,
            next_probe_at: None,
            signed_in: false,
            ended: None,
            first_sync_done: false,
            items: Vec::new(),
            pending_ops: 0,
            running: false,
            last_sync_at: None,
            push_due_at: None,
            want_manual: false,
            want_metadata: false,
            want_reconnect: false,
            last_error: None,
            retry_failures: 0,
            retry_at: None,
            metadata_pending: None,
            notified_metadata: None,
            prompted_metadata: None,
            last_status: None,
        }
    }

    /// Feeds one event that happened at `now`; returns what to do, in order, with
    /// [`Action::Status`] last when the status changed.
    pub fn handle(&mut self, now: Millis, event: Event) -> Vec<Action> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        self.apply(event, &mut out);
        self.step(&mut out);
        let status = self.status();
        if self.last_status.as_ref() != Some(&status) {
            self.last_status = Some(status.clone());
            out.push(Action::Status(status));
        }
        out
    }

    /// When the driver must feed [`Event::Tick`] at the latest; `None`: only events matter.
    /// Always later than the last `now` fed.
    pub fn next_wakeup(&self) -> Option<Millis> {
        let probe = self.probe_timer();
        let sync = if self.may_sync() {
            self.next_auto_sync_at()
        } else {
            None
        };
        match (probe, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&mut self, event: Event, out: &mut Vec<Action>) {
        let now = self.now;
        match event {
            Event::Tick => {}
            Event::SignedIn {
                items,
                first_sync_done,
                pending_ops,
            } => {
                self.end_session();
                self.signed_in = true;
                self.items = items.into_iter().map(Item::new).collect();
                self.first_sync_done = first_sync_done;
                self.pending_ops = pending_ops;
            }
            Event::SignedOut => {
                self.end_session();
                // Reachability goes stale while nothing checks it.
                if !self.probe_in_flight {
                    self.reach = Reach::Unknown;
                }
            }
            Event::ProfileChanged { items } => {
                let mut old = std::mem::take(&mut self.items);
                self.items = items
                    .into_iter()
                    .map(
                        |item| match old.iter().position(|o| o.entity == item.entity) {
                            Some(i) => Item {
                                interval_ms: Item::new(item).interval_ms,
                                ..old.swap_remove(i)
                            },
                            None => Item::new(item),
                        },
                    )
                    .collect();
            }
            Event::ProbeResult { reachable } => {
                self.probe_in_flight = false;
                if reachable {
                    self.went_online();
                } else {
                    self.went_offline();
                }
            }
            Event::NetworkHint { up } => {
                self.network_up = up;
                if !up {
                    self.reach = Reach::Offline;
                    self.probe_failures = 0;
                    self.next_probe_at =
                        Some(now.saturating_add(self.config.network_down_probe_ms));
                } else if self.reach != Reach::Online {
                    self.probe_failures = 0;
                    self.next_probe_at = Some(now);
                }
            }
            Event::Locked(locked) => self.locked = locked,
            Event::Visible(visible) => self.visible = visible,
            Event::OutboxChanged { pending } => {
                self.pending_ops = pending;
                if pending > 0 && self.push_due_at.is_none() {
                    self.push_due_at = Some(now.saturating_add(self.config.push_debounce_ms));
                }
            }
            Event::SyncRequested => {
                if self.signed_in && self.ended.is_none() {
                    self.want_manual = true;
                    self.retry_failures = 0;
                    if self.reach != Reach::Online {
                        self.probe_failures = 0;
                        self.next_probe_at = Some(now);
                    }
                }
            }
            Event::SyncStarted => self.running = self.signed_in,
            Event::SyncFinished { outcome } => {
                if self.signed_in {
                    self.finished(outcome, out);
                }
            }
            Event::MetadataAccepted => {
                if self.metadata_pending.take().is_some() {
                    self.want_metadata = true;
                }
            }
            Event::EntityFailed { entity, message } => {
                if let Some(item) = self.items.iter_mut().find(|i| i.entity == entity) {
                    item.failure = Some(message);
                }
            }
            Event::EntityOk { entity } => {
                if let Some(item) = self.items.iter_mut().find(|i| i.entity == entity) {
                    item.failure = None;
                }
            }
        }
    }

    fn finished(&mut self, outcome: SyncOutcome, out: &mut Vec<Action>) {
        let now = self.now;
        self.running = false;
        match outcome {
            SyncOutcome::Ok {
                pulled: _,
                conflicts,
                errors,
                pending,
            } => {
                self.went_online();
                // The run itself was the reconnect; a change made during it is still due.
                self.want_reconnect = false;
                self.first_sync_done = true;
                self.last_sync_at = Some(now);
                for item in &mut self.items {
                    item.last_sync_at = Some(now);
                }
                self.last_error = None;
                self.retry_failures = 0;
                self.retry_at = None;
                self.pending_ops = pending;
                if pending == 0 {
                    self.push_due_at = None;
                }
                if conflicts > 0 || errors > 0 {
                    out.push(Action::Notify(Notification::SyncIssues {
                        conflicts,
                        errors,
                    }));
                }
            }
            SyncOutcome::Unreachable => {
                self.probe_failures = 0;
                self.went_offline();
            }
            SyncOutcome::Unauthorized => self.ended = Some(Ended::Unauthorized),
            SyncOutcome::Wiped => {
                self.ended = Some(Ended::Wiped);
                self.first_sync_done = false;
                self.last_sync_at = None;
                for item in &mut self.items {
                    item.last_sync_at = None;
                }
            }
            SyncOutcome::MetadataPending { version } => {
                self.went_online();
                self.metadata_pending = Some(version);
                if self.notified_metadata.is_none_or(|v| v < version) {
                    self.notified_metadata = Some(version);
                    out.push(Action::Notify(Notification::MetadataWaiting { version }));
                }
            }
            SyncOutcome::Failed { message } => {
                self.last_error = Some(message);
                self.retry_failures = self.retry_failures.saturating_add(1);
                let delay = backoff(
                    self.config.retry_initial_ms,
                    self.config.retry_max_ms,
                    self.retry_failures,
                );
                self.retry_at = Some(now.saturating_add(delay));
            }
        }
    }

    /// Clears everything that belongs to one session; the environment stays.
    fn end_session(&mut self) {
        self.signed_in = false;
        self.ended = None;
        self.first_sync_done = false;
        self.items.clear();
        self.pending_ops = 0;
        self.running = false;
        self.last_sync_at = None;
        self.push_due_at = None;
        self.want_manual = false;
        self.want_metadata = false;
        self.want_reconnect = false;
        self.last_error = None;
        self.retry_failures = 0;
        self.retry_at = None;
        self.metadata_pending = None;
        self.notified_metadata = None;
        self.prompted_metadata = None;
    }

    fn went_online(&mut self) {
        if self.reach != Reach::Online && self.pending_ops > 0 {
            self.want_reconnect = true;
        }
        self.reach = Reach::Online;
        self.network_up = true;
        self.probe_failures = 0;
        self.next_probe_at = (self.config.online_check_ms > 0)
            .then(|| self.now.saturating_add(self.config.online_check_ms));
    }

    /// Counts one more failed attempt to reach the server and plans the next probe.
    fn went_offline(&mut self) {
        self.reach = Reach::Offline;
        self.probe_failures = self.probe_failures.saturating_add(1);
        let delay = if self.network_up {
            backoff(
                self.config.probe_initial_ms,
                self.config.probe_max_ms,
                self.probe_failures,
            )
        } else {
            self.config.network_down_probe_ms
        };
        self.next_probe_at = Some(self.now.saturating_add(delay));
    }

    /// Starts what is due at `self.now`.
    fn step(&mut self, out: &mut Vec<Action>) {
        if self.probe_timer().is_some_and(|t| t <= self.now) {
            self.probe_in_flight = true;
            self.next_probe_at = None;
            out.push(Action::Probe);
        }
        if self.may_sync()
            && let Some(reason) = self.due_reason()
        {
            self.running = true;
            self.want_manual = false;
            self.want_metadata = false;
            self.want_reconnect = false;
            self.push_due_at = None;
            out.push(Action::Sync { reason });
        }
        if let Some(version) = self.metadata_pending
            && self.visible
            && !self.locked
            && self.prompted_metadata.is_none_or(|v| v < version)
        {
            self.prompted_metadata = Some(version);
            out.push(Action::PromptMetadata { version });
        }
    }

    fn session_live(&self) -> bool {
        self.signed_in && self.ended.is_none() && !self.locked
    }

    fn may_sync(&self) -> bool {
        self.session_live()
            && self.reach == Reach::Online
            && !self.running
            && self.metadata_pending.is_none()
    }

    /// When the next probe is due, if probing is what the scheduler waits for.
    fn probe_timer(&self) -> Option<Millis> {
        if !self.session_live() || self.probe_in_flight {
            return None;
        }
        match self.reach {
            Reach::Online if self.running => None,
            Reach::Online => self.next_probe_at,
            Reach::Unknown => Some(self.now),
            Reach::Offline => self.next_probe_at,
        }
    }

    /// When the next sync would start if nothing held it back. Mirrors [`Self::due_reason`].
    fn next_auto_sync_at(&self) -> Option<Millis> {
        if self.want_manual || self.want_metadata {
            return Some(self.now);
        }
        if let Some(at) = self.retry_at {
            return Some(at);
        }
        if !self.first_sync_done || self.want_reconnect {
            return Some(self.now);
        }
        self.items
            .iter()
            .filter_map(Item::due_at)
            .chain(self.push_due_at)
            .min()
    }

    /// Why a sync should start now, if one should.
    fn due_reason(&self) -> Option<SyncReason> {
        let now = self.now;
        if self.want_manual {
            return Some(SyncReason::Manual);
        }
        if self.want_metadata {
            return Some(SyncReason::MetadataAccepted);
        }
        if let Some(at) = self.retry_at {
            return (at <= now).then_some(if self.first_sync_done {
                SyncReason::Retry
            } else {
                SyncReason::Initial
            });
        }
        if !self.first_sync_done {
            return Some(SyncReason::Initial);
        }
        if self.want_reconnect {
            return Some(SyncReason::Reconnect);
        }
        if self.push_due_at.is_some_and(|t| t <= now) {
            return Some(SyncReason::Push);
        }
        let entities: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.due_at().is_some_and(|t| t <= now))
            .map(|i| i.entity.clone())
            .collect();
        (!entities.is_empty()).then_some(SyncReason::Refresh { entities })
    }
}

/// `initial` doubled per failure after the first, capped at `max`.
fn backoff(initial: Millis, max: Millis, failures: u32) -> Millis {
    let doublings = failures.saturating_sub(1).min(63);
    initial
        .checked_mul(1 << doublings)
        .map_or(max, |d| d.min(max))
}
