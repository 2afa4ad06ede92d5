//! Operations (S13): every change a user can make, as a serialisable value with one pure
//! [`Operation::apply`] that the device runs against its local layer and the server runs
//! authoritatively (DESIGN §2), so offline and online behave the same.
//!
//! - **Who and when** come in as an [`ApplyContext`]; ids of records an operation creates
//!   are chosen by the caller and carried in the operation (a device makes them offline),
//!   so they stay valid after sync.
//! - **Privileges are not checked here.** The server evaluates security (S2, S3, B4)
//!   before it applies an operation, and the device offers only what the user may do;
//!   `apply` enforces metadata, state and conflicts only.
//! - **Validation** is the metadata's ([`crate::metadata::EntityDef::canonical_create`],
//!   `canonical_update`): every value is stored as canonical text.
//! - **System fields.** A create stamps `ownerid` (the user unless given),
//!   `owningbusinessunit`, `createdon`/`createdby`, `modifiedon`/`modifiedby`, state 0
//!   with its default status, and the first stage of the entity's flow; every other
//!   write stamps `modifiedon`/`modifiedby`. Only attributes the entity has are stamped.
//! - **State.** A record is open in state 0 (an appointment also in state 3, Scheduled);
//!   in any other state it is read-only: updates, flow moves and commands that need an
//!   open record fail with [`OpError::InvalidState`]. Delete and assign still work. An
//!   update may change the status reason within the record's state only.
//! - **Conflicts** (B1, with [`ConflictCheck::Detect`]): an update conflicts on exactly the
//!   fields it changes whose current value differs from its before-image and from the
//!   new value; a delete conflicts on every field of its before-image that changed (a
//!   device sends e.g. the `modifiedon` it saw). Commands do not conflict: they fail on
//!   state. [`ConflictCheck::Off`] applies unconditionally (client wins).
//! - **Atomic by construction:** an operation reads and checks everything before its
//!   first write, so an error or a conflict writes nothing.
//! - **Business process flows** (C4): see [`Operation::FlowNext`].

mod activity;
mod close;
mod crud;
mod flow;
mod lead;
mod offer;
mod outcome;
mod record;
mod storage;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::metadata::Metadata;
use crate::value::{EntityRef, Fields};
pub use offer::{Offer, is_activity, offers};
pub use outcome::{
    Applied, ConflictCheck, Effects, FieldConflict, OpError, conflicts, delete_conflicts,
};
pub use record::is_open;
pub use storage::{RecordStorage, StorageFailure, StoredRecord};

/// Who applies an operation, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyContext {
    /// The acting user, `systemuser:<id>`.
    pub user: EntityRef,
    /// The acting user's business unit id (without the `businessunit:` prefix).
    pub business_unit_id: String,
    /// Now, as the caller's clock says (the domain never reads a clock).
    pub now: OffsetDateTime,
}

/// A change a user made. Ids of records it creates are chosen by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    /// A new record with the caller's id; fails `AlreadyExists` if the id is in use.
    Create {
        /// Entity logical name.
        entity: String,
        /// The new record's id.
        id: String,
        /// The values the user gave (system fields are stamped, not given).
        fields: Fields,
    },
    /// Change some fields of an existing, open record.
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
    /// Delete a record.
    Delete {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// Fields as the device saw them (e.g. `modifiedon`): if any changed since, the
        /// delete is a conflict. Empty: delete whatever the record holds now.
        #[serde(default)]
        before: Fields,
    },
    /// Give a record to another user or team (its business unit follows the owner's).
    Assign {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The new owner, a `systemuser` or a `team`.
        owner: EntityRef,
    },
    /// The acting user follows the record (S11: it comes offline with their profile).
    Follow {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
    },
    /// The acting user stops following the record.
    Unfollow {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
    },
    /// Move the record to the next stage of a business process flow. The active stage is
    /// the record's `activestageid` (the flow's first stage when empty or of another
    /// flow). Moving forward needs the required steps of the stage left — and of every
    /// stage skipped by `FlowSetActive` — filled; moving back is always allowed.
    FlowNext {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
    },
    /// Move the record to the previous stage (always allowed, except from the first).
    FlowPrevious {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
    },
    /// Make `stage_id` the record's active stage (see [`Operation::FlowNext`]).
    FlowSetActive {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// The flow.
        flow_id: String,
        /// The stage to make active.
        stage_id: String,
    },
    /// Qualify an open lead, creating the chosen account, contact and opportunity from
    /// its fields with these ids, linked to it and to each other; the lead becomes
    /// Qualified (state 1, status 3) and read-only. An account needs the lead's company
    /// name, a contact its last name.
    LeadQualify {
        /// The lead.
        lead_id: String,
        /// Id of the account to create, if any.
        #[serde(default)]
        account_id: Option<String>,
        /// Id of the contact to create, if any.
        #[serde(default)]
        contact_id: Option<String>,
        /// Id of the opportunity to create, if any.
        #[serde(default)]
        opportunity_id: Option<String>,
    },
    /// Disqualify an open lead (state 2) with a status reason of that state (4 Lost,
    /// 5 Cannot Contact, 6 No Longer Interested, 7 Canceled). Refused when an
    /// opportunity came from the lead.
    LeadDisqualify {
        /// The lead.
        lead_id: String,
        /// The status reason.
        status: i32,
    },
    /// Close an open opportunity as won (state 1, status 3), recording an
    /// `opportunityclose` activity; sets the actual revenue and close date.
    OpportunityCloseWon {
        /// The opportunity.
        id: String,
        /// Id of the `opportunityclose` record to create.
        close_id: String,
        /// Actual revenue (money text); the estimated revenue when absent.
        #[serde(default)]
        actual_revenue: Option<String>,
        /// Why it was won.
        #[serde(default)]
        description: Option<String>,
    },
    /// Close an open opportunity as lost (state 2) with status 4 Canceled or 5
    /// Out-Sold, recording an `opportunityclose` activity.
    OpportunityCloseLost {
        /// The opportunity.
        id: String,
        /// Id of the `opportunityclose` record to create.
        close_id: String,
        /// The status reason.
        status: i32,
        /// Who won instead.
        #[serde(default)]
        competitor: Option<String>,
        /// Why it was lost.
        #[serde(default)]
        description: Option<String>,
    },
    /// Resolve an active case (state 1) with status 5 Problem Solved or 1000
    /// Information Provided, recording an `incidentresolution` activity.
    CaseResolve {
        /// The case.
        id: String,
        /// Id of the `incidentresolution` record to create.
        resolution_id: String,
        /// The status reason.
        status: i32,
        /// What solved it.
        subject: String,
        /// Time spent on the case, in minutes.
        #[serde(default)]
        time_spent_minutes: Option<u32>,
    },
    /// Create an opportunity from an open activity (its subject, description and
    /// regarding customer), point the activity at it, and complete the activity.
    ActivityConvertToOpportunity {
        /// Activity entity (`task`, `phonecall`, `appointment`).
        entity: String,
        /// Activity id.
        id: String,
        /// Id of the opportunity to create.
        opportunity_id: String,
    },
    /// Complete an open activity: task → status 5, phone call → 2 Made, appointment → 3.
    ActivityMarkComplete {
        /// Activity entity (`task`, `phonecall`, `appointment`).
        entity: String,
        /// Activity id.
        id: String,
    },
}

fn with(entity: &str, id: &Option<String>) -> Option<EntityRef> {
    id.as_ref().map(|id| record::record(entity, id))
}

impl Operation {
    /// The privilege the operation needs on its target: create for a create, otherwise
    /// on the existing record — delete, assign, read to follow or unfollow, and write for
    /// every other change (updates, flow moves, commands).
    pub fn target_privilege(&self) -> crate::security::Privilege {
        use crate::security::Privilege;
        match self {
            Self::Create { .. } => Privilege::Create,
            Self::Delete { .. } => Privilege::Delete,
            Self::Assign { .. } => Privilege::Assign,
            Self::Follow { .. } | Self::Unfollow { .. } => Privilege::Read,
            _ => Privilege::Write,
        }
    }

    /// The wire name of the operation (its serde `kind`), e.g. `lead_qualify`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Update { .. } => "update",
            Self::Delete { .. } => "delete",
            Self::Assign { .. } => "assign",
            Self::Follow { .. } => "follow",
            Self::Unfollow { .. } => "unfollow",
            Self::FlowNext { .. } => "flow_next",
            Self::FlowPrevious { .. } => "flow_previous",
            Self::FlowSetActive { .. } => "flow_set_active",
            Self::LeadQualify { .. } => "lead_qualify",
            Self::LeadDisqualify { .. } => "lead_disqualify",
            Self::OpportunityCloseWon { .. } => "opportunity_close_won",
            Self::OpportunityCloseLost { .. } => "opportunity_close_lost",
            Self::CaseResolve { .. } => "case_resolve",
            Self::ActivityConvertToOpportunity { .. } => "activity_convert_to_opportunity",
            Self::ActivityMarkComplete { .. } => "activity_mark_complete",
        }
    }

    /// The record the operation is about, as `(entity, id)`.
    pub fn target(&self) -> (&str, &str) {
        match self {
            Self::Create { entity, id, .. }
            | Self::Update { entity, id, .. }
            | Self::Delete { entity, id, .. }
            | Self::Assign { entity, id, .. }
            | Self::Follow { entity, id }
            | Self::Unfollow { entity, id }
            | Self::FlowNext { entity, id, .. }
            | Self::FlowPrevious { entity, id, .. }
            | Self::FlowSetActive { entity, id, .. }
            | Self::ActivityConvertToOpportunity { entity, id, .. }
            | Self::ActivityMarkComplete { entity, id } => (entity, id),
            Self::LeadQualify { lead_id, .. } | Self::LeadDisqualify { lead_id, .. } => {
                ("lead", lead_id)
            }
            Self::OpportunityCloseWon { id, .. } | Self::OpportunityCloseLost { id, .. } => {
                ("opportunity", id)
            }
            Self::CaseResolve { id, .. } => ("incident", id),
        }
    }

    /// The records the operation creates, with their caller-chosen ids (for parking
    /// later operations on them behind it, B2).
    pub fn creates(&self) -> Vec<EntityRef> {
        match self {
            Self::Create { entity, id, .. } => vec![record::record(entity, id)],
            Self::LeadQualify {
                account_id,
                contact_id,
                opportunity_id,
                ..
            } => [
                with("account", account_id),
                with("contact", contact_id),
                with("opportunity", opportunity_id),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Self::OpportunityCloseWon { close_id, .. }
            | Self::OpportunityCloseLost { close_id, .. } => {
                vec![record::record("opportunityclose", close_id)]
            }
            Self::CaseResolve { resolution_id, .. } => {
                vec![record::record("incidentresolution", resolution_id)]
            }
            Self::ActivityConvertToOpportunity { opportunity_id, .. } => {
                vec![record::record("opportunity", opportunity_id)]
            }
            _ => Vec::new(),
        }
    }

    /// The records the operation is *about*: its target, then what it creates. A later
    /// operation about any of them depends on this one (B2 parks it behind a failure).
    pub fn about(&self) -> Vec<EntityRef> {
        let (entity, id) = self.target();
        std::iter::once(record::record(entity, id))
            .chain(self.creates())
            .collect()
    }

    /// Every id the operation carries, with the field that carries it: its target, the
    /// records it creates, a new owner, a flow and its stage, and (`lookup: true`) the
    /// records the lookups it sets point at.
    fn ids<'a>(&'a self, metadata: &'a Metadata) -> Vec<(&'a str, &'a str, bool)> {
        let target_field = match self {
            Self::LeadQualify { .. } | Self::LeadDisqualify { .. } => "lead_id",
            _ => "id",
        };
        let mut ids = vec![(target_field, self.target().1, false)];
        let mut push = |field: &'a str, id: &'a str| ids.push((field, id, false));
        match self {
            Self::Assign { owner, .. } => push("owner", &owner.id),
            Self::FlowNext { flow_id, .. } | Self::FlowPrevious { flow_id, .. } => {
                push("flow_id", flow_id);
            }
            Self::FlowSetActive {
                flow_id, stage_id, ..
            } => {
                push("flow_id", flow_id);
                push("stage_id", stage_id);
            }
            Self::LeadQualify {
                account_id,
                contact_id,
                opportunity_id,
                ..
            } => {
                for (field, id) in [
                    ("account_id", account_id),
                    ("contact_id", contact_id),
                    ("opportunity_id", opportunity_id),
                ] {
                    if let Some(id) = id {
                        push(field, id);
                    }
                }
            }
            Self::OpportunityCloseWon { close_id, .. }
            | Self::OpportunityCloseLost { close_id, .. } => push("close_id", close_id),
            Self::CaseResolve { resolution_id, .. } => push("resolution_id", resolution_id),
            Self::ActivityConvertToOpportunity { opportunity_id, .. } => {
                push("opportunity_id", opportunity_id);
            }
            _ => {}
        }
        let set = match self {
            Self::Create { entity, fields, .. } => Some((entity, fields)),
            Self::Update {
                entity, changes, ..
            } => Some((entity, changes)),
            _ => None,
        };
        if let Some((entity, fields)) = set
            && let Ok(def) = metadata.entity(entity)
        {
            for attr in &def.attributes {
                if !matches!(
                    attr.kind,
                    crate::AttributeKind::Lookup { .. } | crate::AttributeKind::Owner
                ) {
                    continue;
                }
                if let Some(Some(value)) = fields.get(&attr.name) {
                    let id = value.split_once(':').map_or(value.as_str(), |(_, id)| id);
                    ids.push((&attr.name, id, true));
                }
            }
        }
        ids
    }

    /// Checks every id the operation carries: record ids it targets or creates, a new
    /// owner, a flow and stage, and the targets of the lookups it sets are 1 to
    /// [`crate::value::MAX_ID_LEN`] characters without NUL (a lookup's emptiness is
    /// validation's concern). [`Operation::apply`] checks first, so the device and the server refuse
    /// the same operations.
    ///
    /// # Errors
    /// [`OpError::Invalid`] naming each id's field: `required`, `too_long` or
    /// `bad_format`.
    pub fn ids_check(&self, metadata: &Metadata) -> Result<(), OpError> {
        use crate::metadata::ValidationError;
        let errors: Vec<ValidationError> = self
            .ids(metadata)
            .into_iter()
            .filter_map(|(field, id, lookup)| {
                let field = field.to_owned();
                if id.is_empty() && !lookup {
                    Some(ValidationError::Required { field })
                } else if id.chars().count() > crate::value::MAX_ID_LEN {
                    Some(ValidationError::TooLong {
                        field,
                        max: crate::value::MAX_ID_LEN,
                    })
                } else if id.contains('\0') {
                    Some(ValidationError::BadFormat {
                        field,
                        expected: "an id without the NUL character".to_owned(),
                    })
                } else {
                    None
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(OpError::Invalid(errors))
        }
    }

    /// Applies the operation to `storage` as `ctx.user` at `ctx.now`. Privileges are the
    /// caller's to check first (see the module docs). On an error or a conflict nothing
    /// was written.
    ///
    /// # Errors
    /// [`Operation::ids_check`]'s first, then what the operation itself refuses.
    pub fn apply(
        &self,
        ctx: &ApplyContext,
        metadata: &Metadata,
        storage: &mut impl RecordStorage,
        check: ConflictCheck,
    ) -> Result<Applied, OpError> {
        self.ids_check(metadata)?;
        let run = record::Run::new(ctx, metadata, storage);
        match self {
            Self::Create { entity, id, fields } => crud::create(run, entity, id, fields),
            Self::Update {
                entity,
                id,
                changes,
                before,
            } => crud::update(run, (entity, id), changes, before, check),
            Self::Delete { entity, id, before } => crud::delete(run, (entity, id), before, check),
            Self::Assign { entity, id, owner } => crud::assign(run, (entity, id), owner),
            Self::Follow { entity, id } => crud::follow(run, (entity, id), true),
            Self::Unfollow { entity, id } => crud::follow(run, (entity, id), false),
            Self::FlowNext {
                entity,
                id,
                flow_id,
            } => flow::flow_move(run, (entity, id), flow_id, flow::Move::Next),
            Self::FlowPrevious {
                entity,
                id,
                flow_id,
            } => flow::flow_move(run, (entity, id), flow_id, flow::Move::Previous),
            Self::FlowSetActive {
                entity,
                id,
                flow_id,
                stage_id,
            } => flow::flow_move(run, (entity, id), flow_id, flow::Move::To(stage_id)),
            Self::LeadQualify {
                lead_id,
                account_id,
                contact_id,
                opportunity_id,
            } => lead::qualify(
                run,
                lead_id,
                &lead::Chosen {
                    account: account_id.as_deref(),
                    contact: contact_id.as_deref(),
                    opportunity: opportunity_id.as_deref(),
                },
            ),
            Self::LeadDisqualify { lead_id, status } => lead::disqualify(run, lead_id, *status),
            Self::OpportunityCloseWon {
                id,
                close_id,
                actual_revenue,
                description,
            } => close::close_opportunity(
                run,
                (id, close_id),
                close::Outcome::Won {
                    actual_revenue: actual_revenue.as_deref(),
                },
                description.as_deref(),
            ),
            Self::OpportunityCloseLost {
                id,
                close_id,
                status,
                competitor,
                description,
            } => close::close_opportunity(
                run,
                (id, close_id),
                close::Outcome::Lost {
                    status: *status,
                    competitor: competitor.as_deref(),
                },
                description.as_deref(),
            ),
            Self::CaseResolve {
                id,
                resolution_id,
                status,
                subject,
                time_spent_minutes,
            } => close::resolve_case(
                run,
                id,
                &close::Resolution {
                    id: resolution_id,
                    status: *status,
                    subject,
                    time_spent_minutes: *time_spent_minutes,
                },
            ),
            Self::ActivityConvertToOpportunity {
                entity,
                id,
                opportunity_id,
            } => activity::convert_to_opportunity(run, (entity, id), opportunity_id),
            Self::ActivityMarkComplete { entity, id } => activity::mark_complete(run, (entity, id)),
        }
    }
}

#[cfg(test)]
mod tests;
