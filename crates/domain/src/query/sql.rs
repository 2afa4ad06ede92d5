//! Compilation to parameterized SQL for SQLite and PostgreSQL, over the typed column
//! storage of [`column`](super::column). Every value is a bound [`SqlParam`]; the only text
//! that reaches the SQL is keywords, placeholders and the caller's column expressions.

use super::check::{Column, Node};
use super::column::stores_text;
use super::eval::{EvalContext, date_bounds};
use super::{CheckedFilter, CheckedQuery, CompareOp, TextFunction};
use crate::metadata::SortDir;

/// The SQL engine to compile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the device, and the server's embedded store): placeholders `?1`, `?2`, …
    Sqlite,
    /// PostgreSQL (the server at scale): placeholders `$1`, `$2`, …
    Postgres,
}

impl Dialect {
    /// The placeholder of the 1-based parameter `n`.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }
}

/// A value bound to a placeholder; also a typed column's value (see
/// [`column_value`](super::column_value)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlParam {
    /// `NULL`.
    Null,
    /// A 64-bit integer (`INTEGER` / `BIGINT`).
    Int(i64),
    /// A text (`TEXT`).
    Text(String),
}

/// A piece of SQL and the values of its placeholders, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SqlFragment {
    /// The SQL text.
    pub sql: String,
    /// The values of its placeholders, the first at the caller's `first_param`.
    pub params: Vec<SqlParam>,
}

/// The ASCII letters PostgreSQL folds with `translate`, as SQLite's `LIKE` does.
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

struct Emitter<'a> {
    dialect: Dialect,
    column: &'a dyn Fn(&str) -> String,
    ctx: &'a EvalContext,
    next: usize,
    params: Vec<SqlParam>,
}

impl Emitter<'_> {
    fn param(&mut self, value: SqlParam) -> String {
        let n = self.next;
        self.next += 1;
        self.params.push(value);
        self.dialect.placeholder(n)
    }

    fn col(&self, column: &Column) -> String {
        (self.column)(&column.name)
    }

    /// The column as an ordering comparison or sort needs it: byte order on PostgreSQL.
    fn ordered(&self, column: &Column) -> String {
        ordered(self.dialect, self.column, column)
    }

    fn node(&mut self, node: &Node) -> String {
        match node {
            Node::Compare { column, op, value } => {
                let left = if op.is_ordering() {
                    self.ordered(column)
                } else {
                    self.col(column)
                };
                let symbol = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "<>",
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                };
                let p = self.param(value.clone());
                format!("{left} {symbol} {p}")
            }
            Node::Null { column, is_null } => {
                let not = if *is_null { "" } else { "NOT " };
                format!("{} IS {not}NULL", self.col(column))
            }
            Node::Text {
                column,
                function,
                needle,
            } => {
                let escaped = needle
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pattern = match function {
                    TextFunction::Contains => format!("%{escaped}%"),
                    TextFunction::StartsWith => format!("{escaped}%"),
                    TextFunction::EndsWith => format!("%{escaped}"),
                };
                let folded = match self.dialect {
                    Dialect::Sqlite => self.col(column),
                    Dialect::Postgres => {
                        format!("translate({}, '{UPPER}', '{LOWER}')", self.col(column))
                    }
                };
                let p = self.param(SqlParam::Text(pattern));
                format!("{folded} LIKE {p} ESCAPE '\\'")
            }
            Node::Shortcut { column, shortcut } => {
                let col = self.col(column);
                let references = self.ctx.references(*shortcut);
                match references.as_slice() {
                    // `IN ()` is not SQL everywhere, and SQLite makes it false even for null.
                    [] => format!("(CASE WHEN {col} IS NULL THEN NULL ELSE FALSE END)"),
                    [one] => {
                        let p = self.param(SqlParam::Text(one.clone()));
                        format!("{col} = {p}")
                    }
                    many => {
                        let ps: Vec<String> = many
                            .iter()
                            .map(|r| self.param(SqlParam::Text(r.clone())))
                            .collect();
                        format!("{col} IN ({})", ps.join(", "))
                    }
                }
            }
            Node::Date {
                column,
                function,
                date_only,
            } => {
                let col = self.ordered(column);
                let bounds = date_bounds(*function, *date_only, self.ctx.now);
                match bounds.low {
                    Some(low) => {
                        let low = self.param(SqlParam::Text(low));
                        let high = self.param(SqlParam::Text(bounds.high));
                        format!("({col} >= {low} AND {col} <= {high})")
                    }
                    None => {
                        let high = self.param(SqlParam::Text(bounds.high));
                        format!("{col} <= {high}")
                    }
                }
            }
            Node::Not(inner) => {
                let inner_sql = self.node(inner);
                match **inner {
                    Node::And(_) | Node::Or(_) => format!("NOT {inner_sql}"),
                    _ => format!("NOT ({inner_sql})"),
                }
            }
            Node::And(terms) => self.join(terms, " AND "),
            Node::Or(terms) => self.join(terms, " OR "),
        }
    }

    fn join(&mut self, terms: &[Node], separator: &str) -> String {
        let parts: Vec<String> = terms.iter().map(|t| self.node(t)).collect();
        format!("({})", parts.join(separator))
    }
}

fn ordered(dialect: Dialect, column: &dyn Fn(&str) -> String, col: &Column) -> String {
    let name = column(&col.name);
    match dialect {
        Dialect::Postgres if stores_text(&col.kind) => format!("{name} COLLATE \"C\""),
        _ => name,
    }
}

impl CheckedFilter {
    /// Compiles the filter to a SQL boolean expression, safe to combine with `AND` / `OR`
    /// as it is. `column` gives the (quoted) column expression of a field name or `id`;
    /// placeholders are numbered from `first_param` (SQLite `?N`, PostgreSQL `$N`). Owner
    /// shortcuts and date functions are resolved against `ctx` now, into parameters.
    pub fn to_sql(
        &self,
        dialect: Dialect,
        column: &dyn Fn(&str) -> String,
        ctx: &EvalContext,
        first_param: usize,
    ) -> SqlFragment {
        let mut emitter = Emitter {
            dialect,
            column,
            ctx,
            next: first_param,
            params: Vec::new(),
        };
        let sql = emitter.node(&self.root);
        SqlFragment {
            sql,
            params: emitter.params,
        }
    }
}

impl CheckedQuery {
    /// The sort keys for `ORDER BY` (without the keyword): each key, then `id` ascending
    /// unless it is already a key. Null sorts first ascending and last descending on both
    /// engines; text sorts by bytes. Needs no parameters.
    pub fn order_by_sql(&self, dialect: Dialect, column: &dyn Fn(&str) -> String) -> String {
        let id = Column {
            name: "id".to_owned(),
            kind: crate::metadata::AttributeKind::Text { max_len: u32::MAX },
            is_id: true,
        };
        let tie_break = (!self.order.iter().any(|(c, _)| c.is_id)).then_some((&id, SortDir::Asc));
        self.order
            .iter()
            .map(|(c, d)| (c, *d))
            .chain(tie_break)
            .map(|(c, dir)| {
                let name = ordered(dialect, column, c);
                match (dialect, dir) {
                    (Dialect::Sqlite, SortDir::Asc) => format!("{name} ASC"),
                    (Dialect::Sqlite, SortDir::Desc) => format!("{name} DESC"),
                    (Dialect::Postgres, SortDir::Asc) => format!("{name} ASC NULLS FIRST"),
                    (Dialect::Postgres, SortDir::Desc) => format!("{name} DESC NULLS LAST"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The whole query: `SELECT <columns or *> FROM <table> [WHERE …] ORDER BY … [LIMIT …]`.
    /// `table` is the caller's (quoted) table expression; see [`CheckedFilter::to_sql`] for
    /// `column`, `ctx` and `first_param`. The `LIMIT` is a parameter too.
    pub fn to_sql(
        &self,
        dialect: Dialect,
        table: &str,
        column: &dyn Fn(&str) -> String,
        ctx: &EvalContext,
        first_param: usize,
    ) -> SqlFragment {
        let columns = match &self.select {
            Some(select) => select
                .iter()
                .map(|c| column(&c.name))
                .collect::<Vec<_>>()
                .join(", "),
            None => "*".to_owned(),
        };
        let mut sql = format!("SELECT {columns} FROM {table}");
        let mut params = Vec::new();
        if let Some(filter) = &self.filter {
            let fragment = filter.to_sql(dialect, column, ctx, first_param);
            sql.push_str(" WHERE ");
            sql.push_str(&fragment.sql);
            params = fragment.params;
        }
        sql.push_str(" ORDER BY ");
        sql.push_str(&self.order_by_sql(dialect, column));
        if let Some(top) = self.top {
            let n = first_param + params.len();
            params.push(SqlParam::Int(i64::from(top)));
            sql.push_str(&format!(" LIMIT {}", dialect.placeholder(n)));
        }
        SqlFragment { sql, params }
    }
}

#[cfg(test)]
mod tests;
