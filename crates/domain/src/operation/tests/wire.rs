//! The wire form of operations and what they name.

use super::*;

/// One operation of every kind.
fn every_kind() -> Vec<Operation> {
    let s = |v: &str| v.to_owned();
    vec![
        create_op("account", "a1", &[("name", "A")]),
        update(&[("name", "New")], &[("name", "Old")]),
        delete_op(&[("modifiedon", "2026-11-28T10:00:00Z")]),
        Operation::Assign {
            entity: s("account"),
            id: s("a1"),
            owner: rec("team", "t1"),
        },
        Operation::Follow {
            entity: s("account"),
            id: s("a1"),
        },
        Operation::Unfollow {
            entity: s("account"),
            id: s("a1"),
        },
        Operation::FlowNext {
            entity: s("opportunity"),
            id: s("o1"),
            flow_id: s("f"),
        },
        Operation::FlowPrevious {
            entity: s("opportunity"),
            id: s("o1"),
            flow_id: s("f"),
        },
        Operation::FlowSetActive {
            entity: s("opportunity"),
            id: s("o1"),
            flow_id: s("f"),
            stage_id: s("st"),
        },
        Operation::LeadQualify {
            lead_id: s("l1"),
            account_id: Some(s("a1")),
            contact_id: None,
            opportunity_id: Some(s("o1")),
        },
        Operation::LeadDisqualify {
            lead_id: s("l1"),
            status: 5,
        },
        Operation::OpportunityCloseWon {
            id: s("o1"),
            close_id: s("x1"),
            actual_revenue: Some(s("10.00")),
            description: None,
        },
        Operation::OpportunityCloseLost {
            id: s("o1"),
            close_id: s("x1"),
            status: 5,
            competitor: Some(s("Fabrikam")),
            description: Some(s("price")),
        },
        Operation::CaseResolve {
            id: s("i1"),
            resolution_id: s("r1"),
            status: 1000,
            subject: s("Told them"),
            time_spent_minutes: Some(30),
        },
        Operation::ActivityConvertToOpportunity {
            entity: s("task"),
            id: s("t1"),
            opportunity_id: s("o2"),
        },
        Operation::ActivityMarkComplete {
            entity: s("phonecall"),
            id: s("p1"),
        },
    ]
}

#[test]
fn every_operation_kind_round_trips_through_json_with_its_kind_tag() {
    let ops = every_kind();
    assert_eq!(ops.len(), 16, "every kind is listed once");
    for op in ops {
        let json = serde_json::to_value(&op).expect("serialisable");
        assert_eq!(json["kind"], op.kind(), "the wire form names the operation");
        let back: Operation = serde_json::from_value(json).expect("deserialisable");
        assert_eq!(back, op, "round trip keeps every field of {}", op.kind());
    }
}

#[test]
fn target_and_creates_name_the_records_an_operation_touches() {
    let qualify = Operation::LeadQualify {
        lead_id: "l1".into(),
        account_id: Some("a1".into()),
        contact_id: None,
        opportunity_id: Some("o1".into()),
    };
    assert_eq!(
        qualify.target(),
        ("lead", "l1"),
        "qualify is about the lead"
    );
    assert_eq!(
        qualify.creates(),
        [rec("account", "a1"), rec("opportunity", "o1")],
        "qualify creates the chosen records"
    );
    assert!(
        update(&[], &[]).creates().is_empty(),
        "an update creates nothing"
    );
}
