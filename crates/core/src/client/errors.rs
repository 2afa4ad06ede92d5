//! Sync errors as the user sees and resolves them (C11): each failed operation with its
//! conflicting fields ("!": the device's value beside the server's), the operations
//! parked behind it (B2), and the three resolutions.

use outpost_domain::{Fields, Operation};
use outpost_protocol::OpResult;
use outpost_store::{Choice, EntryState, Resolve};

use super::records::{blank_is_null, primary_name};
use super::{Client, access_of, apply_context};
use crate::CoreError;
use crate::api::{
    ConflictField, FieldProblem, SyncErrorAction, SyncErrorResolveArgs, SyncErrorRow,
};

/// The code of a row resolved here whose resolution waits to reach the server.
const RESOLVING: &str = "resolving";
const RESOLVING_MESSAGE: &str =
    "Resolved on this device; the resolution reaches the server with the next sync.";

/// The field values an operation sets, for "edit and resubmit".
fn changes_of(op: &Operation) -> Fields {
    match op {
        Operation::Update { changes, .. } => changes.clone(),
        Operation::Create { fields, .. } => fields.clone(),
        _ => Fields::new(),
    }
}

impl Client {
    /// The device's whole change log in order: what waits to be sent, what waits behind a
    /// sync error, what failed and what is being resolved.
    pub async fn sync_outbox(&self) -> Result<Vec<crate::api::OutboxRow>, CoreError> {
        use outpost_store::EntryState;
        self.with_store(|s| {
            Ok(s.outbox_entries()?
                .into_iter()
                .map(|e| {
                    let (entity, id) = e.op.target();
                    let state = match (&e.state, &e.parked_behind) {
                        (EntryState::Pending, None) => "pending",
                        (EntryState::Pending, Some(_)) => "parked",
                        (EntryState::Failed(_), _) => "failed",
                        (EntryState::Resolving(_), _) => "resolving",
                    };
                    crate::api::OutboxRow {
                        op_id: e.op_id.clone(),
                        kind: e.op.kind().to_owned(),
                        entity: entity.to_owned(),
                        id: id.to_owned(),
                        state: state.to_owned(),
                        parked_behind: e.parked_behind.clone(),
                    }
                })
                .collect())
        })
    }

    /// The operations the server refused, oldest first, with what waits behind each.
    pub async fn sync_errors(&self) -> Result<Vec<SyncErrorRow>, CoreError> {
        self.with_store(|s| {
            let entries = s.outbox_entries()?;
            let mut rows = Vec::new();
            for e in &entries {
                let (outcome, resolution) = match &e.state {
                    EntryState::Failed(outcome) => (Some(outcome), None),
                    // Resolved here; listed until the server has the resolution.
                    EntryState::Resolving(how) => (
                        None,
                        Some(match how {
                            outpost_protocol::ResolutionAction::Apply => Choice::KeepMine,
                            outpost_protocol::ResolutionAction::Discard => Choice::TakeServer,
                        }),
                    ),
                    EntryState::Pending => continue,
                };
                let (entity, id) = e.op.target();
                let (code, message, conflicts, fields) = match outcome {
                    None => (
                        RESOLVING.to_owned(),
                        RESOLVING_MESSAGE.to_owned(),
                        Vec::new(),
                        Vec::new(),
                    ),
                    Some(outcome) => match outcome {
                        OpResult::Conflict { fields } => (
                            "conflict".to_owned(),
                            format!(
                                "Changed on the server too: {}",
                                fields
                                    .iter()
                                    .map(|f| f.field.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            fields
                                .iter()
                                .map(|f| ConflictField {
                                    field: f.field.clone(),
                                    before: f.before.clone(),
                                    mine: f.mine.clone(),
                                    server: f.server.clone(),
                                })
                                .collect(),
                            Vec::new(),
                        ),
                        OpResult::Error {
                            code,
                            message,
                            fields,
                        } => (
                            code.clone(),
                            message.clone(),
                            Vec::new(),
                            fields
                                .iter()
                                .map(|f| FieldProblem {
                                    field: f.field.clone(),
                                    code: f.code.clone(),
                                    message: f.message.clone(),
                                })
                                .collect(),
                        ),
                        OpResult::Applied { .. } => continue,
                    },
                };
                let name = s
                    .record_get(entity, id)
                    .ok()
                    .and_then(|r| primary_name(s, &r));
                rows.push(SyncErrorRow {
                    op_id: e.op_id.clone(),
                    kind: e.op.kind().to_owned(),
                    entity: entity.to_owned(),
                    id: id.to_owned(),
                    name,
                    code,
                    message,
                    conflicts,
                    fields,
                    changes: changes_of(&e.op),
                    waiting: entries
                        .iter()
                        .filter(|w| w.parked_behind.as_deref() == Some(e.op_id.as_str()))
                        .map(|w| w.op_id.clone())
                        .collect(),
                    resolving: resolution.is_some(),
                    resolution: resolution.map(|c| c.name().to_owned()),
                    created_on: e.created_on.clone(),
                });
            }
            // Resolutions whose change left the log (taken from the server, resubmitted):
            // listed too until the server has them, across restarts.
            for w in s.resolutions_waiting()? {
                let name = s
                    .record_get(&w.entity, &w.record_id)
                    .ok()
                    .and_then(|r| primary_name(s, &r));
                rows.push(SyncErrorRow {
                    op_id: w.op_id,
                    kind: w.kind,
                    entity: w.entity,
                    id: w.record_id,
                    name,
                    code: RESOLVING.to_owned(),
                    message: RESOLVING_MESSAGE.to_owned(),
                    conflicts: Vec::new(),
                    fields: Vec::new(),
                    changes: Fields::new(),
                    waiting: Vec::new(),
                    resolving: true,
                    resolution: Some(w.choice.name().to_owned()),
                    created_on: None,
                });
            }
            Ok(rows)
        })
    }

    /// Resolves a sync error (C11): keep mine, take the server's, or edit and resubmit.
    /// Applies on the device at once; the server hears it with the next sync, which also
    /// releases what was parked behind it.
    pub async fn sync_error_resolve(&self, args: SyncErrorResolveArgs) -> Result<(), CoreError> {
        self.with_store(|s| {
            let how = match args.resolution {
                SyncErrorAction::KeepMine => Resolve::KeepMine,
                SyncErrorAction::TakeServer => Resolve::TakeServer,
                SyncErrorAction::Resubmit { fields } => {
                    let entry = s
                        .outbox_entries()?
                        .into_iter()
                        .find(|e| e.op_id == args.op_id)
                        .ok_or_else(|| {
                            CoreError::Invalid(format!("no sync error {}", args.op_id))
                        })?;
                    let fields = blank_is_null(fields);
                    let op = match entry.op {
                        Operation::Update { entity, id, .. } => Operation::Update {
                            entity,
                            id,
                            changes: fields,
                            before: Fields::new(),
                        },
                        Operation::Create { entity, id, .. } => {
                            Operation::Create { entity, id, fields }
                        }
                        other => {
                            return Err(CoreError::Invalid(format!(
                                "a {} cannot be edited; keep it or take the server's record",
                                other.kind()
                            )));
                        }
                    };
                    Resolve::Resubmit {
                        op,
                        op_id: self.new_id(),
                    }
                }
            };
            let ctx = apply_context(s, &access_of(s)?, self.now())?;
            s.sync_error_resolve(&ctx, &args.op_id, how)?;
            Ok(u32::try_from(s.outbox_count()?).unwrap_or(u32::MAX))
        })
        .map(|pending| self.signal(outpost_sync::Event::OutboxChanged { pending }))
    }
}
