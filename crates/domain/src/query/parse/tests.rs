use rust_decimal::Decimal;
use time::macros::{date, datetime};

use super::super::{
    CompareOp, DateFunction, FieldName, Filter, Literal, OwnerShortcut, Part, Problem, QueryError,
    TextFunction, parse_filter,
};

fn parse(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
}

fn field(name: &str, at: usize) -> FieldName {
    FieldName {
        name: name.to_owned(),
        at,
    }
}

/// The value of `field eq <literal>`.
fn literal(text: &str) -> Literal {
    match parse(&format!("f eq {text}")) {
        Filter::Compare { value, .. } => value,
        other => panic!("`f eq {text}` should be a comparison, not {other:?}"),
    }
}

/// Where and what a malformed filter fails with.
fn error(text: &str) -> QueryError {
    parse_filter(text).expect_err("the filter is malformed")
}

/// A compact spelling of a filter's shape: fields and operators, ignoring positions.
fn shape(filter: &Filter) -> String {
    match filter {
        Filter::Compare { field, op, .. } => format!("{}{}", field.name, op.keyword()),
        Filter::Text {
            function, field, ..
        } => format!("{}({})", function.keyword(), field.name),
        Filter::Shortcut {
            field, shortcut, ..
        } => format!("{}:{}", field.name, shortcut.keyword()),
        Filter::Date {
            field, function, ..
        } => format!("{}:{}", field.name, function.keyword()),
        Filter::Not(inner) => format!("!{}", shape(inner)),
        Filter::And(terms) => format!(
            "[{}]",
            terms.iter().map(shape).collect::<Vec<_>>().join(" & ")
        ),
        Filter::Or(terms) => format!(
            "{{{}}}",
            terms.iter().map(shape).collect::<Vec<_>>().join(" | ")
        ),
    }
}

#[test]
fn a_comparison_keeps_field_operator_value_and_positions() {
    assert_eq!(
        parse("revenue ge 1250000.50"),
        Filter::Compare {
            field: field("revenue", 0),
            op: CompareOp::Ge,
            op_at: 8,
            value: Literal::Number("1250000.50".parse().expect("a decimal")),
            value_at: 11,
        },
        "every part of the comparison and its position should be kept"
    );
}

#[test]
fn every_comparison_operator_parses() {
    for (word, op) in [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        match parse(&format!("a {word} 1")) {
            Filter::Compare { op: found, .. } => {
                assert_eq!(found, op, "`{word}` should be {op:?}");
            }
            other => panic!("`a {word} 1` should be a comparison, not {other:?}"),
        }
    }
}

#[test]
fn every_kind_of_literal_parses() {
    assert_eq!(
        literal("'O''Brien'"),
        Literal::Text("O'Brien".to_owned()),
        "two quotes are one quote"
    );
    assert_eq!(literal("''"), Literal::Text(String::new()), "empty text");
    assert_eq!(
        literal("'  spaced ( and ) or '"),
        Literal::Text("  spaced ( and ) or ".to_owned()),
        "text keeps spaces and keywords"
    );
    assert_eq!(literal("12"), Literal::Number(Decimal::from(12)), "whole");
    assert_eq!(
        literal("-3.5"),
        Literal::Number(Decimal::new(-35, 1)),
        "negative decimal"
    );
    assert_eq!(literal("true"), Literal::Bool(true), "true");
    assert_eq!(literal("false"), Literal::Bool(false), "false");
    assert_eq!(literal("null"), Literal::Null, "null");
    assert_eq!(
        literal("2026-11-28"),
        Literal::Date(date!(2026 - 11 - 28)),
        "a date"
    );
    assert_eq!(
        literal("2026-11-28T10:00:00Z"),
        Literal::DateTime(datetime!(2026-11-28 10:00:00 UTC)),
        "a UTC date-time"
    );
    assert_eq!(
        literal("2026-11-28T12:00:00+02:00"),
        Literal::DateTime(datetime!(2026-11-28 10:00:00 UTC)),
        "a date-time with an offset is read in UTC"
    );
}

#[test]
fn text_functions_take_a_field_and_a_text() {
    assert_eq!(
        parse("contains(name,'ac''me')"),
        Filter::Text {
            function: TextFunction::Contains,
            at: 0,
            field: field("name", 9),
            arg: "ac'me".to_owned(),
        },
        "contains keeps its field and unescaped text"
    );
    assert_eq!(
        shape(&parse("startswith( name , 'a' ) or endswith(name,'z')")),
        "{startswith(name) | endswith(name)}",
        "startswith and endswith parse, spaces allowed inside"
    );
}

#[test]
fn a_function_name_without_parenthesis_is_a_field() {
    assert_eq!(
        shape(&parse("contains eq 'x'")),
        "containseq",
        "`contains` followed by an operator is a field named contains"
    );
}

#[test]
fn owner_shortcuts_parse_without_a_value() {
    for (word, shortcut) in [
        ("eq-userid", OwnerShortcut::UserId),
        ("eq-userteams", OwnerShortcut::UserTeams),
        ("eq-useroruserhierarchy", OwnerShortcut::UserOrUserHierarchy),
        ("eq-businessid", OwnerShortcut::BusinessId),
    ] {
        assert_eq!(
            parse(&format!("ownerid {word}")),
            Filter::Shortcut {
                field: field("ownerid", 0),
                shortcut,
                at: 8,
            },
            "`{word}` should be {shortcut:?}"
        );
    }
}

#[test]
fn date_functions_parse_with_their_number_of_days() {
    for (text, function) in [
        ("d last-x-days 7", DateFunction::LastXDays(7)),
        ("d next-x-days 1", DateFunction::NextXDays(1)),
        ("d older-x-days 36500", DateFunction::OlderXDays(36_500)),
        ("d today", DateFunction::Today),
    ] {
        assert_eq!(
            parse(text),
            Filter::Date {
                field: field("d", 0),
                function,
                at: 2,
            },
            "`{text}` should be {function:?}"
        );
    }
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    let cases = [
        ("a eq 1 or b eq 2 and c eq 3", "{aeq | [beq & ceq]}"),
        ("a eq 1 and b eq 2 or c eq 3", "{[aeq & beq] | ceq}"),
        ("not a eq 1 and b eq 2", "[!aeq & beq]"),
        ("not (a eq 1 and b eq 2)", "![aeq & beq]"),
        ("(a eq 1 or b eq 2) and c eq 3", "[{aeq | beq} & ceq]"),
        ("a eq 1 and b eq 2 and c eq 3", "[aeq & beq & ceq]"),
        ("a eq 1 or b eq 2 or c eq 3", "{aeq | beq | ceq}"),
        ("not not a eq 1", "!!aeq"),
        ("((a eq 1))", "aeq"),
    ];
    for (text, expected) in cases {
        assert_eq!(
            shape(&parse(text)),
            expected,
            "`{text}` groups as {expected}"
        );
    }
}

#[test]
fn whitespace_of_any_kind_separates_tokens() {
    assert_eq!(
        shape(&parse("\ta eq 1\n\rand\tb ne 'x'  ")),
        "[aeq & bne]",
        "tabs, newlines and trailing spaces are whitespace"
    );
    assert_eq!(
        shape(&parse("(a eq 1)and(b eq 2)")),
        "[aeq & beq]",
        "parentheses need no spaces around them"
    );
}

#[test]
fn malformed_filters_report_the_position_and_what_was_expected() {
    let cases = [
        ("name eq )", "at 8: expected a value, found ')'"),
        (
            "revenue gt 10 and (",
            "at 19: expected a condition (a field name, 'not', '(' or a function), found the end",
        ),
        (
            "name eq 'acme",
            "at 8: expected a closing quote for this text, found the end",
        ),
        (
            "name eq 'a' name eq 'b'",
            "at 12: expected 'and', 'or' or the end, found 'name'",
        ),
        (
            "(name eq 'a'",
            "at 12: expected 'and', 'or' or ')', found the end",
        ),
        (
            "name is 'a'",
            "at 5: expected an operator (eq, ne, gt, ge, lt, le), a shortcut such as \
             eq-userid, or a date function such as last-x-days, found 'is'",
        ),
        (
            "Name eq 'a'",
            "at 0: expected a condition (a field name, 'not', '(' or a function), found 'Name'",
        ),
        (
            "contains(name 'a')",
            "at 14: expected ',', found the text 'a'",
        ),
        (
            "contains(name, 3)",
            "at 15: expected a text in quotes, found '3'",
        ),
        ("contains(name, 'a'", "at 18: expected ')', found the end"),
        (
            "d last-x-days 0",
            "at 14: expected a number of days from 1 to 36500, found '0'",
        ),
        (
            "d last-x-days",
            "at 13: expected a number of days from 1 to 36500, found the end",
        ),
        (
            "d eq 2026-13-01",
            "at 5: expected a date such as 2026-11-28, found '2026-13-01'",
        ),
        (
            "d eq 2026-11-28T25:00:00Z",
            "at 5: expected a date-time such as 2026-11-28T10:00:00Z, found '2026-11-28T25:00:00Z'",
        ),
        (
            "n eq 1.",
            "at 5: expected a number such as 12 or -3.5, found '1.'",
        ),
        (
            "n eq 1e5",
            "at 5: expected a number such as 12 or -3.5, found '1e5'",
        ),
        ("n eq #", "at 5: expected a value, found '#'"),
        ("n eq é", "at 5: expected a value, found 'é'"),
        (
            "and eq 1",
            "at 0: expected a condition (a field name, 'not', '(' or a function), found 'and'",
        ),
        (
            "",
            "at 0: expected a condition (a field name, 'not', '(' or a function), found the end",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(error(text).to_string(), message, "`{text}` should fail so");
    }
}

#[test]
fn error_positions_are_byte_offsets_past_multibyte_text() {
    let err = error("name eq 'héllo' or");
    assert_eq!(
        err.at, 19,
        "the end is at byte 19 because `é` takes two bytes"
    );
}

#[test]
fn filters_past_the_size_bounds_are_refused_with_the_bound() {
    use super::super::{MAX_LITERAL_LEN, MAX_NODES, MAX_TEXT_LEN};
    let chain = |n: usize| vec!["a eq 1"; n].join(" or ");
    // An `or` of n conditions is n + 1 nodes.
    assert!(
        parse_filter(&chain(MAX_NODES - 1)).is_ok(),
        "an `or` of {} conditions is within the bound",
        MAX_NODES - 1
    );
    assert_eq!(
        error(&chain(MAX_NODES)).problem,
        Problem::TooManyNodes { max: MAX_NODES },
        "one more condition is refused"
    );
    let nots = format!("{}a eq 1", "not (not a eq 1) and ".repeat(200));
    assert!(
        matches!(error(&nots).problem, Problem::TooManyNodes { .. }),
        "`not` and `and` count as nodes too"
    );
    let long = format!("a eq 1{}", " ".repeat(MAX_TEXT_LEN));
    assert_eq!(
        (error(&long).at, error(&long).problem),
        (0, Problem::TooLong { max: MAX_TEXT_LEN }),
        "a text past the length bound is refused before it is read"
    );
    let literal = format!(
        "a eq 'x' or contains(a,'{}')",
        "y".repeat(MAX_LITERAL_LEN + 1)
    );
    assert_eq!(
        (error(&literal).at, error(&literal).problem),
        (
            23,
            Problem::LiteralTooLong {
                max: MAX_LITERAL_LEN
            }
        ),
        "a quoted text past its bound is refused where it starts"
    );
    assert!(
        parse_filter(&format!("contains(a,'{}')", "y".repeat(MAX_LITERAL_LEN))).is_ok(),
        "a quoted text of exactly the bound is taken"
    );
}

#[test]
fn the_nul_character_is_refused_in_any_quoted_text_where_it_stands() {
    for (text, at) in [
        ("contains(a,'x\0')", 13),
        ("a eq '\0'", 6),
        ("a eq 'ok' or b ne 'n\0'", 20),
    ] {
        assert_eq!(
            (error(text).at, error(text).problem),
            (at, Problem::NulInText),
            "`{}` is refused at its NUL",
            text.escape_debug()
        );
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_not_overflowed() {
    let deep = format!("{}a eq 1{}", "(".repeat(200), ")".repeat(200));
    assert_eq!(
        error(&deep).problem,
        Problem::TooDeep { max: 64 },
        "200 parentheses should be refused"
    );
    let nots = format!("{}a eq 1", "not ".repeat(65));
    assert!(
        matches!(error(&nots).problem, Problem::TooDeep { .. }),
        "65 nots should be refused"
    );
    let ok = format!("{}a eq 1{}", "(".repeat(64), ")".repeat(64));
    assert!(
        parse_filter(&ok).is_ok(),
        "64 levels of parentheses are allowed"
    );
}

#[test]
fn long_and_or_chains_stay_flat() {
    // As long as the size bound allows (an `and` of n conditions is n + 1 nodes).
    let n = super::super::MAX_NODES - 1;
    let chain = vec!["a eq 1"; n].join(" and ");
    match parse(&chain) {
        Filter::And(terms) => assert_eq!(terms.len(), n, "one node with every term"),
        other => panic!("a chain of ands should be one And, not {}", shape(&other)),
    }
}

#[test]
fn errors_in_the_filter_are_marked_as_such() {
    assert_eq!(error("x").part, Part::Filter, "the part should be $filter");
}
