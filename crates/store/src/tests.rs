use outpost_domain::metadata::{AttributeDef, AttributeKind, Requirement};
use outpost_domain::{ApplyContext, EntityRef, Fields, Metadata};
use outpost_protocol::{
    OpOutcome, OpResult, PullResponse, RecordPayload, RecordRef, Resolution, ResolutionAction,
};

use crate::{DatabaseKey, KeyStore, LocalRecord, MemoryKeyStore, Store, StoreError};

/// The demo account's city attribute.
const CITY: &str = "address1_city";

fn ctx() -> ApplyContext {
    ApplyContext {
        user: EntityRef {
            entity: "systemuser".into(),
            id: "u1".into(),
        },
        business_unit_id: "bu1".into(),
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

/// Stores one pulled page.
fn pull(store: &mut Store, page: PullResponse) {
    store.pull_page_apply(&ctx(), &page).expect("pull");
}

/// Changes fields of an account on the device; the record as it now shows.
fn edit(store: &mut Store, id: &str, changes: Fields, op_id: &str) -> LocalRecord {
    store
        .record_update(&ctx(), "account", id, changes, op_id)
        .expect("update")
}

/// A page that carries only the server's resolutions (`op id`, action) of sync errors.
fn resolved(actions: &[(&str, ResolutionAction)], checkpoint: u64) -> PullResponse {
    PullResponse {
        resolutions: actions
            .iter()
            .map(|(op_id, action)| Resolution {
                op_id: (*op_id).into(),
                action: *action,
            })
            .collect(),
        ..page(&[], &[], checkpoint)
    }
}

/// Checks that the database file and its key are gone.
#[track_caller]
fn assert_wiped(dir: &tempfile::TempDir, keys: &MemoryKeyStore) {
    assert!(!dir.path().join("local.db").exists(), "the file is gone");
    assert!(keys.get("k").expect("get").is_none(), "the key is gone");
}

/// Opens (or reopens) the store with the metadata it keeps.
fn reopen(dir: &tempfile::TempDir, keys: &MemoryKeyStore) -> Store {
    Store::open(&dir.path().join("local.db"), keys, "k").expect("opens")
}

/// Opens the store and brings it to the demo org's metadata, as sign-in does.
fn open(dir: &tempfile::TempDir, keys: &MemoryKeyStore) -> Store {
    let mut store = reopen(dir, keys);
    store
        .metadata_apply(outpost_domain::demo::metadata())
        .expect("the demo metadata applies");
    store
}

/// A store in a fresh temp folder with its key store, opened as [`open`] does.
fn fresh() -> (tempfile::TempDir, MemoryKeyStore, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let store = open(&dir, &keys);
    (dir, keys, store)
}

#[test]
fn the_database_file_holds_no_plaintext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    {
        let mut store = open(&dir, &keys);
        pull(
            &mut store,
            page(&[("a1", 1, &[("name", MARKER), (CITY, MARKER)])], &[], 1),
        );
        edit(
            &mut store,
            "a1",
            fields(&[(CITY, &format!("{MARKER} 2"))]),
            "op-1",
        );
        store.state_set("access_token", MARKER).expect("state");
        store
            .draft_put(&crate::Draft {
                id: "d1".into(),
                entity: "account".into(),
                fields: fields(&[("name", MARKER)]),
                created_at: "2026-01-01T00:00:00Z".into(),
                updated_at: "2026-01-01T00:00:00Z".into(),
                error: None,
            })
            .expect("draft");
        store
            .recent_put(&crate::RecentRecord {
                entity: "account".into(),
                id: "r1".into(),
                fields: fields(&[("name", MARKER)]),
                row_version: 3,
                used_at: "2026-01-01T00:00:00Z".into(),
            })
            .expect("recent");
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
    pull(
        &mut open(&dir, &keys),
        page(&[("a1", 1, &[("name", "Kept")])], &[], 1),
    );
    let right = keys.get("k").expect("get").expect("a key was made");
    keys.set("k", &DatabaseKey::generate()).expect("set");
    let err = Store::open(&dir.path().join("local.db"), &keys, "k")
        .expect_err("another key must not open the database");
    assert!(matches!(err, StoreError::WrongKey), "got {err:?}");
    keys.set("k", &right).expect("set");
    let store = reopen(&dir, &keys);
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
    let err = Store::open(&dir.path().join("local.db"), &keys, "k").expect_err("no key, no data");
    assert!(matches!(err, StoreError::MissingKey), "got {err:?}");
}

#[test]
fn an_update_shows_at_once_and_waits_in_the_outbox_with_its_before_image() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 4, &[("name", "Old"), (CITY, "Lyon")])], &[], 4),
    );
    let rec = edit(
        &mut store,
        "a1",
        fields(&[("name", "New"), (CITY, "Lyon")]),
        "op-1",
    );
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
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Old"), (CITY, "Lyon")])], &[], 1),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    pull(
        &mut store,
        page(&[("a1", 2, &[("name", "Old"), (CITY, "Paris")])], &[], 2),
    );
    let rec = store.record_get("account", "a1").expect("exists");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("Mine"),
        "the user's edit survives the pull"
    );
    assert_eq!(
        rec.fields[CITY].as_deref(),
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
    pull(&mut store, page(&[], &["a1"], 3));
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
    let (dir, keys, store) = fresh();
    store.destroy(&keys, "k").expect("destroy");
    assert_wiped(&dir, &keys);
}

fn name_of(store: &Store, id: &str) -> Option<String> {
    store
        .record_get("account", id)
        .ok()
        .and_then(|r| r.fields["name"].clone())
}

/// The demo metadata, version 2: accounts gain `x_region`, and a new `x_visit` entity.
fn demo_v2() -> Metadata {
    let mut metadata = outpost_domain::demo::metadata();
    metadata.version = 2;
    let account = metadata
        .entities
        .iter_mut()
        .find(|e| e.name == "account")
        .expect("the demo org has accounts");
    let region = AttributeDef {
        name: "x_region".into(),
        label: "Region".into(),
        kind: AttributeKind::Text { max_len: 40 },
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    };
    account.attributes.push(region.clone());
    let mut visit = account.clone();
    visit.name = "x_visit".into();
    visit.attributes = vec![AttributeDef {
        name: "name".into(),
        ..region
    }];
    visit.forms.clear();
    visit.views.clear();
    visit.quick_find.clear();
    metadata.entities.push(visit);
    metadata
}

#[test]
fn the_metadata_is_kept_inside_the_store_so_it_opens_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    pull(
        &mut open(&dir, &keys),
        page(&[("a1", 1, &[("name", "Kept")])], &[], 1),
    );
    let store = reopen(&dir, &keys);
    assert_eq!(
        store.metadata(),
        &outpost_domain::demo::metadata(),
        "a restart without the server has the metadata the server sent"
    );
    assert_eq!(name_of(&store, "a1").as_deref(), Some("Kept"));
}

#[test]
fn a_newer_metadata_adds_columns_and_tables_and_keeps_records_and_pending_work() {
    let (dir, keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[
                ("a1", 1, &[("name", "Old")]),
                ("a2", 2, &[("name", "Other")]),
            ],
            &[],
            2,
        ),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    let change = store.metadata_apply(demo_v2()).expect("migrates");
    assert_eq!(
        change.added_columns,
        vec![("account".to_owned(), "x_region".to_owned())],
        "the new attribute became a column"
    );
    assert_eq!(change.added_entities, vec!["x_visit".to_owned()]);
    assert!(
        change.resync,
        "new columns are empty until the server resends"
    );
    assert_eq!(
        store.checkpoint().expect("checkpoint"),
        0,
        "the next pull starts over"
    );
    assert_eq!(
        name_of(&store, "a1").as_deref(),
        Some("Mine"),
        "records survive"
    );
    assert_eq!(
        store.outbox_count().expect("count"),
        1,
        "pending work survives"
    );
    drop(store);

    let mut store = reopen(&dir, &keys);
    assert_eq!(
        store.metadata().version,
        2,
        "the migrated metadata is the kept one"
    );
    let rec = edit(&mut store, "a1", fields(&[("x_region", "North")]), "op-2");
    assert_eq!(
        rec.fields["x_region"].as_deref(),
        Some("North"),
        "the new column takes values"
    );
    assert!(
        store.record_list("x_visit").expect("new table").is_empty(),
        "the new entity has its (empty) table"
    );
    // The resync's first page replaces the server layer: a2 was not resent, so it is gone;
    // a1 has pending work, so it stays until the server sends it.
    pull(&mut store, page(&[("a3", 7, &[("name", "New")])], &[], 7));
    assert_eq!(
        name_of(&store, "a2"),
        None,
        "the old server layer was dropped"
    );
    assert_eq!(name_of(&store, "a1").as_deref(), Some("Mine"));
    assert_eq!(name_of(&store, "a3").as_deref(), Some("New"));
    pull(&mut store, page(&[("a4", 8, &[("name", "Later")])], &[], 8));
    assert_eq!(
        name_of(&store, "a3").as_deref(),
        Some("New"),
        "only the first page after the migration replaces the server layer"
    );
    assert_eq!(
        store.metadata_apply(demo_v2()).expect("same metadata"),
        crate::MetadataChange::default(),
        "the same metadata again changes nothing"
    );
}

#[test]
fn an_attribute_named_like_a_store_column_is_refused_and_nothing_changes() {
    let (dir, keys, mut store) = fresh();
    let mut bad = demo_v2();
    bad.entities[0].attributes[0].name = "row_version".into();
    let err = store.metadata_apply(bad).expect_err("refused");
    assert!(matches!(err, StoreError::Invalid(_)), "got {err:?}");
    assert_eq!(store.metadata().version, 1, "the store keeps its metadata");
    assert_eq!(reopen(&dir, &keys).metadata().version, 1);
}

#[test]
fn a_reset_page_drops_the_server_layer_but_keeps_the_outbox() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[
                ("a1", 1, &[("name", "Old"), (CITY, "Lyon")]),
                ("a2", 2, &[("name", "Gone")]),
            ],
            &[],
            2,
        ),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    let reset = PullResponse {
        reset: true,
        has_more: true,
        ..page(&[("a3", 1, &[("name", "Fresh")])], &[], 40)
    };
    pull(&mut store, reset);
    assert_eq!(
        name_of(&store, "a2"),
        None,
        "records the server did not resend are gone"
    );
    assert_eq!(name_of(&store, "a3").as_deref(), Some("Fresh"));
    assert_eq!(
        name_of(&store, "a1").as_deref(),
        Some("Mine"),
        "pending work stays visible"
    );
    assert_eq!(
        store.outbox_count().expect("count"),
        1,
        "the outbox is kept"
    );
    assert_eq!(store.checkpoint().expect("checkpoint"), 40);
    pull(
        &mut store,
        page(&[("a1", 9, &[("name", "Old"), (CITY, "Paris")])], &[], 41),
    );
    let rec = store.record_get("account", "a1").expect("a1");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("Mine"),
        "rebased on the new server state"
    );
    assert_eq!(rec.fields[CITY].as_deref(), Some("Paris"));
    assert_eq!(rec.row_version, 9);
}

#[test]
fn a_resolution_applied_on_the_server_leaves_the_outbox_and_keeps_the_value() {
    let (_dir, _keys, mut store) = fresh();
    pull(&mut store, page(&[("a1", 1, &[("name", "Old")])], &[], 1));
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    pull(
        &mut store,
        resolved(&[("op-1", ResolutionAction::Apply)], 2),
    );
    assert_eq!(
        store.outbox_count().expect("count"),
        0,
        "the op left the outbox"
    );
    let rec = store.record_get("account", "a1").expect("a1");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("Mine"),
        "the applied value stays shown"
    );
    assert!(!rec.pending, "nothing waits any more");
}

#[test]
fn a_discarded_resolution_restores_the_server_values_and_keeps_other_pending_work() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Server"), (CITY, "Lyon")])], &[], 1),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    edit(&mut store, "a1", fields(&[(CITY, "Nice")]), "op-2");
    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-1".into(),
            result: OpResult::Conflict { fields: vec![] },
        }])
        .expect("op-1 failed");
    pull(
        &mut store,
        resolved(
            &[
                ("op-1", ResolutionAction::Discard),
                ("op-unknown", ResolutionAction::Discard),
            ],
            2,
        ),
    );
    let rec = store.record_get("account", "a1").expect("a1");
    assert_eq!(
        rec.fields["name"].as_deref(),
        Some("Server"),
        "the server's value is back"
    );
    assert_eq!(
        rec.fields[CITY].as_deref(),
        Some("Nice"),
        "the other pending change stays"
    );
    let left: Vec<String> = store
        .outbox_pending(10)
        .expect("outbox")
        .into_iter()
        .map(|e| e.op_id)
        .collect();
    assert_eq!(left, vec!["op-2".to_owned()], "only the discarded op left");
    assert_eq!(store.sync_error_count().expect("errors"), 0);
}

#[test]
fn a_discarded_create_removes_the_record_made_offline() {
    let (_dir, _keys, mut store) = fresh();
    let op = outpost_domain::Operation::Create {
        entity: "account".into(),
        id: "new-1".into(),
        fields: fields(&[("name", "Made offline")]),
    };
    store.op_apply(&ctx(), "op-c", op).expect("create");
    assert_eq!(name_of(&store, "new-1").as_deref(), Some("Made offline"));
    assert_eq!(
        store.record_get("account", "new-1").expect("made").reason,
        None,
        "a record made on the device has no server reason"
    );
    pull(
        &mut store,
        resolved(&[("op-c", ResolutionAction::Discard)], 2),
    );
    assert_eq!(name_of(&store, "new-1"), None, "the server never had it");
    assert_eq!(store.outbox_count().expect("count"), 0);
}

#[test]
fn a_record_keeps_why_the_server_sent_it() {
    let (_dir, _keys, mut store) = fresh();
    let mut p = page(
        &[("a1", 1, &[("name", "One")]), ("a2", 2, &[("name", "Two")])],
        &[],
        2,
    );
    p.records[1].reason = "related:contact.parentcustomerid".into();
    pull(&mut store, p);
    edit(&mut store, "a2", fields(&[("name", "Deux")]), "op-1");
    let reasons: Vec<(String, Option<String>)> = store
        .record_list("account")
        .expect("list")
        .into_iter()
        .map(|r| (r.id, r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "a2".to_owned(),
                Some("related:contact.parentcustomerid".to_owned())
            ),
            ("a1".to_owned(), Some("profile".to_owned())),
        ],
        "each record carries its reason, also when edited locally"
    );
}

#[test]
fn a_wipe_page_is_never_stored() {
    let (dir, keys, mut store) = fresh();
    pull(&mut store, page(&[("a1", 1, &[("name", "Kept")])], &[], 1));
    let wipe = PullResponse {
        wipe: true,
        ..page(&[("a2", 2, &[("name", "Ignored")])], &["a1"], 2)
    };
    let err = store
        .pull_page_apply(&ctx(), &wipe)
        .expect_err("a wipe is not a page");
    assert!(matches!(err, StoreError::WipeRequested), "got {err:?}");
    assert_eq!(
        name_of(&store, "a1").as_deref(),
        Some("Kept"),
        "nothing of it was stored"
    );
    assert_eq!(store.checkpoint().expect("checkpoint"), 1);
    store.destroy(&keys, "k").expect("destroy");
    assert_wiped(&dir, &keys);
}

mod migrate;
mod outbox_model;
mod views;

#[test]
fn recently_used_records_keep_the_newest_and_drafts_keep_their_order() {
    let (dir, keys, mut store) = fresh();
    let extra = 10;
    for n in 0..crate::RECENT_MAX + extra {
        store
            .recent_put(&crate::RecentRecord {
                entity: "account".into(),
                id: format!("r{n:04}"),
                fields: fields(&[("name", &format!("Recent {n}"))]),
                row_version: 1,
                used_at: format!("2026-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
            })
            .expect("recent");
    }
    // Opening an old one again makes it the most recent.
    let again = store
        .recent_get("account", &format!("r{extra:04}"))
        .expect("get")
        .expect("kept");
    store
        .recent_put(&crate::RecentRecord {
            used_at: "2026-01-02T00:00:00Z".into(),
            ..again
        })
        .expect("again");
    let kept = store.recent_list(Some("account")).expect("list");
    assert_eq!(kept.len(), crate::RECENT_MAX as usize);
    assert_eq!(kept[0].id, format!("r{extra:04}"));
    assert!(
        store.recent_get("account", "r0000").expect("get").is_none(),
        "the least recently used went first"
    );
    assert!(store.recent_list(Some("contact")).expect("list").is_empty());

    for (id, at) in [
        ("d2", "2026-01-01T00:00:02Z"),
        ("d1", "2026-01-01T00:00:01Z"),
    ] {
        store
            .draft_put(&crate::Draft {
                id: id.into(),
                entity: "account".into(),
                fields: fields(&[("name", id)]),
                created_at: at.into(),
                updated_at: at.into(),
                error: None,
            })
            .expect("draft");
    }
    let mut d2 = store.draft_get("d2").expect("get").expect("there");
    d2.error = Some("refused".into());
    store.draft_put(&d2).expect("update");
    let drafts = store.draft_list().expect("list");
    assert_eq!(
        drafts.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["d1", "d2"]
    );
    assert_eq!(drafts[1].error.as_deref(), Some("refused"));
    drop(store);
    let store = reopen(&dir, &keys);
    assert!(store.draft_delete("d1").expect("delete"));
    assert!(!store.draft_delete("d1").expect("gone"));
    assert_eq!(store.draft_list().expect("list").len(), 1);
}

#[test]
fn a_quick_find_change_reindexes_what_search_finds() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[("a1", 1, &[("name", "Plain name"), (CITY, "Zanzibarville")])],
            &[],
            1,
        ),
    );
    let found = |store: &Store| {
        store
            .search(&["account".into()], "zanzibarville", 10)
            .expect("search")
            .len()
    };
    assert_eq!(found(&store), 0, "the city is not a quick-find column yet");
    let mut next = store.metadata().clone();
    next.version += 1;
    if let Some(account) = next.entities.iter_mut().find(|e| e.name == "account") {
        account.quick_find.push(CITY.to_owned());
    }
    let change = store.metadata_apply(next).expect("apply");
    assert_eq!(change.reindexed, ["account"]);
    assert_eq!(found(&store), 1, "found by the new quick-find column");
}

#[test]
fn resolutions_queued_by_an_older_store_survive_its_upgrade() {
    let (dir, keys, store) = fresh();
    // The table as the first layout had it, holding one queued resolution, in a file of
    // format 2 (before the format was numbered).
    store
        .conn
        .execute_batch(
            "PRAGMA user_version = 0;
             DROP TABLE sync_resolution_out;
             CREATE TABLE sync_resolution_out (op_id TEXT PRIMARY KEY,
               action TEXT NOT NULL CHECK (action IN ('apply', 'discard')));
             INSERT INTO sync_resolution_out (op_id, action) VALUES ('op-old', 'discard');",
        )
        .expect("old layout");
    drop(store);
    let store = reopen(&dir, &keys);
    assert_eq!(
        store.resolutions_outgoing().expect("queued"),
        vec![("op-old".to_owned(), ResolutionAction::Discard)],
        "still sent at the next sync"
    );
    assert!(
        store.resolutions_waiting().expect("waiting").is_empty(),
        "not listed: the old layout never kept what it was about"
    );
}

/// The record's reason and pending flag, or `None` when the device no longer holds it.
fn held(store: &Store, id: &str) -> Option<(Option<String>, bool)> {
    store
        .record_get("account", id)
        .ok()
        .map(|r| (r.reason, r.pending))
}

#[test]
fn a_record_the_user_is_editing_stays_when_it_leaves_scope_until_its_change_is_answered() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[
                ("a1", 1, &[("name", "Old")]),
                ("a2", 1, &[("name", "Other")]),
            ],
            &[],
            1,
        ),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    pull(&mut store, page(&[], &["a1", "a2"], 2));
    assert_eq!(held(&store, "a2"), None, "a record nobody edits leaves");
    assert_eq!(
        held(&store, "a1"),
        Some((Some(crate::table::records::IN_PROGRESS.to_owned()), true)),
        "the record being edited stays, and says why (S10, B3)"
    );
    assert_eq!(
        name_of(&store, "a1").as_deref(),
        Some("Mine"),
        "with the user's change"
    );

    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-1".into(),
            result: OpResult::Applied { row_version: 2 },
        }])
        .expect("answered");
    assert_eq!(
        held(&store, "a1"),
        None,
        "once the server has the change, the record leaves as the server said"
    );
    assert_eq!(
        store.record_get_server("account", "a1").expect("read"),
        None,
        "from both layers"
    );
}

#[test]
fn a_record_made_here_and_edited_leaves_when_scope_says_so_once_its_change_is_answered() {
    // Found by the simulation (seed 258): the device made a record, the server applied
    // it, and a pull said it left scope while an edit of it waited. With no server copy
    // to mark, the record stayed on the device for good once the edit was answered.
    let (_dir, _keys, mut store) = fresh();
    let answer = |store: &mut Store, op_id: &str| {
        store
            .outbox_resolve(&[OpOutcome {
                op_id: op_id.into(),
                result: OpResult::Applied { row_version: 9 },
            }])
            .expect("answered");
    };
    for id in ["made-1", "made-2"] {
        let op = outpost_domain::Operation::Create {
            entity: "account".into(),
            id: id.into(),
            fields: fields(&[("name", "Made here")]),
        };
        store
            .op_apply(&ctx(), &format!("c-{id}"), op)
            .expect("create");
        answer(&mut store, &format!("c-{id}"));
        edit(
            &mut store,
            id,
            fields(&[("name", "Edited")]),
            &format!("e-{id}"),
        );
    }
    pull(&mut store, page(&[], &["made-1", "made-2"], 2));
    assert_eq!(
        name_of(&store, "made-1").as_deref(),
        Some("Edited"),
        "the record being edited stays while its change waits"
    );
    // The server sends made-2 back (in scope again) before the edit is answered.
    pull(
        &mut store,
        page(&[("made-2", 9, &[("name", "Made here")])], &[], 3),
    );
    answer(&mut store, "e-made-1");
    answer(&mut store, "e-made-2");
    assert_eq!(
        name_of(&store, "made-1"),
        None,
        "once the server has the change, the record leaves as the server said"
    );
    assert!(
        name_of(&store, "made-2").is_some(),
        "a record the server sent again after it said it left stays"
    );
}

#[test]
fn a_refused_change_keeps_its_record_until_the_user_resolves_it() {
    let (_dir, _keys, mut store) = fresh();
    pull(&mut store, page(&[("a1", 1, &[("name", "Old")])], &[], 1));
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    pull(&mut store, page(&[], &["a1"], 2));
    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-1".into(),
            result: OpResult::Error {
                code: "forbidden".into(),
                message: "no longer yours".into(),
                fields: Vec::new(),
            },
        }])
        .expect("answered");
    assert!(
        held(&store, "a1").is_some(),
        "a sync error's record stays, so the user can see what they changed"
    );
    store
        .sync_error_resolve(&ctx(), "op-1", crate::Resolve::TakeServer)
        .expect("resolved");
    assert_eq!(held(&store, "a1"), None, "taking the server's lets it go");
}

#[test]
fn a_reset_keeps_the_server_copy_of_a_record_being_edited_until_it_is_sent_again() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Old"), (CITY, "Lyon")])], &[], 1),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op-1");
    let reset = PullResponse {
        reset: true,
        ..page(&[], &[], 40)
    };
    pull(&mut store, reset);
    assert_eq!(
        store
            .record_get_server("account", "a1")
            .expect("read")
            .map(|(f, _)| f[CITY].clone()),
        Some(Some("Lyon".to_owned())),
        "the base the change was made on stays"
    );
    assert_eq!(
        held(&store, "a1").and_then(|(reason, _)| reason).as_deref(),
        Some(crate::table::records::IN_PROGRESS)
    );
    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-1".into(),
            result: OpResult::Applied { row_version: 2 },
        }])
        .expect("answered");
    assert_eq!(
        held(&store, "a1"),
        None,
        "a record the server did not send again leaves once answered"
    );
}

#[cfg(unix)]
#[test]
fn the_database_files_are_private_to_their_owner_and_every_commit_is_durable() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, keys, mut store) = fresh();
    pull(&mut store, page(&[("a1", 1, &[("name", "Old")])], &[], 1));
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    assert_eq!(mode("local.db"), Some(0o600), "the database");
    assert_eq!(mode("local.db-wal"), Some(0o600), "its write-ahead log");
    let synchronous: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(
        synchronous, 2,
        "FULL: a commit is on disk before it returns"
    );
    drop(store);

    // A file an older build left readable by others is made private when opened.
    std::fs::set_permissions(
        dir.path().join("local.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let _store = reopen(&dir, &keys);
    assert_eq!(mode("local.db"), Some(0o600), "tightened on open");
}

#[test]
fn unsent_work_leaves_a_store_and_comes_back_into_another_with_its_op_ids() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[("a1", 1, &[("name", "Old")]), ("a2", 1, &[("name", "Two")])],
            &[],
            1,
        ),
    );
    edit(&mut store, "a1", fields(&[("name", "Refused")]), "op-1");
    edit(&mut store, "a1", fields(&[("name", "Parked")]), "op-2");
    edit(&mut store, "a2", fields(&[("name", "Kept mine")]), "op-3");
    store
        .outbox_resolve(&[
            OpOutcome {
                op_id: "op-1".into(),
                result: OpResult::Error {
                    code: "validation".into(),
                    message: "no".into(),
                    fields: Vec::new(),
                },
            },
            OpOutcome {
                op_id: "op-3".into(),
                result: OpResult::Conflict { fields: Vec::new() },
            },
        ])
        .expect("answered");
    store
        .sync_error_resolve(&ctx(), "op-3", crate::Resolve::KeepMine)
        .expect("kept");
    store
        .draft_put(&crate::Draft {
            id: "d1".into(),
            entity: "account".into(),
            fields: fields(&[("name", "Draft")]),
            created_at: "2026-11-28T10:00:00Z".into(),
            updated_at: "2026-11-28T10:00:00Z".into(),
            error: None,
        })
        .expect("draft");
    let unsent = store.unsent().expect("unsent");
    assert_eq!(
        unsent,
        crate::Unsent {
            changes: 1,
            sync_errors: 1,
            resolutions: 1,
            drafts: 1
        }
    );
    assert_eq!(
        unsent.describe(),
        "1 change, 1 sync error, 1 resolution and 1 draft"
    );
    let work = store.unsent_export().expect("export");
    assert_eq!(work.count(), unsent, "the export holds all of it");

    // Another store of the same user (after a wipe), with the records downloaded again.
    let (_dir2, _keys2, mut again) = fresh();
    pull(
        &mut again,
        page(
            &[
                ("a1", 5, &[("name", "Server")]),
                ("a2", 5, &[("name", "Two")]),
            ],
            &[],
            9,
        ),
    );
    let added = again.unsent_import(&ctx(), &work).expect("import");
    assert_eq!(added, unsent, "everything came back");
    assert_eq!(again.unsent().expect("unsent"), unsent);
    let ops: Vec<(String, bool)> = again
        .outbox_entries()
        .expect("entries")
        .into_iter()
        .map(|e| (e.op_id, e.parked_behind.is_some()))
        .collect();
    assert_eq!(
        ops,
        [
            ("op-1".to_owned(), false),
            ("op-2".to_owned(), true),
            ("op-3".to_owned(), false)
        ],
        "in their order, with their op ids, the parked one still parked"
    );
    assert_eq!(
        name_of(&again, "a1").as_deref(),
        Some("Parked"),
        "the user's changes show again on the fresh server copy"
    );
    assert_eq!(
        again.resolutions_outgoing().expect("resolutions"),
        [("op-3".to_owned(), ResolutionAction::Apply)]
    );
    assert_eq!(
        again.unsent_import(&ctx(), &work).expect("import again"),
        crate::Unsent::default(),
        "a second restore adds nothing"
    );
}

#[test]
fn a_field_the_user_may_no_longer_read_is_forgotten_everywhere_the_device_kept_it() {
    // A quick-find column, so search would find it by its value.
    const PHONE: &str = "telephone1";
    let (_dir, _keys, mut store) = fresh();
    assert_eq!(
        {
            pull(
                &mut store,
                page(
                    &[("a0", 1, &[("name", "Zero"), (PHONE, "555-0199")])],
                    &[],
                    1,
                ),
            );
            store
                .search(&["account".to_owned()], "555-0199", 10)
                .expect("search")
                .len()
        },
        1,
        "search finds a record by it before"
    );
    pull(
        &mut store,
        page(
            &[("a1", 1, &[("name", "Old"), (PHONE, "555-0199")])],
            &[],
            1,
        ),
    );
    store
        .recent_put(&crate::RecentRecord {
            entity: "account".into(),
            id: "r1".into(),
            fields: fields(&[("name", "Recent"), (PHONE, "555-0100")]),
            row_version: 1,
            used_at: "2026-11-28T10:00:00Z".into(),
        })
        .expect("recent");
    let unreadable =
        std::collections::BTreeMap::from([("account".to_owned(), vec![PHONE.to_owned()])]);
    let forgotten = store.fields_forget(&ctx(), &unreadable).expect("forget");
    assert_eq!(
        forgotten, 5,
        "both records' server and local copies, and the recent copy"
    );
    assert_eq!(
        store.record_get("account", "a1").expect("a1").fields[PHONE],
        None
    );
    assert_eq!(
        store
            .record_get_server("account", "a1")
            .expect("read")
            .map(|(f, _)| f[PHONE].clone()),
        Some(None)
    );
    let recent = store
        .recent_get("account", "r1")
        .expect("read")
        .expect("kept");
    assert!(!recent.fields.contains_key(PHONE), "{recent:?}");
    assert_eq!(
        store
            .search(&["account".to_owned()], "555-0199", 10)
            .expect("search")
            .len(),
        0,
        "search no longer finds it"
    );
}

#[test]
fn entities_whose_values_were_forgotten_are_asked_again_until_a_page_answers_the_request() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[("a0", 1, &[("name", "Zero"), ("telephone1", "555")])],
            &[],
            1,
        ),
    );
    assert_eq!(store.resend_ask().expect("ask"), Vec::<String>::new());
    let unreadable = |attribute: &str| {
        std::collections::BTreeMap::from([("account".to_owned(), vec![attribute.to_owned()])])
    };
    // Nothing held to forget: nothing owed.
    store
        .fields_forget(&ctx(), &unreadable("fax"))
        .expect("forget");
    assert_eq!(store.resend_ask().expect("ask"), Vec::<String>::new());

    store
        .fields_forget(&ctx(), &unreadable("telephone1"))
        .expect("forget");
    // The request's answer is lost: the next request asks again.
    assert_eq!(store.resend_ask().expect("ask"), vec!["account".to_owned()]);
    assert_eq!(store.resend_ask().expect("ask"), vec!["account".to_owned()]);
    pull(&mut store, page(&[], &[], 2));
    assert_eq!(
        store.resend_ask().expect("ask"),
        Vec::<String>::new(),
        "the page that answered the request settles it"
    );

    // Forgotten after the request went: still owed once its page is stored.
    pull(
        &mut store,
        page(
            &[("a0", 2, &[("name", "Zero"), ("telephone1", "556")])],
            &[],
            3,
        ),
    );
    assert_eq!(store.resend_ask().expect("ask"), Vec::<String>::new());
    store
        .fields_forget(&ctx(), &unreadable("telephone1"))
        .expect("forget");
    pull(&mut store, page(&[], &[], 4));
    assert_eq!(store.resend_ask().expect("ask"), vec!["account".to_owned()]);
}

/// A disk that fills up in the middle of a pull page or an edit (`Store::page_cap`, the
/// simulation's lever): the write fails with SQLite's "disk is full", nothing of it is
/// kept, the store reopens sound with everything written before, and once there is room
/// again the same page and edit go through.
#[test]
fn a_full_disk_fails_the_write_keeps_what_was_there_and_the_store_opens_sound() {
    let (dir, keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Before")])], &[], 1),
    );
    edit(&mut store, "a1", fields(&[("name", "Mine")]), "op1");
    store.page_cap(Some).expect("the cap");
    let long = "x".repeat(3000);
    let ids: Vec<String> = (0..40).map(|n| format!("b{n}")).collect();
    let name = [("name", long.as_str())];
    let records: Vec<PageRecord<'_>> = ids.iter().map(|id| (id.as_str(), 1, &name[..])).collect();
    let full = store
        .pull_page_apply(&ctx(), &page(&records, &[], 2))
        .expect_err("no room for the page");
    assert!(full.to_string().contains("disk is full"), "{full}");
    assert!(full.is_disk_full(), "told as a full disk: {full:?}");
    // Edits until one finds no room (the file's free pages take the first ones).
    let mut queued = vec!["op1".to_owned()];
    let refused = (2..200).find_map(|n| {
        let op_id = format!("op{n}");
        let description = format!("{n}{}", &long[..1990]);
        let changes = fields(&[("description", description.as_str())]);
        match store.record_update(&ctx(), "account", "a1", changes, &op_id) {
            Ok(_) => {
                queued.push(op_id);
                None
            }
            Err(e) => Some(e),
        }
    });
    let refused = refused.expect("an edit finds the disk full");
    // SQLite's own words, not "corrupt local data" (the data is sound).
    assert!(
        matches!(refused, StoreError::Sqlite(_)) && refused.to_string().contains("disk is full"),
        "{refused:?}"
    );
    assert!(refused.is_disk_full(), "{refused:?}");
    drop(store);
    let mut store = reopen(&dir, &keys);
    assert_eq!(
        store.integrity_check().expect("the check"),
        Vec::<String>::new()
    );
    assert_eq!(
        name_of(&store, "a1").as_deref(),
        Some("Mine"),
        "the edits stay"
    );
    assert_eq!(name_of(&store, "b0"), None, "nothing of the page");
    let outbox: Vec<String> = store
        .outbox_entries()
        .expect("outbox")
        .into_iter()
        .map(|e| e.op_id)
        .collect();
    assert_eq!(
        outbox, queued,
        "the changes wait, the refused edit is not queued"
    );
    // Room again: the page and the edit go through.
    store.page_cap(|_| None).expect("no cap");
    pull(&mut store, page(&records, &[], 2));
    assert_eq!(name_of(&store, "b0").as_deref(), Some(long.as_str()));
    store
        .record_update(
            &ctx(),
            "account",
            "a1",
            fields(&[("description", long[..2000].as_ref())]),
            "op-after",
        )
        .expect("the edit");
}

/// A write of the local layer that fails while the domain applies an edit (a full disk
/// found there, here a trigger that refuses it) reaches the caller as the database error
/// it is — before, it was told as "corrupt local data" (found by the simulation's
/// disk-full fault, seed 7 of `sim-coverage`).
#[test]
fn a_failed_write_of_the_local_layer_is_told_as_itself_not_as_corrupt_data() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Before")])], &[], 1),
    );
    store
        .conn
        .execute_batch(
            "CREATE TRIGGER full BEFORE UPDATE ON account \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .expect("the trigger");
    let failed = store
        .record_update(&ctx(), "account", "a1", fields(&[("name", "Mine")]), "op1")
        .expect_err("the write fails");
    assert!(matches!(failed, StoreError::Sqlite(_)), "{failed:?}");
    assert!(!failed.to_string().contains("corrupt"), "{failed}");
    assert_eq!(name_of(&store, "a1").as_deref(), Some("Before"));
    assert_eq!(store.outbox_count().expect("count"), 0);
}

#[test]
fn a_record_sent_again_replaces_its_copies_and_what_search_finds() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(&[("a1", 1, &[("name", "Quokka Traders")])], &[], 1),
    );
    // The same record again, changed on the server: both layers and the index follow.
    pull(
        &mut store,
        page(&[("a1", 2, &[("name", "Wombat Traders")])], &[], 2),
    );
    let found = |store: &Store, word: &str| {
        store
            .search(&["account".into()], word, 10)
            .expect("search")
            .into_iter()
            .map(|hit| hit.record.id)
            .collect::<Vec<_>>()
    };
    assert!(
        found(&store, "quokka").is_empty(),
        "the old name is not found"
    );
    assert_eq!(found(&store, "wombat"), ["a1"]);
    let record = store.record_get("account", "a1").expect("a1");
    assert_eq!(record.fields["name"].as_deref(), Some("Wombat Traders"));
    assert_eq!(record.row_version, 2);
    assert_eq!(record.reason.as_deref(), Some("profile"));
}

#[test]
fn a_batch_commits_its_operations_together_and_a_refused_one_leaves_the_others() {
    let (_dir, _keys, mut store) = fresh();
    pull(
        &mut store,
        page(
            &[("a1", 1, &[("name", "One")]), ("a2", 1, &[("name", "Two")])],
            &[],
            1,
        ),
    );
    let refused = store
        .in_batch(|s| {
            s.record_update(&ctx(), "account", "a1", fields(&[("name", "One!")]), "op-1")?;
            let refused = s
                .record_update(
                    &ctx(),
                    "account",
                    "nowhere",
                    fields(&[("name", "?")]),
                    "op-2",
                )
                .is_err();
            s.record_update(&ctx(), "account", "a2", fields(&[("name", "Two!")]), "op-3")?;
            Ok::<_, StoreError>(refused)
        })
        .expect("the batch commits");
    assert!(
        refused,
        "an update of a record the device does not hold is refused"
    );
    assert_eq!(name_of(&store, "a1").as_deref(), Some("One!"));
    assert_eq!(name_of(&store, "a2").as_deref(), Some("Two!"));
    let ops: Vec<String> = store
        .outbox_pending(10)
        .expect("outbox")
        .into_iter()
        .map(|e| e.op_id)
        .collect();
    assert_eq!(ops, ["op-1", "op-3"], "the refused one left nothing");
    // A batch that fails as a whole leaves nothing of itself.
    let failed = store.in_batch(|s| {
        s.record_update(&ctx(), "account", "a1", fields(&[("name", "Lost")]), "op-4")?;
        Err::<(), _>(StoreError::Invalid("the script stopped".into()))
    });
    assert!(failed.is_err());
    assert_eq!(name_of(&store, "a1").as_deref(), Some("One!"));
    assert_eq!(store.outbox_pending(10).expect("outbox").len(), 2);
}
