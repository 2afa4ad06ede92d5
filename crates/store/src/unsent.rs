//! What the user did that the server has not got: operations waiting in the outbox
//! (parked ones included), sync errors, resolutions made here and not yet sent, and
//! drafts. Counted before anything may delete the store ([`Store::unsent`]), carried out
//! of a store that must go ([`Store::unsent_export`], sealed by the core) and back into
//! one ([`Store::unsent_import`]), so no transition — a wipe the server orders, a sign-out
//! that deletes the data — loses it without the user's explicit yes.

use outpost_domain::{ApplyContext, Operation};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::layer::{LocalLayer, touched};
use crate::table::outbox;
use crate::{Store, StoreError};

/// How much unsent work a store holds, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsent {
    /// Changes waiting to be sent (parked ones included).
    pub changes: u64,
    /// Changes the server refused, waiting for the user's resolution.
    pub sync_errors: u64,
    /// Resolutions made on the device that the server has not heard yet.
    pub resolutions: u64,
    /// Drafts (drafts modules) not yet saved to the server.
    pub drafts: u64,
}

impl Unsent {
    /// Whether nothing is unsent.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// What a person reads: "2 changes, 1 sync error and 1 draft".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.changes, "change", "changes"),
            (self.sync_errors, "sync error", "sync errors"),
            (self.resolutions, "resolution", "resolutions"),
            (self.drafts, "draft", "drafts"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
        match parts.as_slice() {
            [] => "nothing".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// One outbox entry as it leaves the store: its operation and what the server said of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsentEntry {
    /// The id the server deduplicates on (kept: a restored entry is never applied twice).
    pub op_id: String,
    /// The operation.
    pub op: Operation,
    /// The row version it was based on.
    pub base_version: Option<u64>,
    /// `pending`, `failed` or `resolving`.
    pub state: String,
    /// The server's refusal, for a failed entry.
    pub outcome: Option<serde_json::Value>,
    /// When the user made it (RFC 3339).
    pub created_on: Option<String>,
}

/// A resolution made on the device, not yet sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentResolution {
    /// The failed operation it resolves.
    pub op_id: String,
    /// `apply` or `discard`.
    pub action: String,
    /// What the operation was about.
    pub entity: Option<String>,
    /// What the operation was about.
    pub record_id: Option<String>,
    /// The operation's kind.
    pub kind: Option<String>,
    /// What the user chose (`keep_mine`, `take_server`, `resubmit`).
    pub choice: Option<String>,
}

/// A draft as it leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentDraft {
    /// The id the record gets on the server.
    pub id: String,
    /// Entity.
    pub entity: String,
    /// Field values.
    pub fields: outpost_domain::Fields,
    /// When it was made.
    pub created_at: String,
    /// When it was last changed.
    pub updated_at: String,
    /// Why its last save failed.
    pub error: Option<String>,
}

/// Everything unsent, in a form that outlives the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnsentWork {
    /// The outbox, in log order.
    pub outbox: Vec<UnsentEntry>,
    /// Resolutions not yet sent, oldest first.
    pub resolutions: Vec<UnsentResolution>,
    /// Drafts, oldest first.
    pub drafts: Vec<UnsentDraft>,
}

impl UnsentWork {
    /// How much it holds, counted as [`Store::unsent`] counts a store.
    pub fn count(&self) -> Unsent {
        let state = |s: &str| self.outbox.iter().filter(|e| e.state == s).count() as u64;
        Unsent {
            changes: state("pending"),
            sync_errors: state("failed"),
            resolutions: self.resolutions.len() as u64,
            drafts: self.drafts.len() as u64,
        }
    }
}

impl Store {
    /// How much unsent work the store holds.
    pub fn unsent(&self) -> Result<Unsent, StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM sync_outbox WHERE state = 'pending'),
                    (SELECT count(*) FROM sync_outbox WHERE state = 'failed'),
                    (SELECT count(*) FROM sync_resolution_out),
                    (SELECT count(*) FROM sync_draft)",
            [],
            |r| {
                Ok(Unsent {
                    changes: r.get(0)?,
                    sync_errors: r.get(1)?,
                    resolutions: r.get(2)?,
                    drafts: r.get(3)?,
                })
            },
        )?)
    }

    /// Everything unsent, read in one transaction.
    pub fn unsent_export(&mut self) -> Result<UnsentWork, StoreError> {
        let tx = self.conn.transaction()?;
        let outbox = tx
            .prepare(
                "SELECT op_id, op, base_version, state, outcome, created_on FROM sync_outbox
                 ORDER BY seq",
            )?
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<u64>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?
            .map(|row| {
                let (op_id, op, base_version, state, outcome, created_on) = row?;
                Ok(UnsentEntry {
                    op_id,
                    op: serde_json::from_str(&op)?,
                    base_version,
                    state,
                    outcome: outcome.map(|o| serde_json::from_str(&o)).transpose()?,
                    created_on,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let resolutions = tx
            .prepare(
                "SELECT op_id, action, entity, record_id, kind, choice FROM sync_resolution_out
                 ORDER BY rowid",
            )?
            .query_map([], |r| {
                Ok(UnsentResolution {
                    op_id: r.get(0)?,
                    action: r.get(1)?,
                    entity: r.get(2)?,
                    record_id: r.get(3)?,
                    kind: r.get(4)?,
                    choice: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let drafts = drafts_in_tx(&tx)?;
        tx.commit()?;
        Ok(UnsentWork {
            outbox,
            resolutions,
            drafts,
        })
    }

    /// Puts exported work back, in one transaction: outbox entries at the end of the log
    /// in their order, with their op ids (the server answers a resent one with its stored
    /// outcome) and states, each applied to the local layer again (one that no longer
    /// applies stays in the log for the server to judge); resolutions and drafts as they
    /// were. What the store already holds (the same op id or draft id) is skipped, so a
    /// restore can run twice. Answers what was added.
    pub fn unsent_import(
        &mut self,
        ctx: &ApplyContext,
        work: &UnsentWork,
    ) -> Result<Unsent, StoreError> {
        let tx = self.conn.transaction()?;
        let mut added = Unsent::default();
        for entry in &work.outbox {
            let state = match entry.state.as_str() {
                s @ ("pending" | "failed" | "resolving") => s,
                other => {
                    return Err(StoreError::Invalid(format!(
                        "an exported change in state `{other}`"
                    )));
                }
            };
            let (entity, record_id) = entry.op.target();
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO sync_outbox (op_id, entity, record_id, op, base_version, state, outcome, created_on)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (op_id) DO NOTHING",
                )?
                .execute(params![
                    entry.op_id,
                    entity,
                    record_id,
                    serde_json::to_string(&entry.op)?,
                    entry.base_version,
                    state,
                    entry.outcome.as_ref().map(serde_json::Value::to_string),
                    entry.created_on,
                ])?;
            if inserted == 0 {
                continue;
            }
            let seq = tx.last_insert_rowid();
            let wrote = apply_restored(&tx, &self.metadata, ctx, &entry.op)?;
            outbox::touches_reset_in_tx(&tx, seq, &entry.op, &wrote)?;
            match state {
                "pending" => added.changes += 1,
                "failed" => added.sync_errors += 1,
                _ => {}
            }
        }
        for r in &work.resolutions {
            added.resolutions += tx
                .prepare_cached(
                    "INSERT INTO sync_resolution_out (op_id, action, entity, record_id, kind, choice)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (op_id) DO NOTHING",
                )?
                .execute(params![r.op_id, r.action, r.entity, r.record_id, r.kind, r.choice])?
                as u64;
        }
        for d in &work.drafts {
            added.drafts += tx
                .prepare_cached(
                    "INSERT INTO sync_draft (id, entity, fields, created_at, updated_at, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![
                    d.id,
                    d.entity,
                    serde_json::to_string(&d.fields)?,
                    d.created_at,
                    d.updated_at,
                    d.error
                ])? as u64;
        }
        tx.commit()?;
        Ok(added)
    }
}

/// Applies a restored operation to the local layer and answers what it wrote; one that no
/// longer applies (its record is not on the device now) writes nothing and touches its
/// target, so it parks what follows on the same record and the server judges it.
fn apply_restored(
    conn: &rusqlite::Connection,
    metadata: &outpost_domain::Metadata,
    ctx: &ApplyContext,
    op: &Operation,
) -> Result<Vec<outpost_domain::EntityRef>, StoreError> {
    if metadata.entity(op.target().0).is_err() {
        return Ok(Vec::new());
    }
    conn.execute_batch("SAVEPOINT restore_one")?;
    match LocalLayer::new(conn, metadata).apply_in_tx(ctx, op) {
        Ok(effects) => {
            conn.execute_batch("RELEASE restore_one")?;
            Ok(touched(&effects))
        }
        Err(StoreError::Refused(_)) => {
            conn.execute_batch("ROLLBACK TO restore_one; RELEASE restore_one")?;
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

fn drafts_in_tx(conn: &rusqlite::Connection) -> Result<Vec<UnsentDraft>, StoreError> {
    conn.prepare(
        "SELECT id, entity, fields, created_at, updated_at, error FROM sync_draft
         ORDER BY created_at, id",
    )?
    .query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?
    .map(|row| {
        let (id, entity, fields, created_at, updated_at, error) = row?;
        Ok(UnsentDraft {
            id,
            entity,
            fields: serde_json::from_str(&fields)?,
            created_at,
            updated_at,
            error,
        })
    })
    .collect()
}
