//! Security evaluation (S1–S3, B4): who may do what to which record, and which secured
//! fields they may see or set. The server supplies the facts from its tables (business
//! units, users, teams, roles, field security profiles, the hierarchy setting) as an
//! [`OrgSecurity`]; [`OrgSecurity::principal`] precomputes everything about one user into a
//! [`Principal`], which answers record checks ([`Principal::can`]), compiles the same rule
//! into a query predicate for scope queries ([`Principal::scope`], [`Scope::to_sql`]), and
//! applies field security ([`Principal::field_access`], [`Principal::redact`]).
//!
//! The rules follow the Dataverse security model (facts doc §5: *security-roles-privileges*,
//! *hierarchy-security*, *field-security-entities*, *fieldpermission*):
//!
//! - **Privileges** (S2): Create, Read, Write, Delete, Append, AppendTo, Assign, Share,
//!   each granted per entity by a role at a [`Depth`]: None, User (Basic), BusinessUnit
//!   (Local), ParentChild (Deep), Organization (Global). A higher depth implies every lower
//!   one. User depth covers records owned by the user or by a team the user is a member
//!   of; BusinessUnit covers records whose owning business unit is the user's; ParentChild
//!   adds every business unit below it; Organization covers every record.
//! - **Roles are cumulative** (S2): the user's depth for (entity, privilege) is the highest
//!   over the roles assigned to the user *and* the roles assigned to every team the user
//!   is a member of. Team roles follow Dataverse's "Direct User/Basic access level and
//!   Team privileges" inheritance: a member gets the role as if it were assigned to them,
//!   so its depths are measured from the *user's* business unit, not the team's. (The
//!   older "team privileges only" mode is not modelled.)
//! - **Organization-owned entities** only know Organization or None: any lower depth
//!   counts as None, since such records have no owner to compare with. Hierarchy security
//!   does not apply to them.
//! - **Hierarchy security** (S3, manager hierarchy): when enabled, a manager gets Read on
//!   records owned by reports down to `depth` levels below them (a direct report is level
//!   1), and, when `managers_can_write`, also Write, Append and AppendTo on records owned
//!   by *direct* reports. As in Dataverse, records owned by a team a report is a member
//!   of are covered at that report's level. It only applies when the manager has at least
//!   User-depth Read on the entity, and it never grants Create, Delete, Assign or Share.
//!   The "manager in the same or a parent business unit" rule is the server's to enforce
//!   when a manager is set; it is not re-checked here.
//! - **Field security** (B4): an attribute with `secured == true` may be read, set on
//!   create, or updated only if some field security profile assigned to the user, or to
//!   one of the user's teams, allows it (permissions are a union, like roles). Attributes
//!   that are not secured are never restricted by field security.
//!
//! Not modelled: sharing (record-level grants), access teams, position hierarchy.

mod authorize;
mod org;
mod principal;
mod scope;

use serde::{Deserialize, Serialize};

pub use authorize::{
    FieldReason, FieldRefusal, Known, RefusalKind, Refused, SecurityFacts, authorize, parse_ref,
};
pub use org::{
    BusinessUnitTree, FieldPermission, FieldSecurityProfile, HierarchySettings, OrgSecurity, Role,
    Team, User,
};
pub use principal::{FieldAction, Principal, RecordFacts};
pub use scope::Scope;

/// The entity name of a user owner (`systemuser:id`).
pub const USER_ENTITY: &str = "systemuser";
/// The entity name of a team owner (`team:id`).
pub const TEAM_ENTITY: &str = "team";

/// One of the eight record privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Create a record.
    Create,
    /// Read a record.
    Read,
    /// Change a record's fields.
    Write,
    /// Delete a record.
    Delete,
    /// Attach another record to this one (needed on the record that points).
    Append,
    /// Let other records be attached to this one (needed on the record pointed at).
    AppendTo,
    /// Give the record another owner.
    Assign,
    /// Share the record with another user or team.
    Share,
}

impl Privilege {
    /// All eight, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Create,
        Self::Read,
        Self::Write,
        Self::Delete,
        Self::Append,
        Self::AppendTo,
        Self::Assign,
        Self::Share,
    ];

    /// Whether hierarchy security can grant it to a manager over a direct report's
    /// records (when `managers_can_write`); Read is granted over every report in depth.
    fn hierarchy_writable(self) -> bool {
        matches!(self, Self::Write | Self::Append | Self::AppendTo)
    }
}

/// How far a privilege reaches. Ordered: a higher depth implies every lower one.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Depth {
    /// No access.
    #[default]
    None,
    /// Basic: records owned by the user or by a team the user is a member of.
    User,
    /// Local: records whose owning business unit is the user's.
    BusinessUnit,
    /// Deep: records of the user's business unit and every business unit below it.
    ParentChild,
    /// Global: every record.
    Organization,
}

impl Depth {
    /// All five, lowest first.
    pub const ALL: [Self; 5] = [
        Self::None,
        Self::User,
        Self::BusinessUnit,
        Self::ParentChild,
        Self::Organization,
    ];
}

/// What can go wrong when evaluating security. The first group means the org facts the
/// caller supplied are inconsistent; the last two are refusals a caller reports to the
/// user (a privilege error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// No such user.
    #[error("unknown user `{user}`")]
    UnknownUser {
        /// The user id.
        user: String,
    },
    /// A user, team or business unit names a business unit that does not exist.
    #[error("unknown business unit `{business_unit}`")]
    UnknownBusinessUnit {
        /// The business unit id.
        business_unit: String,
    },
    /// The business units' parent links form a cycle.
    #[error("business unit `{business_unit}` is its own ancestor")]
    BusinessUnitCycle {
        /// A business unit on the cycle.
        business_unit: String,
    },
    /// A user or team is assigned a role that does not exist.
    #[error("unknown security role `{role}`")]
    UnknownRole {
        /// The role id.
        role: String,
    },
    /// A user or team is assigned a field security profile that does not exist.
    #[error("unknown field security profile `{profile}`")]
    UnknownProfile {
        /// The profile id.
        profile: String,
    },
    /// The user lacks a privilege on a record.
    #[error("missing privilege {privilege:?} on {entity}")]
    Denied {
        /// The entity.
        entity: String,
        /// The privilege.
        privilege: Privilege,
    },
    /// Field security forbids touching some secured fields.
    #[error("field security forbids {action:?} of {fields:?} on {entity}")]
    FieldsDenied {
        /// The entity.
        entity: String,
        /// What was attempted.
        action: FieldAction,
        /// The forbidden fields, in name order.
        fields: Vec<String>,
    },
}

#[cfg(test)]
mod tests;
