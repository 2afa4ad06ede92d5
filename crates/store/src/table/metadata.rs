//! `sync_metadata`: the org metadata the entity tables were made from, as the server sent
//! it. Kept inside the encrypted file so the app opens offline (no server) with the same
//! tables, forms and views it had, and so a newer metadata can be compared and migrated to.

use outpost_domain::Metadata;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::StoreError;

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_metadata (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  json TEXT NOT NULL
);";

/// The metadata of a store that never received any: no entities, version 0. A store from
/// before metadata was kept opens with it too; the next sign-in or sync brings the real one.
pub(crate) fn empty() -> Metadata {
    Metadata {
        version: 0,
        entities: Vec::new(),
        relationships: Vec::new(),
        flows: Vec::new(),
        app_modules: Vec::new(),
    }
}

/// The kept metadata, if any was ever stored.
pub(crate) fn load(conn: &Connection) -> Result<Option<Metadata>, StoreError> {
    let json: Option<String> = conn
        .query_row("SELECT json FROM sync_metadata WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// Keeps `metadata`, replacing what was kept.
pub(crate) fn save_in_tx(tx: &Transaction<'_>, metadata: &Metadata) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sync_metadata (id, version, fingerprint, json) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version,
           fingerprint = excluded.fingerprint, json = excluded.json",
        params![
            metadata.version,
            format!("{:016x}", metadata.fingerprint()),
            serde_json::to_string(metadata)?
        ],
    )?;
    Ok(())
}
