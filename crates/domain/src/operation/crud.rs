//! Create, update, delete, assign, follow and unfollow.

use super::outcome::{Applied, ConflictCheck, OpError, conflicts, delete_conflicts};
use super::record::{Run, derive, field, record, require_open, require_status_of_state, set};
use super::storage::RecordStorage;
use crate::value::{EntityRef, Fields};

/// A new record with the caller's id.
pub(super) fn create<S: RecordStorage>(
    mut run: Run<'_, S>,
    entity: &str,
    id: &str,
    given: &Fields,
) -> Result<Applied, OpError> {
    let def = run.def(entity)?;
    let fields = run.new_record(def, given)?;
    run.ensure_absent(entity, id)?;
    run.insert(entity, id, &fields)?;
    Ok(run.done())
}

/// Field-level merge of `changes` into the record (B1). Validation comes first, then the
/// record's existence, its state, and the conflict check.
pub(super) fn update<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    changes: &Fields,
    before: &Fields,
    check: ConflictCheck,
) -> Result<Applied, OpError> {
    let def = run.def(entity)?;
    let changes = def.canonical_update(changes).map_err(OpError::Invalid)?;
    let mut fields = run.load(entity, id)?;
    require_open(def, id, &fields, "updated")?;
    if let Some(status) = field(&changes, "statuscode").and_then(|s| s.parse().ok()) {
        require_status_of_state(def, id, &fields, status)?;
    }
    if check == ConflictCheck::Detect {
        let conflicts = conflicts(&fields, before, &changes);
        if !conflicts.is_empty() {
            return Ok(Applied::Conflict(conflicts));
        }
    }
    fields.extend(changes);
    derive(def, &mut fields);
    run.write(def, id, fields)?;
    Ok(run.done())
}

/// Deletes the record unless, with detection on, a field of the before-image changed.
pub(super) fn delete<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    before: &Fields,
    check: ConflictCheck,
) -> Result<Applied, OpError> {
    run.def(entity)?;
    let fields = run.load(entity, id)?;
    if check == ConflictCheck::Detect {
        let conflicts = delete_conflicts(&fields, before);
        if !conflicts.is_empty() {
            return Ok(Applied::Conflict(conflicts));
        }
    }
    run.storage.delete(entity, id)?;
    run.effects.removed.push(record(entity, id));
    Ok(run.done())
}

/// Gives the record to another user or team, and its business unit with it.
pub(super) fn assign<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    owner: &EntityRef,
) -> Result<Applied, OpError> {
    let def = run.def(entity)?;
    let owner_text = def
        .attribute("ownerid")
        .and_then(|a| a.check(Some(&owner.to_string())))
        .map_err(|e| OpError::Invalid(vec![e]))?;
    let mut fields = run.load(entity, id)?;
    if let Some(owner_text) = owner_text {
        set(&mut fields, "ownerid", owner_text);
    }
    if def.attribute("owningbusinessunit").is_ok() {
        let unit = run.business_unit_of(owner)?;
        set(&mut fields, "owningbusinessunit", unit);
    }
    run.write(def, id, fields)?;
    Ok(run.done())
}

/// Follows (`following`) or unfollows the record for the acting user. Following needs
/// the record to exist; unfollowing does not, so a device can drop a follow of a record
/// deleted meanwhile.
pub(super) fn follow<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    following: bool,
) -> Result<Applied, OpError> {
    run.def(entity)?;
    if following {
        run.load(entity, id)?;
    }
    let user = run.ctx.user.clone();
    run.storage.follow_set(&user, entity, id, following)?;
    let list = if following {
        &mut run.effects.followed
    } else {
        &mut run.effects.unfollowed
    };
    list.push(record(entity, id));
    Ok(run.done())
}
