use super::super::tests::{checked, entity};
use super::super::{Part, Problem, QueryError, QueryText, SqlParam, parse_filter, parse_query};
use super::*;

fn refusal(filter: &str) -> QueryError {
    parse_filter(filter)
        .unwrap_or_else(|e| panic!("`{filter}` should parse: {e}"))
        .check(&entity())
        .expect_err("the filter does not fit the entity")
}

/// The column value a checked `field op literal` compares with.
fn value(filter: &str) -> SqlParam {
    match checked(filter).root {
        Node::Compare { value, .. } => value,
        other => panic!("`{filter}` should be a comparison, not {other:?}"),
    }
}

#[test]
fn an_unknown_field_is_refused_where_it_is_written() {
    let err = refusal("name eq 'a' and colour eq 'red'");
    assert_eq!(
        err.to_string(),
        "at 16: `colour` is not a field of `account`",
        "the error should name the field and the entity"
    );
    assert_eq!(
        refusal("contains(colour,'x')").at,
        9,
        "a function's field is resolved too"
    );
}

#[test]
fn id_is_a_text_field_of_every_entity() {
    assert_eq!(
        value("id eq 'abc'"),
        SqlParam::Text("abc".to_owned()),
        "id compares as text"
    );
    checked("startswith(id,'ab')");
}

#[test]
fn literals_become_the_column_values_of_their_field() {
    let cases = [
        ("name eq 'Acme'", SqlParam::Text("Acme".to_owned())),
        ("description eq 'x'", SqlParam::Text("x".to_owned())),
        ("employees eq -12", SqlParam::Int(-12)),
        ("bignumber eq 9223372036854775807", SqlParam::Int(i64::MAX)),
        ("revenue eq 1250000.5", SqlParam::Int(125_000_050)),
        ("revenue eq 3.500", SqlParam::Int(350)),
        ("rate eq -0.0001", SqlParam::Int(-1)),
        ("active eq true", SqlParam::Int(1)),
        ("active ne false", SqlParam::Int(0)),
        (
            "createdon gt 2026-11-28T12:00:00+02:00",
            SqlParam::Text("2026-11-28T10:00:00Z".to_owned()),
        ),
        (
            "createdon ge 2026-11-28",
            SqlParam::Text("2026-11-28T00:00:00Z".to_owned()),
        ),
        (
            "birthday lt 2026-11-28",
            SqlParam::Text("2026-11-28".to_owned()),
        ),
        ("industry eq 2", SqlParam::Int(2)),
        ("statecode eq 0", SqlParam::Int(0)),
        ("statuscode eq 2", SqlParam::Int(2)),
        (
            "parentaccountid eq 'a1'",
            SqlParam::Text("account:a1".to_owned()),
        ),
        (
            "customerid eq 'contact:c1'",
            SqlParam::Text("contact:c1".to_owned()),
        ),
        ("ownerid eq 'team:t1'", SqlParam::Text("team:t1".to_owned())),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            value(filter),
            expected,
            "`{filter}` should compare with {expected:?}"
        );
    }
}

#[test]
fn literals_that_are_not_values_of_their_field_are_refused() {
    let cases = [
        ("name eq 12", 8, "a text in quotes"),
        ("employees eq 1.5", 13, "a whole number"),
        ("employees eq '1'", 13, "a whole number"),
        ("bignumber eq 9223372036854775808", 13, "a whole number"),
        (
            "revenue eq 1.005",
            11,
            "a number with at most 2 decimal places",
        ),
        (
            "revenue gt 100000000000000000000",
            11,
            "a number whose value times 10^2 fits in 64 bits",
        ),
        ("revenue eq 'a'", 11, "a number"),
        ("active eq 1", 10, "true or false"),
        (
            "createdon eq 2026-11-28T10:00:00.5Z",
            13,
            "a date-time in whole seconds such as 2026-11-28T10:00:00Z",
        ),
        (
            "createdon eq '2026-11-28T10:00:00Z'",
            13,
            "a date-time in whole seconds such as 2026-11-28T10:00:00Z",
        ),
        (
            "birthday eq 2026-11-28T10:00:00Z",
            12,
            "a date such as 2026-11-28",
        ),
        ("industry eq 4", 12, "one of the option numbers 1, 2, 3"),
        ("statecode eq 'x'", 13, "one of the option numbers 0, 1"),
        ("statuscode eq 1.0", 14, "one of the option numbers 1, 2"),
        (
            "parentaccountid eq 'contact:c1'",
            19,
            "a reference in quotes such as 'account:<id>' (to account)",
        ),
        (
            "customerid eq 'c1'",
            14,
            "a reference in quotes such as 'account:<id>' (to account or contact)",
        ),
        (
            "ownerid eq 'u1'",
            11,
            "a reference in quotes such as 'systemuser:<id>' (to systemuser or team)",
        ),
        (
            "name gt null",
            8,
            "a value (null compares only with eq and ne, not gt)",
        ),
    ];
    for (filter, at, expected_value) in cases {
        let err = refusal(filter);
        assert_eq!(err.at, at, "`{filter}` should be refused at its literal");
        match err.problem {
            Problem::InvalidValue { expected, .. } => {
                assert_eq!(expected, expected_value, "`{filter}` should say what fits");
            }
            other => panic!("`{filter}` should be an invalid value, not {other}"),
        }
    }
}

#[test]
fn an_invalid_value_message_names_the_literal_and_the_field() {
    assert_eq!(
        refusal("name eq 12").to_string(),
        "at 8: 12 is not a value of `name`: expected a text in quotes",
        "the message should read naturally"
    );
}

#[test]
fn null_checks_apply_to_every_kind() {
    for field in [
        "name",
        "revenue",
        "active",
        "ownerid",
        "createdon",
        "industry",
    ] {
        match checked(&format!("{field} eq null")).root {
            Node::Null { is_null: true, .. } => {}
            other => panic!("`{field} eq null` should be IS NULL, not {other:?}"),
        }
        match checked(&format!("{field} ne null")).root {
            Node::Null { is_null: false, .. } => {}
            other => panic!("`{field} ne null` should be IS NOT NULL, not {other:?}"),
        }
    }
}

/// Asserts that `filter` is refused because `operator` does not apply to its field.
fn assert_not_applicable(filter: &str, at: usize, operator: &str) {
    let err = refusal(filter);
    assert_eq!(err.at, at, "`{filter}` should be refused at the operator");
    match err.problem {
        Problem::NotApplicable { operator: op, .. } => {
            assert_eq!(op, operator, "`{filter}` should name the operator");
        }
        other => panic!("`{filter}` should be not applicable, not {other}"),
    }
}

#[test]
fn ordering_comparisons_do_not_apply_to_references_or_yes_no() {
    assert_not_applicable("parentaccountid gt 'a1'", 16, "gt");
    assert_not_applicable("ownerid le 'systemuser:u1'", 8, "le");
    assert_not_applicable("active lt true", 7, "lt");
    for filter in [
        "name gt 'a'",
        "revenue le 5",
        "createdon lt 2026-01-01",
        "industry ge 2",
    ] {
        checked(filter);
    }
}

#[test]
fn text_functions_apply_only_to_text_and_memo() {
    assert_not_applicable("contains(revenue,'1')", 0, "contains");
    assert_not_applicable("name eq 'a' or startswith(ownerid,'s')", 15, "startswith");
    assert_not_applicable("endswith(createdon,'Z')", 0, "endswith");
    checked("contains(description,'x')");
    assert_eq!(
        refusal("contains(revenue,'1')").to_string(),
        "at 0: `contains` does not apply to `revenue`, a money field",
        "the message should name the kind"
    );
}

#[test]
fn shortcuts_apply_only_to_references_to_their_entity() {
    assert_not_applicable("ownerid eq-businessid", 8, "eq-businessid");
    assert_not_applicable("owningbusinessunit eq-userid", 19, "eq-userid");
    assert_not_applicable("name eq-userid", 5, "eq-userid");
    assert_not_applicable("createdby eq-userteams", 10, "eq-userteams");
    for filter in [
        "ownerid eq-userid",
        "ownerid eq-userteams",
        "ownerid eq-useroruserhierarchy",
        "owningbusinessunit eq-businessid",
        "createdby eq-userid",
    ] {
        checked(filter);
    }
}

#[test]
fn date_functions_apply_only_to_dates_and_date_times() {
    assert_not_applicable("name last-x-days 3", 5, "last-x-days");
    assert_not_applicable("employees today", 10, "today");
    match checked("birthday next-x-days 3").root {
        Node::Date {
            date_only: true, ..
        } => {}
        other => panic!("a date-only field should give a date-only range, not {other:?}"),
    }
    match checked("createdon older-x-days 3").root {
        Node::Date {
            date_only: false, ..
        } => {}
        other => panic!("a date-time field should give a date-time range, not {other:?}"),
    }
}

#[test]
fn select_and_order_refuse_unknown_and_repeated_fields() {
    let check = |text: QueryText<'_>| {
        parse_query(text)
            .expect("the query parses")
            .check(&entity())
            .expect_err("the query does not fit the entity")
    };
    let err = check(QueryText {
        select: Some("name, colour"),
        ..QueryText::default()
    });
    assert_eq!(
        (err.part, err.at),
        (Part::Select, 6),
        "the unknown selected field should be pointed at"
    );
    let err = check(QueryText {
        select: Some("name, id, name"),
        ..QueryText::default()
    });
    assert_eq!(
        err.to_string(),
        "$select at 10: `name` appears twice",
        "a repeated selected field should be refused at its second place"
    );
    let err = check(QueryText {
        order_by: Some("name desc, revenue, name"),
        ..QueryText::default()
    });
    assert_eq!(
        (err.part, err.at, err.problem),
        (
            Part::OrderBy,
            20,
            Problem::Repeated {
                field: "name".to_owned()
            }
        ),
        "a repeated sort key should be refused"
    );
    let err = check(QueryText {
        order_by: Some("colour"),
        ..QueryText::default()
    });
    assert_eq!(
        err.part,
        Part::OrderBy,
        "an unknown sort key is in $orderby"
    );
}
