//! The PostgreSQL engine: `tokio-postgres` connections pooled by deadpool, driven from the
//! blocking pool with `Handle::block_on` (see the parent module). A write transaction
//! locks `row_seq` first, which serializes writers across every server process sharing
//! the database.

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Statement};

use super::{Conn, Dialect, Row, SqlParam};

/// Connections per server process.
const POOL_SIZE: usize = 16;

/// Prepared statements a connection keeps before it forgets them all.
const MAX_CACHED_STATEMENTS: usize = 500;

#[derive(Clone)]
pub(super) struct PgDb {
    pool: Pool,
}

impl PgDb {
    pub(super) async fn connect(url: &str) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .with_context(|| "reading the PostgreSQL connection string".to_owned())?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .context("building the PostgreSQL pool")?;
        // Fail now, with the reason, rather than on the first request.
        let client = pool.get().await.context("connecting to PostgreSQL")?;
        // This server never turns durability down (PostgreSQL's defaults, `fsync = on` and
        // `synchronous_commit = on`, make a commit durable before it returns); say so when
        // the database itself was set up without it, since pushes are acknowledged on it.
        for setting in ["fsync", "synchronous_commit"] {
            let value: String = client
                .query_one(&format!("SHOW {setting}"), &[])
                .await
                .map_err(|e| described(&e, setting))?
                .try_get(0)?;
            if value == "off" {
                tracing::warn!(
                    setting,
                    "PostgreSQL runs with {setting} = off: a push acknowledged just before a crash can be lost"
                );
            }
        }
        drop(client);
        Ok(Self { pool })
    }

    pub(super) fn transaction<T>(
        &self,
        handle: &Handle,
        write: bool,
        f: impl FnOnce(&mut dyn Conn) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut client = handle
            .block_on(self.pool.get())
            .context("taking a PostgreSQL connection")?;
        // Scope SQL varies with the user and list sizes: keep each connection's prepared
        // statements bounded (dropped statements are closed on the server too).
        if client.statement_cache.size() > MAX_CACHED_STATEMENTS {
            client.statement_cache.clear();
        }
        let tx = handle
            .block_on(client.transaction())
            .context("starting a PostgreSQL transaction")?;
        let mut conn = PgConn { tx: &tx, handle };
        if write {
            conn.query("SELECT value FROM row_seq WHERE id = 1 FOR UPDATE", &[])?;
        }
        match f(&mut conn) {
            Ok(value) => {
                handle
                    .block_on(tx.commit())
                    .map_err(|e| described(&e, "COMMIT"))?;
                Ok(value)
            }
            Err(e) => {
                // Dropping the transaction rolls it back too; saying so is clearer.
                let _ = handle.block_on(tx.rollback());
                Err(e)
            }
        }
    }
}

struct PgConn<'t, 'c> {
    tx: &'t deadpool_postgres::Transaction<'c>,
    handle: &'t Handle,
}

/// The most parameters one statement may bind (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// The server's message for a refused statement (tokio-postgres' own text is "db error");
/// [`super::TooComplex`] for a statement over one of PostgreSQL's program limits (SQLSTATE
/// class 54: too complex, too many arguments, stack depth).
fn described(e: &tokio_postgres::Error, sql: &str) -> anyhow::Error {
    let detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned());
    if e.code().is_some_and(|c| c.code().starts_with("54")) {
        return anyhow::Error::new(super::TooComplex(detail));
    }
    anyhow::anyhow!("PostgreSQL refused `{sql}`: {detail}")
}

type Bound = Box<dyn ToSql + Sync + Send>;

/// A parameter as the type PostgreSQL inferred for its placeholder.
fn bind(param: &SqlParam, ty: &Type) -> anyhow::Result<Bound> {
    Ok(match (param, ty) {
        (SqlParam::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (SqlParam::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (SqlParam::Null, t) if *t == Type::INT2 => Box::new(None::<i16>),
        (SqlParam::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (SqlParam::Null, _) => Box::new(None::<String>),
        (SqlParam::Int(n), t) if *t == Type::INT4 => Box::new(i32::try_from(*n)?),
        (SqlParam::Int(n), t) if *t == Type::INT2 => Box::new(i16::try_from(*n)?),
        (SqlParam::Int(n), t) if *t == Type::BOOL => Box::new(*n != 0),
        (SqlParam::Int(n), t) if *t == Type::TEXT || *t == Type::VARCHAR => Box::new(n.to_string()),
        (SqlParam::Int(n), _) => Box::new(*n),
        (SqlParam::Text(s), _) => Box::new(s.clone()),
    })
}

fn read(row: &tokio_postgres::Row, i: usize) -> anyhow::Result<SqlParam> {
    let ty = row.columns()[i].type_();
    let value = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map(SqlParam::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map(|n| SqlParam::Int(n.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?
            .map(|n| SqlParam::Int(n.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map(|b| SqlParam::Int(b.into()))
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME || *ty == Type::BPCHAR
    {
        row.try_get::<_, Option<String>>(i)?.map(SqlParam::Text)
    } else {
        anyhow::bail!("column {i} has the unsupported type {ty}")
    };
    Ok(value.unwrap_or(SqlParam::Null))
}

impl PgConn<'_, '_> {
    fn prepared(&self, sql: &str, params: &[SqlParam]) -> anyhow::Result<(Statement, Vec<Bound>)> {
        if params.len() > MAX_PARAMS {
            return Err(anyhow::Error::new(super::TooComplex(format!(
                "{} parameters, more than {MAX_PARAMS}",
                params.len()
            ))));
        }
        if params
            .iter()
            .any(|p| matches!(p, SqlParam::Text(t) if t.contains('\0')))
        {
            return Err(anyhow::Error::new(super::NulText));
        }
        let statement = self
            .handle
            .block_on(self.tx.prepare_cached(sql))
            .map_err(|e| described(&e, sql))?;
        let bound = params
            .iter()
            .zip(statement.params())
            .map(|(p, t)| bind(p, t))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((statement, bound))
    }
}

fn refs(values: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl Conn for PgConn<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<u64> {
        let (statement, bound) = self.prepared(sql, params)?;
        self.handle
            .block_on(self.tx.execute(&statement, &refs(&bound)))
            .map_err(|e| described(&e, sql))
    }

    fn query(&mut self, sql: &str, params: &[SqlParam]) -> anyhow::Result<Vec<Row>> {
        let (statement, bound) = self.prepared(sql, params)?;
        let rows = self
            .handle
            .block_on(self.tx.query(&statement, &refs(&bound)))
            .map_err(|e| described(&e, sql))?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| read(row, i)).collect())
            .collect()
    }

    fn batch(&mut self, sql: &str) -> anyhow::Result<()> {
        self.handle
            .block_on(self.tx.batch_execute(sql))
            .map_err(|e| described(&e, sql))
    }
}
