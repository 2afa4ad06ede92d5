//! The client against a small in-process stand-in for the org server's auth, metadata and
//! sync endpoints (the contract of `docs/PROTOCOL.md`), so token expiry, refresh rotation,
//! revocation, wipes and metadata bumps can be set up at will. The real server's own
//! tests and `tests/system` cover the same paths against the real thing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_domain::metadata::{AttributeDef, AttributeKind, Requirement};
use outpost_domain::{Fields, Metadata};
use outpost_protocol::{
    ErrorBody, LoginRequest, LoginResponse, MetadataResponse, OpOutcome, OpResult, PullRequest,
    PullResponse, PushRequest, PushResponse, RecordPayload, RefreshRequest, UserAccess, UserInfo,
};
use outpost_store::MemoryKeyStore;

use crate::api::{RecordListArgs, RecordUpdateArgs, SignInArgs, SignedOutReason};
use crate::{ApiError, Client, ClientConfig, CoreError, ErrorCode};

/// What the stand-in server holds.
struct Server {
    access: String,
    refresh: String,
    issued: u32,
    expired: HashSet<String>,
    refreshes: u32,
    wipe: bool,
    metadata: Metadata,
    pushed: Vec<String>,
    /// How many pages a first download takes (one record each, slowly): progress shows.
    pages: u64,
    /// Pages asked for ahead of the stored checkpoint, and those the stand-in refuses so.
    asked_ahead: Vec<(u64, u64)>,
    refuse_ahead: bool,
    /// Answer every pushed operation with a conflict (it becomes a sync error).
    conflicts: bool,
    /// Answer every token with `device_wipe` (the device was reported lost).
    lost: bool,
    /// The org's recovery key pair (secret, public).
    recovery: ([u8; 32], [u8; 32]),
    /// Fields of `account` the user may not read, and the access fingerprint pages and
    /// metadata carry.
    unreadable: Vec<String>,
    access_key: String,
    /// Pages carry no record (nothing changed on the server).
    quiet: bool,
    /// Access tokens answered `device_wipe` (their device was reported lost).
    lost_tokens: HashSet<String>,
    /// How long `GET /records/…` takes to answer, in milliseconds.
    record_delay_ms: u64,
    /// How `POST /records/{entity}` refuses a create: the status and the code.
    create_refusal: (StatusCode, &'static str),
}

type Shared = Arc<Mutex<Server>>;

fn error(code: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(ErrorBody {
            code: code.into(),
            message: code.into(),
            fields: vec![],
        }),
    )
        .into_response()
}

/// The error code that refuses the request's token, if any.
fn refusal(server: &Server, headers: &HeaderMap) -> Option<&'static str> {
    if server.lost {
        return Some("device_wipe");
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if server.lost_tokens.contains(token) {
        Some("device_wipe")
    } else if token == server.access {
        None
    } else if server.expired.contains(token) {
        Some("token_expired")
    } else {
        Some("unauthorized")
    }
}

fn issue(server: &mut Server, username: &str) -> LoginResponse {
    server.issued += 1;
    server.access = format!("access-{}", server.issued);
    server.refresh = format!("refresh-{}", server.issued);
    LoginResponse {
        access_token: server.access.clone(),
        expires_in: 3600,
        refresh_token: server.refresh.clone(),
        user: UserInfo {
            id: format!("u-{username}"),
            username: username.into(),
            display_name: username.into(),
        },
        org_id: "org-1".into(),
    }
}

async fn login(State(s): State<Shared>, Json(req): Json<LoginRequest>) -> Response {
    if req.password != "pw" {
        return error("bad_credentials");
    }
    let mut server = s.lock().expect("lock");
    Json(issue(&mut server, &req.username)).into_response()
}

async fn refresh(State(s): State<Shared>, Json(req): Json<RefreshRequest>) -> Response {
    let mut server = s.lock().expect("lock");
    server.refreshes += 1;
    if server.lost {
        return error("device_wipe");
    }
    if req.refresh_token != server.refresh {
        return error("unauthorized");
    }
    Json(issue(&mut server, "fiona")).into_response()
}

async fn metadata(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let server = s.lock().expect("lock");
    if let Some(code) = refusal(&server, &headers) {
        return error(code);
    }
    Json(MetadataResponse {
        metadata: server.metadata.clone(),
        access: UserAccess {
            user_id: "u-fiona".into(),
            business_unit_id: "bu".into(),
            team_ids: vec![],
            hierarchy_user_ids: Vec::new(),
            // Organization-wide everything: these tests are about sessions and sync;
            // privilege checks have their own tests in `access`.
            privileges: server
                .metadata
                .entities
                .iter()
                .map(|e| {
                    let all = outpost_domain::security::Privilege::ALL
                        .iter()
                        .map(|p| (*p, outpost_domain::security::Depth::Organization))
                        .collect();
                    (e.name.clone(), all)
                })
                .collect(),
            secured_fields: [(
                "account".to_owned(),
                server
                    .unreadable
                    .iter()
                    .map(|f| {
                        let none = outpost_domain::security::FieldPermission {
                            read: false,
                            create: false,
                            update: false,
                        };
                        (f.clone(), none)
                    })
                    .collect(),
            )]
            .into_iter()
            .filter(|(_, fields): &(String, std::collections::BTreeMap<_, _>)| !fields.is_empty())
            .collect(),
            principal: None,
        },
        profile: None,
        access_key: server.access_key.clone(),
        recovery_key: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            server.recovery.1,
        ),
    })
    .into_response()
}

async fn pull(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(req): Query<PullRequest>,
) -> Response {
    let pages = s.lock().expect("lock").pages;
    if pages > 1 {
        // A download of several pages, each taking a while, so progress can be watched.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let mut server = s.lock().expect("lock");
        if let Some(code) = refusal(&server, &headers) {
            return error(code);
        }
        // Asked ahead: the page after the one the device is storing (ADR 0016).
        if let Some(ahead) = req.ahead {
            server.asked_ahead.push((req.checkpoint, ahead));
            if server.refuse_ahead {
                return Json(PullResponse {
                    ahead_refused: true,
                    metadata_version: server.metadata.version,
                    ..PullResponse::default()
                })
                .into_response();
            }
        }
        let n = req.ahead.unwrap_or(req.checkpoint) + 1;
        return Json(PullResponse {
            records: vec![RecordPayload {
                entity: "account".into(),
                id: format!("a{n}"),
                row_version: n,
                fields: Fields::from([("name".to_owned(), Some(format!("Account {n}")))]),
                reason: "profile".into(),
            }],
            checkpoint: n,
            has_more: n < pages,
            remaining: pages - n,
            metadata_version: server.metadata.version,
            ..PullResponse::default()
        })
        .into_response();
    }
    let server = s.lock().expect("lock");
    if let Some(code) = refusal(&server, &headers) {
        return error(code);
    }
    let mut fields = Fields::from([
        ("name".to_owned(), Some("Fabrikam".to_owned())),
        ("address1_city".to_owned(), Some("Lyon".to_owned())),
    ]);
    for field in &server.unreadable {
        fields.remove(field);
    }
    if server.metadata.version >= 2 {
        fields.insert("x_region".into(), Some("North".into()));
    }
    let records = if server.quiet {
        Vec::new()
    } else {
        vec![RecordPayload {
            entity: "account".into(),
            id: "a1".into(),
            row_version: 1,
            fields,
            reason: "profile".into(),
        }]
    };
    Json(PullResponse {
        records,
        checkpoint: 1,
        metadata_version: server.metadata.version,
        access_key: server.access_key.clone(),
        wipe: server.wipe,
        ..PullResponse::default()
    })
    .into_response()
}

async fn record(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let delay = s.lock().expect("lock").record_delay_ms;
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    let server = s.lock().expect("lock");
    if let Some(code) = refusal(&server, &headers) {
        return error(code);
    }
    Json(outpost_protocol::RecordBody {
        id: "online".into(),
        row_version: 1,
        fields: Fields::from([("name".to_owned(), Some("Online".to_owned()))]),
    })
    .into_response()
}

/// Refuses every create as `create_refusal` says, with a message of its own.
async fn record_create(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let server = s.lock().expect("lock");
    if let Some(code) = refusal(&server, &headers) {
        return error(code);
    }
    let (status, code) = server.create_refusal;
    let body = ErrorBody {
        code: code.into(),
        message: format!("the stand-in refuses this create ({code})"),
        fields: Vec::new(),
    };
    (status, Json(body)).into_response()
}

async fn push(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<PushRequest>,
) -> Response {
    let mut server = s.lock().expect("lock");
    if let Some(code) = refusal(&server, &headers) {
        return error(code);
    }
    let outcomes = req
        .ops
        .into_iter()
        .map(|op| {
            server.pushed.push(op.op_id.clone());
            OpOutcome {
                op_id: op.op_id,
                result: if server.conflicts {
                    OpResult::Error {
                        code: "validation".into(),
                        message: "refused by the stand-in".into(),
                        fields: Vec::new(),
                    }
                } else {
                    OpResult::Applied { row_version: 2 }
                },
            }
        })
        .collect();
    Json(PushResponse { outcomes }).into_response()
}

/// Serves the stand-in on a free loopback port; answers its URL and state.
async fn serve() -> (String, Shared) {
    let state = Arc::new(Mutex::new(Server {
        access: String::new(),
        refresh: String::new(),
        issued: 0,
        expired: HashSet::new(),
        refreshes: 0,
        wipe: false,
        metadata: outpost_domain::demo::metadata(),
        pushed: vec![],
        pages: 1,
        asked_ahead: Vec::new(),
        refuse_ahead: false,
        conflicts: false,
        lost: false,
        recovery: outpost_protocol::recovery::org_keypair(),
        unreadable: Vec::new(),
        access_key: "k1".into(),
        quiet: false,
        lost_tokens: HashSet::new(),
        record_delay_ms: 0,
        create_refusal: (StatusCode::BAD_REQUEST, "invalid"),
    }));
    let app = Router::new()
        .route(
            "/api/v1/health",
            get(|| async { Json(serde_json::json!({"status": "ok", "org_id": "org-1"})) }),
        )
        .route(
            "/api/v1/auth/logout",
            post(|| async { StatusCode::NO_CONTENT }),
        )
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/sync/pull", get(pull))
        .route("/api/v1/sync/push", post(push))
        .route("/api/v1/records/{entity}/{id}", get(record))
        .route("/api/v1/records/{entity}", post(record_create))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

fn client_open(dir: &tempfile::TempDir, keys: &Arc<MemoryKeyStore>) -> Client {
    Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::clone(keys) as Arc<dyn outpost_store::KeyStore>,
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })
    .expect("the client opens")
}

async fn signed_in(url: &str, dir: &tempfile::TempDir, keys: &Arc<MemoryKeyStore>) -> Client {
    let client = client_open(dir, keys);
    let status = client
        .session_sign_in(SignInArgs {
            server_url: url.into(),
            username: "fiona".into(),
            password: "pw".into(),
            download: None,
            allow_http: None,
        })
        .await
        .expect("signs in");
    assert!(status.signed_in, "signed in");
    client
}

/// The stand-in server (its URL and state) and a client signed in to it, with the
/// client's folder and key store. Bound in this order, the client is dropped before its
/// folder.
async fn session() -> (
    String,
    Shared,
    tempfile::TempDir,
    Arc<MemoryKeyStore>,
    Client,
) {
    let (url, server) = serve().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(MemoryKeyStore::default());
    let client = signed_in(&url, &dir, &keys).await;
    (url, server, dir, keys, client)
}

async fn edit(client: &Client, name: &str) {
    client
        .record_update(RecordUpdateArgs {
            entity: "account".into(),
            id: "a1".into(),
            fields: Fields::from([("name".to_owned(), Some(name.to_owned()))]),
        })
        .await
        .expect("an offline edit");
}

/// Makes the issued access token expire; with `revoke_refresh`, its refresh token stops
/// working too.
fn expire_access(server: &Shared, revoke_refresh: bool) {
    let mut s = server.lock().expect("lock");
    let old = std::mem::replace(&mut s.access, "none-issued".into());
    s.expired.insert(old);
    if revoke_refresh {
        s.refresh = "none-issued".into();
    }
}

fn kept(client: &Client, key: &str) -> Option<String> {
    client
        .with_store(|s| Ok(s.state_get(key)?))
        .expect("the store is open")
}

/// Every account on the device.
async fn accounts(client: &Client) -> Vec<crate::api::RecordRow> {
    client
        .record_list(RecordListArgs {
            entity: "account".into(),
        })
        .await
        .expect("accounts")
}

#[tokio::test]
async fn sign_in_builds_the_store_from_the_servers_metadata_and_it_reopens_offline() {
    let (_url, _server, dir, keys, client) = session().await;
    let rows = accounts(&client).await;
    assert_eq!(rows.len(), 1, "the first sync stored the page");
    assert_eq!(rows[0].fields["address1_city"].as_deref(), Some("Lyon"));
    assert_eq!(
        rows[0].reason.as_deref(),
        Some("profile"),
        "the reason reaches the API"
    );
    drop(client);

    // No server is asked: the store opens with the metadata it keeps.
    let offline = client_open(&dir, &keys);
    let rows = offline
        .record_list(RecordListArgs {
            entity: "contact".into(),
        })
        .await
        .expect("every demo entity has its table after a restart");
    assert!(rows.is_empty());
    assert!(offline.session_status().await.expect("status").signed_in);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_request_retried() {
    let (_url, server, _dir, _keys, client) = session().await;
    edit(&client, "Offline name").await;
    expire_access(&server, false);
    let report = client
        .sync_now()
        .await
        .expect("the sync refreshes and goes on");
    assert_eq!(report.pushed, 1, "the push was retried with the new token");
    let s = server.lock().expect("lock");
    assert_eq!(s.refreshes, 1, "one refresh for the whole run");
    assert_eq!(
        kept(&client, "access_token").as_deref(),
        Some(s.access.as_str()),
        "the new access token is kept"
    );
    assert_eq!(
        kept(&client, "refresh_token").as_deref(),
        Some(s.refresh.as_str()),
        "the rotated refresh token is kept (the old one no longer works)"
    );
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session_and_keeps_offline_work() {
    let (url, server, dir, keys, client) = session().await;
    edit(&client, "Offline name").await;
    expire_access(&server, true);
    let err = client.sync_now().await.expect_err("the session is over");
    assert!(matches!(err, CoreError::Unauthorized), "got {err:?}");
    let status = client.session_status().await.expect("status");
    assert!(!status.signed_in, "signed out");
    assert_eq!(
        status.signed_out_reason,
        Some(SignedOutReason::SessionEnded)
    );
    assert_eq!(status.pending_ops, 1, "offline work is kept");
    assert!(
        matches!(client.sync_now().await, Err(CoreError::NotSignedIn)),
        "no more requests with a dead session"
    );

    drop(client);
    let client = signed_in(&url, &dir, &keys).await;
    let status = client.session_status().await.expect("status");
    assert_eq!(
        status.pending_ops, 0,
        "signing in again sends the kept work"
    );
    assert_eq!(status.signed_out_reason, None);
    assert_eq!(server.lock().expect("lock").pushed.len(), 1);
}

#[tokio::test]
async fn a_wipe_page_deletes_the_offline_data_and_its_key_and_says_why() {
    let (_url, server, _dir, keys, client) = session().await;
    let account = client.account().expect("an account is open");
    let key_id = account.key_id();
    server.lock().expect("lock").wipe = true;
    let err = client.sync_now().await.expect_err("the session ends");
    assert!(matches!(err, CoreError::Wiped), "got {err:?}");
    let status = client.session_status().await.expect("status");
    assert!(!status.signed_in);
    assert_eq!(status.signed_out_reason, Some(SignedOutReason::Wiped));
    assert!(!account.db_path().exists(), "the database file is gone");
    assert!(!account.dir.exists(), "the account's folder is gone");
    assert_eq!(status.recoveries, 0, "nothing was unsent: no recovery file");
    assert!(
        outpost_store::KeyStore::get(&*keys, &key_id)
            .expect("keychain")
            .is_none(),
        "the key is gone"
    );
}

#[tokio::test]
async fn a_page_for_newer_metadata_waits_for_the_users_yes_then_migrates_and_is_fetched_again() {
    let (_url, server, _dir, _keys, client) = session().await;
    {
        let mut s = server.lock().expect("lock");
        s.metadata.version = 2;
        let account = s
            .metadata
            .entities
            .iter_mut()
            .find(|e| e.name == "account")
            .expect("accounts");
        account.attributes.push(AttributeDef {
            name: "x_region".into(),
            label: "Region".into(),
            kind: AttributeKind::Text { max_len: 40 },
            requirement: Requirement::Optional,
            updatable: true,
            secured: false,
        });
    }
    let waiting = client.sync_now().await.expect_err("the sync waits");
    assert!(
        matches!(waiting, CoreError::MetadataPending(2)),
        "a newer metadata is never accepted without the user: {waiting:?}"
    );
    let status = client.session_status().await.expect("status");
    assert_eq!(status.metadata_pending, Some(2));
    assert_eq!(
        client
            .with_store(|s| Ok(s.metadata().version))
            .expect("store"),
        1,
        "the tables are unchanged until the user says yes"
    );
    client.metadata_accept().await.expect("accepted and synced");
    assert_eq!(
        client
            .session_status()
            .await
            .expect("status")
            .metadata_pending,
        None
    );
    let rows = accounts(&client).await;
    assert_eq!(
        rows[0].fields["x_region"].as_deref(),
        Some("North"),
        "the new attribute's value arrived in the page fetched after the migration"
    );
    assert_eq!(
        client
            .with_store(|s| Ok(s.metadata().version))
            .expect("store"),
        2
    );
}

#[tokio::test]
async fn a_download_of_several_pages_reports_its_progress_with_counts_and_time_left() {
    let (url, server) = serve().await;
    server.lock().expect("lock").pages = 6;
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(MemoryKeyStore::default());
    let client = Arc::new(client_open(&dir, &keys));
    let signing_in = tokio::spawn({
        let client = Arc::clone(&client);
        async move {
            client
                .session_sign_in(SignInArgs {
                    server_url: url,
                    username: "fiona".into(),
                    password: "pw".into(),
                    download: None,
                    allow_http: None,
                })
                .await
        }
    });
    let mut seen = Vec::new();
    // Bounded: six pages of 150 ms each, watched every 20 ms.
    for _ in 0..500 {
        if signing_in.is_finished() {
            break;
        }
        if let Ok(status) = client.session_status().await
            && let Some(progress) = status.progress
        {
            seen.push(progress);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = signing_in.await.expect("join").expect("signed in");
    assert!(status.last_sync_at.is_some(), "the download finished");
    assert!(status.progress.is_none(), "no progress once it is over");
    let midway = seen
        .iter()
        .find(|p| p.done > 0 && p.remaining > 0)
        .unwrap_or_else(|| panic!("progress was reported midway: {seen:?}"));
    assert_eq!(
        midway.done + midway.remaining,
        6,
        "counts add up to the download: {midway:?}"
    );
    assert!(
        midway.seconds_left.is_some(),
        "time left is estimated: {midway:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].done <= w[1].done),
        "progress only goes forward: {seen:?}"
    );
    // Each page but the first was asked for while the one before it was written, with the
    // checkpoint stored before it.
    let asked = server.lock().expect("lock").asked_ahead.clone();
    assert_eq!(asked, vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
    let rows = accounts(&client).await;
    assert_eq!(rows.len(), 6, "every page stored once");
}

#[tokio::test]
async fn a_page_the_server_will_not_send_ahead_is_asked_for_again_once_the_one_before_is_stored() {
    let (url, server) = serve().await;
    {
        let mut server = server.lock().expect("lock");
        server.pages = 4;
        server.refuse_ahead = true;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(MemoryKeyStore::default());
    let client = client_open(&dir, &keys);
    let status = sign_in_as(&client, &url, "fiona").await;
    assert!(status.last_sync_at.is_some(), "the download finished");
    assert_eq!(server.lock().expect("lock").asked_ahead.len(), 3);
    let rows = accounts(&client).await;
    assert_eq!(
        rows.len(),
        4,
        "every page stored once, none lost to a refusal"
    );
}

#[tokio::test]
async fn a_scripts_batch_applies_in_one_transaction_and_a_refused_change_leaves_the_rest() {
    let (url, _server) = serve().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(MemoryKeyStore::default());
    let client = signed_in(&url, &dir, &keys).await;
    let field = |name: &str, value: &str| Fields::from([(name.to_owned(), Some(value.to_owned()))]);
    let update = |id: &str, name: &str, value: &str| crate::api::ScriptChange::Update {
        entity: "account".into(),
        id: id.into(),
        fields: field(name, value),
    };
    let results = client
        .script_execute_multiple(crate::api::ScriptBatchArgs {
            changes: vec![
                crate::api::ScriptChange::Create {
                    entity: "account".into(),
                    fields: field("name", "Contoso"),
                },
                update("a1", "address1_city", "Nantes"),
                // No such field: refused, and nothing of it is written.
                update("a1", "no_such_field", "x"),
                update("missing", "name", "Nobody"),
                update("a1", "name", "Fabrikam Ltd"),
            ],
        })
        .await
        .expect("the batch runs");
    let errors: Vec<bool> = results.iter().map(|r| r.error.is_some()).collect();
    assert_eq!(errors, vec![false, false, true, true, false], "{results:?}");
    let created = &results[0].id;
    let rows = accounts(&client).await;
    let a1 = rows.iter().find(|r| r.id == "a1").expect("a1");
    assert_eq!(a1.fields["address1_city"].as_deref(), Some("Nantes"));
    assert_eq!(a1.fields["name"].as_deref(), Some("Fabrikam Ltd"));
    assert!(
        rows.iter().any(|r| &r.id == created),
        "the new account is there"
    );
    // Three changes wait in the outbox, each its own operation.
    let unsent = client.session_unsent().await.expect("unsent");
    assert_eq!(unsent.changes, 3, "{unsent:?}");
    // A batch over the limit is refused whole.
    let too_many = client
        .script_execute_multiple(crate::api::ScriptBatchArgs {
            changes: vec![
                crate::api::ScriptChange::Delete {
                    entity: "account".into(),
                    id: "a1".into(),
                };
                10_001
            ],
        })
        .await
        .expect_err("too many");
    assert!(matches!(too_many, CoreError::Invalid(_)), "{too_many:?}");
}

async fn sign_in_as(client: &Client, url: &str, username: &str) -> crate::api::SessionStatus {
    client
        .session_sign_in(SignInArgs {
            server_url: url.into(),
            username: username.into(),
            password: "pw".into(),
            download: None,
            allow_http: None,
        })
        .await
        .expect("signs in")
}

#[tokio::test]
async fn the_same_user_at_another_spelling_of_the_address_keeps_their_store_and_its_work() {
    let (url, server, _dir, _keys, client) = session().await;
    let first = client.account().expect("an account is open");
    server.lock().expect("lock").conflicts = false;
    edit(&client, "Offline name").await;
    assert_eq!(
        client.session_status().await.expect("status").pending_ops,
        1
    );

    // The same server, spelled with `localhost` and a trailing slash.
    let port = url.rsplit(':').next().expect("a port");
    let status = sign_in_as(&client, &format!("http://localhost:{port}/"), "fiona").await;
    assert_eq!(
        client.account(),
        Some(first),
        "the org is the id its server reports, not the typed address: the same store opens"
    );
    assert_eq!(
        status.pending_ops, 0,
        "the offline edit was sent by the sync after sign-in, not wiped"
    );
    assert_eq!(
        server.lock().expect("lock").pushed.len(),
        1,
        "the edit reached the server once"
    );
}

#[tokio::test]
async fn another_user_gets_a_store_of_their_own_and_the_first_users_work_waits_for_them() {
    let (url, server, dir, keys, client) = session().await;
    let fiona = client.account().expect("fiona's account");
    server.lock().expect("lock").conflicts = true;
    edit(&client, "Fiona's offline name").await;
    client.sync_now().await.expect("a sync");
    assert_eq!(
        client.session_status().await.expect("status").sync_errors,
        1,
        "fiona has a sync error waiting"
    );
    server.lock().expect("lock").conflicts = false;
    edit(&client, "Fiona's second name").await;

    let status = sign_in_as(&client, &url, "bob").await;
    let bob = client.account().expect("bob's account");
    assert_ne!(bob, fiona, "bob has a store of his own");
    assert_ne!(bob.key_id(), fiona.key_id(), "and a key of his own");
    assert_eq!(
        (status.pending_ops, status.sync_errors),
        (0, 0),
        "bob sees none of fiona's work"
    );
    assert!(fiona.db_path().exists(), "fiona's store is still there");
    assert!(
        outpost_store::KeyStore::get(&*keys, &fiona.key_id())
            .expect("keychain")
            .is_some(),
        "and so is her key"
    );
    assert_eq!(
        server.lock().expect("lock").pushed.len(),
        1,
        "nothing of fiona's was sent in bob's session"
    );

    // Fiona's turn again, after an app restart.
    drop(client);
    let client = client_open(&dir, &keys);
    assert_eq!(
        client.account(),
        Some(bob),
        "the app opens the last user's store"
    );
    let status = sign_in_as(&client, &url, "fiona").await;
    assert_eq!(client.account(), Some(fiona), "fiona's own store opens");
    assert_eq!(
        (status.pending_ops, status.sync_errors),
        (2, 1),
        "her sync error is still there, and the edit parked behind it waits"
    );
}

#[tokio::test]
async fn deleting_the_offline_data_with_unsent_work_needs_a_yes_that_names_it() {
    let (_url, _server, _dir, keys, client) = session().await;
    let account = client.account().expect("an account");
    edit(&client, "Offline name").await;
    let unsent = client.session_unsent().await.expect("unsent");
    assert_eq!(unsent.changes, 1);

    let refused = client
        .session_sign_out(crate::api::SignOutArgs {
            wipe: true,
            discard: None,
        })
        .await
        .expect_err("a wipe without a yes is refused");
    assert!(
        matches!(&refused, CoreError::UnsentWork(u) if *u == unsent),
        "the refusal names what would be lost: {refused:?}"
    );
    assert!(
        refused.to_string().contains("1 change"),
        "in words too: {refused}"
    );
    edit(&client, "Another offline name").await;
    let stale = client
        .session_sign_out(crate::api::SignOutArgs {
            wipe: true,
            discard: Some(unsent),
        })
        .await
        .expect_err("a yes for less than there is now is refused");
    assert!(matches!(stale, CoreError::UnsentWork(_)), "got {stale:?}");
    assert!(account.db_path().exists(), "nothing was deleted");

    let now = client.session_unsent().await.expect("unsent");
    client
        .session_sign_out(crate::api::SignOutArgs {
            wipe: true,
            discard: Some(now),
        })
        .await
        .expect("the user's yes for exactly what is unsent deletes it");
    assert!(!account.db_path().exists(), "the store is gone");
    assert!(
        outpost_store::KeyStore::get(&*keys, &account.key_id())
            .expect("keychain")
            .is_none(),
        "and its key"
    );
}

#[tokio::test]
async fn a_wipe_the_server_orders_seals_unsent_work_and_its_user_restores_it() {
    let (url, server, dir, keys, client) = session().await;
    server.lock().expect("lock").conflicts = true;
    edit(&client, "Sealed offline name").await;
    client.sync_now().await.expect("a sync");
    let errors = client.sync_errors().await.expect("sync errors");
    let op_id = errors.first().expect("one sync error").op_id.clone();
    server.lock().expect("lock").conflicts = false;
    edit(&client, "Parked offline name").await;

    server.lock().expect("lock").wipe = true;
    let err = client.sync_now().await.expect_err("the server wipes");
    assert!(matches!(err, CoreError::Wiped), "got {err:?}");
    let status = client.session_status().await.expect("status");
    assert!(!status.offline_data, "the offline data is gone");
    assert_eq!(
        status.recoveries, 1,
        "the unsent work is kept in a recovery file"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("recovery"))
        .expect("the recovery folder")
        .map(|e| e.expect("entry").path())
        .collect();
    let sealed = std::fs::read_to_string(&files[0]).expect("the file");
    assert!(
        !sealed.contains("Sealed offline name") && !sealed.contains("Parked offline name"),
        "nothing of the work is in the clear"
    );
    let file: outpost_protocol::recovery::RecoveryFile =
        serde_json::from_str(&sealed).expect("a recovery file");
    let secret = server.lock().expect("lock").recovery.0;
    let opened = outpost_protocol::recovery::open_as_org(&file, &secret)
        .expect("an administrator of the org opens it with the org's key");
    assert!(
        String::from_utf8_lossy(&opened).contains("Parked offline name"),
        "and reads the work"
    );

    // Offline is back for the user: they sign in and restore their work.
    server.lock().expect("lock").wipe = false;
    server.lock().expect("lock").conflicts = true;
    drop(client);
    let client = client_open(&dir, &keys);
    sign_in_as(&client, &url, "fiona").await;
    let list = client.recovery_list().await.expect("recovery files");
    assert_eq!(list.len(), 1);
    assert!(list[0].restorable, "it is fiona's: she can restore it");
    assert_eq!(
        list[0].unsent,
        Some(crate::api::Unsent {
            changes: 1,
            sync_errors: 1,
            resolutions: 0,
            drafts: 0
        }),
        "the sync error and the edit parked behind it"
    );
    let added = client
        .recovery_restore(crate::api::RecoveryRestoreArgs {
            id: list[0].id.clone(),
        })
        .await
        .expect("restored");
    assert_eq!((added.changes, added.sync_errors), (1, 1));
    let errors = client.sync_errors().await.expect("sync errors");
    assert_eq!(
        errors.first().map(|e| e.op_id.as_str()),
        Some(op_id.as_str()),
        "the sync error is back with its op id, so the server never applies it twice"
    );
    let record = client
        .record_get(crate::api::RecordKey {
            entity: "account".into(),
            id: "a1".into(),
        })
        .await
        .expect("the record");
    assert_eq!(
        record.record.fields["name"].as_deref(),
        Some("Parked offline name"),
        "the user's last edit shows again"
    );
    assert_eq!(
        client.session_status().await.expect("status").recoveries,
        0,
        "the file is gone once restored"
    );
    let again = client
        .recovery_restore(crate::api::RecoveryRestoreArgs {
            id: list[0].id.clone(),
        })
        .await;
    assert!(again.is_err(), "a restored file cannot be restored twice");
}

#[tokio::test]
async fn a_device_reported_lost_deletes_its_users_store_at_its_next_contact() {
    let (_url, server, dir, keys, client) = session().await;
    let account = client.account().expect("an account");
    edit(&client, "Offline name").await;
    server.lock().expect("lock").lost = true;
    let err = client
        .sync_now()
        .await
        .expect_err("the server says the device is lost");
    assert!(matches!(err, CoreError::Wiped), "got {err:?}");
    assert!(!account.db_path().exists(), "the store is gone");
    assert!(
        outpost_store::KeyStore::get(&*keys, &account.key_id())
            .expect("keychain")
            .is_none(),
        "and its key"
    );
    assert!(
        !dir.path().join("recovery").exists(),
        "a lost device keeps nothing, not even a sealed copy"
    );
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed() {
    use super::transport_check;
    assert!(transport_check("https://crm.example.com", false).is_ok());
    assert!(transport_check("http://127.0.0.1:8640", false).is_ok());
    assert!(transport_check("http://localhost:8640", false).is_ok());
    assert!(transport_check("http://[::1]:8640", false).is_ok());
    let refused = transport_check("http://crm.example.com", false).expect_err("refused");
    assert!(
        refused.to_string().contains("unencrypted"),
        "the refusal says why: {refused}"
    );
    assert!(
        transport_check("http://crm.example.com", true).is_ok(),
        "unless allowed"
    );
    assert!(transport_check("ftp://crm.example.com", true).is_err());
}

#[tokio::test]
async fn a_change_of_what_the_user_may_read_applies_on_the_device_at_the_next_sync() {
    let (_url, server, _dir, _keys, client) = session().await;
    let city = |client: &Client| {
        client
            .with_store(|s| Ok(s.record_get("account", "a1")?.fields))
            .expect("a1")
            .get("address1_city")
            .cloned()
            .flatten()
    };
    assert_eq!(city(&client).as_deref(), Some("Lyon"));
    {
        // Field security changes on the server; its page resends nothing (as when the
        // change reaches the pull state later): the access fingerprint alone tells.
        let mut s = server.lock().expect("lock");
        s.unreadable = vec!["address1_city".into()];
        s.access_key = "k2".into();
        s.quiet = true;
    }
    client.sync_now().await.expect("a sync");
    assert_eq!(
        city(&client),
        None,
        "the device fetched the new access and forgot what the user may no longer read"
    );
    assert_eq!(kept(&client, "access_key").as_deref(), Some("k2"));
}

#[tokio::test]
async fn signing_out_closes_the_store_so_the_next_person_sees_nothing_and_the_user_gets_it_back() {
    let (url, server, dir, keys, client) = session().await;
    edit(&client, "Fiona's offline name").await;
    let status = client
        .session_sign_out(crate::api::SignOutArgs::default())
        .await
        .expect("signed out");
    assert_eq!(
        (status.signed_in, status.offline_data, status.username),
        (false, false, None),
        "nothing of fiona's shows after she signs out"
    );
    assert!(
        matches!(
            client
                .record_list(RecordListArgs {
                    entity: "account".into()
                })
                .await,
            Err(CoreError::NotSignedIn)
        ),
        "nor can anything be read or changed without signing in"
    );
    drop(client);
    let client = client_open(&dir, &keys);
    assert!(
        !client.session_status().await.expect("status").offline_data,
        "not after a restart either"
    );
    let status = sign_in_as(&client, &url, "fiona").await;
    assert_eq!(
        status.pending_ops, 0,
        "her kept edit went out at her sign-in"
    );
    assert_eq!(server.lock().expect("lock").pushed.len(), 1);
}

#[tokio::test]
async fn a_lost_device_answer_deletes_the_store_of_the_user_it_was_for_not_the_one_open_now() {
    let (url, _server, _dir, keys, client) = session().await;
    let fiona = client.account().expect("fiona's account");
    sign_in_as(&client, &url, "bob").await;
    let bob = client.account().expect("bob's account");
    // As when fiona's request's answer arrives after bob signed in.
    client.wipe_lost(&fiona.id).expect("wiped");
    assert!(!fiona.db_path().exists(), "fiona's store is gone");
    assert!(
        outpost_store::KeyStore::get(&*keys, &fiona.key_id())
            .expect("keychain")
            .is_none(),
        "with its key"
    );
    assert_eq!(client.account(), Some(bob), "bob's store is still open");
    assert!(
        client.session_status().await.expect("status").signed_in,
        "and bob still signed in"
    );
}

/// Keys kept in memory, counting which ids were asked for.
#[derive(Default)]
struct CountingKeys {
    keys: MemoryKeyStore,
    asked: Mutex<Vec<String>>,
}

impl outpost_store::KeyStore for CountingKeys {
    fn get(
        &self,
        id: &str,
    ) -> Result<Option<outpost_store::DatabaseKey>, outpost_store::StoreError> {
        self.asked.lock().expect("lock").push(id.to_owned());
        self.keys.get(id)
    }
    fn set(
        &self,
        id: &str,
        key: &outpost_store::DatabaseKey,
    ) -> Result<(), outpost_store::StoreError> {
        self.keys.set(id, key)
    }
    fn delete(&self, id: &str) -> Result<(), outpost_store::StoreError> {
        self.keys.delete(id)
    }
}

#[tokio::test]
async fn another_users_sign_in_finds_stores_by_their_tags_without_opening_any() {
    let (url, _server) = serve().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(CountingKeys::default());
    let client = Client::open(ClientConfig {
        data_dir: dir.path().to_owned(),
        keys: Arc::clone(&keys) as Arc<dyn outpost_store::KeyStore>,
        default_server_url: None,
        notifier: None,
        env: Default::default(),
        installer: None,
    })
    .expect("opens");
    sign_in_as(&client, &url, "fiona").await;
    let fiona = client.account().expect("fiona's account");
    sign_in_as(&client, &url, "bob").await;
    keys.asked.lock().expect("lock").clear();
    sign_in_as(&client, &url, "carol").await;
    let asked = keys.asked.lock().expect("lock").clone();
    assert!(
        !asked.contains(&fiona.key_id()),
        "carol's sign-in never asked for fiona's key, so never opened her store: {asked:?}"
    );
    let found = client.accounts().find(
        &*keys,
        super::Who::Named {
            org_id: "org-1",
            username: "fiona",
        },
    );
    assert_eq!(
        found.map(|(account, _)| account),
        Some(fiona),
        "fiona's store is known by its tags"
    );
    assert!(
        client
            .accounts()
            .find(
                &*keys,
                super::Who::Named {
                    org_id: "another-org",
                    username: "fiona",
                },
            )
            .is_none(),
        "and only in her org"
    );
}

#[tokio::test]
async fn a_user_whose_store_lost_its_key_signs_in_to_a_fresh_one_and_the_old_one_stays() {
    let (url, _server, _dir, keys, client) = session().await;
    let old = client.account().expect("fiona's account");
    sign_in_as(&client, &url, "bob").await;
    outpost_store::KeyStore::delete(&*keys, &old.key_id()).expect("forget her key");
    let status = sign_in_as(&client, &url, "fiona").await;
    assert!(status.signed_in, "fiona signs in");
    let new = client.account().expect("an account");
    assert_ne!(new, old, "to a fresh store");
    assert!(old.db_path().exists(), "the unreadable one is not deleted");
}

#[tokio::test]
async fn an_answer_that_arrives_after_another_user_signed_in_reaches_only_the_user_who_asked() {
    let (url, server, _dir, keys, client) = session().await;
    let client = Arc::new(client);
    let fiona = client.account().expect("fiona's account");
    {
        let mut s = server.lock().expect("lock");
        let token = s.access.clone();
        s.lost_tokens.insert(token);
        s.record_delay_ms = 1_500;
    }
    // Fiona opens a record online; its answer (her device was reported lost) comes late.
    let asked = tokio::spawn({
        let client = Arc::clone(&client);
        async move {
            client
                .recent_open(crate::api::RecordKey {
                    entity: "account".into(),
                    id: "online".into(),
                })
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    sign_in_as(&client, &url, "bob").await;
    let bob = client.account().expect("bob's account");
    let answer = asked.await.expect("the request ran");
    assert!(matches!(answer, Err(CoreError::Wiped)), "{answer:?}");
    assert!(
        !fiona.db_path().exists(),
        "fiona's store went, as her answer said"
    );
    assert!(
        outpost_store::KeyStore::get(&*keys, &fiona.key_id())
            .expect("keychain")
            .is_none()
    );
    assert_eq!(client.account(), Some(bob), "bob's store is open still");
    let status = client.session_status().await.expect("status");
    assert!(status.signed_in, "and bob signed in: {status:?}");
    assert!(
        client
            .recent_list(crate::api::RecentListArgs { entity: None })
            .await
            .expect("recent")
            .is_empty(),
        "nothing of fiona's reached bob's store"
    );
}

#[tokio::test]
async fn the_work_of_a_store_whose_key_comes_back_joins_the_store_in_use() {
    use outpost_store::KeyStore as _;
    let (url, _server, dir, keys, client) = session().await;
    let old = client.account().expect("fiona's account");
    edit(&client, "Made in the old store").await;
    // The keychain loses her key (it is kept aside here); the app starts again.
    let key = keys.get(&old.key_id()).expect("keychain").expect("her key");
    keys.delete(&old.key_id()).expect("forget her key");
    drop(client);
    let client = client_open(&dir, &keys);
    let status = client.session_status().await.expect("status");
    assert_eq!(
        status.signed_out_reason,
        Some(SignedOutReason::StoreLocked),
        "{status:?}"
    );
    assert!(sign_in_as(&client, &url, "fiona").await.signed_in);
    let new = client.account().expect("a fresh store");
    assert_ne!(new, old);
    edit(&client, "Made in the new store").await;
    // The key comes back; the app starts again.
    keys.set(&old.key_id(), &key).expect("the key is back");
    drop(client);
    let client = client_open(&dir, &keys);
    assert_eq!(
        client.account(),
        Some(new),
        "the store she worked in last opens"
    );
    let outbox = client.sync_outbox().await.expect("the outbox");
    assert_eq!(
        outbox.len(),
        2,
        "the old store's edit waits beside the new one's: {outbox:?}"
    );
    assert!(
        !old.db_path().exists(),
        "the old store goes once its work moved"
    );
}

#[tokio::test]
async fn a_refused_online_save_carries_the_servers_reason_to_the_ui() {
    let (_url, server, _dir, _keys, client) = session().await;
    let draft = client
        .draft_create(crate::api::RecordCreateArgs {
            entity: "account".into(),
            fields: Fields::from([("name".to_owned(), Some("Drafted".to_owned()))]),
        })
        .await
        .expect("a draft");
    for (status, code, kind) in [
        (StatusCode::BAD_REQUEST, "invalid", ErrorCode::InvalidInput),
        (StatusCode::FORBIDDEN, "forbidden", ErrorCode::Forbidden),
        (StatusCode::CONFLICT, "invalid_state", ErrorCode::Refused),
        (StatusCode::NOT_FOUND, "not_found", ErrorCode::NotFound),
        // A code from a newer server: still its message, as a refusal of the server's.
        (StatusCode::CONFLICT, "quota_exceeded", ErrorCode::Server),
    ] {
        server.lock().expect("lock").create_refusal = (status, code);
        let refused = client
            .draft_save(crate::api::DraftKey {
                id: draft.id.clone(),
            })
            .await
            .expect_err("the stand-in refuses every create");
        let message = format!("the stand-in refuses this create ({code})");
        assert_eq!(
            ApiError::from(refused),
            ApiError {
                code: kind,
                message: message.clone(),
            },
            "{code}"
        );
        let kept = client.draft_list().await.expect("drafts");
        assert_eq!(
            kept.iter().map(|d| d.error.as_deref()).collect::<Vec<_>>(),
            [Some(message.as_str())],
            "the draft stays with the server's reason ({code})"
        );
    }
}

/// Store work blocks (SQLCipher, the keychain, the lock), so it must not hold the async
/// executor: on a runtime with one worker, a task spawned while a store call is under way
/// still runs — the worker hands its tasks on before it blocks. Before, the call waited
/// for a task that could never run (here bounded by a 10 s wait; the answer is no then).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn store_work_leaves_the_executor_to_the_other_tasks() {
    let (_url, _server, _dir, _keys, client) = session().await;
    let client = Arc::new(client);
    let on_worker = client.clone();
    let other_task_ran = tokio::spawn(async move {
        on_worker.with_store(|_| {
            let (tx, rx) = std::sync::mpsc::channel();
            tokio::spawn(async move {
                let _ = tx.send(());
            });
            Ok(rx.recv_timeout(std::time::Duration::from_secs(10)).is_ok())
        })
    })
    .await
    .expect("the task")
    .expect("the store");
    assert!(
        other_task_ran,
        "a task spawned during store work ran while it went on"
    );
}
