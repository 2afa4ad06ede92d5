//! `sync_outbox`: the ordered log of what the user did offline. An entry stays until the
//! server has answered it: applied entries leave, refused ones stay as sync errors until
//! the user (or an administrator) resolves them.
//!
//! `sync_outbox_touch` lists every record an entry wrote locally (its target, and what it
//! created, changed or removed), so a pull that brings one of them re-applies exactly the
//! entries that touched it (rebase), and a record shows as pending while any entry
//! touching it waits. `sync_resolution_out` holds resolutions the user made on the device
//! that the server has not heard yet.
//!
//! **Parking (B2).** A failed entry holds the later entries about the same record or
//! about a record it created; every other entry goes on. [`Store::outbox_entries`]
//! computes this in one ordered pass, so it is never stored and never stale.

use std::collections::BTreeMap;

use outpost_domain::{EntityRef, Operation};
use outpost_protocol::{OpOutcome, OpResult, ResolutionAction};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op_id TEXT NOT NULL UNIQUE,
  entity TEXT NOT NULL,
  record_id TEXT NOT NULL,
  op TEXT NOT NULL,
  base_version INTEGER,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed', 'resolving')),
  outcome TEXT,
  created_on TEXT
);
CREATE TABLE IF NOT EXISTS sync_outbox_touch (
  seq INTEGER NOT NULL,
  entity TEXT NOT NULL,
  record_id TEXT NOT NULL,
  PRIMARY KEY (seq, entity, record_id)
);
CREATE INDEX IF NOT EXISTS sync_outbox_touch_by_record ON sync_outbox_touch(entity, record_id, seq);
CREATE TABLE IF NOT EXISTS sync_resolution_out (
  op_id TEXT PRIMARY KEY,
  action TEXT NOT NULL CHECK (action IN ('apply', 'discard')),
  entity TEXT,
  record_id TEXT,
  kind TEXT,
  choice TEXT
);";

/// Columns `sync_resolution_out` gained after its first layout (added on open).
pub(crate) const RESOLUTION_COLUMNS: &[&str] = &["entity", "record_id", "kind", "choice"];

/// Where an entry stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting to be pushed (or parked, see [`OutboxEntry::parked_behind`]).
    Pending,
    /// The server refused it: a sync error waiting for the user.
    Failed(OpResult),
    /// The user resolved it on the device; the resolution waits to be sent.
    Resolving(ResolutionAction),
}

/// One operation waiting for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Position in the log.
    pub seq: i64,
    /// Unique id the server deduplicates on.
    pub op_id: String,
    /// The row version the change was based on.
    pub base_version: Option<u64>,
    /// The operation.
    pub op: Operation,
    /// Where it stands.
    pub state: EntryState,
    /// The failed entry this one waits behind (B2), if any.
    pub parked_behind: Option<String>,
    /// When it was made (RFC 3339), if known.
    pub created_on: Option<String>,
}

impl OutboxEntry {
    /// Whether the next push may send it.
    pub fn is_ready(&self) -> bool {
        self.state == EntryState::Pending && self.parked_behind.is_none()
    }
}

/// The records an operation is about ([`Operation::about`]), as `(entity, id)` keys.
pub(crate) fn parking_keys(op: &Operation) -> Vec<(String, String)> {
    op.about().into_iter().map(|r| (r.entity, r.id)).collect()
}

pub(crate) fn append_in_tx(
    conn: &Connection,
    op_id: &str,
    op: &Operation,
    base_version: Option<u64>,
    created_on: &str,
    touched: &[EntityRef],
) -> Result<(), StoreError> {
    let (entity, id) = op.target();
    conn.prepare_cached(
        "INSERT INTO sync_outbox (op_id, entity, record_id, op, base_version, created_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        op_id,
        entity,
        id,
        serde_json::to_string(op)?,
        base_version,
        created_on
    ])?;
    let seq = conn.last_insert_rowid();
    touches_set_in_tx(conn, seq, op, touched)
}

/// Lists what entry `seq` wrote: its target and `touched`.
fn touches_set_in_tx(
    conn: &Connection,
    seq: i64,
    op: &Operation,
    touched: &[EntityRef],
) -> Result<(), StoreError> {
    let (entity, id) = op.target();
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO sync_outbox_touch (seq, entity, record_id) VALUES (?1, ?2, ?3)",
    )?;
    insert.execute(params![seq, entity, id])?;
    for r in touched {
        insert.execute(params![seq, r.entity, r.id])?;
    }
    Ok(())
}

/// Marks entry `op_id` refused by the server with `outcome`: a sync error.
fn mark_failed_in_tx(conn: &Connection, op_id: &str, outcome: &OpResult) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sync_outbox SET state = 'failed', outcome = ?2 WHERE op_id = ?1")?
        .execute(params![op_id, serde_json::to_string(outcome)?])?;
    Ok(())
}

/// Marks the sync error `op_id` resolved on the device, waiting for the server.
pub(crate) fn mark_resolving_in_tx(conn: &Connection, op_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sync_outbox SET state = 'resolving' WHERE op_id = ?1")?
        .execute([op_id])?;
    Ok(())
}

/// Puts `op` under `op_id` in place of entry `seq`, pending again (edit and resubmit).
pub(crate) fn replace_in_tx(
    conn: &Connection,
    seq: i64,
    op_id: &str,
    op: &Operation,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sync_outbox SET op_id = ?2, op = ?3, state = 'pending', outcome = NULL WHERE seq = ?1",
        params![seq, op_id, serde_json::to_string(op)?],
    )?;
    Ok(())
}

/// Removes operation `op_id` from the log; answers the records it touched, or `None` when
/// the log did not hold it (already answered, or never made here).
pub(crate) fn remove_in_tx(
    conn: &Connection,
    op_id: &str,
) -> Result<Option<Vec<(String, String)>>, StoreError> {
    let Some(seq) = conn
        .prepare_cached("DELETE FROM sync_outbox WHERE op_id = ?1 RETURNING seq")?
        .query_row([op_id], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let touched = conn
        .prepare_cached("DELETE FROM sync_outbox_touch WHERE seq = ?1 RETURNING entity, record_id")?
        .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(touched))
}

/// Whether any entry touching the record waits.
/// Whether any pending entry touches any record (a page checks once, not per record).
pub(crate) fn any_touch(conn: &Connection) -> Result<bool, StoreError> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sync_outbox_touch)", [], |r| {
            r.get(0)
        })?,
    )
}

pub(crate) fn has_pending(conn: &Connection, entity: &str, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sync_outbox_touch WHERE entity = ?1 AND record_id = ?2)",
        )?
        .query_row([entity, id], |r| r.get(0))?)
}

/// The ids of the `entity` records some pending entry touched.
pub(crate) fn touched_ids(
    conn: &Connection,
    entity: &str,
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT DISTINCT record_id FROM sync_outbox_touch WHERE entity = ?1")?
        .query_map([entity], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// The records touched by entries that touch any of `records`, repeated until nothing
/// new is found: everything a rebase of `records` must rebuild together (a qualify that
/// touched the lead also wrote the account a later edit changed).
pub(crate) fn touch_closure(
    conn: &Connection,
    records: impl IntoIterator<Item = (String, String)>,
) -> Result<std::collections::BTreeSet<(String, String)>, StoreError> {
    let mut done = std::collections::BTreeSet::new();
    let mut todo: Vec<(String, String)> = records.into_iter().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT t2.entity, t2.record_id FROM sync_outbox_touch t1
         JOIN sync_outbox_touch t2 ON t2.seq = t1.seq
         WHERE t1.entity = ?1 AND t1.record_id = ?2",
    )?;
    while let Some(record) = todo.pop() {
        if !done.insert(record.clone()) {
            continue;
        }
        let linked: Vec<(String, String)> = stmt
            .query_map(params![record.0, record.1], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        todo.extend(linked.into_iter().filter(|r| !done.contains(r)));
    }
    Ok(done)
}

/// Every entry touching any of `records`, in log order, with its seq.
pub(crate) fn ops_touching(
    conn: &Connection,
    records: &std::collections::BTreeSet<(String, String)>,
) -> Result<Vec<(i64, Operation)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.op FROM sync_outbox_touch t JOIN sync_outbox o ON o.seq = t.seq
         WHERE t.entity = ?1 AND t.record_id = ?2",
    )?;
    let mut found = BTreeMap::new();
    for (entity, id) in records {
        for row in stmt.query_map(params![entity, id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })? {
            let (seq, json) = row?;
            if let std::collections::btree_map::Entry::Vacant(slot) = found.entry(seq) {
                slot.insert(serde_json::from_str::<Operation>(&json)?);
            }
        }
    }
    Ok(found.into_iter().collect())
}

/// Replaces the touch list of entry `seq` after it was applied again.
pub(crate) fn touches_reset_in_tx(
    conn: &Connection,
    seq: i64,
    op: &Operation,
    touched: &[EntityRef],
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sync_outbox_touch WHERE seq = ?1")?
        .execute([seq])?;
    touches_set_in_tx(conn, seq, op, touched)
}

fn action_name(action: ResolutionAction) -> &'static str {
    match action {
        ResolutionAction::Apply => "apply",
        ResolutionAction::Discard => "discard",
    }
}

fn action_parse(text: &str) -> Result<ResolutionAction, StoreError> {
    match text {
        "apply" => Ok(ResolutionAction::Apply),
        "discard" => Ok(ResolutionAction::Discard),
        other => Err(StoreError::Corrupt(format!("resolution `{other}`"))),
    }
}

/// What the user chose for a sync error, as the list shows it while it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Keep the device's change.
    KeepMine,
    /// Take the server's record.
    TakeServer,
    /// A corrected change replaced it.
    Resubmit,
}

impl Choice {
    /// Its name in the API (`keep_mine`, `take_server`, `resubmit`).
    pub fn name(self) -> &'static str {
        match self {
            Self::KeepMine => "keep_mine",
            Self::TakeServer => "take_server",
            Self::Resubmit => "resubmit",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::KeepMine, Self::TakeServer, Self::Resubmit]
            .into_iter()
            .find(|c| c.name() == text)
    }
}

/// A resolution made on the device whose operation left the log (taking the server's
/// drops it; a resubmit replaces it), waiting to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingResolution {
    /// The failed operation's id.
    pub op_id: String,
    /// What it was about.
    pub entity: String,
    /// What it was about.
    pub record_id: String,
    /// The operation's kind (`update`, `lead_qualify`, …).
    pub kind: String,
    /// What the user chose.
    pub choice: Choice,
}

/// Queues a resolution of the failed `op` for the server, with what the user chose.
pub(crate) fn resolution_queue_in_tx(
    conn: &Connection,
    op_id: &str,
    op: &Operation,
    action: ResolutionAction,
    choice: Choice,
) -> Result<(), StoreError> {
    let (entity, record_id) = op.target();
    conn.execute(
        "INSERT INTO sync_resolution_out (op_id, action, entity, record_id, kind, choice)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (op_id) DO UPDATE SET action = excluded.action, entity = excluded.entity,
           record_id = excluded.record_id, kind = excluded.kind, choice = excluded.choice",
        params![
            op_id,
            action_name(action),
            entity,
            record_id,
            op.kind(),
            choice.name()
        ],
    )?;
    Ok(())
}

/// Forgets a queued resolution (sent, or made moot by the server's own).
pub(crate) fn resolution_forget_in_tx(conn: &Connection, op_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sync_resolution_out WHERE op_id = ?1")?
        .execute([op_id])?;
    Ok(())
}

/// The whole log in order, with parking computed (see the module docs).
pub(crate) fn entries_in_tx(conn: &Connection) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.op_id, o.base_version, o.op, o.state, o.outcome, r.action, o.created_on
         FROM sync_outbox o LEFT JOIN sync_resolution_out r ON r.op_id = o.op_id ORDER BY o.seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<u64>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    // Which failed entry holds each record.
    let mut blocked: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut entries = Vec::new();
    for row in rows {
        let (seq, op_id, base_version, op, state, outcome, action, created_on) = row?;
        let op: Operation = serde_json::from_str(&op)?;
        let state = match (state.as_str(), outcome, action) {
            ("resolving", _, Some(action)) => EntryState::Resolving(action_parse(&action)?),
            ("failed" | "resolving", Some(outcome), _) => {
                EntryState::Failed(serde_json::from_str(&outcome)?)
            }
            ("pending", _, _) => EntryState::Pending,
            (other, _, _) => {
                return Err(StoreError::Corrupt(format!(
                    "outbox entry {op_id} in state `{other}` without its outcome"
                )));
            }
        };
        let keys = parking_keys(&op);
        let parked_behind = keys.iter().find_map(|k| blocked.get(k).cloned());
        let holder = match (&state, &parked_behind) {
            (_, Some(root)) => Some(root.clone()),
            (EntryState::Failed(_) | EntryState::Resolving(_), None) => Some(op_id.clone()),
            (EntryState::Pending, None) => None,
        };
        if let Some(holder) = holder {
            for k in keys {
                blocked.entry(k).or_insert_with(|| holder.clone());
            }
        }
        entries.push(OutboxEntry {
            seq,
            op_id,
            base_version,
            op,
            state,
            parked_behind,
            created_on,
        });
    }
    Ok(entries)
}

/// What the server said about a resolution the device sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolutionSent {
    /// Done on the server.
    Done,
    /// The server refused to apply it after all (still invalid, …): the entry is a sync
    /// error again, with this outcome.
    StillFailing(OpResult),
}

impl Store {
    /// The whole log in order, with each entry's state and parking.
    pub fn outbox_entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        entries_in_tx(&self.conn)
    }

    /// The first `limit` operations the next push may send, in the order they were made:
    /// pending and not parked behind a failed one.
    pub fn outbox_pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .outbox_entries()?
            .into_iter()
            .filter(OutboxEntry::is_ready)
            .take(limit as usize)
            .collect())
    }

    /// How many operations wait for the server (pending, parked or refused).
    pub fn outbox_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))?)
    }

    /// Records the server's answers: applied operations leave the log; conflicts and
    /// errors stay, marked failed with the outcome, for the user to resolve.
    pub fn outbox_resolve(&mut self, outcomes: &[OpOutcome]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for outcome in outcomes {
            match &outcome.result {
                OpResult::Applied { .. } => {
                    let touched = remove_in_tx(&tx, &outcome.op_id)?.unwrap_or_default();
                    crate::layer::release_in_tx(&tx, &self.metadata, touched)?;
                }
                OpResult::Conflict { .. } | OpResult::Error { .. } => {
                    mark_failed_in_tx(&tx, &outcome.op_id, &outcome.result)?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many operations the server refused and the user has not resolved yet.
    pub fn sync_error_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sync_outbox WHERE state = 'failed'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Resolutions made on the device that the server has not heard yet, oldest first.
    pub fn resolutions_outgoing(&self) -> Result<Vec<(String, ResolutionAction)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT op_id, action FROM sync_resolution_out ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (op_id, action) = row?;
            Ok((op_id, action_parse(&action)?))
        })
        .collect()
    }

    /// Resolutions made here whose operation left the log (taken from the server, or
    /// resubmitted), oldest first, until the server has them. Ones queued before their
    /// target was kept are not listed.
    pub fn resolutions_waiting(&self) -> Result<Vec<WaitingResolution>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.op_id, r.entity, r.record_id, r.kind, r.choice FROM sync_resolution_out r
             WHERE r.choice IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM sync_outbox o WHERE o.op_id = r.op_id)
             ORDER BY r.rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut waiting = Vec::new();
        for row in rows {
            if let (op_id, Some(entity), Some(record_id), Some(kind), choice) = row?
                && let Some(choice) = Choice::parse(&choice)
            {
                waiting.push(WaitingResolution {
                    op_id,
                    entity,
                    record_id,
                    kind,
                    choice,
                });
            }
        }
        Ok(waiting)
    }

    /// Records the server's answer to a resolution the device sent: a done *apply*
    /// removes the entry (the server applied it; its dependants are released), a done
    /// *discard* only forgets the resolution (the entry left when the user chose), a
    /// refused apply makes the entry a sync error again.
    pub fn resolution_sent(
        &mut self,
        op_id: &str,
        result: ResolutionSent,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let action: Option<String> = tx
            .query_row(
                "SELECT action FROM sync_resolution_out WHERE op_id = ?1",
                [op_id],
                |r| r.get(0),
            )
            .optional()?;
        resolution_forget_in_tx(&tx, op_id)?;
        match (action.as_deref(), result) {
            (Some("apply"), ResolutionSent::Done) => {
                let touched = remove_in_tx(&tx, op_id)?.unwrap_or_default();
                crate::layer::release_in_tx(&tx, &self.metadata, touched)?;
            }
            (Some("apply"), ResolutionSent::StillFailing(outcome)) => {
                mark_failed_in_tx(&tx, op_id, &outcome)?;
            }
            _ => {}
        }
        tx.commit()?;
        Ok(())
    }
}
