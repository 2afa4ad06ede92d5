//! The security matrix, walked through one `check()` helper: privilege × depth × owner
//! relation, hierarchy security, field security; then the org facts' own rules.
//!
//! The fixture org:
//!
//! ```text
//! root ── boss (my manager)
//! ├── sales ── me, colleague, r1 → r2 → r3 → r4 (each reports to the previous; r1 to me)
//! │   └── north ── child
//! │       └── north-east ── grandchild
//! └── service ── stranger
//! teams: mine (sales: me, colleague), mine-elsewhere (service: me),
//!        r1-team (service: r1), strangers (service: stranger)
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::metadata::{AttributeDef, AttributeKind, EntityDef, Ownership, Requirement};
use crate::value::{EntityRef, Fields};

/// A user-owned entity with one plain and one secured attribute.
pub(super) fn account() -> EntityDef {
    entity("account", Ownership::User)
}

/// An organization-owned entity.
pub(super) fn currency() -> EntityDef {
    entity("currency", Ownership::Organization)
}

fn entity(name: &str, ownership: Ownership) -> EntityDef {
    let attribute = |name: &str, secured| AttributeDef {
        name: name.to_owned(),
        label: name.to_owned(),
        kind: AttributeKind::Text { max_len: 100 },
        requirement: Requirement::Optional,
        updatable: true,
        secured,
    };
    EntityDef {
        name: name.to_owned(),
        label: name.to_owned(),
        plural: format!("{name}s"),
        ownership,
        primary_field: "name".to_owned(),
        attributes: vec![attribute("name", false), attribute("creditlimit", true)],
        quick_find: vec![],
        forms: vec![],
        views: vec![],
    }
}

/// How the record under test relates to `me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Me,
    MyTeam,
    MyTeamInOtherBu,
    SameBu,
    ChildBu,
    GrandchildBu,
    ParentBu,
    OtherBu,
    OtherTeam,
    DirectReport,
    DirectReportTeam,
    Level2Report,
    Level3Report,
    Level4Report,
    /// A record of the organization-owned entity (nominally owned by me).
    OrgOwned,
}

impl Rel {
    fn record(self) -> RecordFacts {
        let (entity, id, bu) = match self {
            Self::Me | Self::OrgOwned => (USER_ENTITY, "me", "sales"),
            Self::MyTeam => (TEAM_ENTITY, "mine", "sales"),
            Self::MyTeamInOtherBu => (TEAM_ENTITY, "mine-elsewhere", "service"),
            Self::SameBu => (USER_ENTITY, "colleague", "sales"),
            Self::ChildBu => (USER_ENTITY, "child", "north"),
            Self::GrandchildBu => (USER_ENTITY, "grandchild", "north-east"),
            Self::ParentBu => (USER_ENTITY, "boss", "root"),
            Self::OtherBu => (USER_ENTITY, "stranger", "service"),
            Self::OtherTeam => (TEAM_ENTITY, "strangers", "service"),
            Self::DirectReport => (USER_ENTITY, "r1", "sales"),
            Self::DirectReportTeam => (TEAM_ENTITY, "r1-team", "service"),
            Self::Level2Report => (USER_ENTITY, "r2", "sales"),
            Self::Level3Report => (USER_ENTITY, "r3", "sales"),
            Self::Level4Report => (USER_ENTITY, "r4", "sales"),
        };
        RecordFacts {
            owner: EntityRef {
                entity: entity.to_owned(),
                id: id.to_owned(),
            },
            owning_business_unit: bu.to_owned(),
        }
    }

    fn entity(self) -> EntityDef {
        if self == Self::OrgOwned {
            currency()
        } else {
            account()
        }
    }
}

/// Privileges my role grants, on both entities.
type Grants = Vec<(Privilege, Depth)>;

/// What varies between rows: my role's grants (on both entities), the hierarchy
/// setting, and the field security profiles assigned to me and to my team `mine`.
#[derive(Debug, Clone, Default)]
struct Setup {
    grants: Grants,
    hierarchy: HierarchySettings,
    my_profile: Option<FieldSecurityProfile>,
    team_profile: Option<FieldSecurityProfile>,
}

/// What must hold.
#[derive(Debug, Clone)]
enum Expect {
    /// `can(privilege)` on the record related to me by `rel`.
    Record {
        rel: Rel,
        privilege: Privilege,
        allowed: bool,
    },
    /// Field security on `account.<attribute>`.
    Field {
        attribute: &'static str,
        access: FieldPermission,
    },
}

struct Row {
    setup: Setup,
    expect: Expect,
}

fn org(setup: &Setup) -> OrgSecurity {
    let business_units = BusinessUnitTree::new([
        ("root", None),
        ("sales", Some("root")),
        ("north", Some("sales")),
        ("north-east", Some("north")),
        ("service", Some("root")),
    ])
    .expect("the fixture tree is a tree");
    let user = |bu: &str, manager: Option<&str>| User {
        business_unit: bu.to_owned(),
        manager: manager.map(str::to_owned),
        ..User::default()
    };
    let mut me = user("sales", Some("boss"));
    me.roles.insert("granted".to_owned());
    if setup.my_profile.is_some() {
        me.field_profiles.insert("my-profile".to_owned());
    }
    let users = BTreeMap::from([
        ("me".to_owned(), me),
        ("boss".to_owned(), user("root", None)),
        ("colleague".to_owned(), user("sales", None)),
        ("child".to_owned(), user("north", None)),
        ("grandchild".to_owned(), user("north-east", None)),
        ("stranger".to_owned(), user("service", None)),
        ("r1".to_owned(), user("sales", Some("me"))),
        ("r2".to_owned(), user("sales", Some("r1"))),
        ("r3".to_owned(), user("sales", Some("r2"))),
        ("r4".to_owned(), user("sales", Some("r3"))),
    ]);
    let team = |bu: &str, members: &[&str]| Team {
        business_unit: bu.to_owned(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        ..Team::default()
    };
    let mut mine = team("sales", &["me", "colleague"]);
    if setup.team_profile.is_some() {
        mine.field_profiles.insert("team-profile".to_owned());
    }
    let teams = BTreeMap::from([
        ("mine".to_owned(), mine),
        ("mine-elsewhere".to_owned(), team("service", &["me"])),
        ("r1-team".to_owned(), team("service", &["r1"])),
        ("strangers".to_owned(), team("service", &["stranger"])),
    ]);
    let granted = setup
        .grants
        .iter()
        .fold(Role::default(), |role, (privilege, depth)| {
            role.grant("account", *privilege, *depth)
                .grant("currency", *privilege, *depth)
        });
    let mut field_profiles = BTreeMap::new();
    if let Some(profile) = &setup.my_profile {
        field_profiles.insert("my-profile".to_owned(), profile.clone());
    }
    if let Some(profile) = &setup.team_profile {
        field_profiles.insert("team-profile".to_owned(), profile.clone());
    }
    OrgSecurity {
        business_units,
        users,
        teams,
        roles: BTreeMap::from([("granted".to_owned(), granted)]),
        field_profiles,
        hierarchy: setup.hierarchy,
    }
}

/// Checks one row against `me`: the record check and its scope agree with the
/// expectation, or field access, redaction and the create/update checks all do.
fn check(row: &Row) {
    let me = org(&row.setup)
        .principal("me")
        .expect("me is a consistent user of the fixture org");
    match &row.expect {
        Expect::Record {
            rel,
            privilege,
            allowed,
        } => {
            let entity = rel.entity();
            let record = rel.record();
            assert_eq!(
                me.can(&entity, *privilege, &record),
                *allowed,
                "can({privilege:?}) on a record of {rel:?} should be {allowed} with {:?}",
                row.setup
            );
            assert_eq!(
                me.scope(&entity, *privilege).matches(&record),
                *allowed,
                "scope({privilege:?}) should admit a record of {rel:?} exactly when can() does, \
                 with {:?}",
                row.setup
            );
        }
        Expect::Field { attribute, access } => {
            let entity = account();
            assert_eq!(
                me.field_access(&entity, attribute),
                *access,
                "field access to {attribute} with {:?}",
                row.setup
            );
            let mut fields: Fields = BTreeMap::from([
                ("id".to_owned(), Some("a1".to_owned())),
                ((*attribute).to_owned(), Some("x".to_owned())),
            ]);
            let denied = |action| {
                me.fields_denied(&entity, &fields, action)
                    .contains(&(*attribute).to_owned())
            };
            assert_eq!(
                denied(FieldAction::Update),
                !access.update,
                "an update of {attribute} should be refused exactly when update is not allowed"
            );
            assert_eq!(
                denied(FieldAction::Create),
                !access.create,
                "a create setting {attribute} should be refused exactly when create is not allowed"
            );
            me.redact(&entity, &mut fields);
            assert_eq!(
                fields.contains_key(*attribute),
                access.read,
                "redaction should keep {attribute} exactly when it may be read"
            );
            assert!(
                fields.contains_key("id"),
                "redaction should never drop the id, which is not secured"
            );
        }
    }
}

const USER_OWNED: [Rel; 9] = [
    Rel::Me,
    Rel::MyTeam,
    Rel::MyTeamInOtherBu,
    Rel::SameBu,
    Rel::ChildBu,
    Rel::GrandchildBu,
    Rel::ParentBu,
    Rel::OtherBu,
    Rel::OtherTeam,
];

#[test]
fn every_privilege_reaches_exactly_the_records_its_depth_covers() {
    // Per owner relation: allowed at None, User, BusinessUnit, ParentChild, Organization.
    let table: [(Rel, [bool; 5]); 10] = [
        (Rel::Me, [false, true, true, true, true]),
        (Rel::MyTeam, [false, true, true, true, true]),
        (Rel::MyTeamInOtherBu, [false, true, true, true, true]),
        (Rel::SameBu, [false, false, true, true, true]),
        (Rel::ChildBu, [false, false, false, true, true]),
        (Rel::GrandchildBu, [false, false, false, true, true]),
        (Rel::ParentBu, [false, false, false, false, true]),
        (Rel::OtherBu, [false, false, false, false, true]),
        (Rel::OtherTeam, [false, false, false, false, true]),
        // Organization-owned: only Global counts.
        (Rel::OrgOwned, [false, false, false, false, true]),
    ];
    assert_eq!(
        table.len(),
        USER_OWNED.len() + 1,
        "the table should cover every owner relation"
    );
    for privilege in Privilege::ALL {
        for (rel, by_depth) in &table {
            for (depth, allowed) in Depth::ALL.into_iter().zip(by_depth) {
                let setup = Setup {
                    grants: vec![(privilege, depth)],
                    ..Setup::default()
                };
                check(&Row {
                    setup: setup.clone(),
                    expect: Expect::Record {
                        rel: *rel,
                        privilege,
                        allowed: *allowed,
                    },
                });
                // A grant of one privilege gives no other.
                for other in Privilege::ALL.into_iter().filter(|p| *p != privilege) {
                    check(&Row {
                        setup: setup.clone(),
                        expect: Expect::Record {
                            rel: *rel,
                            privilege: other,
                            allowed: false,
                        },
                    });
                }
            }
        }
    }
}

fn hierarchy(enabled: bool, depth: u8, managers_can_write: bool) -> HierarchySettings {
    HierarchySettings {
        enabled,
        depth,
        managers_can_write,
    }
}

fn all_at_user() -> Grants {
    Privilege::ALL.iter().map(|p| (*p, Depth::User)).collect()
}

#[test]
fn managers_reach_their_reports_records_as_far_as_the_hierarchy_setting_says() {
    use Privilege::{Append, AppendTo, Assign, Create, Delete, Read, Share, Write};
    let on = hierarchy(true, 3, true);
    let read_only = hierarchy(true, 3, false);
    let off = hierarchy(false, 3, true);
    let direct_only = hierarchy(true, 1, true);
    let nobody = hierarchy(true, 0, true);
    let no_read = Privilege::ALL
        .iter()
        .map(|p| (*p, if *p == Read { Depth::None } else { Depth::User }))
        .collect::<Vec<_>>();
    let only_read = vec![(Read, Depth::User)];
    let all = all_at_user();
    #[rustfmt::skip]
    let rows: Vec<(HierarchySettings, &Grants, Rel, Privilege, bool)> = vec![
        // Direct reports: Read, Write, Append, AppendTo; never Create, Delete, Assign, Share.
        (on, &all, Rel::DirectReport, Read, true),
        (on, &all, Rel::DirectReport, Write, true),
        (on, &all, Rel::DirectReport, Append, true),
        (on, &all, Rel::DirectReport, AppendTo, true),
        (on, &all, Rel::DirectReport, Create, false),
        (on, &all, Rel::DirectReport, Delete, false),
        (on, &all, Rel::DirectReport, Assign, false),
        (on, &all, Rel::DirectReport, Share, false),
        // Records owned by a report's team count as the report's.
        (on, &all, Rel::DirectReportTeam, Read, true),
        (on, &all, Rel::DirectReportTeam, Write, true),
        // Indirect reports within depth: read-only.
        (on, &all, Rel::Level2Report, Read, true),
        (on, &all, Rel::Level2Report, Write, false),
        (on, &all, Rel::Level2Report, Append, false),
        (on, &all, Rel::Level3Report, Read, true),
        (on, &all, Rel::Level3Report, AppendTo, false),
        // Beyond depth: nothing.
        (on, &all, Rel::Level4Report, Read, false),
        (direct_only, &all, Rel::DirectReport, Read, true),
        (direct_only, &all, Rel::Level2Report, Read, false),
        (nobody, &all, Rel::DirectReport, Read, false),
        // Managers may not write: direct reports become read-only too.
        (read_only, &all, Rel::DirectReport, Read, true),
        (read_only, &all, Rel::DirectReport, Write, false),
        (read_only, &all, Rel::DirectReport, Append, false),
        (read_only, &all, Rel::DirectReport, AppendTo, false),
        (read_only, &all, Rel::DirectReportTeam, Write, false),
        // Hierarchy off: only roles count.
        (off, &all, Rel::DirectReport, Read, false),
        (off, &all, Rel::DirectReport, Write, false),
        (off, &all, Rel::Level2Report, Read, false),
        // The manager needs User-depth Read; with it, nothing else is needed.
        (on, &no_read, Rel::DirectReport, Read, false),
        (on, &no_read, Rel::DirectReport, Write, false),
        (on, &no_read, Rel::Me, Write, true),
        (on, &only_read, Rel::DirectReport, Write, true),
        (on, &only_read, Rel::Level2Report, Read, true),
        // It only looks down the chain, and never at organization-owned records.
        (on, &all, Rel::ParentBu, Read, false),
        (on, &all, Rel::SameBu, Read, false),
        (on, &all, Rel::OrgOwned, Read, false),
    ];
    for (hierarchy, grants, rel, privilege, allowed) in rows {
        check(&Row {
            setup: Setup {
                grants: grants.clone(),
                hierarchy,
                ..Setup::default()
            },
            expect: Expect::Record {
                rel,
                privilege,
                allowed,
            },
        });
    }
}

#[test]
fn secured_fields_need_a_profile_of_the_user_or_a_team_and_plain_fields_never_do() {
    let profile = |attribute: &str, read, create, update| {
        Some(FieldSecurityProfile::default().allow(
            "account",
            attribute,
            FieldPermission {
                read,
                create,
                update,
            },
        ))
    };
    let read_only = FieldPermission {
        read: true,
        ..FieldPermission::NONE
    };
    let read_update = FieldPermission {
        update: true,
        ..read_only
    };
    let read_create = FieldPermission {
        create: true,
        ..read_only
    };
    let other_entity =
        Some(FieldSecurityProfile::default().allow("contact", "creditlimit", FieldPermission::ALL));
    #[rustfmt::skip]
    let rows: Vec<(Option<FieldSecurityProfile>, Option<FieldSecurityProfile>, &str, FieldPermission)> = vec![
        // (my profile, my team's profile, attribute, access)
        (None, None, "creditlimit", FieldPermission::NONE),
        (profile("creditlimit", true, false, false), None, "creditlimit", read_only),
        (profile("creditlimit", true, false, true), None, "creditlimit", read_update),
        (None, profile("creditlimit", true, true, false), "creditlimit", read_create),
        // Profiles add up: read from mine, update from the team's.
        (profile("creditlimit", true, false, false), profile("creditlimit", false, false, true), "creditlimit", read_update),
        (profile("creditlimit", true, true, true), None, "creditlimit", FieldPermission::ALL),
        // A profile for the same attribute of another entity does not apply.
        (other_entity, None, "creditlimit", FieldPermission::NONE),
        // Plain fields are never restricted, even by a profile that names them.
        (None, None, "name", FieldPermission::ALL),
        (profile("name", false, false, false), None, "name", FieldPermission::ALL),
    ];
    for (my_profile, team_profile, attribute, access) in rows {
        check(&Row {
            setup: Setup {
                my_profile,
                team_profile,
                ..Setup::default()
            },
            expect: Expect::Field { attribute, access },
        });
    }
}

#[test]
fn team_roles_reach_members_from_the_members_own_business_unit() {
    let mut org = org(&Setup::default());
    org.roles.insert(
        "team-role".to_owned(),
        Role::default().grant("account", Privilege::Read, Depth::BusinessUnit),
    );
    org.teams
        .get_mut("mine-elsewhere")
        .expect("the fixture has team mine-elsewhere")
        .roles
        .insert("team-role".to_owned());
    let me = org.principal("me").expect("me is consistent");
    assert_eq!(
        me.depth(&account(), Privilege::Read),
        Depth::BusinessUnit,
        "a team's role should give its members the role's depth"
    );
    assert!(
        me.can(&account(), Privilege::Read, &Rel::SameBu.record()),
        "a team role's BusinessUnit depth should cover the member's own business unit"
    );
    assert!(
        !me.can(&account(), Privilege::Read, &Rel::OtherBu.record()),
        "a team role's depth should not be measured from the team's business unit"
    );
    let colleague = org.principal("colleague").expect("colleague is consistent");
    assert_eq!(
        colleague.depth(&account(), Privilege::Read),
        Depth::None,
        "a team role should not reach users outside the team"
    );
}

#[test]
fn the_highest_depth_over_all_roles_wins() {
    let mut org = org(&Setup {
        grants: vec![(Privilege::Write, Depth::ParentChild)],
        ..Setup::default()
    });
    org.roles.insert(
        "lesser".to_owned(),
        Role::default().grant("account", Privilege::Write, Depth::User),
    );
    org.users
        .get_mut("me")
        .expect("the fixture has me")
        .roles
        .insert("lesser".to_owned());
    let me = org.principal("me").expect("me is consistent");
    assert_eq!(
        me.depth(&account(), Privilege::Write),
        Depth::ParentChild,
        "a lower grant in another role should not lower the depth"
    );
}

#[test]
fn the_business_unit_tree_answers_ancestors_descendants_and_containment() {
    let tree = org(&Setup::default()).business_units;
    assert_eq!(
        tree.ancestors("north-east"),
        vec!["north", "sales", "root"],
        "ancestors should run nearest first up to the root"
    );
    assert_eq!(
        tree.descendants("sales"),
        BTreeSet::from(["north", "north-east"]),
        "descendants should be every unit below, without the unit itself"
    );
    assert!(
        tree.is_within("north-east", "sales") && tree.is_within("sales", "sales"),
        "a unit should be within itself and its ancestors"
    );
    assert!(
        !tree.is_within("service", "sales") && !tree.is_within("nowhere", "root"),
        "a sibling or an unknown unit should not be within"
    );
    assert_eq!(tree.parent("root"), None, "the root has no parent");
}

#[test]
fn a_business_unit_tree_refuses_cycles_and_unknown_parents() {
    assert_eq!(
        BusinessUnitTree::new([("a", Some("b")), ("b", Some("a"))]),
        Err(SecurityError::BusinessUnitCycle {
            business_unit: "a".to_owned()
        }),
        "a cycle should be refused"
    );
    assert_eq!(
        BusinessUnitTree::new([("a", Some("a"))]),
        Err(SecurityError::BusinessUnitCycle {
            business_unit: "a".to_owned()
        }),
        "a unit that is its own parent should be refused"
    );
    assert_eq!(
        BusinessUnitTree::new([("a", Some("b")), ("b", Some("c")), ("c", Some("b"))]),
        Err(SecurityError::BusinessUnitCycle {
            business_unit: "b".to_owned()
        }),
        "a unit leading into a cycle should report a unit on the cycle"
    );
    assert_eq!(
        BusinessUnitTree::new([("a", Some("ghost"))]),
        Err(SecurityError::UnknownBusinessUnit {
            business_unit: "ghost".to_owned()
        }),
        "a dangling parent should be refused"
    );
}

#[test]
fn inconsistent_org_facts_are_reported_for_the_user_they_affect() {
    let base = org(&Setup::default());
    assert_eq!(
        base.principal("ghost"),
        Err(SecurityError::UnknownUser {
            user: "ghost".to_owned()
        }),
        "an unknown user should be refused"
    );
    let mut broken = base.clone();
    broken
        .teams
        .get_mut("mine")
        .expect("the fixture has team mine")
        .roles
        .insert("missing-role".to_owned());
    assert_eq!(
        broken.principal("me"),
        Err(SecurityError::UnknownRole {
            role: "missing-role".to_owned()
        }),
        "a team's unknown role should be reported for its members"
    );
    assert!(
        broken.principal("stranger").is_ok(),
        "users outside the team should be unaffected by its unknown role"
    );
    let mut broken = base.clone();
    broken
        .users
        .get_mut("me")
        .expect("the fixture has me")
        .field_profiles
        .insert("missing-profile".to_owned());
    assert_eq!(
        broken.principal("me"),
        Err(SecurityError::UnknownProfile {
            profile: "missing-profile".to_owned()
        }),
        "an unknown field security profile should be reported"
    );
    let mut broken = base;
    broken
        .users
        .get_mut("me")
        .expect("the fixture has me")
        .business_unit = "nowhere".to_owned();
    assert_eq!(
        broken.principal("me"),
        Err(SecurityError::UnknownBusinessUnit {
            business_unit: "nowhere".to_owned()
        }),
        "a user in an unknown business unit should be refused"
    );
}

#[test]
fn a_cycle_of_managers_ends_the_walk_and_no_one_is_their_own_report() {
    let mut org = org(&Setup {
        grants: all_at_user(),
        hierarchy: hierarchy(true, 10, true),
        ..Setup::default()
    });
    org.users.get_mut("me").expect("the fixture has me").manager = Some("r4".to_owned());
    let me = org.principal("me").expect("me is consistent");
    assert_eq!(
        me.reports(),
        &BTreeMap::from([
            ("r1".to_owned(), 1),
            ("r2".to_owned(), 2),
            ("r3".to_owned(), 3),
            ("r4".to_owned(), 4),
        ]),
        "each report should appear once at its level, and the manager not at all"
    );
}

#[test]
fn refusals_name_what_was_refused() {
    let org = org(&Setup {
        grants: vec![(Privilege::Read, Depth::User)],
        my_profile: Some(FieldSecurityProfile::default().allow(
            "account",
            "creditlimit",
            FieldPermission {
                read: true,
                ..FieldPermission::NONE
            },
        )),
        ..Setup::default()
    });
    let me = org.principal("me").expect("me is consistent");
    assert_eq!(
        me.require(&account(), Privilege::Delete, &Rel::Me.record()),
        Err(SecurityError::Denied {
            entity: "account".to_owned(),
            privilege: Privilege::Delete
        }),
        "a missing privilege should be refused with the entity and the privilege"
    );
    assert_eq!(
        me.require(&account(), Privilege::Read, &Rel::Me.record()),
        Ok(()),
        "a held privilege should pass"
    );
    let changes: Fields = BTreeMap::from([
        ("creditlimit".to_owned(), Some("10".to_owned())),
        ("name".to_owned(), Some("Contoso".to_owned())),
    ]);
    assert_eq!(
        me.check_fields(&account(), &changes, FieldAction::Update),
        Err(SecurityError::FieldsDenied {
            entity: "account".to_owned(),
            action: FieldAction::Update,
            fields: vec!["creditlimit".to_owned()]
        }),
        "an update of a read-only secured field should be refused, naming only that field"
    );
    let nulls: Fields = BTreeMap::from([("creditlimit".to_owned(), None)]);
    assert_eq!(
        me.check_fields(&account(), &nulls, FieldAction::Create),
        Ok(()),
        "a create that leaves a secured field null does not set it"
    );
    assert_eq!(
        me.secured_fields(&account()),
        BTreeMap::from([(
            "creditlimit".to_owned(),
            FieldPermission {
                read: true,
                ..FieldPermission::NONE
            }
        )]),
        "the secured fields should list every secured attribute with its permission"
    );
}

#[test]
fn creating_and_appending_check_the_record_as_it_would_be() {
    let org = org(&Setup {
        grants: vec![
            (Privilege::Create, Depth::BusinessUnit),
            (Privilege::Append, Depth::User),
            (Privilege::AppendTo, Depth::BusinessUnit),
        ],
        ..Setup::default()
    });
    let me = org.principal("me").expect("me is consistent");
    let owner = |id: &str| EntityRef {
        entity: USER_ENTITY.to_owned(),
        id: id.to_owned(),
    };
    assert!(
        me.can_create(&account(), &owner("colleague"), "sales"),
        "BusinessUnit Create should allow a record for a colleague in my unit"
    );
    assert!(
        !me.can_create(&account(), &owner("child"), "north"),
        "BusinessUnit Create should not reach a child unit"
    );
    assert!(
        me.can_append(
            &account(),
            &Rel::Me.record(),
            &account(),
            &Rel::SameBu.record()
        ),
        "Append on my record and AppendTo on my unit's record should allow attaching"
    );
    assert!(
        !me.can_append(
            &account(),
            &Rel::SameBu.record(),
            &account(),
            &Rel::Me.record()
        ),
        "attaching a record I may not Append should be refused"
    );
}

#[test]
fn org_security_survives_a_json_round_trip_and_a_broken_tree_is_refused() {
    let metadata = crate::demo::metadata();
    let security = crate::demo::demo_org(3)
        .security(&metadata)
        .expect("demo security");
    let json = serde_json::to_string(&security).expect("serialize");
    let back: OrgSecurity = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(
        back, security,
        "the server stores the org's security as JSON"
    );
    let cycle = r#"{"business_units": {"a": "b", "b": "a"}, "users": {}, "teams": {},
        "roles": {}, "field_profiles": {},
        "hierarchy": {"enabled": false, "depth": 3, "managers_can_write": true}}"#;
    let err = serde_json::from_str::<OrgSecurity>(cycle).expect_err("a cycle is not a tree");
    assert!(err.to_string().contains("own ancestor"), "{err}");
}
