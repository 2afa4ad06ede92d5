//! Create, update, delete, assign, follow and unfollow.

use super::*;

#[test]
fn edits_to_different_fields_merge_without_conflict() {
    // The server changed the city since the device saw the record; the device changed the name.
    let mut s = storage_with(&[("name", "Old"), ("address1_city", "Paris")]);
    s.patch("account", "a1", &[("address1_city", "Lyon")]);
    let applied = apply(&mut s, &update(&[("name", "New")], &[("name", "Old")])).expect("valid");
    assert!(
        matches!(applied, Applied::Done(_)),
        "different fields must merge"
    );
    assert_eq!(
        business(&s.fields("account", "a1")),
        fields(&[("name", "New"), ("address1_city", "Lyon")]),
        "both edits kept"
    );
}

#[test]
fn the_same_field_changed_on_both_sides_conflicts_and_changes_nothing() {
    let mut s = storage_with(&[("name", "Server")]);
    let before = s.clone();
    let applied = apply(&mut s, &update(&[("name", "Mine")], &[("name", "Old")])).expect("valid");
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
    assert_eq!(s, before, "a conflict must not write");
}

#[test]
fn with_detection_off_the_device_wins() {
    let mut s = storage_with(&[("name", "Server")]);
    let op = update(&[("name", "Mine")], &[("name", "Old")]);
    apply_as(&ctx(), &mut s, &op, ConflictCheck::Off).expect("valid");
    assert_eq!(
        s.value("account", "a1", "name").as_deref(),
        Some("Mine"),
        "client wins"
    );
}

#[test]
fn updating_a_missing_record_is_not_found() {
    let mut s = MemoryStorage::default();
    let err = refused(&mut s, &update(&[("name", "X")], &[]));
    assert!(
        matches!(err, OpError::NotFound { .. }),
        "got {err:?}, wanted NotFound"
    );
}

#[test]
fn invalid_changes_are_refused_before_touching_storage() {
    let mut s = storage_with(&[("name", "Old")]);
    let err = refused(&mut s, &update(&[("name", "")], &[("name", "Old")]));
    assert!(
        matches!(err, OpError::Invalid(ref e) if e.len() == 1),
        "an emptied required field is one validation error, got {err:?}"
    );
    let err = refused(&mut s, &update_op("spaceship", "x", &[], &[]));
    assert!(
        matches!(err, OpError::Invalid(_)),
        "an unknown entity is invalid"
    );
}

#[test]
fn an_update_stamps_modified_on_and_by() {
    let mut s = storage_with(&[("name", "Old")]);
    let op = update(&[("name", "New")], &[("name", "Old")]);
    let effects = match apply_as(&later(), &mut s, &op, ConflictCheck::Detect) {
        Ok(Applied::Done(effects)) => effects,
        other => panic!("the update should apply, got {other:?}"),
    };
    assert_eq!(
        effects.changed,
        [rec("account", "a1")],
        "the update changed a1"
    );
    let now = s.fields("account", "a1");
    assert_eq!(
        (now["modifiedon"].as_deref(), now["modifiedby"].as_deref()),
        (Some("2026-11-28T11:00:00Z"), Some("systemuser:u2")),
        "modified on/by are the updater and the context's time"
    );
    assert_eq!(
        now["createdby"].as_deref(),
        Some("systemuser:u1"),
        "created by stays"
    );
}

#[test]
fn a_create_stamps_the_owner_business_unit_times_state_and_status() {
    let mut s = MemoryStorage::default();
    let effects = done(&mut s, &create_op("account", "a1", &[("name", "Contoso")]));
    assert_eq!(effects.created, [rec("account", "a1")], "a1 was created");
    assert_eq!(
        s.fields("account", "a1"),
        fields(&[
            ("name", "Contoso"),
            ("ownerid", "systemuser:u1"),
            ("owningbusinessunit", "businessunit:bu1"),
            ("createdon", "2026-11-28T10:00:00Z"),
            ("modifiedon", "2026-11-28T10:00:00Z"),
            ("createdby", "systemuser:u1"),
            ("modifiedby", "systemuser:u1"),
            ("statecode", "0"),
            ("statuscode", "1"),
        ]),
        "a new account is the user's, active, stamped now"
    );
}

#[test]
fn a_create_with_a_used_id_already_exists() {
    let mut s = storage_with(&[("name", "First")]);
    let err = refused(&mut s, &create_op("account", "a1", &[("name", "Second")]));
    assert_eq!(
        err,
        OpError::AlreadyExists {
            entity: "account".into(),
            id: "a1".into()
        },
        "the caller picked a used id"
    );
}

#[test]
fn a_create_checks_required_fields_and_refuses_system_fields() {
    let mut s = MemoryStorage::default();
    let err = refused(&mut s, &create_op("account", "a1", &[("telephone1", "1")]));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::Required {
            field: "name".into()
        }]),
        "name is required"
    );
    let err = refused(
        &mut s,
        &create_op(
            "account",
            "a1",
            &[
                ("name", "A"),
                ("statecode", "1"),
                ("createdon", "2020-01-01T00:00:00Z"),
            ],
        ),
    );
    assert_eq!(
        err,
        OpError::Invalid(vec![
            ValidationError::ReadOnly {
                field: "createdon".into()
            },
            ValidationError::ReadOnly {
                field: "statecode".into()
            },
        ]),
        "system fields are stamped, never given"
    );
}

#[test]
fn a_create_may_pick_a_status_of_the_initial_state_only() {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "lead",
        "l1",
        &[("subject", "S"), ("statuscode", "2")],
    );
    assert_eq!(
        s.value("lead", "l1", "statuscode").as_deref(),
        Some("2"),
        "Contacted is a status of the Open state"
    );
    let err = refused(
        &mut s,
        &create_op("lead", "l2", &[("subject", "S"), ("statuscode", "3")]),
    );
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::BadChoice {
            field: "statuscode".into(),
            value: 3
        }]),
        "Qualified is not a status of the Open state"
    );
}

#[test]
fn a_create_for_another_owner_takes_the_owners_business_unit() {
    let mut s = MemoryStorage::default();
    s.insert(
        "systemuser",
        "u9",
        &fields(&[("fullname", "Nine"), ("businessunitid", "businessunit:bu9")]),
    )
    .expect("memory storage inserts");
    create(
        &mut s,
        "account",
        "a1",
        &[("name", "A"), ("ownerid", "systemuser:u9")],
    );
    assert_eq!(
        s.value("account", "a1", "owningbusinessunit").as_deref(),
        Some("businessunit:bu9"),
        "the record belongs to its owner's business unit"
    );
    create(
        &mut s,
        "account",
        "a2",
        &[("name", "B"), ("ownerid", "team:unknown")],
    );
    assert_eq!(
        s.value("account", "a2", "owningbusinessunit").as_deref(),
        Some("businessunit:bu1"),
        "an owner the storage does not hold falls back to the user's business unit"
    );
}

#[test]
fn a_full_name_follows_first_and_last_name() {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "contact",
        "c1",
        &[("firstname", "Ada"), ("lastname", "Lovelace")],
    );
    assert_eq!(
        s.value("contact", "c1", "fullname").as_deref(),
        Some("Ada Lovelace"),
        "the full name is derived on create"
    );
    done(
        &mut s,
        &update_op(
            "contact",
            "c1",
            &[("firstname", "Augusta")],
            &[("firstname", "Ada")],
        ),
    );
    assert_eq!(
        s.value("contact", "c1", "fullname").as_deref(),
        Some("Augusta Lovelace"),
        "and on update"
    );
}

#[test]
fn an_update_may_change_the_status_reason_within_the_state_only() {
    let mut s = MemoryStorage::default();
    create(&mut s, "task", "t1", &[("subject", "Call back")]);
    done(
        &mut s,
        &update_op("task", "t1", &[("statuscode", "3")], &[("statuscode", "2")]),
    );
    assert_eq!(
        s.value("task", "t1", "statuscode").as_deref(),
        Some("3"),
        "In Progress is an Open status"
    );
    let err = refused(
        &mut s,
        &update_op("task", "t1", &[("statuscode", "5")], &[]),
    );
    assert!(
        matches!(err, OpError::InvalidState { .. }),
        "Completed is not, got {err:?}"
    );
    let err = refused(&mut s, &update_op("task", "t1", &[("statecode", "1")], &[]));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::ReadOnly {
            field: "statecode".into()
        }]),
        "the state changes through commands only"
    );
}

#[test]
fn a_delete_removes_the_record_and_reports_it() {
    let mut s = storage_with(&[("name", "A")]);
    let effects = done(
        &mut s,
        &delete_op(&[("modifiedon", "2026-11-28T10:00:00Z")]),
    );
    assert_eq!(effects.removed, [rec("account", "a1")], "a1 was removed");
    assert!(s.records.is_empty(), "the record is gone");
    let err = refused(&mut s, &delete_op(&[]));
    assert!(
        matches!(err, OpError::NotFound { .. }),
        "deleting it again is not found, got {err:?}"
    );
}

#[test]
fn a_delete_of_a_record_changed_since_the_device_saw_it_conflicts() {
    let mut s = storage_with(&[("name", "A")]);
    s.patch("account", "a1", &[("modifiedon", "2026-11-28T10:30:00Z")]);
    let before = s.clone();
    let op = delete_op(&[("modifiedon", "2026-11-28T10:00:00Z")]);
    let applied = apply(&mut s, &op).expect("a conflict is not an error");
    assert_eq!(
        applied,
        Applied::Conflict(vec![FieldConflict {
            field: "modifiedon".into(),
            before: Some("2026-11-28T10:00:00Z".into()),
            mine: None,
            server: Some("2026-11-28T10:30:00Z".into()),
        }]),
        "the conflict shows what changed since the device saw it"
    );
    assert_eq!(s, before, "a conflicting delete deletes nothing");
    apply_as(&ctx(), &mut s, &op, ConflictCheck::Off).expect("client wins");
    assert!(
        s.records.is_empty(),
        "with detection off the delete goes through"
    );
}

#[test]
fn assign_changes_the_owner_and_the_business_unit() {
    let mut s = storage_with(&[("name", "A")]);
    s.insert(
        "team",
        "t1",
        &fields(&[("name", "North"), ("businessunitid", "businessunit:bu2")]),
    )
    .expect("memory storage inserts");
    let op = Operation::Assign {
        entity: "account".into(),
        id: "a1".into(),
        owner: rec("team", "t1"),
    };
    let effects = done(&mut s, &op);
    assert_eq!(effects.changed, [rec("account", "a1")], "a1 changed");
    assert_eq!(
        (
            s.value("account", "a1", "ownerid"),
            s.value("account", "a1", "owningbusinessunit")
        ),
        (Some("team:t1".into()), Some("businessunit:bu2".into())),
        "the team owns it now, in its business unit"
    );
}

#[test]
fn assign_refuses_an_owner_that_is_no_user_or_team_and_a_missing_record() {
    let mut s = storage_with(&[("name", "A")]);
    let to = |owner: EntityRef, id: &str| Operation::Assign {
        entity: "account".into(),
        id: id.into(),
        owner,
    };
    let err = refused(&mut s, &to(rec("account", "a2"), "a1"));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::LookupTarget {
            field: "ownerid".into(),
            entity: "account".into()
        }]),
        "only users and teams own records"
    );
    let err = refused(&mut s, &to(rec("systemuser", "u2"), "nope"));
    assert!(matches!(err, OpError::NotFound { .. }), "got {err:?}");
}

#[test]
fn follows_are_kept_per_user_and_reported() {
    let mut s = storage_with(&[("name", "A")]);
    let follow = Operation::Follow {
        entity: "account".into(),
        id: "a1".into(),
    };
    let effects = done(&mut s, &follow);
    assert_eq!(
        effects.followed,
        [rec("account", "a1")],
        "the follow is reported"
    );
    assert!(
        s.follows
            .contains(&(rec("systemuser", "u1"), "account".into(), "a1".into())),
        "the storage keeps that u1 follows a1"
    );
    let unfollow = Operation::Unfollow {
        entity: "account".into(),
        id: "a1".into(),
    };
    let effects = done(&mut s, &unfollow);
    assert_eq!(
        effects.unfollowed,
        [rec("account", "a1")],
        "the unfollow is reported"
    );
    assert!(s.follows.is_empty(), "u1 no longer follows a1");
    let missing = Operation::Follow {
        entity: "account".into(),
        id: "nope".into(),
    };
    assert!(
        matches!(refused(&mut s, &missing), OpError::NotFound { .. }),
        "a missing record cannot be followed"
    );
    let unfollow_missing = Operation::Unfollow {
        entity: "account".into(),
        id: "nope".into(),
    };
    done(&mut s, &unfollow_missing);
}

#[test]
fn ids_longer_than_the_bound_are_refused_on_the_device_as_on_the_server() {
    let long = "x".repeat(crate::value::MAX_ID_LEN + 1);
    let mut s = MemoryStorage::default();
    let before = s.clone();
    let err = refused(&mut s, &create_op("account", &long, &[("name", "Long")]));
    assert_eq!(
        err,
        OpError::Invalid(vec![crate::metadata::ValidationError::TooLong {
            field: "id".into(),
            max: crate::value::MAX_ID_LEN,
        }]),
        "a create with an id one past the bound is refused on its id"
    );
    let err = refused(
        &mut s,
        &create_op(
            "contact",
            "c1",
            &[
                ("lastname", "L"),
                ("parentcustomerid", &format!("account:{long}")),
            ],
        ),
    );
    assert!(
        matches!(err, OpError::Invalid(_)),
        "a lookup to an id past the bound is refused: {err:?}"
    );
    assert_eq!(s, before, "nothing was written");
    let longest = "y".repeat(crate::value::MAX_ID_LEN);
    done(
        &mut s,
        &create_op("account", &longest, &[("name", "Longest")]),
    );
}
