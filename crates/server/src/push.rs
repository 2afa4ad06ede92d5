//! Push (S12, S14, B1): a device's operations applied in order, each once, a batch in one
//! durable transaction with a savepoint per operation (ADR 0016); and sync errors — every conflict or refusal kept as a record its
//! owner (or an administrator) resolves later.

use outpost_domain::operation::ConflictCheck;
use outpost_domain::security::Principal;
use outpost_domain::{FieldConflict, Operation};
use outpost_protocol::{OpResult, PushOp, Resolution, ResolutionAction, SyncErrorInfo, WireCode};

use crate::auth::Caller;
use crate::db::{Conn, Row, int, int_param, opt_string, string, text};
use crate::ops::{self, Actor, Outcome};
use crate::org::Org;
use crate::{ApiError, new_id};

/// The outcome stored for a user's op id, if that op was pushed before — from any of the
/// user's devices: op ids are made unique on the device (UUID v7), and a user's unsent
/// work may move from one of their stores to another (a store whose key came back, ADR
/// 0011), so a resend through another device must still be answered, not applied again.
///
/// # Errors
/// A database error.
pub fn stored_outcome(
    conn: &mut dyn Conn,
    user_id: &str,
    op_id: &str,
) -> anyhow::Result<Option<OpResult>> {
    conn.query_opt(
        "SELECT outcome FROM applied_op WHERE user_id = $1 AND op_id = $2",
        &[text(user_id), text(op_id)],
    )?
    .map(|row| Ok(serde_json::from_str(&string(&row[0])?)?))
    .transpose()
}

/// Applies a device's batch in order inside the caller's transaction, each operation in
/// a savepoint of its own. Answers the outcomes of the operations done
/// and, when one failed on the database, that failure: the operations before it stay
/// (the caller commits them; sent again, they are answered from their stored outcomes),
/// nothing of it or after it is stored.
pub fn push_batch(
    conn: &mut dyn Conn,
    org: &Org,
    principal: &Principal,
    caller: &Caller,
    ops: Vec<PushOp>,
    now: time::OffsetDateTime,
) -> (Vec<outpost_protocol::OpOutcome>, Option<anyhow::Error>) {
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        match in_savepoint(conn, "push_op", |conn| {
            push_one(conn, org, principal, caller, &op, now)
        }) {
            Ok(result) => outcomes.push(outpost_protocol::OpOutcome {
                op_id: op.op_id,
                result,
            }),
            Err(e) => return (outcomes, Some(e)),
        }
    }
    if !outcomes.is_empty()
        && let Err(e) = conn.execute(
            "UPDATE device SET last_push_on = $1 WHERE device_id = $2",
            &[
                text(outpost_domain::value::format_datetime(now)),
                text(caller.device_key()),
            ],
        )
    {
        return (Vec::new(), Some(e));
    }
    (outcomes, None)
}

/// Runs `f` in a savepoint: released when it returns `Ok`, rolled back when it fails, so a
/// failed step leaves the transaction as it was before it (and usable, on PostgreSQL).
fn in_savepoint<T>(
    conn: &mut dyn Conn,
    name: &str,
    f: impl FnOnce(&mut dyn Conn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.batch(&format!("SAVEPOINT {name}"))?;
    match f(conn) {
        Ok(value) => {
            conn.batch(&format!("RELEASE SAVEPOINT {name}"))?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.batch(&format!("ROLLBACK TO SAVEPOINT {name}"));
            let _ = conn.batch(&format!("RELEASE SAVEPOINT {name}"));
            Err(e)
        }
    }
}

/// Applies one pushed operation exactly once per (user, op id) — [`push_batch`] runs it in
/// a savepoint: a resent op gets the outcome stored the first time and changes nothing. A
/// conflict or an error writes nothing of the operation (its writes are rolled back) and
/// becomes a sync error owned by the caller.
///
/// # Errors
/// A database failure (the caller rolls the op back).
fn push_one(
    conn: &mut dyn Conn,
    org: &Org,
    principal: &Principal,
    caller: &Caller,
    op: &PushOp,
    now: time::OffsetDateTime,
) -> anyhow::Result<OpResult> {
    let device = caller.device_key();
    let double = outpost_domain::mutant::active(outpost_domain::mutant::Mutant::DoubleApply);
    if let Some(outcome) = stored_outcome(conn, &caller.user_id, &op.op_id)? {
        if !double {
            if matches!(outcome, OpResult::Applied { .. }) {
                held_from_push(conn, &device, &op.op)?;
            }
            return Ok(outcome);
        }
        // A re-introduced bug (the simulation's mutants): a resent op is applied again.
        conn.execute(
            "DELETE FROM applied_op WHERE user_id = $1 AND op_id = $2",
            &[text(&caller.user_id), text(&op.op_id)],
        )?;
    }
    let check = if org.settings.conflict_detection {
        ConflictCheck::Detect
    } else {
        ConflictCheck::Off
    };
    let actor = Actor { org, principal };
    conn.batch("SAVEPOINT push_apply")?;
    let outcome = ops::apply(conn, &actor, &op.op, check, None, now)?;
    if !matches!(outcome, Outcome::Applied { .. }) {
        // Refused or in conflict: nothing of it stays, whatever it wrote on the way.
        conn.batch("ROLLBACK TO SAVEPOINT push_apply")?;
    }
    conn.batch("RELEASE SAVEPOINT push_apply")?;
    let result = match outcome {
        Outcome::Applied { version, .. } => OpResult::Applied {
            row_version: u64::try_from(version)?,
        },
        Outcome::Conflict(fields) => OpResult::Conflict { fields },
        Outcome::Refused(r) => OpResult::Error {
            code: r.code.into(),
            message: r.message,
            fields: r.fields,
        },
    };
    match &result {
        OpResult::Applied { .. } => held_from_push(conn, &device, &op.op)?,
        OpResult::Conflict { fields } => {
            let message = format!(
                "changed on the server too: {}",
                fields
                    .iter()
                    .map(|f| f.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            error_insert(conn, caller, op, "conflict", &message, fields, now)?;
        }
        OpResult::Error { code, message, .. } => {
            error_insert(conn, caller, op, code, message, &[], now)?;
        }
    }
    conn.execute(
        "INSERT INTO applied_op (device_id, op_id, user_id, outcome) VALUES ($1, $2, $3, $4)",
        &[
            text(&device),
            text(&op.op_id),
            text(&caller.user_id),
            text(serde_json::to_string(&result)?),
        ],
    )?;
    Ok(result)
}

/// Records that `device` holds what `op` created: the device wrote those records itself
/// before it pushed, so the pull must treat them as held — refreshed when they stay in
/// scope, removed when they left it before the device pulled them back (else the device
/// keeps its own copy forever). The version is unknown (`-1`), so the next pull that
/// looks at such a record sends it whole; a record the device already holds keeps its
/// row. A record of an entity outside the device's profile (a case resolution a command
/// made) is removed by that next pull.
fn held_from_push(conn: &mut dyn Conn, device: &str, op: &Operation) -> anyhow::Result<()> {
    for created in op.creates() {
        conn.execute(
            "INSERT INTO device_record (device_id, entity, record_id, version, reason, refs) \
             VALUES ($1, $2, $3, -1, '', '') ON CONFLICT (device_id, entity, record_id) DO NOTHING",
            &[text(device), text(&created.entity), text(&created.id)],
        )?;
    }
    Ok(())
}

fn error_insert(
    conn: &mut dyn Conn,
    caller: &Caller,
    op: &PushOp,
    code: &str,
    message: &str,
    conflicts: &[FieldConflict],
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let (entity, record) = op.op.target();
    // A refused op may name a record id no database text can hold (NUL): the error keeps
    // it readable instead (the operation itself is kept whole, as JSON).
    let record = record.replace('\0', "\u{fffd}");
    let version = conn.next_version()?;
    conn.execute(
        "INSERT INTO sync_error (id, user_id, device_id, op_id, entity, record_id, code, message,
         operation, conflicts, state, created_on, _version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)",
        &[
            text(new_id()),
            text(&caller.user_id),
            text(&caller.device_id),
            text(&op.op_id),
            text(entity),
            text(record),
            text(code),
            text(message),
            text(serde_json::to_string(&op.op)?),
            text(serde_json::to_string(conflicts)?),
            text(outpost_domain::value::format_datetime(now)),
            int_param(version),
        ],
    )?;
    Ok(())
}

const ERROR_COLUMNS: &str = "id, user_id, device_id, op_id, entity, record_id, code, message, \
     operation, conflicts, state, created_on, resolved_on";

fn error_row(row: &Row) -> anyhow::Result<SyncErrorInfo> {
    Ok(SyncErrorInfo {
        id: string(&row[0])?,
        user_id: string(&row[1])?,
        device_id: string(&row[2])?,
        op_id: string(&row[3])?,
        entity: string(&row[4])?,
        record_id: string(&row[5])?,
        code: string(&row[6])?,
        message: string(&row[7])?,
        operation: serde_json::from_str(&string(&row[8])?)?,
        conflicts: serde_json::from_str(&string(&row[9])?)?,
        state: string(&row[10])?,
        created_on: string(&row[11])?,
        resolved_on: opt_string(&row[12])?,
    })
}

/// Sync errors, newest first: one user's, or everybody's (`None`, for administrators);
/// open ones only unless `all`.
///
/// # Errors
/// A database error.
pub fn errors_list(
    conn: &mut dyn Conn,
    user_id: Option<&str>,
    all: bool,
) -> anyhow::Result<Vec<SyncErrorInfo>> {
    let sql = format!(
        "SELECT {ERROR_COLUMNS} FROM sync_error WHERE ($1 = '' OR user_id = $1) \
         AND ($2 = 1 OR state = 'open') ORDER BY created_on DESC, id LIMIT 1000"
    );
    conn.query(
        &sql,
        &[text(user_id.unwrap_or_default()), int_param(i64::from(all))],
    )?
    .iter()
    .map(error_row)
    .collect()
}

/// The sync errors of the caller's device resolved since row version `after`, in order,
/// as the pull tells the device (S14), and the highest row version among them (`after`
/// when there are none).
///
/// # Errors
/// A database error.
pub fn resolutions_since(
    conn: &mut dyn Conn,
    caller: &Caller,
    after: i64,
) -> anyhow::Result<(Vec<Resolution>, i64)> {
    let rows = conn.query(
        "SELECT op_id, state, _version FROM sync_error WHERE device_id = $1 AND user_id = $2 \
         AND _version > $3 AND state <> 'open' ORDER BY _version",
        &[
            text(&caller.device_id),
            text(&caller.user_id),
            int_param(after),
        ],
    )?;
    let mut high = after;
    let mut resolutions = Vec::with_capacity(rows.len());
    for row in rows {
        resolutions.push(Resolution {
            op_id: string(&row[0])?,
            action: if string(&row[1])? == "applied" {
                ResolutionAction::Apply
            } else {
                ResolutionAction::Discard
            },
        });
        high = high.max(int(&row[2])?);
    }
    Ok((resolutions, high))
}

/// The id of the sync error the caller's device has for its operation `op_id`, if any
/// (the newest, should the same op id have failed more than once).
pub fn error_of_op(
    conn: &mut dyn Conn,
    caller: &Caller,
    op_id: &str,
) -> anyhow::Result<Option<String>> {
    let row = conn.query_opt(
        "SELECT id FROM sync_error WHERE user_id = $1 AND op_id = $2 ORDER BY created_on DESC LIMIT 1",
        &[text(&caller.user_id), text(op_id)],
    )?;
    row.map(|r| string(&r[0])).transpose()
}

/// Resolves a sync error as `caller` (its owner, or an administrator): `apply` re-runs
/// the offline change as its owner with conflict detection off; `discard` drops it.
/// The owner's device learns of it at its next pull.
///
/// # Errors
/// [`ApiError::NotFound`] for an error the caller may not see, a conflict when it is
/// already resolved, the refusal when applying fails again (the error stays open).
pub fn resolve(
    conn: &mut dyn Conn,
    org: &Org,
    caller: &Caller,
    id: &str,
    apply: bool,
    now: time::OffsetDateTime,
) -> Result<SyncErrorInfo, ApiError> {
    let row = conn
        .query_opt(
            &format!("SELECT {ERROR_COLUMNS} FROM sync_error WHERE id = $1"),
            &[text(id)],
        )?
        .ok_or_else(|| ApiError::NotFound(format!("no sync error {id}")))?;
    let error = error_row(&row)?;
    if error.user_id != caller.user_id && !caller.is_admin {
        return Err(ApiError::NotFound(format!("no sync error {id}")));
    }
    if error.state != "open" {
        return Err(ApiError::Conflict {
            code: WireCode::AlreadyResolved,
            message: format!("sync error {id} is already {}", error.state),
        });
    }
    if apply {
        let principal = org.principal(&error.user_id)?;
        let actor = Actor {
            org,
            principal: &principal,
        };
        if let Err(r) = ops::apply_unchecked(conn, &actor, &error.operation, None, now)? {
            return Err(ApiError::Invalid {
                code: r.code,
                message: format!("the change still cannot be applied: {}", r.message),
                fields: r.fields,
            });
        }
        // The device made what the operation creates when the user made it.
        let device = crate::auth::device_key(&error.user_id, &error.device_id);
        held_from_push(conn, &device, &error.operation)?;
    }
    let mut error = error;
    error.state = if apply { "applied" } else { "discarded" }.to_owned();
    error.resolved_on = Some(outpost_domain::value::format_datetime(now));
    let version = conn.next_version()?;
    conn.execute(
        "UPDATE sync_error SET state = $1, resolved_on = $2, resolved_by = $3, _version = $4 WHERE id = $5",
        &[
            text(&error.state),
            text(error.resolved_on.as_deref().unwrap_or_default()),
            text(&caller.user_id),
            int_param(version),
            text(id),
        ],
    )?;
    Ok(error)
}
