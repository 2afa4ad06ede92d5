use std::collections::BTreeMap;

use super::*;

#[derive(Default)]
struct MemoryStorage(BTreeMap<(String, String), Fields>);

impl RecordStorage for MemoryStorage {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        Ok(self
            .0
            .get(&(entity.to_owned(), id.to_owned()))
            .map(|fields| StoredRecord {
                fields: fields.clone(),
            }))
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        self.0
            .insert((entity.to_owned(), id.to_owned()), fields.clone());
        Ok(())
    }
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

fn update(changes: &[(&str, &str)], before: &[(&str, &str)]) -> Operation {
    Operation::Update {
        entity: "account".into(),
        id: "a1".into(),
        changes: fields(changes),
        before: fields(before),
    }
}

fn storage_with(record: &[(&str, &str)]) -> MemoryStorage {
    let mut s = MemoryStorage::default();
    s.put("account", "a1", &fields(record))
        .expect("memory storage never fails");
    s
}

#[test]
fn edits_to_different_fields_merge_without_conflict() {
    // The server changed the city since the device saw the record; the device changed the name.
    let mut s = storage_with(&[("name", "Old"), ("city", "Lyon")]);
    let op = update(&[("name", "New")], &[("name", "Old")]);
    let applied = op
        .apply(&Metadata::skeleton(), &mut s, ConflictCheck::Detect)
        .expect("valid");
    assert!(
        matches!(applied, Applied::Done(_)),
        "different fields must merge"
    );
    let now = s.get("account", "a1").expect("ok").expect("exists").fields;
    assert_eq!(
        now,
        fields(&[("name", "New"), ("city", "Lyon")]),
        "both edits kept"
    );
}

#[test]
fn the_same_field_changed_on_both_sides_conflicts_and_changes_nothing() {
    let mut s = storage_with(&[("name", "Server")]);
    let op = update(&[("name", "Mine")], &[("name", "Old")]);
    let applied = op
        .apply(&Metadata::skeleton(), &mut s, ConflictCheck::Detect)
        .expect("valid");
    assert_eq!(
        applied,
        Applied::Conflict(vec![FieldConflict {
            field: "name".into(),
            before: Some("Old".into()),
            mine: Some("Mine".into()),
            server: Some("Server".into()),
        }]),
        "the conflict names the field with all three values"
    );
    let now = s.get("account", "a1").expect("ok").expect("exists").fields;
    assert_eq!(
        now,
        fields(&[("name", "Server")]),
        "a conflict must not write"
    );
}

#[test]
fn with_detection_off_the_device_wins() {
    let mut s = storage_with(&[("name", "Server")]);
    let op = update(&[("name", "Mine")], &[("name", "Old")]);
    op.apply(&Metadata::skeleton(), &mut s, ConflictCheck::Off)
        .expect("valid");
    let now = s.get("account", "a1").expect("ok").expect("exists").fields;
    assert_eq!(now, fields(&[("name", "Mine")]), "client wins");
}

#[test]
fn updating_a_missing_record_is_not_found() {
    let mut s = MemoryStorage::default();
    let err = update(&[("name", "X")], &[])
        .apply(&Metadata::skeleton(), &mut s, ConflictCheck::Detect)
        .expect_err("must fail");
    assert!(
        matches!(err, OpError::NotFound { .. }),
        "got {err:?}, wanted NotFound"
    );
}

#[test]
fn invalid_changes_are_refused_before_touching_storage() {
    let mut s = storage_with(&[("name", "Old")]);
    let err = update(&[("name", "")], &[("name", "Old")])
        .apply(&Metadata::skeleton(), &mut s, ConflictCheck::Detect)
        .expect_err("must fail");
    assert!(
        matches!(err, OpError::Invalid(ref e) if e.len() == 1),
        "got {err:?}"
    );
}

#[test]
fn operations_round_trip_through_json_with_a_kind_tag() {
    let op = update(&[("name", "New")], &[("name", "Old")]);
    let json = serde_json::to_value(&op).expect("serialisable");
    assert_eq!(json["kind"], "update", "the wire form names the operation");
    let back: Operation = serde_json::from_value(json).expect("deserialisable");
    assert_eq!(back, op, "round trip keeps every field");
}
