//! `sync_follow`: follows and unfollows made on the device and not yet answered by the
//! server (whose pull then says `follow` as the record's reason). A rebase forgets them
//! with the operation that made them, so a discarded follow leaves no trace.

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::StoreError;

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_follow (
  entity TEXT NOT NULL,
  record_id TEXT NOT NULL,
  following INTEGER NOT NULL,
  PRIMARY KEY (entity, record_id)
);";

pub(crate) fn set_in_tx(
    conn: &Connection,
    entity: &str,
    id: &str,
    following: bool,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sync_follow (entity, record_id, following) VALUES (?1, ?2, ?3)
         ON CONFLICT (entity, record_id) DO UPDATE SET following = excluded.following",
    )?
    .execute(params![entity, id, following])?;
    Ok(())
}

pub(crate) fn forget_in_tx(conn: &Connection, entity: &str, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sync_follow WHERE entity = ?1 AND record_id = ?2")?
        .execute(params![entity, id])?;
    Ok(())
}

/// Whether any follow or unfollow made on this device waits for the server.
pub(crate) fn any(conn: &Connection) -> Result<bool, StoreError> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sync_follow)", [], |r| {
            r.get(0)
        })?,
    )
}

/// Whether a follow or unfollow made on this device says the user follows `(entity, id)`
/// (`None`: none was made here).
pub(crate) fn here_in_tx(
    conn: &Connection,
    entity: &str,
    id: &str,
) -> Result<Option<bool>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT following FROM sync_follow WHERE entity = ?1 AND record_id = ?2")?
        .query_row(params![entity, id], |r| r.get(0))
        .optional()?)
}
