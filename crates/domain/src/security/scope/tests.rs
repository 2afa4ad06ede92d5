//! Scopes: the SQL they write, and two properties over random orgs and records — the
//! scope admits exactly what `can` allows, and its SQL, run on a real in-memory SQLite,
//! selects exactly what the scope admits.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rusqlite::Connection;

use super::super::tests::{account, currency};
use super::super::*;
use crate::query::Dialect as SqlDialect;
use crate::value::EntityRef;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_limited_scope_becomes_numbered_placeholders_with_the_ids_as_parameters() {
    let scope = Scope::limited(set(&["systemuser:u1", "team:t1"]), set(&["bu1"]));
    assert_eq!(
        scope.to_sql(SqlDialect::Sqlite, "ownerid", "owningbusinessunit", 1),
        (
            r#"("ownerid" IN (?1, ?2) OR "owningbusinessunit" IN (?3))"#.to_owned(),
            vec![
                "systemuser:u1".to_owned(),
                "team:t1".to_owned(),
                "businessunit:bu1".to_owned()
            ]
        ),
        "SQLite placeholders should be ?N from the first parameter, ids only as parameters"
    );
    assert_eq!(
        scope
            .to_sql(SqlDialect::Postgres, "r.ownerid", "r.owningbusinessunit", 3)
            .0,
        r#"("r"."ownerid" IN ($3, $4) OR "r"."owningbusinessunit" IN ($5))"#,
        "PostgreSQL placeholders should be $N numbered from first_param"
    );
    assert_eq!(
        Scope::limited(set(&[]), set(&["bu1"])).to_sql(SqlDialect::Sqlite, "o", "b", 1),
        (
            r#"("b" IN (?1))"#.to_owned(),
            vec!["businessunit:bu1".to_owned()]
        ),
        "an empty set should leave its column out"
    );
}

#[test]
fn all_and_nothing_need_no_parameters_and_empty_sets_mean_nothing() {
    assert_eq!(
        Scope::All.to_sql(SqlDialect::Postgres, "o", "b", 7),
        ("1 = 1".to_owned(), vec![]),
        "All should be a true predicate"
    );
    assert_eq!(
        Scope::Nothing.to_sql(SqlDialect::Sqlite, "o", "b", 1),
        ("1 = 0".to_owned(), vec![]),
        "Nothing should be a false predicate"
    );
    let empty = Scope::Limited {
        owners: BTreeSet::new(),
        business_units: BTreeSet::new(),
    };
    assert_eq!(
        empty.to_sql(SqlDialect::Sqlite, "o", "b", 1),
        ("1 = 0".to_owned(), vec![]),
        "a hand-made limited scope with empty sets should still be valid SQL that admits nothing"
    );
    assert_eq!(
        Scope::limited(BTreeSet::new(), BTreeSet::new()),
        Scope::Nothing,
        "a limited scope with nothing in it should be Nothing"
    );
}

#[test]
fn a_column_name_cannot_break_out_of_its_identifier() {
    let (sql, _) = Scope::limited(set(&["x"]), set(&[])).to_sql(
        SqlDialect::Sqlite,
        r#"owner" = owner OR "1"#,
        "b",
        1,
    );
    assert_eq!(
        sql, r#"("owner"" = owner OR ""1" IN (?1))"#,
        "a quote inside a column name should be doubled, keeping it one identifier"
    );
}

/// Runs `scope` through SQLite over `records` (ids are positions) and returns the ids
/// selected. `prefix` parameters are bound first, to check the numbering offset.
fn select(records: &[RecordFacts], scope: &Scope, prefix: usize) -> BTreeSet<usize> {
    let db = Connection::open_in_memory().expect("an in-memory database opens");
    db.execute_batch("CREATE TABLE rec (id INTEGER PRIMARY KEY, owner TEXT, bu TEXT)")
        .expect("the table is created");
    for (id, record) in records.iter().enumerate() {
        db.execute(
            "INSERT INTO rec (id, owner, bu) VALUES (?1, ?2, ?3)",
            (
                i64::try_from(id).expect("few records"),
                record.owner.to_string(),
                format!("businessunit:{}", record.owning_business_unit),
            ),
        )
        .expect("the record is inserted");
    }
    let (predicate, params) = scope.to_sql(SqlDialect::Sqlite, "owner", "bu", prefix + 1);
    let mut conditions: Vec<String> = (1..=prefix).map(|n| format!("?{n} = 'x'")).collect();
    conditions.push(predicate);
    let sql = format!("SELECT id FROM rec WHERE {}", conditions.join(" AND "));
    let bound = std::iter::repeat_n("x".to_owned(), prefix).chain(params);
    let mut statement = db.prepare(&sql).expect("the scope's SQL is valid SQLite");
    statement
        .query_map(rusqlite::params_from_iter(bound), |row| {
            row.get::<_, i64>(0)
        })
        .expect("the query runs")
        .map(|id| usize::try_from(id.expect("an id is read")).expect("ids are positions"))
        .collect()
}

#[test]
fn the_sql_of_the_fixture_orgs_scopes_selects_what_they_match() {
    let records: Vec<RecordFacts> = [
        ("systemuser", "u1", "bu1"),
        ("systemuser", "u2", "bu2"),
        ("team", "t1", "bu3"),
        ("team", "u1", "bu3"),
        ("account", "u1", "bu9"),
    ]
    .iter()
    .map(|(entity, id, bu)| RecordFacts {
        owner: EntityRef {
            entity: (*entity).to_owned(),
            id: (*id).to_owned(),
        },
        owning_business_unit: (*bu).to_owned(),
    })
    .collect();
    let scopes = [
        Scope::All,
        Scope::Nothing,
        Scope::limited(set(&["systemuser:u1", "team:t1"]), set(&[])),
        Scope::limited(set(&["systemuser:u1"]), set(&["bu2", "bu3"])),
    ];
    for scope in &scopes {
        for prefix in 0..3 {
            let expected: BTreeSet<usize> = (0..records.len())
                .filter(|i| scope.matches(&records[*i]))
                .collect();
            assert_eq!(
                select(&records, scope, prefix),
                expected,
                "SQLite should select exactly what {scope:?} matches (after {prefix} parameters)"
            );
        }
    }
}

/// A random org, as raw numbers that [`RawOrg::build`] reduces to valid references.
#[derive(Debug, Clone)]
struct RawOrg {
    /// Per unit: `None` a root, `Some(x)` the parent `x % i` (unit 0 is always a root).
    bu_parents: Vec<Option<u8>>,
    /// Per user: business unit, manager, role mask.
    users: Vec<(u8, Option<u8>, u8)>,
    /// Per team: business unit, member mask, role mask.
    teams: Vec<(u8, u8, u8)>,
    /// Per role: depth index for (entity × 8 + privilege), entities `account`, `currency`.
    roles: Vec<Vec<u8>>,
    hierarchy: (bool, u8, bool),
    /// Per record: owner kind (user, team, other), owner index, business unit.
    records: Vec<(u8, u8, u8)>,
    subject: u8,
}

fn raw_org() -> impl Strategy<Value = RawOrg> {
    (
        prop::collection::vec(prop::option::weighted(0.9, any::<u8>()), 1..6),
        prop::collection::vec(
            (any::<u8>(), prop::option::of(any::<u8>()), any::<u8>()),
            1..8,
        ),
        prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..4),
        prop::collection::vec(prop::collection::vec(0..5_u8, 16), 3),
        (any::<bool>(), 0..4_u8, any::<bool>()),
        prop::collection::vec((0..3_u8, any::<u8>(), any::<u8>()), 1..24),
        any::<u8>(),
    )
        .prop_map(
            |(bu_parents, users, teams, roles, hierarchy, records, subject)| RawOrg {
                bu_parents,
                users,
                teams,
                roles,
                hierarchy,
                records,
                subject,
            },
        )
}

fn pick(x: u8, len: usize) -> usize {
    usize::from(x) % len
}

fn has_bit(mask: u8, i: usize) -> bool {
    i < 8 && mask & (1 << i) != 0
}

impl RawOrg {
    /// The org, the subject's id and the records.
    fn build(&self) -> (OrgSecurity, String, Vec<RecordFacts>) {
        let bu = |x: u8| format!("b{}", pick(x, self.bu_parents.len()));
        let business_units =
            BusinessUnitTree::new(self.bu_parents.iter().enumerate().map(|(i, parent)| {
                let parent = match parent {
                    Some(x) if i > 0 => Some(format!("b{}", pick(*x, i))),
                    _ => None,
                };
                (format!("b{i}"), parent)
            }))
            .expect("parents always come earlier, so the units form a forest");
        let user_id = |x: u8| format!("u{}", pick(x, self.users.len()));
        let role_ids = |mask: u8| -> BTreeSet<String> {
            (0..self.roles.len())
                .filter(|i| has_bit(mask, *i))
                .map(|i| format!("r{i}"))
                .collect()
        };
        let users = self
            .users
            .iter()
            .enumerate()
            .map(|(i, (unit, manager, roles))| {
                let user = User {
                    business_unit: bu(*unit),
                    manager: manager.map(user_id),
                    roles: role_ids(*roles),
                    field_profiles: BTreeSet::new(),
                };
                (format!("u{i}"), user)
            })
            .collect();
        let teams = self
            .teams
            .iter()
            .enumerate()
            .map(|(i, (unit, members, roles))| {
                let team = Team {
                    business_unit: bu(*unit),
                    members: (0..self.users.len())
                        .filter(|m| has_bit(*members, *m))
                        .map(|m| format!("u{m}"))
                        .collect(),
                    roles: role_ids(*roles),
                    field_profiles: BTreeSet::new(),
                };
                (format!("t{i}"), team)
            })
            .collect();
        let roles = self
            .roles
            .iter()
            .enumerate()
            .map(|(i, depths)| {
                let mut role = Role::default();
                for (slot, depth) in depths.iter().enumerate() {
                    let entity = if slot < 8 { "account" } else { "currency" };
                    role = role.grant(
                        entity,
                        Privilege::ALL[slot % 8],
                        Depth::ALL[usize::from(*depth) % 5],
                    );
                }
                (format!("r{i}"), role)
            })
            .collect();
        let (enabled, depth, managers_can_write) = self.hierarchy;
        let records = self
            .records
            .iter()
            .map(|(kind, owner, unit)| {
                let owner = match kind {
                    1 if !self.teams.is_empty() => EntityRef {
                        entity: TEAM_ENTITY.to_owned(),
                        id: format!("t{}", pick(*owner, self.teams.len())),
                    },
                    2 => EntityRef {
                        entity: "account".to_owned(),
                        id: user_id(*owner),
                    },
                    _ => EntityRef {
                        entity: USER_ENTITY.to_owned(),
                        id: user_id(*owner),
                    },
                };
                RecordFacts {
                    owner,
                    owning_business_unit: bu(*unit),
                }
            })
            .collect();
        let org = OrgSecurity {
            business_units,
            users,
            teams,
            roles,
            field_profiles: BTreeMap::new(),
            hierarchy: HierarchySettings {
                enabled,
                depth,
                managers_can_write,
            },
        };
        (org, user_id(self.subject), records)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_scope_admits_exactly_the_records_the_check_allows(raw in raw_org()) {
        let (org, subject, records) = raw.build();
        let principal = org.principal(&subject).expect("the random org is consistent");
        for entity in [account(), currency()] {
            for privilege in Privilege::ALL {
                let scope = principal.scope(&entity, privilege);
                for record in &records {
                    prop_assert_eq!(
                        scope.matches(record),
                        principal.can(&entity, privilege, record),
                        "scope({:?}) on {} should agree with can() for {:?}",
                        privilege, entity.name, record
                    );
                }
            }
        }
    }

    #[test]
    fn a_scopes_sql_selects_exactly_what_it_matches_in_sqlite(
        raw in raw_org(),
        prefix in 0..3_usize,
    ) {
        let (org, subject, records) = raw.build();
        let principal = org.principal(&subject).expect("the random org is consistent");
        let entity = account();
        for privilege in [Privilege::Read, Privilege::Write] {
            let scope = principal.scope(&entity, privilege);
            let expected: BTreeSet<usize> = (0..records.len())
                .filter(|i| scope.matches(&records[*i]))
                .collect();
            prop_assert_eq!(
                select(&records, &scope, prefix),
                expected,
                "SQLite should select exactly what scope({:?}) matches",
                privilege
            );
        }
    }
}
