//! `cargo xtask bench server`: pull throughput with 20k and 200k records in scope, the
//! cost of a delta pull at both sizes (it must not grow with the scope), and push
//! throughput — on embedded SQLite (a file) and on PostgreSQL (started here, as in the
//! tests). Not a test: it prints a Markdown table between `BEGIN-MARKDOWN` and
//! `END-MARKDOWN`, which xtask writes into `docs/BENCHMARKS.md`.
//!
//! The user is the demo administrator with a profile taking every entity (`All`), so the
//! scope is the whole org; requests go through the real router (auth, JSON) in-process.

#![allow(missing_docs, clippy::print_stdout)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use outpost_server::db::Location;
use outpost_server::seed::{DemoOptions, load_demo_if_empty};
use outpost_server::{AppState, Db, app};
use outpost_testkit::PgServer;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const PASSWORD: &str = "bench";
const PAGE: u32 = 1_000;

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))?,
        None => req.body(Body::empty())?,
    };
    let res = app.clone().oneshot(req).await?;
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    anyhow::ensure!(
        status.is_success(),
        "{method} {uri}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

struct Figures {
    backend: &'static str,
    scope: u64,
    load: Duration,
    initial: Duration,
    bytes: usize,
    delta_nothing: Duration,
    delta_ten: Duration,
    push_ops: u64,
    push: Duration,
    /// Rows of what the device holds, and the bytes they take with their indexes.
    held: (u64, Option<u64>),
}

/// What the server keeps of what one device holds (`device_record`, with its indexes):
/// rows and bytes (`None` when the engine does not say).
async fn held_bytes(db: &Db) -> anyhow::Result<(u64, Option<u64>)> {
    db.tx(|c| {
        let rows =
            outpost_server::db::int(&c.query_value("SELECT count(*) FROM device_record", &[])?)?;
        let bytes = match c.dialect() {
            outpost_domain::query::Dialect::Sqlite => c
                .query_value(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN \
                     (SELECT name FROM sqlite_master WHERE tbl_name = 'device_record')",
                    &[],
                )
                .ok(),
            outpost_domain::query::Dialect::Postgres => c
                .query_value("SELECT pg_total_relation_size('device_record')", &[])
                .ok(),
        };
        let bytes = bytes
            .and_then(|b| outpost_server::db::int(&b).ok())
            .and_then(|b| u64::try_from(b).ok());
        Ok((u64::try_from(rows)?, bytes))
    })
    .await
}

/// Pulls to the end; (records, bytes).
async fn pull_all(app: &Router, token: &str, checkpoint: &mut u64) -> anyhow::Result<(u64, usize)> {
    let (mut records, mut bytes) = (0, 0);
    loop {
        let page = call(
            app,
            "GET",
            &format!("/api/v1/sync/pull?checkpoint={checkpoint}&limit={PAGE}"),
            Some(token),
            None,
        )
        .await?;
        records += page["records"].as_array().map_or(0, Vec::len) as u64;
        bytes += page.to_string().len();
        *checkpoint = page["checkpoint"].as_u64().unwrap_or_default();
        if page["has_more"] != true {
            return Ok((records, bytes));
        }
    }
}

async fn run(backend: &'static str, location: Location, records: u64) -> anyhow::Result<Figures> {
    let db = Db::open(&location).await?;
    let started = Instant::now();
    load_demo_if_empty(
        &db,
        &DemoOptions {
            seed: 1,
            records,
            password: PASSWORD.to_owned(),
        },
    )
    .await?;
    let load = started.elapsed();
    db.write(|c| outpost_server::seed::profile_everything_for_admin(c))
        .await?;
    let app = app(AppState::new(db.clone()));
    let login = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": PASSWORD, "device_id": "bench"})),
    )
    .await?;
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let mut checkpoint = 0;
    let started = Instant::now();
    let (scope, bytes) = pull_all(&app, &token, &mut checkpoint).await?;
    let initial = started.elapsed();

    let mut nothing = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        pull_all(&app, &token, &mut checkpoint).await?;
        nothing.push(started.elapsed());
    }
    let accounts = call(
        &app,
        "GET",
        "/api/v1/records/account?$filter=statecode%20eq%200&$select=telephone1&$top=1000",
        Some(&token),
        None,
    )
    .await?;
    let ids: Vec<String> = accounts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    // What the server holds, so every update carries a true before-image (no conflicts).
    let mut current: std::collections::HashMap<String, Value> = accounts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_owned(),
                r["fields"]["telephone1"].clone(),
            ))
        })
        .collect();
    let mut update = |op_id: String, id: &str, phone: String| {
        let before = current
            .insert(id.to_owned(), json!(phone))
            .unwrap_or(Value::Null);
        json!({"op_id": op_id, "base_version": null, "op": {"kind": "update", "entity": "account", "id": id,
            "changes": {"telephone1": phone}, "before": {"telephone1": before}}})
    };
    let mut ten = Vec::new();
    for round in 0..5 {
        let ops: Vec<Value> = ids
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, id)| update(format!("d{round}-{i}"), id, format!("+1 555 {round}{i:03}")))
            .collect();
        let answer = call(
            &app,
            "POST",
            "/api/v1/sync/push",
            Some(&token),
            Some(json!({"ops": ops})),
        )
        .await?;
        anyhow::ensure!(!answer.to_string().contains("conflict"), "{answer}");
        let started = Instant::now();
        let (got, _) = pull_all(&app, &token, &mut checkpoint).await?;
        ten.push(started.elapsed());
        anyhow::ensure!(got == 10, "a delta after 10 changes carried {got} records");
    }
    let held = held_bytes(&db).await?;
    let push_ops = 10_000u64;
    let batch_size = 1_000u64.min(ids.len() as u64);
    let started = Instant::now();
    for batch in 0..(push_ops / batch_size) {
        let ops: Vec<Value> = (0..batch_size)
            .map(|i| {
                let id = ids
                    [usize::try_from((batch * batch_size + i) % ids.len() as u64).unwrap_or(0)]
                .clone();
                update(format!("p{batch}-{i}"), &id, format!("+44 {batch} {i}"))
            })
            .collect();
        let answer = call(
            &app,
            "POST",
            "/api/v1/sync/push",
            Some(&token),
            Some(json!({"ops": ops})),
        )
        .await?;
        anyhow::ensure!(
            !answer.to_string().contains("\"error\"") && !answer.to_string().contains("conflict"),
            "{answer}"
        );
    }
    let push = started.elapsed();
    Ok(Figures {
        backend,
        scope,
        load,
        initial,
        bytes,
        delta_nothing: outpost_testkit::median(nothing),
        delta_ten: outpost_testkit::median(ten),
        push_ops,
        push,
        held,
    })
}

/// Bytes kept per held record.
fn per_record((rows, bytes): (u64, Option<u64>)) -> Option<f64> {
    Some(bytes? as f64 / rows.max(1) as f64)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<u64> = std::env::var("OUTPOST_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20_000, 200_000]);
    let mut rows = Vec::new();
    for &size in &sizes {
        let dir = tempfile::tempdir()?;
        eprintln!("SQLite, {size} records…");
        rows.push(
            run(
                "SQLite (file)",
                Location::Sqlite(dir.path().join("org.sqlite3")),
                size,
            )
            .await?,
        );
        let pg = PgServer::start()?;
        eprintln!("PostgreSQL, {size} records…");
        rows.push(run("PostgreSQL 15", Location::Postgres(pg.url()), size).await?);
    }
    println!("BEGIN-MARKDOWN");
    println!(
        "| store | records in scope | demo load | initial pull | pull records/s | pull MB (JSON) | delta, nothing changed | delta, 10 changed | push ops/s | kept per record a device holds | 1,000 devices × 200k records |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for f in &rows {
        println!(
            "| {} | {} | {:.1} s | {:.1} s | {:.0} | {:.1} | {:.1} ms | {:.1} ms | {:.0} | {} | {} |",
            f.backend,
            f.scope,
            f.load.as_secs_f64(),
            f.initial.as_secs_f64(),
            f.scope as f64 / f.initial.as_secs_f64(),
            f.bytes as f64 / 1e6,
            f.delta_nothing.as_secs_f64() * 1e3,
            f.delta_ten.as_secs_f64() * 1e3,
            f.push_ops as f64 / f.push.as_secs_f64(),
            per_record(f.held).map_or_else(|| "n/a".to_owned(), |b| format!("{b:.0} B")),
            per_record(f.held).map_or_else(
                || "n/a".to_owned(),
                |b| format!("{:.0} GB", b * 1_000.0 * 200_000.0 / 1e9)
            ),
        );
    }
    println!();
    println!(
        "- The user is the demo administrator under a profile that takes every record of every entity; requests go through the real router in-process (auth, JSON, scope SQL, page acknowledgement), pages of {PAGE} records, no HTTP transport or gzip."
    );
    println!(
        "- *Initial pull*: from checkpoint 0 to the last page. *Delta*: the median of five pulls after nothing changed, and after one push of 10 account updates (it must carry exactly those 10, and it is checked) — neither grows with the scope."
    );
    println!(
        "- *Push*: 10,000 account updates in batches of 1,000 (each batch one durable transaction, each op in a savepoint with its (device, op id) outcome stored), true before-images (no conflicts)."
    );
    println!(
        "- *Kept per record a device holds*: the bytes of `device_record` (rows and indexes: SQLite's `dbstat`, PostgreSQL's `pg_total_relation_size`) after the initial pull, over its rows; the last column scales it to 1,000 devices each holding 200,000 records."
    );
    println!(
        "- SQLite is a file in a temp folder (WAL, `synchronous=full`); PostgreSQL 15 is Debian's, started by the bench like the tests do (loopback, `fsync=off`)."
    );
    println!("END-MARKDOWN");
    Ok(())
}
