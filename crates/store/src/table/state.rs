//! `sync_state`: small named values — the session (server, user, tokens, device id), the
//! pull checkpoint (an opaque token of the server's), the last sync time. Inside the
//! encrypted file like everything else.

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);";

impl Store {
    /// The value kept under `key`.
    pub fn state_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        get_in_tx(&self.conn, key)
    }

    /// Keeps `value` under `key`.
    pub fn state_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        set_in_tx(&self.conn, key, value)
    }

    /// Forgets `key`.
    pub fn state_delete(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM sync_state WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The pull checkpoint: the last page fully stored (0 before the first sync).
    pub fn checkpoint(&self) -> Result<u64, StoreError> {
        checkpoint_in_tx(&self.conn)
    }
}

const CHECKPOINT: &str = "pull_checkpoint";
/// Set when the next page must replace the server layer (see `Store::metadata_apply`).
const RESYNC: &str = "pull_resync";

pub(crate) fn set_in_tx(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn get_in_tx(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// The checkpoint, read inside the caller's transaction.
pub(crate) fn checkpoint_in_tx(conn: &Connection) -> Result<u64, StoreError> {
    Ok(get_in_tx(conn, CHECKPOINT)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Stores the checkpoint of the page the caller's transaction stores.
pub(crate) fn checkpoint_set_in_tx(conn: &Connection, checkpoint: u64) -> Result<(), StoreError> {
    set_in_tx(conn, CHECKPOINT, &checkpoint.to_string())
}

/// Asks for a whole new pull: checkpoint 0, and the next page replaces the server layer.
pub(crate) fn resync_in_tx(conn: &Connection) -> Result<(), StoreError> {
    checkpoint_set_in_tx(conn, 0)?;
    set_in_tx(conn, RESYNC, "1")
}

/// Whether a resync was asked for; clears the request (the caller's page answers it).
pub(crate) fn resync_take_in_tx(conn: &Connection) -> Result<bool, StoreError> {
    let asked = get_in_tx(conn, RESYNC)?.is_some();
    if asked {
        conn.execute("DELETE FROM sync_state WHERE key = ?1", [RESYNC])?;
    }
    Ok(asked)
}
