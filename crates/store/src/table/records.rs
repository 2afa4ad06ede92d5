//! Entity tables, made from metadata: `<entity>` is the local layer (what the user sees),
//! `srv_<entity>` the server layer (what the server last sent). Same columns: `id`, one
//! column per field, `row_version` (the server version the row is based on).

use outpost_domain::{ApplyContext, EntityDef, Fields, Operation};
use outpost_protocol::{PullResponse, RecordPayload};
use rusqlite::{OptionalExtension as _, Transaction, params_from_iter};

use crate::layer::{LocalLayer, rebase_in_tx};
use crate::table::outbox;
use crate::table::state::CHECKPOINT;
use crate::{Store, StoreError};

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

pub(crate) fn create_in_tx(tx: &Transaction<'_>, entity: &EntityDef) -> Result<(), StoreError> {
    check_ident(&entity.name)?;
    for f in &entity.attributes {
        check_ident(&f.name)?;
    }
    let columns: String = entity
        .attributes
        .iter()
        .map(|f| format!("\"{}\" TEXT, ", f.name))
        .collect();
    for table in [entity.name.clone(), format!("srv_{}", entity.name)] {
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS \"{table}\" (id TEXT PRIMARY KEY, {columns}row_version INTEGER NOT NULL DEFAULT 0);"
        ))?;
    }
    let primary = &entity.primary_field;
    tx.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS \"{0}_by_{primary}\" ON \"{0}\"(\"{primary}\", id);",
        entity.name
    ))?;
    Ok(())
}

fn column_list(entity: &EntityDef) -> String {
    entity
        .attributes
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ")
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
            "SELECT id, {}, row_version, EXISTS (SELECT 1 FROM sync_outbox o WHERE o.entity = ?1 AND o.record_id = t.id)
             FROM \"{}\" t ORDER BY \"{}\", id",
            column_list(&def),
            def.name,
            def.primary_field
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
        Ok(LocalRecord {
            entity: def.name,
            id: id.to_owned(),
            fields,
            row_version,
            pending: outbox::has_pending(&self.conn, entity, id)?,
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

    /// Stores one pulled page: the server layer first, then each touched record rebased
    /// (its pending operations re-applied on top), then the page's checkpoint — all in one
    /// transaction, so an interrupted sync resumes from the last whole page.
    pub fn pull_page_apply(
        &mut self,
        ctx: &ApplyContext,
        page: &PullResponse,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for RecordPayload {
            entity,
            id,
            row_version,
            fields,
            ..
        } in &page.records
        {
            let def = self
                .metadata
                .entity(entity)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            put_in_tx(&tx, &format!("srv_{entity}"), def, id, fields, *row_version)?;
            rebase_in_tx(&tx, ctx, &self.metadata, def, id)?;
        }
        for removed in &page.removed {
            let def = self
                .metadata
                .entity(&removed.entity)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            for table in [format!("srv_{}", def.name), def.name.clone()] {
                delete_in_tx(&tx, &table, &removed.id)?;
            }
        }
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [CHECKPOINT, &page.checkpoint.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }
}
