//! The client: one signed-in user's local database, their server, and the sync driver.
//!
//! The session (server, user, device id, access and refresh tokens) is kept in the
//! encrypted store's `sync_state`, beside the data it opens. An expired access token is
//! refreshed once and the request retried; a refused refresh or token ends the session
//! (the data and offline work stay for the next sign-in of the same user).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outpost_domain::{ApplyContext, EntityRef};
use outpost_protocol::{LoginRequest, LoginResponse, PushOp, RefreshRequest};
use outpost_store::{KeyStore, Store};
use outpost_sync::{Engine, FailReason, Input, Output};

use crate::CoreError;
use crate::api::{
    RecordListArgs, RecordRow, RecordUpdateArgs, SessionStatus, SignInArgs, SignedOutReason,
    SyncReport,
};
use crate::remote::Remote;

/// Where the client keeps its data and keys.
pub struct ClientConfig {
    /// The folder of the local database (one per signed-in user).
    pub data_dir: PathBuf,
    /// Where the database key is kept: the OS keychain in the app and the CLI.
    pub keys: Arc<dyn KeyStore>,
    /// The server to offer on the sign-in screen.
    pub default_server_url: Option<String>,
}

/// Most operations one push carries.
const PUSH_BATCH: usize = 200;
/// Most records one pull page carries.
const PULL_PAGE: u32 = 500;

// Keys of the session values kept in the encrypted `sync_state` table.
const SERVER_URL: &str = "server_url";
const USERNAME: &str = "username";
const TOKEN: &str = "access_token";
const REFRESH_TOKEN: &str = "refresh_token";
const SIGNED_OUT: &str = "signed_out_reason";
const DEVICE_ID: &str = "device_id";
const USER_ID: &str = "user_id";
const LAST_SYNC: &str = "last_sync_at";

/// The field app's client. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Client {
    config: ClientConfig,
    store: Mutex<Option<Store>>,
    // Why the last session ended when no store is left to say it (a wipe).
    wiped: AtomicBool,
    online: AtomicBool,
    // One sync at a time: a second caller waits for the first run to end.
    sync_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// The client's one clock.
#[allow(clippy::disallowed_methods)] // the one real clock (clippy.toml)
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn now_rfc3339() -> String {
    outpost_domain::value::format_datetime(now())
}

/// Who acts and when, for applying operations to the local layer.
fn apply_context(store: &Store) -> Result<ApplyContext, CoreError> {
    Ok(ApplyContext {
        user: EntityRef {
            entity: "systemuser".to_owned(),
            id: store.state_get(USER_ID)?.unwrap_or_default(),
        },
        // The device learns its business unit with the org model (issue 4).
        business_unit_id: String::new(),
        now: now(),
    })
}

/// The client's one id source: UUID v7, so ids sort by creation time.
#[allow(clippy::disallowed_methods)] // the one real id source (clippy.toml)
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Client {
    /// Opens the client; the local database is opened when one exists (a user is signed in).
    ///
    /// # Errors
    /// `WrongKey` / `MissingKey` (through [`CoreError::Store`]) when the database exists
    /// but the keychain cannot open it.
    pub fn open(config: ClientConfig) -> Result<Self, CoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "creating the data folder {}: {e}",
                config.data_dir.display()
            )
        })?;
        let client = Self {
            config,
            store: Mutex::new(None),
            wiped: AtomicBool::new(false),
            online: AtomicBool::new(false),
            sync_lock: tokio::sync::Mutex::new(()),
        };
        if client.db_path().exists() {
            // The store keeps the metadata it was made from: this works offline.
            let store = Store::open(&client.db_path(), &*client.config.keys, &client.key_id())?;
            *client.lock()? = Some(store);
        }
        Ok(client)
    }

    fn db_path(&self) -> PathBuf {
        self.config.data_dir.join("outpost.db")
    }

    /// The keychain entry of this data folder's database key.
    fn key_id(&self) -> String {
        format!("database:{}", self.config.data_dir.display())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Option<Store>>, CoreError> {
        self.store.lock().map_err(|_| {
            CoreError::Other(anyhow::anyhow!("the store lock was poisoned by a panic"))
        })
    }

    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut guard = self.lock()?;
        f(guard.as_mut().ok_or(CoreError::NotSignedIn)?)
    }

    /// The server of the signed-in session.
    fn remote(&self) -> Result<Remote, CoreError> {
        self.with_store(|s| {
            if s.state_get(TOKEN)?.is_none() {
                return Err(CoreError::NotSignedIn);
            }
            let url = s.state_get(SERVER_URL)?.ok_or(CoreError::NotSignedIn)?;
            Remote::new(&url)
        })
    }

    fn token(&self) -> Result<String, CoreError> {
        self.with_store(|s| s.state_get(TOKEN)?.ok_or(CoreError::NotSignedIn))
    }

    fn tokens_keep(store: &Store, login: &LoginResponse) -> Result<(), CoreError> {
        store.state_set(TOKEN, &login.access_token)?;
        store.state_set(REFRESH_TOKEN, &login.refresh_token)?;
        Ok(())
    }

    /// Ends the session the server no longer accepts: the tokens go, the data and the
    /// outbox stay for the next sign-in of the same user.
    fn session_end(&self) -> Result<(), CoreError> {
        self.with_store(|s| {
            s.state_delete(TOKEN)?;
            s.state_delete(REFRESH_TOKEN)?;
            s.state_set(SIGNED_OUT, SignedOutReason::SessionEnded.as_str())?;
            Ok(())
        })
    }

    /// Trades the kept refresh token for a new pair and keeps it. A refused refresh ends
    /// the session; an unreachable server leaves everything as it was.
    async fn tokens_refresh(&self, remote: &Remote) -> Result<String, CoreError> {
        let refresh_token = self
            .with_store(|s| Ok(s.state_get(REFRESH_TOKEN)?))?
            .filter(|t| !t.is_empty());
        let Some(refresh_token) = refresh_token else {
            self.session_end()?;
            return Err(CoreError::Unauthorized);
        };
        match remote.refresh(&RefreshRequest { refresh_token }).await {
            Ok(login) => {
                self.with_store(|s| Self::tokens_keep(s, &login))?;
                Ok(login.access_token)
            }
            Err(CoreError::Unauthorized | CoreError::TokenExpired) => {
                self.session_end()?;
                Err(CoreError::Unauthorized)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `call` with the access token; when the token has expired, refreshes it once
    /// and runs `call` again. A refused token or refresh ends the session.
    async fn authed<T, F, Fut>(&self, remote: &Remote, call: F) -> Result<T, CoreError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, CoreError>>,
    {
        let first = call(self.token()?).await;
        let result = match first {
            Err(CoreError::TokenExpired) => {
                let token = self.tokens_refresh(remote).await?;
                call(token).await
            }
            other => other,
        };
        match result {
            Err(CoreError::Unauthorized | CoreError::TokenExpired) => {
                self.session_end()?;
                Err(CoreError::Unauthorized)
            }
            other => other,
        }
    }

    /// Fetches the org metadata and migrates the store to it; answers the store's
    /// metadata version and checkpoint afterwards.
    async fn metadata_refresh(&self, remote: &Remote) -> Result<(u64, u64), CoreError> {
        let response = self
            .authed(remote, |token| async move { remote.metadata(&token).await })
            .await?;
        self.with_store(|s| {
            let change = s.metadata_apply(response.metadata)?;
            if change.changed {
                tracing::info!(?change, "the local database moved to the server's metadata");
            }
            Ok((s.metadata().version, s.checkpoint()?))
        })
    }

    /// Who is signed in, where, and how sync stands.
    pub async fn session_status(&self) -> Result<SessionStatus, CoreError> {
        let guard = self.lock()?;
        let Some(store) = guard.as_ref() else {
            return Ok(SessionStatus {
                signed_in: false,
                server_url: self.config.default_server_url.clone(),
                username: None,
                online: false,
                pending_ops: 0,
                last_sync_at: None,
                signed_out_reason: self
                    .wiped
                    .load(Ordering::Relaxed)
                    .then_some(SignedOutReason::Wiped),
            });
        };
        let signed_in = store.state_get(TOKEN)?.is_some();
        Ok(SessionStatus {
            signed_in,
            signed_out_reason: if signed_in {
                None
            } else {
                store
                    .state_get(SIGNED_OUT)?
                    .as_deref()
                    .and_then(SignedOutReason::parse)
            },
            server_url: store.state_get(SERVER_URL)?,
            username: store.state_get(USERNAME)?,
            online: self.online.load(Ordering::Relaxed),
            pending_ops: u32::try_from(store.outbox_count()?).unwrap_or(u32::MAX),
            last_sync_at: store.state_get(LAST_SYNC)?,
        })
    }

    /// Signs in, sets up the encrypted local database, and runs the first sync.
    ///
    /// Signing in as the same user on the same server keeps the local data (and any
    /// offline work waiting in the outbox); another user or server starts from a wiped
    /// database, so one user never sees another's data.
    pub async fn session_sign_in(&self, args: SignInArgs) -> Result<SessionStatus, CoreError> {
        let remote = Remote::new(&args.server_url)?;
        let server_url = args.server_url.trim().trim_end_matches('/').to_owned();
        let same_user = |s: &Store| -> Result<bool, CoreError> {
            Ok(
                s.state_get(SERVER_URL)?.as_deref() == Some(server_url.as_str())
                    && s.state_get(USERNAME)?.as_deref() == Some(args.username.as_str()),
            )
        };
        let kept_device = {
            let guard = self.lock()?;
            match guard.as_ref() {
                Some(s) if same_user(s)? => s.state_get(DEVICE_ID)?,
                _ => None,
            }
        };
        let device_id = kept_device.unwrap_or_else(new_id);
        let login = remote
            .login(&LoginRequest {
                username: args.username.clone(),
                password: args.password,
                device_id: device_id.clone(),
            })
            .await?;
        self.online.store(true, Ordering::Relaxed);
        // The store's tables come from the org's metadata, so it is fetched before the
        // store is opened; a failure here leaves the device as it was.
        let metadata = remote.metadata(&login.access_token).await?;
        {
            let mut guard = self.lock()?;
            if let Some(store) = guard.take() {
                if same_user(&store)? {
                    *guard = Some(store);
                } else {
                    store.wipe(&*self.config.keys, &self.key_id())?;
                }
            }
            if guard.is_none() {
                *guard = Some(Store::open(
                    &self.db_path(),
                    &*self.config.keys,
                    &self.key_id(),
                )?);
            }
            let store = guard.as_mut().ok_or(CoreError::NotSignedIn)?;
            let change = store.metadata_apply(metadata.metadata)?;
            if change.changed {
                tracing::info!(?change, "the local database moved to the server's metadata");
            }
            store.state_set(SERVER_URL, &server_url)?;
            store.state_set(USERNAME, &args.username)?;
            Self::tokens_keep(store, &login)?;
            store.state_set(DEVICE_ID, &device_id)?;
            store.state_set(USER_ID, &login.user.id)?;
            store.state_delete(SIGNED_OUT)?;
            self.wiped.store(false, Ordering::Relaxed);
        }
        if let Err(e) = self.sync_now().await {
            tracing::warn!(error = %e, "the first sync after sign-in failed; it will be retried");
        }
        self.session_status().await
    }

    /// The local records of an entity, ordered by their primary field.
    pub async fn record_list(&self, args: RecordListArgs) -> Result<Vec<RecordRow>, CoreError> {
        self.with_store(|s| Ok(s.record_list(&args.entity)?.into_iter().map(row).collect()))
    }

    /// Changes fields of a record at once, offline or not; the change is queued for the
    /// next sync.
    /// An empty text is stored as null, so "cleared" has one representation.
    pub async fn record_update(&self, args: RecordUpdateArgs) -> Result<RecordRow, CoreError> {
        let op_id = new_id();
        let fields: outpost_domain::Fields = args
            .fields
            .into_iter()
            .map(|(k, v)| (k, v.filter(|text| !text.is_empty())))
            .collect();
        self.with_store(|s| {
            let ctx = apply_context(s)?;
            Ok(row(s.record_update(
                &ctx,
                &args.entity,
                &args.id,
                fields,
                &op_id,
            )?))
        })
    }

    /// Pushes every pending operation in order, then pulls every change since the last
    /// checkpoint. Whatever was stored before a failure stays stored.
    pub async fn sync_now(&self) -> Result<SyncReport, CoreError> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let remote = self.remote()?;
        let remote = &remote;
        let (pending, checkpoint, metadata_version) = self.with_store(|s| {
            let pending = s
                .outbox_pending(u32::MAX)?
                .into_iter()
                .map(|e| PushOp {
                    op_id: e.op_id,
                    base_version: e.base_version,
                    op: e.op,
                })
                .collect();
            Ok((pending, s.checkpoint()?, s.metadata().version))
        })?;
        let mut engine = Engine::new(PUSH_BATCH, PULL_PAGE);
        let mut todo: std::collections::VecDeque<Output> = engine
            .handle(Input::Start {
                pending,
                checkpoint,
                metadata_version,
            })
            .into();
        while let Some(output) = todo.pop_front() {
            let answer = match output {
                Output::Push(req) => {
                    let req = &req;
                    let sent = self
                        .authed(
                            remote,
                            |token| async move { remote.push(&token, req).await },
                        )
                        .await;
                    Some(answered(sent, Input::Pushed)?)
                }
                Output::Pull(req) => {
                    let sent = self
                        .authed(
                            remote,
                            |token| async move { remote.pull(&token, req).await },
                        )
                        .await;
                    Some(answered(sent, Input::Pulled)?)
                }
                Output::FetchMetadata { version } => {
                    tracing::info!(version, "the server's metadata changed; migrating");
                    let applied = self.metadata_refresh(remote).await;
                    Some(answered(applied, |(version, checkpoint)| {
                        Input::MetadataApplied {
                            version,
                            checkpoint,
                        }
                    })?)
                }
                Output::Wipe => {
                    let store = self.lock()?.take();
                    if let Some(store) = store {
                        store.wipe(&*self.config.keys, &self.key_id())?;
                    }
                    self.wiped.store(true, Ordering::Relaxed);
                    tracing::warn!("the server asked this device to delete its offline data: done");
                    None
                }
                Output::StoreOutcomes(outcomes) => {
                    self.with_store(|s| Ok(s.outbox_resolve(&outcomes)?))?;
                    None
                }
                Output::StorePage(page) => {
                    self.with_store(|s| {
                        let ctx = apply_context(s)?;
                        Ok(s.pull_page_apply(&ctx, &page)?)
                    })?;
                    None
                }
                Output::Finished(summary) => {
                    self.online.store(true, Ordering::Relaxed);
                    let finished_at = now_rfc3339();
                    self.with_store(|s| Ok(s.state_set(LAST_SYNC, &finished_at)?))?;
                    return Ok(SyncReport {
                        pushed: summary.pushed,
                        pulled: summary.pulled,
                        conflicts: summary.conflicts,
                        errors: summary.errors,
                        finished_at,
                    });
                }
                Output::Failed(reason) => {
                    return Err(match reason {
                        FailReason::Unreachable { detail } => {
                            self.online.store(false, Ordering::Relaxed);
                            CoreError::Unreachable(detail)
                        }
                        FailReason::Unauthorized => CoreError::Unauthorized,
                        FailReason::Wiped => CoreError::Wiped,
                        FailReason::Protocol { detail } => {
                            CoreError::Other(anyhow::anyhow!("sync protocol violation: {detail}"))
                        }
                    });
                }
            };
            if let Some(input) = answer {
                todo.extend(engine.handle(input));
            }
        }
        Err(CoreError::Other(anyhow::anyhow!(
            "the sync engine stopped without an end"
        )))
    }

    /// Keeps the device in sync while the app runs: every `every`, probes the server;
    /// when it is reachable and work waits in the outbox (or `refresh` has passed since
    /// the last full sync), syncs. This is what replays offline work on reconnect.
    pub async fn run_background(self: Arc<Self>, every: Duration, refresh: Duration) {
        let mut last_sync: Option<Instant> = None;
        loop {
            tokio::time::sleep(every).await;
            let Ok(remote) = self.remote() else {
                continue;
            };
            let reachable = remote.probe().await;
            self.online.store(reachable, Ordering::Relaxed);
            if !reachable {
                continue;
            }
            let waiting = self
                .with_store(|s| Ok(!s.outbox_pending(1)?.is_empty()))
                .unwrap_or(false);
            if waiting || last_sync.is_none_or(|t| t.elapsed() >= refresh) {
                match self.sync_now().await {
                    Ok(report) => {
                        tracing::info!(?report, "background sync finished");
                        last_sync = Some(Instant::now());
                    }
                    Err(e) => tracing::warn!(error = %e, "background sync failed"),
                }
            }
        }
    }
}

/// Maps a request's result to the engine's input; errors the engine does not model end
/// the run at once.
fn answered<T>(
    result: Result<T, CoreError>,
    ok: impl FnOnce(T) -> Input,
) -> Result<Input, CoreError> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(CoreError::Unreachable(reason)) => Ok(Input::TransportFailed { reason }),
        Err(CoreError::Unauthorized) => Ok(Input::Unauthorized),
        Err(e) => Err(e),
    }
}

fn row(r: outpost_store::LocalRecord) -> RecordRow {
    RecordRow {
        id: r.id,
        entity: r.entity,
        fields: r.fields,
        row_version: r.row_version,
        pending: r.pending,
        reason: r.reason,
    }
}

#[cfg(test)]
mod tests;
