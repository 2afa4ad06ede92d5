//! `outpost-sync` is the sync engine as a sans-IO state machine (ADR 0003): the driver in
//! `outpost-core` feeds it [`Input`]s (what the store holds, what the server answered) and
//! carries out the [`Output`]s it returns (send this request, store that page, report).
//! Because it never does I/O itself, every run is a deterministic transcript that tests
//! can replay exactly.
//!
//! The [`Scheduler`] decides *when* to sync, the same way: events in (time passed, the
//! server answered a probe, the user locked the session, a run ended), actions out (probe,
//! sync, notify, a new [`Status`] for the footer).
//!
//! It must never sleep, read a clock, touch the network or the database, or spawn tasks.

mod engine;
mod scheduler;

pub use engine::{Engine, FailReason, Input, Output, SyncSummary};
pub use scheduler::{
    Action, Config, EntityStatus, Event, Millis, Notification, Scheduler, Status, StatusState,
    SyncOutcome, SyncReason,
};
