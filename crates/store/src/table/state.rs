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

    /// The entities whose records the server must send again whole, for the pull request
    /// about to go: the device forgot values of their fields on its own (the access that
    /// came with a metadata answer said the user may no longer read them), and the server,
    /// which may not have seen that access, would otherwise never send them back once
    /// readable again. They are remembered as asked; the page stored next settles them
    /// ([`Store::pull_page_apply`]), and what is forgotten after this call waits for the
    /// next request.
    pub fn resend_ask(&self) -> Result<Vec<String>, StoreError> {
        let owed = list_in_tx(&self.conn, RESEND_OWED)?;
        // Written only when it changes: every pull asks, and a write is a sync to disk.
        if list_in_tx(&self.conn, RESEND_ASKED)? != owed {
            set_list_in_tx(&self.conn, RESEND_ASKED, &owed)?;
        }
        Ok(owed)
    }

    /// Keeps each `(key, value)` in one transaction that does not wait for the disk
    /// (`synchronous=NORMAL` for it alone): for bookkeeping a power loss may take back —
    /// when the last sync ended — never for the user's work. The next durable commit
    /// makes it durable too.
    ///
    /// # Errors
    /// SQLite's.
    pub fn state_set_lazily(&mut self, values: &[(&str, &str)]) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "normal")?;
        let result = (|| {
            let tx = self.conn.transaction()?;
            for (key, value) in values {
                set_in_tx(&tx, key, value)?;
            }
            tx.commit()?;
            Ok(())
        })();
        self.conn.pragma_update(None, "synchronous", "full")?;
        result
    }
}

const CHECKPOINT: &str = "pull_checkpoint";
/// Set when the next page must replace the server layer (see `Store::metadata_apply`).
const RESYNC: &str = "pull_resync";
/// Entities whose field values the device forgot, not yet asked of the server again.
const RESEND_OWED: &str = "pull_resend_owed";
/// The owed entities the last pull request asked for.
const RESEND_ASKED: &str = "pull_resend_asked";

fn list_in_tx(conn: &Connection, key: &str) -> Result<Vec<String>, StoreError> {
    Ok(get_in_tx(conn, key)?
        .map(|v| {
            v.split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

fn set_list_in_tx(conn: &Connection, key: &str, list: &[String]) -> Result<(), StoreError> {
    set_in_tx(conn, key, &list.join(","))
}

/// Remembers that the device forgot values of `entity`'s fields (see
/// [`Store::resend_ask`]).
pub(crate) fn resend_owe_in_tx(conn: &Connection, entity: &str) -> Result<(), StoreError> {
    let mut owed = list_in_tx(conn, RESEND_OWED)?;
    if !owed.iter().any(|e| e == entity) {
        owed.push(entity.to_owned());
        set_list_in_tx(conn, RESEND_OWED, &owed)?;
    }
    Ok(())
}

/// The page answering the last request is stored: what that request asked for is no
/// longer owed (the server took it on with the page).
pub(crate) fn resend_settle_in_tx(conn: &Connection) -> Result<(), StoreError> {
    let asked = list_in_tx(conn, RESEND_ASKED)?;
    if asked.is_empty() {
        return Ok(());
    }
    let owed: Vec<String> = list_in_tx(conn, RESEND_OWED)?
        .into_iter()
        .filter(|e| !asked.contains(e))
        .collect();
    set_list_in_tx(conn, RESEND_OWED, &owed)?;
    set_list_in_tx(conn, RESEND_ASKED, &[])
}

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
