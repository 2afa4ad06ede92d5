//! The org database behind one small synchronous interface, [`Conn`], with two engines:
//! embedded SQLite (the default: one folder, no set-up) and PostgreSQL (several stateless
//! server processes on one database). Everything above this module — org, auth, records,
//! sync, admin — is written once against `&mut dyn Conn` inside a transaction, and the
//! contract suite (`tests/server/contract.rs`) runs the same assertions on both engines.
//!
//! Why synchronous (ADR 0006): the domain's [`outpost_domain::RecordStorage`] is
//! synchronous (the device runs it over SQLCipher), so an operation applies inside one
//! transaction by plain calls. Every transaction runs on tokio's blocking pool; the
//! PostgreSQL engine drives the async `tokio-postgres` client (pooled by deadpool) from
//! there with `Handle::block_on`.
//!
//! SQL is written once with PostgreSQL placeholders (`$1`); the SQLite engine rewrites them
//! to its numbered form (`?1`). Types are the query language's typed columns
//! ([`outpost_domain::query::column_type`]): 64-bit integers and text, nothing else, so
//! every value crosses as an [`SqlParam`].
//!
//! **Writers are serialized** ([`Db::write`]): a write transaction first locks the one row
//! of `row_seq`, which hands out row versions. On SQLite that is what `BEGIN IMMEDIATE`
//! does anyway; on PostgreSQL it makes commit order equal version order, so a delta pull's
//! `row_version > checkpoint` can never skip a row whose transaction committed late, and
//! an operation's reads cannot go stale before its writes.

mod postgres;
mod schema;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
pub use outpost_domain::query::{Dialect, SqlParam};

pub use schema::{entity_table, sync_entity_tables};

/// A statement the engine refused as too large or too complex (too many parameters, an
/// expression too deep): the request asked for too much, so it is the caller's 400, not
/// the server's failure. Found in an error's chain.
#[derive(Debug, thiserror::Error)]
#[error("the query is too large for the database: {0}")]
pub struct TooComplex(pub String);

/// A text parameter holding the NUL character, which PostgreSQL's text cannot hold: the
/// request's fault (a 400), not the server's. Operations and queries refuse NUL before
/// SQL; this catches what else a request carries (a path id, a user name).
#[derive(Debug, thiserror::Error)]
#[error("a text may not contain the NUL character")]
pub struct NulText;

/// One row of a result: the values in select order.
pub type Row = Vec<SqlParam>;

/// An open transaction on either engine. Statements are prepared once per connection and
/// cached.
pub trait Conn {
    /// Which SQL flavour the engine speaks.
    fn dialect(&self) -> Dialect;

    /// Runs a statement; the number of rows it changed.
    ///
    /// # Errors
    /// The engine's error, with the statement.
    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<u64>;

    /// Runs a query; every row.
    ///
    /// # Errors
    /// The engine's error, with the statement.
    fn query(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<Vec<Row>>;

    /// Runs several statements without parameters (schema changes).
    ///
    /// # Errors
    /// The engine's error.
    fn batch(&mut self, sql: &str) -> anyhow::Result<()>;
}

impl dyn Conn + '_ {
    /// The first row, if any.
    ///
    /// # Errors
    /// See [`Conn::query`].
    pub fn query_opt(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first column of the first row, which must exist.
    ///
    /// # Errors
    /// See [`Conn::query`]; also when there is no row.
    pub fn query_value(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<SqlParam> {
        self.query_opt(sql, params)?
            .and_then(|row| row.into_iter().next())
            .with_context(|| format!("`{sql}` returned no row"))
    }

    /// The next row version: every write takes one (see the module docs).
    ///
    /// # Errors
    /// See [`Conn::query`].
    pub fn next_version(&mut self) -> anyhow::Result<i64> {
        self.next_versions(1)
    }

    /// Takes the next `n` row versions at once (bulk loads); the last of them.
    ///
    /// # Errors
    /// See [`Conn::query`].
    pub fn next_versions(&mut self, n: i64) -> anyhow::Result<i64> {
        int(&self.query_value(
            "UPDATE row_seq SET value = value + $1 WHERE id = 1 RETURNING value",
            &[SqlParam::Int(n)],
        )?)
    }

    /// The last row version a committed write took.
    ///
    /// # Errors
    /// See [`Conn::query`].
    pub fn current_version(&mut self) -> anyhow::Result<i64> {
        int(&self.query_value("SELECT value FROM row_seq WHERE id = 1", &[])?)
    }
}

/// A text parameter.
pub fn text(value: impl Into<String>) -> SqlParam {
    SqlParam::Text(value.into())
}

/// A text parameter, or null.
pub fn opt_text(value: Option<impl Into<String>>) -> SqlParam {
    value.map_or(SqlParam::Null, |v| SqlParam::Text(v.into()))
}

/// An integer parameter.
pub fn int_param(value: impl Into<i64>) -> SqlParam {
    SqlParam::Int(value.into())
}

/// A column value read as an integer.
///
/// # Errors
/// When the value is null or text.
pub fn int(value: &SqlParam) -> anyhow::Result<i64> {
    match value {
        SqlParam::Int(n) => Ok(*n),
        other => anyhow::bail!("expected an integer column, found {other:?}"),
    }
}

/// A column value read as text.
///
/// # Errors
/// When the value is null or an integer.
pub fn string(value: &SqlParam) -> anyhow::Result<String> {
    match value {
        SqlParam::Text(s) => Ok(s.clone()),
        other => anyhow::bail!("expected a text column, found {other:?}"),
    }
}

/// A column value read as optional text.
///
/// # Errors
/// When the value is an integer.
pub fn opt_string(value: &SqlParam) -> anyhow::Result<Option<String>> {
    match value {
        SqlParam::Null => Ok(None),
        SqlParam::Text(s) => Ok(Some(s.clone())),
        SqlParam::Int(n) => anyhow::bail!("expected a text column, found the integer {n}"),
    }
}

/// Where the org database lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// An SQLite file (created when missing).
    Sqlite(std::path::PathBuf),
    /// An SQLite database in memory (tests).
    SqliteMemory,
    /// A PostgreSQL connection string (`postgres://user@host:port/db`).
    Postgres(String),
}

#[derive(Clone)]
enum Engine {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

/// A handle on the org database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    engine: Arc<Engine>,
}

impl Db {
    /// Opens the database, creating and migrating the server's own tables as needed.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated.
    pub async fn open(location: &Location) -> anyhow::Result<Self> {
        let engine = match location {
            Location::Sqlite(path) => Engine::Sqlite(sqlite::SqliteDb::open(Some(path))?),
            Location::SqliteMemory => Engine::Sqlite(sqlite::SqliteDb::open(None)?),
            Location::Postgres(url) => Engine::Postgres(postgres::PgDb::connect(url).await?),
        };
        let db = Self {
            engine: Arc::new(engine),
        };
        db.tx(schema::migrate).await?;
        Ok(db)
    }

    /// Opens an SQLite database in a folder (`org.sqlite3`), the default deployment. The
    /// folder is made 0700 ([`crate::private`]).
    ///
    /// # Errors
    /// See [`Db::open`].
    pub async fn open_folder(dir: &Path) -> anyhow::Result<Self> {
        crate::private::dir_create(dir)?;
        Self::open(&Location::Sqlite(dir.join("org.sqlite3"))).await
    }

    /// Runs `f` in a transaction on the blocking pool: committed when `f` returns `Ok`,
    /// rolled back otherwise. For reads and for bookkeeping that takes no row version.
    ///
    /// # Errors
    /// `f`'s error, or the engine's.
    pub async fn tx<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> anyhow::Result<T> + Send + 'static,
    {
        self.run(false, f).await
    }

    /// [`Db::tx`] for a transaction that writes records: it takes the writer lock first
    /// (see the module docs).
    ///
    /// # Errors
    /// `f`'s error, or the engine's.
    pub async fn write<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> anyhow::Result<T> + Send + 'static,
    {
        self.run(true, f).await
    }

    async fn run<T, F>(&self, write: bool, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> anyhow::Result<T> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || match &*engine {
            Engine::Sqlite(db) => db.transaction(write, f),
            Engine::Postgres(db) => db.transaction(&handle, write, f),
        })
        .await
        .map_err(|e| anyhow::anyhow!("database task failed: {e}"))?
    }
}
