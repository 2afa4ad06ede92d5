//! The local layer as the domain's [`RecordStorage`], and the rebase that rebuilds local
//! records from their server state plus the pending operations that touched them.

use std::collections::BTreeSet;

use outpost_domain::operation::{ConflictCheck, Effects, StorageFailure, StoredRecord};
use outpost_domain::{
    Applied, ApplyContext, EntityDef, EntityRef, Fields, Metadata, OpError, Operation,
    RecordStorage,
};
use rusqlite::Connection;

use crate::StoreError;
use crate::table::records::{self, Layer};
use crate::table::{follow, outbox};

/// The local tables inside a transaction the caller holds.
pub(crate) struct LocalLayer<'a> {
    conn: &'a Connection,
    metadata: &'a Metadata,
    /// The store's own error behind the last storage failure the domain saw: the caller
    /// gets it as it was (a full disk is a full disk, not corrupt data).
    failed: Option<StoreError>,
}

/// Every record an applied operation wrote.
pub(crate) fn touched(effects: &Effects) -> Vec<EntityRef> {
    effects
        .created
        .iter()
        .chain(&effects.changed)
        .chain(&effects.removed)
        .chain(&effects.followed)
        .chain(&effects.unfollowed)
        .cloned()
        .collect()
}

impl<'a> LocalLayer<'a> {
    pub(crate) fn new(conn: &'a Connection, metadata: &'a Metadata) -> Self {
        Self {
            conn,
            metadata,
            failed: None,
        }
    }

    /// Applies `op` to the local layer, unconditionally: the device's own view never
    /// conflicts with itself; the server decides conflicts when the op is pushed.
    pub(crate) fn apply_in_tx(
        &mut self,
        ctx: &ApplyContext,
        op: &Operation,
    ) -> Result<Effects, StoreError> {
        match op.apply(ctx, self.metadata, self, ConflictCheck::Off) {
            Ok(Applied::Done(effects)) => Ok(effects),
            Ok(Applied::Conflict(_)) => Err(StoreError::Corrupt(
                "a local apply without conflict detection reported a conflict".into(),
            )),
            Err(OpError::Storage(e)) => Err(self.failed.take().unwrap_or(StoreError::Corrupt(e.0))),
            Err(e) => Err(StoreError::Refused(e)),
        }
    }

    fn def(&self, entity: &str) -> Result<&'a EntityDef, StorageFailure> {
        self.metadata
            .entity(entity)
            .map_err(|e| StorageFailure(e.to_string()))
    }
}

impl LocalLayer<'_> {
    /// A storage failure for the domain; the error itself is kept for the caller.
    fn failure(&mut self, e: StoreError) -> StorageFailure {
        let failure = StorageFailure(e.to_string());
        self.failed = Some(e);
        failure
    }
}

impl RecordStorage for LocalLayer<'_> {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        let def = self.def(entity)?;
        match records::get_in_tx(self.conn, Layer::Local, def, id) {
            Ok(row) => Ok(row.map(|(fields, _)| StoredRecord { fields })),
            Err(e) => Err(self.failure(e)),
        }
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        let version = match records::version_in_tx(self.conn, Layer::Local, def, id) {
            Ok(version) => version.unwrap_or(0),
            Err(e) => return Err(self.failure(e)),
        };
        records::put_in_tx(self.conn, Layer::Local, def, id, fields, version)
            .map_err(|e| self.failure(e))
    }

    fn insert(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        // Created offline: no server version yet.
        records::put_in_tx(self.conn, Layer::Local, def, id, fields, 0).map_err(|e| self.failure(e))
    }

    fn delete(&mut self, entity: &str, id: &str) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        records::delete_in_tx(self.conn, Layer::Local, def, id).map_err(|e| self.failure(e))
    }

    fn follow_set(
        &mut self,
        _user: &EntityRef,
        entity: &str,
        id: &str,
        following: bool,
    ) -> Result<(), StorageFailure> {
        follow::set_in_tx(self.conn, entity, id, following).map_err(|e| self.failure(e))
    }
}

/// Makes the local copy of one record its server copy again (or removes it when the
/// server layer has none), forgetting follows made on the device.
fn reset_in_tx(conn: &Connection, def: &EntityDef, id: &str) -> Result<(), StoreError> {
    match records::get_in_tx(conn, Layer::Server, def, id)? {
        Some((fields, version)) => {
            records::put_in_tx(conn, Layer::Local, def, id, &fields, version)?;
        }
        None => records::delete_in_tx(conn, Layer::Local, def, id)?,
    }
    follow::forget_in_tx(conn, &def.name, id)
}

/// Rebuilds the local copies of `records` — and of every record a pending operation
/// touching them also touched — as their server state with every pending operation on
/// them re-applied in log order. A pending operation that no longer applies (the field
/// is now invalid, the record is gone, the lead is already qualified) is left in the
/// outbox for the server to judge; those are answered with their seq and reason. Nothing
/// the user typed is lost to a pull.
pub(crate) fn rebase_in_tx(
    conn: &Connection,
    ctx: &ApplyContext,
    metadata: &Metadata,
    records: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(i64, StoreError)>, StoreError> {
    let closure: BTreeSet<(String, String)> = outbox::touch_closure(conn, records)?;
    for (entity, id) in &closure {
        // An entity the metadata dropped has no tables to rebuild.
        if let Ok(def) = metadata.entity(entity) {
            reset_in_tx(conn, def, id)?;
        }
    }
    let mut refused = Vec::new();
    for (seq, op) in outbox::ops_touching(conn, &closure)? {
        match LocalLayer::new(conn, metadata).apply_in_tx(ctx, &op) {
            Ok(effects) => outbox::touches_reset_in_tx(conn, seq, &op, &touched(&effects))?,
            Err(e @ StoreError::Refused(_)) => refused.push((seq, e)),
            Err(e) => return Err(e),
        }
    }
    Ok(refused)
}

/// Lets go of the records in `touched` that stayed on the device only because the user
/// was editing them (the server said they left its scope, S10): once nothing pending
/// touches one, it leaves both layers.
pub(crate) fn release_in_tx(
    conn: &Connection,
    metadata: &Metadata,
    touched: impl IntoIterator<Item = (String, String)>,
) -> Result<(), StoreError> {
    for (entity, id) in touched {
        let Ok(def) = metadata.entity(&entity) else {
            continue;
        };
        if outbox::has_pending(conn, &entity, &id)? || !records::leaving_in_tx(conn, def, &id)? {
            continue;
        }
        records::delete_in_tx(conn, Layer::Server, def, &id)?;
        records::delete_in_tx(conn, Layer::Local, def, &id)?;
        records::leaving_forget_in_tx(conn, def, &id)?;
        follow::forget_in_tx(conn, &entity, &id)?;
    }
    Ok(())
}

/// The rebase of one record the pull just wrote to the server layer (`server`: its
/// fields and version, `None` when it was removed): a plain copy when nothing pending
/// touches it — the common case of a large pull, which then costs one write.
pub(crate) fn rebase_one_in_tx(
    conn: &Connection,
    ctx: &ApplyContext,
    metadata: &Metadata,
    def: &EntityDef,
    id: &str,
    server: Option<(&Fields, u64)>,
) -> Result<(), StoreError> {
    if outbox::has_pending(conn, &def.name, id)? {
        return rebase_in_tx(conn, ctx, metadata, [(def.name.clone(), id.to_owned())]).map(drop);
    }
    match server {
        Some((fields, version)) => {
            records::put_in_tx(conn, Layer::Local, def, id, fields, version)?
        }
        None => records::delete_in_tx(conn, Layer::Local, def, id)?,
    }
    follow::forget_in_tx(conn, &def.name, id)
}
