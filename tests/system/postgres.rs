//! Scenario: the SQL that the query language and the security scopes compile for
//! PostgreSQL runs on a real PostgreSQL (started by the test) over the demo org's records.
//! Must hold: every demo view, and a set of filters covering every operator, selects the
//! same records in the same order as the in-memory evaluation; every user's read scope
//! selects exactly the records `Principal::can` allows.

use outpost_domain::Fields;
use outpost_domain::demo::{self, DemoData, DemoOrg, demo_org};
use outpost_domain::metadata::{EntityDef, Metadata};
use outpost_domain::query::{
    CheckedQuery, Dialect, EvalContext, Query, QueryText, SqlParam, column_type, column_value,
    parse_query,
};
use outpost_domain::security::{Privilege, RecordFacts};
use outpost_testkit::PgServer;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

const ENTITIES: &[&str] = &[
    "account",
    "contact",
    "lead",
    "opportunity",
    "incident",
    "task",
    "phonecall",
    "appointment",
];

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// A bound value of the type PostgreSQL inferred for its placeholder.
fn bind(param: &SqlParam, ty: &Type) -> anyhow::Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (param, ty) {
        (SqlParam::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (SqlParam::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (SqlParam::Null, _) => Box::new(None::<String>),
        (SqlParam::Int(n), t) if *t == Type::INT4 => Box::new(i32::try_from(*n)?),
        (SqlParam::Int(n), _) => Box::new(*n),
        (SqlParam::Text(s), _) => Box::new(s.clone()),
    })
}

/// `params` bound as the types PostgreSQL inferred for the statement's placeholders.
fn bound(
    statement: &Statement,
    params: &[SqlParam],
) -> anyhow::Result<Vec<Box<dyn ToSql + Sync + Send>>> {
    params
        .iter()
        .zip(statement.params())
        .map(|(p, t)| bind(p, t))
        .collect()
}

fn refs(values: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

async fn query_ids(client: &Client, sql: &str, params: &[SqlParam]) -> anyhow::Result<Vec<String>> {
    let db = |e: tokio_postgres::Error| {
        let detail = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned());
        anyhow::anyhow!("PostgreSQL refused `{sql}`: {detail}")
    };
    let statement = client.prepare(sql).await.map_err(db)?;
    let values = bound(&statement, params)?;
    Ok(client
        .query(&statement, &refs(&values))
        .await
        .map_err(db)?
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect())
}

/// Creates the typed table of `def` and loads `records` into it.
async fn load(
    client: &Client,
    def: &EntityDef,
    records: &[(String, Fields)],
) -> anyhow::Result<()> {
    let columns: Vec<String> = def
        .attributes
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                quoted(&a.name),
                column_type(&a.kind, Dialect::Postgres)
            )
        })
        .collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE {} (id TEXT COLLATE \"C\" PRIMARY KEY, {})",
            quoted(&def.name),
            columns.join(", ")
        ))
        .await?;
    let names: Vec<String> = def.attributes.iter().map(|a| quoted(&a.name)).collect();
    let placeholders: Vec<String> = (2..=def.attributes.len() + 1)
        .map(|i| format!("${i}"))
        .collect();
    let statement = client
        .prepare(&format!(
            "INSERT INTO {} (id, {}) VALUES ($1, {})",
            quoted(&def.name),
            names.join(", "),
            placeholders.join(", ")
        ))
        .await?;
    for (id, fields) in records {
        let mut values: Vec<SqlParam> = vec![SqlParam::Text(id.clone())];
        for attr in &def.attributes {
            values.push(column_value(
                &attr.kind,
                fields.get(&attr.name).and_then(|v| v.as_deref()),
            )?);
        }
        let values = bound(&statement, &values)?;
        client.execute(&statement, &refs(&values)).await?;
    }
    Ok(())
}

struct Fixture {
    _pg: PgServer,
    client: Client,
    metadata: Metadata,
    org: DemoOrg,
    records: Vec<(String, String, Fields)>,
    as_of: time::OffsetDateTime,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let pg = PgServer::start()?;
    let (client, connection) = tokio_postgres::connect(&pg.url(), NoTls).await?;
    tokio::spawn(connection);
    let metadata = demo::metadata();
    let org = demo_org(9);
    let as_of = time::macros::datetime!(2026-11-28 12:00 UTC);
    let data = DemoData::new(&metadata, &org, 9, 3_000, as_of);
    let records: Vec<(String, String, Fields)> = data
        .records()
        .filter(|r| ENTITIES.contains(&r.entity.as_str()))
        .map(|r| (r.entity, r.id, r.fields))
        .collect();
    for entity in ENTITIES {
        let def = metadata.entity(entity)?;
        let rows: Vec<(String, Fields)> = records
            .iter()
            .filter(|(e, _, _)| e == entity)
            .map(|(_, id, f)| (id.clone(), f.clone()))
            .collect();
        load(&client, def, &rows).await?;
    }
    Ok(Fixture {
        _pg: pg,
        client,
        metadata,
        org,
        records,
        as_of,
    })
}

fn context(
    org: &DemoOrg,
    username: &str,
    now: time::OffsetDateTime,
) -> anyhow::Result<EvalContext> {
    let user = org
        .user(username)
        .ok_or_else(|| anyhow::anyhow!("no user {username}"))?;
    let mut hierarchy = vec![user.id.clone()];
    let mut i = 0;
    while i < hierarchy.len() {
        let boss = hierarchy[i].clone();
        hierarchy.extend(
            org.users
                .iter()
                .filter(|u| u.manager.as_deref() == Some(boss.as_str()))
                .map(|u| u.id.clone()),
        );
        i += 1;
    }
    Ok(EvalContext {
        user_id: user.id.clone(),
        team_ids: org
            .teams
            .iter()
            .filter(|t| t.members.contains(&user.id))
            .map(|t| t.id.clone())
            .collect(),
        hierarchy_user_ids: hierarchy,
        business_unit_id: user.business_unit.clone(),
        now,
    })
}

async fn compare(
    fx: &Fixture,
    entity: &str,
    query: &CheckedQuery,
    ctx: &EvalContext,
    label: &str,
) -> anyhow::Result<usize> {
    let in_memory: Vec<String> = query
        .run(
            fx.records.iter().filter(|(e, _, _)| e == entity),
            |(_, id, fields)| (id.as_str(), fields),
            ctx,
        )
        .into_iter()
        .map(|(_, id, _)| id.clone())
        .collect();
    let column = |name: &str| quoted(name);
    let mut sql = format!("SELECT id FROM {}", quoted(entity));
    let mut params = Vec::new();
    if let Some(filter) = query.filter() {
        let fragment = filter.to_sql(Dialect::Postgres, &column, ctx, 1);
        sql.push_str(&format!(" WHERE {}", fragment.sql));
        params = fragment.params;
    }
    sql.push_str(&format!(
        " ORDER BY {}",
        query.order_by_sql(Dialect::Postgres, &column)
    ));
    if let Some(top) = query.top() {
        sql.push_str(&format!(" LIMIT {top}"));
    }
    let on_postgres = query_ids(&fx.client, &sql, &params).await?;
    assert_eq!(
        on_postgres, in_memory,
        "{entity} {label}: PostgreSQL and memory must select the same records in the same order\n{sql}"
    );
    Ok(in_memory.len())
}

#[tokio::test]
async fn view_filters_and_every_operator_select_the_same_records_on_postgres_as_in_memory()
-> anyhow::Result<()> {
    let fx = fixture().await?;
    let ctx = context(&fx.org, demo::FIELD_USERNAME, fx.as_of)?;
    let mut nonempty = 0;
    for entity in ENTITIES {
        let def = fx.metadata.entity(entity)?;
        for view in &def.views {
            let query = Query::for_view(view)?.check(def)?;
            nonempty += usize::from(compare(&fx, entity, &query, &ctx, &view.name).await? > 0);
        }
    }
    let account = fx.metadata.entity("account")?;
    let filters = [
        (
            "name ge 'M' and not (address1_city eq 'Oslo')",
            Some("revenue desc, name"),
            None,
        ),
        (
            "contains(name,'ware') or startswith(name,'co') or endswith(name,'ltd')",
            Some("name desc"),
            Some("7"),
        ),
        (
            "revenue gt 1000000.5 and revenue le 4000000",
            Some("revenue"),
            None,
        ),
        (
            "numberofemployees lt 100 or numberofemployees eq null",
            Some("numberofemployees desc"),
            None,
        ),
        ("creditonhold eq true and industrycode ne 1", None, None),
        (
            "lastvisitdate ge 2000-01-01 and lastvisitdate lt 2026-11-28",
            Some("lastvisitdate"),
            None,
        ),
        (
            "createdon last-x-days 200 or modifiedon today or createdon older-x-days 600",
            Some("createdon desc"),
            None,
        ),
        (
            "ownerid eq-userteams or ownerid eq-useroruserhierarchy",
            Some("ownerid, name"),
            None,
        ),
        (
            "owningbusinessunit eq-businessid and statecode eq 0",
            None,
            Some("25"),
        ),
        (
            "parentaccountid ne null and primarycontactid eq null",
            None,
            None,
        ),
    ];
    for (filter, order, top) in filters {
        let query = parse_query(QueryText {
            select: None,
            filter: Some(filter),
            order_by: order,
            top,
        })?
        .check(account)?;
        nonempty += usize::from(compare(&fx, "account", &query, &ctx, filter).await? > 0);
    }
    assert!(
        nonempty >= 15,
        "the comparisons select something ({nonempty} non-empty), so they can fail"
    );
    Ok(())
}

#[tokio::test]
async fn read_scopes_select_exactly_what_each_user_may_read_on_postgres() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let security = fx.org.security(&fx.metadata)?;
    let manager = fx
        .org
        .users
        .iter()
        .find(|u| u.job == demo::Job::Manager)
        .map(|u| u.username.clone());
    let technician = fx
        .org
        .users
        .iter()
        .find(|u| u.job == demo::Job::Technician)
        .map(|u| u.username.clone());
    let users: Vec<String> = [
        Some(demo::FIELD_USERNAME.to_owned()),
        Some(demo::ADMIN_USERNAME.to_owned()),
        manager,
        technician,
    ]
    .into_iter()
    .flatten()
    .collect();
    for username in users {
        let user = fx
            .org
            .user(&username)
            .ok_or_else(|| anyhow::anyhow!("no {username}"))?;
        let principal = security.principal(&user.id)?;
        for entity in ["account", "opportunity", "incident", "task"] {
            let def = fx.metadata.entity(entity)?;
            let scope = principal.scope(def, Privilege::Read);
            let (predicate, params) =
                scope.to_sql(Dialect::Postgres, "ownerid", "owningbusinessunit", 1);
            let sql = format!(
                "SELECT id FROM {} WHERE {predicate} ORDER BY id",
                quoted(entity)
            );
            let params: Vec<SqlParam> = params.into_iter().map(SqlParam::Text).collect();
            let selected = query_ids(&fx.client, &sql, &params).await?;
            let mut allowed: Vec<String> = fx
                .records
                .iter()
                .filter(|(e, _, _)| e == entity)
                .filter(|(_, _, fields)| {
                    principal.can(def, Privilege::Read, &RecordFacts::from_fields(fields))
                })
                .map(|(_, id, _)| id.clone())
                .collect();
            allowed.sort();
            assert_eq!(
                selected, allowed,
                "{username} on {entity}: the SQL scope selects exactly the readable records\n{sql}"
            );
        }
    }
    Ok(())
}
