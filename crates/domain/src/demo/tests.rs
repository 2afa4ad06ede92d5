//! The demo metadata is self-consistent and has what the brief asks for.

use std::collections::BTreeSet;

use super::*;
use crate::metadata::{AttributeKind, Ownership};

#[test]
fn every_name_the_demo_metadata_mentions_exists() {
    let missing = metadata().dangling_references();
    assert!(
        missing.is_empty(),
        "every reference must resolve, these do not: {missing:#?}"
    );
}

#[test]
fn the_entities_the_brief_names_are_all_there() {
    let md = metadata();
    for name in [
        "account",
        "contact",
        "lead",
        "opportunity",
        "incident",
        "task",
        "phonecall",
        "appointment",
        "opportunityclose",
        "incidentresolution",
        "systemuser",
        "team",
        "businessunit",
    ] {
        assert!(md.entity(name).is_ok(), "the demo org must define `{name}`");
    }
    assert_eq!(md.version, 1, "the demo metadata starts at version 1");
}

#[test]
fn every_status_belongs_to_a_state_and_every_state_has_one_default_status() {
    let md = metadata();
    for e in &md.entities {
        let state = e.attribute("statecode").ok().map(|a| &a.kind);
        let status = e.attribute("statuscode").ok().map(|a| &a.kind);
        match (state, status) {
            (None, None) => assert_eq!(
                e.ownership,
                Ownership::Organization,
                "{}: only organization reference entities go without state",
                e.name
            ),
            (
                Some(AttributeKind::State { options: states }),
                Some(AttributeKind::Status { options: statuses }),
            ) => {
                for s in statuses {
                    assert!(
                        states.iter().any(|st| st.value == s.state),
                        "{}: status {} must belong to an existing state, not {}",
                        e.name,
                        s.value,
                        s.state
                    );
                }
                for st in states {
                    let defaults = statuses
                        .iter()
                        .filter(|s| s.state == st.value && s.default)
                        .count();
                    assert_eq!(
                        defaults, 1,
                        "{}: state {} must have exactly one default status",
                        e.name, st.value
                    );
                }
                let values: BTreeSet<i32> = statuses.iter().map(|s| s.value).collect();
                assert_eq!(
                    values.len(),
                    statuses.len(),
                    "{}: status values must be distinct",
                    e.name
                );
            }
            other => panic!(
                "{}: statecode must be a State and statuscode a Status, got {other:?}",
                e.name
            ),
        }
    }
}

#[test]
fn the_documented_status_codes_are_the_ones_defined() {
    let md = metadata();
    let codes = |entity: &str| -> Vec<(i32, i32)> {
        match md
            .entity(entity)
            .and_then(|e| e.attribute("statuscode"))
            .map(|a| &a.kind)
        {
            Ok(AttributeKind::Status { options }) => {
                let mut v: Vec<(i32, i32)> = options.iter().map(|s| (s.state, s.value)).collect();
                v.sort_unstable();
                v
            }
            other => panic!("{entity} must have a status reason, got {other:?}"),
        }
    };
    let cases: [(&str, &[(i32, i32)]); 8] = [
        ("account", &[(0, 1), (1, 2)]),
        ("contact", &[(0, 1), (1, 2)]),
        (
            "lead",
            &[(0, 1), (0, 2), (1, 3), (2, 4), (2, 5), (2, 6), (2, 7)],
        ),
        ("opportunity", &[(0, 1), (0, 2), (1, 3), (2, 4), (2, 5)]),
        (
            "incident",
            &[
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (1, 5),
                (1, 1000),
                (2, 6),
                (2, 2000),
            ],
        ),
        ("task", &[(0, 2), (0, 3), (0, 4), (0, 7), (1, 5), (2, 6)]),
        ("phonecall", &[(0, 1), (1, 2), (1, 4), (2, 3)]),
        (
            "appointment",
            &[(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (3, 6)],
        ),
    ];
    for (entity, want) in cases {
        assert_eq!(
            codes(entity),
            want,
            "{entity}: (state, status) pairs must match crm-offline-facts §4.5"
        );
    }
}

#[test]
fn every_user_owned_entity_has_the_system_attributes_read_only() {
    let md = metadata();
    for e in md
        .entities
        .iter()
        .filter(|e| e.ownership == Ownership::User)
    {
        for name in [
            "ownerid",
            "owningbusinessunit",
            "createdon",
            "modifiedon",
            "createdby",
            "modifiedby",
            "statecode",
        ] {
            let a = e
                .attribute(name)
                .unwrap_or_else(|_| panic!("{} must have `{name}`", e.name));
            assert!(!a.updatable, "{}.{name} must not be updatable", e.name);
        }
        assert!(
            e.attribute("statuscode").is_ok(),
            "{} must have a status reason",
            e.name
        );
    }
}

#[test]
fn every_attribute_kind_appears_at_least_once() {
    let md = metadata();
    let kinds: BTreeSet<&str> = md
        .entities
        .iter()
        .flat_map(|e| &e.attributes)
        .map(|a| match a.kind {
            AttributeKind::Text { .. } => "text",
            AttributeKind::Memo { .. } => "memo",
            AttributeKind::WholeNumber { .. } => "whole",
            AttributeKind::BigInt => "bigint",
            AttributeKind::Decimal { .. } => "decimal",
            AttributeKind::Money { .. } => "money",
            AttributeKind::Bool => "bool",
            AttributeKind::DateTime => "datetime",
            AttributeKind::DateOnly => "date",
            AttributeKind::Choice { .. } => "choice",
            AttributeKind::Lookup { .. } => "lookup",
            AttributeKind::Owner => "owner",
            AttributeKind::State { .. } => "state",
            AttributeKind::Status { .. } => "status",
        })
        .collect();
    assert_eq!(kinds.len(), 14, "all 14 kinds must be used, got {kinds:?}");
    let secured = md
        .entities
        .iter()
        .flat_map(|e| &e.attributes)
        .filter(|a| a.secured)
        .count();
    assert!(secured >= 1, "at least one field must be secured (B4)");
}

#[test]
fn every_business_entity_has_a_form_quick_find_and_views_with_one_default() {
    let md = metadata();
    for e in md
        .entities
        .iter()
        .filter(|e| e.ownership == Ownership::User)
    {
        assert!(!e.forms.is_empty(), "{} must have a main form", e.name);
        assert!(
            !e.quick_find.is_empty(),
            "{} must have quick-find columns",
            e.name
        );
        assert!(e.views.len() >= 2, "{} must have two views", e.name);
    }
    for e in &md.entities {
        let defaults = e.views.iter().filter(|v| v.default).count();
        assert_eq!(defaults, 1, "{} must have exactly one default view", e.name);
        let ids: BTreeSet<&str> = e.views.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids.len(), e.views.len(), "{}: view ids are unique", e.name);
    }
}

#[test]
fn every_lookup_has_a_relationship() {
    let md = metadata();
    for e in &md.entities {
        for a in &e.attributes {
            for target in a.kind.targets().unwrap_or_default() {
                assert!(
                    md.relationships
                        .iter()
                        .any(|r| r.referenced_entity == target
                            && r.referencing_entity == e.name
                            && r.referencing_attribute == a.name),
                    "{}.{} → {target} must have a 1:N relationship",
                    e.name,
                    a.name
                );
            }
        }
    }
}

#[test]
fn the_flows_have_unique_stages_and_required_steps() {
    let md = metadata();
    let sales = md
        .flows
        .iter()
        .find(|f| f.id == OPPORTUNITY_SALES_PROCESS)
        .expect("the sales process exists");
    let stages: Vec<&str> = sales.stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        stages,
        [
            "sales-qualify",
            "sales-develop",
            "sales-propose",
            "sales-close"
        ],
        "the sales process runs qualify → develop → propose → close"
    );
    let case = md
        .flows
        .iter()
        .find(|f| f.id == PHONE_TO_CASE_PROCESS)
        .expect("the phone-to-case process exists");
    assert_eq!(case.entity, "incident", "phone to case runs on cases");
    assert_eq!(case.stages.len(), 3, "identify → research → resolve");
    let all: Vec<&str> = md
        .flows
        .iter()
        .flat_map(|f| &f.stages)
        .map(|s| s.id.as_str())
        .collect();
    let unique: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "stage ids are unique across flows");
    for flow in &md.flows {
        assert!(
            md.entity(&flow.entity)
                .is_ok_and(|e| e.attribute("activestageid").is_ok()),
            "{} keeps its active stage in activestageid",
            flow.entity
        );
        assert!(
            flow.stages
                .iter()
                .flat_map(|s| &s.steps)
                .any(|s| s.required),
            "{} must have a required step",
            flow.id
        );
    }
}

#[test]
fn the_app_modules_are_the_three_of_the_demo_org() {
    use crate::metadata::OfflineMode;
    let md = metadata();
    let modules: Vec<(&str, Option<OfflineMode>)> = md
        .app_modules
        .iter()
        .map(|m| (m.name.as_str(), m.offline))
        .collect();
    assert_eq!(
        modules,
        [
            ("Field Sales", Some(OfflineMode::Sync)),
            ("Field Service", Some(OfflineMode::Sync)),
            ("Quick Capture", Some(OfflineMode::Drafts)),
        ],
        "two synced modules and one drafts module"
    );
    for m in &md.app_modules {
        for s in m
            .sitemap
            .iter()
            .flat_map(|a| &a.groups)
            .flat_map(|g| &g.subareas)
        {
            assert!(
                m.entities.contains(&s.entity),
                "{}: sitemap entity {} must be one of the module's entities",
                m.id,
                s.entity
            );
        }
    }
}

#[test]
fn the_demo_metadata_is_deterministic() {
    let (a, b) = (metadata(), metadata());
    assert_eq!(a, b, "two calls give the same metadata");
    assert_eq!(
        a.fingerprint(),
        b.fingerprint(),
        "two calls give the same fingerprint"
    );
    let json = serde_json::to_string(&a).expect("serialisable");
    let back: Metadata = serde_json::from_str(&json).expect("deserialisable");
    assert_eq!(back, a, "the metadata survives a JSON round trip");
}

#[test]
fn every_view_of_the_demo_org_parses_and_checks_against_its_entity() {
    let md = metadata();
    let mut views = 0;
    for entity in &md.entities {
        for view in &entity.views {
            let query = crate::query::Query::for_view(view)
                .unwrap_or_else(|e| panic!("{}/{} does not parse: {e}", entity.name, view.name));
            if let Err(e) = query.check(entity) {
                panic!("{}/{} does not check: {e}", entity.name, view.name);
            }
            views += 1;
        }
    }
    assert!(views >= 20, "every business entity has views: {views}");
}

#[test]
fn every_decimal_fits_the_scaled_integer_columns_the_query_language_compiles_against() {
    // Decimals and money are stored as value × 10^precision in a 64-bit integer.
    let limit = rust_decimal::Decimal::from(i64::MAX);
    for entity in &metadata().entities {
        for attr in &entity.attributes {
            if let crate::metadata::AttributeKind::Decimal {
                precision,
                min,
                max,
            }
            | crate::metadata::AttributeKind::Money {
                precision,
                min,
                max,
            } = &attr.kind
            {
                let scale = rust_decimal::Decimal::from(10_i64.pow(*precision));
                for bound in [min, max] {
                    assert!(
                        bound.abs() * scale < limit,
                        "{}.{} bound {bound} at precision {precision} overflows a 64-bit column",
                        entity.name,
                        attr.name
                    );
                }
            }
        }
    }
}

#[test]
fn the_demo_metadata_survives_a_json_round_trip_unchanged() {
    let md = metadata();
    let json = serde_json::to_string(&md).expect("serialisable");
    let back: Metadata = serde_json::from_str(&json).expect("deserialisable");
    assert_eq!(back, md, "serde keeps every part of the metadata");
    assert_eq!(back.fingerprint(), md.fingerprint(), "and its fingerprint");
}
