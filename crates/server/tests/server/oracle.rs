//! An in-memory model of S10 that shares no SQL with the server: every live record read
//! back from the database, then security (`Principal::can`), the entity filter and the
//! profile item (`CheckedFilter::matches`), follows and relationship rules evaluated in
//! Rust. What a device holds after a pull must equal it.

use std::collections::{BTreeMap, BTreeSet};

use outpost_domain::Fields;
use outpost_domain::metadata::Ownership;
use outpost_domain::query::parse_filter;
use outpost_domain::security::{Privilege, RecordFacts};
use outpost_protocol::admin::ItemData;
use outpost_server::db::{entity_table, string, text};
use outpost_server::org::Org;
use outpost_server::records::{read_row, select_columns};

use crate::Harness;

/// Every live record, by entity then id.
pub(crate) async fn all_records(h: &Harness) -> BTreeMap<String, BTreeMap<String, Fields>> {
    h.db.tx(|conn| {
        let org = Org::load(conn)?;
        let mut out = BTreeMap::new();
        for def in &org.metadata.entities {
            let sql = format!(
                "SELECT {} FROM {} r WHERE r._deleted = 0",
                select_columns(def),
                entity_table(&def.name)
            );
            let mut rows = BTreeMap::new();
            for row in conn.query(&sql, &[])? {
                let (id, fields, _) = read_row(def, &row, 0)?;
                rows.insert(id, fields);
            }
            out.insert(def.name.clone(), rows);
        }
        Ok(out)
    })
    .await
    .expect("records read back")
}

/// The user's follows: (entity, id).
async fn follows(h: &Harness, user_id: &str) -> BTreeSet<(String, String)> {
    let user = user_id.to_owned();
    h.db.tx(move |conn| {
        conn.query(
            "SELECT entity, record_id FROM follow WHERE user_id = $1 AND following = 1",
            &[text(&user)],
        )?
        .iter()
        .map(|r| Ok((string(&r[0])?, string(&r[1])?)))
        .collect()
    })
    .await
    .expect("follows read back")
}

/// What the user's device must hold: (entity, id) → reason. Empty when the user has no
/// published profile or offline is off.
pub(crate) async fn expected_scope(
    h: &Harness,
    username: &str,
) -> BTreeMap<(String, String), String> {
    let org = h.db.tx(Org::load).await.expect("org loads");
    let user_id = crate::user_id(h, username);
    let records = all_records(h).await;
    let followed = follows(h, &user_id).await;
    let mut out = BTreeMap::new();
    let Some(def) = org
        .profile_for(&user_id)
        .and_then(|p| p.published.clone())
        .filter(|_| org.settings.provisioned)
    else {
        return out;
    };
    let principal = org.principal(&user_id).expect("principal");
    let ctx = org.eval_context(&principal, outpost_server::now());
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
        let def = org.metadata.entity(entity).expect("entity");
        parse_filter(text)
            .and_then(|f| f.check(def))
            .expect("filter checks")
            .matches(id, fields, &ctx)
    };
    let readable = |entity: &str, fields: &Fields| {
        let def = org.metadata.entity(entity).expect("entity");
        principal.can(def, Privilege::Read, &RecordFacts::from_fields(fields))
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
                let owned =
                    org.metadata.entity(entity).expect("entity").ownership == Ownership::User;
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
    let follows = |entity: &str, id: &str| followed.contains(&(entity.to_owned(), id.to_owned()));
    // In scope by its own filter or a follow: what a relationship rule starts from.
    let base = |entity: &str, id: &str, fields: &Fields| {
        readable(entity, fields)
            && ((entity_filter(entity, id, fields) && primary(entity, id, fields))
                || (in_profile(entity) && follows(entity, id)))
    };
    for (entity, rows) in &records {
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
                related_reason(&def, &org, &records, entity, id, fields, &base)
            };
            if let Some(reason) = reason {
                out.insert((entity.clone(), id.clone()), reason);
            }
        }
    }
    out
}

/// The first relationship rule (in profile order) that brings the record.
fn related_reason(
    def: &outpost_protocol::admin::ProfileDef,
    org: &Org,
    records: &BTreeMap<String, BTreeMap<String, Fields>>,
    entity: &str,
    id: &str,
    fields: &Fields,
    base: &dyn Fn(&str, &str, &Fields) -> bool,
) -> Option<String> {
    for item in &def.items {
        for rule in item.relationships.iter().filter(|r| r.entity == entity) {
            let source = item.entity.as_str();
            let targets = |e: &str, attr: &str| {
                org.metadata
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
            let sources = records.get(source).unwrap_or(&empty);
            let brought = if targets(entity, &rule.attribute).iter().any(|t| t == source) {
                // Children: this record points at a source record in scope.
                fields
                    .get(&rule.attribute)
                    .cloned()
                    .flatten()
                    .and_then(|v| v.strip_prefix(&format!("{source}:")).map(str::to_owned))
                    .and_then(|sid| sources.get(&sid).map(|f| (sid, f)))
                    .is_some_and(|(sid, f)| base(source, &sid, f))
            } else {
                // Parents: a source record in scope points at this record.
                let me = format!("{entity}:{id}");
                sources.iter().any(|(sid, f)| {
                    f.get(&rule.attribute).cloned().flatten().as_deref() == Some(me.as_str())
                        && base(source, sid, f)
                })
            };
            if brought {
                return Some(format!("related:{source}.{}", rule.attribute));
            }
        }
    }
    None
}

/// Asserts that the device holds exactly the expected scope, with the reasons, and no
/// secured field the user may not read.
pub(crate) async fn assert_holds_scope(
    h: &Harness,
    username: &str,
    device: &crate::Device,
    context: &str,
) {
    let expected = expected_scope(h, username).await;
    let held: BTreeMap<(String, String), String> = device
        .held
        .iter()
        .map(|(k, (_, reason, _))| (k.clone(), reason.clone()))
        .collect();
    let extra: Vec<_> = held.keys().filter(|k| !expected.contains_key(*k)).collect();
    let missing: Vec<_> = expected.keys().filter(|k| !held.contains_key(*k)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{context}: the device of {username} holds {} records, the model says {}; \
         extra {extra:?}, missing {missing:?}",
        held.len(),
        expected.len()
    );
    assert_eq!(held, expected, "{context}: every record's reason");
    let org = h.db.tx(Org::load).await.expect("org loads");
    let principal = org
        .principal(&crate::user_id(h, username))
        .expect("principal");
    for ((entity, id), (_, _, fields)) in &device.held {
        let def = org.metadata.entity(entity).expect("entity");
        for name in fields.keys() {
            assert!(
                principal.field_access(def, name).read,
                "{context}: {entity} {id} carries the secured field {name}"
            );
        }
    }
}

/// Ids of `entity` records `username` may (`true`) or may not (`false`) read.
pub(crate) async fn readable_ids(
    h: &Harness,
    username: &str,
    entity: &str,
    may: bool,
) -> Vec<String> {
    let org = h.db.tx(Org::load).await.expect("org loads");
    let principal = org
        .principal(&crate::user_id(h, username))
        .expect("principal");
    let def = org.metadata.entity(entity).expect("entity").clone();
    all_records(h)
        .await
        .remove(entity)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, f)| principal.can(&def, Privilege::Read, &RecordFacts::from_fields(f)) == may)
        .map(|(id, _)| id)
        .collect()
}
