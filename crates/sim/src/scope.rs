//! What each user's device must hold once the run healed (S10), worked out in memory
//! from every live record on the server, with no SQL of the server's scope: the user may
//! read it (`Principal::can`), the org's entity filter and the profile item admit it
//! (`CheckedFilter::matches`), or the user follows it, or a relationship rule brings it
//! from a record in scope by its own filter or follow (one level).

use std::collections::{BTreeMap, BTreeSet};

use outpost_domain::Fields;
use outpost_domain::metadata::Ownership;
use outpost_domain::query::parse_filter;
use outpost_domain::security::{Privilege, RecordFacts};
use outpost_protocol::admin::{ItemData, ProfileDef};
use outpost_server::db::{entity_table, string};
use outpost_server::org::Org;
use outpost_server::records::{read_row, select_columns};

/// The server as it is: the org, every live record (entity → id → fields) and every
/// follow (user id, entity, record id).
pub struct ServerState {
    pub org: Org,
    pub records: BTreeMap<String, BTreeMap<String, Fields>>,
    pub follows: BTreeSet<(String, String, String)>,
}

/// Reads the server's state in one transaction.
pub async fn read(db: &outpost_server::Db) -> anyhow::Result<ServerState> {
    db.tx(|c| {
        let org = Org::load(c)?;
        let mut records = BTreeMap::new();
        for def in &org.metadata.entities {
            let sql = format!(
                "SELECT {} FROM {} r WHERE r._deleted = 0",
                select_columns(def),
                entity_table(&def.name)
            );
            let mut rows = BTreeMap::new();
            for row in c.query(&sql, &[])? {
                let (id, fields, _) = read_row(def, &row, 0)?;
                rows.insert(id, fields);
            }
            records.insert(def.name.clone(), rows);
        }
        let mut follows = BTreeSet::new();
        for row in c.query(
            "SELECT user_id, entity, record_id FROM follow WHERE following = 1",
            &[],
        )? {
            follows.insert((string(&row[0])?, string(&row[1])?, string(&row[2])?));
        }
        Ok(ServerState {
            org,
            records,
            follows,
        })
    })
    .await
}

/// What `user_id`'s device must hold: (entity, id) → reason. Empty when the user has no
/// published profile or offline is off.
pub fn expected(
    state: &ServerState,
    user_id: &str,
    now: time::OffsetDateTime,
) -> anyhow::Result<BTreeMap<(String, String), String>> {
    let org = &state.org;
    let mut out = BTreeMap::new();
    let Some(def) = org
        .profile_for(user_id)
        .and_then(|p| p.published.clone())
        .filter(|_| org.settings.provisioned)
    else {
        return Ok(out);
    };
    let principal = org.principal(user_id)?;
    let ctx = org.eval_context(&principal, now);
    let me = format!("systemuser:{user_id}");
    let my_bu = format!("businessunit:{}", principal.business_unit());
    let mut team_owners: BTreeSet<String> = BTreeSet::new();
    for team in principal.teams() {
        team_owners.insert(format!("team:{team}"));
        if let Some(t) = org.security.teams.get(team) {
            team_owners.extend(t.members.iter().map(|m| format!("systemuser:{m}")));
        }
    }
    let matches = |entity: &str, text: &str, id: &str, fields: &Fields| -> bool {
        if text.trim().is_empty() {
            return true;
        }
        org.metadata.entity(entity).ok().is_some_and(|def| {
            parse_filter(text)
                .and_then(|f| f.check(def))
                .is_ok_and(|f| f.matches(id, fields, &ctx))
        })
    };
    let readable = |entity: &str, fields: &Fields| {
        org.metadata.entity(entity).ok().is_some_and(|def| {
            principal.can(def, Privilege::Read, &RecordFacts::from_fields(fields))
        })
    };
    let entity_filter = |entity: &str, id: &str, fields: &Fields| match org.offline.get(entity) {
        Some(o) if o.enabled => o
            .filter
            .as_deref()
            .is_some_and(|t| matches(entity, t, id, fields)),
        _ => false,
    };
    let primary = |entity: &str, id: &str, fields: &Fields| -> bool {
        let Some(item) = def.items.iter().find(|i| i.entity == entity) else {
            return false;
        };
        match &item.data {
            ItemData::RelatedOnly => false,
            ItemData::All => true,
            ItemData::Other {
                mine,
                my_team,
                my_business_unit,
                custom,
            } => {
                let owned = org
                    .metadata
                    .entity(entity)
                    .is_ok_and(|d| d.ownership == Ownership::User);
                let owner = fields.get("ownerid").cloned().flatten().unwrap_or_default();
                let unit = fields
                    .get("owningbusinessunit")
                    .cloned()
                    .flatten()
                    .unwrap_or_default();
                let any = !(*mine || *my_team || *my_business_unit);
                let ownership = !owned
                    || any
                    || (*mine && owner == me)
                    || (*my_team && team_owners.contains(&owner))
                    || (*my_business_unit && unit == my_bu);
                ownership
                    && custom
                        .as_deref()
                        .is_none_or(|t| matches(entity, t, id, fields))
            }
        }
    };
    let in_profile = |entity: &str| def.items.iter().any(|i| i.entity == entity);
    let follows = |entity: &str, id: &str| {
        state
            .follows
            .contains(&(user_id.to_owned(), entity.to_owned(), id.to_owned()))
    };
    // In scope by its own filter or a follow: what a relationship rule starts from.
    let base = |entity: &str, id: &str, fields: &Fields| {
        readable(entity, fields)
            && ((entity_filter(entity, id, fields) && primary(entity, id, fields))
                || (in_profile(entity) && follows(entity, id)))
    };
    for (entity, rows) in &state.records {
        if !in_profile(entity) {
            continue;
        }
        for (id, fields) in rows {
            if !readable(entity, fields) {
                continue;
            }
            let reason = if entity_filter(entity, id, fields) && primary(entity, id, fields) {
                Some("profile".to_owned())
            } else if follows(entity, id) {
                Some("follow".to_owned())
            } else if !entity_filter(entity, id, fields) {
                None
            } else {
                related(&def, state, entity, id, fields, &base)
            };
            if let Some(reason) = reason {
                out.insert((entity.clone(), id.clone()), reason);
            }
        }
    }
    Ok(out)
}

/// The first relationship rule (in profile order) that brings the record.
fn related(
    def: &ProfileDef,
    state: &ServerState,
    entity: &str,
    id: &str,
    fields: &Fields,
    base: &dyn Fn(&str, &str, &Fields) -> bool,
) -> Option<String> {
    let targets = |e: &str, attr: &str| {
        state
            .org
            .metadata
            .entity(e)
            .ok()
            .and_then(|d| d.attributes.iter().find(|a| a.name == attr).cloned())
            .and_then(|a| match a.kind {
                outpost_domain::AttributeKind::Lookup { targets } => Some(targets),
                _ => None,
            })
            .unwrap_or_default()
    };
    let empty = BTreeMap::new();
    for item in &def.items {
        for rule in item.relationships.iter().filter(|r| r.entity == entity) {
            let source = item.entity.as_str();
            let sources = state.records.get(source).unwrap_or(&empty);
            let brought = if targets(entity, &rule.attribute).iter().any(|t| t == source) {
                // Children: this record points at a source record in scope.
                fields
                    .get(&rule.attribute)
                    .cloned()
                    .flatten()
                    .and_then(|v| v.strip_prefix(&format!("{source}:")).map(str::to_owned))
                    .and_then(|sid| sources.get(&sid).map(|f| (sid, f)))
                    .is_some_and(|(sid, f)| base(source, &sid, f))
            } else if targets(source, &rule.attribute).iter().any(|t| t == entity) {
                // Parents: a source record in scope points at this record.
                let me = format!("{entity}:{id}");
                sources.iter().any(|(sid, f)| {
                    f.get(&rule.attribute).cloned().flatten().as_deref() == Some(me.as_str())
                        && base(source, sid, f)
                })
            } else {
                false
            };
            if brought {
                return Some(format!("related:{source}.{}", rule.attribute));
            }
        }
    }
    None
}
