//! Storing a pulled page: the server layer, the rebase of what is pending, removals,
//! resolutions made on the server, and the checkpoint — in one transaction.

use outpost_domain::ApplyContext;
use outpost_protocol::{PullResponse, RecordPayload, ResolutionAction};

use crate::layer::{rebase_in_tx, rebase_one_in_tx, release_in_tx};
use crate::table::records::{self, Layer};
use crate::table::{follow, outbox, state};
use crate::{Store, StoreError};

impl Store {
    /// Stores one pulled page in one transaction, so an interrupted sync resumes from the
    /// last whole page:
    /// 1. a `reset` page (or the first page after a migration asked for a resync) first
    ///    drops the server layer, keeping pending operations and what they touched;
    /// 2. `resolutions` remove their operations from the outbox; a discarded one's
    ///    records are restored to the server's values (with any other pending operations
    ///    on top);
    /// 3. records go to the server layer with their reason, each rebased (its pending
    ///    operations re-applied on top); removed records leave the server layer and are
    ///    rebased (so they leave the device unless something pending recreates them);
    /// 4. the page's checkpoint is kept, and what the request asked to be sent again
    ///    ([`Store::resend_ask`]) is no longer owed.
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
            for entity in &metadata.entities {
                let keep = outbox::touched_ids(&tx, &entity.name)?;
                records::clear_in_tx(&tx, entity, &keep)?;
            }
        }
        let mut discarded = Vec::new();
        let mut answered = Vec::new();
        for resolution in &page.resolutions {
            outbox::resolution_forget_in_tx(&tx, &resolution.op_id)?;
            let touched = outbox::remove_in_tx(&tx, &resolution.op_id)?.unwrap_or_default();
            if resolution.action == ResolutionAction::Discard {
                discarded.extend(touched.iter().cloned());
            }
            answered.extend(touched);
        }
        // What may need more than a plain copy, asked once for the page: pending
        // operations, records leaving, follows made here.
        let touched = outbox::any_touch(&tx)?;
        let leaving = records::leaving_any(&tx)?;
        let follows = follow::any(&tx)?;
        let mut writers: std::collections::HashMap<&str, records::PageWriter<'_>> =
            std::collections::HashMap::new();
        for RecordPayload {
            entity,
            id,
            row_version,
            fields,
            reason,
        } in &page.records
        {
            let def = def(entity)?;
            if touched && outbox::has_pending(&tx, entity, id)? {
                records::put_in_tx(&tx, Layer::Server, def, id, fields, *row_version)?;
                records::reason_set_in_tx(&tx, def, id, reason)?;
                records::leaving_forget_in_tx(&tx, def, id)?;
                rebase_one_in_tx(&tx, ctx, metadata, def, id, Some((fields, *row_version)))?;
                continue;
            }
            let writer = match writers.entry(def.name.as_str()) {
                std::collections::hash_map::Entry::Occupied(w) => w.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(records::PageWriter::new(&tx, def)?)
                }
            };
            writer.put(id, fields, *row_version, reason)?;
            if leaving {
                records::leaving_forget_in_tx(&tx, def, id)?;
            }
            if follows {
                follow::forget_in_tx(&tx, &def.name, id)?;
            }
        }
        drop(writers);
        for removed in &page.removed {
            let def = def(&removed.entity)?;
            if outbox::has_pending(&tx, &removed.entity, &removed.id)? {
                // The user is editing it: it stays, as the server last sent it (or as
                // made here), until nothing pending touches it (S10, B3).
                records::leaving_mark_in_tx(&tx, def, &removed.id)?;
                continue;
            }
            records::delete_in_tx(&tx, Layer::Server, def, &removed.id)?;
            records::leaving_forget_in_tx(&tx, def, &removed.id)?;
            rebase_one_in_tx(&tx, ctx, metadata, def, &removed.id, None)?;
        }
        if !discarded.is_empty() {
            rebase_in_tx(&tx, ctx, metadata, discarded)?;
        }
        release_in_tx(&tx, metadata, answered)?;
        state::checkpoint_set_in_tx(&tx, page.checkpoint)?;
        state::resend_settle_in_tx(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// Forgets the values of fields the user may no longer read (B4), in both layers and
    /// in what search finds, in one transaction: the device learned it from the access
    /// that came with a metadata answer, which applies at once, even while the new
    /// metadata itself waits for the user's yes. Changes the user made offline to such a
    /// field stay in the outbox and on the record (the server judges them). `unreadable`
    /// is entity → attribute names; names the store has no column for are passed over.
    /// Answers how many values were forgotten.
    pub fn fields_forget(
        &mut self,
        ctx: &ApplyContext,
        unreadable: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Result<u64, StoreError> {
        let metadata = &self.metadata;
        let tx = self.conn.transaction()?;
        let mut forgotten = 0;
        for (entity, attributes) in unreadable {
            let Ok(def) = metadata.entity(entity) else {
                continue;
            };
            let columns: Vec<&String> = attributes
                .iter()
                .filter(|a| def.attribute(a).is_ok())
                .collect();
            if columns.is_empty() {
                continue;
            }
            let mut here = 0;
            for layer in [Layer::Server, Layer::Local] {
                for column in &columns {
                    here += tx.execute(
                        &format!(
                            "UPDATE \"{}\" SET \"{column}\" = NULL WHERE \"{column}\" IS NOT NULL",
                            layer.table(entity)
                        ),
                        [],
                    )? as u64;
                }
            }
            here += crate::table::drafts::recent_forget_in_tx(&tx, entity, &columns)?;
            if here == 0 {
                continue;
            }
            forgotten += here;
            state::resend_owe_in_tx(&tx, entity)?;
            records::reindex_in_tx(&tx, def)?;
            let touched = outbox::touched_ids(&tx, entity)?;
            rebase_in_tx(
                &tx,
                ctx,
                metadata,
                touched.into_iter().map(|id| (entity.clone(), id)),
            )?;
        }
        tx.commit()?;
        Ok(forgotten)
    }
}
