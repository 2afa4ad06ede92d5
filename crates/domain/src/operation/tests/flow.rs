//! Business process flow moves on the opportunity sales process.

use super::*;
use crate::demo::{OPPORTUNITY_SALES_PROCESS, PHONE_TO_CASE_PROCESS};

fn next() -> Operation {
    Operation::FlowNext {
        entity: "opportunity".into(),
        id: "o1".into(),
        flow_id: OPPORTUNITY_SALES_PROCESS.into(),
    }
}

fn previous() -> Operation {
    Operation::FlowPrevious {
        entity: "opportunity".into(),
        id: "o1".into(),
        flow_id: OPPORTUNITY_SALES_PROCESS.into(),
    }
}

fn set_active(stage: &str) -> Operation {
    Operation::FlowSetActive {
        entity: "opportunity".into(),
        id: "o1".into(),
        flow_id: OPPORTUNITY_SALES_PROCESS.into(),
        stage_id: stage.into(),
    }
}

fn stage(s: &MemoryStorage) -> Option<String> {
    s.value("opportunity", "o1", "activestageid")
}

/// An opportunity at the qualify stage with the given fields.
fn opportunity(pairs: &[(&str, &str)]) -> MemoryStorage {
    let mut s = MemoryStorage::default();
    let mut all = vec![("name", "Big deal")];
    all.extend_from_slice(pairs);
    create(&mut s, "opportunity", "o1", &all);
    s
}

fn reason(err: &OpError) -> &str {
    match err {
        OpError::InvalidState { reason, .. } => reason,
        other => panic!("wanted InvalidState, got {other:?}"),
    }
}

#[test]
fn a_new_opportunity_starts_at_the_first_stage_and_moves_forward_when_its_steps_are_filled() {
    let mut s = opportunity(&[("customerid", "account:a1"), ("estimatedvalue", "5000")]);
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-qualify"),
        "a create starts the flow"
    );
    let effects = done(&mut s, &next());
    assert_eq!(
        effects.changed,
        [rec("opportunity", "o1")],
        "the opportunity changed"
    );
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-develop"),
        "qualify → develop"
    );
}

#[test]
fn required_steps_block_flow_next_but_not_flow_previous() {
    let mut s = opportunity(&[("customerid", "account:a1"), ("estimatedvalue", "5000")]);
    done(&mut s, &next());
    let err = refused(&mut s, &next());
    assert!(
        reason(&err).contains("Develop needs estimatedclosedate"),
        "the error names the stage and the empty required step, got {err}"
    );
    done(&mut s, &previous());
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-qualify"),
        "moving back is allowed"
    );
}

#[test]
fn the_ends_of_a_flow_stop_moves_past_them() {
    let mut s = opportunity(&[
        ("customerid", "account:a1"),
        ("estimatedvalue", "1"),
        ("estimatedclosedate", "2027-01-31"),
        ("closeprobability", "60"),
    ]);
    let err = refused(&mut s, &previous());
    assert!(
        reason(&err).contains("first stage"),
        "no stage before the first, got {err}"
    );
    done(&mut s, &set_active("sales-close"));
    let err = refused(&mut s, &next());
    assert!(
        reason(&err).contains("last stage"),
        "no stage after the last, got {err}"
    );
}

#[test]
fn setting_a_later_stage_needs_every_skipped_stage_filled_and_an_earlier_one_nothing() {
    let mut s = opportunity(&[("customerid", "contact:c1")]);
    let err = refused(&mut s, &set_active("sales-propose"));
    let reason = reason(&err);
    assert!(
        reason.contains("Qualify needs estimatedvalue")
            && reason.contains("Develop needs estimatedclosedate"),
        "the current and every skipped stage are named, got {reason}"
    );
    done(
        &mut s,
        &update_op(
            "opportunity",
            "o1",
            &[
                ("estimatedvalue", "10"),
                ("estimatedclosedate", "2027-01-31"),
            ],
            &[],
        ),
    );
    done(&mut s, &set_active("sales-propose"));
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-propose"),
        "two stages forward"
    );
    s.patch("opportunity", "o1", &[("estimatedvalue", "")]);
    done(&mut s, &set_active("sales-qualify"));
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-qualify"),
        "back needs nothing filled"
    );
}

#[test]
fn a_record_with_no_active_stage_is_at_the_first_stage() {
    let mut s = opportunity(&[("customerid", "account:a1"), ("estimatedvalue", "1")]);
    s.records
        .get_mut(&key("opportunity", "o1"))
        .expect("o1 exists")
        .insert("activestageid".into(), None);
    done(&mut s, &next());
    assert_eq!(
        stage(&s).as_deref(),
        Some("sales-develop"),
        "empty stage counts as the first"
    );
}

#[test]
fn an_unknown_flow_or_stage_is_refused() {
    let mut s = opportunity(&[]);
    let err = refused(
        &mut s,
        &Operation::FlowNext {
            entity: "opportunity".into(),
            id: "o1".into(),
            flow_id: PHONE_TO_CASE_PROCESS.into(),
        },
    );
    assert!(
        matches!(err, OpError::UnknownFlow { stage_id: None, .. }),
        "the case flow does not run on opportunities, got {err:?}"
    );
    let err = refused(&mut s, &set_active("case-research"));
    assert!(
        matches!(err, OpError::UnknownFlow { stage_id: Some(ref st), .. } if st == "case-research"),
        "a stage of another flow is unknown here, got {err:?}"
    );
    let missing = Operation::FlowNext {
        entity: "opportunity".into(),
        id: "nope".into(),
        flow_id: OPPORTUNITY_SALES_PROCESS.into(),
    };
    assert!(
        matches!(refused(&mut s, &missing), OpError::NotFound { .. }),
        "a missing record is not found"
    );
}

#[test]
fn a_closed_record_does_not_move_through_its_flow() {
    let mut s = opportunity(&[("customerid", "account:a1"), ("estimatedvalue", "1")]);
    s.patch(
        "opportunity",
        "o1",
        &[("statecode", "2"), ("statuscode", "4")],
    );
    let err = refused(&mut s, &next());
    assert!(
        reason(&err).contains("Lost"),
        "a lost opportunity's flow is finished, got {err}"
    );
}
