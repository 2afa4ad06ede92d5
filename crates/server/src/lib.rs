//! `outpost-server` is the org server: the CRM's system of record that devices sign in to,
//! pull their offline data from and push their offline work to.
//!
//! [`app`] builds the whole HTTP surface as one axum `Router` over an [`AppState`], so
//! tests drive it in-process with `oneshot` and `main.rs` only parses flags and serves it.
//! Business rules come from `outpost-domain` (the same code the device runs); this crate
//! adds storage ([`db`], on SQLite or PostgreSQL), security enforcement ([`ops`],
//! [`scope`]), authentication ([`auth`]), the sync protocol ([`pull`], [`push`]) and
//! offline administration ([`admin`]). It must never depend on any client crate.

pub mod admin;
pub mod auth;
pub mod db;
pub mod error;
mod extract;
pub mod ops;
pub mod org;
pub mod password;
pub mod private;
pub mod pull;
pub mod push;
pub mod records;
pub mod releases;
pub mod routes;
pub mod scope;
pub mod seed;
pub mod serve;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

pub use db::Db;
pub use error::ApiError;
pub use extract::TrustedProxies;
use org::Org;

/// The largest request body the server reads (after decompression); bigger is a 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The server's one clock.
#[allow(clippy::disallowed_methods)] // the one real clock (clippy.toml)
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A new record or object id (UUID v7).
#[allow(clippy::disallowed_methods)] // the one id source (clippy.toml)
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A clock the server reads time from.
pub type Clock = Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The org database.
    pub db: Db,
    cache: Arc<RwLock<Option<Arc<Org>>>>,
    /// The org's id, read once: it never changes ([`AppState::org_id`]).
    org_id: Arc<tokio::sync::OnceCell<String>>,
    /// Most records a pull page carries, whatever the device asks for.
    pull_page: u32,
    /// What sign-in limits read the time from ([`now`] unless a test sets one).
    clock: Clock,
    /// Password checks, a bounded few at a time.
    password_checks: password::PasswordChecks,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    trusted_proxies: TrustedProxies,
}

impl AppState {
    /// State over an opened database.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Arc::new(RwLock::new(None)),
            org_id: Arc::new(tokio::sync::OnceCell::new()),
            pull_page: routes::MAX_PULL_PAGE,
            clock: Arc::new(now),
            password_checks: password::PasswordChecks::for_this_machine(),
            trusted_proxies: TrustedProxies::default(),
        }
    }

    /// Requests from `proxies` are counted against the client their `X-Forwarded-For`
    /// names ([`TrustedProxies`]).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Password checks run through `checks` (a server flag, or a test that counts them).
    #[must_use]
    pub fn with_password_checks(mut self, checks: password::PasswordChecks) -> Self {
        self.password_checks = checks;
        self
    }

    /// Where password checks run.
    pub fn password_checks(&self) -> &password::PasswordChecks {
        &self.password_checks
    }

    /// Sign-in limits read the time from `clock` (tests move it on by hand).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The time as this state's clock says.
    pub fn now(&self) -> time::OffsetDateTime {
        (self.clock)()
    }

    /// Pages of at most `records` records (at least 1, at most
    /// [`routes::MAX_PULL_PAGE`]): a small server, or a slow link, sends smaller pages
    /// whatever size devices ask for.
    #[must_use]
    pub fn with_pull_page(mut self, records: u32) -> Self {
        self.pull_page = records.clamp(1, routes::MAX_PULL_PAGE);
        self
    }

    /// Most records a pull page carries.
    pub fn pull_page(&self) -> u32 {
        self.pull_page
    }

    /// The org's id (what devices key their data by): made once when the database was
    /// created and never changed, so it is read once — from the org already loaded, or
    /// from the settings — and then answered from memory, with no database work.
    ///
    /// # Errors
    /// A database error on the first read, or an org without an id.
    pub async fn org_id(&self) -> anyhow::Result<String> {
        self.org_id
            .get_or_try_init(|| async {
                let loaded = self
                    .cache
                    .read()
                    .map_err(|_| anyhow::anyhow!("org cache poisoned"))?
                    .as_ref()
                    .map(|org| org.id.clone());
                match loaded {
                    Some(id) => Ok(id),
                    None => {
                        self.db
                            .tx(|conn| {
                                org::setting(conn, org::key::ORG_ID)?
                                    .ok_or_else(|| anyhow::anyhow!("the org has no id"))
                            })
                            .await
                    }
                }
            })
            .await
            .cloned()
    }

    /// The org as of now: the cached value while the config version is unchanged.
    ///
    /// # Errors
    /// A database error, or an org that was never set up.
    pub async fn org(&self) -> anyhow::Result<Arc<Org>> {
        let cached = self
            .cache
            .read()
            .map_err(|_| anyhow::anyhow!("org cache poisoned"))?
            .clone();
        let known = cached.as_ref().map(|o| o.config_version);
        let fresh = self
            .db
            .tx(move |conn| {
                if Some(org::config_version(conn)?) == known {
                    return Ok(None);
                }
                Org::load(conn).map(Some)
            })
            .await?;
        match (fresh, cached) {
            (Some(org), _) => {
                let org = Arc::new(org);
                *self
                    .cache
                    .write()
                    .map_err(|_| anyhow::anyhow!("org cache poisoned"))? = Some(Arc::clone(&org));
                Ok(org)
            }
            (None, Some(org)) => Ok(org),
            (None, None) => anyhow::bail!("the org is not set up"),
        }
    }
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            version_gate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        // The fastest level: a page compresses 4–5× instead of 6–7×, at a fraction of the
        // CPU the default level spends (the server's largest cost in an initial sync).
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        .with_state(state)
}

/// Answers a field app too old for this server or org `update_required` (426) before it
/// reaches any route but those of [`is_ungated`] (C23, S19): one that speaks a protocol the server
/// no longer does, or whose version is below the org's `min_app_version`. A request that
/// names neither (the console, a script) passes: the gate keeps old apps from
/// misunderstanding the server, it guards no data.
async fn version_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use outpost_protocol::{APP_VERSION_HEADER, PROTOCOL_HEADER};
    let (app, protocol, ungated) = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or_default().trim().to_owned())
        };
        (
            header(APP_VERSION_HEADER),
            header(PROTOCOL_HEADER),
            is_ungated(request.uri().path()),
        )
    };
    if ungated || (app.is_none() && protocol.is_none()) {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match version_refusal(&state, app, protocol).await {
        Ok(None) => next.run(request).await,
        // A wipe order reaches a lost device however old its app (`caller_by_token` looks
        // at it first): an old stolen device must not keep its data by being told to update.
        Ok(Some(_)) if wipe_ordered_for(&state, bearer).await => next.run(request).await,
        Ok(Some(refusal)) => refusal.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The routes an app too old to sync still reaches: the health probe, signing in and
/// refreshing its token, and asking for and downloading its update, which is how it stops
/// being too old.
fn is_ungated(path: &str) -> bool {
    path == "/api/v1/health"
        || path.starts_with("/api/v1/auth/")
        || path.starts_with("/api/v1/app/")
}

/// Whether `bearer` is a token whose device an administrator ordered wiped.
async fn wipe_ordered_for(state: &AppState, bearer: Option<String>) -> bool {
    let Some(token) = bearer else { return false };
    let now = state.now();
    matches!(
        state
            .db
            .tx(move |c| Ok(auth::caller_by_token(c, &token, now)))
            .await,
        Ok(Err(ApiError::DeviceWipe))
    )
}

async fn version_refusal(
    state: &AppState,
    app: Option<String>,
    protocol: Option<String>,
) -> Result<Option<ApiError>, ApiError> {
    use outpost_protocol::{AppVersion, MIN_PROTOCOL_VERSION};
    if let Some(protocol) = protocol {
        let speaks = protocol.parse::<u32>().unwrap_or(0);
        if speaks < MIN_PROTOCOL_VERSION {
            return Ok(Some(ApiError::UpdateRequired(format!(
                "this app speaks sync protocol {protocol:?}, which this server no longer does \
                 (it needs {MIN_PROTOCOL_VERSION} or later): update the app; your offline \
                 changes are kept"
            ))));
        }
    }
    let Some(app) = app else {
        return Ok(None);
    };
    let org = state.org().await?;
    let Some(min) = AppVersion::parse(&org.settings.min_app_version) else {
        return Ok(None);
    };
    Ok(match AppVersion::parse(&app) {
        Some(version) if version >= min => None,
        _ => Some(ApiError::UpdateRequired(format!(
            "this app is version {app}, and your organisation needs {min} or later: update \
             it; your offline changes are kept"
        ))),
    })
}
