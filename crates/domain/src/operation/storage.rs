//! The little an operation needs from a store. The server implements it over its
//! transaction, the device over its local layer.

use crate::value::{EntityRef, Fields};

/// A record as a storage holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Current values, canonical text, by logical name (without `id`).
    pub fields: Fields,
}

/// A storage failure, opaque to the domain: the caller that owns the storage knows more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageFailure(pub String);

/// Records and follows, keyed by entity logical name and record id.
///
/// An operation reads what it needs first and writes last, so a storage need not roll
/// back: when `apply` returns an error or a conflict, nothing was written (a storage
/// failure in the middle of the writes is the exception; the caller's transaction covers
/// it). Every write is of a whole record.
pub trait RecordStorage {
    /// The record, or `None` when it does not exist (or was deleted).
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure>;

    /// Adds a new record. `get` returned `None` for it in this same operation; a storage
    /// that keeps tombstones decides whether a deleted id may come back (it may fail).
    fn insert(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure>;

    /// Replaces an existing record's fields with `fields` (the whole record).
    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure>;

    /// Deletes an existing record (a server keeps a tombstone for sync).
    fn delete(&mut self, entity: &str, id: &str) -> Result<(), StorageFailure>;

    /// Records that `user` follows the record (`following`) or no longer does. Idempotent:
    /// following twice, or unfollowing a record not followed, is not an error.
    fn follow_set(
        &mut self,
        user: &EntityRef,
        entity: &str,
        id: &str,
        following: bool,
    ) -> Result<(), StorageFailure>;
}
