//! Background sync: one tokio task drives the sans-IO [`Scheduler`] — feeding it time,
//! the shell's signals (lock, network, visibility) and what the client did (a change made,
//! a sync run), and carrying out what it asks (probe, sync, notify, a new status).
//! This is what pushes soon after a change, replays offline work on reconnect, refreshes
//! on each profile item's interval, and waits for the user when a metadata update is
//! pending (C9, C10, C16, C19).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use outpost_sync::{Action, Config, Event, Notification, Scheduler, Status, SyncOutcome};

use super::{Client, LAST_SYNC, TOKEN, profile_of};
use crate::CoreError;
use crate::api::SyncReport;

/// Operations the next push may send (pending and not parked).
fn ready_ops(store: &outpost_store::Store) -> Result<u32, CoreError> {
    Ok(u32::try_from(store.outbox_pending(u32::MAX)?.len()).unwrap_or(u32::MAX))
}

/// Receives the scheduler's notifications (the shell shows them on the desktop, C19).
pub type Notifier = Arc<dyn Fn(&Notification) + Send + Sync>;

impl Client {
    /// Tells the background sync something happened outside it: the session was locked,
    /// the network went down, the window was hidden. Ignored when it is not running.
    pub fn signal(&self, event: Event) {
        if let Ok(guard) = self.events.lock()
            && let Some(tx) = guard.as_ref()
        {
            let _ = tx.send(event);
        }
    }

    /// What the scheduler said last about the footer's state, if it runs.
    pub(super) fn scheduler_status(&self) -> Option<Status> {
        self.scheduler_status.lock().ok()?.clone()
    }

    /// The scheduler's view of the signed-in session, from the store.
    pub(super) fn signed_in_event(&self) -> Option<Event> {
        self.with_store(|s| {
            if s.state_get(TOKEN)?.is_none() {
                return Ok(None);
            }
            Ok(Some(Event::SignedIn {
                items: profile_of(s).map(|p| p.items).unwrap_or_default(),
                first_sync_done: s.state_get(LAST_SYNC)?.is_some(),
                pending_ops: ready_ops(s)?,
            }))
        })
        .ok()
        .flatten()
    }

    /// What a run's result means to the scheduler.
    pub(super) fn outcome_of(&self, result: &Result<SyncReport, CoreError>) -> SyncOutcome {
        match result {
            Ok(report) => SyncOutcome::Ok {
                pulled: report.pulled,
                conflicts: report.conflicts,
                errors: report.errors,
                pending: self.with_store(|s| ready_ops(s)).unwrap_or(0),
            },
            Err(CoreError::Unreachable(_)) => SyncOutcome::Unreachable,
            Err(CoreError::Unauthorized | CoreError::NotSignedIn) => SyncOutcome::Unauthorized,
            Err(CoreError::Wiped) => SyncOutcome::Wiped,
            Err(CoreError::MetadataPending(version)) => {
                SyncOutcome::MetadataPending { version: *version }
            }
            Err(e) => SyncOutcome::Failed {
                message: e.to_string(),
            },
        }
    }

    /// Runs background sync until the client is dropped: call once, on a tokio task.
    pub async fn run_scheduler(self: Arc<Self>, config: Config) {
        let Some(mut events) = self.events_rx.lock().ok().and_then(|mut rx| rx.take()) else {
            tracing::warn!("background sync is already running");
            return;
        };
        let start = Instant::now();
        let now = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut scheduler = Scheduler::new(config);
        let mut queue: std::collections::VecDeque<Event> =
            self.signed_in_event().into_iter().collect();
        loop {
            while let Some(event) = queue.pop_front() {
                for action in scheduler.handle(now(), event) {
                    match action {
                        Action::Probe => {
                            let reachable = self.server_probe().await.unwrap_or(false);
                            queue.push_back(Event::ProbeResult { reachable });
                        }
                        Action::Sync { reason } => {
                            tracing::debug!(?reason, "background sync");
                            let result = self.sync_run_locked().await;
                            match &result {
                                Ok(report) => tracing::info!(?report, "background sync finished"),
                                Err(e) => tracing::warn!(error = %e, "background sync failed"),
                            }
                            self.update_after_sync(&result).await;
                            queue.push_back(Event::SyncFinished {
                                outcome: self.outcome_of(&result),
                            });
                        }
                        Action::PromptMetadata { version } => {
                            tracing::info!(
                                version,
                                "the user is asked to accept a metadata update"
                            );
                        }
                        Action::Notify(notification) => {
                            if let Some(notify) = &self.config.notifier {
                                notify(&notification);
                            }
                        }
                        Action::Status(status) => {
                            self.online.store(status.online, Ordering::Relaxed);
                            if let Ok(mut kept) = self.scheduler_status.lock() {
                                *kept = Some(status);
                            }
                        }
                    }
                }
            }
            let wake = scheduler.next_wakeup();
            let sleep = wake.map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(at.saturating_sub(now()))
            });
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => queue.push_back(event),
                    None => return,
                },
                () = tokio::time::sleep(sleep) => queue.push_back(Event::Tick),
            }
        }
    }
}

impl Client {
    /// The footer's status (C12–C15): the scheduler's state when background sync runs,
    /// else what the store says.
    pub async fn sync_status(&self) -> Result<crate::api::SyncStatus, CoreError> {
        use outpost_sync::StatusState;
        let status = self.session_status().await?;
        let scheduler = self.scheduler_status();
        let items = self
            .with_store(|s| Ok(profile_of(s).map(|p| p.items).unwrap_or_default()))
            .unwrap_or_default();
        let state = match (&scheduler, status.signed_in || status.offline_data) {
            (_, false) => "none".to_owned(),
            _ if items.is_empty() && status.offline_data => "not_available".to_owned(),
            (Some(st), true) => match st.state {
                StatusState::Available => "available",
                StatusState::AvailableWarning => "available_warning",
                StatusState::Initializing => "initializing",
                StatusState::NotAvailable => "not_available",
                StatusState::NotAvailableWarning => "not_available_warning",
                StatusState::Error => "error",
            }
            .to_owned(),
            (None, true) => if status.metadata_pending.is_some() {
                "available_warning"
            } else if status.last_sync_at.is_none() {
                "initializing"
            } else {
                "available"
            }
            .to_owned(),
        };
        let last = self
            .with_store(|s| Ok(super::sync::LastSyncs::read(s)))
            .unwrap_or_default();
        let entities = items
            .iter()
            .map(|item| {
                let failed = last.unavailable.get(&item.entity).cloned().or_else(|| {
                    scheduler
                        .as_ref()
                        .and_then(|st| st.entities.iter().find(|e| e.entity == item.entity))
                        .filter(|e| !e.available)
                        .and_then(|e| e.reason.clone())
                });
                crate::api::EntityAvailability {
                    entity: item.entity.clone(),
                    available: failed.is_none() && status.last_sync_at.is_some(),
                    reason: failed.or_else(|| {
                        status
                            .last_sync_at
                            .is_none()
                            .then(|| "not downloaded yet".to_owned())
                    }),
                    last_sync_at: last.of(&item.entity),
                    sync_interval_minutes: item.sync_interval_minutes,
                }
            })
            .collect();
        let mut reasons = scheduler
            .as_ref()
            .map(|s| s.reasons.clone())
            .unwrap_or_default();
        // Background sync's status says a waiting update in its own words; without it
        // (not started yet) the store's word stands in.
        if let Some(version) = status.metadata_pending
            && scheduler
                .as_ref()
                .and_then(|s| s.metadata_pending)
                .is_none()
        {
            reasons.push(format!(
                "An update of the app's configuration (version {version}) is ready to download."
            ));
        }
        if let Some(message) = &status.update_required {
            reasons.push(format!("Update required: {message}"));
        }
        if status.sync_errors > 0 {
            reasons.push(format!(
                "{} changes were refused by the server; open Sync errors.",
                status.sync_errors
            ));
        }
        Ok(crate::api::SyncStatus {
            state,
            online: status.online,
            syncing: scheduler.as_ref().is_some_and(|s| s.syncing) || status.progress.is_some(),
            locked: scheduler.as_ref().is_some_and(|s| s.locked),
            pending_ops: status.pending_ops,
            sync_errors: status.sync_errors,
            last_sync_at: status.last_sync_at,
            metadata_pending: status.metadata_pending,
            entities,
            reasons,
            progress: status.progress,
            update_required: status.update_required,
            update: self.update_view(),
        })
    }
}
