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
        "record_list" => json(client.record_list(parse(args)?).await),
        "record_update" => json(client.record_update(parse(args)?).await),
        "sync_now" => json(client.sync_now().await),
        other => Err(ApiError {
            code: ErrorCode::NotFound,
            message: format!("no command `{other}`"),
        }),
    }
}

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
