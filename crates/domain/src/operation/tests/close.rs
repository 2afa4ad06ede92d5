//! Opportunity close as won or lost, and case resolve.

use super::*;

fn won(revenue: Option<&str>) -> Operation {
    Operation::OpportunityCloseWon {
        id: "o1".into(),
        close_id: "x1".into(),
        actual_revenue: revenue.map(str::to_owned),
        description: Some("Signed".into()),
    }
}

fn lost(status: i32) -> Operation {
    Operation::OpportunityCloseLost {
        id: "o1".into(),
        close_id: "x1".into(),
        status,
        competitor: Some("Fabrikam".into()),
        description: None,
    }
}

fn with_opportunity() -> MemoryStorage {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "opportunity",
        "o1",
        &[("name", "Vans"), ("estimatedvalue", "5000")],
    );
    s
}

#[test]
fn close_as_won_records_the_close_and_sets_revenue_date_and_state() {
    let mut s = with_opportunity();
    let effects = done(&mut s, &won(Some("4500.5")));
    assert_eq!(
        effects.created,
        [rec("opportunityclose", "x1")],
        "the close activity exists"
    );
    assert_eq!(
        effects.changed,
        [rec("opportunity", "o1")],
        "the opportunity changed"
    );
    let close = s.fields("opportunityclose", "x1");
    assert_eq!(
        business(&close),
        fields(&[
            ("subject", "Won: Vans"),
            ("opportunityid", "opportunity:o1"),
            ("actualrevenue", "4500.50"),
            ("actualend", "2026-11-28T10:00:00Z"),
            ("description", "Signed"),
        ]),
        "the close records revenue, time and reason"
    );
    assert_eq!(
        (
            close["statecode"].as_deref(),
            close["statuscode"].as_deref()
        ),
        (Some("1"), Some("2")),
        "the close activity is completed"
    );
    let o = s.fields("opportunity", "o1");
    assert_eq!(
        [
            &o["statecode"],
            &o["statuscode"],
            &o["actualvalue"],
            &o["actualclosedate"],
            &o["closeprobability"]
        ]
        .map(|v| v.as_deref()),
        [
            Some("1"),
            Some("3"),
            Some("4500.50"),
            Some("2026-11-28"),
            Some("100")
        ],
        "the opportunity is Won with its actual revenue and close date"
    );
}

#[test]
fn close_as_won_without_revenue_takes_the_estimate() {
    let mut s = with_opportunity();
    done(&mut s, &won(None));
    assert_eq!(
        s.value("opportunity", "o1", "actualvalue").as_deref(),
        Some("5000.00"),
        "the estimate"
    );
}

#[test]
fn close_as_lost_records_the_competitor_and_the_status() {
    let mut s = with_opportunity();
    done(&mut s, &lost(5));
    assert_eq!(
        s.value("opportunityclose", "x1", "competitor").as_deref(),
        Some("Fabrikam"),
        "who won"
    );
    assert_eq!(
        ["statecode", "statuscode", "actualvalue", "closeprobability"].map(|f| s.value(
            "opportunity",
            "o1",
            f
        )),
        [
            Some("2".into()),
            Some("5".into()),
            Some("0.00".into()),
            Some("0".into())
        ],
        "the opportunity is Lost, Out-Sold, with no revenue"
    );
}

#[test]
fn close_as_lost_needs_a_lost_status() {
    let mut s = with_opportunity();
    let err = refused(&mut s, &lost(3));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::BadChoice {
            field: "statuscode".into(),
            value: 3
        }]),
        "Won is not a Lost reason"
    );
}

#[test]
fn closing_a_closed_opportunity_fails_and_it_is_read_only() {
    let mut s = with_opportunity();
    done(&mut s, &won(None));
    let again = Operation::OpportunityCloseLost {
        id: "o1".into(),
        close_id: "x2".into(),
        status: 4,
        competitor: None,
        description: None,
    };
    let err = refused(&mut s, &again);
    assert!(
        matches!(err, OpError::InvalidState { ref reason, .. } if reason.contains("Won")),
        "a won opportunity cannot close again, got {err:?}"
    );
    let err = refused(
        &mut s,
        &update_op("opportunity", "o1", &[("name", "X")], &[]),
    );
    assert!(
        matches!(err, OpError::InvalidState { .. }),
        "a won opportunity is read-only"
    );
}

#[test]
fn close_with_a_used_close_id_or_a_missing_opportunity_is_refused() {
    let mut s = with_opportunity();
    create(
        &mut s,
        "opportunityclose",
        "x1",
        &[("subject", "Old"), ("opportunityid", "opportunity:o1")],
    );
    assert_eq!(
        refused(&mut s, &won(None)),
        OpError::AlreadyExists {
            entity: "opportunityclose".into(),
            id: "x1".into()
        },
        "the close id is taken"
    );
    let mut empty = MemoryStorage::default();
    assert!(
        matches!(refused(&mut empty, &won(None)), OpError::NotFound { .. }),
        "no opportunity"
    );
}

fn resolve(status: i32) -> Operation {
    Operation::CaseResolve {
        id: "i1".into(),
        resolution_id: "r1".into(),
        status,
        subject: "Replaced the pump".into(),
        time_spent_minutes: Some(90),
    }
}

fn with_case() -> MemoryStorage {
    let mut s = MemoryStorage::default();
    create(
        &mut s,
        "incident",
        "i1",
        &[("title", "Pump leaks"), ("customerid", "account:a1")],
    );
    s
}

#[test]
fn resolving_a_case_records_the_resolution_and_the_status() {
    let mut s = with_case();
    let effects = done(&mut s, &resolve(1000));
    assert_eq!(
        effects.created,
        [rec("incidentresolution", "r1")],
        "the resolution exists"
    );
    assert_eq!(
        business(&s.fields("incidentresolution", "r1")),
        fields(&[
            ("subject", "Replaced the pump"),
            ("incidentid", "incident:i1"),
            ("timespent", "90"),
            ("actualend", "2026-11-28T10:00:00Z"),
        ]),
        "the resolution records what, how long and when"
    );
    assert_eq!(
        (
            s.value("incident", "i1", "statecode"),
            s.value("incident", "i1", "statuscode")
        ),
        (Some("1".into()), Some("1000".into())),
        "the case is Resolved, Information Provided"
    );
}

#[test]
fn resolve_needs_a_resolved_status_and_an_active_case() {
    let mut s = with_case();
    assert_eq!(
        refused(&mut s, &resolve(6)),
        OpError::Invalid(vec![ValidationError::BadChoice {
            field: "statuscode".into(),
            value: 6
        }]),
        "Canceled is not a Resolved reason"
    );
    let blank = Operation::CaseResolve {
        id: "i1".into(),
        resolution_id: "r1".into(),
        status: 5,
        subject: String::new(),
        time_spent_minutes: None,
    };
    assert_eq!(
        refused(&mut s, &blank),
        OpError::Invalid(vec![ValidationError::Required {
            field: "subject".into()
        }]),
        "a resolution needs a subject"
    );
    done(&mut s, &resolve(5));
    let again = Operation::CaseResolve {
        id: "i1".into(),
        resolution_id: "r2".into(),
        status: 5,
        subject: "Again".into(),
        time_spent_minutes: None,
    };
    assert!(
        matches!(refused(&mut s, &again), OpError::InvalidState { .. }),
        "a resolved case cannot resolve again"
    );
}
