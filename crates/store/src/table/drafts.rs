//! Offline drafts mode (C17), for app modules set to *drafts*: `sync_recent` keeps the
//! records the user opened while online, for reading offline (the newest [`RECENT_MAX`]);
//! `sync_draft` keeps new records made as drafts, each saved to the server on its own
//! when the user asks. Both live inside the encrypted file like everything else, and go
//! with it on a wipe.

use outpost_domain::Fields;
use rusqlite::{OptionalExtension as _, Row, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_recent (
  entity TEXT NOT NULL,
  record_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  row_version INTEGER NOT NULL,
  used_at TEXT NOT NULL,
  PRIMARY KEY (entity, record_id)
);
CREATE INDEX IF NOT EXISTS sync_recent_by_use ON sync_recent (used_at);
CREATE TABLE IF NOT EXISTS sync_draft (
  id TEXT PRIMARY KEY,
  entity TEXT NOT NULL,
  fields TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  error TEXT
);";

/// Recently used records kept at most; the least recently used go first.
pub const RECENT_MAX: u32 = 500;

/// A record the user opened while online, kept for reading offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentRecord {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// The fields as the server answered them (already without what the user may not read).
    pub fields: Fields,
    /// The server's row version.
    pub row_version: u64,
    /// When the user last opened it (RFC 3339).
    pub used_at: String,
}

/// A new record made in a drafts module, waiting to be saved to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The id the record gets on the server.
    pub id: String,
    /// Entity.
    pub entity: String,
    /// Field values.
    pub fields: Fields,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was last changed (RFC 3339).
    pub updated_at: String,
    /// Why the last save failed, if it did.
    pub error: Option<String>,
}

fn fields_of(json: &str) -> rusqlite::Result<Fields> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn json_of(fields: &Fields) -> Result<String, StoreError> {
    serde_json::to_string(fields).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn recent_of(r: &Row<'_>) -> rusqlite::Result<RecentRecord> {
    Ok(RecentRecord {
        entity: r.get(0)?,
        id: r.get(1)?,
        fields: fields_of(&r.get::<_, String>(2)?)?,
        row_version: r.get(3)?,
        used_at: r.get(4)?,
    })
}

fn draft_of(r: &Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        id: r.get(0)?,
        entity: r.get(1)?,
        fields: fields_of(&r.get::<_, String>(2)?)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        error: r.get(5)?,
    })
}

/// Forgets `fields` of the recently used `entity` records (the user may no longer read
/// them); answers how many values went.
pub(crate) fn recent_forget_in_tx(
    conn: &rusqlite::Connection,
    entity: &str,
    fields: &[&String],
) -> Result<u64, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached("SELECT record_id, fields FROM sync_recent WHERE entity = ?1")?
        .query_map([entity], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut forgotten = 0;
    for (id, json) in rows {
        let mut kept = fields_of(&json)?;
        let before = kept.len();
        kept.retain(|name, _| !fields.contains(&name));
        if kept.len() != before {
            forgotten += (before - kept.len()) as u64;
            conn.prepare_cached(
                "UPDATE sync_recent SET fields = ?3 WHERE entity = ?1 AND record_id = ?2",
            )?
            .execute(params![entity, id, json_of(&kept)?])?;
        }
    }
    Ok(forgotten)
}

const RECENT_COLUMNS: &str = "entity, record_id, fields, row_version, used_at";
const DRAFT_COLUMNS: &str = "id, entity, fields, created_at, updated_at, error";

impl Store {
    /// Keeps (or refreshes) a recently used record, then forgets the least recently used
    /// beyond [`RECENT_MAX`].
    pub fn recent_put(&mut self, record: &RecentRecord) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO sync_recent (entity, record_id, fields, row_version, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (entity, record_id) DO UPDATE SET fields = excluded.fields,
               row_version = excluded.row_version, used_at = excluded.used_at",
        )?
        .execute(params![
            record.entity,
            record.id,
            json_of(&record.fields)?,
            record.row_version,
            record.used_at
        ])?;
        tx.prepare_cached(
            "DELETE FROM sync_recent WHERE rowid NOT IN
               (SELECT rowid FROM sync_recent ORDER BY used_at DESC, rowid DESC LIMIT ?1)",
        )?
        .execute([RECENT_MAX])?;
        tx.commit()?;
        Ok(())
    }

    /// A recently used record, if the device keeps it.
    pub fn recent_get(&self, entity: &str, id: &str) -> Result<Option<RecentRecord>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {RECENT_COLUMNS} FROM sync_recent WHERE entity = ?1 AND record_id = ?2"
            ))?
            .query_row(params![entity, id], recent_of)
            .optional()?)
    }

    /// Recently used records (of one entity, or all), most recently used first.
    pub fn recent_list(&self, entity: Option<&str>) -> Result<Vec<RecentRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECENT_COLUMNS} FROM sync_recent WHERE ?1 IS NULL OR entity = ?1
             ORDER BY used_at DESC, rowid DESC"
        ))?;
        let rows = stmt.query_map([entity], recent_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps a draft (new or changed).
    pub fn draft_put(&self, draft: &Draft) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO sync_draft (id, entity, fields, created_at, updated_at, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET fields = excluded.fields,
                   updated_at = excluded.updated_at, error = excluded.error",
            )?
            .execute(params![
                draft.id,
                draft.entity,
                json_of(&draft.fields)?,
                draft.created_at,
                draft.updated_at,
                draft.error
            ])?;
        Ok(())
    }

    /// One draft.
    pub fn draft_get(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRAFT_COLUMNS} FROM sync_draft WHERE id = ?1"
            ))?
            .query_row([id], draft_of)
            .optional()?)
    }

    /// Every draft, oldest first (the order they were made).
    pub fn draft_list(&self) -> Result<Vec<Draft>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DRAFT_COLUMNS} FROM sync_draft ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], draft_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets a draft (deleted, or saved to the server). Answers whether it existed.
    pub fn draft_delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM sync_draft WHERE id = ?1")?
            .execute([id])?
            > 0)
    }
}
