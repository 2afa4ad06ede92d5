//! The demo org (S4): a small sales and service CRM with every attribute kind, forms,
//! system views, two business process flows and three app modules. Deterministic: the
//! same metadata, with the same fingerprint, on every call, build and platform. Tests of
//! every crate and the server's demo org use it.

mod activities;
mod apps;
mod build;
mod customers;
mod flows;
mod org;
mod people;
mod records;
mod rng;
mod sales;
mod service;

pub use flows::{OPPORTUNITY_SALES_PROCESS, PHONE_TO_CASE_PROCESS};
pub use people::{
    ADMIN_USERNAME, DemoBusinessUnit, DemoOrg, DemoTeam, DemoUser, FIELD_USERNAME, FINANCE_PROFILE,
    Job, demo_id, demo_org, role,
};
pub use records::{DemoData, DemoRecord};

use crate::metadata::{EntityDef, Metadata, Relationship};

/// Filter of the "My active …" views (B7 query language).
const MY_ACTIVE: &str = "statecode eq 0 and ownerid eq-userid";
/// Filter of the "Active …" views.
const ACTIVE: &str = "statecode eq 0";

/// The demo org's metadata, version 1.
pub fn metadata() -> Metadata {
    let mut entities = vec![
        customers::account(),
        customers::contact(),
        sales::lead(),
        sales::opportunity(),
        service::incident(),
        activities::task(),
        activities::phonecall(),
        activities::appointment(),
        sales::opportunityclose(),
        service::incidentresolution(),
    ];
    entities.extend(org::org_entities());
    let relationships = relationships(&entities);
    Metadata {
        version: 1,
        entities,
        relationships,
        flows: flows::flows(),
        app_modules: apps::app_modules(),
    }
}

/// One 1:N relationship per lookup (and owner) target, named
/// `<referenced>_<referencing>_<attribute>`.
fn relationships(entities: &[EntityDef]) -> Vec<Relationship> {
    entities
        .iter()
        .flat_map(|e| {
            e.attributes.iter().flat_map(move |a| {
                a.kind
                    .targets()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |target| Relationship {
                        name: format!("{target}_{}_{}", e.name, a.name),
                        referenced_entity: target,
                        referencing_entity: e.name.clone(),
                        referencing_attribute: a.name.clone(),
                    })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
