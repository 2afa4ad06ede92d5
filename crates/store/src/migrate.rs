//! The device database's numbered format (C23, ADR 0014). `PRAGMA user_version` says which
//! format a file is at, and each step up is one migration in [`STEPS`]. [`migrate_in_tx`]
//! runs the steps a file needs inside the transaction that opens it: a step that fails
//! rolls every step back, so the file stays as it was and the error says which step it
//! was. A file of a newer format than this build knows is refused, never touched: this
//! build would read its data wrongly, and writing to it could lose what the newer one kept.
//!
//! The formats, each written by builds of main:
//! 1. text columns only; an outbox without its touch list (before 076175c).
//! 2. typed columns and full-text tables; the outbox touch list; follows, drafts and
//!    recent records; resolutions that say what they are about (`store_format` = `2` in
//!    `sync_state`, before the format was numbered).
//! 3. records leaving scope once their pending work is answered (`sync_leaving`); the format
//!    in `user_version`.
//!
//! **Adding a format:** append a step, bump [`FORMAT`], and keep a fixture database the
//! last build wrote (`crates/store/fixtures/`, see its README) so the test opens it. A step
//! meets files of the format below it only: a table a later step changes must not be
//! created in its newest shape by an earlier one.

use outpost_domain::Metadata;
use rusqlite::Transaction;

use crate::{StoreError, table};

/// The newest format: what this build writes.
pub const FORMAT: u32 = 3;

/// The oldest format this build moves forward (its first step starts there). A release
/// says both numbers, so a device never installs a build that could not open its data.
pub const MIN_FORMAT: u32 = 1;

/// The key under which format-2 files kept their format, before `user_version`.
const LEGACY_FORMAT_KEY: &str = "store_format";

/// One step: moves a file from the format before it to its own.
type Step = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// `STEPS[i]` moves a file from format `i + 1` to format `i + 2`.
const STEPS: [Step; FORMAT as usize - 1] = [to_2, to_3];

/// Which format the file is at: `user_version` once set; before that, what format-2
/// files kept in `sync_state`; `0` for a new, empty file.
pub(crate) fn format_of(tx: &rusqlite::Connection) -> Result<u32, StoreError> {
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > 0 {
        return Ok(version);
    }
    let tables: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Ok(0);
    }
    let has_state = table_exists(tx, "sync_state")?;
    let legacy = if has_state {
        table::state::get_in_tx(tx, LEGACY_FORMAT_KEY)?
    } else {
        None
    };
    Ok(if legacy.as_deref() == Some("2") { 2 } else { 1 })
}

/// Brings the file to [`FORMAT`] inside `tx`; the format it was at (`0`: a new file).
///
/// # Errors
/// [`StoreError::TooNew`] for a file of a newer format (nothing is written);
/// [`StoreError::Migration`] when a step fails (the caller drops `tx`, so nothing is).
pub(crate) fn migrate_in_tx(tx: &Transaction<'_>) -> Result<u32, StoreError> {
    let found = format_of(tx)?;
    if found > FORMAT {
        return Err(StoreError::TooNew {
            found,
            known: FORMAT,
        });
    }
    if found == 0 {
        // A new file: the newest shape at once (entity tables come with the metadata);
        // builds from before the number read it as the format-2 file it is a superset of.
        create_missing(tx)?;
        table::state::set_in_tx(tx, LEGACY_FORMAT_KEY, "2")?;
    } else {
        for (i, step) in STEPS.iter().enumerate().skip(found as usize - 1) {
            let to = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(2);
            step(tx).map_err(|e| StoreError::Migration {
                from: to - 1,
                to,
                source: Box::new(e),
            })?;
        }
    }
    if found != FORMAT {
        tx.pragma_update(None, "user_version", FORMAT)?;
    }
    Ok(found)
}

/// Whether the file has table `name`.
pub(crate) fn table_exists(tx: &rusqlite::Connection, name: &str) -> Result<bool, StoreError> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// Creates the internal tables a file lacks, in the shapes this build writes.
fn create_missing(tx: &Transaction<'_>) -> Result<(), StoreError> {
    for sql in crate::open::INTERNAL_TABLES {
        tx.execute_batch(sql)?;
    }
    Ok(())
}

/// The metadata a file keeps, if any (its entity tables follow it).
fn kept(tx: &Transaction<'_>) -> Result<Option<Metadata>, StoreError> {
    if table_exists(tx, "sync_metadata")? {
        table::metadata::load(tx)
    } else {
        Ok(None)
    }
}

/// 1 → 2: typed columns and full-text tables for every entity of the kept metadata; the
/// outbox gains its creation times and touch list; the tables format 1 did not have.
fn to_2(tx: &Transaction<'_>) -> Result<(), StoreError> {
    crate::open::outbox_upgrade_in_tx(tx)?;
    create_missing(tx)?;
    crate::open::resolutions_upgrade_in_tx(tx)?;
    if let Some(kept) = kept(tx)? {
        for entity in &kept.entities {
            table::records::retype_in_tx(tx, entity)?;
        }
    }
    table::state::set_in_tx(tx, LEGACY_FORMAT_KEY, "2")
}

/// 2 → 3: `sync_leaving`; and what format-2 files written before the last of its changes
/// lack — resolutions' newer columns, follows, drafts, a column kept in both layers.
fn to_3(tx: &Transaction<'_>) -> Result<(), StoreError> {
    create_missing(tx)?;
    tx.execute_batch(table::records::LEAVING_SCHEMA)?;
    crate::open::resolutions_upgrade_in_tx(tx)?;
    if let Some(kept) = kept(tx)? {
        for entity in &kept.entities {
            table::records::ensure_in_tx(tx, entity)?;
        }
    }
    Ok(())
}
