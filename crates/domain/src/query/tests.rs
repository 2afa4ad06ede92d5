//! Fixtures shared by the query tests, and tests of the whole-query entry points.

use rust_decimal::Decimal;
use time::macros::datetime;

use super::*;
use crate::metadata::{
    AttributeDef, AttributeKind, ChoiceOption, EntityDef, Ownership, Requirement, StatusOption,
};

/// An entity with one attribute of every kind.
pub(crate) fn entity() -> EntityDef {
    let attr = |name: &str, kind: AttributeKind| AttributeDef {
        name: name.to_owned(),
        label: name.to_owned(),
        kind,
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    };
    let options = |pairs: &[(i32, &str)]| {
        pairs
            .iter()
            .map(|(value, label)| ChoiceOption {
                value: *value,
                label: (*label).to_owned(),
            })
            .collect()
    };
    let lookup = |targets: &[&str]| AttributeKind::Lookup {
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
    };
    EntityDef {
        name: "account".to_owned(),
        label: "Account".to_owned(),
        plural: "Accounts".to_owned(),
        ownership: Ownership::User,
        primary_field: "name".to_owned(),
        attributes: vec![
            attr("name", AttributeKind::Text { max_len: 100 }),
            attr("description", AttributeKind::Memo { max_len: 2000 }),
            attr(
                "employees",
                AttributeKind::WholeNumber {
                    min: 0,
                    max: 1_000_000,
                },
            ),
            attr("bignumber", AttributeKind::BigInt),
            attr(
                "revenue",
                AttributeKind::Money {
                    precision: 2,
                    min: Decimal::ZERO,
                    max: Decimal::from(1_000_000_000_000_i64),
                },
            ),
            attr(
                "rate",
                AttributeKind::Decimal {
                    precision: 4,
                    min: Decimal::from(-1000),
                    max: Decimal::from(1000),
                },
            ),
            attr("active", AttributeKind::Bool),
            attr("createdon", AttributeKind::DateTime),
            attr("birthday", AttributeKind::DateOnly),
            attr(
                "industry",
                AttributeKind::Choice {
                    options: options(&[(1, "Retail"), (2, "Services"), (3, "Manufacturing")]),
                },
            ),
            attr("parentaccountid", lookup(&["account"])),
            attr("customerid", lookup(&["account", "contact"])),
            attr("ownerid", AttributeKind::Owner),
            attr("owningbusinessunit", lookup(&["businessunit"])),
            attr("createdby", lookup(&["systemuser"])),
            attr(
                "statecode",
                AttributeKind::State {
                    options: options(&[(0, "Active"), (1, "Inactive")]),
                },
            ),
            attr(
                "statuscode",
                AttributeKind::Status {
                    options: vec![
                        StatusOption {
                            value: 1,
                            label: "Active".to_owned(),
                            state: 0,
                            default: true,
                        },
                        StatusOption {
                            value: 2,
                            label: "Inactive".to_owned(),
                            state: 1,
                            default: true,
                        },
                    ],
                },
            ),
        ],
        quick_find: vec![],
        forms: vec![],
        views: vec![],
    }
}

/// User `u1` in teams `t1` and `t2`, over `u2` and `u3`, in business unit `bu1`, at
/// 2026-11-28 10:30:15.25 in UTC+1 (09:30:15Z).
pub(crate) fn ctx() -> EvalContext {
    EvalContext {
        user_id: "u1".to_owned(),
        team_ids: vec!["t1".to_owned(), "t2".to_owned()],
        hierarchy_user_ids: vec!["u1".to_owned(), "u2".to_owned(), "u3".to_owned()],
        business_unit_id: "bu1".to_owned(),
        now: datetime!(2026-11-28 10:30:15.25 +01:00),
    }
}

/// Parses and checks a filter against [`entity`], or panics saying why.
pub(crate) fn checked(filter: &str) -> CheckedFilter {
    parse_filter(filter)
        .unwrap_or_else(|e| panic!("`{filter}` should parse: {e}"))
        .check(&entity())
        .unwrap_or_else(|e| panic!("`{filter}` should check: {e}"))
}

/// Parses and checks a whole query against [`entity`], or panics saying why.
pub(crate) fn checked_query(text: QueryText<'_>) -> CheckedQuery {
    parse_query(text)
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
        .check(&entity())
        .unwrap_or_else(|e| panic!("{text:?} should check: {e}"))
}

#[test]
fn a_query_parses_each_of_its_four_options() {
    let query = parse_query(QueryText {
        select: Some("name, revenue"),
        filter: Some("statecode eq 0"),
        order_by: Some("revenue desc, name"),
        top: Some(" 50 "),
    })
    .expect("a well-formed query parses");
    let names: Vec<&str> = query
        .select
        .as_ref()
        .expect("$select was given")
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["name", "revenue"],
        "$select keeps the fields in order"
    );
    assert!(query.filter.is_some(), "$filter was given");
    let order: Vec<(&str, SortDir)> = query
        .order_by
        .iter()
        .map(|(f, d)| (f.name.as_str(), *d))
        .collect();
    assert_eq!(
        order,
        [("revenue", SortDir::Desc), ("name", SortDir::Asc)],
        "$orderby defaults to ascending"
    );
    assert_eq!(query.top, Some(50), "$top allows surrounding spaces");
}

#[test]
fn an_absent_option_is_none() {
    let query = parse_query(QueryText::default()).expect("no options is a query");
    assert_eq!(query, Query::default(), "every option should be absent");
}

#[test]
fn errors_outside_the_filter_name_their_option() {
    let err = parse_query(QueryText {
        order_by: Some("name up"),
        ..QueryText::default()
    })
    .expect_err("`up` is not a direction");
    assert_eq!(
        err.to_string(),
        "$orderby at 5: expected 'asc', 'desc', ',' or the end, found 'up'",
        "the message should name the option, the position and what was expected"
    );
    let err = parse_query(QueryText {
        select: Some("name,"),
        ..QueryText::default()
    })
    .expect_err("a trailing comma is not a field");
    assert_eq!(
        err.to_string(),
        "$select at 5: expected a field name, found the end",
        "the message should point after the comma"
    );
}

#[test]
fn top_must_be_a_whole_number_of_at_least_one() {
    for (text, at) in [("0", 0), ("", 0), ("-1", 0), ("1x", 1), (" 99999999999", 1)] {
        let err = parse_query(QueryText {
            top: Some(text),
            ..QueryText::default()
        })
        .expect_err("not a positive 32-bit number");
        assert_eq!(
            (err.part, err.at),
            (Part::Top, at),
            "`$top={text}` should be refused at {at}"
        );
    }
}

#[test]
fn a_view_becomes_a_query_with_its_columns_filter_and_sort() {
    let view = View {
        id: "v1".to_owned(),
        name: "My active accounts".to_owned(),
        columns: vec!["name".to_owned(), "revenue".to_owned()],
        filter: Some("statecode eq 0 and ownerid eq-userid".to_owned()),
        order: vec![("name".to_owned(), SortDir::Asc)],
        default: true,
    };
    let query = Query::for_view(&view)
        .expect("a well-formed view")
        .check(&entity())
        .expect("the view fits the entity");
    assert_eq!(
        query.select(),
        Some(vec!["name", "revenue"]),
        "the view's columns are selected"
    );
    assert_eq!(
        query.order(),
        [("name", SortDir::Asc)],
        "the view's sort is kept"
    );
    let bad = View {
        columns: vec!["name".to_owned(), "Revenue".to_owned()],
        ..view
    };
    let err = Query::for_view(&bad).expect_err("`Revenue` is not a logical name");
    assert_eq!(
        (err.part, err.at),
        (Part::Select, 1),
        "the error should point at the second column"
    );
}

#[test]
fn a_filter_error_reads_as_position_expected_and_found() {
    let err = parse_filter("revenue gt 10 and (").expect_err("nothing after '('");
    assert_eq!(
        err.to_string(),
        "at 19: expected a condition (a field name, 'not', '(' or a function), found the end",
        "the message should say where, what was expected and what was found"
    );
}

#[test]
fn equality_fields_are_the_ones_every_match_equals() {
    let fields = |text: &str| -> Vec<String> {
        parse_filter(text)
            .expect("parses")
            .equality_fields()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        fields("statecode eq 0 and ownerid eq-userid and revenue gt 10"),
        ["statecode", "ownerid"]
    );
    assert_eq!(fields("name eq 'Acme'"), ["name"]);
    // Either side of an `or`, a negation, or a test for null narrows nothing by itself.
    assert!(fields("statecode eq 0 or statecode eq 1").is_empty());
    assert!(fields("not statecode eq 0").is_empty());
    assert!(fields("parentcustomerid eq null").is_empty());
}
