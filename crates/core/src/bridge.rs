//! The browser bridge: the same client API over HTTP, for a plain browser (development,
//! end-to-end tests, a machine with no display). `POST /api/invoke/{command}` takes the
//! command's arguments as JSON and answers its result, or `{code, message}` with a 4xx/5xx
//! status; every other path serves the built UI.
//!
//! It speaks for the signed-in user, so it is guarded like any server that does:
//! - it only listens on loopback and only answers loopback `Host` names (no DNS rebinding);
//! - every command needs the run's secret [`BridgeKey`] as `Authorization: Bearer …`: it
//!   is random per run and printed only in the address the user opens
//!   (`http://127.0.0.1:PORT/#key=…`; a fragment, so it never reaches a server log or
//!   a `Referer`), from which the UI keeps it for the tab. Another OS user on the machine
//!   can connect to the port, but cannot know the key;
//! - a browser's cross-origin request is refused (`Origin` must be the bridge itself,
//!   `Sec-Fetch-Site` same-origin), and every command takes JSON only, so a web page
//!   elsewhere can neither read nor fire one (a cross-site form cannot set the type or the
//!   key without a preflight the bridge never grants).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::RngCore as _;
use serde_json::Value;
use tower_http::services::{ServeDir, ServeFile};

use crate::api::{ApiError, ErrorCode};
use crate::{Client, CoreError};

/// Runs one client command by name; the Tauri shell exposes the same names as commands.
pub async fn dispatch(client: &Client, command: &str, args: Value) -> Result<Value, ApiError> {
    fn parse<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, ApiError> {
        serde_json::from_value(args).map_err(|e| ApiError {
            code: ErrorCode::InvalidInput,
            message: format!("invalid arguments: {e}"),
        })
    }
    fn json<T: serde::Serialize>(result: Result<T, CoreError>) -> Result<Value, ApiError> {
        let value = result.map_err(ApiError::from)?;
        serde_json::to_value(value).map_err(|e| ApiError {
            code: ErrorCode::Internal,
            message: e.to_string(),
        })
    }
    match command {
        "session_status" => json(client.session_status().await),
        "session_sign_in" => json(client.session_sign_in(parse(args)?).await),
        "session_sign_out" => json(client.session_sign_out(parse(args)?).await),
        "session_unsent" => json(client.session_unsent().await),
        "recovery_list" => json(client.recovery_list().await),
        "recovery_restore" => json(client.recovery_restore(parse(args)?).await),
        "app_modules" => json(client.app_modules().await),
        "metadata_get" => json(client.metadata_get().await),
        "metadata_accept" => json(client.metadata_accept().await),
        "view_list" => json(client.view_list(parse(args)?).await),
        "view_page" => json(client.view_page(parse(args)?).await),
        "record_list" => json(client.record_list(parse(args)?).await),
        "record_get" => json(client.record_get(parse(args)?).await),
        "record_why" => json(client.record_why(parse(args)?).await),
        "record_create" | "script_create" => json(client.record_create(parse(args)?).await),
        "record_update" | "script_update" => json(client.record_update(parse(args)?).await),
        "record_delete" | "script_delete" => json(client.record_delete(parse(args)?).await),
        "command_run" => json(client.command_run(parse(args)?).await),
        "search" => json(client.search(parse(args)?).await),
        "lookup_search" => json(client.lookup_search(parse(args)?).await),
        "sync_now" => json(client.sync_now().await),
        "sync_status" => json(client.sync_status().await),
        "sync_errors" => json(client.sync_errors().await),
        "sync_error_resolve" => json(client.sync_error_resolve(parse(args)?).await),
        "server_probe" => json(client.server_probe().await),
        "script_is_offline_enabled" => json(client.script_is_offline_enabled(parse(args)?).await),
        "script_retrieve" => json(
            client
                .record_get(parse(args)?)
                .await
                .map(|detail| detail.record.fields),
        ),
        "script_retrieve_multiple" => json(client.script_retrieve_multiple(parse(args)?).await),
        "recent_open" => json(client.recent_open(parse(args)?).await),
        "recent_list" => json(client.recent_list(parse(args)?).await),
        "draft_list" => json(client.draft_list().await),
        "draft_create" => json(client.draft_create(parse(args)?).await),
        "draft_update" => json(client.draft_update(parse(args)?).await),
        "draft_delete" => json(client.draft_delete(parse(args)?).await),
        "draft_save" => json(client.draft_save(parse(args)?).await),
        other => Err(ApiError {
            code: ErrorCode::NotFound,
            message: format!("no command `{other}`"),
        }),
    }
}

/// Every command [`dispatch`] knows, with what it does: the CLI's subcommands and the
/// Tauri shell's commands are these names.
pub const COMMANDS: &[(&str, &str)] = &[
    ("session_status", "who is signed in and how sync stands"),
    ("session_sign_in", "sign in: server_url, username, password"),
    (
        "session_sign_out",
        "sign out [wipe=true [discard.changes=N discard.sync_errors=N discard.resolutions=N discard.drafts=N]]",
    ),
    (
        "session_unsent",
        "what deleting the offline data would lose: changes, sync errors, resolutions, drafts",
    ),
    (
        "recovery_list",
        "sealed recovery files: work a wipe ordered by the server could not send",
    ),
    (
        "recovery_restore",
        "put a recovery file's work back into your outbox: id",
    ),
    ("app_modules", "the app modules you may open"),
    (
        "metadata_get",
        "the org metadata the local database is made from",
    ),
    (
        "metadata_accept",
        "accept the metadata update that waits, then sync",
    ),
    ("view_list", "the system views of an entity: entity"),
    (
        "view_page",
        "a page of a view: entity [view_id] [search] [after] [limit]",
    ),
    ("record_list", "every local record of an entity: entity"),
    (
        "record_get",
        "one record with its form's extras: entity, id",
    ),
    ("record_why", "why a record is on this device: entity, id"),
    (
        "record_create",
        "create a record: entity, fields.<name>=<value>…",
    ),
    (
        "record_update",
        "change a record: entity, id, fields.<name>=<value>…",
    ),
    ("record_delete", "delete a record: entity, id"),
    (
        "command_run",
        "a command or flow move: command=<lead_qualify|…> and its fields",
    ),
    (
        "search",
        "search quick-find columns: text [entities] [limit]",
    ),
    (
        "lookup_search",
        "the choices of a lookup: entity, field [text] [limit]",
    ),
    (
        "sync_now",
        "send offline work and fetch the server's changes",
    ),
    (
        "sync_status",
        "the footer's status: state, entities, last sync",
    ),
    ("sync_errors", "the changes the server refused"),
    (
        "sync_error_resolve",
        "resolve one: op_id, resolution.action=keep_mine|take_server|resubmit",
    ),
    ("server_probe", "is the server reachable now"),
    ("script_is_offline_enabled", "scripting API: entity"),
    (
        "script_create",
        "scripting API: entity, fields.<name>=<value>…",
    ),
    ("script_retrieve", "scripting API: entity, id"),
    (
        "script_retrieve_multiple",
        "scripting API: entity, options=?$select=…&$filter=…",
    ),
    (
        "script_update",
        "scripting API: entity, id, fields.<name>=<value>…",
    ),
    ("script_delete", "scripting API: entity, id"),
    (
        "recent_open",
        "drafts modules: open a record (server online, kept for offline): entity, id",
    ),
    (
        "recent_list",
        "drafts modules: the recently used records kept offline [entity]",
    ),
    (
        "draft_list",
        "drafts modules: the drafts waiting to be saved",
    ),
    (
        "draft_create",
        "drafts modules: a new record as a draft: entity, fields.<name>=<value>…",
    ),
    (
        "draft_update",
        "drafts modules: change a draft: id, fields.<name>=<value>…",
    ),
    ("draft_delete", "drafts modules: delete a draft: id"),
    (
        "draft_save",
        "drafts modules: save one draft to the server (online): id",
    ),
];

/// The secret of one bridge run: 256 random bits, needed by every command.
#[derive(Clone, PartialEq, Eq)]
pub struct BridgeKey(String);

impl std::fmt::Debug for BridgeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BridgeKey(..)")
    }
}

impl BridgeKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The key as sent (`Authorization: Bearer <key>`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address the user opens: the bridge, with the key in the fragment.
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/#key={}", self.0)
    }

    /// Whether `presented` is the key, compared in constant time.
    fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The bridge's routes over `client`, serving the UI from `ui_dir` (the built `ui/dist`);
/// commands need `key`.
pub fn router(client: Arc<Client>, ui_dir: &Path, key: BridgeKey) -> Router {
    let ui = ServeDir::new(ui_dir).fallback(ServeFile::new(ui_dir.join("index.html")));
    Router::new()
        .route("/api/invoke/{command}", post(invoke))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(key),
            commands_guard,
        ))
        .fallback_service(ui)
        .layer(axum::middleware::from_fn(loopback_host_only))
        .with_state(client)
}

/// Serves the bridge on `addr` until `shutdown` resolves, with a fresh key; `on_listening`
/// learns the address and the key (`key.url(addr)` is what the user opens). Refuses
/// non-loopback addresses.
pub async fn serve(
    client: Arc<Client>,
    ui_dir: &Path,
    addr: SocketAddr,
    on_listening: impl FnOnce(SocketAddr, &BridgeKey),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the bridge only listens on loopback, not {addr}"
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let key = BridgeKey::generate();
    on_listening(listener.local_addr()?, &key);
    axum::serve(listener, router(client, ui_dir, key))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A refusal of the bridge's own, as `{code, message}`.
fn refused(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        axum::Json(ApiError {
            code,
            message: message.to_owned(),
        }),
    )
        .into_response()
}

/// Lets a command through only from the bridge's own page (or a program, which sends no
/// `Origin`), as JSON, with the run's key.
async fn commands_guard(
    State(key): State<Arc<BridgeKey>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).unwrap_or("");
    if let Some(origin) = text(header::ORIGIN)
        && origin != format!("http://{host}")
    {
        return refused(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "the bridge refuses requests from other sites",
        );
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return refused(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "the bridge refuses requests from other sites",
        );
    }
    if !text(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("application/json")) {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidInput,
            "send commands as application/json",
        );
    }
    let presented = text(header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !key.matches(presented) {
        return refused(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BridgeKey,
            "open the address `outpost bridge` printed when it started: it carries the key this page needs",
        );
    }
    next.run(req).await
}

async fn loopback_host_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if matches!(name, "127.0.0.1" | "localhost" | "[::1]") {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the bridge only answers loopback hosts",
        )
            .into_response()
    }
}

async fn invoke(
    State(client): State<Arc<Client>>,
    UrlPath(command): UrlPath<String>,
    body: Bytes,
) -> Response {
    // The guard let only JSON through; an empty body means no arguments.
    let args = if body.is_empty() {
        Ok(Value::Object(serde_json::Map::new()))
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError {
            code: ErrorCode::InvalidInput,
            message: format!("the body is not JSON: {e}"),
        })
    };
    let result = match args {
        Ok(args) => dispatch(&client, &command, args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => (status_of(e.code), axum::Json(e)).into_response(),
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotSignedIn
        | ErrorCode::Unauthorized
        | ErrorCode::Wiped
        | ErrorCode::BridgeKey => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidInput | ErrorCode::Refused => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::MetadataPending | ErrorCode::UnsentWork => StatusCode::CONFLICT,
        ErrorCode::ServerUnreachable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Server => StatusCode::BAD_GATEWAY,
        ErrorCode::WrongKey | ErrorCode::Keychain | ErrorCode::Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
