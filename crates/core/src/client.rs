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
use outpost_store::{KeyStore, Store, StoreError};
use outpost_sync::Input;

use crate::CoreError;
use crate::access::Access;
use crate::api::{SessionStatus, SignInArgs, SignOutArgs, SignedOutReason, SyncProgress, Unsent};
use crate::remote::Remote;

mod accounts;
mod background;
mod drafts;
mod errors;
mod records;
mod recovery;
mod sync;
mod update;

use accounts::{Account, Accounts, Who};
pub use background::Notifier;
pub use update::{Installer, Installing, UpdateTicket};

/// Where the client keeps its data and keys.
pub struct ClientConfig {
    /// The folder of the device's data: one encrypted store per (org, user) who signed in
    /// here, and the sealed recovery files (see `client::accounts`).
    pub data_dir: PathBuf,
    /// Where the database key is kept: the OS keychain in the app and the CLI.
    pub keys: Arc<dyn KeyStore>,
    /// The server to offer on the sign-in screen.
    pub default_server_url: Option<String>,
    /// Where background sync's notifications go (the desktop, C19); none: only the log.
    pub notifier: Option<Notifier>,
    /// The clock, ids and network: the real ones by default.
    pub env: Environment,
    /// How this app installs its updates (the Tauri shell's updater); none: it offers
    /// none (the CLI, the browser bridge).
    pub installer: Option<Arc<dyn Installer>>,
}

/// A clock.
pub type Clock = Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;

/// What the client reads the time and new ids from and sends requests through: the real
/// ones unless a caller plugs in its own (the simulation runs many devices in one process
/// on one seeded clock, one id sequence and a simulated network).
#[derive(Clone, Default)]
pub struct Environment {
    /// The clock (`None`: the system's).
    pub clock: Option<Clock>,
    /// New ids (`None`: UUID v7).
    pub ids: Option<Arc<dyn Fn() -> String + Send + Sync>>,
    /// How requests reach servers (`None`: HTTP).
    pub transport: Option<Arc<dyn crate::remote::Transport>>,
    /// The room left on the disk, for the simulation's disk-full fault (`None`: the disk
    /// is the disk). Before each use of the open store it is asked with the file's size
    /// in pages and answers the most pages the file may grow to (`None`: no cap); see
    /// `Store::page_cap`.
    pub disk: Option<Arc<dyn Fn(u64) -> Option<u64> + Send + Sync>>,
    /// The app version the client tells servers (`None`: this build's); a test plays an
    /// older or newer build with it.
    pub app_version: Option<String>,
}

/// Most operations one push carries (the server's limit): one durable commit on each side
/// per batch.
const PUSH_BATCH: usize = 1_000;
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
/// The org's id as its server reports it (the store's identity, with the user id).
const ORG_ID: &str = "org_id";
/// A fresh id per sign-in: answers to an earlier sign-in's requests are not this one's.
const SESSION: &str = "session_id";
/// The org's public recovery key (base64), from the last metadata.
const RECOVERY_KEY: &str = "org_recovery_key";
const LAST_SYNC: &str = "last_sync_at";
/// A newer org metadata waiting for the user's yes (JSON).
const METADATA_PENDING: &str = "metadata_pending";
/// The server's last `update_required` message, until a sync goes through again.
const UPDATE_REQUIRED: &str = "update_required";
/// The user's privileges and field permissions from the last metadata (JSON).
const ACCESS: &str = "access";
/// The server's fingerprint of that access (`MetadataResponse::access_key`).
const ACCESS_KEY: &str = "access_key";
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
    // Why no store is open, when no store is left to say it: a wipe, a lost device, a
    // store whose key is gone.
    gone: Mutex<Option<SignedOutReason>>,
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
    // The update the org server offered last (S19).
    update: Mutex<update::UpdateState>,
    // The TLS settings (the system's trusted certificates), made once: loading them took
    // most of a short sync when each exchange with the server made its own.
    tls: std::sync::OnceLock<Option<native_tls::TlsConnector>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// Runs blocking work — SQLCipher calls, the keychain, files — where it cannot stall the
/// async executor. On a multi-thread runtime (the app's, the CLI's) this worker first hands
/// its other tasks to another (`block_in_place`), so the status poll, timers and network
/// I/O go on while a page of thousands of rows is stored or a store's lock is waited for.
/// A current-thread runtime (the simulation, which must stay deterministic, and unit
/// tests) and plain threads run it in place: there is no other worker to hand to.
/// ADR 0013.
pub(crate) fn off_executor<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The client's one real clock.
#[allow(clippy::disallowed_methods)] // the one real clock (clippy.toml)
fn system_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
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
            principal: None,
        },
    };
    Ok(Access::new(access))
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
fn apply_context(
    store: &Store,
    access: &Access,
    now: time::OffsetDateTime,
) -> Result<ApplyContext, CoreError> {
    Ok(ApplyContext {
        user: EntityRef {
            entity: "systemuser".to_owned(),
            id: store.state_get(USER_ID)?.unwrap_or_default(),
        },
        business_unit_id: access.0.business_unit_id.clone(),
        now,
    })
}

/// The client's one real id source: UUID v7, so ids sort by creation time.
#[allow(clippy::disallowed_methods)] // the one real id source (clippy.toml)
fn system_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Client {
    /// The time, as the client's clock says.
    fn now(&self) -> time::OffsetDateTime {
        self.config
            .env
            .clock
            .as_ref()
            .map_or_else(system_now, |c| c())
    }

    fn now_rfc3339(&self) -> String {
        outpost_domain::value::format_datetime(self.now())
    }

    /// A new id from the client's id source.
    fn new_id(&self) -> String {
        self.config
            .env
            .ids
            .as_ref()
            .map_or_else(system_id, |ids| ids())
    }

    /// A connection to the server at `url`, through the client's transport: by default a
    /// fresh HTTP client each time (as before transports), so a sync run never reuses a
    /// pooled connection the network has since lost.
    fn remote_to(&self, url: &str) -> Result<Remote, CoreError> {
        let transport = match &self.config.env.transport {
            Some(t) => Arc::clone(t),
            None => crate::remote::http(self.tls.get_or_init(crate::remote::tls).as_ref())?,
        };
        Remote::new(url, transport, self.app_version())
    }

    /// The version this app tells servers: this build's, unless a test plays another.
    fn app_version(&self) -> String {
        self.config
            .env
            .app_version
            .clone()
            .unwrap_or_else(|| crate::APP_VERSION.to_owned())
    }
}

impl Client {
    /// Opens the client; the local database is opened when one exists (a user is signed in).
    ///
    /// # Errors
    /// `WrongKey` / `MissingKey` (through [`CoreError::Store`]) when the database exists
    /// but the keychain cannot open it.
    pub fn open(config: ClientConfig) -> Result<Self, CoreError> {
        accounts::private_dir(&config.data_dir)?;
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let client = Self {
            config,
            store: Mutex::new(None),
            gone: Mutex::new(None),
            online: AtomicBool::new(false),
            sync_lock: tokio::sync::Mutex::new(()),
            progress: Mutex::new(None),
            events: Mutex::new(Some(events_tx)),
            events_rx: Mutex::new(Some(events_rx)),
            scheduler_status: Mutex::new(None),
            update: Mutex::new(update::UpdateState::default()),
            tls: std::sync::OnceLock::new(),
        };
        if let Some(account) = client.accounts().active() {
            // The store keeps the metadata it was made from: this works offline.
            match account.open(&*client.config.keys) {
                Ok(mut store) => {
                    // Another store of this user whose key came back: its work joins.
                    if let (Some(org_id), Some(user_id)) =
                        (store.state_get(ORG_ID)?, store.state_get(USER_ID)?)
                    {
                        client.adopt_others(&mut store, &account, &org_id, &user_id)?;
                    }
                    client.with_guard(|guard| {
                        *guard = Some(store);
                        Ok(())
                    })?;
                }
                // A store the keychain cannot open stays on the device (nothing deletes
                // it) and does not stop the app: whoever uses the device signs in.
                Err(CoreError::Store(
                    e @ (StoreError::MissingKey | StoreError::WrongKey | StoreError::Keychain(_)),
                )) => {
                    tracing::warn!(error = %e, account = %account.id, "the last user's store cannot be opened; it stays on the device");
                    client.gone_set(Some(SignedOutReason::StoreLocked));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(client)
    }

    /// Says why no store is open (`None`: a store is open again).
    fn gone_set(&self, reason: Option<SignedOutReason>) {
        if let Ok(mut gone) = self.gone.lock() {
            *gone = reason;
        }
    }

    fn accounts(&self) -> Accounts<'_> {
        Accounts {
            root: &self.config.data_dir,
        }
    }

    /// The account whose store is open, if one is.
    #[cfg(test)]
    fn account(&self) -> Option<Account> {
        self.with_guard(|guard| {
            Ok(guard
                .as_ref()
                .map(|s| Account::of_store(&self.config.data_dir, s)))
        })
        .ok()
        .flatten()
    }

    /// The session whose store is open: its account and sign-in.
    fn session_ref(&self) -> Result<SessionRef, CoreError> {
        self.with_store(|s| self.session_of(s))
    }

    fn session_of(&self, store: &Store) -> Result<SessionRef, CoreError> {
        Ok(SessionRef {
            account: Account::of_store(&self.config.data_dir, store).id,
            sign_in: store.state_get(SESSION)?,
        })
    }

    /// Runs `f` on the open store only while it is still `session`'s: what a request
    /// brought back after an await belongs to the user and sign-in that asked, never to
    /// whoever signed in meanwhile (another user, or the same one again).
    fn with_store_of<T>(
        &self,
        session: &SessionRef,
        f: impl FnOnce(&mut Store) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        self.with_store(|s| {
            if self.session_of(s)? == *session {
                f(s)
            } else {
                Err(CoreError::NotSignedIn)
            }
        })
    }

    /// The store's lock, blocking: only [`Client::with_guard`] takes it (`xtask tidy`).
    fn store_lock(&self) -> Result<std::sync::MutexGuard<'_, Option<Store>>, CoreError> {
        self.store.lock().map_err(|_| {
            CoreError::Other(anyhow::anyhow!("the store lock was poisoned by a panic"))
        })
    }

    /// Runs `f` with the store's lock held, where its blocking cannot stall the async
    /// executor ([`off_executor`]): waiting for the lock and every SQLCipher call under it.
    fn with_guard<T>(
        &self,
        f: impl FnOnce(&mut Option<Store>) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        off_executor(|| f(&mut *self.store_lock()?))
    }

    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        self.with_guard(|guard| {
            let store = guard.as_mut().ok_or(CoreError::NotSignedIn)?;
            if let Some(disk) = &self.config.env.disk {
                store.page_cap(|pages| disk(pages))?;
            }
            f(store)
        })
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
            self.remote_to(&url)
        })
    }

    /// Keeps the privileges, profile and org recovery key that came with a metadata answer,
    /// and forgets at once the values of fields the user may no longer read (B4: a
    /// field-security change applies on the device as soon as it learns of it, even while
    /// the metadata that came with it waits for the user's yes).
    fn access_keep(
        store: &mut Store,
        response: &MetadataResponse,
        now: time::OffsetDateTime,
    ) -> Result<(), CoreError> {
        let access = serde_json::to_string(&response.access).map_err(anyhow::Error::from)?;
        let profile = serde_json::to_string(&response.profile).map_err(anyhow::Error::from)?;
        store.state_set(ACCESS, &access)?;
        store.state_set(ACCESS_KEY, &response.access_key)?;
        store.state_set(PROFILE, &profile)?;
        if !response.recovery_key.is_empty() {
            store.state_set(RECOVERY_KEY, &response.recovery_key)?;
        }
        let unreadable: std::collections::BTreeMap<String, Vec<String>> = response
            .access
            .secured_fields
            .iter()
            .map(|(entity, fields)| {
                let names = fields
                    .iter()
                    .filter(|(_, permission)| !permission.read)
                    .map(|(name, _)| name.clone())
                    .collect::<Vec<_>>();
                (entity.clone(), names)
            })
            .filter(|(_, names)| !names.is_empty())
            .collect();
        if !unreadable.is_empty() {
            let ctx = apply_context(store, &Access::new(response.access.clone()), now)?;
            let forgotten = store.fields_forget(&ctx, &unreadable)?;
            if forgotten > 0 {
                tracing::info!(
                    forgotten,
                    "values of fields the user may no longer read are forgotten"
                );
            }
        }
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

    /// Ends `account`'s session, which the server no longer accepts: the tokens go, the
    /// data and the outbox stay for the next sign-in of the same user.
    fn session_end(&self, session: &SessionRef) -> Result<(), CoreError> {
        self.with_store_of(session, |s| {
            s.state_delete(TOKEN)?;
            s.state_delete(REFRESH_TOKEN)?;
            s.state_set(SIGNED_OUT, SignedOutReason::SessionEnded.as_str())?;
            Ok(())
        })
    }

    /// Trades `account`'s refresh token for a new pair and keeps it. A refused refresh
    /// ends the session; an unreachable server leaves everything as it was.
    async fn tokens_refresh(
        &self,
        remote: &Remote,
        session: &SessionRef,
    ) -> Result<String, CoreError> {
        let refresh_token = self
            .with_store_of(session, |s| Ok(s.state_get(REFRESH_TOKEN)?))?
            .filter(|t| !t.is_empty());
        let Some(refresh_token) = refresh_token else {
            self.session_end(session)?;
            return Err(CoreError::Unauthorized);
        };
        match remote.refresh(&RefreshRequest { refresh_token }).await {
            Ok(login) => {
                self.with_store_of(session, |s| Self::tokens_keep(s, &login))?;
                Ok(login.access_token)
            }
            Err(CoreError::Unauthorized | CoreError::TokenExpired) => {
                self.session_end(session)?;
                Err(CoreError::Unauthorized)
            }
            Err(CoreError::DeviceWipe) => {
                self.wipe_lost(&session.account)?;
                Err(CoreError::Wiped)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `call` with the access token; when the token has expired, refreshes it once
    /// and runs `call` again. A refused token or refresh ends the session. What the
    /// answers change (tokens, the session's end, a lost device's wipe) applies to the
    /// account that asked, whoever is signed in by the time they come.
    async fn authed<T, F, Fut>(&self, remote: &Remote, call: F) -> Result<T, CoreError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, CoreError>>,
    {
        // The session and its token, read in one hold of the lock.
        let (session, token) = self.with_store(|s| {
            Ok((
                self.session_of(s)?,
                s.state_get(TOKEN)?.ok_or(CoreError::NotSignedIn)?,
            ))
        })?;
        let first = call(token).await;
        let result = match first {
            Err(CoreError::TokenExpired) => {
                let token = self.tokens_refresh(remote, &session).await?;
                call(token).await
            }
            other => other,
        };
        match result {
            Err(CoreError::Unauthorized | CoreError::TokenExpired) => {
                self.session_end(&session)?;
                Err(CoreError::Unauthorized)
            }
            Err(CoreError::DeviceWipe) => {
                self.wipe_lost(&session.account)?;
                Err(CoreError::Wiped)
            }
            other => other,
        }
    }

    /// Who is signed in, where, and how sync stands.
    pub async fn session_status(&self) -> Result<SessionStatus, CoreError> {
        self.with_guard(|guard| self.status_of(guard.as_ref()))
    }

    fn status_of(&self, store: Option<&Store>) -> Result<SessionStatus, CoreError> {
        let Some(store) = store else {
            return Ok(SessionStatus {
                signed_in: false,
                server_url: self.config.default_server_url.clone(),
                username: None,
                online: false,
                pending_ops: 0,
                last_sync_at: None,
                signed_out_reason: self.gone.lock().ok().and_then(|g| *g),
                sync_errors: 0,
                metadata_pending: None,
                user_id: None,
                offline_data: false,
                progress: None,
                recoveries: self.recovery_count(),
                device_id: None,
                update_required: None,
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
            recoveries: self.recovery_count(),
            device_id: store.state_get(DEVICE_ID)?,
            update_required: store.state_get(UPDATE_REQUIRED)?,
        })
    }

    /// Signs in, opens (or sets up) this user's encrypted store, and runs the first sync.
    ///
    /// Each (org, user) has a store and key of its own (C22): signing in again as the same
    /// user of the same org — however the server's address is spelled — opens their store
    /// with its offline work; another user gets a store of their own, and the store of
    /// whoever signed in before is left as it was (its session ends; its data and unsent
    /// work wait for its next sign-in). The org is the id its server reports.
    ///
    /// # Errors
    /// `Invalid` for an address that is not `https://` (plain `http://` only on loopback,
    /// or with `allow_http`); `Unauthorized` for wrong credentials; `Unreachable`. Nothing
    /// on the device changes when it fails.
    pub async fn session_sign_in(&self, args: SignInArgs) -> Result<SessionStatus, CoreError> {
        let server_url = args.server_url.trim().trim_end_matches('/').to_owned();
        transport_check(&server_url, args.allow_http == Some(true))?;
        let remote = self.remote_to(&server_url)?;
        let keys = &*self.config.keys;
        let reported = remote
            .org_id()
            .await?
            .unwrap_or_else(|| format!("url:{server_url}"));
        // This user's store, as far as the name tells: its device id signs in, so the
        // server knows what the device holds and which operations it already sent.
        let named = self.accounts().find(
            keys,
            Who::Named {
                org_id: &reported,
                username: &args.username,
            },
        );
        let mut device_id = named
            .as_ref()
            .and_then(|(_, device_id)| device_id.clone())
            .unwrap_or_else(|| self.new_id());
        let login_as = |device_id: &str| LoginRequest {
            username: args.username.clone(),
            password: args.password.clone(),
            device_id: device_id.to_owned(),
        };
        let mut login = match remote.login(&login_as(&device_id)).await {
            Err(CoreError::DeviceWipe) => {
                // An administrator reported this user's store here lost: it goes, with
                // whatever was sealed under its device, and the device signs in afresh.
                if let Some((account, _)) = &named {
                    self.wipe_lost(&account.id)?;
                }
                self.recovery_forget(&device_id, None)?;
                device_id = self.new_id();
                remote.login(&login_as(&device_id)).await?
            }
            other => other?,
        };
        let org_id = if login.org_id.is_empty() {
            reported
        } else {
            login.org_id.clone()
        };
        let this_user = Who::User {
            org_id: &org_id,
            user_id: &login.user.id,
        };
        let mut account = named
            .filter(|(account, _)| accounts::account_is(account, keys, this_user).is_some())
            .map(|(account, _)| account);
        let found = match account {
            Some(_) => None,
            None => self.accounts().find(keys, this_user),
        };
        if let Some((found, kept)) = found {
            // The user's name changed since their store was made: it keeps its device id.
            match kept.filter(|d| *d != device_id) {
                Some(kept) => match remote.login(&login_as(&kept)).await {
                    Ok(again) => {
                        login = again;
                        device_id = kept;
                        account = Some(found);
                    }
                    Err(CoreError::DeviceWipe) => {
                        self.wipe_lost(&found.id)?;
                        self.recovery_forget(&kept, Some(&login.user.id))?;
                    }
                    Err(e) => return Err(e),
                },
                None => account = Some(found),
            }
        }
        if account.is_none()
            && let Some(kept) = self
                .recovery_device(&org_id, &login.user.id)
                .filter(|d| *d != device_id)
        {
            // Work a wipe sealed waits for this user: their new store continues the wiped
            // one's device, which the server knows the operations of — unless that device
            // was reported lost since, and what was sealed under it goes too.
            match remote.login(&login_as(&kept)).await {
                Ok(again) => {
                    login = again;
                    device_id = kept;
                }
                Err(CoreError::DeviceWipe) => self.recovery_forget(&kept, Some(&login.user.id))?,
                Err(e) => return Err(e),
            }
        }
        self.online.store(true, Ordering::Relaxed);
        // The store's tables come from the org's metadata, so it is fetched before the
        // store is opened; a failure here leaves the device as it was.
        let metadata = remote.metadata(&login.access_token).await?;
        // No sync runs while the open store changes hands: a run under way for the user
        // before would otherwise go on in the next user's store.
        let one_at_a_time = self.sync_lock.lock().await;
        let left = self.with_guard(|guard| {
            let current = guard
                .as_ref()
                .map(|s| Account::of_store(&self.config.data_dir, s));
            if let Some(open) = &current
                && Self::mutant_wipes(guard.as_ref(), account.as_ref(), open, &server_url)
            {
                // A re-introduced bug (the simulation's mutants): the store open now is
                // deleted, unsent work and all.
                open.wipe(guard.take(), keys, accounts::Deletion::Mutant)?;
                if account.as_ref() == Some(open) {
                    account = None;
                }
            }
            let same =
                matches!((&account, &current), (Some(wanted), Some(current)) if wanted == current);
            let left = if same {
                None
            } else {
                // The user's store opens before the one open now closes: a store that will
                // not open (its key is gone) leaves the previous session as it was, and
                // this user gets a fresh store; the unreadable one stays.
                let opened = match account.map(|a| (a.open(keys), a)) {
                    Some((Ok(store), _)) => store,
                    Some((
                        Err(CoreError::Store(e @ (StoreError::MissingKey | StoreError::WrongKey))),
                        unreadable,
                    )) => {
                        tracing::warn!(error = %e, account = %unreadable.id, "this user's store cannot be opened; it stays, and a fresh one is made");
                        self.accounts().create(&self.new_id())?.open(keys)?
                    }
                    Some((Err(e), _)) => return Err(e),
                    None => self.accounts().create(&self.new_id())?.open(keys)?,
                };
                match guard.replace(opened) {
                    Some(previous) => Some(Self::session_leave(&previous)?),
                    None => None,
                }
            };
            let store = guard.as_mut().ok_or(CoreError::NotSignedIn)?;
            Self::access_keep(store, &metadata, self.now())?;
            store.state_delete(METADATA_PENDING)?;
            let change = store.metadata_apply(metadata.metadata)?;
            if change.changed {
                tracing::info!(?change, "the local database moved to the server's metadata");
            }
            store.state_set(ORG_ID, &org_id)?;
            store.state_set(SERVER_URL, &server_url)?;
            store.state_set(USERNAME, &args.username)?;
            Self::tokens_keep(store, &login)?;
            store.state_set(DEVICE_ID, &device_id)?;
            store.state_set(USER_ID, &login.user.id)?;
            store.state_set(SESSION, &self.new_id())?;
            store.state_delete(SIGNED_OUT)?;
            let open = Account::of_store(&self.config.data_dir, store);
            open.tags_write(&org_id, &args.username, &login.user.id, &device_id)?;
            self.adopt_others(store, &open, &org_id, &login.user.id)?;
            self.accounts().set_active(Some(&open))?;
            self.gone_set(None);
            Ok(left)
        })?;
        drop(one_at_a_time);
        if let Some(left) = left {
            self.signal(outpost_sync::Event::SignedOut);
            left.logout(self).await;
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

    /// Ends the session of `store`'s user (who signs out, or leaves the device to another
    /// user): the tokens go (the server hears of it after, [`Left::logout`]), the data and
    /// unsent work stay for their next sign-in.
    fn session_leave(store: &Store) -> Result<Left, CoreError> {
        let left = Left {
            server_url: store.state_get(SERVER_URL)?,
            token: store.state_get(TOKEN)?,
        };
        store.state_delete(TOKEN)?;
        store.state_delete(REFRESH_TOKEN)?;
        store.state_delete(SIGNED_OUT)?;
        Ok(left)
    }

    /// Checks the open store's file from end to end (`PRAGMA integrity_check`): what is
    /// wrong with it, or nothing.
    pub async fn store_check(&self) -> Result<Vec<String>, CoreError> {
        self.with_store(|s| Ok(s.integrity_check()?))
    }

    /// What would be lost if this device's offline data were deleted now: changes not
    /// yet sent, sync errors, resolutions waiting to be sent, drafts.
    pub async fn session_unsent(&self) -> Result<Unsent, CoreError> {
        self.with_store(|s| Ok(Unsent::from(s.unsent()?)))
    }

    /// Signs out: the server ends the session (when it can be reached), the tokens go and
    /// the store closes — the app shows the sign-in screen, and the next person to use the
    /// device sees nothing of this user's (C22). The data and unsent work stay for this
    /// user's next sign-in unless `wipe`; wiping while anything is unsent needs `discard`
    /// to name exactly what will be lost (as [`Client::session_unsent`] counts it), checked
    /// again at the moment of deleting, so a confirmation given for less never deletes
    /// more.
    ///
    /// # Errors
    /// [`CoreError::UnsentWork`] (nothing changes) when unsent work would be lost and
    /// `discard` does not name it.
    pub async fn session_sign_out(&self, args: SignOutArgs) -> Result<SessionStatus, CoreError> {
        let refuse = |s: &Store| -> Result<(), CoreError> {
            let unsent = Unsent::from(s.unsent()?);
            if args.wipe && !unsent.is_empty() && args.discard != Some(unsent) {
                return Err(CoreError::UnsentWork(unsent));
            }
            Ok(())
        };
        let session = self.session_ref()?;
        self.with_store(|s| refuse(s))?;
        // No sync runs while the store closes, and what is unsent is counted again in the
        // same hold of the lock that takes the store away; the server hears of the
        // sign-out only after (a refusal here changes nothing anywhere).
        let one_at_a_time = self.sync_lock.lock().await;
        let (store, left) = self.with_guard(|guard| {
            let store = guard.as_mut().ok_or(CoreError::NotSignedIn)?;
            if self.session_of(store)? != session {
                return Err(CoreError::NotSignedIn);
            }
            refuse(store)?;
            let left = Self::session_leave(store)?;
            Ok((guard.take(), left))
        })?;
        self.accounts().set_active(None)?;
        if let Some(store) = store {
            if args.wipe {
                let named = args.discard.unwrap_or_default();
                self.store_wipe(store, accounts::Deletion::UserSaidYes(named))?;
            } else {
                drop(store);
            }
        }
        drop(one_at_a_time);
        self.signal(outpost_sync::Event::SignedOut);
        left.logout(self).await;
        self.session_status().await
    }

    /// Deletes `store` with its key and folder; the app opens no store after.
    pub(super) fn store_wipe(
        &self,
        store: Store,
        why: accounts::Deletion,
    ) -> Result<(), CoreError> {
        let account = Account::of_store(&self.config.data_dir, &store);
        account.wipe(Some(store), &*self.config.keys, why)?;
        if self.accounts().active().is_none_or(|a| a == account) {
            self.accounts().set_active(None)?;
        }
        Ok(())
    }
}

impl Client {
    /// Whether a re-introduced bug deletes the store open now at this sign-in: another
    /// user's (`SignInOtherUserWipes`), or the same user's typed with another address
    /// (`ServerSpellingWipes`). Never without the `mutants` feature.
    fn mutant_wipes(
        store: Option<&Store>,
        wanted: Option<&Account>,
        open: &Account,
        server_url: &str,
    ) -> bool {
        use outpost_domain::mutant::{Mutant, active};
        let Some(store) = store else { return false };
        if !active(Mutant::SignInOtherUserWipes) && !active(Mutant::ServerSpellingWipes) {
            return false;
        }
        let same_user = wanted == Some(open);
        let spelled = store.state_get(SERVER_URL).ok().flatten();
        (active(Mutant::SignInOtherUserWipes) && !same_user)
            || (active(Mutant::ServerSpellingWipes)
                && same_user
                && spelled.as_deref() != Some(server_url))
    }
}

impl Client {
    /// Moves into `store` (the user's store now open) the unsent work of the user's other
    /// stores on this device, then deletes them: a user whose key went missing worked in
    /// a fresh store, and when the old key comes back its changes, sync errors, resolutions
    /// and drafts join the newer store — kept, in their order, with their op ids (the
    /// server knows an op by user and op id, whichever device sends it again, so nothing
    /// that reached it before is applied twice). A store is deleted only once its work is
    /// in `store`, and only a store with nothing unsent is deleted without moving any.
    fn adopt_others(
        &self,
        store: &mut Store,
        open: &Account,
        org_id: &str,
        user_id: &str,
    ) -> Result<(), CoreError> {
        let keys = &*self.config.keys;
        let who = Who::User { org_id, user_id };
        for other in self.accounts().others_of(keys, who, open) {
            let mut old = match other.open(keys) {
                Ok(old) => old,
                Err(e) => {
                    tracing::warn!(error = %e, account = %other.id, "another store of this user cannot be opened; it stays");
                    continue;
                }
            };
            let work = old.unsent_export()?;
            let ctx = apply_context(store, &access_of(store)?, self.now())?;
            let added = store.unsent_import(&ctx, &work)?;
            tracing::info!(account = %other.id, added = %added.describe(), "the unsent work of this user's other store joined the store in use");
            other.wipe(Some(old), keys, accounts::Deletion::Moved)?;
        }
        Ok(())
    }
}

/// One sign-in of one account: what a request's answer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SessionRef {
    account: String,
    sign_in: Option<String>,
}

/// The session of the user who signed in before another, to end on the server.
struct Left {
    server_url: Option<String>,
    token: Option<String>,
}

impl Left {
    async fn logout(self, client: &Client) {
        if let (Some(url), Some(token)) = (self.server_url, self.token)
            && let Ok(remote) = client.remote_to(&url)
            && let Err(e) = remote.logout(&token).await
        {
            tracing::warn!(error = %e, "the server did not hear the previous user's sign-out; their tokens expire on their own");
        }
    }
}

/// Refuses to send a password and the user's data where anyone on the network reads them:
/// `https://`, or plain `http://` only to this machine (loopback) or when the user said so.
fn transport_check(url: &str, allow_http: bool) -> Result<(), CoreError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| CoreError::Invalid(format!("`{url}` is not a server address: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" if allow_http => {
            tracing::warn!(%url, "signing in over plain http: the password and data cross the network unencrypted");
            Ok(())
        }
        "http" => Err(CoreError::Invalid(format!(
            "`{url}` would send your password and data unencrypted; use https://, or allow plain http for a test server"
        ))),
        _ => Err(CoreError::Invalid(format!(
            "the server address must start with https:// (or http:// on this machine), got `{url}`"
        ))),
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
