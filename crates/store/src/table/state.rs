//! `sync_state`: small named values — the session (server, user, token, device id), the
//! pull checkpoint, the last sync time. Inside the encrypted file like everything else.

use rusqlite::{OptionalExtension as _, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);";

impl Store {
    /// The value kept under `key`.
    pub fn state_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Keeps `value` under `key`.
    pub fn state_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Forgets `key`.
    pub fn state_delete(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM sync_state WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The pull checkpoint: the last page fully stored (0 before the first sync).
    pub fn checkpoint(&self) -> Result<u64, StoreError> {
        Ok(self
            .state_get(CHECKPOINT)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

pub(crate) const CHECKPOINT: &str = "pull_checkpoint";
