//! One user's security, precomputed from the org facts ([`Principal`]): record checks
//! (`can`), their compilation into a query predicate (`scope`), and field security
//! (`field_access`, `redact`, `check_fields`). The rules are in the parent module's doc.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::org::{FieldPermission, OrgSecurity, Team};
use super::scope::Scope;
use super::{Depth, Privilege, SecurityError, TEAM_ENTITY, USER_ENTITY};
use crate::metadata::{EntityDef, Ownership};
use crate::value::{EntityRef, Fields};

/// The facts about one record that record checks need; the server reads them from the
/// record's row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordFacts {
    /// The owner: `systemuser:id` or `team:id` (anything for organization-owned records).
    pub owner: EntityRef,
    /// The owning business unit (the owner's business unit when the record was assigned).
    pub owning_business_unit: String,
}

impl RecordFacts {
    /// The facts as a record's fields hold them: `ownerid` (`systemuser:id` / `team:id`)
    /// and `owningbusinessunit` (`businessunit:id`). A record without them (an
    /// organization-owned one) gets an empty owner and unit.
    pub fn from_fields(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).cloned().flatten();
        let owner = text("ownerid")
            .and_then(|o| {
                o.split_once(':').map(|(entity, id)| EntityRef {
                    entity: entity.to_owned(),
                    id: id.to_owned(),
                })
            })
            .unwrap_or_else(|| EntityRef {
                entity: String::new(),
                id: String::new(),
            });
        let owning_business_unit = text("owningbusinessunit")
            .and_then(|b| b.strip_prefix("businessunit:").map(str::to_owned))
            .unwrap_or_default();
        Self {
            owner,
            owning_business_unit,
        }
    }
}

/// What is being done with a field, for field security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldAction {
    /// Reading its value.
    Read,
    /// Setting it on a new record.
    Create,
    /// Changing it on an existing record.
    Update,
}

/// One user's security, computed once by [`OrgSecurity::principal`]; cheap to query.
/// The server sends the user's own principal to their device (`UserAccess::principal`),
/// so the device decides what it offers and queues with this same code — one rule in one
/// place — and needs no other security facts of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    user_id: String,
    business_unit: String,
    /// The user's business unit and every one below it (Deep depth).
    business_unit_subtree: BTreeSet<String>,
    /// Teams the user is a member of.
    teams: BTreeSet<String>,
    /// Entity → privilege → the highest depth over the user's and teams' roles.
    depths: BTreeMap<String, BTreeMap<Privilege, Depth>>,
    /// Reports within the hierarchy depth → level (1 = direct); empty when hierarchy
    /// security is off.
    report_levels: BTreeMap<String, u8>,
    /// Teams with a report as member → the smallest such report's level.
    report_team_levels: BTreeMap<String, u8>,
    managers_can_write: bool,
    /// Entity → attribute → the union of the user's and teams' profiles.
    field_permissions: BTreeMap<String, BTreeMap<String, FieldPermission>>,
}

impl Principal {
    /// A principal from the facts a device had before servers sent theirs: the user's
    /// depths, teams, unit and field permissions, with no unit below theirs and no
    /// reports (so deeper depths and the manager hierarchy grant nothing here).
    pub fn from_depths(
        user_id: &str,
        business_unit: &str,
        teams: impl IntoIterator<Item = String>,
        depths: BTreeMap<String, BTreeMap<Privilege, Depth>>,
        field_permissions: BTreeMap<String, BTreeMap<String, FieldPermission>>,
    ) -> Self {
        Self {
            user_id: user_id.to_owned(),
            business_unit: business_unit.to_owned(),
            business_unit_subtree: BTreeSet::from([business_unit.to_owned()]),
            teams: teams.into_iter().collect(),
            depths,
            report_levels: BTreeMap::new(),
            report_team_levels: BTreeMap::new(),
            managers_can_write: false,
            field_permissions,
        }
    }

    pub(super) fn compute(org: &OrgSecurity, user_id: &str) -> Result<Self, SecurityError> {
        let user = org
            .users
            .get(user_id)
            .ok_or_else(|| SecurityError::UnknownUser {
                user: user_id.to_owned(),
            })?;
        if !org.business_units.contains(&user.business_unit) {
            return Err(SecurityError::UnknownBusinessUnit {
                business_unit: user.business_unit.clone(),
            });
        }
        let my_teams: Vec<(&String, &Team)> = org
            .teams
            .iter()
            .filter(|(_, team)| team.members.contains(user_id))
            .collect();

        let mut depths: BTreeMap<String, BTreeMap<Privilege, Depth>> = BTreeMap::new();
        let mut field_permissions: BTreeMap<String, BTreeMap<String, FieldPermission>> =
            BTreeMap::new();
        let role_ids = user
            .roles
            .iter()
            .chain(my_teams.iter().flat_map(|(_, team)| &team.roles));
        for role_id in role_ids {
            let role = org
                .roles
                .get(role_id)
                .ok_or_else(|| SecurityError::UnknownRole {
                    role: role_id.clone(),
                })?;
            for (entity, by_privilege) in &role.privileges {
                let mine = depths.entry(entity.clone()).or_default();
                for (privilege, depth) in by_privilege {
                    let slot = mine.entry(*privilege).or_default();
                    *slot = (*slot).max(*depth);
                }
            }
        }
        let profile_ids = user
            .field_profiles
            .iter()
            .chain(my_teams.iter().flat_map(|(_, team)| &team.field_profiles));
        for profile_id in profile_ids {
            let profile = org.field_profiles.get(profile_id).ok_or_else(|| {
                SecurityError::UnknownProfile {
                    profile: profile_id.clone(),
                }
            })?;
            for (entity, by_attribute) in &profile.permissions {
                let mine = field_permissions.entry(entity.clone()).or_default();
                for (attribute, permission) in by_attribute {
                    let slot = mine.entry(attribute.clone()).or_default();
                    *slot = slot.union(*permission);
                }
            }
        }

        let mut business_unit_subtree: BTreeSet<String> = org
            .business_units
            .descendants(&user.business_unit)
            .into_iter()
            .map(str::to_owned)
            .collect();
        business_unit_subtree.insert(user.business_unit.clone());

        let report_levels = if org.hierarchy.enabled {
            reports_of(org, user_id, org.hierarchy.depth)
        } else {
            BTreeMap::new()
        };
        let mut report_team_levels: BTreeMap<String, u8> = BTreeMap::new();
        for (team_id, team) in &org.teams {
            if let Some(level) = team
                .members
                .iter()
                .filter_map(|member| report_levels.get(member))
                .min()
            {
                report_team_levels.insert(team_id.clone(), *level);
            }
        }

        Ok(Self {
            user_id: user_id.to_owned(),
            business_unit: user.business_unit.clone(),
            business_unit_subtree,
            teams: my_teams.iter().map(|(id, _)| (*id).clone()).collect(),
            depths,
            report_levels,
            report_team_levels,
            managers_can_write: org.hierarchy.managers_can_write,
            field_permissions,
        })
    }

    /// The user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The user's business unit.
    pub fn business_unit(&self) -> &str {
        &self.business_unit
    }

    /// Ids of the teams the user is a member of.
    pub fn teams(&self) -> &BTreeSet<String> {
        &self.teams
    }

    /// The reports hierarchy security covers, by user id, with their level below the
    /// user (1 = direct report); empty when hierarchy security is off.
    pub fn reports(&self) -> &BTreeMap<String, u8> {
        &self.report_levels
    }

    /// The user's effective depth for `privilege` on `entity`: the highest over their
    /// roles and their teams' roles; on an organization-owned entity anything below
    /// Organization is None.
    pub fn depth(&self, entity: &EntityDef, privilege: Privilege) -> Depth {
        let depth = self
            .depths
            .get(&entity.name)
            .and_then(|by_privilege| by_privilege.get(&privilege))
            .copied()
            .unwrap_or_default();
        match entity.ownership {
            Ownership::Organization if depth < Depth::Organization => Depth::None,
            _ => depth,
        }
    }

    /// Whether the user may exercise `privilege` on the record.
    pub fn can(&self, entity: &EntityDef, privilege: Privilege, record: &RecordFacts) -> bool {
        let depth = self.depth(entity, privilege);
        if entity.ownership == Ownership::Organization {
            return depth == Depth::Organization;
        }
        let by_role = match depth {
            Depth::None => false,
            Depth::User => self.owns(&record.owner),
            Depth::BusinessUnit => {
                self.owns(&record.owner) || record.owning_business_unit == self.business_unit
            }
            Depth::ParentChild => {
                self.owns(&record.owner)
                    || self
                        .business_unit_subtree
                        .contains(&record.owning_business_unit)
            }
            Depth::Organization => true,
        };
        by_role || self.hierarchy_allows(entity, privilege, &record.owner)
    }

    /// [`Principal::can`] as a result, for callers that report the refusal.
    ///
    /// # Errors
    /// [`SecurityError::Denied`] when the user lacks the privilege on the record.
    pub fn require(
        &self,
        entity: &EntityDef,
        privilege: Privilege,
        record: &RecordFacts,
    ) -> Result<(), SecurityError> {
        if self.can(entity, privilege, record) {
            Ok(())
        } else {
            Err(SecurityError::Denied {
                entity: entity.name.clone(),
                privilege,
            })
        }
    }

    /// Whether the user may create a record of `entity` that `owner` owns in
    /// `owning_business_unit`: Create is checked against the record as it would be
    /// (hierarchy security never grants Create).
    pub fn can_create(
        &self,
        entity: &EntityDef,
        owner: &EntityRef,
        owning_business_unit: &str,
    ) -> bool {
        self.can(
            entity,
            Privilege::Create,
            &RecordFacts {
                owner: owner.clone(),
                owning_business_unit: owning_business_unit.to_owned(),
            },
        )
    }

    /// Whether the user may attach `child` (of `child_entity`, the record whose lookup
    /// points) to `parent` (of `parent_entity`): Append on the child and AppendTo on the
    /// parent.
    pub fn can_append(
        &self,
        child_entity: &EntityDef,
        child: &RecordFacts,
        parent_entity: &EntityDef,
        parent: &RecordFacts,
    ) -> bool {
        self.can(child_entity, Privilege::Append, child)
            && self.can(parent_entity, Privilege::AppendTo, parent)
    }

    /// The records of `entity` on which the user has `privilege`, as a predicate over
    /// owner and owning business unit that [`Scope::to_sql`] turns into SQL. For every
    /// record `r`, `scope(e, p).matches(r) == can(e, p, r)`.
    pub fn scope(&self, entity: &EntityDef, privilege: Privilege) -> Scope {
        let depth = self.depth(entity, privilege);
        if entity.ownership == Ownership::Organization || depth == Depth::Organization {
            return if depth == Depth::Organization {
                Scope::All
            } else {
                Scope::Nothing
            };
        }
        let mut owners = BTreeSet::new();
        let mut business_units = BTreeSet::new();
        if depth >= Depth::User {
            owners.insert(owner_text(USER_ENTITY, &self.user_id));
            owners.extend(self.teams.iter().map(|t| owner_text(TEAM_ENTITY, t)));
        }
        match depth {
            Depth::BusinessUnit => {
                business_units.insert(self.business_unit.clone());
            }
            Depth::ParentChild => business_units.extend(self.business_unit_subtree.clone()),
            _ => {}
        }
        if self.hierarchy_applies(entity) {
            let covered = |level: u8| self.hierarchy_level_allows(privilege, level);
            owners.extend(
                self.report_levels
                    .iter()
                    .filter(|(_, level)| covered(**level))
                    .map(|(id, _)| owner_text(USER_ENTITY, id)),
            );
            owners.extend(
                self.report_team_levels
                    .iter()
                    .filter(|(_, level)| covered(**level))
                    .map(|(id, _)| owner_text(TEAM_ENTITY, id)),
            );
        }
        Scope::limited(owners, business_units)
    }

    /// What field security allows on `entity.attribute`: everything for an attribute
    /// that is not secured (or not in the metadata, which validation refuses anyway);
    /// for a secured one, the union of the user's and teams' profiles.
    pub fn field_access(&self, entity: &EntityDef, attribute: &str) -> FieldPermission {
        let secured = entity
            .attributes
            .iter()
            .any(|a| a.name == attribute && a.secured);
        if !secured {
            return FieldPermission::ALL;
        }
        self.field_permissions
            .get(&entity.name)
            .and_then(|by_attribute| by_attribute.get(attribute))
            .copied()
            .unwrap_or(FieldPermission::NONE)
    }

    /// The permissions on every secured attribute of `entity`, by name: what the device
    /// needs to hide unreadable fields and make unwritable ones read-only (B4).
    pub fn secured_fields(&self, entity: &EntityDef) -> BTreeMap<String, FieldPermission> {
        entity
            .attributes
            .iter()
            .filter(|a| a.secured)
            .map(|a| (a.name.clone(), self.field_access(entity, &a.name)))
            .collect()
    }

    /// Removes from `fields` every secured field the user may not read, so that it
    /// never leaves the server (B4).
    pub fn redact(&self, entity: &EntityDef, fields: &mut Fields) {
        fields.retain(|name, _| self.field_access(entity, name).read);
    }

    /// The fields in `fields` that field security forbids for `action`, in name order.
    /// On create a null value counts as not setting the field, so it is never refused.
    pub fn fields_denied(
        &self,
        entity: &EntityDef,
        fields: &Fields,
        action: FieldAction,
    ) -> Vec<String> {
        fields
            .iter()
            .filter(|(name, value)| {
                let permission = self.field_access(entity, name);
                match action {
                    FieldAction::Read => !permission.read,
                    FieldAction::Create => value.is_some() && !permission.create,
                    FieldAction::Update => !permission.update,
                }
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// [`Principal::fields_denied`] as a result: may this create or update touch these
    /// fields?
    ///
    /// # Errors
    /// [`SecurityError::FieldsDenied`] naming every forbidden field.
    pub fn check_fields(
        &self,
        entity: &EntityDef,
        fields: &Fields,
        action: FieldAction,
    ) -> Result<(), SecurityError> {
        let denied = self.fields_denied(entity, fields, action);
        if denied.is_empty() {
            Ok(())
        } else {
            Err(SecurityError::FieldsDenied {
                entity: entity.name.clone(),
                action,
                fields: denied,
            })
        }
    }

    /// Whether `owner` is the user or one of the user's teams (User depth).
    fn owns(&self, owner: &EntityRef) -> bool {
        match owner.entity.as_str() {
            USER_ENTITY => owner.id == self.user_id,
            TEAM_ENTITY => self.teams.contains(&owner.id),
            _ => false,
        }
    }

    /// Hierarchy security needs at least User-depth Read on the entity (and an owner).
    fn hierarchy_applies(&self, entity: &EntityDef) -> bool {
        entity.ownership == Ownership::User && self.depth(entity, Privilege::Read) >= Depth::User
    }

    /// Read over every covered report; Write, Append, AppendTo over direct reports only
    /// and only when the org lets managers write.
    fn hierarchy_level_allows(&self, privilege: Privilege, level: u8) -> bool {
        privilege == Privilege::Read
            || (privilege.hierarchy_writable() && level == 1 && self.managers_can_write)
    }

    fn hierarchy_allows(
        &self,
        entity: &EntityDef,
        privilege: Privilege,
        owner: &EntityRef,
    ) -> bool {
        if !self.hierarchy_applies(entity) {
            return false;
        }
        let level = match owner.entity.as_str() {
            USER_ENTITY => self.report_levels.get(&owner.id),
            TEAM_ENTITY => self.report_team_levels.get(&owner.id),
            _ => None,
        };
        level.is_some_and(|level| self.hierarchy_level_allows(privilege, *level))
    }
}

/// The canonical owner text `entity:id`, as [`EntityRef`] displays it.
fn owner_text(entity: &str, id: &str) -> String {
    EntityRef {
        entity: entity.to_owned(),
        id: id.to_owned(),
    }
    .to_string()
}

/// The users below `manager` in the manager hierarchy, down to `depth` levels, each with
/// the level of its shortest chain (1 = direct report). Cycles in the manager links end
/// the walk instead of looping; the manager is never their own report.
fn reports_of(org: &OrgSecurity, manager: &str, depth: u8) -> BTreeMap<String, u8> {
    let mut direct: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, user) in &org.users {
        if let Some(boss) = &user.manager {
            direct.entry(boss.as_str()).or_default().push(id.as_str());
        }
    }
    let mut levels = BTreeMap::new();
    let mut frontier = vec![manager];
    for level in 1..=depth {
        let mut next = Vec::new();
        for boss in frontier {
            for report in direct.get(boss).into_iter().flatten() {
                if *report != manager && !levels.contains_key(*report) {
                    levels.insert((*report).to_owned(), level);
                    next.push(*report);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    levels
}
