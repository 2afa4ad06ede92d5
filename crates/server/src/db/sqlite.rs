//! The embedded engine: one SQLite connection (WAL, `synchronous=FULL`: every commit is
//! durable before it returns) behind a mutex. SQLite has one writer
//! anyway, and every transaction is `BEGIN IMMEDIATE`, so it takes the write lock up
//! front and can never fail to upgrade half-way.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use super::{Conn, Dialect, Row, SqlParam};

#[derive(Clone)]
pub(super) struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteDb {
    pub(super) fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        let conn = match path {
            Some(path) => {
                private_files(path)?;
                Connection::open(path)
                    .with_context(|| format!("opening the org database {}", path.display()))?
            }
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Scope SQL differs per entity and user: with rusqlite's default of 16 statements
        // a push or a page parsed its statements again and again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "journal_mode", "wal")?;
        // FULL: WAL syncs at every commit, so a push answered `applied` (after which the
        // device drops its op) is on disk even if the machine loses power right after.
        // NORMAL would only keep the database consistent, losing the last commits.
        conn.pragma_update(None, "synchronous", "full")?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub(super) fn transaction<T>(
        &self,
        _write: bool,
        f: impl FnOnce(&mut dyn Conn) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the database lock was poisoned by a panic"))?;
        let tx = guard.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = f(&mut SqliteConn { tx: &tx })?;
        tx.commit()?;
        Ok(result)
    }
}

/// The database file and its journals are the server user's alone (0600). SQLite creates
/// `-wal` and `-shm` with the main file's mode, so the main file is made 0600 before SQLite
/// opens it; journals an earlier run left behind are tightened too.
fn private_files(path: &Path) -> anyhow::Result<()> {
    crate::private::file_create(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut journal = path.as_os_str().to_owned();
        journal.push(suffix);
        crate::private::file_tighten(Path::new(&journal))?;
    }
    Ok(())
}

struct SqliteConn<'t, 'c> {
    tx: &'t rusqlite::Transaction<'c>,
}

/// Prepared statements the connection keeps.
const STATEMENT_CACHE: usize = 512;

/// `$1` → `?1`: the one SQL text serves both engines (no statement here puts a `$` in a
/// string literal).
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') {
        std::borrow::Cow::Owned(sql.replace('$', "?"))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

fn value(param: &SqlParam) -> Value {
    match param {
        SqlParam::Null => Value::Null,
        SqlParam::Int(n) => Value::Integer(*n),
        SqlParam::Text(s) => Value::Text(s.clone()),
    }
}

fn read(value: ValueRef<'_>) -> anyhow::Result<SqlParam> {
    Ok(match value {
        ValueRef::Null => SqlParam::Null,
        ValueRef::Integer(n) => SqlParam::Int(n),
        ValueRef::Text(bytes) => SqlParam::Text(String::from_utf8(bytes.to_vec())?),
        ValueRef::Real(r) => anyhow::bail!("unexpected real column value {r}"),
        ValueRef::Blob(_) => anyhow::bail!("unexpected blob column value"),
    })
}

/// The engine's error, with the statement; [`super::TooComplex`] when it is SQLite
/// refusing a statement's size (its parameter, expression-depth and parser limits).
fn failed(e: rusqlite::Error, doing: &str, sql: &str) -> anyhow::Error {
    const TOO_COMPLEX: [&str; 5] = [
        "too many SQL variables",
        "variable number must be between",
        "Expression tree is too large",
        "parser stack overflow",
        "string or blob too big",
    ];
    let message = e.to_string();
    if TOO_COMPLEX.iter().any(|m| message.contains(m)) {
        return anyhow::Error::new(super::TooComplex(message));
    }
    anyhow::Error::new(e).context(format!("{doing} `{sql}`"))
}

impl Conn for SqliteConn<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<u64> {
        let sql = sqlite_sql(sql);
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(|e| failed(e, "preparing", &sql))?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(value)))
            .map_err(|e| failed(e, "running", &sql))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<Vec<Row>> {
        let sql = sqlite_sql(sql);
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(|e| failed(e, "preparing", &sql))?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(value)))
            .map_err(|e| failed(e, "running", &sql))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(
                (0..width)
                    .map(|i| read(row.get_ref(i)?))
                    .collect::<anyhow::Result<Row>>()?,
            );
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> anyhow::Result<()> {
        self.tx
            .execute_batch(sql)
            .with_context(|| format!("running `{sql}`"))
    }
}
