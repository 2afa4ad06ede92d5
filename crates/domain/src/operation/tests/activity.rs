//! Activity mark complete and convert to opportunity.

use super::*;

fn complete(entity: &str, id: &str) -> Operation {
    Operation::ActivityMarkComplete {
        entity: entity.into(),
        id: id.into(),
    }
}

fn convert(entity: &str, id: &str, opportunity: &str) -> Operation {
    Operation::ActivityConvertToOpportunity {
        entity: entity.into(),
        id: id.into(),
        opportunity_id: opportunity.into(),
    }
}

#[test]
fn mark_complete_uses_each_activitys_completed_status_and_sets_the_end() {
    let mut s = MemoryStorage::default();
    for (entity, status) in [("task", "5"), ("phonecall", "2"), ("appointment", "3")] {
        create(&mut s, entity, "x1", &[("subject", "Visit")]);
        let effects = done(&mut s, &complete(entity, "x1"));
        assert_eq!(effects.changed, [rec(entity, "x1")], "the {entity} changed");
        assert_eq!(
            ["statecode", "statuscode", "actualend"].map(|f| s.value(entity, "x1", f)),
            [
                Some("1".into()),
                Some(status.into()),
                Some("2026-11-28T10:00:00Z".into())
            ],
            "a completed {entity} is state 1, status {status}, ended now"
        );
        let err = refused(&mut s, &complete(entity, "x1"));
        assert!(
            matches!(err, OpError::InvalidState { ref reason, .. } if reason.contains("Completed")),
            "a completed {entity} cannot complete again, got {err:?}"
        );
    }
}

#[test]
fn a_scheduled_appointment_is_open_and_keeps_a_given_end() {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "appointment",
        "ap1",
        &[("subject", "Demo"), ("actualend", "2026-11-27T16:00:00Z")],
    );
    s.patch(
        "appointment",
        "ap1",
        &[("statecode", "3"), ("statuscode", "5")],
    );
    done(&mut s, &complete("appointment", "ap1"));
    assert_eq!(
        s.value("appointment", "ap1", "actualend").as_deref(),
        Some("2026-11-27T16:00:00Z"),
        "an end already set is kept"
    );
}

#[test]
fn activity_commands_refuse_records_that_are_not_activities_or_missing() {
    let mut s = storage_with(&[("name", "A")]);
    let err = refused(&mut s, &complete("account", "a1"));
    assert!(
        matches!(err, OpError::InvalidState { ref reason, .. } if reason.contains("not an activity")),
        "an account cannot be completed, got {err:?}"
    );
    assert!(
        matches!(
            refused(&mut s, &convert("account", "a1", "o1")),
            OpError::InvalidState { .. }
        ),
        "nor converted"
    );
    assert!(
        matches!(
            refused(&mut s, &complete("task", "nope")),
            OpError::NotFound { .. }
        ),
        "no task"
    );
}

#[test]
fn convert_creates_an_opportunity_for_the_customer_and_completes_the_activity() {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "phonecall",
        "p1",
        &[
            ("subject", "Wants 10 more vans"),
            ("description", "Call back Friday"),
            ("regardingobjectid", "account:a1"),
        ],
    );
    let effects = done(&mut s, &convert("phonecall", "p1", "o7"));
    assert_eq!(
        effects.created,
        [rec("opportunity", "o7")],
        "the opportunity has the caller's id"
    );
    assert_eq!(
        effects.changed,
        [rec("phonecall", "p1")],
        "the call changed"
    );
    assert_eq!(
        [
            "name",
            "customerid",
            "description",
            "statecode",
            "activestageid"
        ]
        .map(|f| s.value("opportunity", "o7", f)),
        [
            Some("Wants 10 more vans".into()),
            Some("account:a1".into()),
            Some("Call back Friday".into()),
            Some("0".into()),
            Some("sales-qualify".into())
        ],
        "the opportunity comes from the call and is open at its first stage"
    );
    assert_eq!(
        ["regardingobjectid", "statecode", "statuscode"].map(|f| s.value("phonecall", "p1", f)),
        [
            Some("opportunity:o7".into()),
            Some("1".into()),
            Some("2".into())
        ],
        "the call points at the opportunity and is Made"
    );
    assert!(
        matches!(
            refused(&mut s, &convert("phonecall", "p1", "o8")),
            OpError::InvalidState { .. }
        ),
        "only once"
    );
}

#[test]
fn convert_of_an_activity_regarding_a_lead_takes_the_leads_customer_and_origin() {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "lead",
        "l1",
        &[("subject", "S"), ("parentaccountid", "account:a3")],
    );
    create(
        &mut s,
        "task",
        "t1",
        &[("subject", "Quote"), ("regardingobjectid", "lead:l1")],
    );
    done(&mut s, &convert("task", "t1", "o1"));
    assert_eq!(
        ["customerid", "originatingleadid"].map(|f| s.value("opportunity", "o1", f)),
        [Some("account:a3".into()), Some("lead:l1".into())],
        "the lead's account is the customer and the lead the origin"
    );
}

#[test]
fn convert_with_a_used_opportunity_id_changes_nothing() {
    let mut s = MemoryStorage::default();
    create(&mut s, "opportunity", "o1", &[("name", "Taken")]);
    create(&mut s, "task", "t1", &[("subject", "Quote")]);
    assert_eq!(
        refused(&mut s, &convert("task", "t1", "o1")),
        OpError::AlreadyExists {
            entity: "opportunity".into(),
            id: "o1".into()
        },
        "the id is taken"
    );
}
