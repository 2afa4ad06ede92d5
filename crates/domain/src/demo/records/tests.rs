use std::collections::{BTreeMap, BTreeSet};

use time::macros::datetime;

use super::*;
use crate::demo::{self, FIELD_USERNAME, demo_org};
use crate::security::{Privilege, RecordFacts};
use crate::value::EntityRef;

const AS_OF: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

fn data(seed: u64, total: u64) -> DemoData {
    DemoData::new(&demo::metadata(), &demo_org(seed), seed, total, AS_OF)
}

#[test]
fn every_generated_record_is_valid_for_its_entity() {
    let metadata = demo::metadata();
    let data = data(7, 4_000);
    let mut per_entity: BTreeMap<String, u64> = BTreeMap::new();
    for record in data.records() {
        let def = metadata
            .entity(&record.entity)
            .expect("generated entities exist");
        if let Err(errors) = def.canonical_create(&record.fields) {
            panic!(
                "{} {} is invalid: {errors:?}\n{:?}",
                record.entity, record.id, record.fields
            );
        }
        *per_entity.entry(record.entity).or_default() += 1;
    }
    for entity in metadata.entities.iter().map(|e| e.name.as_str()) {
        assert!(
            per_entity.get(entity).copied().unwrap_or(0) > 0,
            "some {entity} records are generated: {per_entity:?}"
        );
    }
    let business: u64 = per_entity
        .iter()
        .filter(|(e, _)| !matches!(e.as_str(), "systemuser" | "team" | "businessunit"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        (3_900..=4_100).contains(&business),
        "about the asked number of records: {business}"
    );
}

#[test]
fn the_same_seed_makes_the_same_org_and_another_seed_another() {
    let a: Vec<_> = data(1, 500).records().collect();
    let b: Vec<_> = data(1, 500).records().collect();
    let c: Vec<_> = data(2, 500).records().collect();
    assert_eq!(a, b, "deterministic from the seed");
    assert_ne!(a, c, "the seed matters");
}

#[test]
fn record_n_is_the_same_whether_streamed_or_asked_for_alone() {
    let data = data(3, 2_000);
    let streamed = data
        .records()
        .find(|r| r.entity == "opportunity")
        .expect("opportunities exist");
    assert_eq!(
        data.record("opportunity", 0),
        Some(streamed),
        "random access matches the stream"
    );
    assert_eq!(
        data.record("opportunity", data.count("opportunity")),
        None,
        "out of range is none"
    );
}

#[test]
fn lookups_point_at_records_that_exist() {
    let data = data(5, 3_000);
    let ids: BTreeSet<String> = data
        .records()
        .map(|r| format!("{}:{}", r.entity, r.id))
        .collect();
    let metadata = demo::metadata();
    for record in data.records() {
        let def = metadata.entity(&record.entity).expect("exists");
        for attr in def.attributes.iter().filter(|a| a.kind.targets().is_some()) {
            if let Some(Some(target)) = record.fields.get(&attr.name) {
                assert!(
                    ids.contains(target),
                    "{} {}.{} points at {target}, which exists",
                    record.entity,
                    record.id,
                    attr.name
                );
            }
        }
    }
}

#[test]
fn owners_and_business_units_fit_together_and_security_sees_them() {
    let org = demo_org(11);
    let metadata = demo::metadata();
    let security = org
        .security(&metadata)
        .expect("the demo org's security is consistent");
    let fiona = org.user(FIELD_USERNAME).expect("the field user exists");
    let principal = security.principal(&fiona.id).expect("fiona is a user");
    let account = metadata.entity("account").expect("exists");
    let data = DemoData::new(&metadata, &org, 11, 5_000, AS_OF);
    let (mut readable, mut own) = (0, 0);
    for record in data.records().filter(|r| r.entity == "account") {
        let owner = record.fields["ownerid"]
            .clone()
            .expect("accounts have owners");
        let (entity, id) = owner.split_once(':').expect("entity:id");
        let bu = record.fields["owningbusinessunit"]
            .clone()
            .expect("and a business unit");
        let expected_bu = match entity {
            "systemuser" => org
                .users
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.business_unit.clone()),
            _ => org
                .teams
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.business_unit.clone()),
        };
        assert_eq!(
            Some(bu.trim_start_matches("businessunit:").to_owned()),
            expected_bu,
            "the owning unit is the owner's"
        );
        let facts = RecordFacts {
            owner: EntityRef {
                entity: entity.to_owned(),
                id: id.to_owned(),
            },
            owning_business_unit: bu.trim_start_matches("businessunit:").to_owned(),
        };
        readable += u32::from(principal.can(account, Privilege::Read, &facts));
        own += u32::from(id == fiona.id);
    }
    assert!(own > 0, "the field user owns some accounts");
    assert!(
        readable > own,
        "and reads her business unit's accounts too (salesperson: BU read on accounts)"
    );
    assert!(
        readable < data.count("account") as u32,
        "but not every account in the org"
    );
}

#[test]
fn the_org_has_a_three_level_tree_and_a_manager_chain() {
    let org = demo_org(1);
    let depth = |id: &str| {
        let mut d = 0;
        let mut at = org.business_units.iter().find(|b| b.id == id);
        while let Some(unit) = at.and_then(|b| b.parent.as_ref()) {
            d += 1;
            at = org.business_units.iter().find(|b| &b.id == unit);
        }
        d
    };
    assert_eq!(
        org.business_units.iter().map(|b| depth(&b.id)).max(),
        Some(2),
        "three levels"
    );
    let fiona = org.user(FIELD_USERNAME).expect("exists");
    let manager = org
        .users
        .iter()
        .find(|u| Some(&u.id) == fiona.manager.as_ref())
        .expect("fiona has a manager");
    let skip = org
        .users
        .iter()
        .find(|u| Some(&u.id) == manager.manager.as_ref())
        .expect("who has a manager");
    assert_eq!(
        skip.manager.as_deref(),
        Some(org.users[0].id.as_str()),
        "up to the administrator"
    );
    for job in [Job::Admin, Job::Manager, Job::SalesRep, Job::Technician] {
        assert!(
            org.users.iter().any(|u| u.job == job),
            "someone works as {job:?}"
        );
    }
}
