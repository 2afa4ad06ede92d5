//! The org's security facts (S1) as plain data: the business unit tree, users, teams,
//! security roles, field security profiles and the hierarchy setting. The server fills
//! an [`OrgSecurity`] from its tables; nothing here reads anything itself. Users, teams,
//! roles and profiles are keyed by id, so an id is never stored twice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::principal::Principal;
use super::{Depth, Privilege, SecurityError};

/// Business units and their parent links: a tree (or a forest), checked to have no
/// cycle and no dangling parent when built. It serializes as `{id: parent}` and is
/// checked again when read back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, Option<String>>",
    into = "BTreeMap<String, Option<String>>"
)]
pub struct BusinessUnitTree {
    parents: BTreeMap<String, Option<String>>,
    children: BTreeMap<String, BTreeSet<String>>,
}

impl TryFrom<BTreeMap<String, Option<String>>> for BusinessUnitTree {
    type Error = SecurityError;

    fn try_from(parents: BTreeMap<String, Option<String>>) -> Result<Self, Self::Error> {
        Self::new(parents)
    }
}

impl From<BusinessUnitTree> for BTreeMap<String, Option<String>> {
    fn from(tree: BusinessUnitTree) -> Self {
        tree.parents
    }
}

impl BusinessUnitTree {
    /// Builds the tree from `(id, parent)` pairs; a root has no parent. When an id is
    /// given twice, the last pair wins.
    ///
    /// # Errors
    /// [`SecurityError::UnknownBusinessUnit`] when a parent is not one of the ids;
    /// [`SecurityError::BusinessUnitCycle`] when a unit is its own ancestor.
    pub fn new<I, S>(units: I) -> Result<Self, SecurityError>
    where
        I: IntoIterator<Item = (S, Option<S>)>,
        S: Into<String>,
    {
        let parents: BTreeMap<String, Option<String>> = units
            .into_iter()
            .map(|(id, parent)| (id.into(), parent.map(Into::into)))
            .collect();
        let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, parent) in &parents {
            if let Some(parent) = parent {
                if !parents.contains_key(parent) {
                    return Err(SecurityError::UnknownBusinessUnit {
                        business_unit: parent.clone(),
                    });
                }
                children
                    .entry(parent.clone())
                    .or_default()
                    .insert(id.clone());
            }
        }
        for id in parents.keys() {
            // Walking up from any unit either reaches a root or revisits a unit on a cycle.
            let mut seen = BTreeSet::from([id.as_str()]);
            let mut current = parents.get(id).and_then(Option::as_deref);
            while let Some(unit) = current {
                if !seen.insert(unit) {
                    return Err(SecurityError::BusinessUnitCycle {
                        business_unit: unit.to_owned(),
                    });
                }
                current = parents.get(unit).and_then(Option::as_deref);
            }
        }
        Ok(Self { parents, children })
    }

    /// Whether `id` is a business unit of the tree.
    pub fn contains(&self, id: &str) -> bool {
        self.parents.contains_key(id)
    }

    /// The parent of `id`, or `None` for a root or an unknown id.
    pub fn parent(&self, id: &str) -> Option<&str> {
        self.parents.get(id).and_then(|p| p.as_deref())
    }

    /// The ancestors of `id`, nearest first, without `id` itself.
    pub fn ancestors(&self, id: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut current = self.parent(id);
        while let Some(unit) = current {
            out.push(unit);
            current = self.parent(unit);
        }
        out
    }

    /// Every business unit below `id` (children, grandchildren, …), without `id` itself.
    pub fn descendants(&self, id: &str) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(unit) = stack.pop() {
            for child in self.children.get(unit).into_iter().flatten() {
                if out.insert(child.as_str()) {
                    stack.push(child);
                }
            }
        }
        out
    }

    /// Whether `id` is `ancestor` or lies below it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.contains(id) && (id == ancestor || self.ancestors(id).contains(&ancestor))
    }
}

/// A user, as security sees one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The one business unit the user belongs to.
    pub business_unit: String,
    /// The user's manager (`systemuser.parentsystemuserid`), for hierarchy security.
    #[serde(default)]
    pub manager: Option<String>,
    /// Ids of the security roles assigned to the user.
    #[serde(default)]
    pub roles: BTreeSet<String>,
    /// Ids of the field security profiles assigned to the user.
    #[serde(default)]
    pub field_profiles: BTreeSet<String>,
}

/// An owner team: it can own records, and its roles and profiles reach its members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// The business unit the team belongs to.
    pub business_unit: String,
    /// Ids of the member users.
    #[serde(default)]
    pub members: BTreeSet<String>,
    /// Ids of the security roles assigned to the team (its members inherit them).
    #[serde(default)]
    pub roles: BTreeSet<String>,
    /// Ids of the field security profiles assigned to the team (its members get them).
    #[serde(default)]
    pub field_profiles: BTreeSet<String>,
}

/// A security role: per entity, a depth for each privilege; a privilege it does not
/// mention is [`Depth::None`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Entity logical name → privilege → depth.
    #[serde(default)]
    pub privileges: BTreeMap<String, BTreeMap<Privilege, Depth>>,
}

impl Role {
    /// The role, also granting `privilege` on `entity` at `depth` (replacing what it
    /// granted before for that pair).
    #[must_use]
    pub fn grant(mut self, entity: &str, privilege: Privilege, depth: Depth) -> Self {
        self.privileges
            .entry(entity.to_owned())
            .or_default()
            .insert(privilege, depth);
        self
    }
}

/// What a field security profile allows on one secured attribute (`fieldpermission`:
/// canread, cancreate, canupdate). The default allows nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPermission {
    /// The value may be read.
    pub read: bool,
    /// The value may be set when the record is created.
    pub create: bool,
    /// The value may be changed on an existing record.
    pub update: bool,
}

impl FieldPermission {
    /// Everything allowed: what a field that is not secured gets.
    pub const ALL: Self = Self {
        read: true,
        create: true,
        update: true,
    };
    /// Nothing allowed: a secured field with no profile that mentions it.
    pub const NONE: Self = Self {
        read: false,
        create: false,
        update: false,
    };

    /// What either permission allows (profiles are cumulative).
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self {
            read: self.read || other.read,
            create: self.create || other.create,
            update: self.update || other.update,
        }
    }
}

/// A field security profile: permissions on secured attributes. An attribute it does not
/// mention is not allowed by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSecurityProfile {
    /// Entity logical name → attribute name → permission.
    #[serde(default)]
    pub permissions: BTreeMap<String, BTreeMap<String, FieldPermission>>,
}

impl FieldSecurityProfile {
    /// The profile, also giving `permission` on `entity.attribute` (replacing any before).
    #[must_use]
    pub fn allow(mut self, entity: &str, attribute: &str, permission: FieldPermission) -> Self {
        self.permissions
            .entry(entity.to_owned())
            .or_default()
            .insert(attribute.to_owned(), permission);
        self
    }
}

/// The org's hierarchy security setting (manager hierarchy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchySettings {
    /// Whether hierarchy security is on (Dataverse: off by default).
    pub enabled: bool,
    /// How many levels below a manager are covered: 1 is direct reports only, 0 covers
    /// nobody (Dataverse `HierarchyLevelForHierarchyFeature`, 3 by default).
    pub depth: u8,
    /// Whether a manager may also write (Write, Append, AppendTo) to direct reports'
    /// records; deeper reports' records are always read-only.
    pub managers_can_write: bool,
}

impl Default for HierarchySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            depth: 3,
            managers_can_write: true,
        }
    }
}

/// Everything the server knows about an org's security, as supplied from its tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSecurity {
    /// The business unit tree.
    pub business_units: BusinessUnitTree,
    /// Users by id.
    pub users: BTreeMap<String, User>,
    /// Owner teams by id.
    pub teams: BTreeMap<String, Team>,
    /// Security roles by id.
    pub roles: BTreeMap<String, Role>,
    /// Field security profiles by id.
    pub field_profiles: BTreeMap<String, FieldSecurityProfile>,
    /// Hierarchy security.
    pub hierarchy: HierarchySettings,
}

impl OrgSecurity {
    /// Everything about one user that record and field checks need, computed once:
    /// effective depths per entity and privilege, business unit sets, teams, reports
    /// with their levels, and field permissions.
    ///
    /// # Errors
    /// [`SecurityError::UnknownUser`] for an unknown user;
    /// [`SecurityError::UnknownBusinessUnit`], [`SecurityError::UnknownRole`] or
    /// [`SecurityError::UnknownProfile`] when the user, or a team the user is a member
    /// of, names one that does not exist.
    pub fn principal(&self, user_id: &str) -> Result<Principal, SecurityError> {
        Principal::compute(self, user_id)
    }
}
