//! Updates of the app from the org server (S19, C23). The core asks the server for the
//! newest release for this app's platform, decides whether it may be installed now, and
//! hands the shell what it needs to download, verify and install it ([`Installer`]) —
//! with sync held still for the whole install.
//!
//! An update is never installed:
//! - in the middle of a sync: installing waits for a run under way to end and holds the
//!   sync lock until the app restarts (or the install fails);
//! - when the new build could not open this device's data: the release says the oldest
//!   and newest store formats its build opens, and every store on the device must be in
//!   that range (a store of an older format than the new build migrates stays readable);
//! - without a signature made with the org's key for that very version: the shell's
//!   updater checks it with the key built into this app and refuses anything else.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_protocol::release::UpdateOffer;
use outpost_store::{Store, StoreError};

use super::Client;
use crate::CoreError;
use crate::api::AppUpdate;
use crate::remote::Remote;

/// How often background sync asks the server for an update.
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(60 * 60);

/// What the shell needs to download, verify and install an update: the release in the
/// shape Tauri's updater reads (whole addresses), and the headers its download sends.
#[derive(Debug, Clone)]
pub struct UpdateTicket {
    /// `{"version", "notes", "pub_date", "url", "signature"}`.
    pub manifest: serde_json::Value,
    /// The access token and the app's versions, as HTTP headers.
    pub headers: Vec<(String, String)>,
}

/// What the shell's install answers: `Ok` once the update is installed (the shell then
/// restarts the app), or what went wrong, in words for the user.
pub type Installing = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// The shell's updater: the Tauri app plugs in its own; without one (the CLI, the browser
/// bridge, a build not installed from a package) the app offers no updates.
pub trait Installer: Send + Sync {
    /// `{os}-{arch}-{installer}` of this installed app (`linux-x86_64-deb`, …).
    fn platform(&self) -> String;
    /// Downloads the package, checks its signature with the org key built into the app,
    /// and installs it.
    fn install(&self, ticket: UpdateTicket) -> Installing;
    /// Starts the new version in place of this one (after a successful install).
    fn restart(&self);
}

/// The update the server offered last, and when the server was last asked.
#[derive(Default)]
pub(super) struct UpdateState {
    offer: Option<UpdateOffer>,
    /// Why the offer may not be installed, as of the last check.
    blocked: Option<String>,
    checked: Option<Instant>,
    /// The last install's failure, shown with the offer until the next try.
    failed: Option<String>,
    installing: bool,
}

impl Client {
    fn installer(&self) -> Option<&Arc<dyn Installer>> {
        self.config.installer.as_ref()
    }

    fn update_state<T>(&self, f: impl FnOnce(&mut UpdateState) -> T) -> T {
        match self.update.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Asks the org server for an update of this app and keeps the answer for the status.
    /// `None` when there is none, or when this app cannot install updates (not installed
    /// from a package, or built without an org update key).
    ///
    /// # Errors
    /// As any request to the server (offline, signed out).
    pub async fn update_check(&self) -> Result<Option<AppUpdate>, CoreError> {
        let Some(installer) = self.installer() else {
            return Ok(None);
        };
        self.offer_fetch(&self.remote()?, &installer.platform())
            .await?;
        Ok(self.update_view())
    }

    /// Asks `remote` for the update offered to this app on `platform` and keeps it, with
    /// why it may not be installed, for the status; answers both and the token it used.
    async fn offer_fetch(
        &self,
        remote: &Remote,
        platform: &str,
    ) -> Result<(Option<UpdateOffer>, Option<String>, String), CoreError> {
        let current = self.app_version();
        let (offer, token) = self
            .authed(remote, |token| {
                let current = &current;
                async move {
                    let offer = remote.update_offer(&token, platform, current).await?;
                    Ok((offer, token))
                }
            })
            .await?;
        let blocked = offer.as_ref().and_then(|o| self.update_blocked(o));
        self.update_state(|u| {
            u.offer.clone_from(&offer);
            u.blocked.clone_from(&blocked);
            u.checked = Some(Instant::now());
        });
        Ok((offer, blocked, token))
    }

    /// After a sync run: when the server answered, asks it for an app update if one is
    /// due — at once when it said this app is too old.
    pub(super) async fn update_after_sync<T>(&self, result: &Result<T, CoreError>) {
        match result {
            Ok(_) => self.update_check_due(false).await,
            Err(CoreError::UpdateRequired(_)) => self.update_check_due(true).await,
            Err(_) => {}
        }
    }

    /// Asks again when the last answer is older than [`CHECK_EVERY`] (or `now` is set).
    /// Failures are only logged.
    async fn update_check_due(&self, now: bool) {
        let due = self.update_state(|u| {
            !u.installing && (now || u.checked.is_none_or(|at| at.elapsed() >= CHECK_EVERY))
        });
        if due
            && self.installer().is_some()
            && let Err(e) = self.update_check().await
        {
            tracing::debug!(error = %e, "asking the server for an app update");
        }
    }

    /// The update the status shows: the offer, and why it cannot be installed, if so.
    pub(crate) fn update_view(&self) -> Option<AppUpdate> {
        let (offer, blocked, failed, installing) = self.update_state(|u| {
            (
                u.offer.clone(),
                u.blocked.clone(),
                u.failed.clone(),
                u.installing,
            )
        });
        let offer = offer?;
        Some(AppUpdate {
            blocked,
            version: offer.version,
            notes: offer.notes,
            size: offer.size,
            installing,
            failed,
        })
    }

    /// Why `offer` must not be installed on this device, in words for the user; `None`
    /// when it may.
    fn update_blocked(&self, offer: &UpdateOffer) -> Option<String> {
        let version = &offer.version;
        if offer.store_format < outpost_store::FORMAT {
            return Some(format!(
                "Version {version} keeps offline data in an older format than this app \
                 (format {} against {}): it could not open your data, so it is not \
                 installed. Ask your administrator for a newer release.",
                offer.store_format,
                outpost_store::FORMAT
            ));
        }
        // A store whose key is gone (or whose file is) cannot be opened by any build; any
        // other failure to read a format blocks the install rather than guess.
        let mut formats = Vec::new();
        for account in self.accounts().all() {
            match Store::peek_format(&account.db_path(), &*self.config.keys, &account.key_id()) {
                Ok(format) => formats.push(format),
                Err(
                    StoreError::MissingKey | StoreError::WrongKey | StoreError::NotFound { .. },
                ) => {}
                Err(e) => {
                    return Some(format!(
                        "The offline data of an account on this device could not be checked \
                         ({e}), so version {version} is not installed yet. Try again later."
                    ));
                }
            }
        }
        let oldest = formats.into_iter().filter(|&f| f > 0).min();
        match oldest {
            Some(format) if format < offer.min_store_format => Some(format!(
                "Version {version} cannot move this device's offline data forward (format \
                 {format}; it reads {} and later), so it is not installed. Open the app \
                 once as each user of this device first, or ask your administrator.",
                offer.min_store_format
            )),
            _ => None,
        }
    }

    /// Installs the update offered, on the user's yes: waits for a sync under way to end,
    /// holds sync still, checks again that the new build can open this device's data, has
    /// the shell download, verify and install it, and restarts the app. When anything
    /// fails nothing is installed, sync resumes, and the offer says why.
    ///
    /// # Errors
    /// `Invalid` when there is no update to install, it may not be installed (why), or
    /// the install failed (why: a package whose signature does not check, a download
    /// that broke off, the system's installer refusing).
    pub async fn update_install(&self) -> Result<(), CoreError> {
        let Some(installer) = self.installer().cloned() else {
            return Err(CoreError::Invalid(
                "this app cannot install updates: it was not installed from a package".into(),
            ));
        };
        // Never in the middle of a sync: a run under way ends first, and none starts until
        // the app restarts or the install fails.
        let _sync_held = self.sync_lock.lock().await;
        self.update_state(|u| {
            u.installing = true;
            u.failed = None;
        });
        // However this ends (the caller may drop it), the status stops saying "installing".
        let _installing = on_drop(|| self.update_state(|u| u.installing = false));
        let result = self.update_install_held(&*installer).await;
        self.update_state(|u| u.failed = result.as_ref().err().map(ToString::to_string));
        if result.is_ok() {
            tracing::info!("the update is installed; the app restarts");
            installer.restart();
        }
        result
    }

    async fn update_install_held(&self, installer: &dyn Installer) -> Result<(), CoreError> {
        // Asked again under the lock: the offer may have changed, and the token is fresh.
        let remote = self.remote()?;
        let platform = installer.platform();
        let (offer, blocked, token) = self.offer_fetch(&remote, &platform).await?;
        let offer =
            offer.ok_or_else(|| CoreError::Invalid("there is no update to install".into()))?;
        if let Some(why) = blocked {
            return Err(CoreError::Invalid(why));
        }
        // The package's address is made here, on the org server, from parts this app
        // checks: a server's `url` is never followed with this app's token.
        let version = outpost_protocol::AppVersion::parse(&offer.version)
            .filter(|v| v.to_string() == offer.version)
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "the server offered a release named {:?}, which is not a version",
                    offer.version
                ))
            })?;
        let url = remote.absolute(&format!("/api/v1/app/releases/{version}/{platform}"));
        let ticket = UpdateTicket {
            manifest: serde_json::json!({
                "version": offer.version,
                "notes": offer.notes,
                "pub_date": offer.pub_date,
                "url": url,
                "signature": offer.signature,
            }),
            headers: remote.headers_for(&token),
        };
        installer.install(ticket).await.map_err(CoreError::Invalid)
    }
}

/// Runs `f` when dropped.
fn on_drop<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
