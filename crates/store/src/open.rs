//! Opening, keying, migrating and wiping the database.

use std::path::{Path, PathBuf};

use outpost_domain::Metadata;
use rusqlite::Connection;

use crate::key::{DatabaseKey, KeyStore};
use crate::{StoreError, table};

/// The page cache of an open store, in KiB (`PRAGMA cache_size`): decrypted pages it
/// keeps. A 3M-record download's indexes fit their hot pages in it.
pub const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// The local database of one signed-in user.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) metadata: Metadata,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Internal tables, in creation order, in the shapes this build writes. Entity tables
/// come from metadata.
pub(crate) const INTERNAL_TABLES: &[&str] = &[
    table::state::SCHEMA,
    table::outbox::SCHEMA,
    table::metadata::SCHEMA,
    table::follow::SCHEMA,
    table::drafts::SCHEMA,
    table::records::LEAVING_SCHEMA,
];

/// Moves a format-1 outbox to format 2: the state check allows `resolving`, entries have
/// a creation time, and each entry's target is its first touched record.
pub(crate) fn outbox_upgrade_in_tx(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let has_created_on: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('sync_outbox') WHERE name = 'created_on')",
        [],
        |r| r.get(0),
    )?;
    if !crate::migrate::table_exists(tx, "sync_outbox")? || has_created_on {
        return Ok(());
    }
    tx.execute_batch(&format!(
        "DROP INDEX IF EXISTS sync_outbox_by_record;
         ALTER TABLE sync_outbox RENAME TO old_sync_outbox;
         {}
         INSERT INTO sync_outbox (seq, op_id, entity, record_id, op, base_version, state, outcome)
           SELECT seq, op_id, entity, record_id, op, base_version, state, outcome FROM old_sync_outbox;
         INSERT OR IGNORE INTO sync_outbox_touch (seq, entity, record_id)
           SELECT seq, entity, record_id FROM sync_outbox;
         DROP TABLE old_sync_outbox;",
        table::outbox::SCHEMA
    ))?;
    Ok(())
}

/// Gives a `sync_resolution_out` made before it kept what each resolution is about its
/// newer columns (empty for the resolutions already queued, which are then not listed).
pub(crate) fn resolutions_upgrade_in_tx(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    for column in table::outbox::RESOLUTION_COLUMNS {
        let has: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('sync_resolution_out') WHERE name = ?1)",
            [column],
            |r| r.get(0),
        )?;
        if !has {
            tx.execute_batch(&format!(
                "ALTER TABLE sync_resolution_out ADD COLUMN {column} TEXT;"
            ))?;
        }
    }
    Ok(())
}

/// A connection to the file at `path` keyed with `key`, the file private to its owner.
///
/// # Errors
/// [`StoreError::WrongKey`] when the key does not open it.
fn keyed(path: &Path, key: &DatabaseKey) -> Result<Connection, StoreError> {
    private_file(path)?;
    let conn = Connection::open(path)?;
    // The key must be the first statement on the connection (SQLCipher).
    conn.pragma_update(None, "key", key.pragma_value())?;
    // SQLCipher only notices a wrong key on the first read.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes the database file readable and writable by its owner only (creating it empty
/// when missing, so it never exists with wider rights): SQLite gives its `-wal` and
/// `-shm` files the main file's mode. Files an older build made are tightened too.
fn private_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let denied = |e: std::io::Error| StoreError::Private(format!("{}: {e}", path.display()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.as_os_str().to_owned();
                    file.push(suffix);
                    match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(denied(e)),
                    }
                }
            }
            Err(e) => return Err(denied(e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path; // the per-user data folder's ACL applies (Windows: %APPDATA% is the user's)
    Ok(())
}

/// A connection to the existing database at `path` with its kept key, for reading
/// without opening it as a store.
fn keyed_existing(
    path: &Path,
    keys: &dyn KeyStore,
    key_id: &str,
) -> Result<rusqlite::Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::NotFound {
            entity: "database".into(),
            id: path.display().to_string(),
        });
    }
    let key = keys.get(key_id)?.ok_or(StoreError::MissingKey)?;
    keyed(path, &key)
}

/// What applying a metadata did to the tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataChange {
    /// Whether the kept metadata changed at all (version or content).
    pub changed: bool,
    /// Entities whose tables were created.
    pub added_entities: Vec<String>,
    /// `(entity, attribute)` columns added to tables that already existed.
    pub added_columns: Vec<(String, String)>,
    /// Entities whose full-text index was rebuilt (their quick-find columns changed).
    pub reindexed: Vec<String>,
    /// Whether the device must pull everything again before its new columns and tables
    /// are filled: the checkpoint went back to 0 and the next page replaces the server
    /// layer (keeping pending operations), as a `reset` page would.
    pub resync: bool,
}

impl Store {
    /// Opens the database at `path` with the key kept under `key_id`, creating both when
    /// the file does not exist yet. The tables are those of the metadata kept in the file
    /// (none for a new file), so this works offline; [`Store::metadata_apply`] brings a
    /// newer metadata from the server.
    ///
    /// An older file is moved to the newest format first (`migrate`), all of it or none.
    ///
    /// # Errors
    /// [`StoreError::MissingKey`] when the file exists but no key is kept,
    /// [`StoreError::WrongKey`] when the kept key does not open it,
    /// [`StoreError::TooNew`] for a file a newer build wrote, [`StoreError::Migration`]
    /// when moving it to the newest format failed (both leave the file as it was).
    pub fn open(path: &Path, keys: &dyn KeyStore, key_id: &str) -> Result<Self, StoreError> {
        let key = if path.exists() {
            keys.get(key_id)?.ok_or(StoreError::MissingKey)?
        } else {
            let key = DatabaseKey::generate();
            keys.set(key_id, &key)?;
            key
        };
        Self::open_with_key(path, &key)
    }

    /// Reads the values kept under `names` in the database at `path` without opening it
    /// as a store (no table is created or migrated): who a file belongs to, to pick among
    /// the stores of several users on one device.
    ///
    /// # Errors
    /// As [`Store::open`] for a missing or wrong key; `NotFound` when the file does not
    /// exist.
    pub fn peek(
        path: &Path,
        keys: &dyn KeyStore,
        key_id: &str,
        names: &[&str],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let conn = keyed_existing(path, keys, key_id)?;
        let has_state = crate::migrate::table_exists(&conn, "sync_state")?;
        names
            .iter()
            .map(|name| {
                if has_state {
                    table::state::get_in_tx(&conn, name)
                } else {
                    Ok(None)
                }
            })
            .collect()
    }

    /// The format of the database at `path` (see [`crate::FORMAT`]), read without
    /// opening it as a store: nothing is migrated or written.
    ///
    /// # Errors
    /// As [`Store::peek`].
    pub fn peek_format(path: &Path, keys: &dyn KeyStore, key_id: &str) -> Result<u32, StoreError> {
        crate::migrate::format_of(&keyed_existing(path, keys, key_id)?)
    }

    /// Opens the database at `path` with `key` (creating it when missing), in WAL mode with
    /// every commit durable and a page cache of [`PAGE_CACHE_KIB`].
    pub fn open_with_key(path: &Path, key: &DatabaseKey) -> Result<Self, StoreError> {
        let conn = keyed(path, key)?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        // Every commit reaches the disk before it returns (ADR 0009): the user saw the
        // change saved, and the outbox entry behind it must survive a power loss.
        conn.pragma_update(None, "synchronous", "full")?;
        // Pages decrypted once stay decrypted while the download writes around them (the
        // default 2 MiB would read and decrypt the indexes' pages again and again).
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Two layers, an index and bookkeeping per entity: far more statements than
        // rusqlite's default cache of 16, which made each write parse its SQL again.
        conn.set_prepared_statement_cache_capacity(256);
        let mut store = Self {
            conn,
            metadata: table::metadata::empty(),
            path: path.to_owned(),
        };
        // Immediate: it may write, and another process (the app, the CLI, a bridge) may
        // hold the same store; a deferred transaction that read first could not take the
        // write lock after another's commit (a stale snapshot fails at once, the busy
        // timeout unheeded), while an immediate one waits for it.
        let tx = store
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // A step that fails drops the transaction: the file stays as it was.
        crate::migrate::migrate_in_tx(&tx)?;
        let kept = table::metadata::load(&tx)?;
        tx.commit()?;
        if let Some(kept) = kept {
            store.metadata = kept;
        }
        Ok(store)
    }

    /// Moves the store to `metadata` in place: creates the tables of new entities and
    /// adds the columns of new attributes (`ALTER TABLE … ADD COLUMN`), keeps every
    /// record and pending operation, and keeps the metadata in the file — one
    /// transaction. Columns of attributes the metadata no longer has stay (unused), so an
    /// older metadata never loses data.
    ///
    /// When an existing store gained tables or columns, they are empty until the server
    /// sends the records again, so the checkpoint goes back to 0 and the next page
    /// replaces the server layer ([`MetadataChange::resync`]).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when an entity or attribute name cannot be a column (the
    /// store is left as it was).
    pub fn metadata_apply(&mut self, metadata: Metadata) -> Result<MetadataChange, StoreError> {
        if metadata.version == self.metadata.version
            && metadata.fingerprint() == self.metadata.fingerprint()
        {
            return Ok(MetadataChange::default());
        }
        for entity in &metadata.entities {
            table::records::check_names(entity)?;
        }
        let tx = self.conn.transaction()?;
        let mut change = MetadataChange {
            changed: true,
            ..MetadataChange::default()
        };
        for entity in &metadata.entities {
            match table::records::ensure_in_tx(&tx, entity)? {
                table::records::Ensured::Created => change.added_entities.push(entity.name.clone()),
                table::records::Ensured::Altered(columns) => change
                    .added_columns
                    .extend(columns.into_iter().map(|c| (entity.name.clone(), c))),
                table::records::Ensured::Unchanged => {}
            }
        }
        // What search finds follows the new quick-find columns (and choice labels).
        for entity in &metadata.entities {
            let indexed = |m: &Metadata| {
                m.entity(&entity.name).ok().map(|e| {
                    let columns: Vec<_> = e
                        .quick_find
                        .iter()
                        .map(|q| e.attribute(q).ok().map(|a| (q, &a.kind)))
                        .collect();
                    format!("{columns:?}")
                })
            };
            if indexed(&self.metadata).is_some() && indexed(&self.metadata) != indexed(&metadata) {
                table::records::reindex_in_tx(&tx, entity)?;
                change.reindexed.push(entity.name.clone());
            }
        }
        table::metadata::save_in_tx(&tx, &metadata)?;
        let shape_changed = !change.added_entities.is_empty() || !change.added_columns.is_empty();
        if shape_changed && table::state::checkpoint_in_tx(&tx)? != 0 {
            table::state::resync_in_tx(&tx)?;
            change.resync = true;
        }
        tx.commit()?;
        self.metadata = metadata;
        Ok(change)
    }

    /// Deletes the database files and forgets the key: nothing readable is left.
    pub fn destroy(self, keys: &dyn KeyStore, key_id: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        drop(self.conn);
        Self::wipe_unopened(&path, keys, key_id)
    }

    /// Deletes the database at `path` and forgets its key without opening it: for a store
    /// whose key is gone or wrong, which must go all the same (a device reported lost).
    ///
    /// # Errors
    /// [`StoreError::Wipe`] when a file cannot be removed (the key is already gone).
    pub fn wipe_unopened(path: &Path, keys: &dyn KeyStore, key_id: &str) -> Result<(), StoreError> {
        keys.delete(key_id)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Wipe(format!("{}: {e}", path.display())));
                }
            }
        }
        Ok(())
    }

    /// The metadata the tables were made from.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Caps the file at the pages `room` answers for its size now, in pages (SQLite's
    /// `max_page_count`; `None` lifts the cap). A write past the cap fails with SQLite's
    /// "database or disk is full" and its transaction rolls back, as on a full disk: only
    /// the simulation's disk-full fault sets one (`outpost_core::Environment::disk`).
    ///
    /// # Errors
    /// When SQLite refuses the pragma.
    pub fn page_cap(&self, room: impl FnOnce(u64) -> Option<u64>) -> Result<(), StoreError> {
        // SQLite's largest page count: no cap.
        const NONE: u64 = 4_294_967_294;
        let pages: u64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let cap = room(pages).unwrap_or(NONE).min(NONE);
        // The pragma answers the cap it set (never below the file's size).
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {cap}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// SQLite's own check of the whole file (`PRAGMA integrity_check`): what it found, or
    /// nothing when the file is sound.
    ///
    /// # Errors
    /// When the check cannot run.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let found = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(found.into_iter().filter(|line| line != "ok").collect())
    }
}
