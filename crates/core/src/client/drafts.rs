//! Offline drafts mode (C17), for app modules set to *drafts*. Such a module's records are
//! not synced: a record the user opens while online is read from the server and kept
//! (encrypted) among the recently used, so it can be read offline; a new record is made
//! as a draft on the device, checked as the server would check it, and saved to the
//! server one by one when the user asks, online. A draft's lookups may only point at
//! records the device holds, since nothing else can be checked offline.

use outpost_domain::metadata::OfflineMode;
use outpost_domain::{AttributeKind, Fields, Operation};
use outpost_protocol::{CreateBody, RecordBody, WireCode};
use outpost_store::{Draft, RecentRecord, Store};

use super::records::{blank_is_null, invalid, row};
use super::{Client, access_of, apply_context};
use crate::CoreError;
use crate::api::{
    DraftKey, DraftRow, DraftUpdateArgs, RecentListArgs, RecordCreateArgs, RecordKey, RecordRow,
};

/// Why a record of the recently used is on the device (B3).
const RECENT: &str = "recent";

fn draft_row(d: Draft) -> DraftRow {
    DraftRow {
        id: d.id,
        entity: d.entity,
        fields: d.fields,
        created_at: d.created_at,
        updated_at: d.updated_at,
        error: d.error,
    }
}

fn recent_row(r: RecentRecord) -> RecordRow {
    RecordRow {
        id: r.id,
        entity: r.entity,
        fields: r.fields,
        row_version: r.row_version,
        pending: false,
        reason: Some(RECENT.to_owned()),
    }
}

/// Whether `entity` belongs to an app module set to *drafts*.
fn in_drafts_module(store: &Store, entity: &str) -> bool {
    store
        .metadata()
        .app_modules
        .iter()
        .any(|m| m.offline == Some(OfflineMode::Drafts) && m.entities.iter().any(|e| e == entity))
}

/// A record id as the device makes them or the server answers them: it goes into a URL
/// path, so only letters, digits, `-` and `_`.
fn check_id(id: &str) -> Result<(), CoreError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(format!("`{id}` is not a record id")));
    }
    Ok(())
}

/// Checks a draft's fields as the server will: the entity is in a drafts module, the user
/// may create it and set these fields, the domain's create takes them, and every lookup
/// points at a record the device holds. Answers the fields to keep (blank ones as null).
fn draft_checked(
    store: &mut Store,
    entity: &str,
    fields: Fields,
    (probe_id, now): (String, time::OffsetDateTime),
) -> Result<Fields, CoreError> {
    let def = store.metadata().entity(entity).map_err(invalid)?.clone();
    if !in_drafts_module(store, entity) {
        return Err(invalid(format!(
            "{} is in no app module that works with drafts",
            def.plural
        )));
    }
    let access = access_of(store)?;
    let fields = blank_is_null(fields);
    let probe = Operation::Create {
        entity: entity.to_owned(),
        id: probe_id,
        fields: fields.clone(),
    };
    // The security check the server runs when the draft is saved.
    access.authorize(store, &probe)?;
    for attr in &def.attributes {
        if !matches!(attr.kind, AttributeKind::Lookup { .. }) {
            continue;
        }
        let Some(Some(value)) = fields.get(&attr.name).filter(|v| v.as_deref() != Some("")) else {
            continue;
        };
        let held = value.split_once(':').is_some_and(|(target, id)| {
            store.record_get(target, id).is_ok()
                || store.recent_get(target, id).ok().flatten().is_some()
        });
        if !held {
            return Err(invalid(format!(
                "{}: a draft can only point at a record available offline",
                attr.label
            )));
        }
    }
    // The domain's own create decides, on the local layer, and is undone: the server
    // runs the same code when the draft is saved. A record the device does not hold
    // (a recently used one) is not on the local layer, so its lookups are checked above.
    store.op_try(&apply_context(store, &access, now)?, &probe)?;
    Ok(fields)
}

impl Client {
    /// Opens a record of a drafts module: from the server while online (and keeps it
    /// among the recently used), from the recently used while offline. A record the
    /// device syncs is answered from the local database.
    pub async fn recent_open(&self, args: RecordKey) -> Result<RecordRow, CoreError> {
        check_id(&args.id)?;
        let local = self.with_store(|s| {
            s.metadata().entity(&args.entity).map_err(invalid)?;
            Ok(s.record_get(&args.entity, &args.id).ok())
        })?;
        if let Some(record) = local {
            return Ok(row(record));
        }
        let session = self.session_ref()?;
        let fetched = match self.remote() {
            Ok(remote) => {
                let (entity, id) = (&args.entity, &args.id);
                self.authed(&remote, |token| {
                    let remote = &remote;
                    async move { remote.record_get(&token, entity, id).await }
                })
                .await
            }
            Err(e) => Err(e),
        };
        match fetched {
            Ok(body) => self.recent_keep(&session, &args.entity, body),
            Err(CoreError::Unreachable(_) | CoreError::NotSignedIn) => {
                self.with_store_of(&session, |s| {
                    s.recent_get(&args.entity, &args.id)?
                        .map(recent_row)
                        .ok_or_else(|| {
                            CoreError::Store(outpost_store::StoreError::NotFound {
                                entity: args.entity.clone(),
                                id: args.id.clone(),
                            })
                        })
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps a record the server answered among `session`'s user's recently used.
    fn recent_keep(
        &self,
        session: &super::SessionRef,
        entity: &str,
        body: RecordBody,
    ) -> Result<RecordRow, CoreError> {
        let record = RecentRecord {
            entity: entity.to_owned(),
            id: body.id,
            fields: body.fields,
            row_version: u64::try_from(body.row_version).unwrap_or(0),
            used_at: self.now_rfc3339(),
        };
        self.with_store_of(session, |s| {
            s.recent_put(&record)?;
            Ok(recent_row(record))
        })
    }

    /// The recently used records kept for reading offline, most recent first.
    pub async fn recent_list(&self, args: RecentListArgs) -> Result<Vec<RecordRow>, CoreError> {
        self.with_store(|s| {
            Ok(s.recent_list(args.entity.as_deref())?
                .into_iter()
                .map(recent_row)
                .collect())
        })
    }

    /// The drafts waiting to be saved, oldest first.
    pub async fn draft_list(&self) -> Result<Vec<DraftRow>, CoreError> {
        self.with_store(|s| Ok(s.draft_list()?.into_iter().map(draft_row).collect()))
    }

    /// Makes a new record as a draft, offline or not; it is checked now and saved to the
    /// server by `draft_save`.
    pub async fn draft_create(&self, args: RecordCreateArgs) -> Result<DraftRow, CoreError> {
        self.with_store(|s| {
            let fields = draft_checked(s, &args.entity, args.fields, (self.new_id(), self.now()))?;
            let at = self.now_rfc3339();
            let draft = Draft {
                id: self.new_id(),
                entity: args.entity,
                fields,
                created_at: at.clone(),
                updated_at: at,
                error: None,
            };
            s.draft_put(&draft)?;
            Ok(draft_row(draft))
        })
    }

    /// Changes fields of a draft (and forgets why its last save failed).
    pub async fn draft_update(&self, args: DraftUpdateArgs) -> Result<DraftRow, CoreError> {
        self.with_store(|s| {
            let mut draft = draft_of(s, &args.id)?;
            let mut fields = draft.fields.clone();
            fields.extend(args.fields);
            draft.fields = draft_checked(s, &draft.entity, fields, (self.new_id(), self.now()))?;
            draft.updated_at = self.now_rfc3339();
            draft.error = None;
            s.draft_put(&draft)?;
            Ok(draft_row(draft))
        })
    }

    /// Deletes a draft.
    pub async fn draft_delete(&self, args: DraftKey) -> Result<(), CoreError> {
        self.with_store(|s| {
            draft_of(s, &args.id)?;
            s.draft_delete(&args.id)?;
            Ok(())
        })
    }

    /// Saves one draft to the server, under the id it was made with: the draft goes and
    /// the record joins the recently used. Saving again after an answer that never came
    /// finds the record already there and counts it as saved. A refusal keeps the draft
    /// with the server's reason; an unreachable server leaves it as it was.
    pub async fn draft_save(&self, args: DraftKey) -> Result<RecordRow, CoreError> {
        let session = self.session_ref()?;
        let draft = self.with_store(|s| draft_of(s, &args.id))?;
        let remote = self.remote()?;
        let body = CreateBody {
            id: Some(draft.id.clone()),
            fields: draft.fields.clone(),
        };
        let (entity, id, body) = (&draft.entity, &draft.id, &body);
        let created = self
            .authed(&remote, |token| {
                let remote = &remote;
                async move { remote.record_create(&token, entity, body).await }
            })
            .await;
        let saved = match created {
            // An earlier save reached the server and its answer was lost: the record is
            // there as that save sent it. What the user changed in the draft since goes
            // to it as an update — never dropped with the draft.
            Err(e) if e.server_code() == Some(WireCode::AlreadyExists) => {
                let there = self
                    .authed(&remote, |token| {
                        let remote = &remote;
                        async move { remote.record_get(&token, entity, id).await }
                    })
                    .await;
                match there {
                    Ok(there) => {
                        let changes = changed_since(&draft.fields, &there.fields);
                        if changes.is_empty() {
                            Ok(there)
                        } else {
                            let changes = &changes;
                            self.authed(&remote, |token| {
                                let remote = &remote;
                                async move {
                                    remote.record_update(&token, entity, id, changes).await
                                }
                            })
                            .await
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        match saved {
            Ok(body) => {
                let record = self.recent_keep(&session, entity, body)?;
                self.with_store_of(&session, |s| Ok(s.draft_delete(id)?))?;
                Ok(record)
            }
            Err(e @ (CoreError::Server { .. } | CoreError::Forbidden(_))) => {
                let reason = e.to_string();
                self.with_store_of(&session, |s| {
                    s.draft_put(&Draft {
                        error: Some(reason),
                        ..draft.clone()
                    })?;
                    Ok(())
                })?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

/// The draft's fields whose value is not the server's text (an amount the server wrote
/// another way, `5` for `5.00`, is sent again: the same value, harmlessly).
fn changed_since(draft: &Fields, server: &Fields) -> Fields {
    draft
        .iter()
        .filter(|(name, value)| server.get(*name).cloned().flatten() != **value)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn draft_of(store: &Store, id: &str) -> Result<Draft, CoreError> {
    store.draft_get(id)?.ok_or_else(|| {
        CoreError::Store(outpost_store::StoreError::NotFound {
            entity: "draft".to_owned(),
            id: id.to_owned(),
        })
    })
}
