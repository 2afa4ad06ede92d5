//! The org server over HTTP: one method per endpoint, errors sorted into what the sync
//! engine and the UI act on (unreachable, unauthorized, refused).
//!
//! Requests go through a [`Transport`]: HTTP over `reqwest` in the app, or whatever a
//! caller plugs in through [`crate::ClientConfig::transport`] — the simulation
//! (`crates/sim`) plugs in the real server's router behind a simulated network. What is
//! sent and how answers are read stays here, the same for both.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use outpost_protocol::{
    API_PREFIX, CreateBody, ErrorBody, LoginRequest, LoginResponse, MetadataResponse, PullRequest,
    PullResponse, PushRequest, PushResponse, RecordBody, RefreshRequest, ResolutionAction,
    ResolveRequest, SyncErrorInfo, WireCode,
};

use crate::CoreError;

/// One request to the org server, as the client sends it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST` or `PATCH`.
    pub method: &'static str,
    /// The whole address, with its query.
    pub url: String,
    /// The access token, when the endpoint needs one.
    pub bearer: Option<String>,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
    /// The field app's version, sent with the protocol it speaks on every request
    /// (`outpost-app-version`, `outpost-protocol`): a server answers an app too old for
    /// it `update_required`. `None` for what is not the field app (the simulation's console).
    pub app_version: Option<String>,
}

impl HttpRequest {
    /// The headers that say which app asks, when it is the field app.
    pub fn version_headers(&self) -> Vec<(&'static str, String)> {
        self.app_version
            .iter()
            .flat_map(|version| app_headers(version))
            .collect()
    }
}

/// The field app's version and the protocol it speaks, as headers.
fn app_headers(version: &str) -> [(&'static str, String); 2] {
    [
        (outpost_protocol::APP_VERSION_HEADER, version.to_owned()),
        (
            outpost_protocol::PROTOCOL_HEADER,
            outpost_protocol::PROTOCOL_VERSION.to_string(),
        ),
    ]
}

/// The server's whole answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, decompressed.
    pub body: Vec<u8>,
}

/// What a transport's future answers: the response, or why none came (the request may or
/// may not have reached the server — pushes are idempotent by op id for that reason).
pub type Sent = Pin<Box<dyn Future<Output = Result<HttpResponse, String>> + Send>>;

/// How requests reach the org server.
pub trait Transport: Send + Sync {
    /// Sends `request` and answers the server's response, or why none came.
    fn send(&self, request: HttpRequest) -> Sent;
}

/// HTTP over the network.
struct Reqwest(reqwest::Client);

impl Transport for Reqwest {
    fn send(&self, request: HttpRequest) -> Sent {
        let http = self.0.clone();
        Box::pin(async move {
            let mut builder = match request.method {
                "POST" => http.post(&request.url),
                "PATCH" => http.patch(&request.url),
                _ => http.get(&request.url),
            }
            .timeout(request.timeout);
            if let Some(token) = &request.bearer {
                builder = builder.bearer_auth(token);
            }
            for (name, value) in request.version_headers() {
                builder = builder.header(name, value);
            }
            if let Some(body) = request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
            }
            let res = builder.send().await.map_err(|e| describe(&e))?;
            let status = res.status().as_u16();
            let body = res.bytes().await.map_err(|e| describe(&e))?;
            Ok(HttpResponse {
                status,
                body: body.to_vec(),
            })
        })
    }
}

/// The TLS connector with the system's trusted certificates (`None` when they cannot be
/// read: reqwest then makes its own and says why on the first request).
pub(crate) fn tls() -> Option<native_tls::TlsConnector> {
    native_tls::TlsConnector::new()
        .inspect_err(|e| tracing::warn!(error = %e, "the system's TLS settings"))
        .ok()
}

/// The network transport every client uses unless told otherwise: a client of its own (its
/// connections live as long as the exchange it serves: a sync run, a probe), with the TLS
/// connector made once.
pub(crate) fn http(
    tls: Option<&native_tls::TlsConnector>,
) -> Result<Arc<dyn Transport>, CoreError> {
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        builder = builder.tls_backend_preconfigured(tls.clone());
    }
    let http = builder
        .build()
        .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
    Ok(Arc::new(Reqwest(http)))
}

/// How long an ordinary exchange may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to one org server.
#[derive(Clone)]
pub(crate) struct Remote {
    transport: Arc<dyn Transport>,
    base: String,
    app_version: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("base", &self.base).finish()
    }
}

impl Remote {
    pub(crate) fn new(
        server_url: &str,
        transport: Arc<dyn Transport>,
        app_version: String,
    ) -> Result<Self, CoreError> {
        let base = server_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::Invalid(format!(
                "the server address must start with http:// or https://, got `{server_url}`"
            )));
        }
        Ok(Self {
            transport,
            base,
            app_version,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    fn request(&self, method: &'static str, path: &str, token: Option<&str>) -> HttpRequest {
        HttpRequest {
            method,
            url: self.url(path),
            bearer: token.map(str::to_owned),
            body: None,
            timeout: TIMEOUT,
            app_version: Some(self.app_version.clone()),
        }
    }

    fn get(&self, path: &str, token: Option<&str>) -> HttpRequest {
        self.request("GET", path, token)
    }

    fn post<B: serde::Serialize>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<HttpRequest, CoreError> {
        self.with_body("POST", path, token, body)
    }

    fn with_body<B: serde::Serialize>(
        &self,
        method: &'static str,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<HttpRequest, CoreError> {
        let mut request = self.request(method, path, token);
        request.body = Some(serde_json::to_vec(body).map_err(anyhow::Error::from)?);
        Ok(request)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: HttpRequest,
    ) -> Result<T, CoreError> {
        decode(self.transport.send(request).await)
    }

    /// `GET /health` with a short timeout: is the server there?
    pub(crate) async fn probe(&self) -> bool {
        let mut request = self.get("/health", None);
        request.timeout = Duration::from_secs(3);
        self.transport
            .send(request)
            .await
            .is_ok_and(|r| (200..300).contains(&r.status))
    }

    /// The org the server says it is (`GET /health`); `None` from a server older than org
    /// ids.
    pub(crate) async fn org_id(&self) -> Result<Option<String>, CoreError> {
        #[derive(serde::Deserialize)]
        struct Health {
            #[serde(default)]
            org_id: Option<String>,
        }
        let health: Health = self.call(self.get("/health", None)).await?;
        Ok(health.org_id.filter(|id| !id.is_empty()))
    }

    pub(crate) async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, CoreError> {
        self.call(self.post("/auth/login", None, req)?).await
    }

    /// Trades the refresh token for a new pair; the old refresh token stops working.
    pub(crate) async fn refresh(&self, req: &RefreshRequest) -> Result<LoginResponse, CoreError> {
        self.call(self.post("/auth/refresh", None, req)?).await
    }

    /// The org's metadata and the caller's access.
    pub(crate) async fn metadata(&self, token: &str) -> Result<MetadataResponse, CoreError> {
        self.call(self.get("/metadata", Some(token))).await
    }

    pub(crate) async fn pull(
        &self,
        token: &str,
        req: &PullRequest,
    ) -> Result<PullResponse, CoreError> {
        let query = serde_urlencoded::to_string(req).map_err(anyhow::Error::from)?;
        let mut request = self.get("/sync/pull", Some(token));
        if !query.is_empty() {
            request.url = format!("{}?{query}", request.url);
        }
        self.call(request).await
    }

    pub(crate) async fn push(
        &self,
        token: &str,
        req: &PushRequest,
    ) -> Result<PushResponse, CoreError> {
        self.call(self.post("/sync/push", Some(token), req)?).await
    }
}

impl Remote {
    /// The update the org offers this app (`GET /app/update`), `None` when there is none
    /// (`204`).
    pub(crate) async fn update_offer(
        &self,
        token: &str,
        platform: &str,
        current: &str,
    ) -> Result<Option<outpost_protocol::release::UpdateOffer>, CoreError> {
        let query = serde_urlencoded::to_string([("platform", platform), ("current", current)])
            .map_err(anyhow::Error::from)?;
        let mut request = self.get("/app/update", Some(token));
        request.url = format!("{}?{query}", request.url);
        let sent = self.transport.send(request).await;
        if matches!(&sent, Ok(res) if res.status == 204) {
            return Ok(None);
        }
        decode(sent).map(Some)
    }

    /// The whole address of a path the server named (`/api/v1/…`).
    pub(crate) fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the field app's requests say about it, as headers: the access token and its
    /// versions (for the updater's download, which goes around this transport).
    pub(crate) fn headers_for(&self, token: &str) -> Vec<(String, String)> {
        let mut headers = vec![("authorization".to_owned(), format!("Bearer {token}"))];
        headers.extend(
            app_headers(&self.app_version)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        );
        headers
    }
}

impl Remote {
    /// Ends the session on the server (its tokens stop working).
    pub(crate) async fn logout(&self, token: &str) -> Result<(), CoreError> {
        let res = self
            .transport
            .send(self.request("POST", "/auth/logout", Some(token)))
            .await
            .map_err(CoreError::Unreachable)?;
        if (200..300).contains(&res.status) || res.status == 401 {
            Ok(())
        } else {
            Err(CoreError::Server {
                code: res.status.to_string(),
                message: "signing out failed".into(),
            })
        }
    }

    /// Resolves the sync error of this device's operation `op_id` on the server.
    pub(crate) async fn resolve_op(
        &self,
        token: &str,
        op_id: &str,
        action: ResolutionAction,
    ) -> Result<SyncErrorInfo, CoreError> {
        let path = format!("/sync/ops/{op_id}/resolve");
        self.call(self.post(&path, Some(token), &ResolveRequest { action })?)
            .await
    }
}

impl Remote {
    /// One record as the signed-in user may read it (`GET /records/{entity}/{id}`).
    pub(crate) async fn record_get(
        &self,
        token: &str,
        entity: &str,
        id: &str,
    ) -> Result<RecordBody, CoreError> {
        self.call(self.get(&format!("/records/{entity}/{id}"), Some(token)))
            .await
    }

    /// Changes fields of a record online (`PATCH /records/{entity}/{id}`).
    pub(crate) async fn record_update(
        &self,
        token: &str,
        entity: &str,
        id: &str,
        changes: &outpost_domain::Fields,
    ) -> Result<RecordBody, CoreError> {
        let body = serde_json::json!({ "changes": changes });
        self.call(self.with_body(
            "PATCH",
            &format!("/records/{entity}/{id}"),
            Some(token),
            &body,
        )?)
        .await
    }

    /// Creates a record online with the id given (`POST /records/{entity}`).
    pub(crate) async fn record_create(
        &self,
        token: &str,
        entity: &str,
        body: &CreateBody,
    ) -> Result<RecordBody, CoreError> {
        self.call(self.post(&format!("/records/{entity}"), Some(token), body)?)
            .await
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    sent: Result<HttpResponse, String>,
) -> Result<T, CoreError> {
    // Failing to connect, or losing the connection before a whole answer arrived, both
    // mean "offline": the request may or may not have reached the server, which is why
    // pushes are idempotent by op id.
    let res = sent.map_err(CoreError::Unreachable)?;
    let status = res.status;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&res.body).map_err(|e| {
            CoreError::Other(anyhow::anyhow!("the server's answer is not valid: {e}"))
        });
    }
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let body: ErrorBody = serde_json::from_slice(&res.body).unwrap_or_else(|_| ErrorBody {
        code: status.to_string(),
        message: reason.to_owned(),
        fields: Vec::new(),
    });
    if status == 401 {
        // An expired access token is worth one refresh; a lost device deletes its data;
        // anything else ends the session.
        return Err(match body.wire_code() {
            Some(WireCode::TokenExpired) => CoreError::TokenExpired,
            Some(WireCode::DeviceWipe) => CoreError::DeviceWipe,
            _ => CoreError::Unauthorized,
        });
    }
    if body.wire_code() == Some(WireCode::UpdateRequired) {
        // Too old for this server or org: nothing was done, and nothing is dropped.
        return Err(CoreError::UpdateRequired(body.message));
    }
    if status > 500 {
        // 502/503/504 come from proxies in front of a server that is down.
        return Err(CoreError::Unreachable(format!("{status} {reason}")));
    }
    Err(CoreError::Server {
        code: body.code,
        message: body.message,
    })
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
