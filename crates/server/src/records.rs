//! Records in their typed tables (`e_<entity>`): reading rows back to canonical text,
//! writing whole records with a new row version, tombstones, follows — and the domain's
//! [`RecordStorage`] over an open transaction, so operations apply here exactly as on the
//! device.
//!
//! One invariant is kept here rather than in every caller: a record's
//! `owningbusinessunit` is its owner's business unit (set on every write).

use outpost_domain::metadata::{EntityDef, Metadata};
use outpost_domain::operation::{StorageFailure, StoredRecord};
use outpost_domain::query::{CheckedQuery, QueryText, parse_query};
use outpost_domain::query::{column_text, column_value};
use outpost_domain::security::{OrgSecurity, Principal};
use outpost_domain::value::EntityRef;
use outpost_domain::{Fields, RecordStorage};

use crate::db::{Conn, Row, SqlParam, entity_table, int, int_param, string, text};
use crate::org::Org;
use crate::scope::Params;

/// `id, "a", "b", …, _version` for an entity's table, aliased `r`.
pub fn select_columns(def: &EntityDef) -> String {
    let mut columns = vec!["r.id".to_owned()];
    columns.extend(def.attributes.iter().map(|a| format!("r.\"{}\"", a.name)));
    columns.push("r._version".to_owned());
    columns.join(", ")
}

/// How many columns [`select_columns`] selects.
pub fn column_count(def: &EntityDef) -> usize {
    def.attributes.len() + 2
}

/// A row selected with [`select_columns`] (from `offset`) as (id, fields, version).
///
/// # Errors
/// When a column does not hold its attribute's kind.
pub fn read_row(
    def: &EntityDef,
    row: &Row,
    offset: usize,
) -> anyhow::Result<(String, Fields, i64)> {
    let id = string(&row[offset])?;
    let mut fields = Fields::new();
    for (i, attr) in def.attributes.iter().enumerate() {
        let value = column_text(&attr.kind, &row[offset + 1 + i])
            .map_err(|e| anyhow::anyhow!("{}.{} of {id}: {e}", def.name, attr.name))?;
        fields.insert(attr.name.clone(), value);
    }
    let version = int(&row[offset + 1 + def.attributes.len()])?;
    Ok((id, fields, version))
}

/// Most records one list answers.
pub const MAX_TOP: u32 = 5_000;
/// Records a list answers without `$top`.
pub const DEFAULT_TOP: u32 = 50;

/// Parses and checks the records API's query options for `def` as `principal` sees it:
/// the checked query and the page size (`$top`, at most [`MAX_TOP`]).
///
/// # Errors
/// `bad_query` for options that do not parse or check; `forbidden` (naming the fields)
/// for a filter or sort on a field the user may not read — it would reveal it (B4).
pub fn list_query(
    principal: &Principal,
    def: &EntityDef,
    text: QueryText<'_>,
) -> Result<(CheckedQuery, u32), crate::ApiError> {
    let parsed = parse_query(text)
        .and_then(|query| query.check(def))
        .map_err(|e| crate::ApiError::BadRequest {
            code: outpost_protocol::WireCode::BadQuery,
            message: e.to_string(),
        })?;
    let named = [
        text.filter.map(str::to_owned),
        text.order_by.map(str::to_owned),
    ];
    let used = hidden_fields_named(principal, def, &named);
    if !used.is_empty() {
        return Err(crate::ApiError::Invalid {
            code: outpost_protocol::WireCode::Forbidden,
            message: format!("you may not filter or sort on {}", used.join(", ")),
            fields: used
                .into_iter()
                .map(|field| {
                    outpost_protocol::FieldError::forbidden(
                        field,
                        "field security hides this field from you",
                    )
                })
                .collect(),
        });
    }
    let top = parsed.top().unwrap_or(DEFAULT_TOP).min(MAX_TOP);
    Ok((parsed, top))
}

/// The secured fields of `def` the user may not read that `texts` (query options) name
/// as words, sorted: filtering or sorting on one would reveal it.
fn hidden_fields_named<'t>(
    principal: &Principal,
    def: &EntityDef,
    texts: impl IntoIterator<Item = &'t Option<String>>,
) -> Vec<String> {
    let hidden: Vec<String> = principal
        .secured_fields(def)
        .into_iter()
        .filter(|(_, p)| !p.read)
        .map(|(name, _)| name)
        .collect();
    let mut named: Vec<String> = texts
        .into_iter()
        .flat_map(|t| {
            t.as_deref()
                .unwrap_or_default()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        })
        .filter(|word| hidden.iter().any(|h| h == word))
        .map(str::to_owned)
        .collect();
    named.sort();
    named.dedup();
    named
}

/// One page of a query over `def` within what `principal` may read, secured fields
/// removed and `$select` applied: `(id, fields, row version)`. `page` is (top, skip).
///
/// # Errors
/// A database error.
pub fn list(
    conn: &mut dyn Conn,
    org: &Org,
    principal: &Principal,
    def: &EntityDef,
    query: &CheckedQuery,
    page: (u32, u32),
    now: time::OffsetDateTime,
) -> anyhow::Result<Vec<(String, Fields, i64)>> {
    let dialect = conn.dialect();
    let mut p = Params::new(dialect);
    let scope = p.read_scope(principal, def, "r");
    let filter = match query.filter() {
        Some(f) => p.filter(f, "r", &org.eval_context(principal, now)),
        None => "1 = 1".to_owned(),
    };
    let limit = p.bind(int_param(i64::from(page.0)));
    let offset = p.bind(int_param(i64::from(page.1)));
    let col = |name: &str| format!("r.\"{name}\"");
    let sql = format!(
        "SELECT {} FROM {} r WHERE r._deleted = 0 AND {scope} AND {filter} ORDER BY {} \
         LIMIT {limit} OFFSET {offset}",
        select_columns(def),
        entity_table(&def.name),
        query.order_by_sql(dialect, &col)
    );
    let selected = query.select();
    conn.query(&sql, &p.values)?
        .iter()
        .map(|row| {
            let (id, mut fields, version) = read_row(def, row, 0)?;
            principal.redact(def, &mut fields);
            if let Some(selected) = &selected {
                fields.retain(|name, _| selected.contains(&name.as_str()));
            }
            Ok((id, fields, version))
        })
        .collect()
}

/// A live record's fields and row version.
///
/// # Errors
/// A database error.
pub fn get(
    conn: &mut dyn Conn,
    def: &EntityDef,
    id: &str,
) -> anyhow::Result<Option<(Fields, i64)>> {
    let sql = format!(
        "SELECT {} FROM {} r WHERE r.id = $1 AND r._deleted = 0",
        select_columns(def),
        entity_table(&def.name)
    );
    conn.query_opt(&sql, &[text(id)])?
        .map(|row| read_row(def, &row, 0).map(|(_, f, v)| (f, v)))
        .transpose()
}

pub use outpost_domain::security::parse_ref;

/// The business unit of an owner reference (`systemuser:<id>` or `team:<id>`).
pub fn owner_business_unit(security: &OrgSecurity, owner: &str) -> Option<String> {
    let owner = parse_ref(owner)?;
    match owner.entity.as_str() {
        "systemuser" => security
            .users
            .get(&owner.id)
            .map(|u| u.business_unit.clone()),
        "team" => security
            .teams
            .get(&owner.id)
            .map(|t| t.business_unit.clone()),
        _ => None,
    }
}

/// The column values of a record, attribute by attribute, with the owning business unit
/// derived from the owner.
fn column_values(
    def: &EntityDef,
    security: &OrgSecurity,
    fields: &Fields,
) -> anyhow::Result<Vec<SqlParam>> {
    let owner_bu = fields
        .get("ownerid")
        .cloned()
        .flatten()
        .and_then(|o| owner_business_unit(security, &o));
    def.attributes
        .iter()
        .map(|attr| {
            let mut value = fields.get(&attr.name).cloned().flatten();
            if attr.name == "owningbusinessunit"
                && let Some(bu) = &owner_bu
            {
                value = Some(format!("businessunit:{bu}"));
            }
            column_value(&attr.kind, value.as_deref())
                .map_err(|e| anyhow::anyhow!("{}.{}: {e}", def.name, attr.name))
        })
        .collect()
}

/// The upsert of `rows` records of an entity: a new id inserts, an existing one (a
/// tombstone coming back, or a replace) overwrites.
fn upsert_sql(def: &EntityDef, rows: usize) -> String {
    let names: Vec<String> = def
        .attributes
        .iter()
        .map(|a| format!("\"{}\"", a.name))
        .collect();
    let width = def.attributes.len() + 2;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let placeholders: Vec<String> =
                (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({}, 0)", placeholders.join(", "))
        })
        .collect();
    let updates: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .chain([
            "_version = excluded._version".to_owned(),
            "_deleted = 0".to_owned(),
        ])
        .collect();
    format!(
        "INSERT INTO {} (id, {}, _version, _deleted) VALUES {} ON CONFLICT (id) DO UPDATE SET {}",
        entity_table(&def.name),
        names.join(", "),
        values.join(", "),
        updates.join(", ")
    )
}

/// Writes whole records with their versions, many per statement (the bulk path of the
/// demo loader and of benchmarks).
///
/// # Errors
/// A value that does not fit its column, or a database error.
pub fn write_many(
    conn: &mut dyn Conn,
    def: &EntityDef,
    security: &OrgSecurity,
    records: &[(String, Fields, i64)],
) -> anyhow::Result<()> {
    // Stay far below SQLite's 32 766 parameters per statement.
    let per_statement = (20_000 / (def.attributes.len() + 2)).clamp(1, 500);
    for chunk in records.chunks(per_statement) {
        let mut params = Vec::with_capacity(chunk.len() * (def.attributes.len() + 2));
        for (id, fields, version) in chunk {
            params.push(text(id.clone()));
            params.extend(column_values(def, security, fields)?);
            params.push(int_param(*version));
        }
        conn.execute(&upsert_sql(def, chunk.len()), &params)?;
    }
    Ok(())
}

/// Writes one whole record with a new row version; the version.
///
/// # Errors
/// See [`write_many`].
pub fn write(
    conn: &mut dyn Conn,
    def: &EntityDef,
    security: &OrgSecurity,
    id: &str,
    fields: &Fields,
) -> anyhow::Result<i64> {
    let version = conn.next_version()?;
    write_many(
        conn,
        def,
        security,
        &[(id.to_owned(), fields.clone(), version)],
    )?;
    Ok(version)
}

/// Deletes a record, leaving a tombstone with a new row version; the version.
///
/// # Errors
/// A database error.
pub fn tombstone(conn: &mut dyn Conn, def: &EntityDef, id: &str) -> anyhow::Result<i64> {
    let version = conn.next_version()?;
    conn.execute(
        &format!(
            "UPDATE {} SET _deleted = 1, _version = $1 WHERE id = $2",
            entity_table(&def.name)
        ),
        &[int_param(version), text(id)],
    )?;
    Ok(version)
}

/// Records that a user follows a record or stopped following it (with a row version, so
/// the user's devices see the change in their next delta pull). Unfollowing what the user
/// does not follow writes nothing (any id may be unfollowed, so it must not leave a row).
///
/// # Errors
/// A database error.
pub fn follow_set(
    conn: &mut dyn Conn,
    user_id: &str,
    entity: &str,
    id: &str,
    following: bool,
) -> anyhow::Result<i64> {
    let version = conn.next_version()?;
    if !following {
        conn.execute(
            "UPDATE follow SET following = 0, _version = $1
             WHERE user_id = $2 AND entity = $3 AND record_id = $4 AND following = 1",
            &[int_param(version), text(user_id), text(entity), text(id)],
        )?;
        return Ok(version);
    }
    conn.execute(
        "INSERT INTO follow (user_id, entity, record_id, following, _version) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, entity, record_id) DO UPDATE SET following = excluded.following,
         _version = excluded._version",
        &[
            text(user_id),
            text(entity),
            text(id),
            int_param(i64::from(following)),
            int_param(version),
        ],
    )?;
    Ok(version)
}

/// The domain's storage over a server transaction: what `Operation::apply` reads and
/// writes. It remembers the row versions it handed out, and the records it read, so the
/// security checks before an operation and the operation itself read each record once.
pub struct TxStorage<'a> {
    /// The open transaction.
    pub conn: &'a mut dyn Conn,
    /// The org's metadata.
    pub metadata: &'a Metadata,
    /// Security facts (for owning business units).
    pub security: &'a OrgSecurity,
    /// The row version of the last write (0 before any).
    pub last_version: i64,
    /// Records read and not written since: (entity, id) → fields and row version.
    read: std::collections::BTreeMap<(String, String), Option<(Fields, i64)>>,
}

fn failure(e: &anyhow::Error) -> StorageFailure {
    StorageFailure(format!("{e:#}"))
}

impl<'a> TxStorage<'a> {
    /// A storage over `conn`.
    pub fn new(conn: &'a mut dyn Conn, metadata: &'a Metadata, security: &'a OrgSecurity) -> Self {
        Self {
            conn,
            metadata,
            security,
            last_version: 0,
            read: std::collections::BTreeMap::new(),
        }
    }

    /// A live record's fields and row version ([`get`]), read at most once until it is
    /// written.
    ///
    /// # Errors
    /// A database error.
    pub fn current(&mut self, def: &EntityDef, id: &str) -> anyhow::Result<Option<(Fields, i64)>> {
        let key = (def.name.clone(), id.to_owned());
        if let Some(known) = self.read.get(&key) {
            return Ok(known.clone());
        }
        let found = get(self.conn, def, id)?;
        self.read.insert(key, found.clone());
        Ok(found)
    }

    fn wrote(&mut self, entity: &str, id: &str, version: i64) {
        self.read.remove(&(entity.to_owned(), id.to_owned()));
        self.last_version = version;
    }

    fn def(&self, entity: &str) -> Result<&'a EntityDef, StorageFailure> {
        self.metadata
            .entity(entity)
            .map_err(|e| StorageFailure(e.to_string()))
    }

    fn put_record(
        &mut self,
        entity: &str,
        id: &str,
        fields: &Fields,
    ) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        let version = write(self.conn, def, self.security, id, fields).map_err(|e| failure(&e))?;
        self.wrote(entity, id, version);
        Ok(())
    }
}

impl RecordStorage for TxStorage<'_> {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        let def = self.def(entity)?;
        self.current(def, id)
            .map(|r| r.map(|(fields, _)| StoredRecord { fields }))
            .map_err(|e| failure(&e))
    }

    fn insert(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        self.put_record(entity, id, fields)
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        self.put_record(entity, id, fields)
    }

    fn delete(&mut self, entity: &str, id: &str) -> Result<(), StorageFailure> {
        let def = self.def(entity)?;
        let version = tombstone(self.conn, def, id).map_err(|e| failure(&e))?;
        self.wrote(entity, id, version);
        Ok(())
    }

    fn follow_set(
        &mut self,
        user: &EntityRef,
        entity: &str,
        id: &str,
        following: bool,
    ) -> Result<(), StorageFailure> {
        self.last_version =
            follow_set(self.conn, &user.id, entity, id, following).map_err(|e| failure(&e))?;
        Ok(())
    }
}
