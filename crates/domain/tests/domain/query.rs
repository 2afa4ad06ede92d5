//! The query language's central promise (B7): compiled SQL run on a real SQLite selects
//! exactly the records, in exactly the order, that in-memory evaluation does. Random
//! filters, sorts and `$top` over an entity with every kind of attribute, and random
//! records that include nulls and values on the edges of date ranges, text patterns with
//! wildcards, case, control and non-ASCII characters, and 64-bit extremes; a filter
//! looking for NUL must be refused (SQL cannot carry it as memory does).

use outpost_domain::Fields;
use outpost_domain::metadata::{
    AttributeDef, AttributeKind, ChoiceOption, EntityDef, Ownership, Requirement,
};
use outpost_domain::query::{
    CheckedQuery, Dialect, EvalContext, Problem, QueryText, SqlParam, column_type, column_value,
    parse_query,
};
use outpost_domain::value::{format_date, format_datetime};
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The moment every case runs at: 10:30:15.25 in UTC+1, so that local days and whole
/// seconds both matter.
const NOW: OffsetDateTime = datetime!(2026-11-28 10:30:15.25 +01:00);

fn entity() -> EntityDef {
    let attr = |name: &str, kind: AttributeKind| AttributeDef {
        name: name.to_owned(),
        label: name.to_owned(),
        kind,
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    };
    let lookup = |target: &str| AttributeKind::Lookup {
        targets: vec![target.to_owned()],
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
                    min: -1_000,
                    max: 1_000,
                },
            ),
            attr("bignumber", AttributeKind::BigInt),
            attr(
                "revenue",
                AttributeKind::Money {
                    precision: 2,
                    min: Decimal::MIN,
                    max: Decimal::MAX,
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
                    options: (1..=3)
                        .map(|value| ChoiceOption {
                            value,
                            label: format!("option {value}"),
                        })
                        .collect(),
                },
            ),
            attr("parentaccountid", lookup("account")),
            attr("ownerid", AttributeKind::Owner),
            attr("owningbusinessunit", lookup("businessunit")),
        ],
        quick_find: vec![],
        forms: vec![],
        views: vec![],
    }
}

fn ctx(with_teams: bool) -> EvalContext {
    EvalContext {
        user_id: "u1".to_owned(),
        team_ids: if with_teams {
            vec!["t1".to_owned(), "t2".to_owned()]
        } else {
            vec![]
        },
        hierarchy_user_ids: vec!["u2".to_owned(), "u3".to_owned()],
        business_unit_id: "bu1".to_owned(),
        now: NOW,
    }
}

/// Texts a record may hold (valid values: no NUL, which validation refuses), with the
/// characters SQL treats specially: wildcards, escapes, quotes, control characters,
/// non-ASCII letters whose case Unicode folds (and ASCII folding must not), characters
/// outside the BMP and combining marks.
const TEXTS: &[&str] = &[
    "Acme",
    "acme",
    "ACME corp",
    "a%b",
    "a_b",
    "a\\b",
    "O'Brien",
    "É",
    "é",
    "",
    "zeta",
    "Ab",
    "b",
    "a\u{1}b",
    "tab\there",
    "line\nbreak",
    "İstanbul",
    "istanbul",
    "Straße",
    "STRASSE",
    "ǅ",
    "😀 a",
    "e\u{301}",
    "\u{7f}",
];
/// What `contains` and its siblings look for: the texts' pieces, and the NUL character,
/// which SQL cannot carry as the query does (SQLite's `LIKE` stops at it, PostgreSQL's text
/// cannot hold it) — a filter with it must be refused, never answered differently.
const NEEDLES: &[&str] = &[
    "a", "A", "%", "_", "\\", "'", "", "corp", "É", "é", "b", "ac", "e", "a%", "_b", "\0", "a\0",
    "\u{1}", "\t", "\n", "i", "İ", "ß", "ss", "SS", "ǆ", "😀", "\u{301}", "\u{7f}",
];
const BIG: &[&str] = &[
    "-9223372036854775808",
    "-1",
    "0",
    "1",
    "9007199254740993",
    "9223372036854775807",
];
const MONEY: &[&str] = &[
    "-1.50",
    "0.00",
    "0.01",
    "9.50",
    "9.51",
    "10.00",
    "1250000.50",
    "92233720368547758.07",
    "-92233720368547758.08",
];
const RATES: &[&str] = &["-0.0001", "0.0000", "1.5000", "1000.0000"];
const OWNERS: &[&str] = &[
    "systemuser:u1",
    "systemuser:u2",
    "systemuser:u4",
    "team:t1",
    "team:t3",
];
const UNITS: &[&str] = &["businessunit:bu1", "businessunit:bu2"];
const PARENTS: &[&str] = &["account:a1", "account:a2"];

/// Date-times around now: each local midnight of the three weeks around today, a second
/// either side of it, and now's second and its neighbours.
fn datetimes() -> Vec<String> {
    let midnight = NOW.replace_time(time::Time::MIDNIGHT);
    let second = NOW
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid");
    let mut all = Vec::new();
    for day in -10..=10 {
        for s in -1..=1 {
            all.push(format_datetime(
                midnight + Duration::days(day) + Duration::seconds(s),
            ));
        }
    }
    for s in -1..=1 {
        all.push(format_datetime(second + Duration::seconds(s)));
    }
    all
}

/// Dates of the three weeks around today.
fn dates() -> Vec<String> {
    (-11..=11)
        .map(|day| format_date(NOW.date() + Duration::days(day)))
        .collect()
}

/// A strategy for one field's canonical text, null about a fifth of the time.
fn field_value(name: &str) -> BoxedStrategy<Option<String>> {
    let texts = |values: &[&str]| {
        select(values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>()).boxed()
    };
    let value = match name {
        "name" | "description" => texts(TEXTS),
        "employees" => (-3_i64..=3).prop_map(|n| n.to_string()).boxed(),
        "bignumber" => texts(BIG),
        "revenue" => texts(MONEY),
        "rate" => texts(RATES),
        "active" => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        "createdon" => select(datetimes()).boxed(),
        "birthday" => select(dates()).boxed(),
        "industry" => (1_i32..=3).prop_map(|n| n.to_string()).boxed(),
        "parentaccountid" => texts(PARENTS),
        "ownerid" => texts(OWNERS),
        "owningbusinessunit" => texts(UNITS),
        other => panic!("no values for {other}"),
    };
    prop_oneof![1 => Just(None), 4 => value.prop_map(Some)].boxed()
}

fn record() -> impl Strategy<Value = Fields> {
    let fields: Vec<BoxedStrategy<(String, Option<String>)>> = entity()
        .attributes
        .iter()
        .map(|a| {
            let name = a.name.clone();
            field_value(&a.name)
                .prop_map(move |v| (name.clone(), v))
                .boxed()
        })
        .collect();
    fields.prop_map(|pairs| pairs.into_iter().collect())
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A strategy for a literal of the field's kind, written as in a filter.
fn literal(name: &str) -> BoxedStrategy<String> {
    let quoted =
        |values: &[&str]| select(values.iter().map(|v| quote(v)).collect::<Vec<_>>()).boxed();
    let bare = |values: Vec<String>| select(values).boxed();
    match name {
        "name" | "description" => quoted(TEXTS),
        "id" => quoted(&["r0", "r1", "r3", "r10", "R1", ""]),
        "employees" => (-4_i64..=4).prop_map(|n| n.to_string()).boxed(),
        "bignumber" => bare(BIG.iter().map(|s| (*s).to_owned()).collect()),
        "revenue" => bare(
            MONEY
                .iter()
                .map(|s| (*s).to_owned())
                .chain(["9.5".to_owned(), "10".to_owned(), "-1.5".to_owned()])
                .collect(),
        ),
        "rate" => bare(
            RATES
                .iter()
                .map(|s| (*s).to_owned())
                .chain(["1.5".to_owned(), "0".to_owned()])
                .collect(),
        ),
        "active" => bare(vec!["true".to_owned(), "false".to_owned()]),
        "createdon" => bare(datetimes()),
        "birthday" => bare(dates()),
        "industry" => (1_i32..=3).prop_map(|n| n.to_string()).boxed(),
        "parentaccountid" => quoted(&["account:a1", "a2", "account:a3"]),
        "ownerid" => quoted(OWNERS),
        "owningbusinessunit" => quoted(UNITS),
        other => panic!("no literals for {other}"),
    }
}

const FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "employees",
    "bignumber",
    "revenue",
    "rate",
    "active",
    "createdon",
    "birthday",
    "industry",
    "parentaccountid",
    "ownerid",
    "owningbusinessunit",
];

/// A strategy for one condition.
fn condition() -> impl Strategy<Value = String> {
    let comparison = select(FIELDS).prop_flat_map(|field| {
        let ops: &[&str] = match field {
            "active" | "parentaccountid" | "ownerid" | "owningbusinessunit" => &["eq", "ne"],
            _ => &["eq", "ne", "gt", "ge", "lt", "le"],
        };
        (select(ops), literal(field)).prop_map(move |(op, value)| format!("{field} {op} {value}"))
    });
    let null_check = (select(FIELDS), select(&["eq", "ne"][..]))
        .prop_map(|(field, op)| format!("{field} {op} null"));
    let function = (
        select(&["contains", "startswith", "endswith"][..]),
        select(&["name", "description", "id"][..]),
        select(NEEDLES),
    )
        .prop_map(|(f, field, needle)| format!("{f}({field},{})", quote(needle)));
    let shortcut = select(
        &[
            "ownerid eq-userid",
            "ownerid eq-userteams",
            "ownerid eq-useroruserhierarchy",
            "owningbusinessunit eq-businessid",
        ][..],
    )
    .prop_map(str::to_owned);
    let date = (
        select(&["createdon", "birthday"][..]),
        select(&["last-x-days", "next-x-days", "older-x-days", "today"][..]),
        1_u32..=10,
    )
        .prop_map(|(field, f, n)| {
            if f == "today" {
                format!("{field} today")
            } else {
                format!("{field} {f} {n}")
            }
        });
    prop_oneof![
        4 => comparison,
        1 => null_check,
        2 => function,
        1 => shortcut,
        2 => date,
    ]
}

/// A strategy for a whole filter: conditions under `and`, `or` and `not`, sometimes with
/// parentheses and sometimes leaning on precedence.
fn filter() -> impl Strategy<Value = String> {
    condition().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} or {b} and {c}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

/// A strategy for `$orderby`: up to three distinct keys.
fn order_by() -> impl Strategy<Value = Option<String>> {
    proptest::sample::subsequence(FIELDS, 0..=3)
        .prop_shuffle()
        .prop_flat_map(|keys| {
            let n = keys.len();
            (
                Just(keys),
                proptest::collection::vec(select(&["", " asc", " desc"][..]), n),
            )
        })
        .prop_map(|(keys, dirs)| {
            (!keys.is_empty()).then(|| {
                keys.iter()
                    .zip(dirs)
                    .map(|(k, d)| format!("{k}{d}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        })
}

fn quoted_column(field: &str) -> String {
    format!("\"{field}\"")
}

/// The ids the query selects on a fresh in-memory SQLite holding `records`, in order.
fn ids_from_sqlite(
    query: &CheckedQuery,
    records: &[(String, Fields)],
    ctx: &EvalContext,
) -> Vec<String> {
    let entity = entity();
    let db = rusqlite::Connection::open_in_memory().expect("an in-memory database opens");
    let columns: Vec<String> = std::iter::once("\"id\" TEXT PRIMARY KEY".to_owned())
        .chain(
            entity
                .attributes
                .iter()
                .map(|a| format!("\"{}\" {}", a.name, column_type(&a.kind, Dialect::Sqlite))),
        )
        .collect();
    db.execute(&format!("CREATE TABLE t ({})", columns.join(", ")), [])
        .expect("the table is created");
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let insert = format!("INSERT INTO t VALUES ({})", placeholders.join(", "));
    for (id, fields) in records {
        let values: Vec<rusqlite::types::Value> = std::iter::once(SqlParam::Text(id.clone()))
            .chain(entity.attributes.iter().map(|a| {
                column_value(&a.kind, fields.get(&a.name).and_then(|v| v.as_deref()))
                    .expect("generated values fit their columns")
            }))
            .map(to_sqlite)
            .collect();
        db.execute(&insert, rusqlite::params_from_iter(values))
            .expect("the record is inserted");
    }
    let fragment = query.to_sql(Dialect::Sqlite, "t", &quoted_column, ctx, 1);
    let mut statement = db
        .prepare(&fragment.sql)
        .unwrap_or_else(|e| panic!("SQLite should accept `{}`: {e}", fragment.sql));
    let params = rusqlite::params_from_iter(fragment.params.into_iter().map(to_sqlite));
    statement
        .query_map(params, |row| row.get::<_, String>(0))
        .expect("the query runs")
        .collect::<Result<_, _>>()
        .expect("every id reads as text")
}

fn to_sqlite(param: SqlParam) -> rusqlite::types::Value {
    match param {
        SqlParam::Null => rusqlite::types::Value::Null,
        SqlParam::Int(n) => rusqlite::types::Value::Integer(n),
        SqlParam::Text(s) => rusqlite::types::Value::Text(s),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sqlite_and_memory_select_the_same_records_in_the_same_order(
        records in proptest::collection::vec(record(), 0..16),
        filter in filter(),
        order_by in order_by(),
        top in proptest::option::of(1_u32..8),
        with_teams in any::<bool>(),
    ) {
        let records: Vec<(String, Fields)> = records
            .into_iter()
            .enumerate()
            .map(|(i, fields)| (format!("r{i}"), fields))
            .collect();
        let top = top.map(|n| n.to_string());
        let parsed = parse_query(QueryText {
            select: Some("id"),
            filter: Some(&filter),
            order_by: order_by.as_deref(),
            top: top.as_deref(),
        });
        if filter.contains('\0') {
            // No answer rather than two: SQL cannot carry the NUL character.
            prop_assert_eq!(
                parsed.map(|_| ()).map_err(|e| e.problem),
                Err(Problem::NulInText),
                "a filter looking for NUL is refused: `{}`",
                filter
            );
            return Ok(());
        }
        let query = parsed
        .unwrap_or_else(|e| panic!("the generated filter `{filter}` should parse: {e}"))
        .check(&entity())
        .unwrap_or_else(|e| panic!("the generated filter `{filter}` should check: {e}"));
        let ctx = ctx(with_teams);
        let in_memory: Vec<String> = query
            .run(records.iter(), |(id, fields)| (id.as_str(), fields), &ctx)
            .into_iter()
            .map(|(id, _)| id.clone())
            .collect();
        let in_sql = ids_from_sqlite(&query, &records, &ctx);
        prop_assert_eq!(
            in_sql,
            in_memory,
            "SQLite and memory should agree on `{}` ordered by {:?}",
            filter,
            order_by
        );
    }
}
