//! What applying an operation gives back: its effects, the field conflicts that stopped
//! it, or the error that refused it.

use serde::{Deserialize, Serialize};

use super::storage::StorageFailure;
use crate::metadata::ValidationError;
use crate::value::{EntityRef, Fields};

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
    /// What the device wants (`None` for a delete: the device wants the record gone).
    pub mine: Option<String>,
    /// What the server has now.
    pub server: Option<String>,
}

/// What an applied operation did, record by record. A caller uses it to bump row
/// versions, to tell devices what to pull or remove, and to keep follows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Effects {
    /// Records the operation created, in creation order.
    pub created: Vec<EntityRef>,
    /// Existing records whose fields changed.
    pub changed: Vec<EntityRef>,
    /// Records the operation deleted.
    pub removed: Vec<EntityRef>,
    /// Records the acting user now follows.
    pub followed: Vec<EntityRef>,
    /// Records the acting user no longer follows.
    pub unfollowed: Vec<EntityRef>,
}

/// The result of applying an operation. Conflicts are values, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The change is in.
    Done(Effects),
    /// Nothing changed: these fields were changed on both sides.
    Conflict(Vec<FieldConflict>),
}

/// Why an operation could not be applied at all. Nothing was written.
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
    /// A record the operation would create already exists: the caller picked a used id.
    #[error("record already exists: {entity} {id}")]
    AlreadyExists {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
    },
    /// The change does not fit the metadata (each error names its field and code).
    #[error("invalid change: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ValidationError>),
    /// The record's state forbids the operation: a closed record is read-only, a closed
    /// opportunity cannot close again, a flow cannot move past unfilled required steps.
    /// `reason` says which, for a person, naming the fields to fill where there are some.
    #[error("{entity} {id}: {reason}")]
    InvalidState {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// No business process flow with that id runs on that entity, or the flow has no
    /// stage with that id.
    #[error("{entity} has no flow `{flow_id}`{}", .stage_id.as_ref().map(|s| format!(" with a stage `{s}`")).unwrap_or_default())]
    UnknownFlow {
        /// Entity.
        entity: String,
        /// The flow id given.
        flow_id: String,
        /// The stage id given, when the flow exists but the stage does not.
        stage_id: Option<String>,
    },
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageFailure),
}

fn value(fields: &Fields, name: &str) -> Option<String> {
    fields.get(name).cloned().flatten()
}

/// The fields in `changes` whose current value differs from the before-image: a field
/// only the device changed merges, a field both sides changed conflicts (B1). A field the
/// server changed to exactly what the device wants is not a conflict.
pub fn conflicts(current: &Fields, before: &Fields, changes: &Fields) -> Vec<FieldConflict> {
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

/// The fields of a delete's before-image that changed since the device saw them (any
/// difference, including a field cleared on the server); `mine` is `None` throughout.
pub fn delete_conflicts(current: &Fields, before: &Fields) -> Vec<FieldConflict> {
    before
        .iter()
        .filter_map(|(name, seen)| {
            let server = value(current, name);
            (server != *seen).then(|| FieldConflict {
                field: name.clone(),
                before: seen.clone(),
                mine: None,
                server,
            })
        })
        .collect()
}
