//! Opening, keying, migrating and wiping the database.

use std::path::{Path, PathBuf};

use outpost_domain::Metadata;
use rusqlite::Connection;

use crate::key::{DatabaseKey, KeyStore};
use crate::{StoreError, table};

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

/// Internal tables, in creation order. Entity tables come from metadata.
const INTERNAL_TABLES: &[&str] = &[table::state::SCHEMA, table::outbox::SCHEMA];

impl Store {
    /// Opens the database at `path` with the key kept under `key_id`, creating both when
    /// the file does not exist yet.
    ///
    /// # Errors
    /// [`StoreError::MissingKey`] when the file exists but no key is kept,
    /// [`StoreError::WrongKey`] when the kept key does not open it.
    pub fn open(
        path: &Path,
        keys: &dyn KeyStore,
        key_id: &str,
        metadata: Metadata,
    ) -> Result<Self, StoreError> {
        let key = if path.exists() {
            keys.get(key_id)?.ok_or(StoreError::MissingKey)?
        } else {
            let key = DatabaseKey::generate();
            keys.set(key_id, &key)?;
            key
        };
        Self::open_with_key(path, &key, metadata)
    }

    /// Opens the database at `path` with `key` (creating it when missing).
    pub fn open_with_key(
        path: &Path,
        key: &DatabaseKey,
        metadata: Metadata,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        // The key must be the first statement on the connection (SQLCipher).
        conn.pragma_update(None, "key", key.pragma_value())?;
        // SQLCipher only notices a wrong key on the first read.
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(StoreError::WrongKey);
            }
            Err(e) => return Err(e.into()),
        }
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Self {
            conn,
            metadata,
            path: path.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for sql in INTERNAL_TABLES {
            tx.execute_batch(sql)?;
        }
        for entity in &self.metadata.entities {
            table::records::create_in_tx(&tx, entity)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes the database files and forgets the key: nothing readable is left.
    pub fn wipe(self, keys: &dyn KeyStore, key_id: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        drop(self.conn);
        keys.delete(key_id)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Keychain(format!(
                        "removing {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The metadata the tables were made from.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}
