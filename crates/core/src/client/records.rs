//! What a user does with records, on the local store, online or not: views, search,
//! lookups, one record with what its form needs, create / update / delete, commands and
//! flow moves (C3–C8, B3, B5), and the scripting API over the same (C20). Every change
//! is checked against the cached privileges first, applied at once through the domain's
//! own operation code, and queued for the next sync.

use outpost_domain::query::{CheckedQuery, EvalContext, Query, QueryText, parse_query};
use outpost_domain::security::Privilege;
use outpost_domain::{AttributeKind, EntityRef, Fields, Operation};
use outpost_store::{LocalRecord, Store, StoreError};

use super::{Client, access_of, apply_context, profile_of};
use crate::CoreError;
use crate::access::Access;
use crate::api::ApiError;
use crate::api::{
    AppModuleInfo, CommandArgs, CommandOffer, CommandResult, LookupSearchArgs, RecordCreateArgs,
    RecordDetail, RecordKey, RecordListArgs, RecordRow, RecordUpdateArgs, ScriptBatchArgs,
    ScriptChange, ScriptChangeResult, ScriptQueryArgs, SearchArgs, SearchHitRow, ViewInfo,
    ViewPageArgs, ViewPageResult, Why,
};

/// Rows a view page carries unless asked otherwise, and at most.
const PAGE: u32 = 100;
const PAGE_MAX: u32 = 1000;
/// Records the scripting API's retrieve-multiple answers at most without `$top`.
const SCRIPT_MAX: u32 = 5000;
/// Changes a script's batch may carry.
pub const SCRIPT_BATCH_MAX: usize = 10_000;

/// The checks before an operation of the user's applies: what they work on offline is
/// on the device (a command's target too), and their privileges allow it.
fn op_check(s: &Store, access: &Access, op: &Operation) -> Result<(), CoreError> {
    let (entity, id) = op.target();
    if !matches!(op, Operation::Create { .. }) && s.record_fields(entity, id)?.is_none() {
        return Err(StoreError::NotFound {
            entity: entity.to_owned(),
            id: id.to_owned(),
        }
        .into());
    }
    access.authorize(s, op)
}

/// Whether `e` refuses one operation (it is not allowed, not valid, not there) rather
/// than stops the store.
fn is_refusal(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::Invalid(_)
            | CoreError::Forbidden(_)
            | CoreError::Store(
                StoreError::Invalid(_)
                    | StoreError::Refused(_)
                    | StoreError::Forbidden(_)
                    | StoreError::NotFound { .. }
            )
    )
}

pub(super) fn row(r: LocalRecord) -> RecordRow {
    RecordRow {
        id: r.id,
        entity: r.entity,
        fields: r.fields,
        row_version: r.row_version,
        pending: r.pending,
        reason: r.reason,
    }
}

/// What the query language's owner shortcuts and date functions resolve against.
fn eval_context(access: &Access, now: time::OffsetDateTime) -> EvalContext {
    let access = &access.0;
    EvalContext {
        user_id: access.user_id.clone(),
        team_ids: access.team_ids.clone(),
        hierarchy_user_ids: access.hierarchy_user_ids.clone(),
        business_unit_id: access.business_unit_id.clone(),
        now,
    }
}

fn view_info(view: &outpost_domain::metadata::View) -> ViewInfo {
    ViewInfo {
        id: view.id.clone(),
        name: view.name.clone(),
        columns: view.columns.clone(),
        is_default: view.default,
    }
}

pub(super) fn invalid(e: impl std::fmt::Display) -> CoreError {
    CoreError::Invalid(e.to_string())
}

/// The names of the records lookup values (`entity:id`) point at, read a whole entity at
/// a time; values the device does not hold have none.
fn labels_of<'a>(
    store: &Store,
    values: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<String, String> {
    let mut by_entity: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for value in values {
        if let Some((entity, id)) = value.split_once(':') {
            by_entity.entry(entity).or_default().insert(id);
        }
    }
    let mut labels = std::collections::BTreeMap::new();
    for (entity, ids) in by_entity {
        // An entity the device does not have (a lookup to outside the profile): no names.
        if let Ok(names) = store.record_names(entity, ids.iter().copied()) {
            labels.extend(
                names
                    .into_iter()
                    .map(|(id, name)| (format!("{entity}:{id}"), name)),
            );
        }
    }
    labels
}

/// A record's primary field (its name).
pub(super) fn primary_name(store: &Store, record: &LocalRecord) -> Option<String> {
    let def = store.metadata().entity(&record.entity).ok()?;
    record.fields.get(&def.primary_field).cloned().flatten()
}

/// Why a record is on the device, for a person (B3).
fn why_of(store: &Store, record: &LocalRecord) -> Why {
    let profile = profile_of(store).map_or_else(
        || "your offline profile".to_owned(),
        |p| format!("the offline profile “{}”", p.name),
    );
    let (kind, text) = match record.reason.as_deref() {
        None => (
            "local",
            "Made on this device; it reaches the server with the next sync.".to_owned(),
        ),
        Some("profile") => ("profile", format!("It matches {profile}.")),
        Some(outpost_store::table::records::IN_PROGRESS) => (
            "editing",
            "You are editing it: the server no longer sends it to this device, so it stays only until your changes are answered.".to_owned(),
        ),
        Some("follow") => ("follow", "You follow it.".to_owned()),
        Some(other) => match other
            .strip_prefix("related:")
            .and_then(|r| r.split_once('.'))
        {
            Some((entity, attribute)) => {
                let label = store
                    .metadata()
                    .entity(entity)
                    .map_or_else(|_| entity.to_owned(), |d| d.label.to_lowercase());
                (
                    "related",
                    format!("It is related to a {label} on this device (through {attribute})."),
                )
            }
            None => ("profile", format!("The server sent it ({other}).")),
        },
    };
    let pending = if record.pending && record.reason.is_some() {
        " It has changes that have not reached the server yet."
    } else {
        ""
    };
    Why {
        kind: kind.to_owned(),
        text: format!("{text}{pending}"),
    }
}

impl Client {
    /// The app modules of the org, with how each works offline (C1).
    pub async fn app_modules(&self) -> Result<Vec<AppModuleInfo>, CoreError> {
        self.with_store(|s| {
            Ok(s.metadata()
                .app_modules
                .iter()
                .map(|m| AppModuleInfo {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    offline: m.offline.map(|o| {
                        match o {
                            outpost_domain::metadata::OfflineMode::Sync => "sync",
                            outpost_domain::metadata::OfflineMode::Drafts => "drafts",
                        }
                        .to_owned()
                    }),
                    entities: m.entities.clone(),
                })
                .collect())
        })
    }

    /// The org metadata the local database is made from (forms, views, flows, sitemap).
    pub async fn metadata_get(&self) -> Result<outpost_domain::Metadata, CoreError> {
        self.with_store(|s| Ok(s.metadata().clone()))
    }

    /// The system views of an entity.
    pub async fn view_list(&self, args: RecordListArgs) -> Result<Vec<ViewInfo>, CoreError> {
        self.with_store(|s| {
            let def = s.metadata().entity(&args.entity).map_err(invalid)?;
            Ok(def.views.iter().map(view_info).collect())
        })
    }

    /// A page of a system view (its default view unless named), offline (C7, C13).
    pub async fn view_page(&self, args: ViewPageArgs) -> Result<ViewPageResult, CoreError> {
        self.with_store(|s| {
            let def = s.metadata().entity(&args.entity).map_err(invalid)?.clone();
            let view = match &args.view_id {
                Some(id) => def
                    .views
                    .iter()
                    .find(|v| &v.id == id)
                    .ok_or_else(|| invalid(format!("{} has no view `{id}`", def.name)))?
                    .clone(),
                None => def
                    .views
                    .iter()
                    .find(|v| v.default)
                    .or_else(|| def.views.first())
                    .cloned()
                    .unwrap_or_else(|| outpost_domain::metadata::View {
                        id: "all".into(),
                        name: format!("All {}", def.plural),
                        columns: vec![def.primary_field.clone()],
                        filter: None,
                        order: vec![(
                            def.primary_field.clone(),
                            outpost_domain::metadata::SortDir::Asc,
                        )],
                        default: true,
                    }),
            };
            let mut view = view;
            let sorted = args.order_by.as_deref().filter(|o| !o.trim().is_empty());
            if let Some(order_by) = sorted {
                view.order = sort_of(order_by)?;
            }
            let query =
                Query::for_view(&view)
                    .and_then(|q| q.check(&def))
                    .map_err(|e| match sorted {
                        // The caller's sort names a column the entity does not have.
                        Some(order_by) => invalid(format!("cannot sort by `{order_by}`: {e}")),
                        None => CoreError::Other(anyhow::anyhow!(
                            "view {} does not check: {e}",
                            view.id
                        )),
                    })?;
            let access = access_of(s)?;
            let page = s.view_page(
                &def.name,
                &query,
                args.search.as_deref(),
                args.after.as_deref(),
                args.limit.unwrap_or(PAGE).clamp(1, PAGE_MAX),
                &eval_context(&access, self.now()),
            )?;
            let lookups: Vec<&str> = def
                .attributes
                .iter()
                .filter(|a| matches!(a.kind, AttributeKind::Lookup { .. } | AttributeKind::Owner))
                .filter(|a| view.columns.contains(&a.name))
                .map(|a| a.name.as_str())
                .collect();
            let labels = labels_of(
                s,
                page.rows
                    .iter()
                    .flat_map(|r| lookups.iter().filter_map(|l| r.fields.get(*l)?.as_deref())),
            );
            Ok(ViewPageResult {
                labels,
                can_create: access.can(&def, Privilege::Create, None),
                can_write: access.depth(&def, Privilege::Write)
                    != outpost_domain::security::Depth::None,
                is_activity: outpost_domain::operation::is_activity(&def),
                view: view_info(&view),
                rows: page.rows.into_iter().map(row).collect(),
                total: page.total,
                next: page.next,
                last_sync_at: super::sync::LastSyncs::read(s).of(&def.name),
            })
        })
    }

    /// The local records of an entity, ordered by their primary field.
    pub async fn record_list(&self, args: RecordListArgs) -> Result<Vec<RecordRow>, CoreError> {
        self.with_store(|s| Ok(s.record_list(&args.entity)?.into_iter().map(row).collect()))
    }

    /// One record with what its form needs: follow state, why it is here, what the user
    /// may do, and the names behind its lookups.
    pub async fn record_get(&self, args: RecordKey) -> Result<RecordDetail, CoreError> {
        self.with_store(|s| {
            let record = s.record_get(&args.entity, &args.id)?;
            let def = s.metadata().entity(&args.entity).map_err(invalid)?;
            let lookups: Vec<(&str, &str)> = def
                .attributes
                .iter()
                .filter(|a| matches!(a.kind, AttributeKind::Lookup { .. } | AttributeKind::Owner))
                .filter_map(|a| Some((a.name.as_str(), record.fields.get(&a.name)?.as_deref()?)))
                .collect();
            let mut names = labels_of(s, lookups.iter().map(|(_, value)| *value));
            let labels = lookups
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_owned(), names.remove(value)?)))
                .collect();
            let allowed = access_of(s)?.allowed(def, &record.fields);
            let state = def.attribute("statecode").ok();
            let commands = if allowed.write {
                outpost_domain::operation::offers(def, &record.fields)
                    .into_iter()
                    .map(|o| CommandOffer {
                        command: o.command.to_owned(),
                        statuses: o.statuses,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(RecordDetail {
                followed: s.record_followed(&args.entity, &args.id)?,
                why: why_of(s, &record),
                open: outpost_domain::operation::is_open(def, &record.fields),
                state_label: state.and_then(|a| {
                    let n = record.fields.get("statecode")?.as_deref()?.parse().ok()?;
                    a.kind.option_label(n).map(str::to_owned)
                }),
                commands,
                allowed,
                labels,
                record: row(record),
            })
        })
    }

    /// Why a record is on the device (B3).
    pub async fn record_why(&self, args: RecordKey) -> Result<Why, CoreError> {
        self.with_store(|s| {
            let record = s.record_get(&args.entity, &args.id)?;
            Ok(why_of(s, &record))
        })
    }

    /// Checks `op` against the cached privileges and field permissions, then applies it
    /// locally and queues it. Answers what it wrote.
    fn op_run(&self, op: Operation) -> Result<outpost_domain::Effects, CoreError> {
        let op_id = self.new_id();
        self.with_store(|s| {
            let access = access_of(s)?;
            op_check(s, &access, &op)?;
            let ctx = apply_context(s, &access, self.now())?;
            let effects = s.op_apply(&ctx, &op_id, op)?;
            let pending = u32::try_from(s.outbox_count()?).unwrap_or(u32::MAX);
            Ok((effects, pending))
        })
        .map(|(effects, pending)| {
            self.signal(outpost_sync::Event::OutboxChanged { pending });
            effects
        })
    }

    /// Scripting API (C20): a script's batch of offline changes, applied in order in one
    /// durable transaction ([`outpost_store::Store::in_batch`]) — each change checked and
    /// applied as one would be alone, with its outbox entry, in a savepoint: a refused one
    /// leaves nothing and the others stay. Later changes see what earlier ones wrote.
    pub async fn script_execute_multiple(
        &self,
        args: ScriptBatchArgs,
    ) -> Result<Vec<ScriptChangeResult>, CoreError> {
        if args.changes.len() > SCRIPT_BATCH_MAX {
            return Err(CoreError::Invalid(format!(
                "a batch holds at most {SCRIPT_BATCH_MAX} changes, not {}",
                args.changes.len()
            )));
        }
        let ops: Vec<(String, String, Operation)> = args
            .changes
            .into_iter()
            .map(|change| {
                let op = match change {
                    ScriptChange::Create { entity, fields } => Operation::Create {
                        entity,
                        id: self.new_id(),
                        fields: blank_is_null(fields),
                    },
                    ScriptChange::Update { entity, id, fields } => Operation::Update {
                        entity,
                        id,
                        changes: blank_is_null(fields),
                        before: Fields::new(),
                    },
                    ScriptChange::Delete { entity, id } => Operation::Delete {
                        entity,
                        id,
                        before: Fields::new(),
                    },
                };
                (self.new_id(), op.target().1.to_owned(), op)
            })
            .collect();
        let (results, pending) = self.with_store(|s| {
            let access = access_of(s)?;
            let ctx = apply_context(s, &access, self.now())?;
            let results = s.in_batch::<_, CoreError>(|s| {
                let mut results = Vec::with_capacity(ops.len());
                for (op_id, id, op) in ops {
                    let error = match op_check(s, &access, &op)
                        .and_then(|()| Ok(s.op_apply(&ctx, &op_id, op).map(drop)?))
                    {
                        Ok(()) => None,
                        Err(e) if !is_refusal(&e) => return Err(e),
                        Err(e) => Some(ApiError::from(e)),
                    };
                    results.push(ScriptChangeResult { id, error });
                }
                Ok(results)
            })?;
            let pending = u32::try_from(s.outbox_count()?).unwrap_or(u32::MAX);
            Ok((results, pending))
        })?;
        self.signal(outpost_sync::Event::OutboxChanged { pending });
        Ok(results)
    }

    /// Creates a record at once, offline or not, with an id it keeps after sync.
    pub async fn record_create(&self, args: RecordCreateArgs) -> Result<RecordRow, CoreError> {
        let id = self.new_id();
        self.op_run(Operation::Create {
            entity: args.entity.clone(),
            id: id.clone(),
            fields: blank_is_null(args.fields),
        })?;
        self.with_store(|s| Ok(row(s.record_get(&args.entity, &id)?)))
    }

    /// Changes fields of a record at once, offline or not; the change is queued for the
    /// next sync. An empty text is stored as null, so "cleared" has one representation.
    pub async fn record_update(&self, args: RecordUpdateArgs) -> Result<RecordRow, CoreError> {
        self.op_run(Operation::Update {
            entity: args.entity.clone(),
            id: args.id.clone(),
            changes: blank_is_null(args.fields),
            before: Fields::new(),
        })?;
        self.with_store(|s| Ok(row(s.record_get(&args.entity, &args.id)?)))
    }

    /// Deletes a record at once; the delete is queued for the next sync.
    pub async fn record_delete(&self, args: RecordKey) -> Result<(), CoreError> {
        self.op_run(Operation::Delete {
            entity: args.entity,
            id: args.id,
            before: Fields::new(),
        })?;
        Ok(())
    }

    /// Runs a command or flow move at once (C4, C5); records it creates get ids here that
    /// they keep after sync.
    pub async fn command_run(&self, args: CommandArgs) -> Result<CommandResult, CoreError> {
        let op = command_op(args, &|| self.new_id());
        let (entity, id) = (op.target().0.to_owned(), op.target().1.to_owned());
        let effects = self.op_run(op)?;
        self.with_store(|s| {
            Ok(CommandResult {
                record: s.record_get(&entity, &id).ok().map(row),
                created: effects
                    .created
                    .into_iter()
                    .map(|r| RecordKey {
                        entity: r.entity,
                        id: r.id,
                    })
                    .collect(),
            })
        })
    }

    /// Search over quick-find columns: one entity (categorized, C8) or several (B5).
    pub async fn search(&self, args: SearchArgs) -> Result<Vec<SearchHitRow>, CoreError> {
        self.with_store(|s| {
            let entities = args.entities.clone().unwrap_or_else(|| {
                s.metadata()
                    .entities
                    .iter()
                    .map(|e| e.name.clone())
                    .collect()
            });
            let hits = s.search(
                &entities,
                &args.text,
                args.limit.unwrap_or(50).clamp(1, 500),
            )?;
            Ok(hits
                .into_iter()
                .map(|h| SearchHitRow {
                    entity: h.record.entity.clone(),
                    id: h.record.id.clone(),
                    name: primary_name(s, &h.record),
                    record: row(h.record),
                })
                .collect())
        })
    }

    /// The choices of a lookup dialog: records the device holds of the lookup's target
    /// entities, matching `text` (C6).
    pub async fn lookup_search(
        &self,
        args: LookupSearchArgs,
    ) -> Result<Vec<SearchHitRow>, CoreError> {
        let limit = args.limit.unwrap_or(20).clamp(1, 200);
        self.with_store(|s| {
            let def = s.metadata().entity(&args.entity).map_err(invalid)?;
            let attr = def.attribute(&args.field).map_err(invalid)?;
            let targets: Vec<String> = match &attr.kind {
                AttributeKind::Lookup { targets } => targets.clone(),
                AttributeKind::Owner => vec!["systemuser".into(), "team".into()],
                _ => {
                    return Err(invalid(format!(
                        "{}.{} is not a lookup",
                        def.name, attr.name
                    )));
                }
            };
            let targets: Vec<String> = targets
                .into_iter()
                .filter(|t| s.metadata().entity(t).is_ok())
                .collect();
            let mut hits = Vec::new();
            if args.text.trim().is_empty() {
                let ctx = eval_context(&access_of(s)?, self.now());
                for target in &targets {
                    let page =
                        s.view_page(target, &by_name(s, target)?, None, None, limit, &ctx)?;
                    hits.extend(page.rows);
                }
                hits.truncate(limit as usize);
            } else {
                hits = s
                    .search(&targets, &args.text, limit)?
                    .into_iter()
                    .map(|h| h.record)
                    .collect();
            }
            Ok(hits
                .into_iter()
                .map(|r| SearchHitRow {
                    entity: r.entity.clone(),
                    id: r.id.clone(),
                    name: primary_name(s, &r),
                    record: row(r),
                })
                .collect())
        })
    }

    /// Scripting API (C20): whether an entity is available offline on this device.
    pub async fn script_is_offline_enabled(&self, args: RecordListArgs) -> Result<bool, CoreError> {
        self.with_store(|s| {
            Ok(s.metadata().entity(&args.entity).is_ok()
                && profile_of(s).is_some_and(|p| p.items.iter().any(|i| i.entity == args.entity)))
        })
    }

    /// Scripting API (C20) `retrieveRecord`: one record's fields, as `record_get` reads
    /// them.
    pub async fn script_retrieve(&self, args: RecordKey) -> Result<Fields, CoreError> {
        Ok(self.record_get(args).await?.record.fields)
    }

    /// Scripting API (C20): the records of an entity matching OData-style options
    /// (`$select`, `$filter`, `$orderby`, `$top`), from the local data.
    pub async fn script_retrieve_multiple(
        &self,
        args: ScriptQueryArgs,
    ) -> Result<Vec<Fields>, CoreError> {
        self.with_store(|s| {
            let def = s.metadata().entity(&args.entity).map_err(invalid)?.clone();
            let query = script_query(&args.options).and_then(|q| q.check(&def).map_err(invalid))?;
            let limit = query.top().unwrap_or(SCRIPT_MAX).min(SCRIPT_MAX);
            let page = s.view_page(
                &def.name,
                &query,
                None,
                None,
                limit,
                &eval_context(&access_of(s)?, self.now()),
            )?;
            let select = query.select();
            Ok(page
                .rows
                .into_iter()
                .map(|r| {
                    let mut fields: Fields = r
                        .fields
                        .into_iter()
                        .filter(|(k, _)| {
                            select.as_ref().is_none_or(|sel| sel.contains(&k.as_str()))
                        })
                        .collect();
                    fields.insert(format!("{}id", def.name), Some(r.id));
                    fields
                })
                .collect())
        })
    }
}

/// The query of a lookup's or a grid's plain "by name" listing.
fn by_name(store: &Store, entity: &str) -> Result<CheckedQuery, CoreError> {
    let def = store.metadata().entity(entity).map_err(invalid)?;
    parse_query(QueryText {
        order_by: Some(&def.primary_field),
        ..QueryText::default()
    })
    .and_then(|q| q.check(def))
    .map_err(invalid)
}

/// A column sort: `field [asc|desc]`, comma-separated.
fn sort_of(text: &str) -> Result<Vec<(String, outpost_domain::metadata::SortDir)>, CoreError> {
    use outpost_domain::metadata::SortDir;
    text.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = words
                .next()
                .ok_or_else(|| invalid(format!("`{text}` has an empty sort key")))?;
            let dir = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => SortDir::Asc,
                Some("desc") => SortDir::Desc,
                Some(other) => {
                    return Err(invalid(format!(
                        "sort `{field}` by `{other}`? use asc or desc"
                    )));
                }
            };
            if words.next().is_some() {
                return Err(invalid(format!("`{part}` is not `field [asc|desc]`")));
            }
            Ok((field.to_owned(), dir))
        })
        .collect()
}

/// Parses `?$select=…&$filter=…&$orderby=…&$top=…` (C20).
fn script_query(options: &str) -> Result<Query, CoreError> {
    let mut text = QueryText::default();
    for part in options
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| invalid(format!("`{part}` is not an option=value pair")))?;
        match name {
            "$select" => text.select = Some(value),
            "$filter" => text.filter = Some(value),
            "$orderby" => text.order_by = Some(value),
            "$top" => text.top = Some(value),
            other => {
                return Err(invalid(format!(
                    "unknown query option `{other}` (use $select, $filter, $orderby, $top)"
                )));
            }
        }
    }
    parse_query(text).map_err(invalid)
}

/// An empty text is stored as null, so "cleared" has one representation.
pub(super) fn blank_is_null(fields: Fields) -> Fields {
    fields
        .into_iter()
        .map(|(k, v)| (k, v.filter(|text| !text.is_empty())))
        .collect()
}

/// The domain operation of a command, with fresh ids for what it creates.
fn command_op(args: CommandArgs, new_id: &dyn Fn() -> String) -> Operation {
    let fresh = |wanted: bool| wanted.then(new_id);
    match args {
        CommandArgs::LeadQualify {
            lead_id,
            create_account,
            create_contact,
            create_opportunity,
        } => Operation::LeadQualify {
            lead_id,
            account_id: fresh(create_account),
            contact_id: fresh(create_contact),
            opportunity_id: fresh(create_opportunity),
        },
        CommandArgs::LeadDisqualify { lead_id, status } => {
            Operation::LeadDisqualify { lead_id, status }
        }
        CommandArgs::OpportunityCloseWon {
            id,
            actual_revenue,
            description,
        } => Operation::OpportunityCloseWon {
            id,
            close_id: new_id(),
            actual_revenue,
            description,
        },
        CommandArgs::OpportunityCloseLost {
            id,
            status,
            competitor,
            description,
        } => Operation::OpportunityCloseLost {
            id,
            close_id: new_id(),
            status,
            competitor,
            description,
        },
        CommandArgs::CaseResolve {
            id,
            status,
            subject,
            time_spent_minutes,
        } => Operation::CaseResolve {
            id,
            resolution_id: new_id(),
            status,
            subject,
            time_spent_minutes,
        },
        CommandArgs::ActivityConvertToOpportunity { entity, id } => {
            Operation::ActivityConvertToOpportunity {
                entity,
                id,
                opportunity_id: new_id(),
            }
        }
        CommandArgs::ActivityMarkComplete { entity, id } => {
            Operation::ActivityMarkComplete { entity, id }
        }
        CommandArgs::Assign {
            entity,
            id,
            owner_entity,
            owner_id,
        } => Operation::Assign {
            entity,
            id,
            owner: EntityRef {
                entity: owner_entity,
                id: owner_id,
            },
        },
        CommandArgs::FlowNext {
            entity,
            id,
            flow_id,
        } => Operation::FlowNext {
            entity,
            id,
            flow_id,
        },
        CommandArgs::FlowPrevious {
            entity,
            id,
            flow_id,
        } => Operation::FlowPrevious {
            entity,
            id,
            flow_id,
        },
        CommandArgs::FlowSetActive {
            entity,
            id,
            flow_id,
            stage_id,
        } => Operation::FlowSetActive {
            entity,
            id,
            flow_id,
            stage_id,
        },
        CommandArgs::Follow { entity, id } => Operation::Follow { entity, id },
        CommandArgs::Unfollow { entity, id } => Operation::Unfollow { entity, id },
    }
}
