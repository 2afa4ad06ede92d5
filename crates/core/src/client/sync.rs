//! Driving the sans-IO sync engine: one run sends the device's resolutions, pushes the
//! outbox in order and pulls every page, carrying out what the engine asks. A page for a
//! newer org metadata stops the run with the metadata kept as *pending*: it is applied
//! only on the user's yes ([`Client::metadata_accept`], C16).

use std::sync::atomic::Ordering;

use outpost_protocol::{MetadataResponse, OpResult, PushOp, ResolutionAction, WireCode};
use outpost_store::{ResolutionSent, Store};
use outpost_sync::{Engine, FailReason, Input, Output};

use super::{
    ACCESS_KEY, Client, DEVICE_ID, ENTITY_SYNCED, LAST_SYNC, METADATA_PENDING, PULL_PAGE,
    PUSH_BATCH, UNAVAILABLE, USER_ID, access_of, answered, apply_context, profile_of, state_json,
};
use crate::CoreError;
use crate::api::{SignedOutReason, SyncReport, Unsent};
use crate::remote::Remote;

impl Client {
    /// Sends the resolutions made here, pushes every pending operation in order (parked
    /// ones wait, B2), then pulls every change since the last checkpoint. Whatever was
    /// stored before a failure stays stored. A run whose resolutions released parked
    /// operations runs once more so they go out at once.
    pub async fn sync_now(&self) -> Result<SyncReport, CoreError> {
        let first = self.with_store(|s| Ok(s.state_get(LAST_SYNC)?.is_none()))?;
        // Background sync learns of runs it did not start, so it never overlaps them.
        self.signal(outpost_sync::Event::SyncStarted);
        let result = self.sync_run_locked().await;
        self.signal(outpost_sync::Event::SyncFinished {
            outcome: self.outcome_of(&result),
        });
        // The first download the user asked for (sign-in without one): background sync
        // starts now.
        if first
            && result.is_ok()
            && let Some(event) = self.signed_in_event()
        {
            self.signal(event);
        }
        self.update_after_sync(&result).await;
        result
    }

    /// One sync at a time: a second caller waits for the first run to end.
    pub(super) async fn sync_run_locked(&self) -> Result<SyncReport, CoreError> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let result = self.sync_runs().await;
        // "Update required" stands until a run goes through again, whoever started it.
        let _ = self.with_store(|s| {
            match &result {
                Err(CoreError::UpdateRequired(message)) => {
                    s.state_set(super::UPDATE_REQUIRED, message)?;
                }
                Ok(_) => s.state_delete(super::UPDATE_REQUIRED)?,
                Err(_) => {}
            }
            Ok(())
        });
        result
    }

    /// One run, and a second when the first one's resolutions released parked operations.
    async fn sync_runs(&self) -> Result<SyncReport, CoreError> {
        let mut report = self.sync_run().await?;
        if report.resolved > 0 && self.with_store(|s| Ok(!s.outbox_pending(1)?.is_empty()))? {
            let again = self.sync_run().await?;
            report.pushed += again.pushed;
            report.pulled += again.pulled;
            report.conflicts += again.conflicts;
            report.errors += again.errors;
            report.finished_at = again.finished_at;
        }
        Ok(report)
    }

    async fn sync_run(&self) -> Result<SyncReport, CoreError> {
        let remote = self.remote()?;
        let remote = &remote;
        let (resolutions, pending, checkpoint, metadata_version) = self.with_store(|s| {
            let pending = s
                .outbox_pending(u32::MAX)?
                .into_iter()
                .map(|e| PushOp {
                    op_id: e.op_id,
                    base_version: e.base_version,
                    op: e.op,
                })
                .collect();
            Ok((
                s.resolutions_outgoing()?,
                pending,
                s.checkpoint()?,
                s.metadata().version,
            ))
        })?;
        let mut engine = Engine::new(PUSH_BATCH, PULL_PAGE);
        let mut todo: std::collections::VecDeque<Output> = engine
            .handle(Input::Start {
                resolutions,
                pending,
                checkpoint,
                metadata_version,
            })
            .into();
        self.progress_set(Some((0, 0)));
        // The profile and access the last page was computed for.
        let mut profile_seen: Option<Seen> = None;
        let result = async {
            while let Some(output) = todo.pop_front() {
                let answer = match output {
                    Output::Resolve { op_id, action } => {
                        let op_id = &op_id;
                        let sent = self
                            .authed(remote, |token| async move {
                                remote.resolve_op(&token, op_id, action).await
                            })
                            .await;
                        Some(match sent {
                            Ok(_) => Input::Resolved(None),
                            // Resolved elsewhere already: the pull says how.
                            Err(e) if e.server_code() == Some(WireCode::AlreadyResolved) => {
                                Input::Resolved(None)
                            }
                            // The server has no such error: what the user let go is gone.
                            // Applying is another matter — `not_found` is also how applying
                            // again is refused when the record is gone or out of the user's
                            // reach, and the change must then stay in front of them (found
                            // by the simulation: a failed case resolution vanished).
                            Err(e)
                                if e.server_code() == Some(WireCode::NotFound)
                                    && action == ResolutionAction::Discard =>
                            {
                                Input::Resolved(None)
                            }
                            Err(CoreError::Server { code, message }) => {
                                Input::Resolved(Some(OpResult::Error {
                                    code,
                                    message,
                                    fields: Vec::new(),
                                }))
                            }
                            other => answered(other, |_| Input::Resolved(None))?,
                        })
                    }
                    Output::StoreResolution { op_id, refused } => {
                        let result =
                            refused.map_or(ResolutionSent::Done, ResolutionSent::StillFailing);
                        self.with_store(|s| Ok(s.resolution_sent(&op_id, result)?))?;
                        None
                    }
                    Output::Push(req) => {
                        let req = &req;
                        let sent = self
                            .authed(
                                remote,
                                |token| async move { remote.push(&token, req).await },
                            )
                            .await;
                        Some(answered(sent, Input::Pushed)?)
                    }
                    Output::Pull(mut req) => {
                        req.resend = self.with_store(|s| Ok(s.resend_ask()?))?.join(",");
                        let req = &req;
                        let sent = self
                            .authed(
                                remote,
                                |token| async move { remote.pull(&token, req).await },
                            )
                            .await;
                        if let Ok(page) = &sent {
                            self.pulled_keep(page, &mut profile_seen)?;
                        }
                        Some(answered(sent, Input::Pulled)?)
                    }
                    Output::FetchMetadata { version } => {
                        tracing::info!(version, "the server's metadata changed");
                        let fetched = self
                            .authed(remote, |token| async move { remote.metadata(&token).await })
                            .await;
                        let response = match fetched {
                            Ok(r) => r,
                            Err(e) => {
                                // Unreachable or unauthorized end the run through the
                                // engine; anything else ends it here.
                                let input =
                                    answered(Err(e), |_: MetadataResponse| Input::Unauthorized)?;
                                todo.extend(engine.handle(input));
                                continue;
                            }
                        };
                        let current = self.with_store(|s| Ok(s.metadata().version))?;
                        if response.metadata.version > current {
                            let pending = response.metadata.version;
                            self.metadata_keep_pending(&response)?;
                            return Err(CoreError::MetadataPending(pending));
                        }
                        let checkpoint = self.with_store(|s| Ok(s.checkpoint()?))?;
                        Some(Input::MetadataApplied {
                            version: current,
                            checkpoint,
                        })
                    }
                    Output::Wipe => {
                        self.wipe_ordered()?;
                        None
                    }
                    Output::StoreOutcomes(outcomes) => {
                        self.with_store(|s| Ok(s.outbox_resolve(&outcomes)?))?;
                        None
                    }
                    Output::StorePage(page) => {
                        self.progress_add(page.records.len() + page.removed.len(), page.remaining);
                        // The next page is asked for while this one is written, so the
                        // server computes it meanwhile (ADR 0016).
                        let ahead = match todo.front() {
                            Some(Output::Pull(next)) if page.has_more => {
                                self.pull_ahead(remote, next.limit, page.checkpoint)
                            }
                            _ => None,
                        };
                        let stored = self.with_store(|s| {
                            let ctx = apply_context(s, &access_of(s)?, self.now())?;
                            Ok(s.pull_page_apply(&ctx, &page)?)
                        });
                        let next = match ahead {
                            Some(handle) if stored.is_ok() => handle.await.ok().and_then(Result::ok),
                            Some(handle) => {
                                handle.abort();
                                None
                            }
                            None => None,
                        };
                        stored?;
                        match next {
                            // It answers the pull the engine asks for next.
                            Some(next) if !next.ahead_refused => {
                                todo.pop_front();
                                self.pulled_keep(&next, &mut profile_seen)?;
                                Some(Input::Pulled(next))
                            }
                            _ => None,
                        }
                    }
                    Output::Finished(summary) => {
                        self.online.store(true, Ordering::Relaxed);
                        if let Some(seen) = profile_seen.take()
                            && let Err(e) = self.profile_refresh(remote, seen).await
                        {
                            // The records are right whatever the device's copy of the
                            // profile says; the next sync tries again.
                            tracing::warn!(error = %e, "the new offline profile could not be fetched");
                        }
                        let finished_at = self.now_rfc3339();
                        self.with_store(|s| {
                            let synced = entities_synced(s, &finished_at)?;
                            // Bookkeeping: one commit that does not wait for the disk.
                            Ok(s.state_set_lazily(&[
                                (LAST_SYNC, &finished_at),
                                (ENTITY_SYNCED, &synced),
                            ])?)
                        })?;
                        return Ok(SyncReport {
                            pushed: summary.pushed,
                            pulled: summary.pulled,
                            conflicts: summary.conflicts,
                            errors: summary.errors,
                            parked: summary.parked,
                            resolved: summary.resolved,
                            finished_at,
                        });
                    }
                    Output::Failed(reason) => {
                        return Err(match reason {
                            FailReason::Unreachable { detail } => {
                                self.online.store(false, Ordering::Relaxed);
                                CoreError::Unreachable(detail)
                            }
                            FailReason::Unauthorized => CoreError::Unauthorized,
                            FailReason::Wiped => CoreError::Wiped,
                            FailReason::Protocol { detail } => CoreError::Other(anyhow::anyhow!(
                                "sync protocol violation: {detail}"
                            )),
                        });
                    }
                };
                if let Some(input) = answer {
                    todo.extend(engine.handle(input));
                }
            }
            Err(CoreError::Other(anyhow::anyhow!(
                "the sync engine stopped without an end"
            )))
        }
        .await;
        self.progress_set(None);
        result
    }

    /// Asks, in a task of its own, for the page after `ahead` — a page received and being
    /// stored — while the stored checkpoint is still the one before it. `None` when no
    /// token is at hand; the answer is `None` when the request failed in any way (the
    /// engine's own pull then goes as usual, with the session's token refresh and errors).
    fn pull_ahead(
        &self,
        remote: &Remote,
        limit: u32,
        ahead: u64,
    ) -> Option<tokio::task::JoinHandle<Result<outpost_protocol::PullResponse, CoreError>>> {
        let (checkpoint, token) = self
            .with_store(|s| Ok((s.checkpoint()?, s.state_get(super::TOKEN)?)))
            .ok()?;
        let token = token?;
        let req = outpost_protocol::PullRequest {
            checkpoint,
            limit,
            resend: String::new(),
            ahead: Some(ahead),
        };
        let remote = remote.clone();
        Some(tokio::spawn(async move { remote.pull(&token, &req).await }))
    }

    /// What a page says besides its records: the entities the server cannot deliver, and
    /// the profile and access it was computed for.
    fn pulled_keep(
        &self,
        page: &outpost_protocol::PullResponse,
        seen: &mut Option<Seen>,
    ) -> Result<(), CoreError> {
        self.unavailable_keep(&page.unavailable)?;
        *seen = Some(Seen {
            profile_id: page.profile_id.clone(),
            profile_version: page.profile_version,
            access_key: page.access_key.clone(),
        });
        Ok(())
    }

    /// After a pull computed for another profile than the one the device keeps (an
    /// administrator republished it or assigned another one), or for another access (a
    /// role, team, field-security or hierarchy change): fetches the caller's profile and
    /// privileges again — a field the user may no longer read is forgotten at once — and
    /// tells background sync the new items, so their intervals and availability apply at
    /// once. The org metadata itself still waits for the user's yes when it is newer (C16).
    async fn profile_refresh(&self, remote: &Remote, seen: Seen) -> Result<(), CoreError> {
        let (kept, kept_access) = self.with_store(|s| {
            Ok((
                profile_of(s).map(|p| (p.id, p.version)),
                s.state_get(ACCESS_KEY)?,
            ))
        })?;
        let profile_unchanged = match &kept {
            None => seen.profile_version == 0,
            // A server from before `profile_id` names none: the version alone tells.
            Some((kept_id, kept_version)) => {
                *kept_version == seen.profile_version
                    && (seen.profile_id.is_empty() || *kept_id == seen.profile_id)
            }
        };
        // A server from before `access_key` names none: nothing to compare.
        let access_unchanged =
            seen.access_key.is_empty() || kept_access.as_deref() == Some(seen.access_key.as_str());
        if profile_unchanged && access_unchanged {
            return Ok(());
        }
        let response = self
            .authed(remote, |token| async move { remote.metadata(&token).await })
            .await?;
        let newer = self.with_store(|s| Ok(response.metadata.version > s.metadata().version))?;
        if newer {
            self.metadata_keep_pending(&response)?;
        } else {
            self.with_store(|s| Self::access_keep(s, &response, self.now()))?;
        }
        if !profile_unchanged {
            tracing::info!(profile = %seen.profile_id, version = seen.profile_version, "the offline profile changed");
            self.signal(outpost_sync::Event::ProfileChanged {
                items: response.profile.map(|p| p.items).unwrap_or_default(),
            });
        } else {
            tracing::info!("the user's access changed");
        }
        Ok(())
    }

    /// Keeps a newer metadata for the user's yes; the privileges and profile that came
    /// with it apply at once (they are not a change of the tables).
    fn metadata_keep_pending(&self, response: &MetadataResponse) -> Result<(), CoreError> {
        self.with_store(|s| {
            s.state_set(
                METADATA_PENDING,
                &serde_json::to_string(&response.metadata).map_err(anyhow::Error::from)?,
            )?;
            Self::access_keep(s, response, self.now())?;
            Ok(())
        })?;
        tracing::info!(
            version = response.metadata.version,
            "a metadata update waits for the user's yes"
        );
        Ok(())
    }

    /// Applies the metadata update that waits (C16: the user said yes), then syncs. Does
    /// nothing but sync when none waits.
    pub async fn metadata_accept(&self) -> Result<SyncReport, CoreError> {
        self.with_store(|s| {
            if let Some(json) = s.state_get(METADATA_PENDING)? {
                let metadata: outpost_domain::Metadata =
                    serde_json::from_str(&json).map_err(anyhow::Error::from)?;
                let change = s.metadata_apply(metadata)?;
                tracing::info!(?change, "the local database moved to the accepted metadata");
                s.state_delete(METADATA_PENDING)?;
            }
            Ok(())
        })?;
        self.signal(outpost_sync::Event::MetadataAccepted);
        self.sync_now().await
    }

    /// Carries out a wipe the server ordered (offline switched off, the profile taken
    /// away): the run already sent what it could; what remains is sealed into a recovery
    /// file first (when that fails, nothing is deleted), then the store and its key go —
    /// in one hold of the store's lock, so nothing made in between escapes the seal.
    pub(super) fn wipe_ordered(&self) -> Result<(), CoreError> {
        let drops_unsent =
            outpost_domain::mutant::active(outpost_domain::mutant::Mutant::WipeDropsUnsent);
        let (store, kept) = self.with_guard(|guard| {
            let kept = match guard.as_mut() {
                // A re-introduced bug (the simulation's mutants): nothing is sealed.
                Some(_) if drops_unsent => Unsent::default(),
                Some(store) => self.recovery_keep(store)?,
                None => Unsent::default(),
            };
            Ok((guard.take(), kept))
        })?;
        if let Some(store) = store {
            let why = if drops_unsent {
                super::accounts::Deletion::Mutant
            } else {
                super::accounts::Deletion::Sealed
            };
            self.store_wipe(store, why)?;
        }
        self.gone_set(Some(if kept.is_empty() {
            SignedOutReason::Wiped
        } else {
            SignedOutReason::WipedSealed
        }));
        tracing::warn!("the server asked this device to delete its offline data: done");
        Ok(())
    }

    /// Carries out the wipe of a device an administrator reported lost, for `account`:
    /// that user's store and key go at once, unsent work with them, and what was sealed
    /// under that device before (whoever holds the device now must not read it or send it
    /// in the user's name) — even when another user's store is the one open by then, and
    /// even when the store's key is gone. The store's lock is held throughout, so no
    /// sign-in opens the store while it goes.
    pub(super) fn wipe_lost(&self, account: &str) -> Result<(), CoreError> {
        let keys = &*self.config.keys;
        let gone = self.with_guard(|guard| {
            let open = guard
                .as_ref()
                .is_some_and(|s| super::Account::of_store(&self.config.data_dir, s).id == account);
            let (target, store) = if open {
                let store = guard.take().ok_or(CoreError::NotSignedIn)?;
                (
                    super::Account::of_store(&self.config.data_dir, &store),
                    Some(store),
                )
            } else {
                let Some(target) = self.accounts().get(account) else {
                    return Ok(None);
                };
                let store = target.open(keys).ok();
                (target, store)
            };
            let (device_id, user_id) = match &store {
                Some(s) => (s.state_get(DEVICE_ID)?, s.state_get(USER_ID)?),
                None => (target.device_id(), None),
            };
            target.wipe(store, keys, super::accounts::Deletion::DeviceLost)?;
            if self.accounts().active().is_none_or(|a| a == target) {
                self.accounts().set_active(None)?;
            }
            Ok(Some((open, device_id, user_id)))
        })?;
        let Some((open, device_id, user_id)) = gone else {
            return Ok(());
        };
        if let Some(device_id) = device_id {
            self.recovery_forget(&device_id, user_id.as_deref())?;
        }
        if open {
            self.gone_set(Some(SignedOutReason::DeviceLost));
        }
        tracing::warn!("this device was reported lost: its offline data is deleted");
        Ok(())
    }

    /// Probes the server and, when it answers, remembers the device is online.
    pub async fn server_probe(&self) -> Result<bool, CoreError> {
        let remote: Remote = self.remote_any()?;
        let reachable = remote.probe().await;
        self.online.store(reachable, Ordering::Relaxed);
        Ok(reachable)
    }
}

impl Client {
    /// Keeps what the server said about the entities it cannot deliver (C14), and tells
    /// background sync which entities failed or came back.
    fn unavailable_keep(
        &self,
        problems: &[outpost_protocol::EntityProblem],
    ) -> Result<(), CoreError> {
        let now: UnavailableEntities = problems
            .iter()
            .map(|p| (p.entity.clone(), p.message.clone()))
            .collect();
        let before = self.with_store(|s| {
            let before = unavailable_of(s);
            if before != now {
                let json = serde_json::to_string(&now).map_err(anyhow::Error::from)?;
                s.state_set(UNAVAILABLE, &json)?;
            }
            Ok(before)
        })?;
        for (entity, message) in &now {
            if before.get(entity) != Some(message) {
                self.signal(outpost_sync::Event::EntityFailed {
                    entity: entity.clone(),
                    message: message.clone(),
                });
            }
        }
        for entity in before.keys().filter(|e| !now.contains_key(*e)) {
            self.signal(outpost_sync::Event::EntityOk {
                entity: entity.clone(),
            });
        }
        Ok(())
    }
}

/// What the last pull page was computed for.
struct Seen {
    profile_id: String,
    profile_version: u64,
    access_key: String,
}

/// Entity → when a sync last delivered it.
type EntitiesSynced = std::collections::BTreeMap<String, String>;

/// A sync finished at `at`: every entity of the profile the server delivered is fresh as
/// of then; the ones it could not deliver keep their last time (as JSON, to keep).
fn entities_synced(store: &Store, at: &str) -> Result<String, CoreError> {
    let unavailable = unavailable_of(store);
    let mut synced: EntitiesSynced = state_json(store, ENTITY_SYNCED);
    for item in profile_of(store).map(|p| p.items).unwrap_or_default() {
        if !unavailable.contains_key(&item.entity) {
            synced.insert(item.entity, at.to_owned());
        }
    }
    Ok(serde_json::to_string(&synced).map_err(anyhow::Error::from)?)
}

/// When each entity was last delivered, and which ones the server cannot deliver now:
/// read once for a whole status or page.
#[derive(Debug, Default)]
pub(super) struct LastSyncs {
    synced: EntitiesSynced,
    /// Entity → why the server cannot deliver it now.
    pub(super) unavailable: UnavailableEntities,
    /// The device's last sync.
    device: Option<String>,
}

impl LastSyncs {
    pub(super) fn read(store: &Store) -> Self {
        Self {
            synced: state_json(store, ENTITY_SYNCED),
            unavailable: unavailable_of(store),
            device: store.state_get(LAST_SYNC).ok().flatten(),
        }
    }

    /// When `entity` was last delivered: its own time, or on a device synced before that
    /// was kept, the device's last sync unless the entity is unavailable now.
    pub(super) fn of(&self, entity: &str) -> Option<String> {
        self.synced.get(entity).cloned().or_else(|| {
            (!self.unavailable.contains_key(entity))
                .then(|| self.device.clone())
                .flatten()
        })
    }
}

/// Entity → why the server cannot deliver it now.
pub(super) type UnavailableEntities = std::collections::BTreeMap<String, String>;

/// The entities the server said it cannot deliver, as of the last pull.
pub(super) fn unavailable_of(store: &Store) -> UnavailableEntities {
    state_json(store, UNAVAILABLE)
}
