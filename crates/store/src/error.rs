//! The store's one error type: variants are what a caller can act on.

/// What opening or using the local database can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database exists but the key does not open it (wrong key, or not a database).
    #[error("the local database cannot be opened with the key from the keychain")]
    WrongKey,
    /// The database exists but the keychain has no key for it (keychain reset, or another
    /// OS user): the data cannot be read; sign in again to download it afresh.
    #[error("the keychain has no key for the local database")]
    MissingKey,
    /// The OS keychain failed.
    #[error("keychain: {0}")]
    Keychain(String),
    /// A database file could not be made private to its owner.
    #[error("making the local database private: {0}")]
    Private(String),
    /// A database file could not be removed while wiping (the key is already gone).
    #[error("removing the local database: {0}")]
    Wipe(String),
    /// A record the caller named does not exist locally.
    #[error("record not found: {entity} {id}")]
    NotFound {
        /// Entity.
        entity: String,
        /// Record id.
        id: String,
    },
    /// A change does not fit the metadata.
    #[error("invalid change: {0}")]
    Invalid(String),
    /// The domain refused the operation (invalid fields, a closed record, a flow step
    /// missing, …): nothing was written.
    #[error("{0}")]
    Refused(outpost_domain::OpError),
    /// The user's cached privileges do not allow the operation.
    #[error("{0}")]
    Forbidden(String),
    /// The server asked the device to delete its offline data (a `wipe` page): nothing of
    /// the page was stored; wipe the store and end the session.
    #[error("the server asked this device to delete its offline data")]
    WipeRequested,
    /// The file was written by a newer build, in a format this one does not know: it is
    /// left as it was.
    #[error(
        "the local database was written by a newer version of Outpost (format {found}; this \
         version reads up to {known}): install the newer version again — nothing was changed"
    )]
    TooNew {
        /// The file's format.
        found: u32,
        /// The newest format this build knows.
        known: u32,
    },
    /// Moving the file to this build's format failed; it is left as it was.
    #[error(
        "the local database could not be moved from format {from} to {to}, and was left as \
         it was: {source}"
    )]
    Migration {
        /// The format the failed step started from.
        from: u32,
        /// The format it was to reach.
        to: u32,
        /// Why it failed.
        source: Box<StoreError>,
    },
    /// SQLite failed.
    #[error("local database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored JSON could not be read back (a bug or a corrupted row).
    #[error("corrupt local data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the disk (or the file's page cap) is full: the write failed and its
    /// transaction rolled back, so everything before it is as it was.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            Self::Migration { source, .. } => source.is_disk_full(),
            _ => false,
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}
