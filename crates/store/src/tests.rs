use outpost_domain::{ApplyContext, EntityRef, Fields, Metadata};
use outpost_protocol::{OpOutcome, OpResult, PullResponse, RecordPayload, RecordRef};

use crate::{DatabaseKey, KeyStore, MemoryKeyStore, Store, StoreError};

fn ctx() -> ApplyContext {
    ApplyContext {
        user: EntityRef {
            entity: "systemuser".into(),
            id: "u1".into(),
        },
        business_unit_id: String::new(),
        now: time::macros::datetime!(2026-11-28 10:00 UTC),
    }
}

const MARKER: &str = "Zanzibar Unique Plaintext Marker";

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

/// A record in a test page: id, row version, fields.
type PageRecord<'a> = (&'a str, u64, &'a [(&'a str, &'a str)]);

fn page(records: &[PageRecord<'_>], removed: &[&str], checkpoint: u64) -> PullResponse {
    PullResponse {
        records: records
            .iter()
            .map(|(id, v, f)| RecordPayload {
                entity: "account".into(),
                id: (*id).into(),
                row_version: *v,
                fields: fields(f),
                reason: "profile".into(),
            })
            .collect(),
        removed: removed
            .iter()
            .map(|id| RecordRef {
                entity: "account".into(),
                id: (*id).into(),
            })
            .collect(),
        checkpoint,
        has_more: false,
        metadata_version: 1,
        ..PullResponse::default()
    }
}

fn open(dir: &tempfile::TempDir, keys: &MemoryKeyStore) -> Store {
    Store::open(
        &dir.path().join("local.db"),
        keys,
        "k",
        Metadata::skeleton(),
    )
    .expect("opens")
}

#[test]
fn the_database_file_holds_no_plaintext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    {
        let mut store = open(&dir, &keys);
        store
            .pull_page_apply(
                &ctx(),
                &page(&[("a1", 1, &[("name", MARKER), ("city", MARKER)])], &[], 1),
            )
            .expect("pull");
        store
            .record_update(
                &ctx(),
                "account",
                "a1",
                fields(&[("city", &format!("{MARKER} 2"))]),
                "op-1",
            )
            .expect("update");
        store.state_set("access_token", MARKER).expect("state");
        // Checkpoint the WAL so every byte is in the main file, then close.
        store
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        bytes.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    assert!(bytes.len() > 4096, "the database was written");
    let needle = MARKER.as_bytes();
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "a stored value must never appear in plaintext in the files"
    );
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "the header is encrypted too"
    );
}

#[test]
fn a_wrong_key_is_a_clear_error_and_the_data_survives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    open(&dir, &keys)
        .pull_page_apply(&ctx(), &page(&[("a1", 1, &[("name", "Kept")])], &[], 1))
        .expect("pull");
    let right = keys.get("k").expect("get").expect("a key was made");
    keys.set("k", &DatabaseKey::generate()).expect("set");
    let err = Store::open(
        &dir.path().join("local.db"),
        &keys,
        "k",
        Metadata::skeleton(),
    )
    .expect_err("another key must not open the database");
    assert!(matches!(err, StoreError::WrongKey), "got {err:?}");
    keys.set("k", &right).expect("set");
    let store = open(&dir, &keys);
    assert_eq!(
        store
            .record_get("account", "a1")
            .expect("still there")
            .fields["name"]
            .as_deref(),
        Some("Kept"),
        "a failed open must not damage the data"
    );
}

#[test]
fn a_missing_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    drop(open(&dir, &keys));
    keys.delete("k").expect("delete");
    let err = Store::open(
        &dir.path().join("local.db"),
        &keys,
        "k",
        Metadata::skeleton(),
    )
    .expect_err("no key, no data");
    assert!(matches!(err, StoreError::MissingKey), "got {err:?}");
}

#[test]
fn an_update_shows_at_once_and_waits_in_the_outbox_with_its_before_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let mut store = open(&dir, &keys);
    store
        .pull_page_apply(
            &ctx(),
            &page(&[("a1", 4, &[("name", "Old"), ("city", "Lyon")])], &[], 4),
        )
        .expect("pull");
    let rec = store
        .record_update(
            &ctx(),
            "account",
            "a1",
            fields(&[("name", "New"), ("city", "Lyon")]),
            "op-1",
        )
        .expect("update");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("New"),
        "the user sees the change at once"
    );
    assert!(rec.pending, "the record is marked as waiting for sync");
    let pending = store.outbox_pending(10).expect("outbox");
    assert_eq!(
        pending.len(),
        1,
        "one op, and the unchanged city is not part of it"
    );
    assert_eq!(
        pending[0].base_version,
        Some(4),
        "based on the server version"
    );
    let outpost_domain::Operation::Update {
        changes, before, ..
    } = &pending[0].op
    else {
        panic!("the outbox holds an update, got {:?}", pending[0].op);
    };
    assert_eq!(changes, &fields(&[("name", "New")]));
    assert_eq!(
        before,
        &fields(&[("name", "Old")]),
        "the before-image is what the user saw"
    );
}

#[test]
fn a_pull_rebases_pending_changes_instead_of_overwriting_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let mut store = open(&dir, &keys);
    store
        .pull_page_apply(
            &ctx(),
            &page(&[("a1", 1, &[("name", "Old"), ("city", "Lyon")])], &[], 1),
        )
        .expect("pull");
    store
        .record_update(&ctx(), "account", "a1", fields(&[("name", "Mine")]), "op-1")
        .expect("update");
    store
        .pull_page_apply(
            &ctx(),
            &page(&[("a1", 2, &[("name", "Old"), ("city", "Paris")])], &[], 2),
        )
        .expect("pull");
    let rec = store.record_get("account", "a1").expect("exists");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("Mine"),
        "the user's edit survives the pull"
    );
    assert_eq!(
        rec.fields["city"].as_deref(),
        Some("Paris"),
        "the server's edit arrives"
    );
    assert_eq!(
        store.checkpoint().expect("checkpoint"),
        2,
        "the checkpoint moves with the page"
    );
    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-1".into(),
            result: OpResult::Applied { row_version: 3 },
        }])
        .expect("resolve");
    assert_eq!(
        store.outbox_count().expect("count"),
        0,
        "applied ops leave the outbox"
    );
    store
        .pull_page_apply(&ctx(), &page(&[], &["a1"], 3))
        .expect("pull");
    assert!(
        matches!(
            store.record_get("account", "a1"),
            Err(StoreError::NotFound { .. })
        ),
        "removed records leave the device"
    );
}

#[test]
fn wiping_removes_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let store = open(&dir, &keys);
    store.wipe(&keys, "k").expect("wipe");
    assert!(!dir.path().join("local.db").exists(), "the file is gone");
    assert!(keys.get("k").expect("get").is_none(), "the key is gone");
}
