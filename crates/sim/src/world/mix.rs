//! The rest of the users' and administrators' mix: commands, flow moves, follows and
//! drafts; role, offline profile and entity filter changes; and a disk that fills up.
//! Each books what the model needs to judge it ([`crate::model::Effect`],
//! [`crate::model::DraftBook`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use outpost_core::api::{CommandArgs, DraftKey, DraftUpdateArgs, RecordCreateArgs, RecordKey};
use outpost_core::{Client, CoreError};
use outpost_domain::Fields;
use outpost_domain::demo::role;
use outpost_protocol::admin::{ItemData, ProfileDef};
use rand::Rng as _;

use super::{World, outcome, short};
use crate::model::{DraftBook, Effect};
use crate::net::lock;

/// Entities users run commands on, with the state each command leaves.
pub(super) const COMMANDED: &[&str] = &[
    "lead",
    "opportunity",
    "incident",
    "task",
    "phonecall",
    "appointment",
];
/// Entities with a business process flow in the demo.
const FLOWED: &[&str] = &["opportunity", "incident"];
/// Entities users follow and unfollow.
const FOLLOWED: &[&str] = &["account", "contact", "lead", "opportunity"];
/// The narrower filters the administrator switches on and off: the org's entity filter
/// of an entity, and the custom filter of a profile's account item.
const ENTITY_FILTERS: &[(&str, &str)] = &[
    ("account", "numberofemployees gt 300"),
    ("contact", "jobtitle ne null"),
];
const PROFILE_FILTER: &str = "numberofemployees le 600";

/// A profile the simulation made, and the simulated users it is assigned to.
pub(crate) struct SimProfile {
    pub(crate) id: String,
    pub(crate) def: ProfileDef,
    pub(crate) users: BTreeSet<usize>,
}

/// A device's disk: full with `room` pages left (fixed at `cap` once the store saw it).
#[derive(Default)]
pub(crate) struct Disk {
    pub(crate) room: Option<u64>,
    pub(crate) cap: Option<u64>,
}

impl Disk {
    /// The most pages the store may grow to now.
    pub(crate) fn cap(&mut self, pages: u64) -> Option<u64> {
        match self.room {
            None => {
                self.cap = None;
                None
            }
            Some(room) => Some(*self.cap.get_or_insert(pages + room)),
        }
    }
}

impl World {
    /// Open records of `entity` the device holds.
    async fn open_held(&self, d: usize, entity: &str) -> Vec<outpost_core::api::RecordRow> {
        self.held(d, entity)
            .await
            .into_iter()
            .filter(|r| r.fields.get("statecode").cloned().flatten().as_deref() == Some("0"))
            .collect()
    }

    fn pick<T: Clone>(&self, items: &[T]) -> Option<T> {
        (!items.is_empty())
            .then(|| items[self.rng.with(|r| r.random_range(0..items.len()))].clone())
    }

    /// Sets `effect` on every operation booked since `from`.
    fn effect_from(&mut self, from: usize, effect: &Effect) {
        for op in &mut self.ledger.ops[from..] {
            op.effect = Some(effect.clone());
        }
    }

    /// Runs a command as the user's action and books `effect` on the operations it
    /// queued.
    async fn command_booked(
        &mut self,
        d: usize,
        client: &Arc<Client>,
        what: String,
        args: CommandArgs,
        effect: Effect,
    ) {
        let from = self.ledger.ops.len();
        let client = Arc::clone(client);
        self.user_action(d, what, None, async move {
            client.command_run(args).await.map(|_| ())
        })
        .await;
        self.effect_from(from, &effect);
    }

    /// A user runs a command (C5): qualify a lead, close an opportunity won or lost,
    /// resolve a case, complete an activity.
    pub(super) async fn user_command(&mut self, d: usize) {
        let Some(entity) = self.pick(COMMANDED) else {
            return;
        };
        let held = self.open_held(d, entity).await;
        let Some(record) = self.pick(&held) else {
            return;
        };
        let id = record.id.clone();
        let (args, state) = match entity {
            "lead" => (
                CommandArgs::LeadQualify {
                    lead_id: id.clone(),
                    create_account: self.rng.with(|r| r.random_bool(0.5)),
                    create_contact: self.rng.with(|r| r.random_bool(0.5)),
                    create_opportunity: self.rng.with(|r| r.random_bool(0.5)),
                },
                "1",
            ),
            "opportunity" if self.rng.with(|r| r.random_bool(0.5)) => (
                CommandArgs::OpportunityCloseWon {
                    id: id.clone(),
                    actual_revenue: None,
                    description: Some(self.token()),
                },
                "1",
            ),
            "opportunity" => (
                CommandArgs::OpportunityCloseLost {
                    id: id.clone(),
                    status: self.rng.with(|r| r.random_range(4..6)),
                    competitor: None,
                    description: Some(self.token()),
                },
                "2",
            ),
            "incident" => (
                CommandArgs::CaseResolve {
                    id: id.clone(),
                    status: if self.rng.with(|r| r.random_bool(0.5)) {
                        5
                    } else {
                        1000
                    },
                    subject: self.token(),
                    time_spent_minutes: Some(self.rng.with(|r| r.random_range(1..300))),
                },
                "1",
            ),
            _ => (
                CommandArgs::ActivityMarkComplete {
                    entity: entity.to_owned(),
                    id: id.clone(),
                },
                "1",
            ),
        };
        let name = serde_json::to_value(&args)
            .ok()
            .and_then(|v| v["command"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let Some(client) = self.client(d) else { return };
        let created = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = Arc::clone(&created);
        let from = self.ledger.ops.len();
        let what = format!("command {name} {entity} {}", short(&id));
        self.net.count("user_command");
        self.user_action(d, what, None, async move {
            let result = client.command_run(args).await?;
            *lock(&keep) = result
                .created
                .into_iter()
                .map(|k| (k.entity, k.id))
                .collect();
            Ok(())
        })
        .await;
        let created = std::mem::take(&mut *lock(&created));
        self.effect_from(
            from,
            &Effect::State {
                entity: entity.to_owned(),
                id,
                state,
                created,
            },
        );
    }

    /// A user moves a record to the next or previous stage of its business process flow.
    pub(super) async fn user_flow(&mut self, d: usize) -> anyhow::Result<()> {
        let Some(entity) = self.pick(FLOWED) else {
            return Ok(());
        };
        let held = self.open_held(d, entity).await;
        let Some(record) = self.pick(&held) else {
            return Ok(());
        };
        let Some(client) = self.client(d) else {
            return Ok(());
        };
        let Ok(metadata) = client.metadata_get().await else {
            return Ok(());
        };
        let Some(flow_id) = metadata.flows_for(entity).next().map(|f| f.id.clone()) else {
            return Ok(());
        };
        let id = record.id.clone();
        let key = (entity.to_owned(), id.clone());
        if !self.ledger.flow_start.contains_key(&key) {
            let stage = self.server_field(entity, &id, "activestageid").await?;
            self.ledger.flow_start.insert(key, stage);
        }
        let next = self.rng.with(|r| r.random_bool(0.6));
        let args = if next {
            CommandArgs::FlowNext {
                entity: entity.to_owned(),
                id: id.clone(),
                flow_id: flow_id.clone(),
            }
        } else {
            CommandArgs::FlowPrevious {
                entity: entity.to_owned(),
                id: id.clone(),
                flow_id: flow_id.clone(),
            }
        };
        self.net.count("user_flow_move");
        let what = format!(
            "flow {} {entity} {}",
            if next { "next" } else { "previous" },
            short(&id)
        );
        let effect = Effect::Flow {
            entity: entity.to_owned(),
            id,
            flow_id,
            step: if next { 1 } else { -1 },
        };
        self.command_booked(d, &client, what, args, effect).await;
        Ok(())
    }

    /// A user follows a record they hold, or stops following it (S11).
    pub(super) async fn user_follow(&mut self, d: usize) {
        let Some(entity) = self.pick(FOLLOWED) else {
            return;
        };
        let held = self.held(d, entity).await;
        let Some(record) = self.pick(&held) else {
            return;
        };
        let Some(client) = self.client(d) else { return };
        let key = RecordKey {
            entity: entity.to_owned(),
            id: record.id.clone(),
        };
        let on = match client.record_get(key).await {
            Ok(detail) => !detail.followed,
            Err(_) => return,
        };
        let id = record.id.clone();
        let args = if on {
            CommandArgs::Follow {
                entity: entity.to_owned(),
                id: id.clone(),
            }
        } else {
            CommandArgs::Unfollow {
                entity: entity.to_owned(),
                id: id.clone(),
            }
        };
        self.net
            .count(if on { "user_follow" } else { "user_unfollow" });
        let what = format!(
            "{} {entity} {}",
            if on { "follow" } else { "unfollow" },
            short(&id)
        );
        let effect = Effect::Follow {
            entity: entity.to_owned(),
            id,
            on,
        };
        self.command_booked(d, &client, what, args, effect).await;
    }

    /// A user makes, changes, saves or deletes a draft (drafts mode, C17).
    pub(super) async fn user_draft(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        let user = self.devices[d].user;
        let drafts = client.draft_list().await.unwrap_or_default();
        let roll = self.rng.with(|r| r.random_range(0..10));
        let draft = self.pick(&drafts);
        match (roll, draft) {
            (0..4, _) | (_, None) => {
                self.net.count("user_draft_create");
                let value = self.token();
                let result = client
                    .draft_create(RecordCreateArgs {
                        entity: "account".into(),
                        fields: Fields::from([("name".to_owned(), Some(value.clone()))]),
                    })
                    .await;
                let text = outcome(&result);
                if let Ok(row) = &result {
                    self.ledger.drafts.insert(
                        row.id.clone(),
                        DraftBook {
                            device: d,
                            user,
                            entity: "account".into(),
                            value,
                            deleted: false,
                        },
                    );
                }
                self.disk_note(d, "draft create", &result);
                self.log(format!("d{d} u{user} draft create: {text}"));
            }
            (4..6, Some(draft)) => {
                self.net.count("user_draft_update");
                let value = self.token();
                let result = client
                    .draft_update(DraftUpdateArgs {
                        id: draft.id.clone(),
                        fields: Fields::from([("name".to_owned(), Some(value.clone()))]),
                    })
                    .await;
                if result.is_ok()
                    && let Some(book) = self.ledger.drafts.get_mut(&draft.id)
                {
                    book.value = value;
                }
                self.disk_note(d, "draft update", &result);
                let text = outcome(&result);
                self.log(format!(
                    "d{d} u{user} draft update {}: {text}",
                    short(&draft.id)
                ));
            }
            (6..9, Some(draft)) => {
                self.net.count("user_draft_save");
                let result = client
                    .draft_save(DraftKey {
                        id: draft.id.clone(),
                    })
                    .await;
                self.disk_note(d, "draft save", &result);
                let text = outcome(&result);
                self.log(format!(
                    "d{d} u{user} draft save {}: {text}",
                    short(&draft.id)
                ));
            }
            (_, Some(draft)) => {
                self.net.count("user_draft_delete");
                let result = client
                    .draft_delete(DraftKey {
                        id: draft.id.clone(),
                    })
                    .await;
                if result.is_ok()
                    && let Some(book) = self.ledger.drafts.get_mut(&draft.id)
                {
                    book.deleted = true;
                }
                let text = outcome(&result);
                self.log(format!(
                    "d{d} u{user} draft delete {}: {text}",
                    short(&draft.id)
                ));
            }
        }
    }

    /// Notes how a user was told of a failure while their disk was full.
    pub(super) fn disk_note<T>(&mut self, d: usize, what: &str, result: &Result<T, CoreError>) {
        let full = lock(&self.devices[d].disk).room.is_some();
        if let (true, Err(e)) = (full, result) {
            let text = e.to_string();
            if text.contains("disk is full") {
                self.net.count("disk_full_error");
            }
            self.ledger.disk_errors.push(format!("d{d} {what}: {text}"));
        }
    }

    /// One field of a record on the server now (`None` when empty or no such record).
    async fn server_field(
        &self,
        entity: &str,
        id: &str,
        field: &str,
    ) -> anyhow::Result<Option<String>> {
        let (entity, id, field) = (entity.to_owned(), id.to_owned(), field.to_owned());
        self.db()?
            .tx(move |c| {
                let org = outpost_server::org::Org::load(c)?;
                let def = org.metadata.entity(&entity)?;
                let sql = format!(
                    "SELECT {} FROM {} r WHERE r.id = $1",
                    outpost_server::records::select_columns(def),
                    outpost_server::db::entity_table(&entity)
                );
                let Some(row) = c.query_opt(&sql, &[outpost_server::db::text(&id)])? else {
                    return Ok(None);
                };
                let (_, fields, _) = outpost_server::records::read_row(def, &row, 0)?;
                Ok(fields.get(&field).cloned().flatten())
            })
            .await
    }

    /// The administrator gives a security role to a simulated user or takes it away:
    /// what they may read and write changes, and their devices must follow.
    pub(super) async fn admin_role(&mut self) -> anyhow::Result<()> {
        let u = self.rng.with(|r| r.random_range(0..self.users.len()));
        // The manager keeps their sales role (and their profile, below): the manager
        // hierarchy's rules meet offline edits through them.
        let roles: &[&str] = if u == 2 {
            &[role::TECHNICIAN]
        } else {
            &[role::TECHNICIAN, role::SALESPERSON]
        };
        let Some(role) = self.pick(roles) else {
            return Ok(());
        };
        let give = self.role_set(u, role, None).await?;
        *self.security_gen.entry(u).or_default() += 1;
        self.net.count("role_change");
        self.log(format!(
            "admin {} role {role} {} u{u}",
            if give { "gives" } else { "takes" },
            if give { "to" } else { "from" }
        ));
        Ok(())
    }

    /// Gives (`Some(true)`), takes (`Some(false)`) or toggles (`None`) a role; whether
    /// the user has it now.
    pub(super) async fn role_set(
        &mut self,
        u: usize,
        role: &str,
        give: Option<bool>,
    ) -> anyhow::Result<bool> {
        let role = role.to_owned();
        let has = self
            .user_security_edit(u, move |user| {
                let give = give.unwrap_or(!user.roles.contains(&role));
                if give {
                    user.roles.insert(role);
                } else {
                    user.roles.remove(&role);
                }
                give
            })
            .await?;
        Ok(has)
    }

    /// Makes a profile, publishes it and assigns it to `users`; its index.
    pub(super) async fn profile_make(
        &mut self,
        def: ProfileDef,
        users: &[usize],
    ) -> anyhow::Result<usize> {
        let (code, info) = self
            .admin(
                "POST",
                "/api/v1/admin/profiles",
                Some(serde_json::to_value(&def)?),
            )
            .await?;
        anyhow::ensure!(code == 201, "the profile {} is made: {info}", def.name);
        let id = info["id"].as_str().unwrap_or_default().to_owned();
        self.profiles.push(SimProfile {
            id,
            def,
            users: BTreeSet::new(),
        });
        let p = self.profiles.len() - 1;
        self.profile_publish(p).await?;
        for u in users {
            self.profile_assign(p, *u).await?;
        }
        Ok(p)
    }

    async fn profile_publish(&mut self, p: usize) -> anyhow::Result<()> {
        let id = self.profiles[p].id.clone();
        let def = serde_json::to_value(&self.profiles[p].def)?;
        let (code, body) = self
            .admin("PUT", &format!("/api/v1/admin/profiles/{id}"), Some(def))
            .await?;
        anyhow::ensure!(code == 200, "the profile's draft is replaced: {body}");
        let (code, body) = self
            .admin(
                "POST",
                &format!("/api/v1/admin/profiles/{id}/publish"),
                Some(serde_json::json!({"force": true})),
            )
            .await?;
        anyhow::ensure!(code == 200, "the profile is published: {body}");
        Ok(())
    }

    /// Assigns profile `p` to user `u` (who leaves the profile they had).
    async fn profile_assign(&mut self, p: usize, u: usize) -> anyhow::Result<()> {
        for profile in &mut self.profiles {
            profile.users.remove(&u);
        }
        self.profiles[p].users.insert(u);
        let users: Vec<String> = self.profiles[p]
            .users
            .iter()
            .map(|u| self.users[*u].id.clone())
            .collect();
        let id = self.profiles[p].id.clone();
        let (code, body) = self
            .admin(
                "PUT",
                &format!("/api/v1/admin/profiles/{id}/assignments"),
                Some(serde_json::json!({ "users": users })),
            )
            .await?;
        anyhow::ensure!(code == 200, "the profile is assigned: {body}");
        Ok(())
    }

    /// The administrator changes a user's offline profile: assigns another one, or
    /// republishes theirs with a narrower or wider account filter.
    pub(super) async fn admin_profile(&mut self) -> anyhow::Result<()> {
        let p = self.rng.with(|r| r.random_range(0..self.profiles.len()));
        if self.rng.with(|r| r.random_bool(0.5)) {
            let u = self.rng.with(|r| r.random_range(0..2));
            if self.profiles[p].users.contains(&2) {
                // The managers' profile stays the manager's alone.
                return Ok(());
            }
            self.profile_assign(p, u).await?;
            self.net.count("profile_assign");
            self.log(format!(
                "admin assigns profile {} to u{u}",
                self.profiles[p].def.name
            ));
            return Ok(());
        }
        let mut narrowed = false;
        for item in &mut self.profiles[p].def.items {
            if item.entity != "account" {
                continue;
            }
            item.data = match &item.data {
                ItemData::All => ItemData::Other {
                    mine: false,
                    my_team: false,
                    my_business_unit: false,
                    custom: Some(PROFILE_FILTER.to_owned()),
                },
                ItemData::Other { custom: None, .. } => ItemData::Other {
                    mine: true,
                    my_team: false,
                    my_business_unit: false,
                    custom: Some(PROFILE_FILTER.to_owned()),
                },
                ItemData::Other { mine: false, .. } => ItemData::All,
                _ => ItemData::Other {
                    mine: true,
                    my_team: false,
                    my_business_unit: false,
                    custom: None,
                },
            };
            narrowed = matches!(
                &item.data,
                ItemData::Other {
                    custom: Some(_),
                    ..
                }
            );
        }
        self.profile_publish(p).await?;
        self.net.count("profile_republish");
        self.log(format!(
            "admin republishes profile {} ({} accounts)",
            self.profiles[p].def.name,
            if narrowed { "fewer" } else { "more" }
        ));
        Ok(())
    }

    /// The administrator narrows an entity's org-wide offline filter, or widens it again.
    pub(super) async fn admin_entity_filter(&mut self) -> anyhow::Result<()> {
        let Some((entity, filter)) = self.pick(ENTITY_FILTERS) else {
            return Ok(());
        };
        let on = !self.entity_filters.contains(entity);
        let body = serde_json::json!({
            "entity": entity, "enabled": true, "filter": if on { filter } else { "" }
        });
        let (code, answer) = self
            .admin(
                "PUT",
                &format!("/api/v1/admin/offline/entities/{entity}"),
                Some(body),
            )
            .await?;
        if code == 200 {
            if on {
                self.entity_filters.insert(entity);
            } else {
                self.entity_filters.remove(entity);
            }
            self.net.count("entity_filter_change");
        }
        self.log(format!(
            "admin sets the offline filter of {entity} to {:?}: {code} {}",
            if on { filter } else { "" },
            if code == 200 {
                String::new()
            } else {
                answer.to_string()
            }
        ));
        Ok(())
    }

    /// The device's disk fills up (a few pages left) in the middle of a pull page or an
    /// edit, or frees up again.
    pub(super) async fn disk_fault(&mut self, d: usize) -> anyhow::Result<()> {
        let full = lock(&self.devices[d].disk).room.is_some();
        if full {
            self.disk_free(d);
            return Ok(());
        }
        let room = self.rng.with(|r| r.random_range(0..3));
        *lock(&self.devices[d].disk) = Disk {
            room: Some(room),
            cap: None,
        };
        self.net.count("disk_full");
        self.log(format!("d{d} disk full ({room} pages left)"));
        if self.rng.with(|r| r.random_bool(0.5)) {
            self.sync(d).await;
        } else {
            self.user_edit(d, true).await?;
        }
        Ok(())
    }

    pub(super) fn disk_free(&mut self, d: usize) {
        *lock(&self.devices[d].disk) = Disk::default();
        self.net.count("disk_freed");
        self.log(format!("d{d} disk has room again"));
    }
}
