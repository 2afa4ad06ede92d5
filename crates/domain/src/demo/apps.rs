//! The app modules of the demo org and their sitemaps.
//!
//! A module's `entities` are its sitemap's entities plus what its offline commands create
//! (the close and resolution activities) and the organization entities its owners and
//! lookups point at, so that a device holding the module can show and make all of them.

use crate::metadata::{AppModule, OfflineMode, SitemapArea, SitemapGroup, SubArea};

/// A sitemap group: (id, label, entities with their subarea labels).
type Group<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Organization entities every module may need for owners and lookups.
const ORG: [&str; 3] = ["systemuser", "team", "businessunit"];

fn module(
    id: &str,
    name: &str,
    offline: Option<OfflineMode>,
    groups: &[Group<'_>],
    also: &[&str],
) -> AppModule {
    let groups: Vec<SitemapGroup> = groups
        .iter()
        .map(|(group, label, subareas)| SitemapGroup {
            id: (*group).to_owned(),
            label: (*label).to_owned(),
            subareas: subareas
                .iter()
                .map(|(entity, label)| SubArea {
                    id: format!("{id}-{entity}"),
                    label: (*label).to_owned(),
                    entity: (*entity).to_owned(),
                })
                .collect(),
        })
        .collect();
    let mut entities: Vec<String> = groups
        .iter()
        .flat_map(|g| g.subareas.iter().map(|s| s.entity.clone()))
        .collect();
    for extra in also {
        if !entities.iter().any(|e| e == extra) {
            entities.push((*extra).to_owned());
        }
    }
    AppModule {
        id: id.to_owned(),
        name: name.to_owned(),
        sitemap: vec![SitemapArea {
            id: format!("{id}-area"),
            label: name.to_owned(),
            groups,
        }],
        entities,
        offline,
    }
}

const CUSTOMERS: Group<'static> = (
    "customers",
    "Customers",
    &[("account", "Accounts"), ("contact", "Contacts")],
);

const ACTIVITIES: Group<'static> = (
    "activities",
    "Activities",
    &[
        ("task", "Tasks"),
        ("phonecall", "Phone Calls"),
        ("appointment", "Appointments"),
    ],
);

/// Field Sales, Field Service (both synced) and Quick Capture (drafts).
pub(super) fn app_modules() -> Vec<AppModule> {
    let with_org = |extra: &[&'static str]| -> Vec<&'static str> {
        extra.iter().copied().chain(ORG).collect()
    };
    vec![
        module(
            "field-sales",
            "Field Sales",
            Some(OfflineMode::Sync),
            &[
                CUSTOMERS,
                (
                    "sales",
                    "Sales",
                    &[("lead", "Leads"), ("opportunity", "Opportunities")],
                ),
                ACTIVITIES,
            ],
            &with_org(&["opportunityclose"]),
        ),
        module(
            "field-service",
            "Field Service",
            Some(OfflineMode::Sync),
            &[
                CUSTOMERS,
                ("service", "Service", &[("incident", "Cases")]),
                ACTIVITIES,
            ],
            &with_org(&["incidentresolution"]),
        ),
        module(
            "quick-capture",
            "Quick Capture",
            Some(OfflineMode::Drafts),
            &[(
                "capture",
                "Capture",
                &[
                    ("account", "Accounts"),
                    ("contact", "Contacts"),
                    ("lead", "Leads"),
                ],
            )],
            &ORG,
        ),
    ]
}
