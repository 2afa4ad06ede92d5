//! Entity tables, made from metadata: `<entity>` is the local layer (what the user sees),
//! `srv_<entity>` the server layer (what the server last sent). Same columns: `id`, one
//! column per field, `row_version` (the server version the row is based on); the server
//! layer also keeps `sync_reason`, why the record is on the device (B3).

use std::collections::BTreeSet;

use outpost_domain::{ApplyContext, EntityDef, Fields, Metadata, Operation};
use outpost_protocol::{PullResponse, RecordPayload, ResolutionAction};
use rusqlite::{OptionalExtension as _, Transaction, params, params_from_iter};

use crate::layer::{LocalLayer, rebase_in_tx};
use crate::table::{outbox, state};
use crate::{Store, StoreError};

/// Columns every entity table has besides its attributes; no attribute may take them.
const RESERVED: &[&str] = &["id", "row_version", REASON];
/// The server layer's column for why a record is on the device.
const REASON: &str = "sync_reason";

/// A record as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRecord {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Current local values.
    pub fields: Fields,
    /// The server row version the record is based on (0 if never synced).
    pub row_version: u64,
    /// Whether changes to it wait in the outbox.
    pub pending: bool,
    /// Why the server sent it (B3: `profile`, `follow`, `related:<entity>.<attribute>`);
    /// `None` for a record created on the device and not synced yet.
    pub reason: Option<String>,
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

/// Makes both layers' tables of `entity` hold every column its metadata names: creates
/// them, or adds the missing columns (`ALTER TABLE … ADD COLUMN`, which keeps every row).
pub(crate) fn ensure_in_tx(
    tx: &Transaction<'_>,
    entity: &EntityDef,
) -> Result<Ensured, StoreError> {
    check_names(entity)?;
    let local = entity.name.clone();
    let server = format!("srv_{}", entity.name);
    let existing = columns_of(tx, &local)?;
    let result = if existing.is_empty() {
        let columns: String = entity
            .attributes
            .iter()
            .map(|f| format!("\"{}\" TEXT, ", f.name))
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
            if !existing.contains(&f.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE \"{local}\" ADD COLUMN \"{}\" TEXT;",
                    f.name
                ))?;
                added.push(f.name.clone());
            }
            if !existing_server.contains(&f.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE \"{server}\" ADD COLUMN \"{}\" TEXT;",
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
    tx.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS \"{local}_by_{primary}\" ON \"{local}\"(\"{primary}\", id);"
    ))?;
    Ok(result)
}

fn column_list(entity: &EntityDef) -> String {
    prefixed_column_list(entity, "")
}

fn prefixed_column_list(entity: &EntityDef, prefix: &str) -> String {
    entity
        .attributes
        .iter()
        .map(|f| format!("{prefix}\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps why the server sent record `id` (its server-layer row must exist).
fn reason_set_in_tx(
    conn: &rusqlite::Connection,
    entity: &EntityDef,
    id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "UPDATE \"srv_{}\" SET {REASON} = ?2 WHERE id = ?1",
        entity.name
    ))?
    .execute(params![id, (!reason.is_empty()).then_some(reason)])?;
    Ok(())
}

/// Drops the whole server layer (a `reset` page, or a resync after a migration) and every
/// local record without pending operations. Records with pending operations keep their
/// local state until the server sends them again, so nothing the user typed disappears.
fn server_layer_drop_in_tx(
    conn: &rusqlite::Connection,
    metadata: &Metadata,
) -> Result<(), StoreError> {
    for def in &metadata.entities {
        conn.execute_batch(&format!("DELETE FROM \"srv_{}\";", def.name))?;
        conn.execute(
            &format!(
                "DELETE FROM \"{}\" WHERE id NOT IN (SELECT record_id FROM sync_outbox WHERE entity = ?1)",
                def.name
            ),
            [&def.name],
        )?;
    }
    Ok(())
}

/// Reads a row of `id, <fields…>, row_version` into fields and version.
fn read_row(
    entity: &EntityDef,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, Fields, u64)> {
    let mut fields = Fields::new();
    for (i, f) in entity.attributes.iter().enumerate() {
        fields.insert(f.name.clone(), row.get(i + 1)?);
    }
    Ok((row.get(0)?, fields, row.get(entity.attributes.len() + 1)?))
}

pub(crate) fn get_in_tx(
    conn: &rusqlite::Connection,
    table: &str,
    entity: &EntityDef,
    id: &str,
) -> Result<Option<(Fields, u64)>, StoreError> {
    let sql = format!(
        "SELECT id, {}, row_version FROM \"{table}\" WHERE id = ?1",
        column_list(entity)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| read_row(entity, r))
        .optional()?
        .map(|(_, fields, version)| (fields, version)))
}

pub(crate) fn put_in_tx(
    conn: &rusqlite::Connection,
    table: &str,
    entity: &EntityDef,
    id: &str,
    fields: &Fields,
    row_version: u64,
) -> Result<(), StoreError> {
    let placeholders: String = (0..entity.attributes.len())
        .map(|i| format!(", ?{}", i + 2))
        .collect();
    let sql = format!(
        "INSERT OR REPLACE INTO \"{table}\" (id, {}, row_version) VALUES (?1{placeholders}, ?{})",
        column_list(entity),
        entity.attributes.len() + 2
    );
    let values = std::iter::once(Some(id.to_owned()))
        .chain(
            entity
                .attributes
                .iter()
                .map(|f| fields.get(&f.name).cloned().flatten()),
        )
        .chain(std::iter::once(Some(row_version.to_string())));
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    Ok(())
}

pub(crate) fn delete_in_tx(
    conn: &rusqlite::Connection,
    table: &str,
    id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!("DELETE FROM \"{table}\" WHERE id = ?1"))?
        .execute([id])?;
    Ok(())
}

impl Store {
    fn entity(&self, name: &str) -> Result<EntityDef, StoreError> {
        self.metadata
            .entity(name)
            .cloned()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Every local record of `entity`, ordered by its primary field.
    pub fn record_list(&self, entity: &str) -> Result<Vec<LocalRecord>, StoreError> {
        let def = self.entity(entity)?;
        let sql = format!(
            "SELECT t.id, {columns}, t.row_version, EXISTS (SELECT 1 FROM sync_outbox o WHERE o.entity = ?1 AND o.record_id = t.id), s.{REASON}
             FROM \"{table}\" t LEFT JOIN \"srv_{table}\" s ON s.id = t.id ORDER BY t.\"{primary}\", t.id",
            columns = prefixed_column_list(&def, "t."),
            table = def.name,
            primary = def.primary_field
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([entity], |r| {
            let (id, fields, row_version) = read_row(&def, r)?;
            Ok(LocalRecord {
                entity: def.name.clone(),
                id,
                fields,
                row_version,
                pending: r.get(def.attributes.len() + 2)?,
                reason: r.get(def.attributes.len() + 3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One local record.
    pub fn record_get(&self, entity: &str, id: &str) -> Result<LocalRecord, StoreError> {
        let def = self.entity(entity)?;
        let (fields, row_version) =
            get_in_tx(&self.conn, &def.name, &def, id)?.ok_or_else(|| StoreError::NotFound {
                entity: entity.to_owned(),
                id: id.to_owned(),
            })?;
        let reason = self
            .conn
            .prepare_cached(&format!(
                "SELECT {REASON} FROM \"srv_{}\" WHERE id = ?1",
                def.name
            ))?
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        Ok(LocalRecord {
            entity: def.name,
            id: id.to_owned(),
            fields,
            row_version,
            pending: outbox::has_pending(&self.conn, entity, id)?,
            reason,
        })
    }

    /// Changes fields of a local record at once and appends the change to the outbox with
    /// its before-image and base version, in one transaction.
    pub fn record_update(
        &mut self,
        ctx: &ApplyContext,
        entity: &str,
        id: &str,
        changes: Fields,
        op_id: &str,
    ) -> Result<LocalRecord, StoreError> {
        let def = self.entity(entity)?;
        let tx = self.conn.transaction()?;
        let (current, _) =
            get_in_tx(&tx, &def.name, &def, id)?.ok_or_else(|| StoreError::NotFound {
                entity: entity.to_owned(),
                id: id.to_owned(),
            })?;
        // Fields that already hold the new value are not a change.
        let changes: Fields = changes
            .into_iter()
            .filter(|(k, v)| current.get(k).cloned().flatten() != *v || !current.contains_key(k))
            .collect();
        if !changes.is_empty() {
            let before = changes
                .keys()
                .map(|k| (k.clone(), current.get(k).cloned().flatten()))
                .collect();
            let op = Operation::Update {
                entity: entity.to_owned(),
                id: id.to_owned(),
                changes,
                before,
            };
            LocalLayer::new(&tx).apply_in_tx(ctx, &self.metadata, &op)?;
            let base_version =
                get_in_tx(&tx, &format!("srv_{}", def.name), &def, id)?.map(|(_, v)| v);
            outbox::append_in_tx(&tx, op_id, &op, base_version)?;
        }
        tx.commit()?;
        self.record_get(entity, id)
    }

    /// Stores one pulled page in one transaction, so an interrupted sync resumes from the
    /// last whole page:
    /// 1. a `reset` page (or the first page after a migration asked for a resync) first
    ///    drops the server layer, keeping pending operations and what they touched;
    /// 2. `resolutions` remove their operations from the outbox; a discarded one's record
    ///    is restored to the server's values (with any other pending operations on top);
    /// 3. records go to the server layer with their reason, each rebased (its pending
    ///    operations re-applied on top); removed records leave both layers;
    /// 4. the page's checkpoint is kept.
    ///
    /// # Errors
    /// [`StoreError::WipeRequested`] for a `wipe` page, which is never stored: the caller
    /// must [`Store::wipe`] instead. [`StoreError::Invalid`] for a record of an entity the
    /// kept metadata does not have (nothing of the page is stored).
    pub fn pull_page_apply(
        &mut self,
        ctx: &ApplyContext,
        page: &PullResponse,
    ) -> Result<(), StoreError> {
        if page.wipe {
            return Err(StoreError::WipeRequested);
        }
        let metadata = &self.metadata;
        let def = |entity: &str| {
            metadata
                .entity(entity)
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let tx = self.conn.transaction()?;
        if state::resync_take_in_tx(&tx)? | page.reset {
            server_layer_drop_in_tx(&tx, metadata)?;
        }
        let mut discarded = BTreeSet::new();
        for resolution in &page.resolutions {
            let removed = outbox::remove_in_tx(&tx, &resolution.op_id)?;
            if let (Some(target), ResolutionAction::Discard) = (removed, resolution.action) {
                discarded.insert(target);
            }
        }
        for RecordPayload {
            entity,
            id,
            row_version,
            fields,
            reason,
        } in &page.records
        {
            let def = def(entity)?;
            put_in_tx(&tx, &format!("srv_{entity}"), def, id, fields, *row_version)?;
            reason_set_in_tx(&tx, def, id, reason)?;
            rebase_in_tx(&tx, ctx, metadata, def, id)?;
        }
        for removed in &page.removed {
            let def = def(&removed.entity)?;
            for table in [format!("srv_{}", def.name), def.name.clone()] {
                delete_in_tx(&tx, &table, &removed.id)?;
            }
        }
        for (entity, id) in &discarded {
            // An entity the metadata dropped has no tables to restore.
            if let Ok(def) = metadata.entity(entity) {
                rebase_in_tx(&tx, ctx, metadata, def, id)?;
            }
        }
        state::checkpoint_set_in_tx(&tx, page.checkpoint)?;
        tx.commit()?;
        Ok(())
    }
}
