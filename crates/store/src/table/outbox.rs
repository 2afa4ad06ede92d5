//! `sync_outbox`: the ordered log of what the user did offline. An entry stays until the
//! server has answered it: applied entries are deleted, refused ones stay as sync errors.

use outpost_domain::Operation;
use outpost_protocol::{OpOutcome, OpResult};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op_id TEXT NOT NULL UNIQUE,
  entity TEXT NOT NULL,
  record_id TEXT NOT NULL,
  op TEXT NOT NULL,
  base_version INTEGER,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
  outcome TEXT
);
CREATE INDEX IF NOT EXISTS sync_outbox_by_record ON sync_outbox(entity, record_id, seq);";

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
}

pub(crate) fn append_in_tx(
    tx: &Transaction<'_>,
    op_id: &str,
    op: &Operation,
    base_version: Option<u64>,
) -> Result<(), StoreError> {
    let (entity, id) = op.target();
    tx.execute(
        "INSERT INTO sync_outbox (op_id, entity, record_id, op, base_version) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![op_id, entity, id, serde_json::to_string(op)?, base_version],
    )?;
    Ok(())
}

/// Removes operation `op_id` from the log; answers the record it was about, or `None`
/// when the log did not hold it (already answered, or never made here).
pub(crate) fn remove_in_tx(
    tx: &Transaction<'_>,
    op_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(tx
        .query_row(
            "DELETE FROM sync_outbox WHERE op_id = ?1 RETURNING entity, record_id",
            [op_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub(crate) fn has_pending(conn: &Connection, entity: &str, id: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sync_outbox WHERE entity = ?1 AND record_id = ?2)",
        [entity, id],
        |r| r.get(0),
    )?)
}

/// Every operation on one record still in the log, in order.
pub(crate) fn ops_for_record(
    conn: &Connection,
    entity: &str,
    id: &str,
) -> Result<Vec<Operation>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM sync_outbox WHERE entity = ?1 AND record_id = ?2 ORDER BY seq",
    )?;
    let ops = stmt
        .query_map([entity, id], |r| r.get::<_, String>(0))?
        .map(|json| Ok(serde_json::from_str(&json?)?))
        .collect::<Result<_, StoreError>>()?;
    Ok(ops)
}

impl Store {
    /// The first `limit` operations waiting to be pushed, in the order they were made.
    pub fn outbox_pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, op_id, base_version, op FROM sync_outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
        })?;
        rows.map(|row| {
            let (seq, op_id, base_version, op) = row?;
            Ok(OutboxEntry {
                seq,
                op_id,
                base_version,
                op: serde_json::from_str(&op)?,
            })
        })
        .collect()
    }

    /// How many operations wait for the server (pending or refused).
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
                    tx.execute("DELETE FROM sync_outbox WHERE op_id = ?1", [&outcome.op_id])?;
                }
                OpResult::Conflict { .. } | OpResult::Error { .. } => {
                    tx.execute(
                        "UPDATE sync_outbox SET state = 'failed', outcome = ?2 WHERE op_id = ?1",
                        params![outcome.op_id, serde_json::to_string(&outcome.result)?],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many operations the server refused (conflicts and errors).
    pub fn sync_error_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sync_outbox WHERE state = 'failed'",
            [],
            |r| r.get(0),
        )?)
    }
}
