//! Work a wipe could not send, kept sealed until its user recovers it (C22).
//!
//! When the server orders this device to delete its offline data (offline switched off,
//! the user's profile taken away), the sync run has already sent what it could; what
//! remains — parked changes, sync errors, resolutions, drafts — is sealed into
//! `recovery/<id>.outpost-recovery` (`outpost_protocol::recovery`: its key in the keychain
//! for the user, and sealed to the org's recovery key for an administrator) before the
//! store goes. Signed in again as the same user of the same org, the user restores it into
//! whichever of their stores is open: the changes join the outbox again with their op ids,
//! and the server knows an op by user and op id, so none is applied twice.

use std::path::{Path, PathBuf};

use outpost_protocol::recovery::{self, RecoveryFile, RecoveryHeader};
use outpost_store::{DatabaseKey, Store, UnsentWork};
use serde::{Deserialize, Serialize};

use super::{
    Client, DEVICE_ID, ORG_ID, RECOVERY_KEY, SERVER_URL, USER_ID, USERNAME, access_of,
    apply_context,
};
use crate::CoreError;
use crate::api::{RecoveryInfo, RecoveryRestoreArgs, Unsent};

const DIR: &str = "recovery";
const EXTENSION: &str = "outpost-recovery";

/// What a recovery file's sealed body holds.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    username: Option<String>,
    server_url: Option<String>,
    work: UnsentWork,
}

impl Client {
    fn recovery_dir(&self) -> PathBuf {
        self.config.data_dir.join(DIR)
    }

    fn recovery_path(&self, id: &str) -> PathBuf {
        self.recovery_dir().join(format!("{id}.{EXTENSION}"))
    }

    /// The keychain entry of a recovery file's key.
    fn recovery_key_id(&self, id: &str) -> String {
        format!("recovery:{}", self.recovery_path(id).display())
    }

    /// Seals what `store` holds that has not reached the server, when anything; answers
    /// what was kept. The file is written and synced before this returns, so the store
    /// may go after.
    pub(super) fn recovery_keep(&self, store: &mut Store) -> Result<Unsent, CoreError> {
        let unsent = Unsent::from(store.unsent()?);
        if unsent.is_empty() {
            return Ok(unsent);
        }
        let work = store.unsent_export()?;
        let header = RecoveryHeader {
            id: self.new_id(),
            org_id: store.state_get(ORG_ID)?.unwrap_or_default(),
            user_id: store.state_get(USER_ID)?.unwrap_or_default(),
            device_id: store.state_get(DEVICE_ID)?.unwrap_or_default(),
            created_on: self.now_rfc3339(),
        };
        let body = serde_json::to_vec(&Body {
            username: store.state_get(USERNAME)?,
            server_url: store.state_get(SERVER_URL)?,
            work,
        })
        .map_err(anyhow::Error::from)?;
        let org_key = store.state_get(RECOVERY_KEY)?.and_then(|k| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, k)
                .ok()
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
        });
        let key = DatabaseKey::generate();
        let id = header.id.clone();
        let file = recovery::seal(header, &body, key.as_bytes(), org_key.as_ref())
            .map_err(anyhow::Error::from)?;
        super::accounts::private_dir(&self.recovery_dir())?;
        self.config.keys.set(&self.recovery_key_id(&id), &key)?;
        let json = serde_json::to_vec_pretty(&file).map_err(anyhow::Error::from)?;
        super::accounts::write_private(&self.recovery_path(&id), &json)?;
        tracing::warn!(
            kept = %unsent.describe(),
            file = %self.recovery_path(&id).display(),
            "work the server could not receive before the wipe is kept in a sealed recovery file"
        );
        Ok(unsent)
    }

    /// How many recovery files this device holds.
    pub(super) fn recovery_count(&self) -> u32 {
        u32::try_from(self.recovery_files().len()).unwrap_or(u32::MAX)
    }

    fn recovery_files(&self) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(self.recovery_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
            .filter_map(|p| {
                let id = p.file_stem()?.to_string_lossy().into_owned();
                Some((id, p))
            })
            .collect();
        files.sort();
        files
    }

    /// The device id of the newest recovery file of `user_id` in `org_id`, if one waits:
    /// a new store for that user continues that device (see the module docs).
    pub(super) fn recovery_device(&self, org_id: &str, user_id: &str) -> Option<String> {
        self.recovery_files()
            .into_iter()
            .rev()
            .filter_map(|(_, path)| {
                let text = std::fs::read(&path).ok()?;
                serde_json::from_slice::<RecoveryFile>(&text).ok()
            })
            .find(|f| {
                f.header.org_id == org_id
                    && f.header.user_id == user_id
                    && !f.header.device_id.is_empty()
            })
            .map(|f| f.header.device_id)
    }

    /// Deletes the recovery files kept under `device_id` (of `user_id`, when known), with
    /// their keys: that device was reported lost, and nothing of its user's may stay on it.
    /// Device ids are random per store, so the device id alone names one user's store.
    pub(super) fn recovery_forget(
        &self,
        device_id: &str,
        user_id: Option<&str>,
    ) -> Result<(), CoreError> {
        for (id, path) in self.recovery_files() {
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            let Ok(file) = serde_json::from_slice::<RecoveryFile>(&text) else {
                continue;
            };
            if file.header.device_id == device_id
                && user_id.is_none_or(|u| u == file.header.user_id)
            {
                std::fs::remove_file(&path)
                    .map_err(|e| anyhow::anyhow!("removing {}: {e}", path.display()))?;
                self.config.keys.delete(&self.recovery_key_id(&id))?;
                tracing::warn!(file = %path.display(), "a recovery file of a device reported lost is deleted");
            }
        }
        Ok(())
    }

    /// Reads a recovery file and, when the keychain has its key, its body.
    fn recovery_read(&self, path: &Path) -> Result<(RecoveryFile, Option<Body>), CoreError> {
        let text =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let file: RecoveryFile = serde_json::from_slice(&text).map_err(|e| {
            CoreError::Invalid(format!("{} is not a recovery file: {e}", path.display()))
        })?;
        let body = match self
            .config
            .keys
            .get(&self.recovery_key_id(&file.header.id))?
        {
            Some(key) => {
                let bytes = recovery::open(&file, key.as_bytes())
                    .map_err(|e| CoreError::Invalid(e.to_string()))?;
                Some(serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?)
            }
            None => None,
        };
        Ok((file, body))
    }

    /// The recovery files on this device: when each was kept, whether it can be restored
    /// into the store open now, and — for the signed-in user's own files only — whose work
    /// it is and what it holds (another user's name and counts are theirs to see).
    pub async fn recovery_list(&self) -> Result<Vec<RecoveryInfo>, CoreError> {
        let here = self
            .with_store(|s| Ok((s.state_get(ORG_ID)?, s.state_get(USER_ID)?)))
            .ok();
        let mut list = Vec::new();
        for (_, path) in self.recovery_files() {
            let (file, body) = match self.recovery_read(&path) {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(error = %e, "a recovery file cannot be read");
                    continue;
                }
            };
            let own = here.as_ref().is_some_and(|(org, user)| {
                org.as_deref() == Some(file.header.org_id.as_str())
                    && user.as_deref() == Some(file.header.user_id.as_str())
            });
            // Any store of the same user restores it: the server knows an op by user and op
            // id, whichever of the user's devices sends it (ADR 0012), so work sealed under
            // another device id is never applied twice.
            let restorable = own && body.is_some();
            let body = body.filter(|_| own);
            list.push(RecoveryInfo {
                id: file.header.id.clone(),
                created_on: file.header.created_on.clone(),
                username: body.as_ref().and_then(|b| b.username.clone()),
                server_url: body.as_ref().and_then(|b| b.server_url.clone()),
                unsent: body.as_ref().map(|b| Unsent::from(b.work.count())),
                restorable,
            });
        }
        Ok(list)
    }

    /// Puts the work of recovery file `id` back into the open store (the same org and
    /// user): its changes wait in the outbox again, in their order and with their op ids,
    /// its drafts and resolutions are back. The file and its key go only once the store
    /// has it all. Answers what was added (a restore that ran before adds nothing).
    ///
    /// # Errors
    /// `NotFound` for an unknown id; `Forbidden` when the file is another user's or org's;
    /// `Keychain` when this device no longer has its key (an administrator can still open
    /// it with the org's key).
    pub async fn recovery_restore(&self, args: RecoveryRestoreArgs) -> Result<Unsent, CoreError> {
        let path = self
            .recovery_files()
            .into_iter()
            .find(|(id, _)| *id == args.id)
            .map(|(_, path)| path)
            .ok_or_else(|| {
                CoreError::Store(outpost_store::StoreError::NotFound {
                    entity: "recovery".into(),
                    id: args.id.clone(),
                })
            })?;
        let (file, body) = self.recovery_read(&path)?;
        let body = body.ok_or_else(|| {
            CoreError::Store(outpost_store::StoreError::Keychain(
                "this device no longer has the key of that recovery file; an administrator of your org can open it".into(),
            ))
        })?;
        let added = self.with_store(|s| {
            let same = s.state_get(ORG_ID)?.as_deref() == Some(file.header.org_id.as_str())
                && s.state_get(USER_ID)?.as_deref() == Some(file.header.user_id.as_str());
            if !same {
                return Err(CoreError::Forbidden(
                    "that recovery file holds another user's work; they restore it after signing in".into(),
                ));
            }
            let ctx = apply_context(s, &access_of(s)?, self.now())?;
            Ok(Unsent::from(s.unsent_import(&ctx, &body.work)?))
        })?;
        std::fs::remove_file(&path)
            .map_err(|e| anyhow::anyhow!("removing {}: {e}", path.display()))?;
        self.config
            .keys
            .delete(&self.recovery_key_id(&file.header.id))?;
        let pending = self.with_store(|s| Ok(s.outbox_count()?))?;
        self.signal(outpost_sync::Event::OutboxChanged {
            pending: u32::try_from(pending).unwrap_or(u32::MAX),
        });
        tracing::info!(added = %added.describe(), "recovered work is back in the outbox");
        Ok(added)
    }
}
