//! The browser bridge: the same client API over HTTP, for a plain browser (development,
//! end-to-end tests, a machine with no display). `POST /api/invoke/{command}` runs one of
//! [`crate::commands`] with its arguments as JSON and answers its result, or
//! `{code, message}` with a 4xx/5xx status; every other path serves the built UI.
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

use crate::Client;
use crate::api::{ApiError, ErrorCode};

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
    // Answers go out at once (no Nagle wait for the browser's delayed acknowledgement).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
    });
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
        Ok(args) => crate::commands::dispatch(&client, &command, args).await,
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
        ErrorCode::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::Server => StatusCode::BAD_GATEWAY,
        ErrorCode::UpdateRequired => StatusCode::UPGRADE_REQUIRED,
        ErrorCode::WrongKey | ErrorCode::Keychain | ErrorCode::Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
