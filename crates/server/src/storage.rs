//! The org database on embedded SQLite.
//!
//! One connection behind a mutex: SQLite has one writer anyway, and every call runs on
//! tokio's blocking pool so handlers never block the reactor. Row versions come from one
//! monotonic sequence (`row_seq`), so a delta pull is `row_version > checkpoint`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use outpost_domain::operation::{Applied, ConflictCheck, StorageFailure, StoredRecord};
use outpost_domain::{ApplyContext, EntityRef, Fields, Metadata, OpError, RecordStorage};
use outpost_protocol::{OpResult, PushOp, RecordPayload};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::auth::Caller;

/// Migrations of the server's own tables, applied in order; `PRAGMA user_version` counts
/// how many ran. Append, never edit.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE org_user (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL
);
CREATE TABLE auth_token (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES org_user(id),
  device_id TEXT NOT NULL,
  created_on TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE row_seq (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT INTO row_seq (id, value) VALUES (1, 0);
CREATE TABLE account (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT,
  revenue TEXT,
  owner_id TEXT NOT NULL REFERENCES org_user(id),
  row_version INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  modified_on TEXT NOT NULL,
  modified_by TEXT
);
CREATE INDEX account_row_version ON account(row_version);
CREATE TABLE applied_op (
  device_id TEXT NOT NULL,
  op_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  PRIMARY KEY (device_id, op_id)
);
"];

/// The skeleton account's fields, in the order the queries below select them.
const ACCOUNT_FIELDS: [&str; 4] = ["name", "city", "revenue", "owner"];

/// The account fields of a row whose columns `first..` are name, city, revenue and the
/// owner's display name.
fn account_fields(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Fields> {
    ACCOUNT_FIELDS
        .iter()
        .enumerate()
        .map(|(i, name)| Ok(((*name).to_owned(), row.get(first + i)?)))
        .collect()
}

/// Inserts an account with the next row version, modified by its owner.
fn insert_account_in_tx(
    tx: &Transaction<'_>,
    id: &str,
    fields: &Fields,
    owner_id: &str,
) -> rusqlite::Result<u64> {
    let version = next_row_version(tx)?;
    let field = |name: &str| fields.get(name).cloned().flatten();
    tx.execute(
        "INSERT INTO account (id, name, city, revenue, owner_id, row_version, modified_on, modified_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5)",
        params![id, field("name"), field("city"), field("revenue"), owner_id, version, now_text()],
    )?;
    Ok(version)
}

/// A handle on the org database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// The database, borrowed for one call.
pub struct Store<'c> {
    conn: &'c mut Connection,
}

impl Db {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the org database {}", path.display()))?;
        Self::from_connection(conn)
    }

    /// An in-memory database, for tests.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(mut conn: Connection) -> anyhow::Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the blocking pool with the database to itself.
    pub async fn call<T, E>(
        &self,
        f: impl FnOnce(&mut Store<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("the database lock was poisoned by a panic"))?;
            f(&mut Store { conn: &mut guard })
        })
        .await
        .map_err(|e| E::from(anyhow::anyhow!("database task failed: {e}")))?
    }

    /// Runs `f` on the current thread (for set-up code outside the runtime).
    pub fn blocking<T>(&self, f: impl FnOnce(&mut Store<'_>) -> T) -> anyhow::Result<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the database lock was poisoned by a panic"))?;
        Ok(f(&mut Store { conn: &mut guard }))
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("server migration {}", i + 1))?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A user row as sign-in needs it.
pub struct UserAuth {
    /// User id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// PHC string.
    pub password_hash: String,
}

/// The server's one clock.
#[allow(clippy::disallowed_methods)] // the one real clock (clippy.toml)
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn now_text() -> String {
    outpost_domain::value::format_datetime(now())
}

fn next_row_version(tx: &Transaction<'_>) -> rusqlite::Result<u64> {
    tx.query_row(
        "UPDATE row_seq SET value = value + 1 WHERE id = 1 RETURNING value",
        [],
        |r| r.get(0),
    )
}

impl Store<'_> {
    /// Whether the org has any user yet (the demo org is seeded into an empty one).
    pub fn is_empty(&mut self) -> anyhow::Result<bool> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM org_user", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// Adds a user.
    pub fn user_insert(
        &mut self,
        id: &str,
        username: &str,
        display_name: &str,
        password_hash: &str,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO org_user (id, username, display_name, password_hash) VALUES (?1, ?2, ?3, ?4)",
            params![id, username, display_name, password_hash],
        )?;
        Ok(())
    }

    /// Adds an account with the next row version.
    pub fn account_insert(
        &mut self,
        id: &str,
        fields: &Fields,
        owner_id: &str,
    ) -> anyhow::Result<u64> {
        let tx = self.conn.transaction()?;
        let version = insert_account_in_tx(&tx, id, fields, owner_id)?;
        tx.commit()?;
        Ok(version)
    }

    /// The user to check a sign-in against.
    pub fn user_by_username(&mut self, username: &str) -> anyhow::Result<Option<UserAuth>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, display_name, password_hash FROM org_user WHERE username = ?1",
                [username],
                |r| {
                    Ok(UserAuth {
                        id: r.get(0)?,
                        display_name: r.get(1)?,
                        password_hash: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Stores a token's hash for a user's device.
    pub fn token_insert(
        &mut self,
        token_hash: &str,
        user_id: &str,
        device_id: &str,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO auth_token (token_hash, user_id, device_id, created_on) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, user_id, device_id, now_text()],
        )?;
        Ok(())
    }

    /// The caller a token hash belongs to, unless revoked.
    pub fn caller_by_token_hash(&mut self, token_hash: &str) -> anyhow::Result<Option<Caller>> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_id, device_id FROM auth_token WHERE token_hash = ?1 AND revoked = 0",
                [token_hash],
                |r| {
                    Ok(Caller {
                        user_id: r.get(0)?,
                        device_id: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Up to `limit` record changes after `checkpoint`, in row-version order, and whether
    /// more follow. Deleted records come back as removals.
    pub fn changes_since(
        &mut self,
        checkpoint: u64,
        limit: u32,
    ) -> anyhow::Result<(Vec<RecordPayload>, Vec<String>, u64, bool)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.name, a.city, a.revenue, u.display_name, a.row_version, a.deleted
             FROM account a JOIN org_user u ON u.id = a.owner_id
             WHERE a.row_version > ?1 ORDER BY a.row_version LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![checkpoint, i64::from(limit) + 1])?;
        let (mut records, mut removed, mut last, mut seen) =
            (Vec::new(), Vec::new(), checkpoint, 0u32);
        let mut has_more = false;
        while let Some(row) = rows.next()? {
            if seen == limit {
                has_more = true;
                break;
            }
            seen += 1;
            let id: String = row.get(0)?;
            last = row.get(5)?;
            if row.get::<_, bool>(6)? {
                removed.push(id);
                continue;
            }
            records.push(RecordPayload {
                entity: "account".to_owned(),
                id,
                row_version: last,
                fields: account_fields(row, 1)?,
                reason: "profile".to_owned(),
            });
        }
        Ok((records, removed, last, has_more))
    }

    /// Applies one pushed operation in its own transaction, exactly once per
    /// (device, op id): a resent op gets the outcome stored the first time.
    pub fn push_apply(
        &mut self,
        metadata: &Metadata,
        caller: &Caller,
        op: &PushOp,
    ) -> anyhow::Result<OpResult> {
        let tx = self.conn.transaction()?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT outcome FROM applied_op WHERE device_id = ?1 AND op_id = ?2",
                params![caller.device_id, op.op_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(outcome) = stored {
            return Ok(serde_json::from_str(&outcome)?);
        }
        // The skeleton server keeps accounts only; what needs the tables of issue 4 is
        // refused per operation, with a code, instead of failing the whole push.
        let supported =
            op.op.target().0 == "account" && matches!(op.op.kind(), "create" | "update" | "delete");
        let result = if supported {
            apply_in_tx(&tx, metadata, caller, op)?
        } else {
            OpResult::Error {
                code: "unsupported".to_owned(),
                message: format!(
                    "`{}` on `{}` is not supported by this server yet",
                    op.op.kind(),
                    op.op.target().0
                ),
                fields: Vec::new(),
            }
        };
        tx.execute(
            "INSERT INTO applied_op (device_id, op_id, user_id, outcome) VALUES (?1, ?2, ?3, ?4)",
            params![
                caller.device_id,
                op.op_id,
                caller.user_id,
                serde_json::to_string(&result)?
            ],
        )?;
        tx.commit()?;
        Ok(result)
    }

    /// How many times operations were recorded as applied (for tests and diagnostics).
    pub fn applied_op_count(&mut self) -> anyhow::Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM applied_op", [], |r| r.get(0))?)
    }

    /// An account's fields and row version, as the server holds them.
    pub fn account_get(&mut self, id: &str) -> anyhow::Result<Option<(Fields, u64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT a.name, a.city, a.revenue, u.display_name, a.row_version FROM account a
                 JOIN org_user u ON u.id = a.owner_id WHERE a.id = ?1 AND a.deleted = 0",
                [id],
                |r| Ok((account_fields(r, 0)?, r.get(4)?)),
            )
            .optional()?)
    }
}

/// Applies one operation through the domain's `apply` inside the push's transaction.
fn apply_in_tx(
    tx: &Transaction<'_>,
    metadata: &Metadata,
    caller: &Caller,
    op: &PushOp,
) -> anyhow::Result<OpResult> {
    let mut storage = TxStorage {
        tx,
        user_id: &caller.user_id,
        row_version: None,
    };
    let ctx = ApplyContext {
        user: EntityRef {
            entity: "systemuser".to_owned(),
            id: caller.user_id.clone(),
        },
        // The skeleton org has no business units yet (issue 4 brings them).
        business_unit_id: String::new(),
        now: now(),
    };
    let result = match op
        .op
        .apply(&ctx, metadata, &mut storage, ConflictCheck::Detect)
    {
        Ok(Applied::Done(_)) => OpResult::Applied {
            row_version: storage.row_version.unwrap_or_default(),
        },
        Ok(Applied::Conflict(fields)) => OpResult::Conflict { fields },
        Err(OpError::Storage(e)) => return Err(anyhow::Error::new(e)),
        Err(e) => OpResult::Error {
            code: e.code().to_owned(),
            message: e.to_string(),
            fields: Vec::new(),
        },
    };
    Ok(result)
}

/// The domain's storage trait over an open server transaction.
struct TxStorage<'t, 'c> {
    tx: &'t Transaction<'c>,
    user_id: &'t str,
    row_version: Option<u64>,
}

fn failure(e: rusqlite::Error) -> StorageFailure {
    StorageFailure(e.to_string())
}

impl RecordStorage for TxStorage<'_, '_> {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        if entity != "account" {
            return Ok(None);
        }
        self.tx
            .query_row(
                "SELECT a.name, a.city, a.revenue, u.display_name FROM account a
                 JOIN org_user u ON u.id = a.owner_id WHERE a.id = ?1 AND a.deleted = 0",
                [id],
                |r| {
                    Ok(StoredRecord {
                        fields: account_fields(r, 0)?,
                    })
                },
            )
            .optional()
            .map_err(failure)
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        if entity != "account" {
            return Err(StorageFailure(format!("no table for entity {entity}")));
        }
        let version = next_row_version(self.tx).map_err(failure)?;
        let value = |name: &str| fields.get(name).cloned().flatten();
        // The owner is not written here: it changes by assign, not by update.
        self.tx
            .execute(
                "UPDATE account SET name = ?1, city = ?2, revenue = ?3, row_version = ?4,
                 modified_on = ?5, modified_by = ?6 WHERE id = ?7",
                params![
                    value("name"),
                    value("city"),
                    value("revenue"),
                    version,
                    now_text(),
                    self.user_id,
                    id
                ],
            )
            .map_err(failure)?;
        self.row_version = Some(version);
        Ok(())
    }

    fn insert(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        if entity != "account" {
            return Err(StorageFailure(format!("no table for entity {entity}")));
        }
        let version = insert_account_in_tx(self.tx, id, fields, self.user_id).map_err(failure)?;
        self.row_version = Some(version);
        Ok(())
    }

    fn delete(&mut self, entity: &str, id: &str) -> Result<(), StorageFailure> {
        if entity != "account" {
            return Err(StorageFailure(format!("no table for entity {entity}")));
        }
        // A tombstone with a new row version, so delta pulls report the removal.
        let version = next_row_version(self.tx).map_err(failure)?;
        self.tx
            .execute(
                "UPDATE account SET deleted = 1, row_version = ?1, modified_on = ?2, modified_by = ?3 WHERE id = ?4",
                params![version, now_text(), self.user_id, id],
            )
            .map_err(failure)?;
        self.row_version = Some(version);
        Ok(())
    }

    fn follow_set(
        &mut self,
        _user: &EntityRef,
        entity: &str,
        _id: &str,
        _following: bool,
    ) -> Result<(), StorageFailure> {
        // Unreachable through `push_apply`, which refuses follows until issue 4 brings
        // the follow table; a failure here is a bug, not a silent no-op.
        Err(StorageFailure(format!(
            "following {entity} records is not stored yet"
        )))
    }
}
