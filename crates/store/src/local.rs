//! What the user does, on the local layer: every domain operation applies at once through
//! the domain's own code and joins the outbox with its before-image and base version, in
//! one transaction; and reading one record back.

use outpost_domain::{ApplyContext, Effects, EntityDef, Fields, Operation};

use crate::layer::{LocalLayer, rebase_in_tx, release_in_tx, touched};
use crate::table::outbox::{self, EntryState};
use crate::table::records::{self, Layer};
use crate::{Store, StoreError};

/// A record as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRecord {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Current local values.
    pub fields: Fields,
    /// The server row version the record is based on (0 if never synced).
    pub row_version: u64,
    /// Whether changes to it wait in the outbox.
    pub pending: bool,
    /// Why the server sent it (B3: `profile`, `follow`, `related:<entity>.<attribute>`);
    /// `None` for a record created on the device and not synced yet.
    pub reason: Option<String>,
}

/// What a resolution of a sync error does (C11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolve {
    /// Keep the device's change: the server applies it without conflict detection.
    KeepMine,
    /// Take the server's record: the change is dropped and the record restored.
    TakeServer,
    /// Send a corrected operation instead (same target), under a new op id, in the
    /// failed one's place in the log.
    Resubmit {
        /// The corrected operation.
        op: Operation,
        /// Its new op id.
        op_id: String,
    },
}

/// What `seen` holds in the fields `changes` sets: an update's before-image (B1).
fn before_image(changes: &Fields, seen: &Fields) -> Fields {
    changes
        .keys()
        .map(|k| (k.clone(), seen.get(k).cloned().flatten()))
        .collect()
}

impl Store {
    pub(crate) fn entity(&self, name: &str) -> Result<&EntityDef, StoreError> {
        self.metadata
            .entity(name)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// One local record (with its reason and pending flag, in one query).
    pub fn record_get(&self, entity: &str, id: &str) -> Result<LocalRecord, StoreError> {
        crate::view::record_in_tx(&self.conn, self.entity(entity)?, id)?.ok_or_else(|| {
            StoreError::NotFound {
                entity: entity.to_owned(),
                id: id.to_owned(),
            }
        })
    }

    /// The fields of one local record, if the device holds it (one read, no bookkeeping).
    pub fn record_fields(&self, entity: &str, id: &str) -> Result<Option<Fields>, StoreError> {
        let def = self.entity(entity)?;
        Ok(records::get_in_tx(&self.conn, Layer::Local, def, id)?.map(|(fields, _)| fields))
    }

    /// The record as the server last sent it, if it did.
    pub fn record_get_server(
        &self,
        entity: &str,
        id: &str,
    ) -> Result<Option<(Fields, u64)>, StoreError> {
        let def = self.entity(entity)?;
        records::get_in_tx(&self.conn, Layer::Server, def, id)
    }

    /// Whether the user follows the record: a follow or unfollow made here and not yet
    /// answered decides; otherwise whether the server sent it because of a follow.
    pub fn record_followed(&self, entity: &str, id: &str) -> Result<bool, StoreError> {
        if let Some(here) = crate::table::follow::here_in_tx(&self.conn, entity, id)? {
            return Ok(here);
        }
        let def = self.entity(entity)?;
        Ok(records::reason_in_tx(&self.conn, def, id)?.as_deref() == Some("follow"))
    }

    /// Applies `op` to the local layer at once and appends it to the outbox, in one
    /// transaction (C3, C5). An update's before-image is what the device shows now (only
    /// the fields that really change are kept; an update that changes nothing is not
    /// logged); a delete's is the server's `modifiedon` when nothing else is pending on the
    /// record. Answers what the operation wrote. Inside [`Store::in_batch`] it is a
    /// savepoint of the batch's transaction.
    ///
    /// # Errors
    /// [`StoreError::Refused`] with the domain's reason (invalid fields, closed record,
    /// missing flow step, id in use, …) — nothing is written.
    pub fn op_apply(
        &mut self,
        ctx: &ApplyContext,
        op_id: &str,
        op: Operation,
    ) -> Result<Effects, StoreError> {
        // A savepoint: its own transaction alone, a nested one inside a batch.
        let tx = self.conn.savepoint()?;
        let (entity, id) = op.target();
        let def = self
            .metadata
            .entity(entity)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let current = records::get_in_tx(&tx, Layer::Local, def, id)?;
        let server_version = records::version_in_tx(&tx, Layer::Server, def, id)?;
        let op = match op {
            Operation::Update {
                entity,
                id,
                changes,
                ..
            } => {
                let seen = current.as_ref().map(|(f, _)| f.clone()).unwrap_or_default();
                // Fields that already hold the new value are not a change.
                let changes: Fields = changes
                    .into_iter()
                    .filter(|(k, v)| seen.get(k).cloned().flatten() != *v || !seen.contains_key(k))
                    .collect();
                if changes.is_empty() && current.is_some() {
                    return Ok(Effects::default());
                }
                let before = before_image(&changes, &seen);
                Operation::Update {
                    entity,
                    id,
                    changes,
                    before,
                }
            }
            Operation::Delete { entity, id, before } if before.is_empty() => {
                let pending = outbox::has_pending(&tx, &entity, &id)?;
                let server = match server_version {
                    Some(_) => records::get_in_tx(&tx, Layer::Server, def, &id)?,
                    None => None,
                };
                let before = match (&server, pending) {
                    (Some((fields, _)), false) => fields
                        .get("modifiedon")
                        .map(|v| Fields::from([("modifiedon".to_owned(), v.clone())]))
                        .unwrap_or_default(),
                    _ => Fields::new(),
                };
                Operation::Delete { entity, id, before }
            }
            other => other,
        };
        let effects = LocalLayer::new(&tx, &self.metadata).apply_in_tx(ctx, &op)?;
        let created_on = outpost_domain::value::format_datetime(ctx.now);
        outbox::append_in_tx(
            &tx,
            op_id,
            &op,
            server_version,
            &created_on,
            &touched(&effects),
        )?;
        tx.commit()?;
        Ok(effects)
    }

    /// Runs `f` in one durable transaction (one commit, one sync to disk): every
    /// [`Store::op_apply`] inside is a savepoint of it, so an operation refused leaves
    /// nothing while the others stay, and reads see what the batch wrote so far. A
    /// script's batch of offline changes goes through here. Committed when `f` answers
    /// `Ok`; rolled back whole otherwise.
    ///
    /// # Errors
    /// `f`'s error, or SQLite's at the start or the commit.
    pub fn in_batch<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        // Immediate: the batch writes, and another process may hold the same store.
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(StoreError::from)?;
        match f(self) {
            Ok(value) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(StoreError::from(e).into())
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs `op` through the domain's own code on the local layer and undoes it: whether
    /// it would apply, and what it would write, with nothing written or queued (a draft's
    /// check, C17).
    ///
    /// # Errors
    /// [`StoreError::Refused`] with the domain's reason, as [`Store::op_apply`] would.
    pub fn op_try(&mut self, ctx: &ApplyContext, op: &Operation) -> Result<Effects, StoreError> {
        let tx = self.conn.transaction()?;
        let effects = LocalLayer::new(&tx, &self.metadata).apply_in_tx(ctx, op)?;
        tx.rollback()?;
        Ok(effects)
    }

    /// Changes fields of a local record at once and appends the change to the outbox with
    /// its before-image and base version, in one transaction.
    pub fn record_update(
        &mut self,
        ctx: &ApplyContext,
        entity: &str,
        id: &str,
        changes: Fields,
        op_id: &str,
    ) -> Result<LocalRecord, StoreError> {
        self.op_apply(
            ctx,
            op_id,
            Operation::Update {
                entity: entity.to_owned(),
                id: id.to_owned(),
                changes,
                before: Fields::new(),
            },
        )?;
        self.record_get(entity, id)
    }

    /// Resolves the sync error of operation `op_id` on the device (C11); the resolution
    /// reaches the server with the next sync, and releases the operations parked behind
    /// it once the server has it (B2).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no failed operation has that id;
    /// [`StoreError::Invalid`] when a resubmitted operation is about another record;
    /// [`StoreError::Refused`] when it does not apply locally (nothing changes).
    pub fn sync_error_resolve(
        &mut self,
        ctx: &ApplyContext,
        op_id: &str,
        how: Resolve,
    ) -> Result<(), StoreError> {
        let entry = self
            .outbox_entries()?
            .into_iter()
            .find(|e| e.op_id == op_id && matches!(e.state, EntryState::Failed(_)))
            .ok_or_else(|| StoreError::NotFound {
                entity: "sync_error".into(),
                id: op_id.to_owned(),
            })?;
        let tx = self.conn.transaction()?;
        match how {
            Resolve::KeepMine => {
                outbox::mark_resolving_in_tx(&tx, op_id)?;
                outbox::resolution_queue_in_tx(
                    &tx,
                    op_id,
                    &entry.op,
                    outpost_protocol::ResolutionAction::Apply,
                    outbox::Choice::KeepMine,
                )?;
            }
            Resolve::TakeServer => {
                let touched = outbox::remove_in_tx(&tx, op_id)?.unwrap_or_default();
                outbox::resolution_queue_in_tx(
                    &tx,
                    op_id,
                    &entry.op,
                    outpost_protocol::ResolutionAction::Discard,
                    outbox::Choice::TakeServer,
                )?;
                rebase_in_tx(&tx, ctx, &self.metadata, touched.clone())?;
                release_in_tx(&tx, &self.metadata, touched)?;
            }
            Resolve::Resubmit { op, op_id: new_id } => {
                if op.target() != entry.op.target() {
                    return Err(StoreError::Invalid(format!(
                        "a resubmitted change must be about the same record ({} {})",
                        entry.op.target().0,
                        entry.op.target().1
                    )));
                }
                let op = match op {
                    // Based on what the server has now, so it does not conflict again.
                    Operation::Update {
                        entity,
                        id,
                        changes,
                        ..
                    } => {
                        let def = self
                            .metadata
                            .entity(&entity)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?;
                        let server = records::get_in_tx(&tx, Layer::Server, def, &id)?
                            .map(|(f, _)| f)
                            .unwrap_or_default();
                        let before = before_image(&changes, &server);
                        Operation::Update {
                            entity,
                            id,
                            changes,
                            before,
                        }
                    }
                    other => other,
                };
                outbox::replace_in_tx(&tx, entry.seq, &new_id, &op)?;
                outbox::resolution_queue_in_tx(
                    &tx,
                    op_id,
                    &entry.op,
                    outpost_protocol::ResolutionAction::Discard,
                    outbox::Choice::Resubmit,
                )?;
                // The corrected operation must apply here too; if it does not, nothing
                // of the resolution is kept (the transaction is dropped).
                let about = outbox::parking_keys(&entry.op);
                let refused = rebase_in_tx(&tx, ctx, &self.metadata, about)?;
                if let Some((_, e)) = refused.into_iter().find(|(seq, _)| *seq == entry.seq) {
                    return Err(e);
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}
