//! Offline administration (S6–S9, S11): provisioning, per-entity offline settings and
//! filters, profiles (draft → validate → publish, with a dry run and a per-user budget),
//! assignment, org settings, the org's users and their devices ([`devices`]), recovery
//! files ([`recovery_open`]). The REST
//! routes and `outpost-server admin …` both call these functions, inside one transaction
//! each; every change bumps the config version, so every device's scope is recomputed at
//! its next pull.

mod devices;
mod recovery;

use std::collections::{BTreeMap, BTreeSet};

use outpost_domain::Metadata;
use outpost_domain::metadata::{AttributeKind, Ownership};
use outpost_domain::query::parse_filter;
use outpost_protocol::WireCode;
use outpost_protocol::admin::{
    AdminUser, Assignments, DryRun, DryRunUser, EntityOffline, ItemData, OrgSettings, ProfileDef,
    ProfileInfo, ProfileProblem, PublishResponse,
};

use crate::db::{Conn, entity_table, int, int_param, string, text};
use crate::org::{self, Org, bump_config, key, setting_set};
use crate::records::{column_count, read_row, select_columns};
use crate::scope::{Params, ScopePlan, direction};
use crate::{ApiError, new_id};

pub use devices::{device_revoke, devices};
pub use recovery::recovery_open;

fn problem(code: &str, entity: &str, message: impl Into<String>) -> ProfileProblem {
    ProfileProblem {
        code: code.to_owned(),
        entity: entity.to_owned(),
        message: message.into(),
    }
}

/// Everything that stops `def` from being published, in item order (empty: valid).
pub fn validate(org: &Org, def: &ProfileDef) -> Vec<ProfileProblem> {
    let mut problems = Vec::new();
    let enabled = |e: &str| org.offline.get(e).is_some_and(|o| o.enabled);
    let mut seen = BTreeSet::new();
    for item in &def.items {
        let e = item.entity.as_str();
        if !seen.insert(e) {
            problems.push(problem(
                "duplicate_item",
                e,
                format!("{e} is in the profile twice"),
            ));
        }
        let Ok(entity) = org.metadata.entity(e) else {
            problems.push(problem(
                "entity_not_enabled",
                e,
                format!("there is no entity {e}"),
            ));
            continue;
        };
        if !enabled(e) {
            problems.push(problem(
                "entity_not_enabled",
                e,
                format!("{e} is not enabled for offline"),
            ));
        }
        for attr in &entity.attributes {
            if let AttributeKind::Lookup { targets } = &attr.kind {
                for target in targets.iter().filter(|t| !enabled(t)) {
                    problems.push(problem(
                        "lookup_target_not_enabled",
                        e,
                        format!(
                            "{e}.{} points at {target}, which is not enabled for offline",
                            attr.name
                        ),
                    ));
                }
            }
        }
        if !(5..=1440).contains(&item.sync_interval_minutes) {
            problems.push(problem(
                "bad_interval",
                e,
                format!(
                    "sync interval {} is not 5 to 1440 minutes",
                    item.sync_interval_minutes
                ),
            ));
        }
        if let ItemData::Other {
            mine,
            my_team,
            my_business_unit,
            custom,
        } = &item.data
        {
            if entity.ownership == Ownership::Organization
                && (*mine || *my_team || *my_business_unit)
            {
                problems.push(problem(
                    "ownership_on_org_entity",
                    e,
                    format!("{e} is owned by the organization: it has no my/team/unit records"),
                ));
            }
            if let Some(text) = custom
                && let Err(err) = parse_filter(text).and_then(|f| f.check(entity))
            {
                problems.push(problem("bad_filter", e, format!("custom filter: {err}")));
            }
        }
        for rule in &item.relationships {
            if def.items.iter().all(|i| i.entity != rule.entity) {
                problems.push(problem(
                    "bad_relationship",
                    e,
                    format!("{} is not an item of the profile", rule.entity),
                ));
            } else if rule.entity == e || direction(org, e, rule).is_none() {
                problems.push(problem(
                    "bad_relationship",
                    e,
                    format!("{} does not link {e} and {}", rule.attribute, rule.entity),
                ));
            }
        }
    }
    // Rule graph: item → the entities its rules bring. A cycle is refused. Only entities
    // the metadata knows are nodes (an item or rule naming another is refused above), so
    // the graph is at most the org's entities, each once, whatever the body holds.
    let known = |e: &str| org.metadata.entity(e).is_ok();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in def.items.iter().filter(|i| known(&i.entity)) {
        edges.entry(i.entity.as_str()).or_default().extend(
            i.relationships
                .iter()
                .map(|r| r.entity.as_str())
                .filter(|e| known(e)),
        );
    }
    for start in edges.keys() {
        if let Some(cycle) = cycle_through(&edges, start) {
            problems.push(problem(
                "circular_relationship",
                start,
                format!(
                    "relationship rules go round in a circle: {}",
                    cycle.join(" → ")
                ),
            ));
        }
    }
    for item in def.items.iter().filter(|i| i.data == ItemData::RelatedOnly) {
        let reached = def
            .items
            .iter()
            .any(|i| i.relationships.iter().any(|r| r.entity == item.entity));
        if !reached {
            problems.push(problem(
                "unreachable_item",
                &item.entity,
                format!(
                    "{} takes related records only, but no rule brings any",
                    item.entity
                ),
            ));
        }
    }
    problems
}

/// The shortest way round from `start` back to itself along `edges` (`[start, …,
/// start]`), if any. Breadth first, each entity visited once: following every path
/// instead takes factorial time when rules link many items to each other.
fn cycle_through<'a>(
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for &next in edges.get(at).into_iter().flatten() {
            if next == start {
                let mut path = vec![start, at];
                let mut node = at;
                while let Some(&before) = came_from.get(node) {
                    path.push(before);
                    node = before;
                }
                // Walked back from `at` to `start`: the way round, backwards.
                path.reverse();
                return Some(path);
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

fn profile_info(org: &Org, id: &str) -> Result<ProfileInfo, ApiError> {
    let p = org
        .profiles
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("no profile {id}")))?;
    let mut users = Vec::new();
    let mut teams = Vec::new();
    for (principal, profile) in &org.assignments {
        if profile != id {
            continue;
        }
        if let Some(u) = principal.strip_prefix("systemuser:") {
            users.push(u.to_owned());
        } else if let Some(t) = principal.strip_prefix("team:") {
            teams.push(t.to_owned());
        }
    }
    Ok(ProfileInfo {
        id: p.id.clone(),
        draft: p.draft.clone(),
        published: p.published.clone(),
        version: p.version,
        unpublished_changes: p.published.as_ref() != Some(&p.draft),
        users,
        teams,
    })
}

/// Every profile.
///
/// # Errors
/// A database error.
pub fn profiles(conn: &mut dyn Conn) -> Result<Vec<ProfileInfo>, ApiError> {
    let org = Org::load(conn)?;
    org.profiles
        .keys()
        .map(|id| profile_info(&org, id))
        .collect()
}

/// One profile.
///
/// # Errors
/// Not found, or a database error.
pub fn profile(conn: &mut dyn Conn, id: &str) -> Result<ProfileInfo, ApiError> {
    profile_info(&Org::load(conn)?, id)
}

fn name_check(conn: &mut dyn Conn, def: &ProfileDef, id: &str) -> Result<(), ApiError> {
    if def.name.trim().is_empty() || def.name.len() > 100 {
        return Err(ApiError::invalid("a profile name is 1 to 100 characters"));
    }
    if conn
        .query_opt(
            "SELECT 1 FROM profile WHERE name = $1 AND id <> $2",
            &[text(&def.name), text(id)],
        )?
        .is_some()
    {
        return Err(ApiError::Conflict {
            code: WireCode::NameTaken,
            message: format!("a profile is already called {}", def.name),
        });
    }
    Ok(())
}

/// Creates a draft profile; its id.
///
/// # Errors
/// An invalid or taken name.
pub fn profile_create(
    conn: &mut dyn Conn,
    def: &ProfileDef,
    now: &str,
) -> Result<ProfileInfo, ApiError> {
    let id = new_id();
    name_check(conn, def, &id)?;
    conn.execute(
        "INSERT INTO profile (id, name, draft, version, modified_on) VALUES ($1, $2, $3, 0, $4)",
        &[
            text(&id),
            text(&def.name),
            text(serde_json::to_string(def).map_err(anyhow::Error::from)?),
            text(now),
        ],
    )?;
    bump_config(conn)?;
    profile(conn, &id)
}

/// Replaces a profile's draft (devices keep the published one until the next publish).
///
/// # Errors
/// Not found, an invalid or taken name.
pub fn profile_update(
    conn: &mut dyn Conn,
    id: &str,
    def: &ProfileDef,
    now: &str,
) -> Result<ProfileInfo, ApiError> {
    name_check(conn, def, id)?;
    let n = conn.execute(
        "UPDATE profile SET name = $1, draft = $2, modified_on = $3 WHERE id = $4",
        &[
            text(&def.name),
            text(serde_json::to_string(def).map_err(anyhow::Error::from)?),
            text(now),
            text(id),
        ],
    )?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("no profile {id}")));
    }
    bump_config(conn)?;
    profile(conn, id)
}

/// Deletes a profile and its assignments (their devices wipe at their next pull).
///
/// # Errors
/// Not found.
pub fn profile_delete(conn: &mut dyn Conn, id: &str) -> Result<(), ApiError> {
    conn.execute(
        "DELETE FROM profile_assignment WHERE profile_id = $1",
        &[text(id)],
    )?;
    if conn.execute("DELETE FROM profile WHERE id = $1", &[text(id)])? == 0 {
        return Err(ApiError::NotFound(format!("no profile {id}")));
    }
    bump_config(conn)?;
    Ok(())
}

/// The users a profile reaches: assigned directly, or through a team without a direct
/// assignment of their own.
fn reached_users(org: &Org, id: &str) -> Vec<String> {
    // Users are kept in id order, so the list is sorted.
    org.security
        .users
        .keys()
        .filter(|user_id| org.assigned_profile_id(user_id).map(String::as_str) == Some(id))
        .cloned()
        .collect()
}

/// What `def` would send each user it reaches (S9): records per entity and bytes.
///
/// # Errors
/// A database error, or a filter that does not check.
pub fn dry_run(
    conn: &mut dyn Conn,
    org: &Org,
    profile_id: &str,
    def: &ProfileDef,
    now: time::OffsetDateTime,
) -> Result<DryRun, ApiError> {
    let mut users = Vec::new();
    for user_id in reached_users(org, profile_id) {
        let principal = org.principal(&user_id)?;
        let plan = ScopePlan::new(org, &principal, def, now);
        let mut records = BTreeMap::new();
        let (mut total, mut bytes) = (0u64, 0u64);
        for entity in &org.metadata.entities {
            if plan.item(&entity.name).is_none() {
                continue;
            }
            let mut p = Params::new(conn.dialect());
            let reason = plan.reason(&mut p, entity, "r")?;
            let sql = format!(
                "SELECT * FROM (SELECT {}, {reason} AS why FROM {} r WHERE r._deleted = 0) q \
                 WHERE q.why IS NOT NULL",
                select_columns(entity),
                entity_table(&entity.name)
            );
            let rows = conn.query(&sql, &p.values)?;
            let mut n = 0u64;
            for row in &rows {
                let (id, mut fields, version) = read_row(entity, row, 0)?;
                principal.redact(entity, &mut fields);
                let why = string(&row[column_count(entity)])?;
                let payload = outpost_protocol::RecordPayload {
                    entity: entity.name.clone(),
                    id,
                    row_version: u64::try_from(version).unwrap_or_default(),
                    fields,
                    reason: why,
                };
                bytes += serde_json::to_vec(&payload)
                    .map_err(anyhow::Error::from)?
                    .len() as u64;
                n += 1;
            }
            total += n;
            records.insert(entity.name.clone(), n);
        }
        let username = conn
            .query_opt(
                "SELECT username FROM org_user WHERE id = $1",
                &[text(&user_id)],
            )?
            .map(|r| string(&r[0]))
            .transpose()?
            .unwrap_or_default();
        users.push(DryRunUser {
            user_id,
            username,
            records,
            total_records: total,
            bytes,
            over_budget: bytes > org.settings.budget_bytes,
        });
    }
    Ok(DryRun {
        budget_bytes: org.settings.budget_bytes,
        users,
    })
}

/// The problems of profile `id`'s draft (empty: valid), read in one load of the org.
///
/// # Errors
/// [`ApiError::NotFound`] for an unknown profile; a database error.
pub fn validate_draft(conn: &mut dyn Conn, id: &str) -> Result<Vec<ProfileProblem>, ApiError> {
    let org = Org::load(conn)?;
    Ok(validate(&org, &profile_info(&org, id)?.draft))
}

/// What profile `id`'s draft would send each user it reaches ([`dry_run`]), read in one
/// load of the org.
///
/// # Errors
/// As [`dry_run`], and [`ApiError::NotFound`] for an unknown profile.
pub fn dry_run_draft(
    conn: &mut dyn Conn,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<DryRun, ApiError> {
    let org = Org::load(conn)?;
    let draft = profile_info(&org, id)?.draft;
    dry_run(conn, &org, id, &draft, now)
}

/// Validates and publishes a profile's draft: refuses it when invalid, or when a user
/// would get more than the budget unless `force`. Bumps the profile version.
///
/// # Errors
/// Not found, invalid (with the problems), over budget.
pub fn publish(
    conn: &mut dyn Conn,
    id: &str,
    force: bool,
    now: time::OffsetDateTime,
) -> Result<PublishResponse, ApiError> {
    let org = Org::load(conn)?;
    let info = profile_info(&org, id)?;
    let problems = validate(&org, &info.draft);
    if !problems.is_empty() {
        return Err(ApiError::Invalid {
            code: WireCode::InvalidProfile,
            message: problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            fields: problems
                .into_iter()
                .map(|p| outpost_protocol::FieldError {
                    field: p.entity,
                    code: p.code,
                    message: p.message,
                })
                .collect(),
        });
    }
    let report = dry_run(conn, &org, id, &info.draft, now)?;
    let over: Vec<&str> = report
        .users
        .iter()
        .filter(|u| u.over_budget)
        .map(|u| u.username.as_str())
        .collect();
    if !over.is_empty() && !force {
        return Err(ApiError::Conflict {
            code: WireCode::OverBudget,
            message: format!(
                "{} would get more than {} bytes; publish with force to do it anyway",
                over.join(", "),
                report.budget_bytes
            ),
        });
    }
    let version = info.version + 1;
    conn.execute(
        "UPDATE profile SET published = draft, version = $1, modified_on = $2 WHERE id = $3",
        &[
            int_param(i64::try_from(version).map_err(anyhow::Error::from)?),
            text(outpost_domain::value::format_datetime(now)),
            text(id),
        ],
    )?;
    bump_config(conn)?;
    Ok(PublishResponse {
        version,
        dry_run: report,
    })
}

/// Replaces a profile's assignments. A user or team assigned to another profile moves
/// to this one (one profile per user or team).
///
/// # Errors
/// Not found, or an unknown user or team.
pub fn assign(conn: &mut dyn Conn, id: &str, to: &Assignments) -> Result<ProfileInfo, ApiError> {
    let org = Org::load(conn)?;
    profile_info(&org, id)?;
    for u in &to.users {
        if !org.security.users.contains_key(u) {
            return Err(ApiError::invalid(format!("no user {u}")));
        }
    }
    for t in &to.teams {
        if !org.security.teams.contains_key(t) {
            return Err(ApiError::invalid(format!("no team {t}")));
        }
    }
    conn.execute(
        "DELETE FROM profile_assignment WHERE profile_id = $1",
        &[text(id)],
    )?;
    let principals = to
        .users
        .iter()
        .map(|u| format!("systemuser:{u}"))
        .chain(to.teams.iter().map(|t| format!("team:{t}")));
    for principal in principals {
        conn.execute(
            "INSERT INTO profile_assignment (principal, profile_id) VALUES ($1, $2)
             ON CONFLICT (principal) DO UPDATE SET profile_id = excluded.profile_id",
            &[text(principal), text(id)],
        )?;
    }
    bump_config(conn)?;
    profile(conn, id)
}

/// Every entity's offline settings (entities never configured are listed disabled).
///
/// # Errors
/// A database error.
pub fn entities(conn: &mut dyn Conn) -> Result<Vec<EntityOffline>, ApiError> {
    let org = Org::load(conn)?;
    Ok(org
        .metadata
        .entities
        .iter()
        .map(|e| {
            org.offline.get(&e.name).cloned().unwrap_or(EntityOffline {
                entity: e.name.clone(),
                enabled: false,
                filter: None,
            })
        })
        .collect())
}

/// Replaces the org's metadata with a changed presentation of the same data: labels,
/// forms, views, quick-find columns, flows, the sitemap and app modules may change;
/// entities, attributes and their types may not (the stores of the server and every
/// device keep their tables). The version goes up by one, so devices see a metadata
/// update waiting (C16).
///
/// An attribute's `secured`, `updatable` and `requirement` may change here too, and count
/// as security changes: the server enforces the new ones on every read and write at once,
/// and a newly secured field is redacted from every record devices hold at their next
/// pull (see [`crate::pull`]).
///
/// # Errors
/// A changed entity or attribute, a view that does not check, or a name that does not
/// resolve ([`Metadata::dangling_references`]).
pub fn metadata_set(conn: &mut dyn Conn, mut next: Metadata) -> Result<Metadata, ApiError> {
    let org = Org::load(conn)?;
    let current = &org.metadata;
    metadata_check(current, &next)?;
    next.version = current.version + 1;
    setting_set(
        conn,
        key::METADATA,
        &serde_json::to_string(&next).map_err(anyhow::Error::from)?,
    )?;
    bump_config(conn)?;
    Ok(next)
}

/// Whether `next` may replace `current` ([`metadata_set`] without the write): the same
/// entities, attributes and attribute types, every name resolving, every view checking.
///
/// # Errors
/// The first of those that fails, as `bad_metadata`.
pub fn metadata_check(current: &Metadata, next: &Metadata) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::BadRequest {
        code: WireCode::BadMetadata,
        message,
    };
    let shape = |m: &Metadata| -> Vec<(String, Vec<(String, AttributeKind)>)> {
        m.entities
            .iter()
            .map(|e| {
                let mut attrs: Vec<(String, AttributeKind)> = e
                    .attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.kind.clone()))
                    .collect();
                attrs.sort_by(|a, b| a.0.cmp(&b.0));
                (e.name.clone(), attrs)
            })
            .collect()
    };
    if shape(current) != shape(next) {
        return Err(invalid(
            "entities, attributes and attribute types cannot change here; only labels, forms, views, quick find, flows, the sitemap and app modules".to_owned(),
        ));
    }
    let dangling = next.dangling_references();
    if !dangling.is_empty() {
        return Err(invalid(format!(
            "these names do not resolve: {}",
            dangling.join("; ")
        )));
    }
    for def in &next.entities {
        for view in &def.views {
            outpost_domain::query::Query::for_view(view)
                .and_then(|q| q.check(def))
                .map_err(|e| invalid(format!("view {} of {}: {e}", view.id, def.name)))?;
        }
    }
    Ok(())
}

/// Sets an entity's offline settings; the filter must check against the entity.
///
/// # Errors
/// Unknown entity, or a filter that does not parse or check (with its position).
pub fn entity_set(
    conn: &mut dyn Conn,
    entity: &str,
    settings: &EntityOffline,
) -> Result<EntityOffline, ApiError> {
    let org = Org::load(conn)?;
    let def = org
        .metadata
        .entity(entity)
        .map_err(|_| ApiError::NotFound(format!("no entity {entity}")))?;
    if let Some(text) = settings.filter.as_deref().filter(|t| !t.trim().is_empty()) {
        parse_filter(text)
            .and_then(|f| f.check(def))
            .map_err(|e| ApiError::BadRequest {
                code: WireCode::BadFilter,
                message: e.to_string(),
            })?;
    }
    conn.execute(
        "INSERT INTO offline_entity (entity, enabled, filter) VALUES ($1, $2, $3)
         ON CONFLICT (entity) DO UPDATE SET enabled = excluded.enabled, filter = excluded.filter",
        &[
            text(entity),
            int_param(i64::from(settings.enabled)),
            crate::db::opt_text(settings.filter.clone()),
        ],
    )?;
    bump_config(conn)?;
    Ok(EntityOffline {
        entity: entity.to_owned(),
        enabled: settings.enabled,
        filter: settings.filter.clone(),
    })
}

/// The org settings.
///
/// # Errors
/// A database error.
pub fn settings(conn: &mut dyn Conn) -> Result<OrgSettings, ApiError> {
    Ok(Org::load(conn)?.settings)
}

/// Replaces the org settings. Switching `provisioned` off wipes every device at its next
/// contact (S6).
///
/// # Errors
/// [`ApiError::BadRequest`] for a minimum app version that is not `major.minor.patch`; a
/// database error.
pub fn settings_set(conn: &mut dyn Conn, settings: &OrgSettings) -> Result<OrgSettings, ApiError> {
    let min = settings.min_app_version.trim();
    if !min.is_empty() && outpost_protocol::AppVersion::parse(min).is_none() {
        return Err(ApiError::invalid(format!(
            "min_app_version must be a version like 1.4.0, not {min:?}"
        )));
    }
    crate::releases::validate_key(&settings.update_public_key)?;
    setting_set(
        conn,
        key::SETTINGS,
        &serde_json::to_string(settings).map_err(anyhow::Error::from)?,
    )?;
    bump_config(conn)?;
    Ok(settings.clone())
}

/// Turns offline on or off for the org.
///
/// # Errors
/// A database error.
pub fn provision(conn: &mut dyn Conn, on: bool) -> Result<OrgSettings, ApiError> {
    let mut current = settings(conn)?;
    current.provisioned = on;
    settings_set(conn, &current)
}

/// The id of the user with this user name or id.
///
/// # Errors
/// Not found, or a database error.
pub fn user_id_of(conn: &mut dyn Conn, name_or_id: &str) -> Result<String, ApiError> {
    conn.query_opt(
        "SELECT id FROM org_user WHERE username = $1 OR id = $1",
        &[text(name_or_id)],
    )?
    .map(|row| string(&row[0]))
    .transpose()?
    .ok_or_else(|| ApiError::NotFound(format!("no user {name_or_id}")))
}

/// The org's users with their roles and teams.
///
/// # Errors
/// A database error.
pub fn users(conn: &mut dyn Conn) -> Result<Vec<AdminUser>, ApiError> {
    let org = Org::load(conn)?;
    let rows = conn.query(
        "SELECT id, username, display_name, is_admin FROM org_user ORDER BY username",
        &[],
    )?;
    rows.iter()
        .map(|row| {
            let id = string(&row[0])?;
            let user = org.security.users.get(&id).cloned().unwrap_or_default();
            Ok(AdminUser {
                teams: org
                    .security
                    .teams
                    .iter()
                    .filter(|(_, t)| t.members.contains(&id))
                    .map(|(t, _)| t.clone())
                    .collect(),
                id,
                username: string(&row[1])?,
                display_name: string(&row[2])?,
                business_unit: user.business_unit,
                manager: user.manager,
                roles: user.roles.into_iter().collect(),
                is_admin: int(&row[3])? != 0,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(ApiError::from)
}

/// The org's security facts (business units, teams, roles, field profiles, hierarchy).
///
/// # Errors
/// A database error.
pub fn security(conn: &mut dyn Conn) -> Result<serde_json::Value, ApiError> {
    let text = org::setting(conn, key::SECURITY)?.unwrap_or_else(|| "{}".to_owned());
    Ok(serde_json::from_str(&text).map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests;
