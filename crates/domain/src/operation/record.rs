//! What every operation does to records: load them, build new ones with their system
//! fields, stamp changes, move between states, and collect the effects.
//!
//! State rules shared by all operations: a record with a `statecode` is *open* in state 0
//! (an appointment also in state 3, Scheduled) and read-only in any other state (closed,
//! qualified, disqualified, won, lost, resolved, completed, canceled, inactive). A
//! status reason belongs to one state; a record's status is always one of its state's.

use super::ApplyContext;
use super::outcome::{Applied, Effects, OpError};
use super::storage::RecordStorage;
use crate::metadata::{AttributeKind, EntityDef, Metadata, StatusOption, ValidationError};
use time::UtcOffset;

use crate::value::{EntityRef, Fields, format_date, format_datetime, parse_ref};

/// Fields that operations set and a create may not give: the system fields, the state,
/// the active flow stage and derived names. The owner may be given; it defaults to the
/// user.
const MANAGED: [&str; 8] = [
    "owningbusinessunit",
    "createdon",
    "createdby",
    "modifiedon",
    "modifiedby",
    "statecode",
    "activestageid",
    "fullname",
];

/// The appointment state that counts as open beside state 0.
const APPOINTMENT_SCHEDULED: i32 = 3;

/// One operation's access to the context, the metadata and the storage, and the effects
/// it has had so far.
pub(super) struct Run<'a, S> {
    pub(super) ctx: &'a ApplyContext,
    pub(super) md: &'a Metadata,
    pub(super) storage: &'a mut S,
    pub(super) effects: Effects,
}

/// `entity:id`, the canonical text of a reference.
pub(super) fn reference(entity: &str, id: &str) -> String {
    format!("{entity}:{id}")
}

/// An [`EntityRef`] from its parts.
pub(super) fn record(entity: &str, id: &str) -> EntityRef {
    EntityRef {
        entity: entity.to_owned(),
        id: id.to_owned(),
    }
}

/// The field's value, `None` when null or absent.
pub(super) fn field<'f>(fields: &'f Fields, name: &str) -> Option<&'f str> {
    fields.get(name).and_then(Option::as_deref)
}

/// Sets a field to a value.
pub(super) fn set(fields: &mut Fields, name: &str, value: impl Into<String>) {
    fields.insert(name.to_owned(), Some(value.into()));
}

/// Whether the value is null or blank.
pub(super) fn blank(fields: &Fields, name: &str) -> bool {
    field(fields, name).is_none_or(|v| v.trim().is_empty())
}

/// A reference field's target.
pub(super) fn ref_of(fields: &Fields, name: &str) -> Option<EntityRef> {
    field(fields, name).and_then(|v| parse_ref(v, &[]).ok())
}

/// `text` cut to the length a text attribute allows.
pub(super) fn fit(def: &EntityDef, name: &str, text: &str) -> String {
    match def.attribute(name).map(|a| &a.kind) {
        Ok(AttributeKind::Text { max_len } | AttributeKind::Memo { max_len }) => {
            text.chars().take(*max_len as usize).collect()
        }
        _ => text.to_owned(),
    }
}

fn statuses(def: &EntityDef) -> &[StatusOption] {
    match def.attribute("statuscode").map(|a| &a.kind) {
        Ok(AttributeKind::Status { options }) => options,
        _ => &[],
    }
}

/// The default status reason of `state`.
pub(super) fn default_status(def: &EntityDef, state: i32) -> Option<i32> {
    statuses(def)
        .iter()
        .find(|s| s.state == state && s.default)
        .map(|s| s.value)
}

/// The state a status reason belongs to.
fn state_of_status(def: &EntityDef, status: i32) -> Option<i32> {
    statuses(def)
        .iter()
        .find(|s| s.value == status)
        .map(|s| s.state)
}

/// The record's state; `None` when the entity has none.
pub(super) fn state(def: &EntityDef, fields: &Fields) -> Option<i32> {
    def.attribute("statecode").ok()?;
    Some(
        field(fields, "statecode")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    )
}

fn state_label(def: &EntityDef, state: i32) -> String {
    def.attribute("statecode")
        .ok()
        .filter(|a| matches!(a.kind, AttributeKind::State { .. }))
        .and_then(|a| a.kind.option_label(state))
        .map_or_else(|| state.to_string(), str::to_owned)
}

/// Whether the record is open (see the module docs of `operation`): only open records
/// take updates, flow moves and commands; always for an entity without state.
pub fn is_open(def: &EntityDef, fields: &Fields) -> bool {
    match state(def, fields) {
        None | Some(0) => true,
        Some(s) => def.name == "appointment" && s == APPOINTMENT_SCHEDULED,
    }
}

/// [`OpError::InvalidState`] for the record.
pub(super) fn invalid_state(entity: &str, id: &str, reason: impl Into<String>) -> OpError {
    OpError::InvalidState {
        entity: entity.to_owned(),
        id: id.to_owned(),
        reason: reason.into(),
    }
}

/// Refuses a record that is not open, saying what `action` it refuses.
pub(super) fn require_open(
    def: &EntityDef,
    id: &str,
    fields: &Fields,
    action: &str,
) -> Result<(), OpError> {
    if is_open(def, fields) {
        return Ok(());
    }
    let label = state_label(def, state(def, fields).unwrap_or(0));
    Err(invalid_state(
        &def.name,
        id,
        format!("it is {label}, so it cannot be {action}"),
    ))
}

/// Refuses a status reason that does not belong to `state`, as a validation error.
pub(super) fn require_status_in(def: &EntityDef, status: i32, state: i32) -> Result<(), OpError> {
    if state_of_status(def, status) == Some(state) {
        return Ok(());
    }
    Err(OpError::Invalid(vec![ValidationError::BadChoice {
        field: "statuscode".to_owned(),
        value: status,
    }]))
}

/// Refuses a status reason change outside the record's current state.
pub(super) fn require_status_of_state(
    def: &EntityDef,
    id: &str,
    fields: &Fields,
    status: i32,
) -> Result<(), OpError> {
    let current = state(def, fields).unwrap_or(0);
    match state_of_status(def, status) {
        Some(s) if s == current => Ok(()),
        _ => Err(invalid_state(
            &def.name,
            id,
            format!(
                "status reason {status} does not belong to its state, {}",
                state_label(def, current)
            ),
        )),
    }
}

/// Moves the record to `state` with `status` (its default when `None`).
pub(super) fn set_state(def: &EntityDef, fields: &mut Fields, state: i32, status: Option<i32>) {
    set(fields, "statecode", state.to_string());
    if let Some(status) = status.or_else(|| default_status(def, state)) {
        set(fields, "statuscode", status.to_string());
    }
}

/// Recomputes fields derived from others: `fullname` from first and last name.
pub(super) fn derive(def: &EntityDef, fields: &mut Fields) {
    let has = |name| def.attribute(name).is_ok();
    if !(has("fullname") && has("firstname") && has("lastname")) {
        return;
    }
    let parts: Vec<&str> = ["firstname", "lastname"]
        .iter()
        .filter_map(|n| field(fields, n))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let full = (!parts.is_empty()).then(|| fit(def, "fullname", &parts.join(" ")));
    fields.insert("fullname".to_owned(), full);
}

impl<'a, S: RecordStorage> Run<'a, S> {
    /// A run with no effects yet.
    pub(super) fn new(ctx: &'a ApplyContext, md: &'a Metadata, storage: &'a mut S) -> Self {
        Self {
            ctx,
            md,
            storage,
            effects: Effects::default(),
        }
    }

    /// The entity, or [`OpError::Invalid`] naming it.
    pub(super) fn def(&self, entity: &str) -> Result<&'a EntityDef, OpError> {
        self.md
            .entity(entity)
            .map_err(|e| OpError::Invalid(vec![e]))
    }

    /// The record's fields, or [`OpError::NotFound`].
    pub(super) fn load(&mut self, entity: &str, id: &str) -> Result<Fields, OpError> {
        match self.storage.get(entity, id)? {
            Some(record) => Ok(record.fields),
            None => Err(OpError::NotFound {
                entity: entity.to_owned(),
                id: id.to_owned(),
            }),
        }
    }

    /// The record's fields, or `None` when it does not exist.
    pub(super) fn find(&mut self, entity: &str, id: &str) -> Result<Option<Fields>, OpError> {
        Ok(self.storage.get(entity, id)?.map(|r| r.fields))
    }

    /// Refuses an id that is already in use.
    pub(super) fn ensure_absent(&mut self, entity: &str, id: &str) -> Result<(), OpError> {
        if self.storage.get(entity, id)?.is_some() {
            return Err(OpError::AlreadyExists {
                entity: entity.to_owned(),
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// The business unit an owner's records belong to: the user's own for the user, the
    /// owner's `businessunitid` when the storage holds the owner, else the user's (a
    /// device that does not hold the owner guesses; the server, which holds every user
    /// and team, decides, and the device takes its value at the next pull).
    pub(super) fn business_unit_of(&mut self, owner: &EntityRef) -> Result<String, OpError> {
        let own = || reference("businessunit", &self.ctx.business_unit_id);
        if *owner == self.ctx.user {
            return Ok(own());
        }
        let unit = self
            .find(&owner.entity, &owner.id)?
            .and_then(|f| field(&f, "businessunitid").map(str::to_owned));
        Ok(unit.unwrap_or_else(own))
    }

    /// A new record of `def` from the fields a person gave: validated for a create,
    /// owned by the user unless `given` names an owner, stamped as created now by the
    /// user, in state 0 with its default status (or the given one of state 0), at the
    /// first stage of the entity's first flow. Not yet written, so an operation that
    /// creates several records can check them all first.
    pub(super) fn new_record(
        &mut self,
        def: &EntityDef,
        given: &Fields,
    ) -> Result<Fields, OpError> {
        let managed: Vec<ValidationError> = given
            .keys()
            .filter(|k| MANAGED.contains(&k.as_str()) && def.attribute(k).is_ok())
            .map(|k| ValidationError::ReadOnly { field: k.clone() })
            .collect();
        if !managed.is_empty() {
            return Err(OpError::Invalid(managed));
        }
        let mut given = given.clone();
        let has = |name| def.attribute(name).is_ok();
        if has("ownerid") && blank(&given, "ownerid") {
            set(&mut given, "ownerid", self.ctx.user.to_string());
        }
        let mut fields = def.canonical_create(&given).map_err(OpError::Invalid)?;
        if has("statecode") {
            let status = field(&fields, "statuscode").and_then(|s| s.parse().ok());
            if let Some(status) = status {
                require_status_in(def, status, 0)?;
            }
            set_state(def, &mut fields, 0, status);
        }
        if let Some(owner) = ref_of(&fields, "ownerid")
            && has("owningbusinessunit")
        {
            let unit = self.business_unit_of(&owner)?;
            set(&mut fields, "owningbusinessunit", unit);
        }
        let now = format_datetime(self.ctx.now);
        let user = self.ctx.user.to_string();
        for (name, value) in [
            ("createdon", &now),
            ("modifiedon", &now),
            ("createdby", &user),
            ("modifiedby", &user),
        ] {
            if has(name) {
                set(&mut fields, name, value.clone());
            }
        }
        if has("activestageid")
            && let Some(stage) = self
                .md
                .flows_for(&def.name)
                .next()
                .and_then(|f| f.stages.first())
        {
            set(&mut fields, "activestageid", stage.id.clone());
        }
        derive(def, &mut fields);
        Ok(fields)
    }

    /// Writes a record [`Run::new_record`] built.
    pub(super) fn insert(
        &mut self,
        entity: &str,
        id: &str,
        fields: &Fields,
    ) -> Result<(), OpError> {
        self.storage.insert(entity, id, fields)?;
        self.effects.created.push(record(entity, id));
        Ok(())
    }

    /// Writes an existing record, stamped as modified now by the user.
    pub(super) fn write(
        &mut self,
        def: &EntityDef,
        id: &str,
        mut fields: Fields,
    ) -> Result<(), OpError> {
        if def.attribute("modifiedon").is_ok() {
            set(&mut fields, "modifiedon", format_datetime(self.ctx.now));
        }
        if def.attribute("modifiedby").is_ok() {
            set(&mut fields, "modifiedby", self.ctx.user.to_string());
        }
        self.storage.put(&def.name, id, &fields)?;
        self.effects.changed.push(record(&def.name, id));
        Ok(())
    }

    /// Today's date, in the context's (UTC) time.
    pub(super) fn today(&self) -> String {
        format_date(self.ctx.now.to_offset(UtcOffset::UTC).date())
    }

    /// Now, canonical.
    pub(super) fn now(&self) -> String {
        format_datetime(self.ctx.now)
    }

    /// The operation succeeded with the effects collected.
    pub(super) fn done(self) -> Applied {
        Applied::Done(self.effects)
    }
}
