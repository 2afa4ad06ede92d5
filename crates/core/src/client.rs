//! The client: one signed-in user's local database, their server, and the sync driver.
//!
//! The session (server, user, device id, access and refresh tokens) is kept in the
//! encrypted store's `sync_state`, beside the data it opens. An expired access token is
//! refreshed once and the request retried; a refused refresh or token ends the session
//! (the data and offline work stay for the next sign-in of the same user).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use outpost_domain::{ApplyContext, EntityRef};
use outpost_protocol::{LoginRequest, LoginResponse, MetadataResponse, RefreshRequest, UserAccess};
use outpost_store::{KeyStore, Store};
use outpost_sync::Input;

use crate::CoreError;
use crate::access::Access;
use crate::api::{SessionStatus, SignInArgs, SignOutArgs, SignedOutReason, SyncProgress};
use crate::remote::Remote;

mod background;
mod drafts;
mod errors;
mod records;
mod sync;

pub use background::Notifier;

/// Where the client keeps its data and keys.
pub struct ClientConfig {
    /// The folder of the local database (one per signed-in user).
    pub data_dir: PathBuf,
    /// Where the database key is kept: the OS keychain in the app and the CLI.
    pub keys: Arc<dyn KeyStore>,
    /// The server to offer on the sign-in screen.
    pub default_server_url: Option<String>,
    /// Where background sync's notifications go (the desktop, C19); none: only the log.
    pub notifier: Option<Notifier>,
}

/// Most operations one push carries.
const PUSH_BATCH: usize = 200;
/// Most records one pull page carries.
const PULL_PAGE: u32 = 1_000;

// Keys of the session values kept in the encrypted `sync_state` table.
const SERVER_URL: &str = "server_url";
const USERNAME: &str = "username";
const TOKEN: &str = "access_token";
const REFRESH_TOKEN: &str = "refresh_token";
const SIGNED_OUT: &str = "signed_out_reason";
const DEVICE_ID: &str = "device_id";
const USER_ID: &str = "user_id";
const LAST_SYNC: &str = "last_sync_at";
/// A newer org metadata waiting for the user's yes (JSON).
const METADATA_PENDING: &str = "metadata_pending";
/// The user's privileges and field permissions from the last metadata (JSON).
const ACCESS: &str = "access";
/// The user's offline profile from the last metadata (JSON).
const PROFILE: &str = "profile";
/// The profile's entities the server cannot deliver now, with why (JSON, C14).
const UNAVAILABLE: &str = "entities_unavailable";
/// Entity → when a sync last delivered it (JSON, C13): an entity the server could not
/// deliver keeps the time of its last good sync.
const ENTITY_SYNCED: &str = "entities_last_sync";

/// The field app's client. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Client {
    config: ClientConfig,
    store: Mutex<Option<Store>>,
    // Why the last session ended when no store is left to say it (a wipe).
    wiped: AtomicBool,
    online: AtomicBool,
    // One sync at a time: a second caller waits for the first run to end.
    sync_lock: tokio::sync::Mutex<()>,
    // The run under way: records stored so far, records the server said remain, start.
    progress: Mutex<Option<(u64, u64, Instant)>>,
    // Background sync's inbox, and its receiving end until `run_scheduler` takes it.
    events: Mutex<Option<tokio::sync::mpsc::UnboundedSender<outpost_sync::Event>>>,
    events_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<outpost_sync::Event>>>,
    // What the scheduler said last (the footer's state).
    scheduler_status: Mutex<Option<outpost_sync::Status>>,
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

/// The cached access of the signed-in user (none before the first metadata).
fn access_of(store: &Store) -> Result<Access, CoreError> {
    let access = match store.state_get(ACCESS)? {
        Some(json) => serde_json::from_str(&json).map_err(anyhow::Error::from)?,
        None => UserAccess {
            user_id: store.state_get(USER_ID)?.unwrap_or_default(),
            business_unit_id: String::new(),
            team_ids: Vec::new(),
            hierarchy_user_ids: Vec::new(),
            privileges: std::collections::BTreeMap::new(),
            secured_fields: std::collections::BTreeMap::new(),
        },
    };
    Ok(Access(access))
}

/// A JSON value kept in the encrypted `sync_state` table under `key`; its default when
/// absent or unreadable.
fn state_json<T: serde::de::DeserializeOwned + Default>(store: &Store, key: &str) -> T {
    store
        .state_get(key)
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// The offline profile cached from the last metadata (none before it, or when the user has
/// no published profile).
fn profile_of(store: &Store) -> Option<outpost_protocol::DeviceProfile> {
    state_json(store, PROFILE)
}

/// Who acts and when, for applying operations to the local layer.
fn apply_context(store: &Store, access: &Access) -> Result<ApplyContext, CoreError> {
    Ok(ApplyContext {
        user: EntityRef {
            entity: "systemuser".to_owned(),
            id: store.state_get(USER_ID)?.unwrap_or_default(),
        },
        business_unit_id: access.0.business_unit_id.clone(),
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
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let client = Self {
            config,
            store: Mutex::new(None),
            wiped: AtomicBool::new(false),
            online: AtomicBool::new(false),
            sync_lock: tokio::sync::Mutex::new(()),
            progress: Mutex::new(None),
            events: Mutex::new(Some(events_tx)),
            events_rx: Mutex::new(Some(events_rx)),
            scheduler_status: Mutex::new(None),
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
        self.token()?;
        self.remote_any()
    }

    /// The server of the session, signed in or not (for probing).
    fn remote_any(&self) -> Result<Remote, CoreError> {
        self.with_store(|s| {
            let url = s.state_get(SERVER_URL)?.ok_or(CoreError::NotSignedIn)?;
            Remote::new(&url)
        })
    }

    /// Keeps the privileges and profile that came with a metadata answer.
    fn access_keep(store: &Store, response: &MetadataResponse) -> Result<(), CoreError> {
        let access = serde_json::to_string(&response.access).map_err(anyhow::Error::from)?;
        let profile = serde_json::to_string(&response.profile).map_err(anyhow::Error::from)?;
        store.state_set(ACCESS, &access)?;
        store.state_set(PROFILE, &profile)?;
        Ok(())
    }

    fn progress_set(&self, start: Option<(u64, u64)>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = start.map(|(done, remaining)| (done, remaining, Instant::now()));
        }
    }

    fn progress_add(&self, stored: usize, remaining: u64) {
        if let Ok(mut p) = self.progress.lock()
            && let Some((done, left, _)) = p.as_mut()
        {
            *done += stored as u64;
            *left = remaining;
        }
    }

    /// How the run under way stands (B6), if one is.
    fn progress(&self) -> Option<SyncProgress> {
        let (done, remaining, started) = (*self.progress.lock().ok()?)?;
        let elapsed = started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        Some(SyncProgress {
            done,
            remaining,
            seconds_left: (rate > 0.0 && done > 0).then(|| (remaining as f64 / rate).ceil() as u64),
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
                sync_errors: 0,
                metadata_pending: None,
                user_id: None,
                offline_data: false,
                progress: None,
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
            sync_errors: u32::try_from(store.sync_error_count()?).unwrap_or(u32::MAX),
            metadata_pending: store.state_get(METADATA_PENDING)?.and_then(|json| {
                // Only its version: the status is read every few seconds.
                #[derive(serde::Deserialize)]
                struct Version {
                    version: u64,
                }
                serde_json::from_str::<Version>(&json)
                    .ok()
                    .map(|m| m.version)
            }),
            user_id: store.state_get(USER_ID)?,
            offline_data: store.metadata().version > 0,
            progress: self.progress(),
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
            Self::access_keep(store, &metadata)?;
            store.state_delete(METADATA_PENDING)?;
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
        let download = args.download != Some(false);
        if download && let Err(e) = self.sync_now().await {
            tracing::warn!(error = %e, "the first sync after sign-in failed; it will be retried");
        }
        // Background sync starts now unless the first download waits for the user (a
        // device that already holds the data goes on syncing).
        let has_data = self.with_store(|s| Ok(s.state_get(LAST_SYNC)?.is_some()))?;
        if (download || has_data)
            && let Some(event) = self.signed_in_event()
        {
            self.signal(event);
        }
        self.session_status().await
    }

    /// Signs out: the server ends the session (when it can be reached) and the tokens
    /// go. The offline data stays for the next sign-in of the same user unless `wipe`;
    /// wiping with work still waiting in the outbox needs `discard_pending`.
    pub async fn session_sign_out(&self, args: SignOutArgs) -> Result<SessionStatus, CoreError> {
        let pending = self.with_store(|s| Ok(s.outbox_count()?))?;
        if args.wipe && pending > 0 && !args.discard_pending {
            return Err(CoreError::Invalid(format!(
                "{pending} changes have not reached the server yet; sync first, or sign out with discard_pending to delete them"
            )));
        }
        if let (Ok(remote), Ok(token)) = (self.remote(), self.token())
            && let Err(e) = remote.logout(&token).await
        {
            tracing::warn!(error = %e, "the server did not hear the sign-out; its tokens expire on their own");
        }
        self.with_store(|s| {
            s.state_delete(TOKEN)?;
            s.state_delete(REFRESH_TOKEN)?;
            s.state_delete(SIGNED_OUT)?;
            Ok(())
        })?;
        self.signal(outpost_sync::Event::SignedOut);
        if args.wipe {
            let store = self.lock()?.take();
            if let Some(store) = store {
                store.wipe(&*self.config.keys, &self.key_id())?;
            }
        }
        self.session_status().await
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

#[cfg(test)]
mod tests;
