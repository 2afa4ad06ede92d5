//! Applying one operation for one user, with the security model enforced first (S2, S3,
//! B4) and then the domain's `apply` inside the caller's transaction. Push (offline work
//! replayed) and the records API (online work) both come through here, so a change is
//! judged the same way however it arrives.
//!
//! A record the user may not read answers as *not found*, never as *forbidden*: whether
//! it exists is itself something they may not learn.

use outpost_domain::metadata::{EntityDef, Metadata};
use outpost_domain::operation::{Applied, ConflictCheck, Effects, FieldConflict, StorageFailure};
use outpost_domain::security::{
    FieldReason, Known, Principal, RefusalKind, Refused, SecurityFacts, authorize,
};
use outpost_domain::value::EntityRef;
use outpost_domain::{ApplyContext, Fields, OpError, Operation};
use outpost_protocol::{FieldError, WireCode};

use crate::db::{Conn, entity_table, text};
use crate::org::Org;
use crate::records::{TxStorage, owner_business_unit};

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

/// The server's facts for the domain's check: its tables, which know every record and
/// owner.
struct ServerFacts<'s, 'a> {
    storage: &'s mut TxStorage<'a>,
    security: &'s outpost_domain::security::OrgSecurity,
}

impl SecurityFacts for ServerFacts<'_, '_> {
    fn record(&mut self, def: &EntityDef, id: &str) -> Result<Known<Fields>, StorageFailure> {
        match self.storage.current(def, id) {
            Ok(Some((fields, _))) => Ok(Known::Is(fields)),
            Ok(None) => Ok(Known::Missing),
            Err(e) => Err(StorageFailure(format!("{e:#}"))),
        }
    }

    fn owner_unit(&mut self, owner: &EntityRef) -> Result<Known<String>, StorageFailure> {
        Ok(
            owner_business_unit(self.security, &owner.to_string())
                .map_or(Known::Missing, Known::Is),
        )
    }
}

/// The security checks of S2/S3/B4 before anything is applied — the domain's
/// [`authorize`], which the device runs too — then the row version a caller insists on
/// (`if_match`): `Some` refusal, or `None` when the user may go on.
fn check(
    storage: &mut TxStorage<'_>,
    actor: &Actor<'_>,
    op: &Operation,
    if_match: Option<i64>,
) -> anyhow::Result<Option<Refusal>> {
    let metadata = &actor.org.metadata;
    let mut facts = ServerFacts {
        storage,
        security: &actor.org.security,
    };
    let refused =
        authorize(actor.principal, metadata, op, &mut facts).map_err(|e| anyhow::anyhow!(e.0))?;
    if let Some(refused) = refused {
        return Ok(Some(Refusal::from(refused)));
    }
    if let Some(expected) = if_match
        && let (entity, id) = op.target()
        && let Ok(def) = metadata.entity(entity)
        && let Some((_, version)) = facts.storage.current(def, id)?
        && expected != version
    {
        return Ok(Some(Refusal::new(
            WireCode::Stale,
            format!("the record changed: it is at version {version}, not {expected}"),
        )));
    }
    Ok(None)
}

impl From<Refused> for Refusal {
    fn from(r: Refused) -> Self {
        Self {
            code: match r.kind {
                RefusalKind::NotFound => WireCode::NotFound,
                RefusalKind::Forbidden => WireCode::Forbidden,
                RefusalKind::Invalid => WireCode::Invalid,
            },
            message: r.message,
            fields: r
                .fields
                .into_iter()
                .map(|f| match f.reason {
                    FieldReason::Secured => FieldError::forbidden(f.field, f.message),
                    FieldReason::LookupTarget => FieldError {
                        field: f.field,
                        code: "lookup_target".to_owned(),
                        message: f.message,
                    },
                })
                .collect(),
        }
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
