use super::super::tests::{checked, checked_query, ctx};
use super::super::{EvalContext, QueryText};
use super::*;

fn quoted(field: &str) -> String {
    format!("\"{field}\"")
}

fn sql(filter: &str, dialect: Dialect) -> SqlFragment {
    checked(filter).to_sql(dialect, &quoted, &ctx(), 1)
}

fn text(s: &str) -> SqlParam {
    SqlParam::Text(s.to_owned())
}

/// Asserts the SQL text of `filter` for both dialects and that their parameters agree.
fn assert_sql(filter: &str, sqlite: &str, postgres: &str, params: &[SqlParam]) {
    let lite = sql(filter, Dialect::Sqlite);
    let pg = sql(filter, Dialect::Postgres);
    assert_eq!(lite.sql, sqlite, "SQLite text of `{filter}`");
    assert_eq!(pg.sql, postgres, "PostgreSQL text of `{filter}`");
    assert_eq!(lite.params, params, "SQLite parameters of `{filter}`");
    assert_eq!(pg.params, params, "PostgreSQL parameters of `{filter}`");
}

#[test]
fn comparisons_bind_their_value_and_order_text_by_bytes_on_postgres() {
    assert_sql(
        "statecode eq 0 and ownerid eq-userid",
        "(\"statecode\" = ?1 AND \"ownerid\" = ?2)",
        "(\"statecode\" = $1 AND \"ownerid\" = $2)",
        &[SqlParam::Int(0), text("systemuser:u1")],
    );
    assert_sql(
        "name ge 'a' or revenue lt 10.5 or name ne 'b'",
        "(\"name\" >= ?1 OR \"revenue\" < ?2 OR \"name\" <> ?3)",
        "(\"name\" COLLATE \"C\" >= $1 OR \"revenue\" < $2 OR \"name\" <> $3)",
        &[text("a"), SqlParam::Int(1050), text("b")],
    );
    assert_sql(
        "createdon gt 2026-11-28T11:00:00+01:00",
        "\"createdon\" > ?1",
        "\"createdon\" COLLATE \"C\" > $1",
        &[text("2026-11-28T10:00:00Z")],
    );
}

#[test]
fn null_checks_need_no_parameter() {
    assert_sql(
        "name eq null or active ne null",
        "(\"name\" IS NULL OR \"active\" IS NOT NULL)",
        "(\"name\" IS NULL OR \"active\" IS NOT NULL)",
        &[],
    );
}

#[test]
fn not_wraps_its_operand_in_parentheses() {
    assert_sql(
        "not name eq 'a' and not (employees gt 1 or employees lt -1)",
        "(NOT (\"name\" = ?1) AND NOT (\"employees\" > ?2 OR \"employees\" < ?3))",
        "(NOT (\"name\" = $1) AND NOT (\"employees\" > $2 OR \"employees\" < $3))",
        &[text("a"), SqlParam::Int(1), SqlParam::Int(-1)],
    );
}

#[test]
fn text_functions_escape_wildcards_and_fold_ascii_case_on_both_engines() {
    let translate = "translate(\"name\", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
                     'abcdefghijklmnopqrstuvwxyz')";
    assert_sql(
        "contains(name,'50%_Off\\')",
        "\"name\" LIKE ?1 ESCAPE '\\'",
        &format!("{translate} LIKE $1 ESCAPE '\\'"),
        &[text("%50\\%\\_off\\\\%")],
    );
    assert_sql(
        "startswith(name,'Ab') and endswith(name,'Z')",
        "(\"name\" LIKE ?1 ESCAPE '\\' AND \"name\" LIKE ?2 ESCAPE '\\')",
        &format!("({translate} LIKE $1 ESCAPE '\\' AND {translate} LIKE $2 ESCAPE '\\')"),
        &[text("ab%"), text("%z")],
    );
}

#[test]
fn shortcuts_become_one_parameter_per_reference() {
    assert_sql(
        "ownerid eq-useroruserhierarchy",
        "\"ownerid\" IN (?1, ?2, ?3)",
        "\"ownerid\" IN ($1, $2, $3)",
        &[
            text("systemuser:u1"),
            text("systemuser:u2"),
            text("systemuser:u3"),
        ],
    );
    assert_sql(
        "owningbusinessunit eq-businessid",
        "\"owningbusinessunit\" = ?1",
        "\"owningbusinessunit\" = $1",
        &[text("businessunit:bu1")],
    );
    let alone = EvalContext {
        team_ids: vec![],
        ..ctx()
    };
    let none = checked("ownerid eq-userteams").to_sql(Dialect::Postgres, &quoted, &alone, 1);
    assert_eq!(
        none,
        SqlFragment {
            sql: "(CASE WHEN \"ownerid\" IS NULL THEN NULL ELSE FALSE END)".to_owned(),
            params: vec![],
        },
        "no teams is false for an owner and unknown for null, without `IN ()`"
    );
}

#[test]
fn date_functions_bind_their_bounds() {
    assert_sql(
        "createdon last-x-days 7",
        "(\"createdon\" >= ?1 AND \"createdon\" <= ?2)",
        "(\"createdon\" COLLATE \"C\" >= $1 AND \"createdon\" COLLATE \"C\" <= $2)",
        &[text("2026-11-20T23:00:00Z"), text("2026-11-28T09:30:15Z")],
    );
    assert_sql(
        "birthday older-x-days 7",
        "\"birthday\" <= ?1",
        "\"birthday\" COLLATE \"C\" <= $1",
        &[text("2026-11-20")],
    );
}

#[test]
fn placeholders_are_numbered_from_the_callers_start() {
    let fragment =
        checked("name eq 'a' or employees eq 2").to_sql(Dialect::Sqlite, &quoted, &ctx(), 5);
    assert_eq!(
        fragment.sql, "(\"name\" = ?5 OR \"employees\" = ?6)",
        "the first placeholder should be ?5"
    );
}

#[test]
fn values_are_never_spliced_into_the_sql_text() {
    let fragment = sql("name eq 'x'' OR 1=1 --'", Dialect::Sqlite);
    assert_eq!(fragment.sql, "\"name\" = ?1", "the text stays a parameter");
    assert_eq!(
        fragment.params,
        [text("x' OR 1=1 --")],
        "the parameter holds the text"
    );
}

#[test]
fn order_by_names_null_placement_on_postgres_and_breaks_ties_by_id() {
    let query = checked_query(QueryText {
        order_by: Some("revenue desc, name"),
        ..QueryText::default()
    });
    assert_eq!(
        query.order_by_sql(Dialect::Sqlite, &quoted),
        "\"revenue\" DESC, \"name\" ASC, \"id\" ASC",
        "SQLite already sorts null first ascending"
    );
    assert_eq!(
        query.order_by_sql(Dialect::Postgres, &quoted),
        "\"revenue\" DESC NULLS LAST, \"name\" COLLATE \"C\" ASC NULLS FIRST, \
         \"id\" COLLATE \"C\" ASC NULLS FIRST",
        "PostgreSQL needs explicit null placement and byte order"
    );
    let by_id = checked_query(QueryText {
        order_by: Some("id desc"),
        ..QueryText::default()
    });
    assert_eq!(
        by_id.order_by_sql(Dialect::Sqlite, &quoted),
        "\"id\" DESC",
        "an explicit id key is not repeated"
    );
}

#[test]
fn a_whole_query_selects_filters_sorts_and_limits_with_parameters() {
    let query = checked_query(QueryText {
        select: Some("name,revenue"),
        filter: Some("statecode eq 0 and ownerid eq-userid"),
        order_by: Some("name"),
        top: Some("10"),
    });
    let lite = query.to_sql(Dialect::Sqlite, "\"account\"", &quoted, &ctx(), 1);
    assert_eq!(
        lite.sql,
        "SELECT \"name\", \"revenue\" FROM \"account\" WHERE (\"statecode\" = ?1 AND \
         \"ownerid\" = ?2) ORDER BY \"name\" ASC, \"id\" ASC LIMIT ?3",
        "SQLite query text"
    );
    assert_eq!(
        lite.params,
        [SqlParam::Int(0), text("systemuser:u1"), SqlParam::Int(10)],
        "the limit is the last parameter"
    );
    let pg = query.to_sql(Dialect::Postgres, "\"account\"", &quoted, &ctx(), 1);
    assert_eq!(
        pg.sql,
        "SELECT \"name\", \"revenue\" FROM \"account\" WHERE (\"statecode\" = $1 AND \
         \"ownerid\" = $2) ORDER BY \"name\" COLLATE \"C\" ASC NULLS FIRST, \
         \"id\" COLLATE \"C\" ASC NULLS FIRST LIMIT $3",
        "PostgreSQL query text"
    );
    let everything = checked_query(QueryText::default());
    assert_eq!(
        everything.to_sql(Dialect::Sqlite, "t", &quoted, &ctx(), 1),
        SqlFragment {
            sql: "SELECT * FROM t ORDER BY \"id\" ASC".to_owned(),
            params: vec![],
        },
        "no options select everything in id order"
    );
}
