//! The browser bridge: the same client API over HTTP, for a plain browser (development,
//! end-to-end tests, a machine with no display). `POST /api/invoke/{command}` takes the
//! command's arguments as JSON and answers its result, or `{code, message}` with a 4xx/5xx
//! status; every other path serves the built UI.
//!
//! It has no authentication of its own, so it only ever listens on loopback and refuses
//! requests whose `Host` is not a loopback name (a web page elsewhere cannot reach it
//! through DNS rebinding).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
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
        "sign out [wipe=true] [discard_pending=true]",
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

/// The bridge's routes over `client`, serving the UI from `ui_dir` (the built `ui/dist`).
pub fn router(client: Arc<Client>, ui_dir: &Path) -> Router {
    let ui = ServeDir::new(ui_dir).fallback(ServeFile::new(ui_dir.join("index.html")));
    Router::new()
        .route("/api/invoke/{command}", post(invoke))
        .fallback_service(ui)
        .layer(axum::middleware::from_fn(loopback_host_only))
        .with_state(client)
}

/// Serves the bridge on `addr` until `shutdown` resolves. Refuses non-loopback addresses.
pub async fn serve(
    client: Arc<Client>,
    ui_dir: &Path,
    addr: SocketAddr,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the bridge only listens on loopback, not {addr}"
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_listening(listener.local_addr()?);
    axum::serve(listener, router(client, ui_dir))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Requiring JSON makes a cross-site form post (which cannot set it) fail preflight.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let args = if body.is_empty() {
        Ok(Value::Object(serde_json::Map::new()))
    } else if !is_json {
        Err(ApiError {
            code: ErrorCode::InvalidInput,
            message: "send arguments as application/json".into(),
        })
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
        ErrorCode::NotSignedIn | ErrorCode::Unauthorized | ErrorCode::Wiped => {
            StatusCode::UNAUTHORIZED
        }
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidInput | ErrorCode::Refused => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::MetadataPending => StatusCode::CONFLICT,
        ErrorCode::ServerUnreachable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Server => StatusCode::BAD_GATEWAY,
        ErrorCode::WrongKey | ErrorCode::Keychain | ErrorCode::Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
