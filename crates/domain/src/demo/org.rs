//! The organization entities of the demo org: users, teams and business units. They are
//! organization-owned reference data that owners and lookups point at; no operation
//! changes them (an org's administration does).

use super::build::{AttrExt, default, entity, lookup, quick_find, text, view};
use crate::metadata::{EntityDef, Ownership};

/// The read-only organization entities that owners and lookups point at.
pub(super) fn org_entities() -> Vec<EntityDef> {
    let reference = |name: &str, label: &str, plural: &str, primary: &str, attributes| {
        let mut e = entity(name, label, plural, primary, attributes);
        e.ownership = Ownership::Organization;
        e.quick_find = quick_find(&[primary]);
        e.views = vec![default(view(
            &format!("{name}-all"),
            &format!("All {plural}"),
            &[primary],
            None,
            &[primary],
        ))];
        e
    };
    vec![
        reference(
            "systemuser",
            "User",
            "Users",
            "fullname",
            vec![
                text("fullname", "Full name", 200).required().read_only(),
                text("internalemailaddress", "Email", 100).read_only(),
                lookup("businessunitid", "Business unit", &["businessunit"]).read_only(),
                lookup("parentsystemuserid", "Manager", &["systemuser"]).read_only(),
            ],
        ),
        reference(
            "team",
            "Team",
            "Teams",
            "name",
            vec![
                text("name", "Team name", 160).required().read_only(),
                lookup("businessunitid", "Business unit", &["businessunit"]).read_only(),
            ],
        ),
        reference(
            "businessunit",
            "Business Unit",
            "Business Units",
            "name",
            vec![
                text("name", "Name", 160).required().read_only(),
                lookup(
                    "parentbusinessunitid",
                    "Parent business unit",
                    &["businessunit"],
                )
                .read_only(),
            ],
        ),
    ]
}
