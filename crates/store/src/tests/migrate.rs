//! Files of every format a build of main wrote (C23, `crates/store/fixtures`): each moves to
//! the newest format at open, all of it or none, with everything the user did still there
//! and still sendable; a file of a newer format is refused and left as it was.

use std::path::{Path, PathBuf};

use outpost_protocol::{OpOutcome, OpResult, ResolutionAction};

use super::{edit, fields, name_of, page, pull};
use crate::table::outbox::EntryState;
use crate::{DatabaseKey, FORMAT, Store, StoreError};

/// The key the fixtures are encrypted with (a test key, in the repository on purpose).
const FIXTURE_KEY: &str = "6f7574706f73742d666978747572652d6b65792d6e6f742d612d736563726574";

fn key() -> DatabaseKey {
    DatabaseKey::from_hex(FIXTURE_KEY).expect("the fixture key")
}

/// A copy of fixture `name` in a temp folder (the fixture itself is never opened).
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let to = dir.path().join("local.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        &to,
    )
    .expect("the fixture is in the repository");
    (dir, to)
}

/// The file opened as plain SQLCipher, below the store: what is really in it.
fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("opens");
    conn.pragma_update(None, "key", key().pragma_value())
        .expect("keyed");
    conn
}

fn user_version(path: &Path) -> u32 {
    raw(path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("a version")
}

fn outbox_rows(path: &Path) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
        .expect("an outbox")
}

#[test]
fn a_new_file_is_written_in_the_newest_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("local.db");
    drop(Store::open_with_key(&path, &key()).expect("opens"));
    assert_eq!(user_version(&path), FORMAT);
    let legacy: String = raw(&path)
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'store_format'",
            [],
            |r| r.get(0),
        )
        .expect("the old marker");
    assert_eq!(
        legacy, "2",
        "builds from before the number read it as format 2"
    );
}

#[test]
fn a_format_2_file_opens_with_its_pending_parked_failed_work_drafts_and_resolutions() {
    let (_dir, path) = fixture("format-2.db");
    assert_eq!(user_version(&path), 0, "format 2 predates the number");
    let mut store = Store::open_with_key(&path, &key()).expect("a format-2 file opens");
    assert_eq!(user_version(&path), FORMAT, "moved to the newest format");

    let entries = store.outbox_entries().expect("the outbox");
    let state = |op_id: &str| {
        entries
            .iter()
            .find(|e| e.op_id == op_id)
            .map(|e| (e.state.clone(), e.parked_behind.clone()))
    };
    assert_eq!(state("op-pending"), Some((EntryState::Pending, None)));
    assert_eq!(state("op-create"), Some((EntryState::Pending, None)));
    assert!(
        matches!(
            state("op-failed"),
            Some((EntryState::Failed(OpResult::Error { .. }), None))
        ),
        "{:?}",
        state("op-failed")
    );
    assert_eq!(
        state("op-parked"),
        Some((EntryState::Pending, Some("op-failed".to_owned()))),
        "still parked behind the failed change of its record"
    );
    assert_eq!(
        state("op-resolving"),
        Some((EntryState::Resolving(ResolutionAction::Apply), None))
    );
    let sendable: Vec<String> = store
        .outbox_pending(100)
        .expect("pending")
        .into_iter()
        .filter(|e| e.is_ready())
        .map(|e| e.op_id)
        .collect();
    assert_eq!(
        sendable,
        ["op-pending", "op-create"],
        "the next push sends them"
    );
    assert_eq!(
        store.resolutions_outgoing().expect("resolutions"),
        [("op-resolving".to_owned(), ResolutionAction::Apply)],
        "the queued resolution goes with the next sync"
    );
    let drafts = store.draft_list().expect("drafts");
    assert_eq!(
        drafts
            .iter()
            .map(|d| (d.id.as_str(), d.fields["name"].as_deref()))
            .collect::<Vec<_>>(),
        [("draft-1", Some("A draft"))]
    );
    assert_eq!(name_of(&store, "a1").as_deref(), Some("Pending edit"));
    assert_eq!(name_of(&store, "made-1").as_deref(), Some("Made offline"));

    // And the store works on: answers, pulls, edits, a reopen that has nothing to move.
    store
        .outbox_resolve(&[OpOutcome {
            op_id: "op-pending".into(),
            result: OpResult::Applied { row_version: 2 },
        }])
        .expect("answered");
    pull(
        &mut store,
        page(&[("a1", 2, &[("name", "Pending edit")])], &[], 2),
    );
    edit(
        &mut store,
        "a1",
        fields(&[("name", "After the move")]),
        "op-after",
    );
    drop(store);
    let store = Store::open_with_key(&path, &key()).expect("opens again");
    assert_eq!(name_of(&store, "a1").as_deref(), Some("After the move"));
    assert_eq!(user_version(&path), FORMAT);
}

#[test]
fn a_migration_that_fails_leaves_the_file_as_it_was_and_says_which_step() {
    let (_dir, path) = fixture("format-2.db");
    let before = outbox_rows(&path);
    // Something in the file that the step to format 3 trips over — an index by the name
    // of the table it makes — after the step has written: it first makes the tables the
    // file lacks (the follows' table, dropped here).
    raw(&path)
        .execute_batch("DROP TABLE sync_follow; CREATE INDEX sync_leaving ON sync_state (key);")
        .expect("a stumbling block");
    let schema = |path: &Path| -> String {
        raw(path)
            .query_row(
                "SELECT group_concat(type || ' ' || name, ', ') FROM \
                 (SELECT type, name FROM sqlite_master ORDER BY type, name)",
                [],
                |r| r.get(0),
            )
            .expect("the schema")
    };
    let shape = schema(&path);
    assert!(!shape.contains("table sync_follow"), "{shape}");
    let refused = Store::open_with_key(&path, &key()).expect_err("the step fails");
    assert!(
        matches!(refused, StoreError::Migration { from: 2, to: 3, .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("left as it was"),
        "the message says nothing changed: {refused}"
    );
    assert_eq!(user_version(&path), 0, "still format 2");
    assert_eq!(
        schema(&path),
        shape,
        "no table the failed step made is left"
    );
    assert_eq!(outbox_rows(&path), before, "every change still there");
    let legacy: String = raw(&path)
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'store_format'",
            [],
            |r| r.get(0),
        )
        .expect("the old marker");
    assert_eq!(legacy, "2");

    raw(&path)
        .execute_batch("DROP INDEX sync_leaving;")
        .expect("the block goes");
    let store = Store::open_with_key(&path, &key()).expect("then it opens");
    assert_eq!(store.outbox_entries().expect("outbox").len() as i64, before);
}

#[test]
fn a_file_of_a_newer_format_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("local.db");
    let mut store = Store::open_with_key(&path, &key()).expect("opens");
    store
        .metadata_apply(outpost_domain::demo::metadata())
        .expect("metadata");
    pull(&mut store, page(&[("a1", 1, &[("name", "Kept")])], &[], 1));
    drop(store);
    let newer = FORMAT + 1;
    raw(&path)
        .pragma_update(None, "user_version", newer)
        .expect("a newer build's number");
    let refused = Store::open_with_key(&path, &key()).expect_err("refused");
    assert!(
        matches!(refused, StoreError::TooNew { found, known } if found == newer && known == FORMAT),
        "{refused:?}"
    );
    assert_eq!(user_version(&path), newer, "left as it was");
    let kept: String = raw(&path)
        .query_row("SELECT name FROM srv_account WHERE id = 'a1'", [], |r| {
            r.get(0)
        })
        .expect("the record");
    assert_eq!(kept, "Kept");
}
