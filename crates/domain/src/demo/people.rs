//! The demo org's people and security: a three-level business-unit tree, an administrator,
//! managers, sales reps and field technicians in a manager hierarchy, owner teams, and the
//! four roles of the issue (salesperson at user depth, sales manager at business-unit
//! depth, field technician, system administrator at organization depth).

use std::collections::{BTreeMap, BTreeSet};

use crate::metadata::Metadata;
use crate::security::{
    BusinessUnitTree, Depth, FieldPermission, FieldSecurityProfile, HierarchySettings, OrgSecurity,
    Privilege, Role, SecurityError, Team, User,
};

/// A business unit of the demo org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoBusinessUnit {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Parent unit (none for the root).
    pub parent: Option<String>,
}

/// What a demo user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Runs the org: system administrator.
    Admin,
    /// Leads a business unit's sales: sales manager.
    Manager,
    /// Sells in the field: salesperson.
    SalesRep,
    /// Serves customers in the field: field technician.
    Technician,
}

/// A user of the demo org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Business unit id.
    pub business_unit: String,
    /// Manager's user id.
    pub manager: Option<String>,
    /// What they do (decides their role).
    pub job: Job,
}

/// An owner team of the demo org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTeam {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Business unit id.
    pub business_unit: String,
    /// Member user ids.
    pub members: Vec<String>,
}

/// The demo org's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOrg {
    /// Business units, parents before children.
    pub business_units: Vec<DemoBusinessUnit>,
    /// Users, the administrator first.
    pub users: Vec<DemoUser>,
    /// Owner teams.
    pub teams: Vec<DemoTeam>,
    /// Role ids with their display names.
    pub roles: Vec<(String, String)>,
}

/// The demo administrator's user name.
pub const ADMIN_USERNAME: &str = "admin";
/// The demo field user (a sales rep) — the one `cargo xtask run` signs in as.
pub const FIELD_USERNAME: &str = "fiona";

/// Role ids.
pub mod role {
    /// System Administrator: organization depth on everything.
    pub const ADMIN: &str = "role-system-administrator";
    /// Sales Manager: business-unit depth on sales entities.
    pub const SALES_MANAGER: &str = "role-sales-manager";
    /// Salesperson: user depth on sales entities.
    pub const SALESPERSON: &str = "role-salesperson";
    /// Field Technician: user depth on service entities, reads customers of the unit.
    pub const TECHNICIAN: &str = "role-field-technician";
}

/// The field security profile that may read and change secured money fields.
pub const FINANCE_PROFILE: &str = "fsp-finance";

/// The id of the `n`-th record of a kind, shaped like a UUID v7 so ids look real and sort
/// by kind then number.
pub fn demo_id(kind: u16, n: u64) -> String {
    format!("00000000-{kind:04x}-7000-8000-{n:012x}")
}

const FIRST: &[&str] = &[
    "Ada", "Bruno", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko",
    "Lars", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wen", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Andersen", "Brooks", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Olsen", "Petrov", "Rossi", "Schmidt",
    "Tanaka", "Weber",
];

/// The demo org for `seed`. The admin and the field user keep their names for every seed;
/// everyone else is drawn from the seed.
pub fn demo_org(seed: u64) -> DemoOrg {
    let mut rng = super::rng::Rng::new(seed, &[1]);
    let bu = |n: u64| demo_id(0x00b0, n);
    let regions = [
        ("North America", ["East", "West"]),
        ("Europe", ["North", "South"]),
    ];
    let mut business_units = vec![DemoBusinessUnit {
        id: bu(0),
        name: "Contoso".into(),
        parent: None,
    }];
    let mut areas = Vec::new();
    for (r, (region, subs)) in regions.iter().enumerate() {
        let region_id = bu(1 + r as u64);
        business_units.push(DemoBusinessUnit {
            id: region_id.clone(),
            name: (*region).into(),
            parent: Some(bu(0)),
        });
        for (a, sub) in subs.iter().enumerate() {
            let id = bu(10 + (r * 2 + a) as u64);
            business_units.push(DemoBusinessUnit {
                id: id.clone(),
                name: format!("{region} {sub}"),
                parent: Some(region_id.clone()),
            });
            areas.push((id, region_id.clone(), format!("{region} {sub}")));
        }
    }
    let mut users = Vec::new();
    let mut next_user = 0u64;
    let mut person = |rng: &mut super::rng::Rng, username: Option<&str>, full: Option<&str>| {
        next_user += 1;
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let full_name = full.map_or_else(|| format!("{first} {last}"), str::to_owned);
        let username = username.map_or_else(
            || {
                format!(
                    "{}.{}{next_user}",
                    first.to_lowercase(),
                    last.to_lowercase()
                )
            },
            str::to_owned,
        );
        (demo_id(0x05e0, next_user), username, full_name)
    };
    let (admin_id, username, full_name) =
        person(&mut rng, Some(ADMIN_USERNAME), Some("Avery Admin"));
    users.push(DemoUser {
        id: admin_id.clone(),
        username,
        full_name,
        business_unit: bu(0),
        manager: None,
        job: Job::Admin,
    });
    let mut region_managers = BTreeMap::new();
    for unit in business_units
        .iter()
        .filter(|u| u.parent.as_deref() == Some(bu(0).as_str()))
    {
        let (id, username, full_name) = person(&mut rng, None, None);
        region_managers.insert(unit.id.clone(), id.clone());
        users.push(DemoUser {
            id,
            username,
            full_name,
            business_unit: unit.id.clone(),
            manager: Some(admin_id.clone()),
            job: Job::Manager,
        });
    }
    let mut teams = Vec::new();
    for (i, (area, region, name)) in areas.iter().enumerate() {
        let (manager_id, username, full_name) = person(&mut rng, None, None);
        users.push(DemoUser {
            id: manager_id.clone(),
            username,
            full_name,
            business_unit: area.clone(),
            manager: region_managers.get(region).cloned(),
            job: Job::Manager,
        });
        let mut members = Vec::new();
        for k in 0..5 {
            // The first rep of the first area is the known field user.
            let known = (i == 0 && k == 0).then_some((FIELD_USERNAME, "Fiona Field"));
            let (id, username, full_name) =
                person(&mut rng, known.map(|k| k.0), known.map(|k| k.1));
            let job = if k < 3 {
                Job::SalesRep
            } else {
                Job::Technician
            };
            members.push(id.clone());
            users.push(DemoUser {
                id,
                username,
                full_name,
                business_unit: area.clone(),
                manager: Some(manager_id.clone()),
                job,
            });
        }
        teams.push(DemoTeam {
            id: demo_id(0x07ea, i as u64 + 1),
            name: format!("{name} Field Team"),
            business_unit: area.clone(),
            members,
        });
    }
    let roles = vec![
        (role::ADMIN.to_owned(), "System Administrator".to_owned()),
        (role::SALES_MANAGER.to_owned(), "Sales Manager".to_owned()),
        (role::SALESPERSON.to_owned(), "Salesperson".to_owned()),
        (role::TECHNICIAN.to_owned(), "Field Technician".to_owned()),
    ];
    DemoOrg {
        business_units,
        users,
        teams,
        roles,
    }
}

const SALES: &[&str] = &[
    "account",
    "contact",
    "lead",
    "opportunity",
    "opportunityclose",
    "task",
    "phonecall",
    "appointment",
];
const SERVICE: &[&str] = &[
    "incident",
    "incidentresolution",
    "task",
    "phonecall",
    "appointment",
];
const REFERENCE: &[&str] = &["systemuser", "team", "businessunit"];

fn grant_all(mut role: Role, entities: &[&str], privileges: &[Privilege], depth: Depth) -> Role {
    for entity in entities {
        for p in privileges {
            role = role.grant(entity, *p, depth);
        }
    }
    role
}

impl DemoOrg {
    /// The org as security sees it: roles with their depths, users, teams, the hierarchy
    /// (on, three levels, managers may write) and the finance field profile (admin only).
    pub fn security(&self, metadata: &Metadata) -> Result<OrgSecurity, SecurityError> {
        use Privilege::{Append, AppendTo, Assign, Create, Delete, Read, Write};
        let everything: Vec<&str> = metadata.entities.iter().map(|e| e.name.as_str()).collect();
        let work = Privilege::ALL;
        let mut roles = BTreeMap::new();
        roles.insert(
            role::ADMIN.to_owned(),
            grant_all(
                Role::default(),
                &everything,
                &Privilege::ALL,
                Depth::Organization,
            ),
        );
        let manager = grant_all(Role::default(), SALES, &work, Depth::BusinessUnit);
        let manager = grant_all(manager, SERVICE, &[Read], Depth::BusinessUnit);
        roles.insert(
            role::SALES_MANAGER.to_owned(),
            grant_all(manager, REFERENCE, &[Read], Depth::Organization),
        );
        let rep = grant_all(
            Role::default(),
            SALES,
            &[Create, Read, Write, Delete, Append, AppendTo, Assign],
            Depth::User,
        );
        let rep = grant_all(
            rep,
            &["account", "contact"],
            &[Read, AppendTo],
            Depth::BusinessUnit,
        );
        roles.insert(
            role::SALESPERSON.to_owned(),
            grant_all(rep, REFERENCE, &[Read], Depth::Organization),
        );
        let tech = grant_all(
            Role::default(),
            SERVICE,
            &[Create, Read, Write, Append, AppendTo],
            Depth::User,
        );
        let tech = grant_all(
            tech,
            &["account", "contact"],
            &[Read, AppendTo],
            Depth::BusinessUnit,
        );
        roles.insert(
            role::TECHNICIAN.to_owned(),
            grant_all(tech, REFERENCE, &[Read], Depth::Organization),
        );
        let role_of = |job: Job| match job {
            Job::Admin => role::ADMIN,
            Job::Manager => role::SALES_MANAGER,
            Job::SalesRep => role::SALESPERSON,
            Job::Technician => role::TECHNICIAN,
        };
        let users = self
            .users
            .iter()
            .map(|u| {
                let field_profiles = if u.job == Job::Admin {
                    BTreeSet::from([FINANCE_PROFILE.to_owned()])
                } else {
                    BTreeSet::new()
                };
                (
                    u.id.clone(),
                    User {
                        business_unit: u.business_unit.clone(),
                        manager: u.manager.clone(),
                        roles: BTreeSet::from([role_of(u.job).to_owned()]),
                        field_profiles,
                    },
                )
            })
            .collect();
        let teams = self
            .teams
            .iter()
            .map(|t| {
                (
                    t.id.clone(),
                    Team {
                        business_unit: t.business_unit.clone(),
                        members: t.members.iter().cloned().collect(),
                        roles: BTreeSet::new(),
                        field_profiles: BTreeSet::new(),
                    },
                )
            })
            .collect();
        let finance =
            FieldSecurityProfile::default().allow("account", "creditlimit", FieldPermission::ALL);
        Ok(OrgSecurity {
            business_units: BusinessUnitTree::new(
                self.business_units
                    .iter()
                    .map(|b| (b.id.clone(), b.parent.clone())),
            )?,
            users,
            teams,
            roles,
            field_profiles: BTreeMap::from([(FINANCE_PROFILE.to_owned(), finance)]),
            hierarchy: HierarchySettings {
                enabled: true,
                depth: 3,
                managers_can_write: true,
            },
        })
    }

    /// The user with `username`.
    pub fn user(&self, username: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// Users who own records (everyone but the administrator).
    pub fn owners(&self) -> impl Iterator<Item = &DemoUser> {
        self.users.iter().filter(|u| u.job != Job::Admin)
    }
}
