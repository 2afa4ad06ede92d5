//! The independent model: what the simulation itself saw users do, and the checks that run
//! once every fault has healed. It shares no logic with the domain's `apply`, the store's
//! outbox or the server's push: it books each operation when the user makes it, reads
//! the server's ledger (`applied_op`, `sync_error`) and each device's log back, and
//! decides from those facts alone.

use std::collections::{BTreeMap, BTreeSet};

use outpost_core::api::{DraftRow, OutboxRow, RecordListArgs, RecordRow};
use outpost_server::db::{SqlParam, entity_table, string};
use outpost_server::records::{read_row, select_columns};

/// The secured field: only users the administrator lets read it may hold its value.
const SECRET: &str = "creditlimit";

use crate::net::Delivered;
use crate::world::{World, short};

/// One operation a user made: its id, where and by whom, and the value it wrote.
#[derive(Debug, Clone)]
pub struct OpRecord {
    pub op_id: String,
    pub device: usize,
    pub user: usize,
    pub what: String,
    /// (entity, record id, field, value written), when the operation wrote one.
    pub token: Option<(String, String, String, String)>,
    /// What a command, flow move or follow must do once the server applied it.
    pub effect: Option<Effect>,
}

/// What the model expects of an applied command, flow move or follow — facts the
/// simulation states itself (the domain's documented states), never the domain's `apply`.
#[derive(Debug, Clone)]
pub enum Effect {
    /// The record ends in this `statecode`; the records it made exist.
    State {
        entity: String,
        id: String,
        state: &'static str,
        created: Vec<(String, String)>,
    },
    /// The record moves one stage on the flow (`+1` next, `-1` previous).
    Flow {
        entity: String,
        id: String,
        flow_id: String,
        step: i32,
    },
    /// The user follows the record (`true`) or stops (`false`).
    Follow {
        entity: String,
        id: String,
        on: bool,
    },
}

/// A draft a user made (drafts mode, C17): the value they last gave it.
#[derive(Debug, Clone)]
pub struct DraftBook {
    pub device: usize,
    pub user: usize,
    pub entity: String,
    /// Its `name`, as the user last set it.
    pub value: String,
    /// The user deleted it themselves.
    pub deleted: bool,
}

/// What the simulation booked while it ran.
#[derive(Debug, Default)]
pub struct Ledger {
    pub ops: Vec<OpRecord>,
    /// Sync errors the user resolved: op id → `keep_mine`, `take_server`, `resubmit`.
    pub resolutions: BTreeMap<String, String>,
    /// Operations the user said yes to losing (a sign-out that named them).
    pub discarded: BTreeSet<String>,
    /// (device, user) an administrator reported lost: that store goes, nothing kept.
    pub lost: BTreeSet<(usize, usize)>,
    /// Edits a device refused that the org's rules allow (found while the run went on).
    pub refused_wrongly: Vec<String>,
    /// What each (device, user) holds once the run healed.
    pub snapshots: BTreeMap<(usize, usize), Snapshot>,
    /// Drafts by id.
    pub drafts: BTreeMap<String, DraftBook>,
    /// Drafts the user said yes to losing (a sign-out that named them).
    pub discarded_drafts: BTreeSet<String>,
    /// A flow's record's `activestageid` on the server before the first move the
    /// simulation made of it (`None`: empty or no record yet, the first stage).
    pub flow_start: BTreeMap<(String, String), Option<String>>,
    /// Actions that failed while the device's disk was full, and how the user was told.
    pub disk_errors: Vec<String>,
}

/// One user's store on one device, read back after the run healed.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub signed_in: bool,
    pub outbox: Vec<OutboxRow>,
    pub records: BTreeMap<String, Vec<RecordRow>>,
    pub drafts: Vec<DraftRow>,
    pub integrity: Vec<String>,
}

/// The entities and fields the simulation writes and compares.
pub const COMPARED: &[(&str, &[&str])] = &[
    ("account", &["name", "telephone1"]),
    ("contact", &["jobtitle"]),
];

/// The entities whose records the scope check compares (the profiles' business
/// entities; reference data is left out).
pub const SCOPED: &[&str] = &[
    "account",
    "contact",
    "lead",
    "opportunity",
    "opportunityclose",
    "incident",
    "incidentresolution",
    "task",
    "phonecall",
    "appointment",
];

/// Reads back what (device, user) holds now.
pub(crate) async fn snapshot(world: &World, d: usize) -> Option<Snapshot> {
    let client = world.device_client(d)?;
    let status = client.session_status().await.ok()?;
    let mut snap = Snapshot {
        signed_in: status.signed_in,
        outbox: client.sync_outbox().await.unwrap_or_default(),
        drafts: client.draft_list().await.unwrap_or_default(),
        integrity: client
            .store_check()
            .await
            .unwrap_or_else(|e| vec![format!("the check failed: {e}")]),
        ..Snapshot::default()
    };
    for entity in SCOPED {
        let rows = client
            .record_list(RecordListArgs {
                entity: (*entity).to_owned(),
            })
            .await
            .unwrap_or_default();
        snap.records.insert((*entity).to_owned(), rows);
    }
    Some(snap)
}

/// The server's facts: each op id's outcomes (one per row), each record's values.
struct ServerFacts {
    outcomes: BTreeMap<String, Vec<String>>,
    /// Op id → the row version its first outcome applied it at.
    applied_at: BTreeMap<String, u64>,
    /// Op id → the state of its sync error (`open`, `applied`, `discarded`).
    errors: BTreeMap<String, String>,
    /// Op id → the version of its sync error's last change (a resolution that applied
    /// the operation wrote the record in the same transaction).
    error_versions: BTreeMap<String, u64>,
    records: BTreeMap<(String, String), BTreeMap<String, Option<String>>>,
}

async fn server_facts(world: &World) -> anyhow::Result<ServerFacts> {
    world
        .server_db()?
        .tx(|c| {
            let mut outcomes: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut applied_at = BTreeMap::new();
            for row in c.query("SELECT op_id, outcome FROM applied_op", &[])? {
                let op_id = string(&row[0])?;
                let outcome: serde_json::Value = serde_json::from_str(&string(&row[1])?)?;
                if let Some(version) = outcome["row_version"].as_u64() {
                    applied_at.entry(op_id.clone()).or_insert(version);
                }
                outcomes
                    .entry(op_id)
                    .or_default()
                    .push(outcome["status"].as_str().unwrap_or("?").to_owned());
            }
            let mut errors = BTreeMap::new();
            let mut error_versions = BTreeMap::new();
            for row in c.query("SELECT op_id, state, _version FROM sync_error", &[])? {
                let op_id = string(&row[0])?;
                if let SqlParam::Int(version) = row[2] {
                    error_versions.insert(op_id.clone(), u64::try_from(version)?);
                }
                errors.insert(op_id, string(&row[1])?);
            }
            let mut records = BTreeMap::new();
            let org = outpost_server::org::Org::load(c)?;
            for (entity, fields) in COMPARED {
                let def = org.metadata.entity(entity)?;
                let sql = format!(
                    "SELECT {} FROM {} r WHERE r._deleted = 0",
                    select_columns(def),
                    entity_table(entity)
                );
                for row in c.query(&sql, &[])? {
                    let (id, all, _) = read_row(def, &row, 0)?;
                    let values = all
                        .into_iter()
                        .filter(|(name, _)| fields.contains(&name.as_str()) || name == SECRET)
                        .collect();
                    records.insert(((*entity).to_owned(), id), values);
                }
            }
            Ok(ServerFacts {
                outcomes,
                applied_at,
                errors,
                error_versions,
                records,
            })
        })
        .await
}

/// Every invariant, after the run healed: the violations found.
pub(crate) async fn check(world: &mut World) -> anyhow::Result<Vec<String>> {
    let facts = server_facts(world).await?;
    let ledger = &world.ledger;
    let mut violations = ledger.refused_wrongly.clone();
    violations.extend(crate::net::lock(world.net_violations()).iter().cloned());
    // Records a later operation of the same user deleted: what they wrote may go with them.
    let deleted: BTreeSet<String> = ledger
        .ops
        .iter()
        .filter_map(|o| o.what.strip_prefix("delete account "))
        .map(str::to_owned)
        .collect();
    let delivered = world.delivered();
    // Operation-level: exactly once, and a refusal stays in front of its user.
    for op in &ledger.ops {
        let outcomes = facts.outcomes.get(&op.op_id).cloned().unwrap_or_default();
        let held = ledger
            .snapshots
            .get(&(op.device, op.user))
            .and_then(|s| s.outbox.iter().find(|o| o.op_id == op.op_id));
        let state = held.map(|o| o.state.as_str());
        let name = format!(
            "op {} ({} on d{} by u{})",
            op.op_id, op.what, op.device, op.user
        );
        if outcomes.len() > 1 {
            violations.push(format!(
                "{name} has {} outcomes on the server",
                outcomes.len()
            ));
        }
        if ledger.lost.contains(&(op.device, op.user)) || ledger.discarded.contains(&op.op_id) {
            continue;
        }
        match outcomes.first().map(String::as_str) {
            Some("applied") if state == Some("failed") => violations.push(format!(
                "{name} is applied on the server and a sync error on the device"
            )),
            Some("conflict" | "error")
                if state.is_none() && !ledger.resolutions.contains_key(&op.op_id) =>
            {
                violations.push(format!(
                    "{name} was refused by the server, and the device no longer holds it as a sync error"
                ));
            }
            _ => {}
        }
    }
    // Value-level, none lost: each user's last write of each field reached the server,
    // or is still on the device, or the user said yes to losing it.
    // (device, user, entity, id, field) → (value, op id) of the user's last write.
    type Write = (usize, usize, String, String, String);
    let mut last: BTreeMap<Write, (String, String)> = BTreeMap::new();
    for op in &ledger.ops {
        if let Some((entity, id, field, value)) = &op.token {
            last.insert(
                (
                    op.device,
                    op.user,
                    entity.clone(),
                    id.clone(),
                    field.clone(),
                ),
                (value.clone(), op.op_id.clone()),
            );
        }
    }
    let record_of_op: BTreeMap<&str, (&str, &str)> = ledger
        .ops
        .iter()
        .filter_map(|o| {
            o.token
                .as_ref()
                .map(|t| (o.op_id.as_str(), (t.0.as_str(), t.1.as_str())))
        })
        .collect();
    for ((d, u, entity, id, field), (value, op_id)) in &last {
        if ledger.lost.contains(&(*d, *u)) || ledger.discarded.contains(op_id) {
            continue;
        }
        let kept = ledger
            .snapshots
            .get(&(*d, *u))
            .is_some_and(|s| s.outbox.iter().any(|o| o.entity == *entity && o.id == *id));
        let live = facts.records.contains_key(&(entity.clone(), id.clone()));
        let user_deleted = deleted.contains(short(id));
        let gave_up = ledger.resolutions.iter().any(|(op, how)| {
            how == "take_server"
                && record_of_op.get(op.as_str()) == Some(&(entity.as_str(), id.as_str()))
        });
        let reached = delivered.iter().any(|e| match e {
            Delivered::Op { device, op, .. } => {
                *device == *d
                    && op["entity"] == *entity
                    && op["id"] == *id
                    && [&op["changes"][field], &op["fields"][field]]
                        .iter()
                        .any(|v| v.as_str() == Some(value.as_str()))
            }
            _ => false,
        });
        if !(kept
            || reached
            || user_deleted
            || gave_up
            || (!live && ledger_deleted_by_other(&delivered, entity, id)))
        {
            let sent: Vec<String> = delivered
                .iter()
                .filter_map(|e| match e {
                    Delivered::Op { device, op_id, op } if op["id"] == *id => {
                        Some(format!("d{device} {op_id} {op}"))
                    }
                    _ => None,
                })
                .collect();
            violations.push(format!(
                "lost: u{u}'s change of {entity} {id} {field} to {value} on d{d} never reached the server and is not on the device (op {op_id}; delivered for it: {sent:?})"
            ));
        }
    }
    // Replay: what reached the server, in order, with the server's own outcome of each —
    // the server's records must be what those changes make them.
    let mut expected: BTreeMap<(String, String), BTreeMap<String, Option<String>>> =
        BTreeMap::new();
    let mut gone: BTreeSet<(String, String)> = BTreeSet::new();
    let ops_by_id: BTreeMap<&str, &serde_json::Value> = delivered
        .iter()
        .filter_map(|e| match e {
            Delivered::Op { op_id, op, .. } => Some((op_id.as_str(), op)),
            _ => None,
        })
        .collect();
    let mut apply =
        |op: &serde_json::Value, expected: &mut BTreeMap<_, BTreeMap<String, Option<String>>>| {
            let key = (
                op["entity"].as_str().unwrap_or_default().to_owned(),
                op["id"].as_str().unwrap_or_default().to_owned(),
            );
            match op["kind"].as_str() {
                Some("delete") => {
                    gone.insert(key.clone());
                    expected.remove(&key);
                }
                Some("update" | "create") => {
                    let changes = if op["kind"] == "update" {
                        &op["changes"]
                    } else {
                        &op["fields"]
                    };
                    let fields = COMPARED
                        .iter()
                        .find(|(e, _)| *e == key.0)
                        .map(|(_, f)| *f)
                        .unwrap_or_default();
                    for (name, value) in changes.as_object().into_iter().flatten() {
                        if fields.contains(&name.as_str()) {
                            expected
                                .entry(key.clone())
                                .or_default()
                                .insert(name.clone(), value.as_str().map(str::to_owned));
                        }
                    }
                }
                _ => {}
            }
        };
    for event in server_order(&delivered, &facts) {
        match event {
            Delivered::Op { op, .. } => apply(op, &mut expected),
            Delivered::Resolve { op_id, .. } => {
                if let Some(op) = ops_by_id.get(op_id.as_str()) {
                    apply(op, &mut expected);
                }
            }
            Delivered::Admin {
                entity,
                id,
                changes,
                ..
            } => {
                let op = serde_json::json!({"kind": "update", "entity": entity, "id": id, "changes": changes});
                apply(&op, &mut expected);
            }
        }
    }
    for ((entity, id), fields) in &expected {
        let Some(server) = facts.records.get(&(entity.clone(), id.clone())) else {
            violations.push(format!(
                "server: {entity} {id} is gone, though no applied change deleted it"
            ));
            continue;
        };
        for (field, value) in fields {
            let actual = server.get(field).cloned().flatten();
            if normal(&actual) != normal(value) {
                violations.push(format!(
                    "server: {entity} {id} {field} is {actual:?}, but the changes that reached it, in order, make it {value:?}"
                ));
            }
        }
    }
    for (entity, id) in &gone {
        if facts.records.contains_key(&(entity.clone(), id.clone())) {
            violations.push(format!(
                "server: {entity} {id} is live, though an applied change deleted it"
            ));
        }
    }
    for ((d, u), snap) in &ledger.snapshots {
        let who = format!("d{d} u{u}");
        if !snap.integrity.is_empty() {
            violations.push(format!(
                "{who}: the store fails its integrity check: {:?}",
                snap.integrity
            ));
        }
        let failed: BTreeMap<&str, &OutboxRow> = snap
            .outbox
            .iter()
            .filter(|o| o.state == "failed" || o.state == "resolving")
            .map(|o| (o.op_id.as_str(), o))
            .collect();
        for parked in snap.outbox.iter().filter(|o| o.state == "parked") {
            let behind = parked
                .parked_behind
                .as_deref()
                .and_then(|id| failed.get(id));
            // A command's failed op also holds back what touches the records it made.
            let made = |f: &OutboxRow| {
                ledger.ops.iter().any(|o| {
                    o.op_id == f.op_id
                        && matches!(&o.effect, Some(Effect::State { created, .. })
                            if created.iter().any(|(e, i)| *e == parked.entity && *i == parked.id))
                })
            };
            match behind {
                Some(f) if (f.entity == parked.entity && f.id == parked.id) || made(f) => {}
                Some(f) => violations.push(format!(
                    "{who}: op {} waits behind {} of another record ({} {})",
                    parked.op_id, f.op_id, f.entity, f.id
                )),
                None => violations.push(format!(
                    "{who}: op {} is parked behind nothing that failed",
                    parked.op_id
                )),
            }
        }
        if !snap.signed_in {
            continue;
        }
        // What the device's held operations touch: their targets, and the records a
        // command among them made (a case resolution stays with its failed command).
        let mut pending: BTreeSet<(&str, &str)> = snap
            .outbox
            .iter()
            .map(|o| (o.entity.as_str(), o.id.as_str()))
            .collect();
        for op in &world.ledger.ops {
            if let Some(Effect::State { created, .. }) = &op.effect
                && snap.outbox.iter().any(|o| o.op_id == op.op_id)
            {
                pending.extend(created.iter().map(|(e, i)| (e.as_str(), i.as_str())));
            }
        }
        for (entity, fields) in COMPARED {
            for row in snap.records.get(*entity).into_iter().flatten() {
                if row.pending || pending.contains(&(*entity, row.id.as_str())) {
                    continue;
                }
                let Some(server) = facts.records.get(&((*entity).to_owned(), row.id.clone()))
                else {
                    if row.reason.as_deref() != Some("in_progress") {
                        violations.push(format!(
                            "{who}: holds {entity} {} the server deleted",
                            row.id
                        ));
                    }
                    continue;
                };
                if *entity == "account" {
                    let mine = row.fields.get(SECRET).cloned().flatten();
                    let theirs = server.get(SECRET).cloned().flatten();
                    if !world.finance.contains(u) {
                        if mine.is_some() {
                            violations.push(format!(
                                "{who}: holds account {} {SECRET} = {mine:?}, a field the user may not read",
                                row.id
                            ));
                        }
                    } else if normal(&mine) != normal(&theirs) {
                        violations.push(format!(
                            "{who}: account {} {SECRET} is {mine:?} on the device, {theirs:?} on the server, which the user may read",
                            row.id
                        ));
                    }
                }
                for field in *fields {
                    let mine = row.fields.get(*field).cloned().flatten();
                    let theirs = server.get(*field).cloned().flatten();
                    if normal(&mine) != normal(&theirs) {
                        violations.push(format!(
                            "{who}: {entity} {} {field} is {mine:?} on the device, {theirs:?} on the server",
                            row.id
                        ));
                    }
                }
            }
        }
    }
    let state = crate::scope::read(&world.server_db()?).await?;
    check_commands(world, &facts, &state, &mut violations);
    check_drafts(world, &state, &mut violations);
    check_scope(world, &state, &mut violations)?;
    Ok(violations)
}

/// Commands, flow moves and follows: each is applied on the server or still held by its
/// device, and what the applied ones did is on the server.
fn check_commands(
    world: &World,
    facts: &ServerFacts,
    state: &crate::scope::ServerState,
    violations: &mut Vec<String>,
) {
    let ledger = &world.ledger;
    let delivered = world.delivered();
    let field = |entity: &str, id: &str, name: &str| {
        state
            .records
            .get(entity)
            .and_then(|r| r.get(id))
            .map(|f| f.get(name).cloned().flatten())
    };
    // Exactly once is checked above for every op; here none of these vanished.
    for op in ledger.ops.iter().filter(|o| o.effect.is_some()) {
        if ledger.lost.contains(&(op.device, op.user)) || ledger.discarded.contains(&op.op_id) {
            continue;
        }
        let held = ledger
            .snapshots
            .get(&(op.device, op.user))
            .is_some_and(|s| s.outbox.iter().any(|o| o.op_id == op.op_id));
        if !held && !facts.outcomes.contains_key(&op.op_id) {
            violations.push(format!(
                "op {} ({} on d{} by u{}) never reached the server and is not on the device",
                op.op_id, op.what, op.device, op.user
            ));
        }
    }
    let by_id: BTreeMap<&str, &OpRecord> =
        ledger.ops.iter().map(|o| (o.op_id.as_str(), o)).collect();
    // What reached the server and was applied, in the server's order: the first answer,
    // or a resolution that applied it.
    let mut order: Vec<&OpRecord> = Vec::new();
    for event in server_order(&delivered, facts) {
        let op_id = match event {
            Delivered::Op { op_id, .. } | Delivered::Resolve { op_id, .. } => op_id,
            Delivered::Admin { .. } => continue,
        };
        if let Some(op) = by_id.get(op_id.as_str()) {
            order.push(op);
        }
    }
    let mut states: BTreeMap<(&str, &str), (&str, &str)> = BTreeMap::new();
    let mut stages: BTreeMap<(&str, &str), (&str, i64)> = BTreeMap::new();
    let mut follows: BTreeMap<(usize, &str, &str), bool> = BTreeMap::new();
    for op in &order {
        match &op.effect {
            Some(Effect::State {
                entity,
                id,
                state: value,
                created,
            }) => {
                states.insert((entity, id), (value, &op.op_id));
                for (e, i) in created {
                    if field(e, i, "statecode").is_none()
                        && !ledger_deleted_by_other(&delivered, e, i)
                    {
                        violations.push(format!(
                            "server: {e} {i} made by the applied op {} ({}) is not there",
                            op.op_id, op.what
                        ));
                    }
                }
            }
            Some(Effect::Flow {
                entity,
                id,
                flow_id,
                step,
            }) => {
                let at = stages.entry((entity, id)).or_insert_with(|| {
                    let start = ledger
                        .flow_start
                        .get(&(entity.clone(), id.clone()))
                        .cloned()
                        .flatten();
                    (
                        flow_id,
                        stage_index(state, entity, flow_id, start.as_deref()),
                    )
                });
                at.1 += i64::from(*step);
            }
            Some(Effect::Follow { entity, id, on }) => {
                follows.insert((op.user, entity, id), *on);
            }
            None => {}
        }
    }
    for ((entity, id), (value, op_id)) in &states {
        let actual = field(entity, id, "statecode").flatten();
        if actual.as_deref() != Some(*value) {
            violations.push(format!(
                "server: {entity} {id} statecode is {actual:?}, but the last applied command (op {op_id}) leaves it {value}"
            ));
        }
    }
    for ((entity, id), (flow_id, index)) in &stages {
        let Some(actual) = field(entity, id, "activestageid") else {
            continue;
        };
        let actual = stage_index(state, entity, flow_id, actual.as_deref());
        if actual != *index {
            violations.push(format!(
                "server: {entity} {id} is at stage {actual} of {flow_id}, but the applied moves put it at {index}"
            ));
        }
    }
    for ((u, entity, id), on) in &follows {
        let user_id = &world.users[*u].id;
        let actual =
            state
                .follows
                .contains(&(user_id.clone(), (*entity).to_owned(), (*id).to_owned()));
        if actual != *on {
            violations.push(format!(
                "server: u{u} follows {entity} {id}: {actual}, but their last applied follow says {on}"
            ));
        }
    }
}

/// A stage's position in its flow (the first when empty or unknown).
fn stage_index(
    state: &crate::scope::ServerState,
    entity: &str,
    flow_id: &str,
    stage: Option<&str>,
) -> i64 {
    state
        .org
        .metadata
        .flows_for(entity)
        .find(|f| f.id == flow_id)
        .and_then(|f| f.stages.iter().position(|s| Some(s.id.as_str()) == stage))
        .map_or(0, |p| p as i64)
}

/// Every draft a user made is still on their device as they last left it, or on the
/// server as it was saved, unless they deleted it or said yes to losing it.
fn check_drafts(world: &World, state: &crate::scope::ServerState, violations: &mut Vec<String>) {
    let ledger = &world.ledger;
    for (id, book) in &ledger.drafts {
        if book.deleted
            || ledger.discarded_drafts.contains(id)
            || ledger.lost.contains(&(book.device, book.user))
        {
            continue;
        }
        let who = format!("d{} u{}", book.device, book.user);
        let held = ledger
            .snapshots
            .get(&(book.device, book.user))
            .and_then(|s| s.drafts.iter().find(|d| d.id == *id));
        let saved = state.records.get(&book.entity).and_then(|r| r.get(id));
        let name = |f: &outpost_domain::Fields| f.get("name").cloned().flatten();
        match (held, saved) {
            (Some(draft), _) if name(&draft.fields).as_deref() == Some(book.value.as_str()) => {}
            (None, Some(record)) if name(record).as_deref() == Some(book.value.as_str()) => {}
            (Some(draft), _) => violations.push(format!(
                "{who}: draft {id} holds name {:?}, the user last wrote {}",
                name(&draft.fields),
                book.value
            )),
            (None, Some(record)) => violations.push(format!(
                "{who}: draft {id} was saved with name {:?}, the user last wrote {}",
                name(record),
                book.value
            )),
            (None, None) => violations.push(format!(
                "{who}: draft {id} ({} {}) is neither on the device nor on the server",
                book.entity, book.value
            )),
        }
    }
    for error in &ledger.disk_errors {
        let lower = error.to_lowercase();
        if ["corrupt", "malformed", "integrity"]
            .iter()
            .any(|w| lower.contains(w))
        {
            violations.push(format!("a full disk broke the store: {error}"));
        }
    }
}

/// Each signed-in device holds exactly its user's scope as the server's facts make it:
/// nothing they may not read, nothing outside their profile, nothing missing; what a
/// pending change touches may stay (S10).
fn check_scope(
    world: &World,
    state: &crate::scope::ServerState,
    violations: &mut Vec<String>,
) -> anyhow::Result<()> {
    for ((d, u), snap) in &world.ledger.snapshots {
        if !snap.signed_in {
            continue;
        }
        let who = format!("d{d} u{u}");
        let user_id = &world.users[*u].id;
        let expected = crate::scope::expected(state, user_id, world.now())?;
        let principal = state.org.principal(user_id)?;
        // What the device's held operations touch: their targets, and the records a
        // command among them made (a case resolution stays with its failed command).
        let mut pending: BTreeSet<(&str, &str)> = snap
            .outbox
            .iter()
            .map(|o| (o.entity.as_str(), o.id.as_str()))
            .collect();
        for op in &world.ledger.ops {
            if let Some(Effect::State { created, .. }) = &op.effect
                && snap.outbox.iter().any(|o| o.op_id == op.op_id)
            {
                pending.extend(created.iter().map(|(e, i)| (e.as_str(), i.as_str())));
            }
        }
        let mut held: BTreeSet<(String, String)> = BTreeSet::new();
        for entity in SCOPED {
            for row in snap.records.get(*entity).into_iter().flatten() {
                let key = ((*entity).to_owned(), row.id.clone());
                held.insert(key.clone());
                if row.pending
                    || pending.contains(&(*entity, row.id.as_str()))
                    || row.reason.as_deref() == Some("in_progress")
                    || expected.contains_key(&key)
                {
                    continue;
                }
                let readable = state
                    .records
                    .get(*entity)
                    .and_then(|r| r.get(&row.id))
                    .zip(state.org.metadata.entity(entity).ok())
                    .is_some_and(|(fields, def)| {
                        principal.can(
                            def,
                            outpost_domain::security::Privilege::Read,
                            &outpost_domain::security::RecordFacts::from_fields(fields),
                        )
                    });
                if readable
                    || !state
                        .records
                        .get(*entity)
                        .is_some_and(|r| r.contains_key(&row.id))
                {
                    violations.push(format!(
                        "{who}: holds {entity} {} ({:?}), out of the user's scope",
                        row.id, row.reason
                    ));
                } else {
                    violations.push(format!(
                        "{who}: holds {entity} {} ({:?}), a record the user may not read",
                        row.id, row.reason
                    ));
                }
            }
        }
        for (entity, id) in expected.keys() {
            if SCOPED.contains(&entity.as_str())
                && !held.contains(&(entity.clone(), id.clone()))
                && !pending.contains(&(entity.as_str(), id.as_str()))
            {
                violations.push(format!(
                    "{who}: misses {entity} {id}, in the user's scope ({})",
                    expected[&(entity.clone(), id.clone())]
                ));
            }
        }
    }
    Ok(())
}

/// Whether an applied delete from anyone removed the record.
/// What the server applied of what reached it, in the order it applied them: the first
/// answer of an operation that was applied, a resolution that applied one (applying again
/// can be refused; the error then stays open), an administrator's change. Writers are
/// serialized on the server and each takes the next row version, so version order is
/// the server's order — which is not the order requests arrived in, as two in flight at
/// once may commit either way.
fn server_order<'a>(delivered: &'a [Delivered], facts: &ServerFacts) -> Vec<&'a Delivered> {
    // A resolution can reach the server more than once (a duplicated or retried request);
    // it applies the operation once.
    let mut resolved = BTreeSet::new();
    let mut order: Vec<(u64, &Delivered)> = delivered
        .iter()
        .filter_map(|event| {
            let version = match event {
                Delivered::Op { op_id, .. }
                    if facts
                        .outcomes
                        .get(op_id)
                        .and_then(|o| o.first())
                        .map(String::as_str)
                        == Some("applied") =>
                {
                    facts.applied_at.get(op_id).copied()
                }
                Delivered::Resolve { op_id, action }
                    if action == "apply"
                        && facts.errors.get(op_id).map(String::as_str) == Some("applied")
                        && resolved.insert(op_id.as_str()) =>
                {
                    facts.error_versions.get(op_id).copied()
                }
                Delivered::Admin { version, .. } => Some(*version),
                _ => None,
            };
            version.map(|v| (v, event))
        })
        .collect();
    // Stable: ops of one transaction that share a version keep the order they were sent in.
    order.sort_by_key(|(version, _)| *version);
    order.into_iter().map(|(_, event)| event).collect()
}

fn ledger_deleted_by_other(delivered: &[Delivered], entity: &str, id: &str) -> bool {
    delivered.iter().any(|e| {
        matches!(e, Delivered::Op { op, .. } if op["kind"] == "delete" && op["entity"] == *entity && op["id"] == *id)
    })
}

/// Money and numbers compare by value, not by spelling.
fn normal(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| match v.parse::<f64>() {
        Ok(n) => format!("{n:.4}"),
        Err(_) => v.clone(),
    })
}
