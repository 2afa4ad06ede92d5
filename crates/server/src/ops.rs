//! Applying one operation for one user, with the security model enforced first (S2, S3,
//! B4) and then the domain's `apply` inside the caller's transaction. Push (offline work
//! replayed) and the records API (online work) both come through here, so a change is
//! judged the same way however it arrives.
//!
//! A record the user may not read answers as *not found*, never as *forbidden*: whether
//! it exists is itself something they may not learn.

use outpost_domain::metadata::{AttributeKind, EntityDef, Metadata};
use outpost_domain::operation::{Applied, ConflictCheck, Effects, FieldConflict};
use outpost_domain::security::{FieldAction, Principal, Privilege, RecordFacts};
use outpost_domain::value::EntityRef;
use outpost_domain::{ApplyContext, Fields, OpError, Operation};
use outpost_protocol::{FieldError, WireCode};

use crate::db::{Conn, entity_table, text};
use crate::org::Org;
use crate::records::{TxStorage, owner_business_unit, parse_ref};

/// Who acts: a user with their principal, in an org.
pub struct Actor<'a> {
    /// The org.
    pub org: &'a Org,
    /// The user's security.
    pub principal: &'a Principal,
}

/// Why an operation was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `not_found`, `already_exists`, `forbidden`, `invalid`, `invalid_state`,
    /// `unknown_flow`, `stale`.
    pub code: WireCode,
    /// What a person reads.
    pub message: String,
    /// Per-field reasons, for `invalid` and field-security `forbidden`.
    pub fields: Vec<FieldError>,
}

impl Refusal {
    fn new(code: WireCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn not_found(entity: &str, id: &str) -> Self {
        Self::new(
            WireCode::NotFound,
            format!("record not found: {entity} {id}"),
        )
    }
}

/// What applying an operation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied; the row version of its last write (a follow's too) and its effects.
    Applied {
        /// The last row version written.
        version: i64,
        /// What changed.
        effects: Effects,
    },
    /// Both sides changed these fields; nothing was written.
    Conflict(Vec<FieldConflict>),
    /// Refused; nothing was written.
    Refused(Refusal),
}

/// Checks the lookups among `fields`: each target must exist and be readable, and the
/// user needs AppendTo on it.
fn check_lookups(
    storage: &mut TxStorage<'_>,
    actor: &Actor<'_>,
    def: &EntityDef,
    fields: &Fields,
) -> anyhow::Result<Vec<FieldError>> {
    let mut errors = Vec::new();
    for (name, value) in fields {
        let Some(value) = value else { continue };
        let Some(attr) = def.attributes.iter().find(|a| a.name == *name) else {
            continue;
        };
        if !matches!(attr.kind, AttributeKind::Lookup { .. }) {
            continue;
        }
        let Some(target) = parse_ref(value) else {
            continue; // not a reference: validation reports it with its own code
        };
        let Ok(target_def) = actor.org.metadata.entity(&target.entity) else {
            continue; // validation reports lookup_target
        };
        let usable = match storage.current(target_def, &target.id)? {
            Some((target_fields, _)) => {
                let f = RecordFacts::from_fields(&target_fields);
                actor.principal.can(target_def, Privilege::Read, &f)
                    && actor.principal.can(target_def, Privilege::AppendTo, &f)
            }
            None => false,
        };
        if !usable {
            errors.push(FieldError {
                field: name.clone(),
                code: "lookup_target".to_owned(),
                message: format!("{value} does not exist or you may not link to it"),
            });
        }
    }
    Ok(errors)
}

fn denied_fields(fields: Vec<String>, action: &str) -> Refusal {
    Refusal {
        code: WireCode::Forbidden,
        message: format!(
            "field security forbids you to {action}: {}",
            fields.join(", ")
        ),
        fields: fields
            .into_iter()
            .map(|field| FieldError::forbidden(field, format!("you may not {action} this field")))
            .collect(),
    }
}

/// The security checks of S2/S3/B4 before anything is applied: `Some` refusal, or `None`
/// when the user may go on. `if_match` is the row version a caller insists on.
fn check(
    storage: &mut TxStorage<'_>,
    actor: &Actor<'_>,
    op: &Operation,
    if_match: Option<i64>,
) -> anyhow::Result<Option<Refusal>> {
    let principal = actor.principal;
    let (entity, id) = op.target();
    let Ok(def) = actor.org.metadata.entity(entity) else {
        return Ok(Some(Refusal::new(
            WireCode::Invalid,
            format!("unknown entity `{entity}`"),
        )));
    };
    let me = format!("systemuser:{}", principal.user_id());
    if let Operation::Create { fields, .. } = op {
        let owner = fields
            .get("ownerid")
            .cloned()
            .flatten()
            .unwrap_or_else(|| me.clone());
        let Some(owner_bu) = owner_business_unit(&actor.org.security, &owner) else {
            return Ok(Some(Refusal {
                code: WireCode::Invalid,
                message: format!("owner {owner} does not exist"),
                fields: vec![FieldError {
                    field: "ownerid".to_owned(),
                    code: "lookup_target".to_owned(),
                    message: format!("{owner} does not exist"),
                }],
            }));
        };
        let owner_ref = parse_ref(&owner).unwrap_or_else(|| EntityRef {
            entity: String::new(),
            id: String::new(),
        });
        if !principal.can_create(def, &owner_ref, &owner_bu) {
            return Ok(Some(Refusal::new(
                WireCode::Forbidden,
                format!("you may not create {entity} records for this owner"),
            )));
        }
        let denied = principal.fields_denied(def, fields, FieldAction::Create);
        if !denied.is_empty() {
            return Ok(Some(denied_fields(denied, "set")));
        }
        let bad = check_lookups(storage, actor, def, fields)?;
        if !bad.is_empty() {
            return Ok(Some(invalid(bad)));
        }
    } else if let Operation::Unfollow { .. } = op {
        // Unfollowing only ever ends the user's own follow, so it needs no access to the
        // record and answers alike whether it exists, is readable or is gone.
        return Ok(None);
    } else {
        let Some((current, version)) = storage.current(def, id)? else {
            // The domain says not found in its own words (and knows follow semantics).
            return Ok(None);
        };
        let record = RecordFacts::from_fields(&current);
        if !principal.can(def, Privilege::Read, &record) {
            return Ok(Some(Refusal::not_found(entity, id)));
        }
        let needed = op.target_privilege();
        if !principal.can(def, needed, &record) {
            return Ok(Some(Refusal::new(
                WireCode::Forbidden,
                format!("you lack the {needed:?} privilege on this {entity}"),
            )));
        }
        if let Some(expected) = if_match
            && expected != version
        {
            return Ok(Some(Refusal::new(
                WireCode::Stale,
                format!("the record changed: it is at version {version}, not {expected}"),
            )));
        }
        match op {
            // A before-image is compared with the server's values, which a conflict
            // reports: it may name only fields the user may read.
            Operation::Delete { before, .. } => {
                let unreadable = principal.fields_denied(def, before, FieldAction::Read);
                if !unreadable.is_empty() {
                    return Ok(Some(denied_fields(unreadable, "read")));
                }
            }
            Operation::Update {
                changes, before, ..
            } => {
                let touched: Fields = changes
                    .iter()
                    .chain(before)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let unreadable = principal.fields_denied(def, &touched, FieldAction::Read);
                if !unreadable.is_empty() {
                    return Ok(Some(denied_fields(unreadable, "read")));
                }
                let denied = principal.fields_denied(def, changes, FieldAction::Update);
                if !denied.is_empty() {
                    return Ok(Some(denied_fields(denied, "change")));
                }
                let bad = check_lookups(storage, actor, def, changes)?;
                if !bad.is_empty() {
                    return Ok(Some(invalid(bad)));
                }
            }
            Operation::Assign { owner, .. }
                if owner_business_unit(&actor.org.security, &owner.to_string()).is_none() =>
            {
                return Ok(Some(Refusal::new(
                    WireCode::Invalid,
                    format!("owner {owner} does not exist"),
                )));
            }
            // Commands whose new records copy the target's links (qualify: the lead's
            // existing account and contact; convert: the activity's regarding record):
            // every link must be one the user may read and link to.
            Operation::LeadQualify { .. } | Operation::ActivityConvertToOpportunity { .. } => {
                let copied = ["parentaccountid", "parentcontactid", "regardingobjectid"];
                let links: Fields = current
                    .iter()
                    .filter(|(name, _)| copied.contains(&name.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let bad = check_lookups(storage, actor, def, &links)?;
                if !bad.is_empty() {
                    return Ok(Some(invalid(bad)));
                }
            }
            _ => {}
        }
    }
    for created in op.creates() {
        if matches!(op, Operation::Create { .. }) {
            break;
        }
        let Ok(created_def) = actor.org.metadata.entity(&created.entity) else {
            continue;
        };
        let me_ref = EntityRef {
            entity: "systemuser".to_owned(),
            id: principal.user_id().to_owned(),
        };
        if !principal.can_create(created_def, &me_ref, principal.business_unit()) {
            return Ok(Some(Refusal::new(
                WireCode::Forbidden,
                format!(
                    "you may not create the {} this command makes",
                    created.entity
                ),
            )));
        }
    }
    Ok(None)
}

fn invalid(fields: Vec<FieldError>) -> Refusal {
    Refusal {
        code: WireCode::Invalid,
        message: fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        fields,
    }
}

fn refusal(e: OpError) -> anyhow::Result<Refusal> {
    Ok(match e {
        OpError::Storage(failure) => return Err(anyhow::Error::new(failure)),
        OpError::Invalid(errors) => Refusal {
            code: WireCode::Invalid,
            message: OpError::Invalid(errors.clone()).to_string(),
            fields: errors
                .iter()
                .map(|e| FieldError {
                    field: e.field().unwrap_or_default().to_owned(),
                    code: e.code().to_owned(),
                    message: e.to_string(),
                })
                .collect(),
        },
        other => Refusal::new(WireCode::from(&other), other.to_string()),
    })
}

/// Whether any record of any entity, live or a tombstone, has `id`.
fn id_taken(conn: &mut dyn Conn, metadata: &Metadata, id: &str) -> anyhow::Result<bool> {
    let each: Vec<String> = metadata
        .entities
        .iter()
        .map(|def| format!("SELECT 1 FROM {} WHERE id = $1", entity_table(&def.name)))
        .collect();
    let sql = format!("SELECT 1 FROM ({}) t LIMIT 1", each.join(" UNION ALL "));
    Ok(conn.query_opt(&sql, &[text(id)])?.is_some())
}

/// Applies `op` as the actor at `now`, after the security checks.
///
/// # Errors
/// A database failure (the caller's transaction then rolls back).
pub fn apply(
    conn: &mut dyn Conn,
    actor: &Actor<'_>,
    op: &Operation,
    conflicts: ConflictCheck,
    if_match: Option<i64>,
    now: time::OffsetDateTime,
) -> anyhow::Result<Outcome> {
    let metadata = &actor.org.metadata;
    // Before any security check looks a record up by an id of any length.
    if let Err(e) = op.ids_check(metadata) {
        return Ok(Outcome::Refused(refusal(e)?));
    }
    let mut storage = TxStorage::new(conn, metadata, &actor.org.security);
    if let Some(refused) = check(&mut storage, actor, op, if_match)? {
        return Ok(Outcome::Refused(refused));
    }
    // Ids are the client's choice and unique across the org: a taken one answers the
    // same whatever holds it (readable or not, deleted or not, of any entity).
    for created in op.creates() {
        if id_taken(storage.conn, metadata, &created.id)? {
            return Ok(Outcome::Refused(refusal(OpError::AlreadyExists {
                entity: created.entity,
                id: created.id,
            })?));
        }
    }
    let ctx = ApplyContext {
        user: EntityRef {
            entity: "systemuser".to_owned(),
            id: actor.principal.user_id().to_owned(),
        },
        business_unit_id: actor.principal.business_unit().to_owned(),
        now,
    };
    Ok(match op.apply(&ctx, metadata, &mut storage, conflicts) {
        Ok(Applied::Done(effects)) => Outcome::Applied {
            version: storage.last_version,
            effects,
        },
        Ok(Applied::Conflict(fields)) => Outcome::Conflict(fields),
        Err(e) => Outcome::Refused(refusal(e)?),
    })
}

/// [`apply`] with conflict detection off (the online API, a resolution that keeps the
/// device's change): applied, or refused.
///
/// # Errors
/// A database failure, or a conflict reported with detection off (a bug).
pub fn apply_unchecked(
    conn: &mut dyn Conn,
    actor: &Actor<'_>,
    op: &Operation,
    if_match: Option<i64>,
    now: time::OffsetDateTime,
) -> anyhow::Result<Result<(), Refusal>> {
    match apply(conn, actor, op, ConflictCheck::Off, if_match, now)? {
        Outcome::Applied { .. } => Ok(Ok(())),
        Outcome::Conflict(_) => {
            anyhow::bail!("a conflict was reported with conflict detection off")
        }
        Outcome::Refused(r) => Ok(Err(r)),
    }
}
