//! Writes the fixture of the store format this build writes (`crates/store/fixtures`,
//! ADR 0014): run it before the change that bumps `outpost_store::FORMAT`, so the next
//! format's step is tested from a file this build wrote.
//!
//! `cargo run --locked -p outpost-store --example write_format_fixture -- <path>`

use outpost_domain::{ApplyContext, EntityRef, Fields, Operation};
use outpost_protocol::{OpOutcome, OpResult, PullResponse, RecordPayload};
use outpost_store::{DatabaseKey, Draft, Resolve, Store};

/// The fixtures' key (a test key, in the repository on purpose).
const FIXTURE_KEY: &str = "6f7574706f73742d666978747572652d6b65792d6e6f742d612d736563726574";

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

fn refused(op_id: &str, code: &str) -> OpOutcome {
    OpOutcome {
        op_id: op_id.into(),
        result: OpResult::Error {
            code: code.into(),
            message: "refused".into(),
            fields: Vec::new(),
        },
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .ok_or("usage: write_format_fixture <path>")?;
    let _ = std::fs::remove_file(&path);
    let key = DatabaseKey::from_hex(FIXTURE_KEY)?;
    let ctx = ApplyContext {
        user: EntityRef {
            entity: "systemuser".into(),
            id: "u1".into(),
        },
        business_unit_id: "bu1".into(),
        now: time::macros::datetime!(2026-12-01 10:00 UTC),
    };
    let mut store = Store::open_with_key(&path, &key)?;
    store.metadata_apply(outpost_domain::demo::metadata())?;
    let page = PullResponse {
        records: [
            ("a1", "Server one"),
            ("a2", "Server two"),
            ("a3", "Server three"),
        ]
        .into_iter()
        .map(|(id, name)| RecordPayload {
            entity: "account".into(),
            id: id.into(),
            row_version: 1,
            fields: fields(&[("name", name)]),
            reason: "profile".into(),
        })
        .collect(),
        checkpoint: 1,
        metadata_version: 1,
        ..PullResponse::default()
    };
    store.pull_page_apply(&ctx, &page)?;
    let mut edit = |id: &str, name: &str, value: &str, op_id: &str| {
        store
            .record_update(&ctx, "account", id, fields(&[(name, value)]), op_id)
            .map(drop)
    };
    edit("a1", "name", "Pending edit", "op-pending")?;
    edit("a2", "name", "Failed edit", "op-failed")?;
    edit("a2", "address1_city", "Parked city", "op-parked")?;
    edit("a3", "name", "Kept edit", "op-resolving")?;
    store.outbox_resolve(&[
        refused("op-failed", "forbidden"),
        refused("op-resolving", "invalid"),
    ])?;
    store.sync_error_resolve(&ctx, "op-resolving", Resolve::KeepMine)?;
    store.op_apply(
        &ctx,
        "op-create",
        Operation::Create {
            entity: "account".into(),
            id: "made-1".into(),
            fields: fields(&[("name", "Made offline")]),
        },
    )?;
    store.draft_put(&Draft {
        id: "draft-1".into(),
        entity: "account".into(),
        fields: fields(&[("name", "A draft")]),
        created_at: "2026-12-01T10:00:00Z".into(),
        updated_at: "2026-12-01T10:05:00Z".into(),
        error: None,
    })?;
    drop(store);
    // One file: the write-ahead log folded in.
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "key", format!("x'{}'", key.to_hex()))?;
    conn.pragma_update(None, "journal_mode", "delete")?;
    println!("wrote {}", path.display());
    Ok(())
}
