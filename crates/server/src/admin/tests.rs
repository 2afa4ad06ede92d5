//! Profile validation over the demo org's metadata and security, without a database.

use std::collections::BTreeMap;
use std::sync::Arc;

use outpost_protocol::admin::{EntityOffline, ProfileDef};

use super::validate;
use crate::org::{self, Org};

/// The demo org with every entity offline, no profile and no assignment.
fn demo_org() -> Org {
    let metadata = outpost_domain::demo::metadata();
    let security = outpost_domain::demo::demo_org(7)
        .security(&metadata)
        .expect("the demo security fits the demo metadata");
    let offline = metadata
        .entities
        .iter()
        .map(|e| {
            let settings = EntityOffline {
                entity: e.name.clone(),
                enabled: true,
                filter: Some(String::new()),
            };
            (e.name.clone(), settings)
        })
        .collect();
    Org {
        id: "org".to_owned(),
        recovery_public_key: String::new(),
        config_version: 1,
        metadata: Arc::new(metadata),
        security,
        settings: org::default_settings(),
        offline,
        profiles: BTreeMap::new(),
        assignments: BTreeMap::new(),
    }
}

/// A profile whose every item has a rule to every other item: the shape of the fuzzer's
/// `metadata_profile` input (`fuzz/crashers/metadata_profile/`).
fn everything_linked(entities: &[&str]) -> ProfileDef {
    let items: Vec<serde_json::Value> = entities
        .iter()
        .map(|e| {
            let rules: Vec<serde_json::Value> = entities
                .iter()
                .filter(|other| *other != e)
                .map(|other| serde_json::json!({"entity": other, "attribute": "a"}))
                .collect();
            serde_json::json!({"entity": e, "data": {"kind": "all"}, "relationships": rules})
        })
        .collect();
    serde_json::from_value(serde_json::json!({"name": "x", "items": items}))
        .expect("a profile definition")
}

fn codes_of(problems: &[outpost_protocol::admin::ProfileProblem], code: &str) -> Vec<String> {
    problems
        .iter()
        .filter(|p| p.code == code)
        .map(|p| p.entity.clone())
        .collect()
}

/// A timeout of the `metadata_profile` fuzz target: eleven items each with a rule to every
/// other one (4 KB of JSON, `fuzz/crashers/metadata_profile/`) kept the cycle check
/// following every path between them, 10! per item, for over eight minutes of CPU inside
/// the admin's transaction.
#[test]
fn rules_linking_every_item_to_every_other_are_checked_for_cycles_once_per_entity() {
    let org = demo_org();
    let unknown: Vec<String> = (0..11).map(|i| format!("e{i}")).collect();
    let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
    let problems = validate(&org, &everything_linked(&unknown));
    assert_eq!(
        codes_of(&problems, "entity_not_enabled"),
        unknown,
        "unknown entities are refused as such"
    );
    assert!(
        codes_of(&problems, "circular_relationship").is_empty(),
        "entities the org does not have are no part of the rule graph: {problems:?}"
    );

    let known = [
        "account",
        "appointment",
        "businessunit",
        "contact",
        "incident",
        "lead",
        "opportunity",
        "phonecall",
        "systemuser",
        "task",
        "team",
    ];
    let problems = validate(&org, &everything_linked(&known));
    assert_eq!(
        codes_of(&problems, "circular_relationship"),
        known,
        "every item on a cycle is named once: {problems:?}"
    );
    let first = problems
        .iter()
        .find(|p| p.code == "circular_relationship")
        .expect("a cycle");
    assert_eq!(
        first.message, "relationship rules go round in a circle: account → appointment → account",
        "the shortest way round is shown"
    );
}

#[test]
fn a_rule_back_to_its_own_item_is_a_cycle_of_one() {
    let def: ProfileDef = serde_json::from_value(serde_json::json!({
        "name": "x",
        "items": [{"entity": "account", "data": {"kind": "all"},
                   "relationships": [{"entity": "account", "attribute": "parentaccountid"}]}]
    }))
    .expect("a profile definition");
    let problems = validate(&demo_org(), &def);
    let cycles: Vec<&str> = problems
        .iter()
        .filter(|p| p.code == "circular_relationship")
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(
        cycles,
        ["relationship rules go round in a circle: account → account"]
    );
}
