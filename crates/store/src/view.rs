//! Reading many records: a view or a scripted query compiled to SQL over the local layer
//! and paged by keyset (C7, C20), full-text search within one entity or across several
//! (C8, B5), which lookups use too (C6).
//!
//! Keyset paging: a page ends with a cursor holding the last row's sort values; the next
//! page asks for the rows strictly after it in the same order (`id` breaks ties), so a
//! page costs the same at row 10 and at row 190,000 and rows written meanwhile never make
//! a page repeat or skip one.

use outpost_domain::EntityDef;
use outpost_domain::metadata::SortDir;
use outpost_domain::query::{CheckedQuery, Dialect, EvalContext, SqlParam};
use rusqlite::OptionalExtension as _;
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;

use crate::table::records::{
    Layer, REASON, column_list, fts_table, param_of, read_fields, sql_value, view_filter_fields,
};
use crate::{LocalRecord, Store, StoreError};

/// One page of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewPage {
    /// The rows, in the view's order.
    pub rows: Vec<LocalRecord>,
    /// How many rows the whole view has (first page only: counting costs a scan).
    pub total: Option<u64>,
    /// The cursor of the next page, when there are more rows.
    pub next: Option<String>,
}

/// A full-text hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The record.
    pub record: LocalRecord,
    /// Its rank among the hits (lower is better; comparable across entities).
    pub rank: f64,
}

/// Turns what a person typed into an FTS5 query: every word must be there, as a prefix
/// (`acm ber` finds "Acme Berlin"); quotes and operators are taken literally. Control
/// characters part words, as the index's tokenizer parts them: FTS5 reads a quoted word
/// only up to a NUL, and would refuse the rest as an unterminated string.
pub(crate) fn match_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| {
            c.is_whitespace() || c.is_control() || c == '-' || c == '/' || c == '.' || c == ','
        })
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn column(name: &str) -> String {
    if name == "id" {
        "t.id".to_owned()
    } else {
        format!("t.\"{name}\"")
    }
}

/// Reads `t.id, <fields…>, t.row_version, pending, reason` rows.
fn select_list(def: &EntityDef) -> String {
    format!(
        "t.id, {}, t.row_version, EXISTS (SELECT 1 FROM sync_outbox_touch o WHERE o.entity = '{}' AND o.record_id = t.id), s.{REASON}",
        column_list(def, "t."),
        def.name
    )
}

fn from_clause(def: &EntityDef) -> String {
    format!(
        "\"{}\" t LEFT JOIN \"{}\" s ON s.id = t.id",
        Layer::Local.table(&def.name),
        Layer::Server.table(&def.name)
    )
}

fn read_record(def: &EntityDef, r: &rusqlite::Row<'_>) -> rusqlite::Result<LocalRecord> {
    let n = def.attributes.len();
    Ok(LocalRecord {
        entity: def.name.clone(),
        id: r.get(0)?,
        fields: read_fields(def, r, 1)?,
        row_version: r.get(n + 1)?,
        pending: r.get(n + 2)?,
        reason: r.get(n + 3)?,
    })
}

/// One local record as the user sees it, with its reason and pending flag.
pub(crate) fn record_in_tx(
    conn: &rusqlite::Connection,
    def: &EntityDef,
    id: &str,
) -> Result<Option<LocalRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE t.id = ?1",
        select_list(def),
        from_clause(def)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| read_record(def, r))
        .optional()?)
}

fn json_of(p: &SqlParam) -> serde_json::Value {
    match p {
        SqlParam::Null => serde_json::Value::Null,
        SqlParam::Int(n) => (*n).into(),
        SqlParam::Text(s) => s.clone().into(),
    }
}

fn param_of_json(v: &serde_json::Value) -> Option<SqlParam> {
    match v {
        serde_json::Value::Null => Some(SqlParam::Null),
        serde_json::Value::Number(n) => n.as_i64().map(SqlParam::Int),
        serde_json::Value::String(s) => Some(SqlParam::Text(s.clone())),
        _ => None,
    }
}

/// The condition "the row sorts after `cursor`" for the sort `keys` (with `id` last),
/// as SQL with its parameters from `?first`. SQLite sorts null first ascending and last
/// descending, which this follows.
fn after_sql(
    keys: &[(String, SortDir)],
    cursor: &[SqlParam],
    first: usize,
) -> (String, Vec<SqlValue>) {
    let mut params = Vec::new();
    let mut next = first;
    let mut bind = |p: &SqlParam, params: &mut Vec<SqlValue>| {
        params.push(sql_value(p.clone()));
        next += 1;
        format!("?{}", next - 1)
    };
    let mut alternatives = Vec::new();
    for i in 0..keys.len() {
        let mut terms = Vec::new();
        for (j, (name, _)) in keys.iter().enumerate().take(i) {
            let col = column(name);
            terms.push(match &cursor[j] {
                SqlParam::Null => format!("{col} IS NULL"),
                p => format!("{col} = {}", bind(p, &mut params)),
            });
        }
        let (name, dir) = &keys[i];
        let col = column(name);
        terms.push(match (&cursor[i], dir) {
            (SqlParam::Null, SortDir::Asc) => format!("{col} IS NOT NULL"),
            (SqlParam::Null, SortDir::Desc) => "0".to_owned(),
            (p, SortDir::Asc) => format!("{col} > {}", bind(p, &mut params)),
            (p, SortDir::Desc) => format!("({col} < {} OR {col} IS NULL)", bind(p, &mut params)),
        });
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    (format!("({})", alternatives.join(" OR ")), params)
}

impl Store {
    /// A page of `query` over the local layer of `entity`, optionally narrowed to the
    /// records whose quick-find text matches `search`, starting after `after` (a cursor
    /// from the previous page). `limit` rows at most (and no more than the query's
    /// `$top` over all pages is the caller's to enforce).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a cursor that is not one of this view's.
    pub fn view_page(
        &self,
        entity: &str,
        query: &CheckedQuery,
        search: Option<&str>,
        after: Option<&str>,
        limit: u32,
        ctx: &EvalContext,
    ) -> Result<ViewPage, StoreError> {
        let def = self.entity(entity)?;
        let built = view_sql(def, query, search, after, limit, ctx)?;
        let total = match &built.count {
            Some((sql, params)) => Some(
                self.conn
                    .prepare_cached(sql)?
                    .query_row(params_from_iter(params.iter()), |r| r.get(0))?,
            ),
            None => None,
        };
        let n = def.attributes.len();
        let mut stmt = self.conn.prepare_cached(&built.page)?;
        let mut rows = Vec::new();
        let mut last_keys = Vec::new();
        let mut query_rows = stmt.query(params_from_iter(built.params.iter()))?;
        let mut more = false;
        while let Some(r) = query_rows.next()? {
            if rows.len() == limit as usize {
                more = true;
                break;
            }
            rows.push(read_record(def, r)?);
            last_keys = (0..built.keys)
                .map(|k| r.get_ref(n + 4 + k).map(param_of))
                .collect::<Result<_, _>>()?;
        }
        let next = more
            .then(|| serde_json::Value::Array(last_keys.iter().map(json_of).collect()).to_string());
        Ok(ViewPage { rows, total, next })
    }

    /// Records of the `entities` whose quick-find text matches `text`, best first,
    /// `limit` at most. One entity is a categorized search (C8); several, a search across
    /// them (B5). Dates are found by their `yyyy-mm-dd` date.
    pub fn search(
        &self,
        entities: &[String],
        text: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(words) = match_query(text) else {
            return Ok(Vec::new());
        };
        let mut hits = Vec::new();
        for entity in entities {
            let def = self.entity(entity)?;
            let fts = fts_table(&def.name);
            let sql = format!(
                "SELECT {}, \"{fts}\".rank FROM \"{fts}\" JOIN \"{}\" t ON t.rowid = \"{fts}\".rowid
                 LEFT JOIN \"{}\" s ON s.id = t.id
                 WHERE \"{fts}\" MATCH ?1 ORDER BY \"{fts}\".rank LIMIT ?2",
                select_list(def),
                Layer::Local.table(&def.name),
                Layer::Server.table(&def.name),
            );
            let n = def.attributes.len();
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let found = stmt.query_map(rusqlite::params![words, limit], |r| {
                Ok(SearchHit {
                    record: read_record(def, r)?,
                    rank: r.get(n + 4)?,
                })
            })?;
            for hit in found {
                hits.push(hit?);
            }
        }
        hits.sort_by(|a, b| a.rank.total_cmp(&b.rank));
        hits.truncate(limit as usize);
        Ok(hits)
    }

    /// The primary field (name) of each of the `ids` of `entity` the device holds, in one
    /// query per 500 ids rather than a read per record: the names a page of lookups shows.
    ///
    /// # Errors
    /// An entity the metadata does not have.
    pub fn record_names<'a>(
        &self,
        entity: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        const CHUNK: usize = 500;
        let def = self.entity(entity)?;
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut names = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT id, \"{}\" FROM \"{}\" WHERE id IN ({marks})",
                def.primary_field,
                Layer::Local.table(&def.name)
            );
            // Not cached: the text changes with the number of ids.
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(chunk.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            for row in rows {
                if let (id, Some(name)) = row? {
                    names.insert(id, name);
                }
            }
        }
        Ok(names)
    }

    /// Every local record of `entity`, ordered by its primary field (small entities and
    /// tests; grids page with [`Store::view_page`]).
    pub fn record_list(&self, entity: &str) -> Result<Vec<LocalRecord>, StoreError> {
        let def = self.entity(entity)?;
        let sql = format!(
            "SELECT {} FROM {} ORDER BY t.\"{}\", t.id",
            select_list(def),
            from_clause(def),
            def.primary_field
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| read_record(def, r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The SQL of one view page: the page's query with its parameters, the count's (first
/// page only), and how many sort keys follow the record's columns in each row.
pub(crate) struct ViewSql {
    pub(crate) page: String,
    pub(crate) params: Vec<SqlValue>,
    pub(crate) count: Option<(String, Vec<SqlValue>)>,
    keys: usize,
}

/// Builds the SQL of a view page (see [`Store::view_page`]).
///
/// The count reads the indexes of the views' filter columns. A page ordered by the
/// primary field (or id) must not: with one, the planner would sort every matching row
/// for each page instead of walking the order's index and stopping at the page's end.
/// `+column` hides a column's index from the planner and keeps its value. A page in any
/// other order has no index to walk, so a filter index narrows the rows it sorts.
pub(crate) fn view_sql(
    def: &EntityDef,
    query: &CheckedQuery,
    search: Option<&str>,
    after: Option<&str>,
    limit: u32,
    ctx: &EvalContext,
) -> Result<ViewSql, StoreError> {
    let mut keys: Vec<(String, SortDir)> = query
        .order()
        .into_iter()
        .map(|(n, d)| (n.to_owned(), d))
        .collect();
    if !keys.iter().any(|(n, _)| n == "id") {
        keys.push(("id".to_owned(), SortDir::Asc));
    }
    let walks_an_index = keys
        .first()
        .is_some_and(|(name, _)| *name == def.primary_field || name == "id");
    let indexed = if walks_an_index {
        view_filter_fields(def)
    } else {
        std::collections::BTreeSet::new()
    };
    let hidden = |name: &str| {
        if indexed.contains(name) {
            format!("+{}", column(name))
        } else {
            column(name)
        }
    };
    let mut conditions = Vec::new();
    let mut counted = Vec::new();
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(filter) = query.filter() {
        let fragment = filter.to_sql(Dialect::Sqlite, &hidden, ctx, 1);
        conditions.push(fragment.sql);
        counted.push(filter.to_sql(Dialect::Sqlite, &column, ctx, 1).sql);
        params.extend(fragment.params.into_iter().map(sql_value));
    }
    if let Some(words) = search.and_then(match_query) {
        params.push(SqlValue::Text(words));
        let matching = format!(
            "t.rowid IN (SELECT rowid FROM \"{}\" WHERE \"{0}\" MATCH ?{})",
            fts_table(&def.name),
            params.len()
        );
        conditions.push(matching.clone());
        counted.push(matching);
    }
    let count = after.is_none().then(|| {
        (
            format!(
                "SELECT count(*) FROM \"{}\" t{}",
                Layer::Local.table(&def.name),
                where_clause(&counted)
            ),
            params.clone(),
        )
    });
    if let Some(cursor) = after {
        let values: Vec<SqlParam> = serde_json::from_str::<Vec<serde_json::Value>>(cursor)
            .ok()
            .and_then(|v| v.iter().map(param_of_json).collect())
            .filter(|v: &Vec<SqlParam>| v.len() == keys.len())
            .ok_or_else(|| {
                StoreError::Invalid("the page cursor is not one of this view's".into())
            })?;
        let (sql, more) = after_sql(&keys, &values, params.len() + 1);
        conditions.push(sql);
        params.extend(more);
    }
    let order = query.order_by_sql(Dialect::Sqlite, &column);
    let key_columns = keys
        .iter()
        .map(|(n, _)| column(n))
        .collect::<Vec<_>>()
        .join(", ");
    params.push(SqlValue::Integer(i64::from(limit) + 1));
    let page = format!(
        "SELECT {}, {key_columns} FROM {}{} ORDER BY {order} LIMIT ?{}",
        select_list(def),
        from_clause(def),
        where_clause(&conditions),
        params.len()
    );
    Ok(ViewSql {
        page,
        params,
        count,
        keys: keys.len(),
    })
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}
