//! Entity tables, made from metadata: `<entity>` is the local layer (what the user sees),
//! `srv_<entity>` the server layer (what the server last sent). Same columns: `id`, one
//! typed column per attribute (the domain's [`column_type`]: text, or a 64-bit integer
//! for numbers, money, choices and booleans, so views filter and sort in SQL), and
//! `row_version` (the server version the row is based on); the server layer also keeps
//! `sync_reason`, why the record is on the device (B3). `fts_<entity>` is the local
//! layer's full-text index over the entity's quick-find columns (C8, B5), kept in step by
//! every local write; its rowid is the local row's rowid.

use std::collections::BTreeSet;

use outpost_domain::query::{Dialect, SqlParam, column_text, column_type, column_value};
use outpost_domain::{AttributeKind, EntityDef, Fields};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{OptionalExtension as _, Transaction, params, params_from_iter};

use crate::StoreError;

/// Columns every entity table has besides its attributes; no attribute may take them.
const RESERVED: &[&str] = &["id", "row_version", REASON, "rowid"];
/// The server layer's column for why a record is on the device.
pub(crate) const REASON: &str = "sync_reason";

/// The reason of a record the server said left this device's scope while an operation of
/// the user's still touched it: it stays until nothing pending touches it (S10, B3).
pub const IN_PROGRESS: &str = "in_progress";

/// The two copies of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// What the user sees: the server layer with pending operations on top.
    Local,
    /// What the server last sent.
    Server,
}

impl Layer {
    /// The (unquoted) table of `entity` in this layer.
    pub(crate) fn table(self, entity: &str) -> String {
        match self {
            Self::Local => entity.to_owned(),
            Self::Server => format!("srv_{entity}"),
        }
    }
}

/// The full-text table of `entity`'s local layer.
pub(crate) fn fts_table(entity: &str) -> String {
    format!("fts_{entity}")
}

/// Names from metadata become SQL identifiers, so only plain lower-case names pass.
fn check_ident(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "`{name}` is not a valid entity or field name"
        )))
    }
}

/// Checks that an entity's names can be SQL identifiers and take no reserved column.
pub(crate) fn check_names(entity: &EntityDef) -> Result<(), StoreError> {
    check_ident(&entity.name)?;
    for f in &entity.attributes {
        check_ident(&f.name)?;
        if RESERVED.contains(&f.name.as_str()) {
            return Err(StoreError::Invalid(format!(
                "attribute `{}` of `{}` takes a column name the store reserves",
                f.name, entity.name
            )));
        }
    }
    Ok(())
}

/// What [`ensure_in_tx`] did to an entity's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ensured {
    /// They were made.
    Created,
    /// They existed; these attribute columns were added.
    Altered(Vec<String>),
    /// They had every column already.
    Unchanged,
}

fn columns_of(tx: &Transaction<'_>, table: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = tx.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

fn sql_type(kind: &AttributeKind) -> &'static str {
    column_type(kind, Dialect::Sqlite)
}

/// Makes both layers' tables of `entity` hold every column its metadata names: creates
/// them, or adds the missing columns (`ALTER TABLE … ADD COLUMN`, which keeps every row).
/// The full-text table is made when missing; a new quick-find column is indexed for rows
/// written from then on (a resync rewrites every row).
pub(crate) fn ensure_in_tx(
    tx: &Transaction<'_>,
    entity: &EntityDef,
) -> Result<Ensured, StoreError> {
    check_names(entity)?;
    let local = Layer::Local.table(&entity.name);
    let server = Layer::Server.table(&entity.name);
    let existing = columns_of(tx, &local)?;
    let result = if existing.is_empty() {
        let columns: String = entity
            .attributes
            .iter()
            .map(|f| format!("\"{}\" {}, ", f.name, sql_type(&f.kind)))
            .collect();
        tx.execute_batch(&format!(
            "CREATE TABLE \"{local}\" (id TEXT PRIMARY KEY, {columns}row_version INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS \"{server}\" (id TEXT PRIMARY KEY, {columns}row_version INTEGER NOT NULL DEFAULT 0, {REASON} TEXT);"
        ))?;
        Ensured::Created
    } else {
        let existing_server = columns_of(tx, &server)?;
        let mut added = Vec::new();
        for f in &entity.attributes {
            let ty = sql_type(&f.kind);
            if !existing.contains(&f.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE \"{local}\" ADD COLUMN \"{}\" {ty};",
                    f.name
                ))?;
                added.push(f.name.clone());
            }
            if !existing_server.contains(&f.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE \"{server}\" ADD COLUMN \"{}\" {ty};",
                    f.name
                ))?;
            }
        }
        if !existing_server.contains(REASON) {
            tx.execute_batch(&format!(
                "ALTER TABLE \"{server}\" ADD COLUMN {REASON} TEXT;"
            ))?;
        }
        if added.is_empty() {
            Ensured::Unchanged
        } else {
            Ensured::Altered(added)
        }
    };
    let primary = &entity.primary_field;
    let fts = fts_table(&entity.name);
    tx.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS \"{local}_by_{primary}\" ON \"{local}\"(\"{primary}\", id);
         CREATE VIRTUAL TABLE IF NOT EXISTS \"{fts}\" USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');"
    ))?;
    for field in view_filter_fields(entity) {
        tx.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS \"{local}_by_{field}\" ON \"{local}\"(\"{field}\");"
        ))?;
    }
    Ok(result)
}

/// The columns the entity's system views filter on by equality (state, owner, …), which
/// get an index each: a view's first page counts its rows, and without one that count
/// reads every row of the table. Only the entity's own columns (never `id`, which has
/// its key, or the primary field, which has its index).
pub(crate) fn view_filter_fields(entity: &EntityDef) -> std::collections::BTreeSet<String> {
    entity
        .views
        .iter()
        .filter_map(|v| outpost_domain::query::parse_filter(v.filter.as_deref()?).ok())
        .flat_map(|f| {
            f.equality_fields()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|f| *f != "id" && *f != entity.primary_field && entity.attribute(f).is_ok())
        .collect()
}

/// The attributes of `entity` whose text the full-text index holds: its quick-find
/// columns (its primary field when it names none), without lookups (their values are
/// ids, not words).
fn searched(entity: &EntityDef) -> impl Iterator<Item = &outpost_domain::AttributeDef> {
    entity
        .attributes
        .iter()
        .filter(move |a| {
            if entity.quick_find.is_empty() {
                a.name == entity.primary_field
            } else {
                entity.quick_find.contains(&a.name)
            }
        })
        .filter(|a| !matches!(a.kind, AttributeKind::Lookup { .. } | AttributeKind::Owner))
}

/// The words a record is found by: each quick-find value as a person reads it — the
/// label of a choice, the date of a date and time (B5: `2026-11-28` finds it). What
/// `fts_<entity>` holds for the record (public for the benchmark's floor, which writes
/// the store's tables directly).
pub fn fts_body(entity: &EntityDef, fields: &Fields) -> String {
    let mut body = String::new();
    for attr in searched(entity) {
        let Some(Some(text)) = fields.get(&attr.name) else {
            continue;
        };
        let words = match &attr.kind {
            kind @ (AttributeKind::Choice { .. }
            | AttributeKind::State { .. }
            | AttributeKind::Status { .. }) => text
                .parse()
                .ok()
                .and_then(|value| kind.option_label(value))
                .map_or_else(|| text.clone(), str::to_owned),
            AttributeKind::DateTime | AttributeKind::DateOnly => {
                text.get(..10).unwrap_or(text).to_owned()
            }
            _ => text.clone(),
        };
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&words);
    }
    body
}

pub(crate) fn column_list(entity: &EntityDef, prefix: &str) -> String {
    entity
        .attributes
        .iter()
        .map(|f| format!("{prefix}\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A domain column value as a SQLite value.
pub(crate) fn sql_value(param: SqlParam) -> SqlValue {
    match param {
        SqlParam::Null => SqlValue::Null,
        SqlParam::Int(n) => SqlValue::Integer(n),
        SqlParam::Text(s) => SqlValue::Text(s),
    }
}

/// A SQLite value read back as a domain column value.
pub(crate) fn param_of(value: ValueRef<'_>) -> SqlParam {
    match value {
        ValueRef::Null => SqlParam::Null,
        ValueRef::Integer(n) => SqlParam::Int(n),
        // Neither is ever written; read them as text so a bad row is reported, not hidden.
        ValueRef::Real(f) => SqlParam::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => SqlParam::Text(String::from_utf8_lossy(t).into()),
    }
}

/// The canonical text of the value in column `index` of `row`, for attribute `kind`.
pub(crate) fn text_at(
    row: &rusqlite::Row<'_>,
    index: usize,
    kind: &AttributeKind,
) -> rusqlite::Result<Option<String>> {
    column_text(kind, &param_of(row.get_ref(index)?)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads `<fields…>` starting at column `first` of `row`.
pub(crate) fn read_fields(
    entity: &EntityDef,
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Fields> {
    let mut fields = Fields::new();
    for (i, f) in entity.attributes.iter().enumerate() {
        fields.insert(f.name.clone(), text_at(row, first + i, &f.kind)?);
    }
    Ok(fields)
}

pub(crate) fn get_in_tx(
    conn: &rusqlite::Connection,
    layer: Layer,
    entity: &EntityDef,
    id: &str,
) -> Result<Option<(Fields, u64)>, StoreError> {
    let sql = format!(
        "SELECT {}, row_version FROM \"{}\" WHERE id = ?1",
        column_list(entity, ""),
        layer.table(&entity.name)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            Ok((read_fields(entity, r, 0)?, r.get(entity.attributes.len())?))
        })
        .optional()?)
}

/// The row version of record `id` in `layer`, if it is there (one column, not the record).
pub(crate) fn version_in_tx(
    conn: &rusqlite::Connection,
    layer: Layer,
    entity: &EntityDef,
    id: &str,
) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT row_version FROM \"{}\" WHERE id = ?1",
            layer.table(&entity.name)
        ))?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// The parameters of a whole-row write, into `values` (emptied first): `id`, each
/// attribute's typed column value, the row version.
fn row_values(
    entity: &EntityDef,
    id: &str,
    fields: &Fields,
    row_version: u64,
    values: &mut Vec<SqlValue>,
) -> Result<(), StoreError> {
    values.clear();
    values.push(SqlValue::Text(id.to_owned()));
    for f in &entity.attributes {
        let text = fields.get(&f.name).and_then(Option::as_deref);
        let param = column_value(&f.kind, text)
            .map_err(|e| StoreError::Invalid(format!("{}.{} of {id}: {e}", entity.name, f.name)))?;
        values.push(sql_value(param));
    }
    values.push(SqlValue::Integer(
        i64::try_from(row_version).unwrap_or(i64::MAX),
    ));
    Ok(())
}

/// Writes the whole record `id` into `layer` (insert, or replace its values keeping its
/// row, so the full-text index can follow the local row by rowid).
pub(crate) fn put_in_tx(
    conn: &rusqlite::Connection,
    layer: Layer,
    entity: &EntityDef,
    id: &str,
    fields: &Fields,
    row_version: u64,
) -> Result<(), StoreError> {
    let n = entity.attributes.len();
    let placeholders: String = (0..n).map(|i| format!(", ?{}", i + 2)).collect();
    let updates: String = entity
        .attributes
        .iter()
        .map(|f| format!("\"{0}\" = excluded.\"{0}\", ", f.name))
        .collect();
    let table = layer.table(&entity.name);
    let sql = format!(
        "INSERT INTO \"{table}\" (id, {}, row_version) VALUES (?1{placeholders}, ?{})
         ON CONFLICT (id) DO UPDATE SET {updates}row_version = excluded.row_version
         RETURNING rowid",
        column_list(entity, ""),
        n + 2
    );
    let mut values = Vec::with_capacity(n + 2);
    row_values(entity, id, fields, row_version, &mut values)?;
    let rowid: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(values), |r| r.get(0))?;
    if layer == Layer::Local {
        let fts = fts_table(&entity.name);
        conn.prepare_cached(&format!("DELETE FROM \"{fts}\" WHERE rowid = ?1"))?
            .execute([rowid])?;
        let body = fts_body(entity, fields);
        if !body.is_empty() {
            conn.prepare_cached(&format!(
                "INSERT INTO \"{fts}\" (rowid, body) VALUES (?1, ?2)"
            ))?
            .execute(params![rowid, body])?;
        }
    }
    Ok(())
}

/// Writes a pulled page's records of one entity to both layers and the full-text index,
/// with statements prepared once for the page: each record once to the server layer
/// (with its reason, one statement), once to the local layer and once to the index —
/// the path of a record nothing pending touches, which is nearly every record of a
/// download. A record new to the device is a plain insert (no index entry to remove).
pub(crate) struct PageWriter<'c> {
    entity: &'c EntityDef,
    server: rusqlite::Statement<'c>,
    local_insert: rusqlite::Statement<'c>,
    local_update: rusqlite::Statement<'c>,
    fts_delete: rusqlite::Statement<'c>,
    fts_insert: rusqlite::Statement<'c>,
    values: Vec<SqlValue>,
}

impl<'c> PageWriter<'c> {
    pub(crate) fn new(
        conn: &'c rusqlite::Connection,
        entity: &'c EntityDef,
    ) -> Result<Self, StoreError> {
        let n = entity.attributes.len();
        let columns = column_list(entity, "");
        let marks: String = (0..n).map(|i| format!(", ?{}", i + 2)).collect();
        let version = n + 2;
        let updates: String = entity
            .attributes
            .iter()
            .map(|f| format!("\"{0}\" = excluded.\"{0}\", ", f.name))
            .collect();
        let sets: String = entity
            .attributes
            .iter()
            .enumerate()
            .map(|(i, f)| format!("\"{}\" = ?{}, ", f.name, i + 2))
            .collect();
        let local = Layer::Local.table(&entity.name);
        let server = Layer::Server.table(&entity.name);
        let fts = fts_table(&entity.name);
        Ok(Self {
            entity,
            server: conn.prepare(&format!(
                "INSERT INTO \"{server}\" (id, {columns}, row_version, {REASON}) \
                 VALUES (?1{marks}, ?{version}, ?{}) ON CONFLICT (id) DO UPDATE SET \
                 {updates}row_version = excluded.row_version, {REASON} = excluded.{REASON}",
                version + 1
            ))?,
            local_insert: conn.prepare(&format!(
                "INSERT OR IGNORE INTO \"{local}\" (id, {columns}, row_version) \
                 VALUES (?1{marks}, ?{version}) RETURNING rowid"
            ))?,
            local_update: conn.prepare(&format!(
                "UPDATE \"{local}\" SET {sets}row_version = ?{version} WHERE id = ?1 RETURNING rowid"
            ))?,
            fts_delete: conn.prepare(&format!("DELETE FROM \"{fts}\" WHERE rowid = ?1"))?,
            fts_insert: conn.prepare(&format!(
                "INSERT INTO \"{fts}\" (rowid, body) VALUES (?1, ?2)"
            ))?,
            values: Vec::with_capacity(n + 3),
        })
    }

    /// Writes record `id` as the server sent it to both layers (the local copy is the
    /// server's: nothing pending touches it) and to the full-text index.
    pub(crate) fn put(
        &mut self,
        id: &str,
        fields: &Fields,
        row_version: u64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let entity = self.entity;
        row_values(entity, id, fields, row_version, &mut self.values)?;
        let inserted: Option<i64> = self
            .local_insert
            .query_row(params_from_iter(&self.values), |r| r.get(0))
            .optional()?;
        let rowid = match inserted {
            Some(rowid) => rowid,
            None => {
                let rowid: i64 = self
                    .local_update
                    .query_row(params_from_iter(&self.values), |r| r.get(0))?;
                self.fts_delete.execute([rowid])?;
                rowid
            }
        };
        let body = fts_body(entity, fields);
        if !body.is_empty() {
            self.fts_insert.execute(params![rowid, body])?;
        }
        self.values.push(if reason.is_empty() {
            SqlValue::Null
        } else {
            SqlValue::Text(reason.to_owned())
        });
        self.server.execute(params_from_iter(&self.values))?;
        Ok(())
    }
}

/// Rebuilds the full-text index of `entity` from its local rows: its quick-find columns
/// (or the labels its choices show) changed, so every body is written again.
pub(crate) fn reindex_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
) -> Result<(), StoreError> {
    let fts = fts_table(&entity.name);
    conn.execute_batch(&format!("DELETE FROM \"{fts}\";"))?;
    let sql = format!(
        "SELECT rowid, {} FROM \"{}\"",
        column_list(entity, ""),
        Layer::Local.table(&entity.name)
    );
    let mut select = conn.prepare(&sql)?;
    let mut insert = conn.prepare(&format!(
        "INSERT INTO \"{fts}\" (rowid, body) VALUES (?1, ?2)"
    ))?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        let body = fts_body(entity, &read_fields(entity, row, 1)?);
        if !body.is_empty() {
            insert.execute(params![rowid, body])?;
        }
    }
    Ok(())
}

pub(crate) fn delete_in_tx(
    conn: &rusqlite::Connection,
    layer: Layer,
    entity: &EntityDef,
    id: &str,
) -> Result<(), StoreError> {
    let table = layer.table(&entity.name);
    let rowid: Option<i64> = conn
        .prepare_cached(&format!(
            "DELETE FROM \"{table}\" WHERE id = ?1 RETURNING rowid"
        ))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let (Some(rowid), Layer::Local) = (rowid, layer) {
        conn.prepare_cached(&format!(
            "DELETE FROM \"{}\" WHERE rowid = ?1",
            fts_table(&entity.name)
        ))?
        .execute([rowid])?;
    }
    Ok(())
}

/// Records the server said left this device's scope while an operation of the user's
/// still touched them (S10, B3). Each leaves the device once nothing pending touches it
/// ([`crate::layer::release_in_tx`]), or stays when the server sends it again. Kept apart
/// from the server layer's reason because a record made on this device has no server
/// copy until the server sends it back (found by the simulation: such a record, edited
/// while a pull said it left scope, stayed on the device for good).
pub(crate) const LEAVING_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sync_leaving (
  entity TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (entity, id)
) WITHOUT ROWID;";

/// Marks record `id` as leaving once nothing pending touches it; its server copy, if it
/// has one, tells the user so ([`IN_PROGRESS`]).
pub(crate) fn leaving_mark_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO sync_leaving (entity, id) VALUES (?1, ?2)")?
        .execute([&entity.name, id])?;
    reason_set_in_tx(conn, entity, id, IN_PROGRESS)
}

/// Whether record `id` leaves the device once nothing pending touches it (a store made
/// before `sync_leaving` has only the server copy's reason).
pub(crate) fn leaving_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
) -> Result<bool, StoreError> {
    match reason_in_tx(conn, entity, id)? {
        Some(reason) => Ok(reason == IN_PROGRESS),
        // No server copy (made here): the mark alone says it. A server copy sent since
        // always has another reason, so a mark a build from before `sync_leaving` left
        // behind is never taken for a leave.
        None => Ok(conn
            .prepare_cached("SELECT 1 FROM sync_leaving WHERE entity = ?1 AND id = ?2")?
            .query_row([&entity.name, id], |_| Ok(()))
            .optional()?
            .is_some()),
    }
}

/// Whether any record is leaving (a page checks once, not per record).
pub(crate) fn leaving_any(conn: &rusqlite::Connection) -> Result<bool, StoreError> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sync_leaving)", [], |r| {
            r.get(0)
        })?,
    )
}

/// Forgets that record `id` was leaving: the server sent it again, or it left.
pub(crate) fn leaving_forget_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sync_leaving WHERE entity = ?1 AND id = ?2")?
        .execute([&entity.name, id])?;
    Ok(())
}

/// Keeps why the server sent record `id` (its server-layer row must exist).
pub(crate) fn reason_set_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "UPDATE \"{}\" SET {REASON} = ?2 WHERE id = ?1",
        Layer::Server.table(&entity.name)
    ))?
    .execute(params![id, (!reason.is_empty()).then_some(reason)])?;
    Ok(())
}

/// Why the server sent record `id`, if it did.
pub(crate) fn reason_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REASON} FROM \"{}\" WHERE id = ?1",
            Layer::Server.table(&entity.name)
        ))?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Empties both layers and the full-text index of `entity`, except the records in `keep`
/// (records with pending operations keep their local state and their server copy, marked
/// [`IN_PROGRESS`] and leaving, until the server sends them again or their operations are
/// answered).
pub(crate) fn clear_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    keep: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let local = Layer::Local.table(&entity.name);
    let server = Layer::Server.table(&entity.name);
    conn.execute("DELETE FROM sync_leaving WHERE entity = ?1", [&entity.name])?;
    if keep.is_empty() {
        conn.execute_batch(&format!(
            "DELETE FROM \"{server}\"; DELETE FROM \"{local}\"; DELETE FROM \"{}\";",
            fts_table(&entity.name)
        ))?;
        return Ok(());
    }
    let kept = serde_json::to_string(keep)?;
    conn.execute(
        &format!("DELETE FROM \"{server}\" WHERE id NOT IN (SELECT value FROM json_each(?1))"),
        [&kept],
    )?;
    // Only what the server had sent: a record made here and not yet sent back (its create
    // may not even be pushed) is not the server's to take away.
    conn.execute(
        &format!(
            "INSERT OR IGNORE INTO sync_leaving (entity, id) SELECT ?2, id FROM \"{server}\" \
             WHERE id IN (SELECT value FROM json_each(?1))"
        ),
        [&kept, &entity.name],
    )?;
    conn.execute(
        &format!(
            "UPDATE \"{server}\" SET {REASON} = ?2 WHERE id IN (SELECT value FROM json_each(?1))"
        ),
        [&kept, IN_PROGRESS],
    )?;
    let ids: Vec<String> = conn
        .prepare(&format!("SELECT id FROM \"{local}\""))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids.iter().filter(|id| !keep.contains(*id)) {
        delete_in_tx(conn, Layer::Local, entity, id)?;
    }
    Ok(())
}

/// Rewrites the tables of `entity` from a store made before typed columns (format 1,
/// every column text): each row is read as canonical text and written to new typed
/// tables, so no record, reason or pending state is lost.
pub(crate) fn retype_in_tx(tx: &Transaction<'_>, entity: &EntityDef) -> Result<(), StoreError> {
    for layer in [Layer::Local, Layer::Server] {
        let table = layer.table(&entity.name);
        if columns_of(tx, &table)?.is_empty() {
            continue;
        }
        // Index names are per table: the renamed table must not keep them, or the new
        // table would not get its own.
        for field in std::iter::once(entity.primary_field.clone()).chain(view_filter_fields(entity))
        {
            tx.execute_batch(&format!("DROP INDEX IF EXISTS \"{table}_by_{field}\";"))?;
        }
        tx.execute_batch(&format!(
            "ALTER TABLE \"{table}\" RENAME TO \"old_{table}\";"
        ))?;
    }
    ensure_in_tx(tx, entity)?;
    for layer in [Layer::Local, Layer::Server] {
        let table = layer.table(&entity.name);
        let old = format!("old_{table}");
        if columns_of(tx, &old)?.is_empty() {
            continue;
        }
        let old_columns = columns_of(tx, &old)?;
        let present: Vec<&outpost_domain::AttributeDef> = entity
            .attributes
            .iter()
            .filter(|a| old_columns.contains(&a.name))
            .collect();
        let list = present
            .iter()
            .map(|a| format!("\"{}\"", a.name))
            .collect::<Vec<_>>()
            .join(", ");
        let reason = if layer == Layer::Server && old_columns.contains(REASON) {
            REASON
        } else {
            "NULL"
        };
        let sql = format!("SELECT id, row_version, {reason}, {list} FROM \"{old}\"");
        let rows: Vec<(String, u64, Option<String>, Fields)> = tx
            .prepare(&sql)?
            .query_map([], |r| {
                let mut fields = Fields::new();
                for (i, a) in present.iter().enumerate() {
                    let text: Option<String> = r.get(3 + i)?;
                    fields.insert(
                        a.name.clone(),
                        text.and_then(|t| {
                            outpost_domain::Value::canonical(&a.kind, Some(&t))
                                .ok()
                                .flatten()
                        }),
                    );
                }
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, fields))
            })?
            .collect::<Result<_, _>>()?;
        for (id, version, why, fields) in rows {
            put_in_tx(tx, layer, entity, &id, &fields, version)?;
            if let Some(why) = why {
                reason_set_in_tx(tx, entity, &id, &why)?;
            }
        }
        tx.execute_batch(&format!("DROP TABLE \"{old}\";"))?;
    }
    Ok(())
}
