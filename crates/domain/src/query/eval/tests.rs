use time::macros::datetime;

use super::super::QueryText;
use super::super::tests::{checked, checked_query, ctx};
use super::*;

fn record(pairs: &[(&str, Option<&str>)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

/// Whether `filter` matches the record `r1` with `fields`, in the fixture context.
fn matches(filter: &str, fields: &[(&str, Option<&str>)]) -> bool {
    checked(filter).matches("r1", &record(fields), &ctx())
}

/// Asserts that `filter` matches exactly the values in `yes` of `field` and none in `no`.
fn assert_splits(filter: &str, field: &str, yes: &[&str], no: &[&str]) {
    for value in yes {
        assert!(
            matches(filter, &[(field, Some(value))]),
            "`{filter}` should match {field} = {value}"
        );
    }
    for value in no {
        assert!(
            !matches(filter, &[(field, Some(value))]),
            "`{filter}` should not match {field} = {value}"
        );
    }
}

#[test]
fn a_comparison_with_null_is_unknown_and_does_not_match() {
    let null = [("name", None)];
    assert!(!matches("name eq 'a'", &null), "null eq 'a' is unknown");
    assert!(!matches("name ne 'a'", &null), "null ne 'a' is unknown");
    assert!(
        !matches("not (name eq 'a')", &null),
        "not unknown is unknown"
    );
    assert!(
        !matches("not name gt 'a'", &[]),
        "a missing field is null, and not unknown is unknown"
    );
    assert!(matches("name eq null", &null), "eq null is IS NULL");
    assert!(!matches("name ne null", &null), "ne null is IS NOT NULL");
    assert!(
        matches("name eq null", &[]),
        "a field missing from the record is null"
    );
}

#[test]
fn and_or_not_follow_three_valued_logic() {
    // name is null (unknown comparisons), employees is 5.
    let fields = [("name", None), ("employees", Some("5"))];
    let cases = [
        ("name eq 'a' and employees eq 5", false), // unknown and true = unknown
        ("name eq 'a' and employees eq 6", false), // unknown and false = false
        ("not (name eq 'a' and employees eq 6)", true), // not false = true
        ("not (name eq 'a' and employees eq 5)", false), // not unknown = unknown
        ("name eq 'a' or employees eq 5", true),   // unknown or true = true
        ("name eq 'a' or employees eq 6", false),  // unknown or false = unknown
        ("not (name eq 'a' or employees eq 6)", false), // not unknown = unknown
        ("not (employees eq 6)", true),
        (
            "employees eq 5 and not (employees eq 6) and name eq null",
            true,
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            matches(filter, &fields),
            expected,
            "`{filter}` should be {expected}"
        );
    }
}

#[test]
fn every_operator_compares_numbers_as_numbers() {
    assert_splits("employees eq 10", "employees", &["10"], &["9", "11"]);
    assert_splits("employees ne 10", "employees", &["9", "11"], &["10"]);
    assert_splits("employees gt 10", "employees", &["11", "100"], &["10", "9"]);
    assert_splits("employees ge 10", "employees", &["10", "100"], &["9"]);
    assert_splits("employees lt 10", "employees", &["9", "-1"], &["10", "100"]);
    assert_splits("employees le 10", "employees", &["10", "2"], &["11"]);
    assert_splits(
        "revenue gt 9.5",
        "revenue",
        &["10.00", "9.51", "100.00"],
        &["9.50", "-10.00", "1.00"],
    );
    assert_splits("revenue eq 9.5", "revenue", &["9.50"], &["9.51"]);
    assert_splits(
        "bignumber lt -9000000000000000000",
        "bignumber",
        &["-9223372036854775808"],
        &["-9000000000000000000", "9223372036854775807"],
    );
}

#[test]
fn text_compares_exactly_and_orders_by_bytes() {
    assert_splits("name eq 'Acme'", "name", &["Acme"], &["acme", "Acme "]);
    assert_splits(
        "name lt 'b'",
        "name",
        &["a", "B", "Zed", "ab"],
        &["b", "é", "ba"],
    );
}

#[test]
fn dates_yes_no_choices_and_references_compare_by_value() {
    assert_splits(
        "createdon ge 2026-11-28T10:00:00+01:00",
        "createdon",
        &["2026-11-28T09:00:00Z", "2027-01-01T00:00:00Z"],
        &["2026-11-28T08:59:59Z"],
    );
    assert_splits(
        "birthday lt 2000-02-29",
        "birthday",
        &["1999-12-31", "2000-02-28"],
        &["2000-02-29", "2000-03-01"],
    );
    assert_splits("active eq true", "active", &["true"], &["false"]);
    assert_splits("industry ne 2", "industry", &["1", "3"], &["2"]);
    assert_splits(
        "parentaccountid eq 'a1'",
        "parentaccountid",
        &["account:a1"],
        &["account:a2"],
    );
}

#[test]
fn text_functions_ignore_ascii_case_and_treat_wildcards_as_text() {
    assert_splits(
        "contains(name,'ACME')",
        "name",
        &["acme", "The Acme Corp", "xACMEx"],
        &["acm", "ac me"],
    );
    assert_splits(
        "startswith(name,'ab')",
        "name",
        &["ab", "ABc", "Abba"],
        &["cab", "a"],
    );
    assert_splits("endswith(name,'Ab')", "name", &["ab", "cAB"], &["abc", "b"]);
    assert_splits(
        "contains(name,'50%_')",
        "name",
        &["up 50%_ off", "50%_"],
        &["500", "50%x", "50x_"],
    );
    assert_splits("contains(name,'\\')", "name", &["a\\b"], &["ab"]);
    assert_splits("contains(name,'É')", "name", &["É"], &["é", "E"]);
    assert_splits("contains(name,'')", "name", &["", "x"], &[]);
    assert!(
        !matches("contains(name,'')", &[("name", None)]),
        "a function on null is unknown"
    );
    assert!(
        !matches("not contains(name,'x')", &[("name", None)]),
        "not of a function on null is still unknown"
    );
}

#[test]
fn owner_shortcuts_resolve_against_the_context() {
    assert_splits(
        "ownerid eq-userid",
        "ownerid",
        &["systemuser:u1"],
        &["systemuser:u2", "team:u1"],
    );
    assert_splits(
        "ownerid eq-userteams",
        "ownerid",
        &["team:t1", "team:t2"],
        &["team:t3", "systemuser:u1"],
    );
    assert_splits(
        "ownerid eq-useroruserhierarchy",
        "ownerid",
        &["systemuser:u1", "systemuser:u2", "systemuser:u3"],
        &["systemuser:u4", "team:t1"],
    );
    assert_splits(
        "owningbusinessunit eq-businessid",
        "owningbusinessunit",
        &["businessunit:bu1"],
        &["businessunit:bu2"],
    );
    assert!(
        !matches("not ownerid eq-userid", &[]),
        "a shortcut on a null owner is unknown"
    );
}

#[test]
fn the_hierarchy_includes_the_user_and_no_teams_match_nothing() {
    let alone = EvalContext {
        team_ids: vec![],
        hierarchy_user_ids: vec![],
        ..ctx()
    };
    let owned_by = |owner: &str| record(&[("ownerid", Some(owner))]);
    assert!(
        checked("ownerid eq-useroruserhierarchy").matches("r1", &owned_by("systemuser:u1"), &alone),
        "the user is in their own hierarchy even when the list omits them"
    );
    assert!(
        checked("not ownerid eq-userteams").matches("r1", &owned_by("team:t1"), &alone),
        "with no teams, a team-owned record is not the user's team's"
    );
    assert!(
        !checked("not ownerid eq-userteams").matches("r1", &record(&[]), &alone),
        "with no teams, a null owner is still unknown"
    );
}

#[test]
fn date_time_bounds_count_days_in_the_offset_of_now() {
    // now is 2026-11-28 10:30:15.25 +01:00, that is 09:30:15Z; the local day began at
    // 2026-11-27T23:00:00Z.
    let now = ctx().now;
    let bounds = |function| date_bounds(function, false, now);
    let range = |low: &str, high: &str| Bounds {
        low: Some(low.to_owned()),
        high: high.to_owned(),
    };
    assert_eq!(
        bounds(DateFunction::Today),
        range("2026-11-27T23:00:00Z", "2026-11-28T22:59:59Z"),
        "today is the local day"
    );
    assert_eq!(
        bounds(DateFunction::LastXDays(7)),
        range("2026-11-20T23:00:00Z", "2026-11-28T09:30:15Z"),
        "last 7 days run from local midnight 7 days ago to now in whole seconds"
    );
    assert_eq!(
        bounds(DateFunction::NextXDays(2)),
        range("2026-11-28T09:30:15Z", "2026-11-30T22:59:59Z"),
        "next 2 days run from now to the end of the second local day from today"
    );
    assert_eq!(
        bounds(DateFunction::OlderXDays(7)),
        Bounds {
            low: None,
            high: "2026-11-20T22:59:59Z".to_owned()
        },
        "older than 7 days is before the start of the last 7 days"
    );
}

#[test]
fn date_only_bounds_are_whole_dates() {
    let now = ctx().now;
    let bounds = |function| date_bounds(function, true, now);
    let range = |low: &str, high: &str| Bounds {
        low: Some(low.to_owned()),
        high: high.to_owned(),
    };
    assert_eq!(
        bounds(DateFunction::Today),
        range("2026-11-28", "2026-11-28"),
        "today"
    );
    assert_eq!(
        bounds(DateFunction::LastXDays(7)),
        range("2026-11-21", "2026-11-28"),
        "the last 7 days and today"
    );
    assert_eq!(
        bounds(DateFunction::NextXDays(2)),
        range("2026-11-28", "2026-11-30"),
        "today and the next 2 days"
    );
    assert_eq!(
        bounds(DateFunction::OlderXDays(7)),
        Bounds {
            low: None,
            high: "2026-11-20".to_owned()
        },
        "before the last 7 days"
    );
}

#[test]
fn date_functions_match_inside_their_bounds_only() {
    assert_splits(
        "createdon today",
        "createdon",
        &["2026-11-27T23:00:00Z", "2026-11-28T22:59:59Z"],
        &["2026-11-27T22:59:59Z", "2026-11-28T23:00:00Z"],
    );
    assert_splits(
        "createdon last-x-days 7",
        "createdon",
        &["2026-11-20T23:00:00Z", "2026-11-28T09:30:15Z"],
        &["2026-11-20T22:59:59Z", "2026-11-28T09:30:16Z"],
    );
    assert_splits(
        "createdon next-x-days 2",
        "createdon",
        &["2026-11-28T09:30:15Z", "2026-11-30T22:59:59Z"],
        &["2026-11-28T09:30:14Z", "2026-11-30T23:00:00Z"],
    );
    assert_splits(
        "createdon older-x-days 7",
        "createdon",
        &["2026-11-20T22:59:59Z", "1900-01-01T00:00:00Z"],
        &["2026-11-20T23:00:00Z"],
    );
    assert_splits(
        "birthday last-x-days 1",
        "birthday",
        &["2026-11-27", "2026-11-28"],
        &["2026-11-26", "2026-11-29"],
    );
    assert!(
        !matches("not createdon today", &[]),
        "a date function on null is unknown"
    );
}

#[test]
fn bounds_far_from_now_are_clamped_to_years_that_canonical_values_have() {
    let late = datetime!(9999-12-31 12:00 UTC);
    assert_eq!(
        date_bounds(DateFunction::NextXDays(36_500), false, late).high,
        "9999-12-31T23:59:59Z",
        "an upper bound past year 9999 is the last canonical moment"
    );
    let early = datetime!(0000-01-02 12:00 +05:00);
    assert_eq!(
        date_bounds(DateFunction::LastXDays(36_500), true, early).low,
        Some("0000-01-01".to_owned()),
        "a lower bound before year 0 is the first canonical date"
    );
}

#[test]
fn an_unreadable_stored_value_is_null() {
    assert!(
        matches("employees eq null", &[("employees", Some("many"))]),
        "text that is not a whole number reads as null"
    );
}

#[test]
fn sorting_puts_null_first_ascending_and_last_descending_then_orders_by_id() {
    let rows = [
        ("c", record(&[("revenue", Some("5.00"))])),
        ("a", record(&[("revenue", None)])),
        ("b", record(&[("revenue", Some("5.00"))])),
        ("d", record(&[("revenue", Some("-1.00"))])),
    ];
    let ids = |order: &str, top: Option<&str>| -> Vec<&str> {
        let query = checked_query(QueryText {
            order_by: Some(order),
            top,
            ..QueryText::default()
        });
        query
            .run(rows.iter(), |(id, fields)| (*id, fields), &ctx())
            .into_iter()
            .map(|(id, _)| *id)
            .collect()
    };
    assert_eq!(
        ids("revenue", None),
        ["a", "d", "b", "c"],
        "ascending: null, then by value, ties by id"
    );
    assert_eq!(
        ids("revenue desc", None),
        ["b", "c", "d", "a"],
        "descending: by value, ties by id ascending, null last"
    );
    assert_eq!(
        ids("revenue desc, id desc", Some("2")),
        ["c", "b"],
        "an explicit id key replaces the tie-break, and $top keeps the first"
    );
}

#[test]
fn running_a_query_filters_before_it_sorts_and_cuts() {
    let rows = [
        ("a", record(&[("employees", Some("1"))])),
        ("b", record(&[("employees", Some("3"))])),
        ("c", record(&[("employees", Some("2"))])),
        ("d", record(&[("employees", None)])),
    ];
    let query = checked_query(QueryText {
        filter: Some("employees ge 2"),
        order_by: Some("employees"),
        top: Some("5"),
        ..QueryText::default()
    });
    let found: Vec<&str> = query
        .run(rows.iter(), |(id, fields)| (*id, fields), &ctx())
        .into_iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(found, ["c", "b"], "only matching records, sorted");
}
