//! What a device holds (S10), as SQL: for each entity, an expression that is the reason a
//! record is in the user's scope (B3) — `profile`, `follow` or `related:<entity>.<attr>` —
//! or null when it is not.
//!
//! In scope = the user may read it (S2/S3, [`Principal::scope`]) ∧ the org's entity filter
//! admits it (S7) ∧ (the profile item's filter admits it ∨ a relationship rule brings it
//! from a record that is in scope by its own item filter) — or, for an entity of the
//! profile, the user follows it (S11; a follow goes past the filters, never past
//! security). Relationship rules reach one level: a record brought by a rule brings
//! nothing further (a rule's source is a record in scope by its own filter or follow).
//!
//! Every value is a bound parameter; entity and attribute names come from the metadata.

use outpost_domain::metadata::{AttributeKind, EntityDef, Ownership};
use outpost_domain::query::{CheckedFilter, Dialect, EvalContext, SqlParam, parse_filter};
use outpost_domain::security::{Principal, Privilege};
use outpost_protocol::admin::{ItemData, ProfileDef, ProfileItem, RelationshipRule};

use crate::org::Org;

/// Parameters collected while SQL is written, numbered in order.
pub struct Params {
    dialect: Dialect,
    /// The values, first placeholder first.
    pub values: Vec<SqlParam>,
}

impl Params {
    /// An empty list for the engine.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            values: Vec::new(),
        }
    }

    /// Binds a value; its placeholder.
    pub fn bind(&mut self, value: SqlParam) -> String {
        self.values.push(value);
        self.dialect.placeholder(self.values.len())
    }

    fn next(&self) -> usize {
        self.values.len() + 1
    }

    /// Binds a checked filter's parameters; its SQL over the columns of `alias`.
    pub fn filter(&mut self, filter: &CheckedFilter, alias: &str, ctx: &EvalContext) -> String {
        let col = |name: &str| column(alias, name);
        let fragment = filter.to_sql(self.dialect, &col, ctx, self.next());
        self.values.extend(fragment.params);
        format!("({})", fragment.sql)
    }

    /// Binds the parameters of what `principal` may read of `def`; its SQL over the
    /// owner columns of `alias`.
    pub fn read_scope(&mut self, principal: &Principal, def: &EntityDef, alias: &str) -> String {
        let (sql, values) = principal.scope(def, Privilege::Read).to_sql(
            self.dialect,
            &format!("{alias}.ownerid"),
            &format!("{alias}.owningbusinessunit"),
            self.next(),
        );
        self.values.extend(values.into_iter().map(SqlParam::Text));
        sql
    }
}

/// How a relationship rule links the item's entity `X` and the rule's entity `Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `Y.attribute` points at `X`: the rule brings `X`'s children.
    Children,
    /// `X.attribute` points at `Y`: the rule brings `X`'s parents.
    Parents,
}

fn lookup_targets(def: &EntityDef, attribute: &str) -> Vec<String> {
    def.attributes
        .iter()
        .find(|a| a.name == attribute)
        .and_then(|a| match &a.kind {
            AttributeKind::Lookup { targets } => Some(targets.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Which way a rule of item `x` links to `rule.entity`, if it links at all.
pub fn direction(org: &Org, x: &str, rule: &RelationshipRule) -> Option<Direction> {
    let md = &org.metadata;
    let y_def = md.entity(&rule.entity).ok()?;
    let x_def = md.entity(x).ok()?;
    if lookup_targets(y_def, &rule.attribute)
        .iter()
        .any(|t| t == x)
    {
        Some(Direction::Children)
    } else if lookup_targets(x_def, &rule.attribute).contains(&rule.entity) {
        Some(Direction::Parents)
    } else {
        None
    }
}

/// A name as an SQL string literal (`'account'`); see [`safe`].
///
/// # Errors
/// When it is not a plain name.
pub fn literal(name: &str) -> anyhow::Result<String> {
    Ok(format!("'{}'", safe(name)?))
}

/// A name safe to put in SQL text as it is (metadata names are `[a-z0-9_]`).
fn safe(name: &str) -> anyhow::Result<&str> {
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "`{name}` is not a plain name"
    );
    Ok(name)
}

fn column(alias: &str, name: &str) -> String {
    format!("{alias}.\"{name}\"")
}

/// One user's scope under one published profile.
pub struct ScopePlan<'a> {
    org: &'a Org,
    principal: &'a Principal,
    eval: EvalContext,
    profile: &'a ProfileDef,
}

impl<'a> ScopePlan<'a> {
    /// The plan for `principal` under `profile` at `now`.
    pub fn new(
        org: &'a Org,
        principal: &'a Principal,
        profile: &'a ProfileDef,
        now: time::OffsetDateTime,
    ) -> Self {
        Self {
            org,
            principal,
            eval: org.eval_context(principal, now),
            profile,
        }
    }

    /// The profile's item for an entity.
    pub fn item(&self, entity: &str) -> Option<&'a ProfileItem> {
        self.profile.items.iter().find(|i| i.entity == entity)
    }

    /// The rules that bring records of `entity`: (source item entity, rule, direction).
    pub fn rules_into(&self, entity: &str) -> Vec<(&'a str, &'a RelationshipRule, Direction)> {
        self.profile
            .items
            .iter()
            .flat_map(|item| {
                item.relationships
                    .iter()
                    .filter(move |r| r.entity == entity)
                    .filter_map(move |r| {
                        direction(self.org, &item.entity, r).map(|d| (item.entity.as_str(), r, d))
                    })
            })
            .collect()
    }

    /// The rules of `entity`'s own item: (rule, direction).
    pub fn rules_from(&self, entity: &str) -> Vec<(&'a RelationshipRule, Direction)> {
        self.item(entity)
            .map(|item| {
                item.relationships
                    .iter()
                    .filter_map(|r| direction(self.org, entity, r).map(|d| (r, d)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn security(&self, p: &mut Params, def: &EntityDef, alias: &str) -> String {
        p.read_scope(self.principal, def, alias)
    }

    fn filter(
        &self,
        p: &mut Params,
        def: &EntityDef,
        alias: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        if text.trim().is_empty() {
            return Ok("1 = 1".to_owned());
        }
        let checked = parse_filter(text)
            .and_then(|f| f.check(def))
            .map_err(|e| anyhow::anyhow!("filter of {}: {e}", def.name))?;
        Ok(p.filter(&checked, alias, &self.eval))
    }

    fn entity_filter(
        &self,
        p: &mut Params,
        def: &EntityDef,
        alias: &str,
    ) -> anyhow::Result<String> {
        match self.org.offline.get(&def.name) {
            Some(o) if o.enabled => match &o.filter {
                Some(text) => self.filter(p, def, alias, text),
                None => Ok("1 = 0".to_owned()),
            },
            _ => Ok("1 = 0".to_owned()),
        }
    }

    fn ownership(&self, p: &mut Params, alias: &str, mine: bool, team: bool, bu: bool) -> String {
        let mut terms = Vec::new();
        let owner = column(alias, "ownerid");
        if mine {
            let me = p.bind(SqlParam::Text(format!(
                "systemuser:{}",
                self.principal.user_id()
            )));
            terms.push(format!("{owner} = {me}"));
        }
        if team {
            let mut owners: Vec<String> = Vec::new();
            for team_id in self.principal.teams() {
                owners.push(format!("team:{team_id}"));
                if let Some(t) = self.org.security.teams.get(team_id) {
                    owners.extend(t.members.iter().map(|m| format!("systemuser:{m}")));
                }
            }
            owners.sort();
            owners.dedup();
            if owners.is_empty() {
                terms.push("1 = 0".to_owned());
            } else {
                let list: Vec<String> = owners
                    .into_iter()
                    .map(|o| p.bind(SqlParam::Text(o)))
                    .collect();
                terms.push(format!("{owner} IN ({})", list.join(", ")));
            }
        }
        if bu {
            let unit = p.bind(SqlParam::Text(format!(
                "businessunit:{}",
                self.principal.business_unit()
            )));
            terms.push(format!("{} = {unit}", column(alias, "owningbusinessunit")));
        }
        if terms.is_empty() {
            "1 = 1".to_owned()
        } else {
            format!("({})", terms.join(" OR "))
        }
    }

    /// The item's own filter (no follows, no rules).
    fn primary(&self, p: &mut Params, def: &EntityDef, alias: &str) -> anyhow::Result<String> {
        let Some(item) = self.item(&def.name) else {
            return Ok("1 = 0".to_owned());
        };
        Ok(match &item.data {
            ItemData::RelatedOnly => "1 = 0".to_owned(),
            ItemData::All => "1 = 1".to_owned(),
            ItemData::Other {
                mine,
                my_team,
                my_business_unit,
                custom,
            } => {
                let owned = def.ownership == Ownership::User;
                let ownership = if owned {
                    self.ownership(p, alias, *mine, *my_team, *my_business_unit)
                } else {
                    "1 = 1".to_owned()
                };
                let custom = match custom {
                    Some(text) => self.filter(p, def, alias, text)?,
                    None => "1 = 1".to_owned(),
                };
                format!("({ownership} AND {custom})")
            }
        })
    }

    fn follow(&self, p: &mut Params, def: &EntityDef, alias: &str) -> anyhow::Result<String> {
        let user = p.bind(SqlParam::Text(self.principal.user_id().to_owned()));
        Ok(format!(
            "EXISTS (SELECT 1 FROM follow f WHERE f.user_id = {user} AND f.entity = '{}' \
             AND f.record_id = {alias}.id AND f.following = 1)",
            safe(&def.name)?
        ))
    }

    /// In scope by its own filter or a follow (what a rule's source must be).
    fn base(&self, p: &mut Params, def: &EntityDef, alias: &str) -> anyhow::Result<String> {
        let security = self.security(p, def, alias);
        let efilter = self.entity_filter(p, def, alias)?;
        let primary = self.primary(p, def, alias)?;
        let follow = self.follow(p, def, alias)?;
        Ok(format!(
            "({alias}._deleted = 0 AND {security} AND (({efilter} AND {primary}) OR {follow}))"
        ))
    }

    /// The reason expression of a record of `def` aliased `alias`: `profile`, `follow`,
    /// `related:<entity>.<attribute>`, or null when it is out of scope.
    ///
    /// # Errors
    /// A stored filter that no longer checks against the metadata.
    pub fn reason(&self, p: &mut Params, def: &EntityDef, alias: &str) -> anyhow::Result<String> {
        if self.item(&def.name).is_none() {
            return Ok("CAST(NULL AS TEXT)".to_owned());
        }
        let security = self.security(p, def, alias);
        let efilter = self.entity_filter(p, def, alias)?;
        let primary = self.primary(p, def, alias)?;
        let follow = self.follow(p, def, alias)?;
        let mut whens = vec![
            format!("WHEN {efilter} AND {primary} THEN 'profile'"),
            format!("WHEN {follow} THEN 'follow'"),
        ];
        for (source, rule, dir) in self.rules_into(&def.name) {
            let source_def = self.org.metadata.entity(source)?;
            let s = format!("s_{}", safe(source)?);
            let base = self.base(p, source_def, &s)?;
            let attr = safe(&rule.attribute)?;
            let link = match dir {
                // r (child) points at s (the item's record).
                Direction::Children => {
                    let prefix = format!("{}:", safe(source)?);
                    format!(
                        "{s}.id = substr({}, {}) AND substr({}, 1, {}) = '{prefix}'",
                        column(alias, attr),
                        prefix.len() + 1,
                        column(alias, attr),
                        prefix.len()
                    )
                }
                // s (the item's record) points at r (its parent).
                Direction::Parents => format!(
                    "{} = '{}:' || {alias}.id",
                    column(&s, attr),
                    safe(&def.name)?
                ),
            };
            let efilter = self.entity_filter(p, def, alias)?;
            whens.push(format!(
                "WHEN {efilter} AND EXISTS (SELECT 1 FROM {} {s} WHERE {link} AND {base}) \
                 THEN 'related:{source}.{attr}'",
                crate::db::entity_table(source)
            ));
        }
        Ok(format!(
            "CASE WHEN {alias}._deleted = 0 AND {security} THEN CASE {} END END",
            whens.join(" ")
        ))
    }

    /// Whether any filter of the plan depends on the date (then the scope is swept again
    /// each day, so records age out of a date window).
    pub fn uses_relative_dates(&self) -> bool {
        let texts = self
            .org
            .offline
            .values()
            .filter_map(|o| o.filter.clone())
            .chain(self.profile.items.iter().filter_map(|i| match &i.data {
                ItemData::Other { custom, .. } => custom.clone(),
                _ => None,
            }));
        texts.into_iter().any(|t| {
            ["last-x-days", "next-x-days", "older-x-days", "today"]
                .iter()
                .any(|k| t.contains(k))
        })
    }
}
