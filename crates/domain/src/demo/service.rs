//! The service entities of the demo org: the case (`incident`) and its resolution.

use super::build::{
    AttrExt, CLOSE_STATES, CLOSE_STATUSES, choice, date_time, default, entity, lookup, main_form,
    memo, quick_find, system, tab, text, view, whole, yes_no,
};
use super::{ACTIVE, MY_ACTIVE};
use crate::metadata::EntityDef;

/// Customer service cases.
pub(super) fn incident() -> EntityDef {
    let mut attributes = vec![
        text("title", "Case title", 200).required(),
        text("ticketnumber", "Case number", 100).read_only(),
        lookup("customerid", "Customer", &["account", "contact"]).required(),
        lookup("primarycontactid", "Contact", &["contact"]),
        choice(
            "casetypecode",
            "Case type",
            &[(1, "Question"), (2, "Problem"), (3, "Request")],
        ),
        choice(
            "prioritycode",
            "Priority",
            &[(1, "High"), (2, "Normal"), (3, "Low")],
        ),
        choice(
            "caseorigincode",
            "Origin",
            &[(1, "Phone"), (2, "Email"), (3, "Web")],
        ),
        date_time("followupby", "Follow up by"),
        yes_no("isescalated", "Is escalated"),
        memo("description", "Description"),
        text("activestageid", "Active stage", 100).read_only(),
    ];
    attributes.extend(system(
        &[(0, "Active"), (1, "Resolved"), (2, "Canceled")],
        &[
            (1, "In Progress", 0, true),
            (2, "On Hold", 0, false),
            (3, "Waiting for Details", 0, false),
            (4, "Researching", 0, false),
            (5, "Problem Solved", 1, true),
            (1000, "Information Provided", 1, false),
            (6, "Canceled", 2, true),
            (2000, "Merged", 2, false),
        ],
    ));
    let mut e = entity("incident", "Case", "Cases", "title", attributes);
    e.quick_find = quick_find(&["title", "ticketnumber", "customerid"]);
    e.forms = vec![main_form(vec![
        tab(
            "summary",
            "Summary",
            &[
                (
                    "case",
                    "Case",
                    &[
                        "title",
                        "ticketnumber",
                        "customerid",
                        "primarycontactid",
                        "caseorigincode",
                    ],
                ),
                (
                    "triage",
                    "Triage",
                    &["casetypecode", "prioritycode", "followupby", "isescalated"],
                ),
            ],
        ),
        tab(
            "details",
            "Details",
            &[(
                "description",
                "Description",
                &["description", "ownerid", "createdon", "modifiedon"],
            )],
        ),
    ])];
    let columns = [
        "ticketnumber",
        "title",
        "customerid",
        "prioritycode",
        "statuscode",
        "createdon",
    ];
    e.views = vec![
        default(view(
            "incident-my-active",
            "My Active Cases",
            &columns,
            Some(MY_ACTIVE),
            &["-createdon"],
        )),
        view(
            "incident-active",
            "Active Cases",
            &columns,
            Some(ACTIVE),
            &["prioritycode", "-createdon"],
        ),
        view(
            "incident-high-priority",
            "High Priority Cases",
            &columns,
            Some("statecode eq 0 and prioritycode eq 1"),
            &["-createdon"],
        ),
    ];
    e
}

/// The activity recorded when a case is resolved.
pub(super) fn incidentresolution() -> EntityDef {
    let mut attributes = vec![
        text("subject", "Resolution", 200).required(),
        lookup("incidentid", "Case", &["incident"])
            .required()
            .read_only(),
        whole("timespent", "Total time (minutes)", 0, 1_000_000),
        date_time("actualend", "Resolved on"),
        memo("description", "Description"),
    ];
    attributes.extend(system(&CLOSE_STATES, &CLOSE_STATUSES));
    let mut e = entity(
        "incidentresolution",
        "Case Resolution",
        "Case Resolutions",
        "subject",
        attributes,
    );
    e.quick_find = quick_find(&["subject"]);
    e.forms = vec![main_form(vec![tab(
        "general",
        "General",
        &[(
            "resolution",
            "Resolution",
            &[
                "subject",
                "incidentid",
                "timespent",
                "actualend",
                "description",
            ],
        )],
    )])];
    let columns = ["subject", "incidentid", "timespent", "actualend"];
    e.views = vec![
        default(view(
            "incidentresolution-all",
            "Case Resolutions",
            &columns,
            None,
            &["-actualend"],
        )),
        view(
            "incidentresolution-recent",
            "Resolved in the Last 30 Days",
            &columns,
            Some("actualend last-x-days 30"),
            &["-actualend"],
        ),
    ];
    e
}
