//! `outpost-domain` holds everything the device and the org server must agree on, so that
//! offline and online behave identically: entity metadata, field values and their
//! validation, and the operations a user can perform (`apply` is the same code on both
//! sides, see DESIGN §2).
//!
//! It must never know about I/O, async, clocks, SQL, HTTP or any storage engine: callers
//! hand it values and a small [`operation::RecordStorage`] implementation.

pub mod demo;
pub mod metadata;
pub mod mutant;
pub mod operation;
pub mod query;
pub mod security;
pub mod value;

pub use metadata::{AttributeDef, AttributeKind, EntityDef, Metadata, ValidationError};
pub use operation::{
    Applied, ApplyContext, ConflictCheck, Effects, FieldConflict, OpError, Operation,
    RecordStorage, StorageFailure, StoredRecord,
};
pub use value::{EntityRef, Fields, Value};
