//! Operations: every change a user can make, as a serialisable value with one pure
//! `apply` that the device runs against its local layer and the server runs
//! authoritatively (DESIGN §2).

use serde::{Deserialize, Serialize};

use crate::metadata::{Metadata, ValidationError};
use crate::value::Fields;

/// A change a user made. Ids of records it touches are chosen by the caller, so a device
/// can make them offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    /// Change some fields of an existing record.
    Update {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The new values of the fields the user changed.
        changes: Fields,
        /// What the device saw in those same fields before the change (the before-image
        /// that field-level conflict detection compares with, B1).
        before: Fields,
    },
}

/// A record as a storage holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Current values.
    pub fields: Fields,
}

/// A storage failure, opaque to the domain: the caller that owns the storage knows more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageFailure(pub String);

/// The little an operation needs from a store. The server implements it over its
/// transaction, the device over its local layer.
pub trait RecordStorage {
    /// The record, or `None` when it does not exist (or was deleted).
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure>;
    /// Replace the record's fields.
    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure>;
}

/// Whether `apply` compares the before-image with the current values (server, B1) or
/// applies unconditionally (the device's own layer, or an org that turned detection off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictCheck {
    /// Conflict on every changed field whose current value differs from the before-image.
    Detect,
    /// Last writer wins.
    Off,
}

/// One field on which the device and the server disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// The field.
    pub field: String,
    /// What the device saw before its change.
    pub before: Option<String>,
    /// What the device wants.
    pub mine: Option<String>,
    /// What the server has now.
    pub server: Option<String>,
}

/// What an applied operation did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Effects {
    /// Records whose fields changed, as `(entity, id)`.
    pub changed: Vec<(String, String)>,
}

/// The result of applying an operation. Conflicts are values, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The change is in.
    Done(Effects),
    /// Nothing changed: these fields were changed on both sides.
    Conflict(Vec<FieldConflict>),
}

/// Why an operation could not be applied at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// The record does not exist (or was deleted).
    #[error("record not found: {entity} {id}")]
    NotFound {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
    },
    /// The change does not fit the metadata.
    #[error("invalid change: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ValidationError>),
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageFailure),
}

impl Operation {
    /// The record the operation is about, as `(entity, id)`.
    pub fn target(&self) -> (&str, &str) {
        match self {
            Self::Update { entity, id, .. } => (entity, id),
        }
    }

    /// Applies the operation to `storage`.
    pub fn apply(
        &self,
        metadata: &Metadata,
        storage: &mut impl RecordStorage,
        check: ConflictCheck,
    ) -> Result<Applied, OpError> {
        match self {
            Self::Update {
                entity,
                id,
                changes,
                before,
            } => {
                let def = metadata
                    .entity(entity)
                    .map_err(|e| OpError::Invalid(vec![e]))?;
                let changes = def.canonical_update(changes).map_err(OpError::Invalid)?;
                let Some(current) = storage.get(entity, id)? else {
                    return Err(OpError::NotFound {
                        entity: entity.clone(),
                        id: id.clone(),
                    });
                };
                if check == ConflictCheck::Detect {
                    let conflicts = conflicts(&current.fields, before, &changes);
                    if !conflicts.is_empty() {
                        return Ok(Applied::Conflict(conflicts));
                    }
                }
                let mut fields = current.fields;
                for (name, value) in changes {
                    fields.insert(name, value);
                }
                storage.put(entity, id, &fields)?;
                Ok(Applied::Done(Effects {
                    changed: vec![(entity.clone(), id.clone())],
                }))
            }
        }
    }
}

/// The fields in `changes` whose current value differs from the before-image: a field
/// only the device changed merges, a field both sides changed conflicts (B1). A field the
/// server changed to exactly what the device wants is not a conflict.
pub fn conflicts(current: &Fields, before: &Fields, changes: &Fields) -> Vec<FieldConflict> {
    let value = |fields: &Fields, name: &str| fields.get(name).cloned().flatten();
    changes
        .iter()
        .filter_map(|(name, mine)| {
            let server = value(current, name);
            let seen = value(before, name);
            (server != seen && server != *mine).then(|| FieldConflict {
                field: name.clone(),
                before: seen,
                mine: mine.clone(),
                server,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
