//! Pull (S10, S12, B3, B6): the next page of what a device must upsert or remove, from
//! what the server knows the device holds (`device_record`).
//!
//! **Pages are acknowledged.** A page's entries wait in `device_page` until the device
//! asks for the next page with that page's checkpoint (then they become what it holds);
//! asking again with the previous checkpoint drops them and recomputes — so a lost answer
//! or a killed device loses nothing and gets nothing twice. Checkpoint 0 means "I hold
//! nothing"; an unknown checkpoint answers `reset`.
//!
//! **Two ways to compute a page.**
//! - *Sweep*, when the device's scope may have changed as a whole (first sync, a new
//!   profile version, any admin change, a new day for date-relative filters): walk every
//!   profile entity in id order sending what is in scope and not held at that version,
//!   then walk what is held and remove what is no longer in scope. Costs O(scope), once.
//! - *Delta*, otherwise: rows whose row version is above the device's high-water mark,
//!   the records they link to by relationship rules (old and new targets), and the
//!   user's follow changes — each re-evaluated by id. Costs O(changes), not O(scope).
//!
//! **What the user may read of a record can change without the record changing** (a
//! field secured in the metadata, a field security profile granted or taken away). The
//! device's state keeps, per profile entity, the fields withheld from the user when it
//! was last swept ([`withheld_fields`]); when that differs from now, a sweep sends every
//! record of the entity in scope again — held at the same version or not — so a device,
//! which replaces a whole record on upsert, drops a value it may no longer read and gets
//! one it now may. What records the user may read at all (roles, teams, units) is an
//! admin change like any other: the sweep it starts removes what left scope.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use outpost_domain::Fields;
use outpost_domain::metadata::EntityDef;
use outpost_domain::security::Principal;
use outpost_protocol::admin::ProfileDef;
use outpost_protocol::{EntityProblem, PullRequest, PullResponse, RecordPayload, RecordRef};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::db::{Conn, Row, SqlParam, entity_table, int, int_param, opt_string, string, text};
use crate::org::{Org, StoredProfile};
use crate::records::{column_count, read_row, select_columns};
use crate::scope::{Direction, Params, ScopePlan, literal};

/// Rows a sweep may look at for one page before it answers with what it has.
const SCAN_FACTOR: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct DeviceState {
    scope_key: String,
    hw: i64,
    sweep: Option<Sweep>,
    errors_hw: i64,
    /// Entity → the fields withheld from the user when the device last swept it. A state
    /// kept before this existed has none, so every entity is sent again once.
    #[serde(default)]
    withheld: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sweep {
    entity: usize,
    after: String,
    removing: bool,
    hw: i64,
    total: u64,
    sent: u64,
    /// Entities whose every record in scope is sent, held at this version or not.
    #[serde(default)]
    resend: BTreeSet<String>,
}

/// One line of a page.
struct Entry {
    entity: String,
    id: String,
    /// `None`: remove.
    upsert: Option<Upsert>,
}

struct Upsert {
    version: i64,
    reason: String,
    refs: String,
    fields: Fields,
}

/// A candidate row: the record's columns plus its reason and what the device holds.
struct Evaluated {
    id: String,
    fields: Fields,
    version: i64,
    why: Option<String>,
    held: Option<i64>,
    held_reason: Option<String>,
    held_refs: Option<String>,
}

/// What a delta must look at again because of the rows it sends: records per entity, and
/// the parents whose children a relationship rule brings (found in one query per rule).
#[derive(Default)]
struct Related {
    /// Entity → ids whose membership may have changed.
    ids: BTreeMap<String, BTreeSet<String>>,
    /// (child entity, lookup attribute) → references of parents whose children count.
    children_of: BTreeMap<(String, String), BTreeSet<String>>,
}

struct Pager<'a> {
    org: &'a Org,
    plan: ScopePlan<'a>,
    device: &'a str,
    user_id: &'a str,
    conn: &'a mut dyn Conn,
}

impl<'a> Pager<'a> {
    /// `SELECT` of an entity's rows with reason and held state, under `where_sql` (which
    /// may bind into `p` after the reason).
    fn evaluate(
        &mut self,
        def: &EntityDef,
        where_sql: &dyn Fn(&mut Params) -> String,
        order_limit: &str,
    ) -> anyhow::Result<Vec<Evaluated>> {
        let mut p = Params::new(self.conn.dialect());
        let reason = self.plan.reason(&mut p, def, "r")?;
        let device = p.bind(text(self.device));
        let filter = where_sql(&mut p);
        let sql = format!(
            "SELECT * FROM (SELECT {}, {reason} AS why, d.version AS held, d.reason AS held_reason, \
             d.refs AS held_refs FROM {} r LEFT JOIN device_record d ON d.device_id = {device} \
             AND d.entity = {} AND d.record_id = r.id WHERE {filter}) q {order_limit}",
            select_columns(def),
            entity_table(&def.name),
            literal(&def.name)?,
        );
        let n = column_count(def);
        self.conn
            .query(&sql, &p.values)?
            .iter()
            .map(|row| evaluated(def, row, n))
            .collect()
    }

    fn refs(&self, entity: &str, fields: &Fields) -> String {
        self.plan
            .rules_from(entity)
            .into_iter()
            .filter(|(_, d)| *d == Direction::Parents)
            .filter_map(|(rule, _)| fields.get(&rule.attribute).cloned().flatten())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The entry for an evaluated row, if the device needs one; with `resend`, a row in
    /// scope is sent even when the device holds it as it is.
    fn entry(&self, entity: &str, row: Evaluated, resend: bool) -> Option<Entry> {
        match row.why {
            Some(why)
                if resend
                    || row.held != Some(row.version)
                    || row.held_reason.as_deref() != Some(&why) =>
            {
                let refs = self.refs(entity, &row.fields);
                Some(Entry {
                    entity: entity.to_owned(),
                    id: row.id,
                    upsert: Some(Upsert {
                        version: row.version,
                        reason: why,
                        refs,
                        fields: row.fields,
                    }),
                })
            }
            None if row.held.is_some() => Some(Entry {
                entity: entity.to_owned(),
                id: row.id,
                upsert: None,
            }),
            _ => None,
        }
    }
}

fn evaluated(def: &EntityDef, row: &Row, n: usize) -> anyhow::Result<Evaluated> {
    let (id, fields, version) = read_row(def, row, 0)?;
    Ok(Evaluated {
        id,
        fields,
        version,
        why: opt_string(&row[n])?,
        held: match &row[n + 1] {
            SqlParam::Null => None,
            v => Some(int(v)?),
        },
        held_reason: opt_string(&row[n + 2])?,
        held_refs: opt_string(&row[n + 3])?,
    })
}

impl<'a> Pager<'a> {
    /// How many records are in scope now (for progress).
    fn count_in_scope(&mut self) -> anyhow::Result<u64> {
        let mut total = 0;
        let org: &'a Org = self.org;
        for def in &org.metadata.entities {
            if self.plan.item(&def.name).is_none() {
                continue;
            }
            let mut p = Params::new(self.conn.dialect());
            let reason = self.plan.reason(&mut p, def, "r")?;
            let sql = format!(
                "SELECT count(*) FROM {} r WHERE r._deleted = 0 AND ({reason}) IS NOT NULL",
                entity_table(&def.name)
            );
            total += u64::try_from(int(&self.conn.query_value(&sql, &p.values)?)?)?;
        }
        Ok(total)
    }

    /// A sweep page: upserts in entity and id order, then removals of what left scope.
    /// Returns whether the sweep finished.
    fn sweep(
        &mut self,
        sweep: &mut Sweep,
        limit: usize,
        out: &mut Vec<Entry>,
    ) -> anyhow::Result<bool> {
        let org: &'a Org = self.org;
        let entities = &org.metadata.entities;
        let mut scanned = 0;
        while out.len() < limit && scanned < limit * SCAN_FACTOR {
            let Some(def) = entities.get(sweep.entity) else {
                if sweep.removing {
                    return Ok(true);
                }
                sweep.removing = true;
                sweep.entity = 0;
                sweep.after.clear();
                continue;
            };
            let batch = limit - out.len();
            let rows = if sweep.removing {
                self.stale_held(def, &sweep.after, batch, out)?
            } else if self.plan.item(&def.name).is_some() {
                let after = sweep.after.clone();
                let order = format!(
                    "WHERE q.why IS NOT NULL ORDER BY q.id LIMIT {}",
                    batch.max(1)
                );
                let found = self.evaluate(
                    def,
                    &|p: &mut Params| format!("r.id > {} AND r._deleted = 0", p.bind(text(&after))),
                    &order,
                )?;
                let ids: Vec<String> = found.iter().map(|r| r.id.clone()).collect();
                let resend = sweep.resend.contains(&def.name);
                for row in found {
                    if let Some(entry) = self.entry(&def.name, row, resend) {
                        out.push(entry);
                        sweep.sent += 1;
                    }
                }
                ids
            } else {
                Vec::new()
            };
            scanned += rows.len();
            match rows.last() {
                Some(last) if rows.len() >= batch.max(1) => sweep.after = last.clone(),
                _ => {
                    sweep.entity += 1;
                    sweep.after.clear();
                }
            }
        }
        Ok(false)
    }

    /// Removals: held records of `def` after `after` that are no longer in scope (or no
    /// longer exist). Returns the ids looked at.
    fn stale_held(
        &mut self,
        def: &EntityDef,
        after: &str,
        batch: usize,
        out: &mut Vec<Entry>,
    ) -> anyhow::Result<Vec<String>> {
        let mut p = Params::new(self.conn.dialect());
        let reason = self.plan.reason(&mut p, def, "r")?;
        let device = p.bind(text(self.device));
        let after = p.bind(text(after));
        let sql = format!(
            "SELECT d.record_id, CASE WHEN EXISTS (SELECT 1 FROM {} r WHERE r.id = d.record_id \
             AND ({reason}) IS NOT NULL) THEN 1 ELSE 0 END FROM device_record d \
             WHERE d.device_id = {device} AND d.entity = {} AND d.record_id > {after} \
             ORDER BY d.record_id LIMIT {}",
            entity_table(&def.name),
            literal(&def.name)?,
            batch.max(1)
        );
        let rows = self.conn.query(&sql, &p.values)?;
        let mut seen = Vec::with_capacity(rows.len());
        for row in rows {
            let id = string(&row[0])?;
            if int(&row[1])? == 0 {
                out.push(Entry {
                    entity: def.name.clone(),
                    id: id.clone(),
                    upsert: None,
                });
            }
            seen.push(id);
        }
        Ok(seen)
    }
}

impl<'a> Pager<'a> {
    /// A delta page: changes with `hw < row version <= cur` in version order, then the
    /// records they link to and the user's follow changes. Returns the new high-water
    /// mark and whether more changes wait.
    fn delta(
        &mut self,
        hw: i64,
        cur: i64,
        limit: usize,
        out: &mut Vec<Entry>,
    ) -> anyhow::Result<(i64, bool)> {
        let org: &'a Org = self.org;
        let entities: Vec<&'a EntityDef> = org
            .metadata
            .entities
            .iter()
            .filter(|d| self.plan.item(&d.name).is_some())
            .collect();
        let fetch = limit + 1;
        let mut changed: Vec<(i64, usize, Evaluated)> = Vec::new();
        let mut frontier = cur;
        for (i, def) in entities.iter().enumerate() {
            let rows = self.evaluate(
                def,
                &|p: &mut Params| {
                    format!(
                        "r._version > {} AND r._version <= {}",
                        p.bind(int_param(hw)),
                        p.bind(int_param(cur))
                    )
                },
                &format!("ORDER BY q._version LIMIT {fetch}"),
            )?;
            if rows.len() == fetch {
                frontier = frontier.min(rows[limit - 1].version);
            }
            changed.extend(rows.into_iter().map(|r| (r.version, i, r)));
        }
        changed.sort_by_key(|(v, _, _)| *v);
        let mut new_hw = hw;
        let mut more = frontier < cur;
        let mut related = Related::default();
        let mut touched: BTreeSet<(String, String)> = BTreeSet::new();
        for (version, i, row) in changed {
            if version > frontier {
                break;
            }
            if out.len() >= limit {
                more = true;
                break;
            }
            new_hw = version;
            let def = &entities[i];
            self.related_candidates(def, &row, &mut related);
            touched.insert((def.name.clone(), row.id.clone()));
            if let Some(entry) = self.entry(&def.name, row, false) {
                out.push(entry);
            }
        }
        if !more {
            new_hw = cur;
        }
        // Follow changes in the same window.
        let mut p = Params::new(self.conn.dialect());
        let sql = format!(
            "SELECT f.entity, f.record_id FROM follow f \
             WHERE f.user_id = {} AND f._version > {} AND f._version <= {}",
            p.bind(text(self.user_id)),
            p.bind(int_param(hw)),
            p.bind(int_param(new_hw))
        );
        let mut followed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in self.conn.query(&sql, &p.values)? {
            followed
                .entry(string(&row[0])?)
                .or_default()
                .insert(string(&row[1])?);
        }
        // A follow changes whether the record is a rule's source, so what it relates to
        // is looked at again too.
        for (entity, ids) in followed {
            let ids: Vec<String> = ids
                .into_iter()
                .filter(|id| touched.insert((entity.clone(), id.clone())))
                .collect();
            self.recheck(&entity, &ids, out, Some(&mut related))?;
        }
        self.children_find(&mut related)?;
        for (entity, ids) in related.ids {
            let ids: Vec<String> = ids
                .into_iter()
                .filter(|id| !touched.contains(&(entity.clone(), id.clone())))
                .collect();
            self.recheck(&entity, &ids, out, None)?;
        }
        if !more && self.pushed_recheck(limit, &touched, out)? {
            more = true;
        }
        if outpost_domain::mutant::active(outpost_domain::mutant::Mutant::PullSkipsLateCommit) {
            // A re-introduced bug (the simulation's mutants): the checkpoint moves to the
            // newest version allocated, past changes this page did not carry.
            return Ok((cur, false));
        }
        Ok((new_hw, more))
    }

    /// Records whose membership may change with `row`: old and new parents it points at,
    /// and (later, by [`Pager::children_find`]) children pointing at it, per the
    /// relationship rules of its item.
    fn related_candidates(&self, def: &EntityDef, row: &Evaluated, into: &mut Related) {
        for (rule, dir) in self.plan.rules_from(&def.name) {
            match dir {
                Direction::Parents => {
                    let prefix = format!("{}:", rule.entity);
                    let now = row.fields.get(&rule.attribute).cloned().flatten();
                    let before = row.held_refs.clone().unwrap_or_default();
                    for value in now.iter().map(String::as_str).chain(before.split(' ')) {
                        if let Some(id) = value.strip_prefix(&prefix) {
                            into.ids
                                .entry(rule.entity.clone())
                                .or_default()
                                .insert(id.to_owned());
                        }
                    }
                }
                Direction::Children => {
                    into.children_of
                        .entry((rule.entity.clone(), rule.attribute.clone()))
                        .or_default()
                        .insert(format!("{}:{}", def.name, row.id));
                }
            }
        }
    }

    /// Finds the children of the parents collected in `related`, one query per rule and
    /// chunk of parents, and adds them to the records to look at again.
    fn children_find(&mut self, related: &mut Related) -> anyhow::Result<()> {
        for ((entity, attribute), parents) in std::mem::take(&mut related.children_of) {
            let parents: Vec<String> = parents.into_iter().collect();
            for chunk in parents.chunks(500) {
                let mut p = Params::new(self.conn.dialect());
                let placeholders: Vec<String> =
                    chunk.iter().map(|r| p.bind(text(r.clone()))).collect();
                let sql = format!(
                    "SELECT id FROM {} WHERE \"{}\" IN ({})",
                    entity_table(&entity),
                    attribute.replace('"', ""),
                    placeholders.join(", ")
                );
                for child in self.conn.query(&sql, &p.values)? {
                    related
                        .ids
                        .entry(entity.clone())
                        .or_default()
                        .insert(string(&child[0])?);
                }
            }
        }
        Ok(())
    }

    /// Re-evaluates records by id; held ones that no longer exist are removed.
    /// Records the device made itself and pushed that no page sent back yet (held at
    /// version `-1`, `push::held_from_push`) and no change of this delta brought: each is
    /// looked at again by id, as many as the page has room for — sent whole while in
    /// scope, removed otherwise (every one gets a line, so the next page goes on past
    /// them). That is how a record of an entity outside the profile that a command made
    /// (a case resolution) leaves the device, which no delta over the profile's entities
    /// would ever reach. Answers whether more wait.
    fn pushed_recheck(
        &mut self,
        limit: usize,
        touched: &BTreeSet<(String, String)>,
        out: &mut Vec<Entry>,
    ) -> anyhow::Result<bool> {
        let room = limit.saturating_sub(out.len());
        // The literal `-1` lets the engines use the partial index `device_record_pushed`.
        let rows = self.conn.query(
            &format!(
                "SELECT entity, record_id FROM device_record WHERE device_id = $1 AND version = -1 \
                 ORDER BY entity, record_id LIMIT {}",
                room + 1
            ),
            &[text(self.device)],
        )?;
        let more = rows.len() > room;
        let mut pushed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows.iter().take(room) {
            let key = (string(&row[0])?, string(&row[1])?);
            if !touched.contains(&key) {
                pushed.entry(key.0).or_default().push(key.1);
            }
        }
        for (entity, ids) in pushed {
            if self.org.metadata.entity(&entity).is_ok() {
                self.recheck(&entity, &ids, out, None)?;
            } else {
                // An entity the metadata no longer has: nothing of it is in scope.
                out.extend(ids.into_iter().map(|id| Entry {
                    entity: entity.clone(),
                    id,
                    upsert: None,
                }));
            }
        }
        Ok(more)
    }

    /// With `related`, also collects the records each rechecked one relates to.
    fn recheck(
        &mut self,
        entity: &str,
        ids: &[String],
        out: &mut Vec<Entry>,
        mut related: Option<&mut Related>,
    ) -> anyhow::Result<()> {
        let org: &'a Org = self.org;
        let Ok(def) = org.metadata.entity(entity) else {
            return Ok(());
        };
        for chunk in ids.chunks(500) {
            let rows = if self.plan.item(entity).is_some() {
                let list = chunk.to_vec();
                self.evaluate(
                    def,
                    &|p: &mut Params| {
                        let placeholders: Vec<String> =
                            list.iter().map(|id| p.bind(text(id.clone()))).collect();
                        format!("r.id IN ({})", placeholders.join(", "))
                    },
                    "",
                )?
            } else {
                Vec::new()
            };
            let found: BTreeSet<String> = rows.iter().map(|r| r.id.clone()).collect();
            for row in rows {
                if let Some(into) = related.as_deref_mut() {
                    self.related_candidates(def, &row, into);
                }
                if let Some(entry) = self.entry(entity, row, false) {
                    out.push(entry);
                }
            }
            let missing: Vec<&String> = chunk.iter().filter(|id| !found.contains(*id)).collect();
            if missing.is_empty() {
                continue;
            }
            let mut p = Params::new(self.conn.dialect());
            let device = p.bind(text(self.device));
            let placeholders: Vec<String> = missing
                .iter()
                .map(|id| p.bind(text((*id).clone())))
                .collect();
            let sql = format!(
                "SELECT record_id FROM device_record WHERE device_id = {device} AND entity = {} \
                 AND record_id IN ({})",
                literal(entity)?,
                placeholders.join(", ")
            );
            for row in self.conn.query(&sql, &p.values)? {
                out.push(Entry {
                    entity: entity.to_owned(),
                    id: string(&row[0])?,
                    upsert: None,
                });
            }
        }
        Ok(())
    }
}

/// Forgets what a device holds and any page waiting for its acknowledgement — but for
/// `keep_pushed`, what it created itself and pushed (`push::held_from_push`, version
/// `-1`): a device that never pulled yet still holds those, and the sweep must refresh
/// them or remove them.
fn forget_device(conn: &mut dyn Conn, device: &str, keep_pushed: bool) -> anyhow::Result<()> {
    conn.execute(
        "DELETE FROM device_record WHERE device_id = $1 AND ($2 = 0 OR version <> -1)",
        &[text(device), int_param(i64::from(keep_pushed))],
    )?;
    drop_pending(conn, device)
}

/// Drops the pages waiting for the device's acknowledgement.
fn drop_pending(conn: &mut dyn Conn, device: &str) -> anyhow::Result<()> {
    conn.execute(
        "DELETE FROM device_page WHERE device_id = $1",
        &[text(device)],
    )?;
    Ok(())
}

/// Makes the waiting pages up to page `token` what the device holds, one page after the
/// other; with `drop_later`, drops any page after it (the device did not store it),
/// else keeps it waiting.
fn commit_pages(
    conn: &mut dyn Conn,
    device: &str,
    token: i64,
    drop_later: bool,
) -> anyhow::Result<()> {
    let tokens: Vec<i64> = conn
        .query(
            "SELECT DISTINCT token FROM device_page WHERE device_id = $1 AND token <= $2 ORDER BY token",
            &[text(device), int_param(token)],
        )?
        .iter()
        .map(|row| int(&row[0]))
        .collect::<anyhow::Result<_>>()?;
    for page in tokens {
        // Driven from the page (small), each row found by the primary key: never a scan
        // of everything the device holds.
        conn.execute(
            "DELETE FROM device_record WHERE (device_id, entity, record_id) IN \
             (SELECT device_id, entity, record_id FROM device_page WHERE device_id = $1 \
             AND token = $2 AND version IS NULL)",
            &[text(device), int_param(page)],
        )?;
        conn.execute(
            "INSERT INTO device_record (device_id, entity, record_id, version, reason, refs) \
             SELECT device_id, entity, record_id, version, reason, refs FROM device_page \
             WHERE device_id = $1 AND token = $2 AND version IS NOT NULL \
             ON CONFLICT (device_id, entity, record_id) DO UPDATE SET version = excluded.version, \
             reason = excluded.reason, refs = excluded.refs",
            &[text(device), int_param(page)],
        )?;
    }
    if drop_later {
        return drop_pending(conn, device);
    }
    conn.execute(
        "DELETE FROM device_page WHERE device_id = $1 AND token <= $2",
        &[text(device), int_param(token)],
    )?;
    Ok(())
}

fn store_page(
    conn: &mut dyn Conn,
    device: &str,
    token: i64,
    entries: &[Entry],
) -> anyhow::Result<()> {
    // After the lines of a page still waiting (one asked for ahead).
    let first = int(&conn.query_value(
        "SELECT coalesce(max(seq) + 1, 0) FROM device_page WHERE device_id = $1",
        &[text(device)],
    )?)?;
    for (chunk_no, chunk) in entries.chunks(400).enumerate() {
        let mut params = Vec::with_capacity(chunk.len() * 8);
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            let base = params.len();
            rows.push(format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                base + 1,
                base + 2,
                base + 3,
                base + 4,
                base + 5,
                base + 6,
                base + 7,
                base + 8
            ));
            params.push(text(device));
            params.push(int_param(first + i64::try_from(chunk_no * 400 + i)?));
            params.push(int_param(token));
            params.push(text(e.entity.clone()));
            params.push(text(e.id.clone()));
            match &e.upsert {
                Some(u) => {
                    params.push(int_param(u.version));
                    params.push(text(u.reason.clone()));
                    params.push(text(u.refs.clone()));
                }
                None => params.extend([SqlParam::Null, SqlParam::Null, SqlParam::Null]),
            }
        }
        conn.execute(
            &format!(
                "INSERT INTO device_page (device_id, seq, token, entity, record_id, version, reason, refs) VALUES {}",
                rows.join(", ")
            ),
            &params,
        )?;
    }
    Ok(())
}

/// The pages a device was sent and has not acknowledged: at most two, when it asked for
/// one ahead (ADR 0016).
struct Waiting {
    /// The last page acknowledged.
    acked: i64,
    /// The older waiting page and the state after it (0: none).
    mid: i64,
    mid_state: Option<DeviceState>,
    /// The newest page sent and the state after it (`issued > acked` when one waits).
    issued: i64,
    issued_state: Option<DeviceState>,
}

/// The answer to a request for a page ahead that the server will not compute now.
fn ahead_refused(org: &Org, caller_access: String) -> PullResponse {
    PullResponse {
        metadata_version: org.metadata.version,
        access_key: caller_access,
        ahead_refused: true,
        ..PullResponse::default()
    }
}

/// The next pull page for the caller's device.
///
/// # Errors
/// A database failure, or a stored filter that no longer checks.
#[allow(clippy::too_many_lines)] // one protocol step after the other, in order
pub fn pull(
    conn: &mut dyn Conn,
    org: &Org,
    caller: &Caller,
    req: PullRequest,
    now: time::OffsetDateTime,
) -> anyhow::Result<PullResponse> {
    let device_key = caller.device_key();
    let device = device_key.as_str();
    // The device's row, made on its first pull, stamped with this pull, read back.
    let row = conn
        .query_opt(
            "INSERT INTO device (device_id, user_id, state, last_pull_on) VALUES ($1, $2, '{}', $3) \
             ON CONFLICT (device_id) DO UPDATE SET last_pull_on = excluded.last_pull_on \
             RETURNING state, acked, issued, pending, mid, mid_pending",
            &[
                text(device),
                text(&caller.user_id),
                text(outpost_domain::value::format_datetime(now)),
            ],
        )?
        .context("the device row is gone")?;
    let parse = |p: &SqlParam| -> anyhow::Result<Option<DeviceState>> {
        opt_string(p)?
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(Into::into)
    };
    let mut state: DeviceState = serde_json::from_str(&string(&row[0])?).unwrap_or_default();
    let waiting = Waiting {
        acked: int(&row[1])?,
        issued: int(&row[2])?,
        issued_state: parse(&row[3])?,
        mid: int(&row[4])?,
        mid_state: parse(&row[5])?,
    };
    let checkpoint = i64::try_from(req.checkpoint).context("checkpoint out of range")?;
    let mut acked = waiting.acked;
    let issued = waiting.issued;
    let mid_waits = waiting.mid > acked && waiting.mid < issued;
    // The page asked for ahead comes after the newest page sent, which the device is
    // storing now; it is computed from the state after that page, and both wait.
    let mut ahead_of: Option<(i64, DeviceState)> = None;
    if let Some(ahead) = req.ahead {
        let ahead = i64::try_from(ahead).context("ahead out of range")?;
        // Only on top of a page of a sweep (a delta needs every page before it held),
        // only the newest page sent, with every page before it stored, and with nothing
        // asked to be sent again.
        let base = waiting
            .issued_state
            .clone()
            .filter(|s| s.sweep.is_some())
            .filter(|_| ahead == issued && issued > acked)
            .filter(|_| checkpoint == acked && !mid_waits || checkpoint == waiting.mid && mid_waits)
            .filter(|_| req.resend_entities().next().is_none());
        let Some(base) = base else {
            let principal = org.principal(&caller.user_id)?;
            return Ok(ahead_refused(
                org,
                crate::org::access_key(&org.user_access(&principal, &caller.user_id, now)),
            ));
        };
        if mid_waits {
            // The device stored the older page: it is held now, the newest still waits.
            commit_pages(conn, device, waiting.mid, false)?;
            acked = waiting.mid;
            state = waiting.mid_state.clone().unwrap_or(state);
        }
        ahead_of = Some((issued, base));
    }
    // The device row is one user's device (`Caller::device_key`), so what it holds is
    // always that user's.
    let mut reset = false;
    if ahead_of.is_some() {
        // Handled above.
    } else if checkpoint != 0 && checkpoint == issued && issued > acked {
        commit_pages(conn, device, issued, true)?;
        acked = issued;
        state = waiting.issued_state.clone().unwrap_or(state);
    } else if checkpoint != 0 && mid_waits && checkpoint == waiting.mid {
        // The device stored the older page, not the newest: the newest is computed again.
        commit_pages(conn, device, waiting.mid, true)?;
        acked = waiting.mid;
        state = waiting.mid_state.clone().unwrap_or(state);
    } else if checkpoint != 0 && checkpoint == acked {
        drop_pending(conn, device)?;
    } else {
        // A device's first pull (checkpoint 0) comes with no reset: what it made offline
        // and pushed before it is its own to keep only while in scope (found by the
        // simulation: a record made offline out of the profile's filter stayed forever).
        forget_device(conn, device, checkpoint == 0)?;
        state = DeviceState::default();
        reset = checkpoint != 0;
    }
    // What the device holds now (or, ahead, after the page it is storing); the page
    // computed below waits on top of it.
    let held_state = state.clone();
    if let Some((_, base)) = &ahead_of {
        state = base.clone();
    }
    let next_token = acked.max(issued) + 1;
    let base_state = serde_json::to_string(&held_state)?;
    let profile: Option<&StoredProfile> = org.profile_for(&caller.user_id);
    let published = profile.and_then(|p| p.published.as_ref().map(|d| (p, d)));
    let Some((profile, def)) = published.filter(|_| org.settings.provisioned) else {
        forget_device(conn, device, false)?;
        conn.execute(
            "UPDATE device SET state = '{}', acked = 0, issued = 0, pending = NULL, mid = 0, \
             mid_pending = NULL WHERE device_id = $1",
            &[text(device)],
        )?;
        return Ok(PullResponse {
            wipe: true,
            metadata_version: org.metadata.version,
            ..PullResponse::default()
        });
    };
    let principal = org.principal(&caller.user_id)?;
    let plan = ScopePlan::new(org, &principal, def, now);
    let day = if plan.uses_relative_dates() {
        now.date().to_string()
    } else {
        String::new()
    };
    let scope_key = format!(
        "{}:{}:{}:{day}",
        org.config_version, profile.id, profile.version
    );
    let limit = usize::try_from(req.limit)?;
    let cur = conn.current_version()?;
    let mut pager = Pager {
        org,
        plan,
        device,
        user_id: &caller.user_id,
        conn,
    };
    let withheld = withheld_fields(org, &principal, def);
    let asked: BTreeSet<&str> = req.resend_entities().collect();
    let redacted: BTreeSet<String> = withheld
        .iter()
        // What the user may read changed since the device last swept the entity, or the
        // device forgot values on its own (it saw an access this state never did).
        .filter(|(entity, fields)| {
            state.withheld.get(*entity) != Some(*fields) || asked.contains(entity.as_str())
        })
        // A re-introduced bug (the simulation's mutants): nothing is resent redacted.
        .filter(|_| {
            !outpost_domain::mutant::active(outpost_domain::mutant::Mutant::FieldSecurityStale)
        })
        .map(|(entity, _)| entity.clone())
        .collect();
    if let Some((ahead, base)) = &ahead_of
        && (state.scope_key != scope_key || !redacted.is_empty())
    {
        // What the device must hold changed under the sweep: the page it is storing
        // stays waiting; once stored, it asks again and the sweep starts over.
        pager.conn.execute(
            "UPDATE device SET state = $1, acked = $2, issued = $3, pending = $4, mid = 0, \
             mid_pending = NULL WHERE device_id = $5",
            &[
                text(base_state),
                int_param(acked),
                int_param(*ahead),
                text(serde_json::to_string(base)?),
                text(device),
            ],
        )?;
        return Ok(ahead_refused(
            org,
            crate::org::access_key(&org.user_access(&principal, &caller.user_id, now)),
        ));
    }
    if state.scope_key != scope_key || !redacted.is_empty() {
        // A sweep cut short still owes its entities their resend.
        let mut resend = state.sweep.take().map(|s| s.resend).unwrap_or_default();
        resend.extend(redacted);
        state.scope_key = scope_key;
        state.withheld = withheld;
        state.sweep = Some(Sweep {
            entity: 0,
            after: String::new(),
            removing: false,
            hw: cur,
            total: pager.count_in_scope()?,
            sent: 0,
            resend,
        });
    }
    let mut entries = Vec::new();
    let (has_more, remaining) = match state.sweep.take() {
        Some(mut sweep) => {
            let done = pager.sweep(&mut sweep, limit, &mut entries)?;
            let remaining = sweep.total.saturating_sub(sweep.sent);
            if done {
                state.hw = sweep.hw;
            } else {
                state.sweep = Some(sweep);
            }
            (!done, if done { 0 } else { remaining })
        }
        None => {
            let (hw, more) = pager.delta(state.hw, cur, limit, &mut entries)?;
            state.hw = hw;
            (more, 0)
        }
    };
    // One line per record: the last word on it wins.
    let mut seen = BTreeSet::new();
    let mut entries: Vec<Entry> = entries
        .into_iter()
        .rev()
        .filter(|e| seen.insert((e.entity.clone(), e.id.clone())))
        .collect();
    entries.reverse();
    let conn = pager.conn;
    let (resolutions, errors_hw) = crate::push::resolutions_since(conn, caller, state.errors_hw)?;
    state.errors_hw = errors_hw;
    let state_json = serde_json::to_string(&state)?;
    let token = if let Some((ahead, base)) = &ahead_of {
        // Two pages wait: the one the device is storing, and this one.
        store_page(conn, device, next_token, &entries)?;
        conn.execute(
            "UPDATE device SET state = $1, acked = $2, mid = $3, mid_pending = $4, issued = $5, \
             pending = $6 WHERE device_id = $7",
            &[
                text(base_state),
                int_param(acked),
                int_param(*ahead),
                text(serde_json::to_string(base)?),
                int_param(next_token),
                text(state_json),
                text(device),
            ],
        )?;
        next_token
    } else if entries.is_empty() && resolutions.is_empty() && acked != 0 {
        conn.execute(
            "UPDATE device SET state = $1, acked = $2, issued = $2, pending = NULL, mid = 0, \
             mid_pending = NULL WHERE device_id = $3",
            &[text(state_json), int_param(acked), text(device)],
        )?;
        acked
    } else {
        store_page(conn, device, next_token, &entries)?;
        conn.execute(
            "UPDATE device SET state = $1, acked = $2, issued = $3, pending = $4, mid = 0, \
             mid_pending = NULL WHERE device_id = $5",
            &[
                text(base_state),
                int_param(acked),
                int_param(next_token),
                text(state_json),
                text(device),
            ],
        )?;
        next_token
    };
    let mut records = Vec::new();
    let mut removed = Vec::new();
    for e in entries {
        match e.upsert {
            Some(mut u) => {
                let def = org.metadata.entity(&e.entity)?;
                principal.redact(def, &mut u.fields);
                records.push(RecordPayload {
                    entity: e.entity,
                    id: e.id,
                    row_version: u64::try_from(u.version)?,
                    fields: u.fields,
                    reason: u.reason,
                });
            }
            None => removed.push(RecordRef {
                entity: e.entity,
                id: e.id,
            }),
        }
    }
    Ok(PullResponse {
        records,
        removed,
        checkpoint: u64::try_from(token)?,
        has_more,
        metadata_version: org.metadata.version,
        profile_version: profile.version,
        profile_id: profile.id.clone(),
        access_key: crate::org::access_key(&org.user_access(&principal, &caller.user_id, now)),
        reset,
        wipe: false,
        remaining,
        resolutions,
        unavailable: unavailable(org, def),
        ahead_refused: false,
    })
}

/// Per entity of the profile, the fields field security withholds from the user now.
fn withheld_fields(
    org: &Org,
    principal: &Principal,
    profile: &ProfileDef,
) -> BTreeMap<String, BTreeSet<String>> {
    profile
        .items
        .iter()
        .filter_map(|item| org.metadata.entity(&item.entity).ok())
        .map(|def| {
            let withheld = principal
                .secured_fields(def)
                .into_iter()
                .filter(|(_, permission)| !permission.read)
                .map(|(name, _)| name)
                .collect();
            (def.name.clone(), withheld)
        })
        .collect()
}

/// The profile's entities the org does not take offline now (C14: red on the device).
fn unavailable(org: &Org, profile: &ProfileDef) -> Vec<EntityProblem> {
    profile
        .items
        .iter()
        .filter(|item| !org.offline.get(&item.entity).is_some_and(|o| o.enabled))
        .map(|item| EntityProblem {
            entity: item.entity.clone(),
            message: format!(
                "Your administrator has switched offline off for {}.",
                org.metadata
                    .entity(&item.entity)
                    .map_or(item.entity.as_str(), |d| d.plural.as_str())
                    .to_lowercase()
            ),
        })
        .collect()
}
