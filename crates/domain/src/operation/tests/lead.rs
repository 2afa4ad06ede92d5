//! Lead qualify and disqualify.

use super::*;

fn qualify(account: Option<&str>, contact: Option<&str>, opportunity: Option<&str>) -> Operation {
    Operation::LeadQualify {
        lead_id: "l1".into(),
        account_id: account.map(str::to_owned),
        contact_id: contact.map(str::to_owned),
        opportunity_id: opportunity.map(str::to_owned),
    }
}

fn disqualify(status: i32) -> Operation {
    Operation::LeadDisqualify {
        lead_id: "l1".into(),
        status,
    }
}

fn with_lead(pairs: &[(&str, &str)]) -> MemoryStorage {
    let mut s = MemoryStorage::default();
    let mut all = vec![("subject", "Fleet of 40 vans")];
    all.extend_from_slice(pairs);
    create(&mut s, "lead", "l1", &all);
    s
}

fn full_lead() -> MemoryStorage {
    with_lead(&[
        ("firstname", "Ada"),
        ("lastname", "Lovelace"),
        ("companyname", "Analytical Engines"),
        ("emailaddress1", "ada@example.com"),
        ("estimatedvalue", "120000"),
        ("address1_city", "London"),
    ])
}

#[test]
fn qualify_with_all_three_creates_three_records_with_the_callers_ids_linked_both_ways() {
    let mut s = full_lead();
    let effects = done(&mut s, &qualify(Some("a9"), Some("c9"), Some("o9")));
    assert_eq!(
        effects.created,
        [
            rec("account", "a9"),
            rec("contact", "c9"),
            rec("opportunity", "o9")
        ],
        "the three records exist with the caller's ids"
    );
    assert_eq!(effects.changed, [rec("lead", "l1")], "the lead changed");
    let v = |e: &str, id: &str, f: &str| s.value(e, id, f);
    assert_eq!(
        v("account", "a9", "name").as_deref(),
        Some("Analytical Engines"),
        "account from the company"
    );
    assert_eq!(
        v("account", "a9", "address1_city").as_deref(),
        Some("London"),
        "the city is copied"
    );
    assert_eq!(
        v("contact", "c9", "fullname").as_deref(),
        Some("Ada Lovelace"),
        "contact from the person"
    );
    assert_eq!(
        v("opportunity", "o9", "name").as_deref(),
        Some("Fleet of 40 vans"),
        "opportunity from the topic"
    );
    assert_eq!(
        v("opportunity", "o9", "estimatedvalue").as_deref(),
        Some("120000.00"),
        "value copied"
    );
    for (entity, id) in [("account", "a9"), ("contact", "c9"), ("opportunity", "o9")] {
        assert_eq!(
            v(entity, id, "originatingleadid").as_deref(),
            Some("lead:l1"),
            "{entity} points back at the lead"
        );
        assert_eq!(
            v(entity, id, "ownerid").as_deref(),
            Some("systemuser:u1"),
            "{entity} is the user's"
        );
    }
    assert_eq!(
        v("opportunity", "o9", "customerid").as_deref(),
        Some("account:a9"),
        "the account is the customer"
    );
    assert_eq!(
        v("contact", "c9", "parentcustomerid").as_deref(),
        Some("account:a9"),
        "the contact works there"
    );
    assert_eq!(
        v("account", "a9", "primarycontactid").as_deref(),
        Some("contact:c9"),
        "and is its primary contact"
    );
    assert_eq!(
        v("lead", "l1", "qualifyingopportunityid").as_deref(),
        Some("opportunity:o9"),
        "lead → opportunity"
    );
    assert_eq!(
        v("lead", "l1", "parentaccountid").as_deref(),
        Some("account:a9"),
        "lead → account"
    );
    assert_eq!(
        v("lead", "l1", "parentcontactid").as_deref(),
        Some("contact:c9"),
        "lead → contact"
    );
    assert_eq!(
        (v("lead", "l1", "statecode"), v("lead", "l1", "statuscode")),
        (Some("1".into()), Some("3".into())),
        "the lead is Qualified"
    );
}

#[test]
fn qualify_with_only_an_opportunity_uses_the_leads_existing_customer() {
    let mut s = with_lead(&[("parentcontactid", "contact:c1")]);
    let effects = done(&mut s, &qualify(None, None, Some("o1")));
    assert_eq!(
        effects.created,
        [rec("opportunity", "o1")],
        "only the opportunity"
    );
    assert_eq!(
        s.value("opportunity", "o1", "customerid").as_deref(),
        Some("contact:c1"),
        "the lead's existing contact is the customer"
    );
    assert_eq!(
        s.value("lead", "l1", "parentcontactid").as_deref(),
        Some("contact:c1"),
        "kept"
    );
}

#[test]
fn qualify_needs_the_fields_of_the_records_it_creates() {
    let mut s = with_lead(&[("lastname", "Lovelace")]);
    let err = refused(&mut s, &qualify(Some("a1"), Some("c1"), Some("o1")));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::Required {
            field: "companyname".into()
        }]),
        "an account needs the lead's company name"
    );
    let mut s = with_lead(&[("companyname", "X")]);
    let err = refused(&mut s, &qualify(None, Some("c1"), None));
    assert_eq!(
        err,
        OpError::Invalid(vec![ValidationError::Required {
            field: "lastname".into()
        }]),
        "a contact needs the lead's last name"
    );
}

#[test]
fn qualify_with_a_used_id_creates_nothing() {
    let mut s = full_lead();
    create(&mut s, "contact", "c1", &[("lastname", "Taken")]);
    let err = refused(&mut s, &qualify(Some("a1"), Some("c1"), Some("o1")));
    assert_eq!(
        err,
        OpError::AlreadyExists {
            entity: "contact".into(),
            id: "c1".into()
        },
        "the used id is named"
    );
}

#[test]
fn a_qualified_lead_cannot_be_qualified_again_or_updated() {
    let mut s = full_lead();
    done(&mut s, &qualify(None, None, None));
    assert_eq!(
        s.value("lead", "l1", "statecode").as_deref(),
        Some("1"),
        "qualified without creating anything"
    );
    assert!(
        matches!(
            refused(&mut s, &qualify(None, None, Some("o1"))),
            OpError::InvalidState { .. }
        ),
        "already qualified"
    );
    let err = refused(
        &mut s,
        &update_op("lead", "l1", &[("subject", "Other")], &[]),
    );
    assert!(
        matches!(err, OpError::InvalidState { .. }),
        "a qualified lead is read-only, got {err:?}"
    );
}

#[test]
fn a_disqualified_lead_refuses_updates() {
    let mut s = full_lead();
    let effects = done(&mut s, &disqualify(6));
    assert_eq!(effects.changed, [rec("lead", "l1")], "the lead changed");
    assert_eq!(
        (
            s.value("lead", "l1", "statecode"),
            s.value("lead", "l1", "statuscode")
        ),
        (Some("2".into()), Some("6".into())),
        "Disqualified, No Longer Interested"
    );
    let err = refused(
        &mut s,
        &update_op("lead", "l1", &[("subject", "Again")], &[]),
    );
    assert!(
        matches!(err, OpError::InvalidState { ref reason, .. } if reason.contains("Disqualified")),
        "a disqualified lead is read-only, got {err:?}"
    );
    assert!(
        matches!(
            refused(&mut s, &disqualify(4)),
            OpError::InvalidState { .. }
        ),
        "and cannot be disqualified twice"
    );
}

#[test]
fn disqualify_needs_a_status_of_the_disqualified_state() {
    let mut s = full_lead();
    for status in [1, 3, 8] {
        let err = refused(&mut s, &disqualify(status));
        assert_eq!(
            err,
            OpError::Invalid(vec![ValidationError::BadChoice {
                field: "statuscode".into(),
                value: status
            }]),
            "status {status} is not a Disqualified reason"
        );
    }
}

#[test]
fn disqualify_is_refused_when_an_opportunity_came_from_the_lead() {
    let mut s = full_lead();
    s.patch(
        "lead",
        "l1",
        &[("qualifyingopportunityid", "opportunity:o1")],
    );
    let err = refused(&mut s, &disqualify(4));
    assert!(
        matches!(err, OpError::InvalidState { ref reason, .. } if reason.contains("opportunity:o1")),
        "the opportunity is named, got {err:?}"
    );
    let missing = Operation::LeadDisqualify {
        lead_id: "nope".into(),
        status: 4,
    };
    assert!(
        matches!(refused(&mut s, &missing), OpError::NotFound { .. }),
        "a missing lead is not found"
    );
}
