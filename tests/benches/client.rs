//! `cargo xtask bench client`: the field client against a real server over loopback HTTP
//! — the initial sync into the encrypted store (and, as the limit, the same rows inserted
//! raw into SQLCipher in the same run), the client's peak memory, a delta with 10
//! changes, a push of 10,000 operations, and the first page of a view and of a search.
//! Not a test: it prints a Markdown table between `BEGIN-MARKDOWN` and `END-MARKDOWN`,
//! which xtask writes into `docs/BENCHMARKS.md`.
//!
//! The server runs in a child process (this binary with `--serve N`) so the figures and
//! the peak memory are the client's alone. The user is the demo administrator under a
//! profile that takes every record of every entity (`seed::profile_everything_for_admin`).

#![allow(missing_docs, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_core::api::{RecordUpdateArgs, SearchArgs, SignInArgs, ViewPageArgs};
use outpost_core::{Client, ClientConfig};
use outpost_domain::query::column_value;
use outpost_store::MemoryKeyStore;
use serde_json::json;

#[path = "org.rs"]
mod org;

use org::PASSWORD;

/// Starts the peak-memory count afresh (Linux: writing 5 to `clear_refs` resets VmHWM),
/// so a run's figure is not the high-water mark an earlier, bigger phase left behind.
fn peak_rss_reset() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process (Linux) since [`peak_rss_reset`], in MB.
fn peak_rss_mb() -> Option<f64> {
    org::vm_hwm_mb("/proc/self/status")
}

struct Figures {
    records: u64,
    initial: Duration,
    raw: Duration,
    rss_mb: Option<f64>,
    server_rss_mb: Option<f64>,
    delta_ten: Duration,
    local_ops_per_s: f64,
    batch_ops_per_s: f64,
    push_ops: u64,
    push: Duration,
    view_entity: String,
    view_rows: u64,
    view_first: Duration,
    search_one: Duration,
    search_all: Duration,
}

/// The floor under the initial sync: `rows` (in the order the server sends them) written
/// into a fresh store — the store's own tables, indexes and full-text index, made by
/// [`outpost_store::Store`] from the same metadata, with the same key kind (raw), journal
/// and durability — straight through SQL in one transaction, one prepared statement per
/// table: each record once to the server layer with its reason, once to the local layer
/// and once to the full-text index. No HTTP, JSON, rebase or bookkeeping.
fn floor_insert(
    metadata: &outpost_domain::Metadata,
    rows: &[outpost_store::LocalRecord],
) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("floor.db");
    let key = outpost_store::DatabaseKey::generate();
    {
        let mut store = outpost_store::Store::open_with_key(&path, &key)?;
        store.metadata_apply(metadata.clone())?;
    }
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "key", format!("x'{}'", key.to_hex()))?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "full")?;
    conn.pragma_update(None, "cache_size", -outpost_store::PAGE_CACHE_KIB)?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    for def in &metadata.entities {
        let names: String = def
            .attributes
            .iter()
            .map(|a| format!(", \"{}\"", a.name))
            .collect();
        let marks: String = (0..def.attributes.len())
            .map(|i| format!(", ?{}", i + 2))
            .collect();
        let version = def.attributes.len() + 2;
        let mut server = tx.prepare(&format!(
            "INSERT INTO \"srv_{0}\" (id{names}, row_version, sync_reason) VALUES (?1{marks}, ?{version}, ?{1})",
            def.name,
            version + 1
        ))?;
        let mut local = tx.prepare(&format!(
            "INSERT INTO \"{}\" (id{names}, row_version) VALUES (?1{marks}, ?{version}) RETURNING rowid",
            def.name,
        ))?;
        let mut fts = tx.prepare(&format!(
            "INSERT INTO \"fts_{}\" (rowid, body) VALUES (?1, ?2)",
            def.name
        ))?;
        for row in rows.iter().filter(|r| r.entity == def.name) {
            let mut values: Vec<rusqlite::types::Value> = vec![row.id.clone().into()];
            for a in &def.attributes {
                let text = row.fields.get(&a.name).cloned().flatten();
                values.push(match column_value(&a.kind, text.as_deref())? {
                    outpost_domain::query::SqlParam::Null => rusqlite::types::Value::Null,
                    outpost_domain::query::SqlParam::Int(n) => n.into(),
                    outpost_domain::query::SqlParam::Text(s) => s.into(),
                });
            }
            values.push(i64::try_from(row.row_version)?.into());
            let rowid: i64 =
                local.query_row(rusqlite::params_from_iter(values.iter()), |r| r.get(0))?;
            values.push(row.reason.clone().into());
            server.execute(rusqlite::params_from_iter(values))?;
            let body = outpost_store::table::records::fts_body(def, &row.fields);
            if !body.is_empty() {
                fts.execute(rusqlite::params![rowid, body])?;
            }
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

async fn run(records: u64) -> anyhow::Result<Figures> {
    let mut server = org::Server::start(records)?;
    let result = measure(&server).await;
    server.stop();
    result
}

async fn measure(server: &org::Server) -> anyhow::Result<Figures> {
    let url = server.url.as_str();
    let dir = tempfile::tempdir()?;
    let client = Arc::new(Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::new(MemoryKeyStore::default()),
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })?);
    peak_rss_reset();
    server.peak_rss_reset();
    let started = Instant::now();
    let status = client
        .session_sign_in(SignInArgs {
            server_url: url.to_owned(),
            username: "admin".into(),
            password: PASSWORD.into(),
            download: None,
            allow_http: None,
        })
        .await?;
    let initial = started.elapsed();
    anyhow::ensure!(
        status.last_sync_at.is_some(),
        "the first sync did not finish"
    );
    let rss_mb = peak_rss_mb();
    let server_rss_mb = server.peak_rss_mb();

    let metadata = client.metadata_get().await?;
    let mut all = Vec::new();
    for def in &metadata.entities {
        let rows = client
            .record_list(outpost_core::api::RecordListArgs {
                entity: def.name.clone(),
            })
            .await?;
        all.extend(rows.into_iter().map(|r| outpost_store::LocalRecord {
            entity: r.entity,
            id: r.id,
            fields: r.fields,
            row_version: r.row_version,
            pending: r.pending,
            reason: r.reason,
        }));
    }
    let records = all.len() as u64;
    // In the order the server sends them: entity by entity as the metadata lists them,
    // each in id order.
    let order: std::collections::HashMap<&str, usize> = metadata
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    all.sort_by(|a, b| {
        (order.get(a.entity.as_str()), &a.id).cmp(&(order.get(b.entity.as_str()), &b.id))
    });
    let raw = floor_insert(&metadata, &all)?;
    let (view_entity, _) = metadata
        .entities
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                all.iter().filter(|r| r.entity == e.name).count() as u64,
            )
        })
        .max_by_key(|(_, n)| *n)
        .unwrap_or_default();
    let accounts: Vec<&outpost_store::LocalRecord> = all
        .iter()
        .filter(|r| {
            r.entity == "account"
                && r.fields.get("statecode").cloned().flatten().as_deref() == Some("0")
        })
        .collect();

    // Another device changes 10 accounts; this one pulls exactly those.
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD, "device_id": "bench-other"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut ten = Vec::new();
    // What the server holds, so each change carries a true before-image (no conflicts).
    let mut phone: std::collections::HashMap<String, Option<String>> = accounts
        .iter()
        .take(10)
        .map(|r| (r.id.clone(), r.fields.get("telephone1").cloned().flatten()))
        .collect();
    for round in 0..5 {
        let ops: Vec<serde_json::Value> = accounts
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, r)| {
                let new = format!("+1 555 {round}{i:03}");
                let before = phone.insert(r.id.clone(), Some(new.clone())).flatten();
                json!({"op_id": format!("other-{round}-{i}"), "base_version": null, "op": {
                    "kind": "update", "entity": "account", "id": r.id,
                    "changes": {"telephone1": new}, "before": {"telephone1": before}}})
            })
            .collect();
        let answer: serde_json::Value = http
            .post(format!("{url}/api/v1/sync/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": ops}))
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(!answer.to_string().contains("\"error\""), "{answer}");
        let started = Instant::now();
        let report = client.sync_now().await?;
        ten.push(started.elapsed());
        anyhow::ensure!(
            report.pulled == 10,
            "a delta after 10 changes carried {}",
            report.pulled
        );
    }

    // 10,000 operations made offline, then pushed.
    let push_ops = PUSH_OPS;
    let started = Instant::now();
    for i in 0..push_ops {
        let r = accounts[usize::try_from(i).unwrap_or(0) % accounts.len()];
        client
            .record_update(RecordUpdateArgs {
                entity: "account".into(),
                id: r.id.clone(),
                fields: [("address1_line1".to_owned(), Some(format!("+44 {i}")))].into(),
            })
            .await?;
    }
    let local_ops_per_s = push_ops as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = client.sync_now().await?;
    let push = started.elapsed();
    anyhow::ensure!(
        u64::from(report.pushed) == push_ops && report.conflicts == 0 && report.errors == 0,
        "{report:?}"
    );
    // The same number of offline updates as a script's one batch, then sent.
    let changes = (0..push_ops)
        .map(|i| {
            let r = accounts[usize::try_from(i).unwrap_or(0) % accounts.len()];
            outpost_core::api::ScriptChange::Update {
                entity: "account".into(),
                id: r.id.clone(),
                fields: [("address1_line1".to_owned(), Some(format!("+33 {i}")))].into(),
            }
        })
        .collect();
    let started = Instant::now();
    let results = client
        .script_execute_multiple(outpost_core::api::ScriptBatchArgs { changes })
        .await?;
    let batch_ops_per_s = push_ops as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        results.iter().all(|r| r.error.is_none()),
        "a change was refused"
    );
    let report = client.sync_now().await?;
    anyhow::ensure!(u64::from(report.pushed) == push_ops, "{report:?}");

    let mut first = Vec::new();
    let mut one = Vec::new();
    let mut every = Vec::new();
    let word: String = accounts[0].fields["name"]
        .clone()
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("a")
        .to_owned();
    // The view of the largest entity that shows the most rows.
    let (view_id, view_total) = org::largest_view(&client, &view_entity)
        .await?
        .map_or((None, 0), |(id, _, rows)| (Some(id), rows));
    for _ in 0..5 {
        let started = Instant::now();
        let page = client
            .view_page(ViewPageArgs {
                entity: view_entity.clone(),
                view_id: view_id.clone(),
                search: None,
                after: None,
                limit: Some(50),
                order_by: None,
            })
            .await?;
        first.push(started.elapsed());
        anyhow::ensure!(page.rows.len() == 50, "the view shows {view_total} rows");
        let started = Instant::now();
        client
            .search(SearchArgs {
                text: word.clone(),
                entities: Some(vec!["account".into()]),
                limit: Some(50),
            })
            .await?;
        one.push(started.elapsed());
        let started = Instant::now();
        client
            .search(SearchArgs {
                text: word.clone(),
                entities: None,
                limit: Some(50),
            })
            .await?;
        every.push(started.elapsed());
    }
    Ok(Figures {
        records,
        initial,
        raw,
        rss_mb,
        server_rss_mb,
        delta_ten: outpost_testkit::median(ten),
        local_ops_per_s,
        batch_ops_per_s,
        push_ops,
        push,
        view_entity,
        view_rows: view_total,
        view_first: outpost_testkit::median(first),
        search_one: outpost_testkit::median(one),
        search_all: outpost_testkit::median(every),
    })
}

/// Account updates made offline, then pushed in one sync.
const PUSH_OPS: u64 = 10_000;

fn mb(figure: Option<f64>) -> String {
    figure.map_or_else(|| "n/a".to_owned(), |mb| format!("{mb:.0} MB"))
}

/// One size's figures as a row of the Markdown table.
fn table_row(f: &Figures) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "| {} | {:.2} s | {:.0} | {:.2} s ({:.0}/s) | {:.0} % | {} | {} | {:.1} ms | {:.0} | {:.0} | {:.0} | {:.1} ms ({} of {}) | {:.1} ms | {:.1} ms |",
        f.records,
        f.initial.as_secs_f64(),
        f.records as f64 / f.initial.as_secs_f64(),
        f.raw.as_secs_f64(),
        f.records as f64 / f.raw.as_secs_f64(),
        100.0 * f.raw.as_secs_f64() / f.initial.as_secs_f64(),
        mb(f.rss_mb),
        mb(f.server_rss_mb),
        ms(f.delta_ten),
        f.local_ops_per_s,
        f.batch_ops_per_s,
        f.push_ops as f64 / f.push.as_secs_f64(),
        ms(f.view_first),
        f.view_entity,
        f.view_rows,
        ms(f.search_one),
        ms(f.search_all),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let records = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000);
        return org::serve(records).await;
    }
    // `--one N`: one size, in a process of its own, printing its table row: the peak
    // memory is then that size's alone (a process keeps the heap an earlier, bigger phase
    // grew, and its high-water mark would start from there).
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let records = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000);
        println!("ROW{}", table_row(&run(records).await?));
        return Ok(());
    }
    let sizes: Vec<u64> = std::env::var("OUTPOST_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![200_000]);
    let mut rows = Vec::new();
    for &size in &sizes {
        eprintln!("client against a server with {size} records…");
        let out = std::process::Command::new(std::env::current_exe()?)
            .arg("--one")
            .arg(size.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()?;
        anyhow::ensure!(out.status.success(), "the run with {size} records failed");
        let row = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("ROW").map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("the run with {size} records printed no row"))?;
        rows.push(row);
    }
    println!("BEGIN-MARKDOWN");
    println!(
        "| records on the device | initial sync | records/s | floor: the same rows into the store's tables | sync speed, % of the floor | client peak RSS | server peak RSS | delta, 10 changed | offline ops/s, one call each (apply + outbox) | offline ops/s, a script's batch | push ops/s | first view page | search, one entity | search, every entity |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "- Each size runs in a process of its own: the client (outpost-core) talks HTTP on loopback to a real server in a child process (SQLite, demo org, the administrator's profile takes every record). *Initial sync*: sign-in to the end of the first download — pages of 1000 written to the encrypted store's server and local layers with the full-text index, one transaction per page. *Peak RSS*: of the client process, and of the server's, during the initial sync."
    );
    println!(
        "- *Floor*: the same rows, in the order the server sends them, written in one transaction into a fresh store (the store's own tables, indexes and full-text index, made from the same metadata; raw key, WAL, `synchronous=full`, the store's page cache): each record once to the server layer with its reason, once to the local layer, once to the full-text index, by prepared statements. *% of the floor*: floor time ÷ initial-sync time."
    );
    println!(
        "- *Delta, 10 changed*: another device pushes 10 account changes, then this one syncs (median of 5). *Push*: {PUSH_OPS} account updates made offline one call each (each its own durable transaction: that rate is its own column), then one sync, which pushes them and pulls the records they changed back. *A script's batch*: another {PUSH_OPS} updates in one `script_execute_multiple` call (one transaction, a savepoint per change, each with its outbox entry)."
    );
    println!(
        "- *First view page*: of the largest entity, the system view showing the most rows; 50 rows with the total count, which costs most of it (median of 5). *Search*: a word of an account name, prefix match in the full-text index, 50 hits."
    );
    println!("END-MARKDOWN");
    Ok(())
}
