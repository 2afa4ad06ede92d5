use super::super::tests::entity;
use super::*;

fn kind(name: &str) -> AttributeKind {
    entity()
        .attribute(name)
        .expect("the fixture has the attribute")
        .kind
        .clone()
}

#[test]
fn each_kind_is_stored_as_text_or_a_64_bit_integer() {
    for (field, sqlite, postgres) in [
        ("name", "TEXT", "TEXT COLLATE \"C\""),
        ("description", "TEXT", "TEXT COLLATE \"C\""),
        ("createdon", "TEXT", "TEXT COLLATE \"C\""),
        ("birthday", "TEXT", "TEXT COLLATE \"C\""),
        ("parentaccountid", "TEXT", "TEXT COLLATE \"C\""),
        ("ownerid", "TEXT", "TEXT COLLATE \"C\""),
        ("employees", "INTEGER", "BIGINT"),
        ("bignumber", "INTEGER", "BIGINT"),
        ("revenue", "INTEGER", "BIGINT"),
        ("rate", "INTEGER", "BIGINT"),
        ("active", "INTEGER", "BIGINT"),
        ("industry", "INTEGER", "BIGINT"),
        ("statecode", "INTEGER", "BIGINT"),
        ("statuscode", "INTEGER", "BIGINT"),
    ] {
        let kind = kind(field);
        assert_eq!(
            column_type(&kind, Dialect::Sqlite),
            sqlite,
            "SQLite type of {field}"
        );
        assert_eq!(
            column_type(&kind, Dialect::Postgres),
            postgres,
            "PostgreSQL type of {field}"
        );
    }
}

#[test]
fn column_values_read_back_as_the_canonical_text() {
    let cases = [
        ("name", Some("Acme"), SqlParam::Text("Acme".to_owned())),
        ("employees", Some("-7"), SqlParam::Int(-7)),
        ("revenue", Some("1250000.50"), SqlParam::Int(125_000_050)),
        ("rate", Some("-0.0001"), SqlParam::Int(-1)),
        ("active", Some("true"), SqlParam::Int(1)),
        ("active", Some("false"), SqlParam::Int(0)),
        (
            "createdon",
            Some("2026-11-28T10:00:00Z"),
            SqlParam::Text("2026-11-28T10:00:00Z".to_owned()),
        ),
        (
            "birthday",
            Some("2026-11-28"),
            SqlParam::Text("2026-11-28".to_owned()),
        ),
        ("industry", Some("3"), SqlParam::Int(3)),
        (
            "parentaccountid",
            Some("account:a1"),
            SqlParam::Text("account:a1".to_owned()),
        ),
        ("ownerid", None, SqlParam::Null),
    ];
    for (field, text, value) in cases {
        let kind = kind(field);
        assert_eq!(
            column_value(&kind, text).expect("a canonical value fits its column"),
            value,
            "column value of {field} = {text:?}"
        );
        assert_eq!(
            column_text(&kind, &value).expect("a column value reads back"),
            text.map(str::to_owned),
            "{field} reads back as its canonical text"
        );
    }
}

#[test]
fn lenient_text_is_stored_canonically() {
    assert_eq!(
        column_value(&kind("createdon"), Some("2026-11-28T12:00:00+02:00")),
        Ok(SqlParam::Text("2026-11-28T10:00:00Z".to_owned())),
        "a date-time with an offset is stored in UTC"
    );
    assert_eq!(
        column_value(&kind("parentaccountid"), Some("a1")),
        Ok(SqlParam::Text("account:a1".to_owned())),
        "a bare id of a single-target lookup is stored with its entity"
    );
    assert_eq!(
        column_value(&kind("revenue"), Some("3.5")),
        Ok(SqlParam::Int(350)),
        "money is scaled by its precision"
    );
}

#[test]
fn decimals_that_do_not_fit_their_column_are_refused() {
    assert_eq!(
        column_value(&kind("revenue"), Some("1.005")),
        Err(ColumnError::TooPrecise {
            text: "1.005".to_owned(),
            precision: 2
        }),
        "more decimals than the precision do not fit"
    );
    assert_eq!(
        column_value(&kind("revenue"), Some("100000000000000000000")),
        Err(ColumnError::OutOfRange {
            text: "100000000000000000000".to_owned(),
            precision: 2
        }),
        "a value whose scaled form passes 64 bits does not fit"
    );
    assert!(
        matches!(
            column_value(&kind("employees"), Some("x")),
            Err(ColumnError::NotAValue(_))
        ),
        "text that is not a number is not a value"
    );
    assert_eq!(
        column_text(&kind("name"), &SqlParam::Int(1)),
        Err(ColumnError::WrongType { found: "integer" }),
        "a text column never holds an integer"
    );
}
