//! The device's accounts: one encrypted store, with its own keychain entry, per (org,
//! user), so several people can share a tablet and one's sign-in never touches another's
//! data (C22). An org is known by the id its server reports, never by the spelling of its
//! address: `http://localhost:8640` and `http://127.0.0.1:8640/` are one org.
//!
//! Layout of the data folder (private to its owner: folders 0700, files 0600):
//! - `accounts/<id>/outpost.db` — one account's store, its key under `database:<folder>`;
//! - `outpost.db` at the root — the one store of a build from before accounts (its key
//!   was already `database:<data folder>`), used as an account of its own ([`LEGACY`])
//!   and never moved, so an upgrade cannot lose it half-way;
//! - `active` — which account the app opens (the last one signed in);
//! - `recovery/` — sealed exports of work a wipe could not send (see `recovery`).
//!
//! Which account a store belongs to is kept inside it (org id, user id, user name, device
//! id). Beside it, `tags` lets sign-in find a user's store without opening anyone's:
//! hashes of (org, user name) and (org, user id), and the store's device id (not a
//! secret). The org id is public, so the hashes let someone who can read the folder
//! confirm a guessed user name, nothing more. A store from before tags is read once with
//! [`outpost_store::Store::peek`] and tagged then.

use std::path::{Path, PathBuf};

use outpost_store::{KeyStore, Store, StoreError};

use crate::CoreError;

/// The id of the store a build from before accounts kept at the data folder's root.
pub(super) const LEGACY: &str = "legacy";
const ACCOUNTS: &str = "accounts";
const ACTIVE: &str = "active";
const DB_FILE: &str = "outpost.db";

/// One (org, user)'s store on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// [`LEGACY`] or the folder name under `accounts/`.
    pub(crate) id: String,
    /// The folder holding its database.
    pub(crate) dir: PathBuf,
}

impl Account {
    /// The account whose database is `path` (a store opened from an account's folder).
    pub(crate) fn of_store(root: &Path, store: &Store) -> Self {
        let dir = store.path().parent().unwrap_or(root).to_owned();
        let id = if dir == root {
            LEGACY.to_owned()
        } else {
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        Self { id, dir }
    }

    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    /// The keychain entry of its database key.
    pub(crate) fn key_id(&self) -> String {
        format!("database:{}", self.dir.display())
    }

    /// Opens its store (creating it when new).
    pub(crate) fn open(&self, keys: &dyn KeyStore) -> Result<Store, CoreError> {
        private_dir(&self.dir)?;
        Ok(Store::open(&self.db_path(), keys, &self.key_id())?)
    }

    fn tags_path(&self) -> PathBuf {
        if self.id == LEGACY {
            self.dir.join("outpost.tags")
        } else {
            self.dir.join("tags")
        }
    }

    /// Keeps what lets sign-in find this store without opening it.
    pub(crate) fn tags_write(
        &self,
        org_id: &str,
        username: &str,
        user_id: &str,
        device_id: &str,
    ) -> Result<(), CoreError> {
        let tags = Tags {
            by_name: tag("name", org_id, username),
            by_user: tag("user", org_id, user_id),
            device_id: device_id.to_owned(),
        };
        let json = serde_json::to_vec(&tags).map_err(anyhow::Error::from)?;
        write_private(&self.tags_path(), &json)
    }

    /// The device id its tags keep, if it has tags.
    pub(crate) fn device_id(&self) -> Option<String> {
        self.tags().map(|t| t.device_id)
    }

    fn tags(&self) -> Option<Tags> {
        let text = std::fs::read(self.tags_path()).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Deletes its store and key, then its folder (the legacy root stays). `store`: the
    /// store itself when open; `None` deletes the files without opening them (a store whose
    /// key is gone or wrong must go all the same).
    ///
    /// The one path that deletes a user's store, with whatever it holds that has not
    /// reached the server (`xtask tidy` lets nothing else call the store's own wipe), and
    /// only for one of the reasons of [`Deletion`]. With the store open, a yes must name
    /// exactly what is unsent now; otherwise nothing is deleted.
    pub(crate) fn wipe(
        &self,
        store: Option<Store>,
        keys: &dyn KeyStore,
        why: Deletion,
    ) -> Result<(), CoreError> {
        if let (Deletion::UserSaidYes(named), Some(store)) = (&why, &store) {
            let unsent = crate::api::Unsent::from(store.unsent()?);
            if !unsent.is_empty() && unsent != *named {
                return Err(CoreError::UnsentWork(unsent));
            }
        }
        tracing::info!(account = %self.id, reason = ?why, "a store is deleted");
        match store {
            Some(store) => store.destroy(keys, &self.key_id())?,
            None => Store::wipe_unopened(&self.db_path(), keys, &self.key_id())?,
        }
        let _ = std::fs::remove_file(self.tags_path());
        if self.id != LEGACY
            && let Err(e) = std::fs::remove_dir(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, dir = %self.dir.display(), "an emptied account folder stays");
        }
        Ok(())
    }
}

/// Why a user's store may be deleted, unsent work and all: there is no other reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// The server ordered a wipe, and what could not be sent was sealed in a recovery file
    /// first (or nothing was unsent).
    Sealed,
    /// An administrator reported the device lost: nothing is kept, by design.
    DeviceLost,
    /// The user said yes, naming exactly what would be lost.
    UserSaidYes(crate::api::Unsent),
    /// Its unsent work moved into another store of the same user first.
    Moved,
    /// A re-introduced bug (the simulation's mutants): never otherwise.
    Mutant,
}

/// What sign-in finds a store by, kept beside it (see the module docs).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Tags {
    by_name: String,
    by_user: String,
    device_id: String,
}

/// A hash of (org, who): `kind` is `name` or `user`.
fn tag(kind: &str, org_id: &str, who: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(
        format!("outpost-account/{kind}\0{org_id}\0{who}").as_bytes(),
    ))
}

/// Whose store sign-in looks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who<'a> {
    /// The user with this name in this org.
    Named { org_id: &'a str, username: &'a str },
    /// The user with this id in this org.
    User { org_id: &'a str, user_id: &'a str },
}

/// Who an account's store belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `None` for a store from before org ids were kept: it matches its user in any org.
    pub(crate) org_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) device_id: Option<String>,
}

impl Identity {
    fn org_is(&self, org_id: &str) -> bool {
        self.org_id.as_deref().is_none_or(|o| o == org_id)
    }

    /// Whether this is the account of `username` in `org_id`.
    pub(crate) fn is_user_named(&self, org_id: &str, username: &str) -> bool {
        self.org_is(org_id) && self.username.as_deref() == Some(username)
    }

    /// Whether this is the account of user `user_id` in `org_id`.
    pub(crate) fn is_user(&self, org_id: &str, user_id: &str) -> bool {
        self.org_is(org_id) && self.user_id.as_deref() == Some(user_id)
    }
}

/// The accounts under one data folder.
pub(crate) struct Accounts<'a> {
    pub(crate) root: &'a Path,
}

impl Accounts<'_> {
    fn legacy(&self) -> Account {
        Account {
            id: LEGACY.to_owned(),
            dir: self.root.to_owned(),
        }
    }

    /// The account with this id, if its database exists.
    pub(crate) fn get(&self, id: &str) -> Option<Account> {
        let valid = id == LEGACY
            || (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let account = if id == LEGACY {
            self.legacy()
        } else {
            Account {
                id: id.to_owned(),
                dir: self.root.join(ACCOUNTS).join(id),
            }
        };
        (valid && account.db_path().exists()).then_some(account)
    }

    /// Every account with a database on this device.
    pub(crate) fn all(&self) -> Vec<Account> {
        let mut all: Vec<Account> = self.get(LEGACY).into_iter().collect();
        if let Ok(entries) = std::fs::read_dir(self.root.join(ACCOUNTS)) {
            let mut ids: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            ids.sort();
            all.extend(ids.iter().filter_map(|id| self.get(id)));
        }
        all
    }

    /// The account the app opens: the last one signed in (the legacy store on a device
    /// upgraded from before accounts).
    pub(crate) fn active(&self) -> Option<Account> {
        match std::fs::read_to_string(self.root.join(ACTIVE)) {
            Ok(id) => self.get(id.trim()),
            Err(_) => self.get(LEGACY),
        }
    }

    /// Makes `account` the one the app opens (none: the sign-in screen).
    pub(crate) fn set_active(&self, account: Option<&Account>) -> Result<(), CoreError> {
        let path = self.root.join(ACTIVE);
        let id = account.map_or("", |a| a.id.as_str());
        write_private(&path, id.as_bytes())
    }

    /// A new, empty account folder.
    pub(crate) fn create(&self, id: &str) -> Result<Account, CoreError> {
        let account = Account {
            id: id.to_owned(),
            dir: self.root.join(ACCOUNTS).join(id),
        };
        private_dir(&self.root.join(ACCOUNTS))?;
        private_dir(&account.dir)?;
        Ok(account)
    }

    /// The newest account that is `who`'s, with its device id — found by its tags, without
    /// opening anyone's store (a store from before tags is read once). A store the
    /// keychain cannot open is passed over (it stays; it is somebody's). Newest, because a
    /// user can have two: one whose key went missing, and the fresh one they worked in
    /// since; when the first key comes back, sign-in moves its unsent work into the newer
    /// ([`Accounts::others_of`]).
    pub(crate) fn find(
        &self,
        keys: &dyn KeyStore,
        who: Who<'_>,
    ) -> Option<(Account, Option<String>)> {
        // Account ids are UUID v7: sorted, the newest is last (the legacy store is first).
        self.all().into_iter().rev().find_map(|account| {
            let device_id = account_is(&account, keys, who)?;
            Some((account, device_id))
        })
    }

    /// Every other account that is `who`'s and can be opened, oldest first.
    pub(crate) fn others_of(
        &self,
        keys: &dyn KeyStore,
        who: Who<'_>,
        but: &Account,
    ) -> Vec<Account> {
        self.all()
            .into_iter()
            .filter(|a| a != but && account_is(a, keys, who).is_some())
            .collect()
    }
}

/// Whether `account` is `who`'s: `Some(its device id)` when it is.
pub(crate) fn account_is(
    account: &Account,
    keys: &dyn KeyStore,
    who: Who<'_>,
) -> Option<Option<String>> {
    if let Some(tags) = account.tags() {
        let matches = match who {
            Who::Named { org_id, username } => tags.by_name == tag("name", org_id, username),
            Who::User { org_id, user_id } => tags.by_user == tag("user", org_id, user_id),
        };
        // A store the keychain has no key for cannot be its user's store any more: it is
        // passed over (and stays), and its user gets a fresh one.
        if !matches {
            return None;
        }
        if !matches!(keys.get(&account.key_id()), Ok(Some(_))) {
            tracing::warn!(account = %account.id, "a store of this user has no key in the keychain; it stays, unread");
            return None;
        }
        return Some(Some(tags.device_id));
    }
    let identity = identity(account, keys)
        .inspect_err(|e| {
            tracing::warn!(error = %e, account = %account.id, "an account's store cannot be read");
        })
        .ok()?;
    // Read once: tagged now, it is never opened again to be found.
    if let (Some(org_id), Some(username), Some(user_id), Some(device_id)) = (
        &identity.org_id,
        &identity.username,
        &identity.user_id,
        &identity.device_id,
    ) && let Err(e) = account.tags_write(org_id, username, user_id, device_id)
    {
        tracing::warn!(error = %e, account = %account.id, "an account could not be tagged");
    }
    let matches = match who {
        Who::Named { org_id, username } => identity.is_user_named(org_id, username),
        Who::User { org_id, user_id } => identity.is_user(org_id, user_id),
    };
    matches.then_some(identity.device_id)
}

/// Who `account`'s store belongs to, read without opening it as a store.
pub(crate) fn identity(account: &Account, keys: &dyn KeyStore) -> Result<Identity, StoreError> {
    let values = Store::peek(
        &account.db_path(),
        keys,
        &account.key_id(),
        &[
            super::ORG_ID,
            super::USER_ID,
            super::USERNAME,
            super::DEVICE_ID,
        ],
    )?;
    let mut values = values.into_iter();
    let mut next = || values.next().flatten();
    Ok(Identity {
        org_id: next(),
        user_id: next(),
        username: next(),
        device_id: next(),
    })
}

/// Creates `dir` (and its parents) and makes it private to its owner.
pub(crate) fn private_dir(dir: &Path) -> Result<(), CoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("creating the folder {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| anyhow::anyhow!("making {} private: {e}", dir.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path`, a file only its owner may read, whole or not at all: written
/// beside it, synced, renamed over it, and the folder synced, so a crash leaves either the
/// old file or the new one, never a torn one (ADR 0009).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CoreError> {
    use std::io::Write as _;
    let failed = |e: std::io::Error| anyhow::anyhow!("writing {}: {e}", path.display());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(failed)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(failed)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(failed)?;
    }
    Ok(())
}
