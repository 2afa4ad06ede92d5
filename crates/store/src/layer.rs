//! The local layer as the domain's [`RecordStorage`], and the rebase that rebuilds a local
//! record from its server state plus its pending operations.

use outpost_domain::operation::{ConflictCheck, StorageFailure, StoredRecord};
use outpost_domain::{EntityDef, Fields, Metadata, OpError, Operation, RecordStorage};
use rusqlite::Connection;

use crate::StoreError;
use crate::table::{outbox, records};

/// The local tables inside a transaction the caller holds.
pub(crate) struct LocalLayer<'a> {
    conn: &'a Connection,
    metadata: Option<&'a Metadata>,
}

impl<'a> LocalLayer<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Self {
        Self {
            conn,
            metadata: None,
        }
    }

    /// Applies `op` to the local layer, unconditionally: the device's own view never
    /// conflicts with itself; the server decides conflicts when the op is pushed.
    pub(crate) fn apply_in_tx(
        &mut self,
        metadata: &'a Metadata,
        op: &Operation,
    ) -> Result<(), StoreError> {
        self.metadata = Some(metadata);
        match op.apply(metadata, self, ConflictCheck::Off) {
            Ok(_) => Ok(()),
            Err(OpError::NotFound { entity, id }) => Err(StoreError::NotFound { entity, id }),
            Err(OpError::Invalid(errors)) => Err(StoreError::Invalid(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            Err(OpError::Storage(e)) => Err(StoreError::Corrupt(e.0)),
        }
    }

    fn def(&self, entity: &str) -> Result<&'a EntityDef, StorageFailure> {
        self.metadata
            .ok_or_else(|| StorageFailure("no metadata".into()))?
            .entity(entity)
            .map_err(|e| StorageFailure(e.to_string()))
    }
}

impl RecordStorage for LocalLayer<'_> {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        let def = self.def(entity)?;
        records::get_in_tx(self.conn, &def.name, def, id)
            .map(|row| row.map(|(fields, _)| StoredRecord { fields }))
            .map_err(|e| StorageFailure(e.to_string()))
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        let version = records::get_in_tx(self.conn, &def.name, def, id)
            .map_err(|e| StorageFailure(e.to_string()))?
            .map_or(0, |(_, v)| v);
        records::put_in_tx(self.conn, &def.name, def, id, fields, version)
            .map_err(|e| StorageFailure(e.to_string()))
    }
}

/// Rebuilds the local record `id` as its server state with every pending operation on it
/// re-applied in order. A pending op that no longer applies (say, the field is now
/// invalid) is left in the outbox for the server to judge; the user's value is kept.
pub(crate) fn rebase_in_tx(
    conn: &Connection,
    metadata: &Metadata,
    def: &EntityDef,
    id: &str,
) -> Result<(), StoreError> {
    let Some((fields, version)) = records::get_in_tx(conn, &format!("srv_{}", def.name), def, id)?
    else {
        return Ok(());
    };
    records::put_in_tx(conn, &def.name, def, id, &fields, version)?;
    for op in outbox::ops_for_record(conn, &def.name, id)? {
        match LocalLayer::new(conn).apply_in_tx(metadata, &op) {
            Ok(()) | Err(StoreError::Invalid(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
