//! Operations against an in-memory storage over the demo metadata: this file holds the
//! storage and the helpers, `tests/` the tests, one file per operation module.

mod activity;
mod close;
mod crud;
mod flow;
mod lead;
mod prop;
mod wire;

use std::collections::{BTreeMap, BTreeSet};

use time::macros::datetime;

use super::*;
use crate::metadata::ValidationError;

/// Records and follows in maps; never fails.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct MemoryStorage {
    records: BTreeMap<(String, String), Fields>,
    follows: BTreeSet<(EntityRef, String, String)>,
}

fn key(entity: &str, id: &str) -> (String, String) {
    (entity.to_owned(), id.to_owned())
}

impl RecordStorage for MemoryStorage {
    fn get(&mut self, entity: &str, id: &str) -> Result<Option<StoredRecord>, StorageFailure> {
        Ok(self
            .records
            .get(&key(entity, id))
            .map(|fields| StoredRecord {
                fields: fields.clone(),
            }))
    }

    fn insert(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        match self.records.insert(key(entity, id), fields.clone()) {
            None => Ok(()),
            Some(_) => Err(StorageFailure(format!("{entity} {id} inserted twice"))),
        }
    }

    fn put(&mut self, entity: &str, id: &str, fields: &Fields) -> Result<(), StorageFailure> {
        match self.records.insert(key(entity, id), fields.clone()) {
            Some(_) => Ok(()),
            None => Err(StorageFailure(format!(
                "{entity} {id} put but never inserted"
            ))),
        }
    }

    fn delete(&mut self, entity: &str, id: &str) -> Result<(), StorageFailure> {
        self.records
            .remove(&key(entity, id))
            .map(|_| ())
            .ok_or_else(|| StorageFailure(format!("{entity} {id} deleted but absent")))
    }

    fn follow_set(
        &mut self,
        user: &EntityRef,
        entity: &str,
        id: &str,
        following: bool,
    ) -> Result<(), StorageFailure> {
        let entry = (user.clone(), entity.to_owned(), id.to_owned());
        if following {
            self.follows.insert(entry);
        } else {
            self.follows.remove(&entry);
        }
        Ok(())
    }
}

impl MemoryStorage {
    /// The record's fields; panics when absent.
    fn fields(&self, entity: &str, id: &str) -> Fields {
        self.records
            .get(&key(entity, id))
            .unwrap_or_else(|| panic!("{entity} {id} should exist"))
            .clone()
    }

    /// One field of the record.
    fn value(&self, entity: &str, id: &str, field: &str) -> Option<String> {
        self.fields(entity, id).get(field).cloned().flatten()
    }

    /// Overwrites some fields directly, as another user's change on the server would.
    fn patch(&mut self, entity: &str, id: &str, pairs: &[(&str, &str)]) {
        let record = self
            .records
            .get_mut(&key(entity, id))
            .unwrap_or_else(|| panic!("{entity} {id} should exist to be patched"));
        record.extend(fields(pairs));
    }
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

fn rec(entity: &str, id: &str) -> EntityRef {
    EntityRef {
        entity: entity.to_owned(),
        id: id.to_owned(),
    }
}

/// User u1 of business unit bu1, on 28 November 2026 at 10:00 UTC.
fn ctx() -> ApplyContext {
    ApplyContext {
        user: rec("systemuser", "u1"),
        business_unit_id: "bu1".into(),
        now: datetime!(2026-11-28 10:00 UTC),
    }
}

/// User u2 an hour later.
fn later() -> ApplyContext {
    ApplyContext {
        user: rec("systemuser", "u2"),
        business_unit_id: "bu1".into(),
        now: datetime!(2026-11-28 11:00 UTC),
    }
}

fn apply_as(
    ctx: &ApplyContext,
    s: &mut MemoryStorage,
    op: &Operation,
    check: ConflictCheck,
) -> Result<Applied, OpError> {
    op.apply(ctx, &crate::demo::metadata(), s, check)
}

fn apply(s: &mut MemoryStorage, op: &Operation) -> Result<Applied, OpError> {
    apply_as(&ctx(), s, op, ConflictCheck::Detect)
}

/// Applies an operation that must succeed and returns its effects.
fn done(s: &mut MemoryStorage, op: &Operation) -> Effects {
    match apply(s, op) {
        Ok(Applied::Done(effects)) => effects,
        other => panic!("{} should apply, got {other:?}", op.kind()),
    }
}

/// Applies an operation that must fail, checks it wrote nothing, and returns the error.
fn refused(s: &mut MemoryStorage, op: &Operation) -> OpError {
    let before = s.clone();
    let err = apply(s, op).expect_err("the operation should be refused");
    assert_eq!(*s, before, "a refused {} must write nothing", op.kind());
    err
}

fn create_op(entity: &str, id: &str, pairs: &[(&str, &str)]) -> Operation {
    Operation::Create {
        entity: entity.into(),
        id: id.into(),
        fields: fields(pairs),
    }
}

/// Creates a record through the Create operation.
fn create(s: &mut MemoryStorage, entity: &str, id: &str, pairs: &[(&str, &str)]) {
    done(s, &create_op(entity, id, pairs));
}

fn update_op(
    entity: &str,
    id: &str,
    changes: &[(&str, &str)],
    before: &[(&str, &str)],
) -> Operation {
    Operation::Update {
        entity: entity.into(),
        id: id.into(),
        changes: fields(changes),
        before: fields(before),
    }
}

fn update(changes: &[(&str, &str)], before: &[(&str, &str)]) -> Operation {
    update_op("account", "a1", changes, before)
}

fn storage_with(record: &[(&str, &str)]) -> MemoryStorage {
    let mut s = MemoryStorage::default();
    create(&mut s, "account", "a1", record);
    s
}

/// The fields a person edits, without the stamped system fields.
fn business(fields: &Fields) -> Fields {
    fields
        .iter()
        .filter(|(k, _)| {
            ![
                "ownerid",
                "owningbusinessunit",
                "createdon",
                "createdby",
                "modifiedon",
                "modifiedby",
                "statecode",
                "statuscode",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn delete_op(before: &[(&str, &str)]) -> Operation {
    Operation::Delete {
        entity: "account".into(),
        id: "a1".into(),
        before: fields(before),
    }
}
