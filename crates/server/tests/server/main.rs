//! The server's contract suite: every scenario runs twice, on embedded SQLite and on a real
//! PostgreSQL started by the test (`outpost_testkit::PgServer`), through the real router
//! in-process (`oneshot`), over the demo org.
//!
//! Scope is checked against an independent in-memory model ([`oracle`]): the records a
//! device holds after pulling must be exactly the records the model says the user's
//! profile, the org's entity filters, security and follows put in scope — no more (nothing
//! the user may not read), no less.

mod admin;
mod auth;
mod db;
mod oracle;
mod process;
mod pull;
mod push;
mod records;
mod releases;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use outpost_domain::Fields;
use outpost_server::db::Location;
use outpost_server::seed::DemoOptions;
use outpost_server::{AppState, Db, app, seed};
use outpost_testkit::PgServer;
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub(crate) const PASSWORD: &str = "correct horse";
pub(crate) const SEED: u64 = 7;
pub(crate) const RECORDS: u64 = 1_500;

/// Which engine a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A router over a fresh demo org, its database, and the PostgreSQL it may run on.
pub(crate) struct Harness {
    pub(crate) app: Router,
    pub(crate) db: Db,
    pub(crate) org: outpost_domain::demo::DemoOrg,
    _pg: Option<PgServer>,
}

fn demo_options() -> DemoOptions {
    DemoOptions {
        seed: SEED,
        records: RECORDS,
        password: PASSWORD.to_owned(),
    }
}

pub(crate) async fn harness(backend: Backend) -> Harness {
    let (location, pg, copied) = match backend {
        Backend::Sqlite => (Location::SqliteMemory, None, false),
        Backend::Postgres => {
            let template = demo_template().await;
            let pg = match &template {
                Some(template) => PgServer::copy_of(template),
                None => PgServer::start(),
            }
            .expect("PostgreSQL starts");
            (Location::Postgres(pg.url()), Some(pg), template.is_some())
        }
    };
    let db = Db::open(&location).await.expect("database opens");
    let loaded = seed::load_demo_if_empty(&db, &demo_options())
        .await
        .expect("demo loads");
    if copied {
        assert!(!loaded, "a copy of the demo template holds the demo org");
    } else {
        assert!(loaded, "a fresh database gets the demo org");
    }
    Harness {
        app: app(AppState::new(db.clone())),
        db,
        org: outpost_domain::demo::demo_org(SEED),
        _pg: pg,
    }
}

/// On the run's shared PostgreSQL ([`outpost_testkit::SHARED_PG`], which `cargo xtask
/// test` sets), a database holding the migrated demo org that each scenario starts from a
/// copy of (copying takes a fraction of loading it): made by the first scenario that
/// needs it, under an advisory lock the others wait on. Its name carries this build's
/// identity, so a cluster kept across builds never serves an old schema. None without
/// a shared cluster: each scenario then loads the demo org itself.
async fn demo_template() -> Option<String> {
    /// The advisory lock (on the `postgres` database) held while the template is made.
    const LOCK: i64 = 0x6f75_7470_6f73_7401;
    let server = outpost_testkit::shared_pg()?;
    let build = std::env::current_exe()
        .and_then(|exe| exe.metadata()?.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let name = format!("demo_{SEED}_{RECORDS}_{build}");
    let (client, connection) =
        tokio_postgres::connect(&format!("{server} dbname=postgres"), tokio_postgres::NoTls)
            .await
            .expect("the shared PostgreSQL answers");
    let driver = tokio::spawn(connection);
    // Released when this session ends, also when the scenario making it panics: the
    // next one finds no finished template and makes it again.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
        .await
        .expect("the template lock");
    let ready = client
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate",
            &[&name],
        )
        .await
        .expect("pg_database reads")
        .is_some();
    if !ready {
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&sql).await.expect(&sql);
        }
        let db = Db::open(&Location::Postgres(format!("{server} dbname={name}")))
            .await
            .expect("the template opens");
        assert!(
            seed::load_demo_if_empty(&db, &demo_options())
                .await
                .expect("demo loads"),
            "a fresh database gets the demo org"
        );
        drop(db);
        // No session may stay on a template while it is copied: the pool just dropped
        // closes its connections in the background, so end them, and let none in again.
        for sql in [
            format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
            format!("ALTER DATABASE {name} WITH IS_TEMPLATE true"),
        ] {
            client.batch_execute(&sql).await.expect(&sql);
        }
    }
    drop(client);
    let _ = driver.await;
    Some(name)
}

/// `contract!(name, …)` runs `async fn name(Backend)` once per engine.
#[macro_export]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// An answer: status, headers, JSON body (null when not JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.expect("router never fails");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub(crate) fn request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request")
}

pub(crate) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    send(app, request(method, uri, Some(token), body)).await
}

/// Asks to sign `username` in on `device` with `password`; the answer, whatever it is.
pub(crate) async fn try_login(
    app: &Router,
    username: &str,
    password: &str,
    device: &str,
) -> Answer {
    let body = json!({"username": username, "password": password, "device_id": device});
    send(app, request("POST", "/api/v1/auth/login", None, Some(body))).await
}

/// Signs `username` in on `device`; the answer's body.
pub(crate) async fn login_full(app: &Router, username: &str, device: &str) -> Value {
    let answer = try_login(app, username, PASSWORD, device).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{username} signs in: {}",
        answer.body
    );
    answer.body
}

/// Signs `username` in on `device`; the access token.
pub(crate) async fn login(app: &Router, username: &str, device: &str) -> String {
    login_full(app, username, device).await["access_token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// Checks that `answer` is a refusal with `status` and the error `code`.
#[track_caller]
pub(crate) fn assert_refused(answer: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(
        (answer.status, str(&answer.body["code"])),
        (status, code.to_owned()),
        "{what}: {}",
        answer.body
    );
}

/// Checks that a database failure is answered as the request's fault (400), not the
/// server's.
#[track_caller]
pub(crate) fn assert_bad_request(failure: anyhow::Error, what: &str) {
    let said = format!("{failure:#}");
    let answer =
        axum::response::IntoResponse::into_response(outpost_server::ApiError::from(failure));
    assert_eq!(
        answer.status(),
        StatusCode::BAD_REQUEST,
        "{what} answers 400: {said}"
    );
}

/// Pushes `ops` from `token`'s device (the push itself must be accepted); the result of
/// each op, in order.
pub(crate) async fn push(h: &Harness, token: &str, ops: Vec<Value>) -> Vec<Value> {
    let a = call(
        &h.app,
        "POST",
        "/api/v1/sync/push",
        token,
        Some(json!({"ops": ops})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| o["result"].clone())
        .collect()
}

/// Sets one org setting as `admin` (read, changed, written back; the write must succeed).
pub(crate) async fn put_setting(h: &Harness, admin: &str, key: &str, value: Value) {
    let mut settings = call(&h.app, "GET", "/api/v1/admin/settings", admin, None)
        .await
        .body;
    settings[key] = value;
    let put = call(
        &h.app,
        "PUT",
        "/api/v1/admin/settings",
        admin,
        Some(settings),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "setting {key}: {}", put.body);
}

/// Sets `entity`'s offline switch and filter as `admin`; the answer.
pub(crate) async fn put_offline_entity(
    h: &Harness,
    admin: &str,
    entity: &str,
    body: Value,
) -> Answer {
    call(
        &h.app,
        "PUT",
        &format!("/api/v1/admin/offline/entities/{entity}"),
        admin,
        Some(body),
    )
    .await
}

/// The element of the JSON list `list` whose `key` is `value`.
#[track_caller]
pub(crate) fn find_by<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("no element with {key} = {value:?} in {list}"))
}

/// What a device holds: (entity, id) → (row version, reason, fields).
pub(crate) type Held = BTreeMap<(String, String), (u64, String, Fields)>;

/// A device: its token, checkpoint and records, kept the way the protocol says.
pub(crate) struct Device {
    pub(crate) token: String,
    pub(crate) checkpoint: u64,
    pub(crate) held: Held,
    pub(crate) pages: usize,
    pub(crate) wiped: bool,
}

impl Device {
    pub(crate) async fn new(app: &Router, username: &str, device: &str) -> Self {
        Self {
            token: login(app, username, device).await,
            checkpoint: 0,
            held: Held::new(),
            pages: 0,
            wiped: false,
        }
    }

    /// One page, applied.
    pub(crate) async fn pull_page(&mut self, app: &Router, limit: u32) -> Value {
        let uri = format!(
            "/api/v1/sync/pull?checkpoint={}&limit={limit}",
            self.checkpoint
        );
        let answer = call(app, "GET", &uri, &self.token, None).await;
        assert_eq!(answer.status, StatusCode::OK, "pull: {}", answer.body);
        self.apply(answer.body)
    }

    /// Applies a page as a device does.
    pub(crate) fn apply(&mut self, page: Value) -> Value {
        if page["wipe"] == true {
            self.held.clear();
            self.checkpoint = 0;
            self.wiped = true;
            return page;
        }
        if page["reset"] == true {
            self.held.clear();
        }
        for r in page["records"].as_array().expect("records") {
            let fields: Fields = serde_json::from_value(r["fields"].clone()).expect("fields");
            self.held.insert(
                (str(&r["entity"]), str(&r["id"])),
                (
                    r["row_version"].as_u64().expect("version"),
                    str(&r["reason"]),
                    fields,
                ),
            );
        }
        for r in page["removed"].as_array().expect("removed") {
            self.held.remove(&(str(&r["entity"]), str(&r["id"])));
        }
        self.checkpoint = page["checkpoint"].as_u64().expect("checkpoint");
        self.pages += 1;
        page
    }

    /// Pulls until the server has nothing more (bounded); the pages.
    pub(crate) async fn sync(&mut self, app: &Router, limit: u32) -> Vec<Value> {
        let mut pages = Vec::new();
        for _ in 0..10_000 {
            let page = self.pull_page(app, limit).await;
            let more = page["has_more"] == true;
            pages.push(page);
            if !more {
                return pages;
            }
        }
        panic!("the pull never ended");
    }
}

pub(crate) fn str(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The id of a demo user.
pub(crate) fn user_id(h: &Harness, username: &str) -> String {
    h.org
        .user(username)
        .unwrap_or_else(|| panic!("no demo user {username}"))
        .id
        .clone()
}

/// Polls `done` every few milliseconds for at most 30 s (a generous bound on a wait, not
/// a threshold) until it holds; whether it did.
pub(crate) async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..3_000 {
        if done() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    done()
}

/// Runs `outpost-server --data-dir <data> admin <args>`; what it printed and how it ended.
pub(crate) fn admin_command_run(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_outpost-server"))
        .arg("--data-dir")
        .arg(data)
        .arg("admin")
        .args(args)
        .output()
        .expect("the admin command runs")
}

/// Runs `outpost-server --data-dir <data> admin <args>`, which must succeed; its JSON.
#[track_caller]
pub(crate) fn admin_command(data: &std::path::Path, args: &[&str]) -> Value {
    let run = admin_command_run(data, args);
    assert!(
        run.status.success(),
        "admin {args:?} succeeds: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("admin {args:?} prints JSON: {e}"))
}
