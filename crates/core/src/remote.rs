//! The org server over HTTP: one method per endpoint, errors sorted into what the sync
//! engine and the UI act on (unreachable, unauthorized, refused).

use std::time::Duration;

use outpost_protocol::{
    API_PREFIX, CreateBody, ErrorBody, LoginRequest, LoginResponse, MetadataResponse, PullRequest,
    PullResponse, PushRequest, PushResponse, RecordBody, RefreshRequest, ResolutionAction,
    ResolveRequest, SyncErrorInfo, WireCode,
};
use reqwest::StatusCode;

use crate::CoreError;

/// A connection to one org server.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    http: reqwest::Client,
    base: String,
}

impl Remote {
    pub(crate) fn new(server_url: &str) -> Result<Self, CoreError> {
        let base = server_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::Invalid(format!(
                "the server address must start with http:// or https://, got `{server_url}`"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        Ok(Self { http, base })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    /// `GET /health` with a short timeout: is the server there?
    pub(crate) async fn probe(&self) -> bool {
        self.http
            .get(self.url("/health"))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// The org the server says it is (`GET /health`); `None` from a server older than org
    /// ids.
    pub(crate) async fn org_id(&self) -> Result<Option<String>, CoreError> {
        #[derive(serde::Deserialize)]
        struct Health {
            #[serde(default)]
            org_id: Option<String>,
        }
        let health: Health = decode(self.http.get(self.url("/health")).send().await).await?;
        Ok(health.org_id.filter(|id| !id.is_empty()))
    }

    pub(crate) async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, CoreError> {
        decode(
            self.http
                .post(self.url("/auth/login"))
                .json(req)
                .send()
                .await,
        )
        .await
    }

    /// Trades the refresh token for a new pair; the old refresh token stops working.
    pub(crate) async fn refresh(&self, req: &RefreshRequest) -> Result<LoginResponse, CoreError> {
        decode(
            self.http
                .post(self.url("/auth/refresh"))
                .json(req)
                .send()
                .await,
        )
        .await
    }

    /// The org's metadata and the caller's access.
    pub(crate) async fn metadata(&self, token: &str) -> Result<MetadataResponse, CoreError> {
        decode(
            self.http
                .get(self.url("/metadata"))
                .bearer_auth(token)
                .send()
                .await,
        )
        .await
    }

    pub(crate) async fn pull(
        &self,
        token: &str,
        req: PullRequest,
    ) -> Result<PullResponse, CoreError> {
        decode(
            self.http
                .get(self.url("/sync/pull"))
                .bearer_auth(token)
                .query(&req)
                .send()
                .await,
        )
        .await
    }

    pub(crate) async fn push(
        &self,
        token: &str,
        req: &PushRequest,
    ) -> Result<PushResponse, CoreError> {
        decode(
            self.http
                .post(self.url("/sync/push"))
                .bearer_auth(token)
                .json(req)
                .send()
                .await,
        )
        .await
    }
}

impl Remote {
    /// Ends the session on the server (its tokens stop working).
    pub(crate) async fn logout(&self, token: &str) -> Result<(), CoreError> {
        let res = self
            .http
            .post(self.url("/auth/logout"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| CoreError::Unreachable(describe(&e)))?;
        if res.status().is_success() || res.status() == StatusCode::UNAUTHORIZED {
            Ok(())
        } else {
            Err(CoreError::Server {
                code: res.status().as_u16().to_string(),
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
        decode(
            self.http
                .post(self.url(&format!("/sync/ops/{op_id}/resolve")))
                .bearer_auth(token)
                .json(&ResolveRequest { action })
                .send()
                .await,
        )
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
        decode(
            self.http
                .get(self.url(&format!("/records/{entity}/{id}")))
                .bearer_auth(token)
                .send()
                .await,
        )
        .await
    }

    /// Creates a record online with the id given (`POST /records/{entity}`).
    pub(crate) async fn record_create(
        &self,
        token: &str,
        entity: &str,
        body: &CreateBody,
    ) -> Result<RecordBody, CoreError> {
        decode(
            self.http
                .post(self.url(&format!("/records/{entity}")))
                .bearer_auth(token)
                .json(body)
                .send()
                .await,
        )
        .await
    }
}

async fn decode<T: serde::de::DeserializeOwned>(
    sent: reqwest::Result<reqwest::Response>,
) -> Result<T, CoreError> {
    // Failing to connect, or losing the connection before a whole answer arrived, both
    // mean "offline": the request may or may not have reached the server, which is why
    // pushes are idempotent by op id.
    let res = sent.map_err(|e| CoreError::Unreachable(describe(&e)))?;
    let status = res.status();
    if status.is_success() {
        return res.json().await.map_err(|e| {
            if e.is_decode() {
                CoreError::Other(anyhow::anyhow!("the server's answer is not valid: {e}"))
            } else {
                CoreError::Unreachable(describe(&e))
            }
        });
    }
    let body: ErrorBody = res.json().await.unwrap_or_else(|_| ErrorBody {
        code: status.as_u16().to_string(),
        message: status.canonical_reason().unwrap_or("error").to_owned(),
        fields: Vec::new(),
    });
    if status == StatusCode::UNAUTHORIZED {
        // An expired access token is worth one refresh; a lost device deletes its data;
        // anything else ends the session.
        return Err(match body.wire_code() {
            Some(WireCode::TokenExpired) => CoreError::TokenExpired,
            Some(WireCode::DeviceWipe) => CoreError::DeviceWipe,
            _ => CoreError::Unauthorized,
        });
    }
    if status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR {
        // 502/503/504 come from proxies in front of a server that is down.
        return Err(CoreError::Unreachable(format!("{status}")));
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
