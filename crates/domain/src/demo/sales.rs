//! The sales entities of the demo org: lead, opportunity and the opportunity-close
//! activity.

use super::build::{
    AttrExt, CLOSE_STATES, CLOSE_STATUSES, choice, date, date_time, decimal, default, entity,
    lookup, main_form, memo, money, quick_find, system, tab, text, view, whole, yes_no,
};
use super::{ACTIVE, MY_ACTIVE};
use crate::metadata::EntityDef;

/// Prospects not yet qualified.
pub(super) fn lead() -> EntityDef {
    let mut attributes = vec![
        text("subject", "Topic", 300).required(),
        text("fullname", "Name", 160).read_only(),
        text("firstname", "First name", 50),
        text("lastname", "Last name", 50).recommended(),
        text("jobtitle", "Job title", 100),
        text("companyname", "Company", 100).recommended(),
        text("emailaddress1", "Email", 100),
        text("telephone1", "Business phone", 50),
        text("address1_city", "City", 80),
        money("estimatedvalue", "Estimated value"),
        date("estimatedclosedate", "Estimated close date"),
        choice(
            "leadsourcecode",
            "Lead source",
            &[
                (1, "Advertisement"),
                (2, "Employee Referral"),
                (3, "External Referral"),
                (4, "Partner"),
                (5, "Public Relations"),
                (6, "Seminar"),
                (7, "Trade Show"),
                (8, "Web"),
                (9, "Word of Mouth"),
                (10, "Other"),
            ],
        ),
        choice(
            "leadqualitycode",
            "Rating",
            &[(1, "Hot"), (2, "Warm"), (3, "Cold")],
        ),
        yes_no("donotphone", "Do not allow phone calls"),
        lookup("parentaccountid", "Existing account", &["account"]),
        lookup("parentcontactid", "Existing contact", &["contact"]),
        lookup(
            "qualifyingopportunityid",
            "Qualifying opportunity",
            &["opportunity"],
        )
        .read_only(),
        memo("description", "Description"),
    ];
    attributes.extend(system(
        &[(0, "Open"), (1, "Qualified"), (2, "Disqualified")],
        &[
            (1, "New", 0, true),
            (2, "Contacted", 0, false),
            (3, "Qualified", 1, true),
            (4, "Lost", 2, true),
            (5, "Cannot Contact", 2, false),
            (6, "No Longer Interested", 2, false),
            (7, "Canceled", 2, false),
        ],
    ));
    let mut e = entity("lead", "Lead", "Leads", "fullname", attributes);
    e.quick_find = quick_find(&["fullname", "subject", "companyname", "emailaddress1"]);
    e.forms = vec![main_form(vec![
        tab(
            "summary",
            "Summary",
            &[
                (
                    "contact",
                    "Contact",
                    &[
                        "subject",
                        "firstname",
                        "lastname",
                        "jobtitle",
                        "emailaddress1",
                        "telephone1",
                    ],
                ),
                (
                    "company",
                    "Company",
                    &["companyname", "address1_city", "parentaccountid"],
                ),
            ],
        ),
        tab(
            "details",
            "Details",
            &[
                (
                    "qualification",
                    "Qualification",
                    &[
                        "estimatedvalue",
                        "estimatedclosedate",
                        "leadsourcecode",
                        "leadqualitycode",
                        "parentcontactid",
                        "qualifyingopportunityid",
                    ],
                ),
                (
                    "notes",
                    "Notes",
                    &["description", "donotphone", "ownerid", "createdon"],
                ),
            ],
        ),
    ])];
    let columns = [
        "fullname",
        "subject",
        "companyname",
        "leadsourcecode",
        "statuscode",
        "createdon",
    ];
    e.views = vec![
        default(view(
            "lead-my-open",
            "My Open Leads",
            &columns,
            Some(MY_ACTIVE),
            &["-createdon"],
        )),
        view(
            "lead-open",
            "Open Leads",
            &columns,
            Some(ACTIVE),
            &["-createdon"],
        ),
        view(
            "lead-new-this-week",
            "Leads Created in the Last 7 Days",
            &columns,
            Some("createdon last-x-days 7"),
            &["-createdon"],
        ),
    ];
    e
}

/// Potential sales.
pub(super) fn opportunity() -> EntityDef {
    let mut attributes = vec![
        text("name", "Topic", 300).required(),
        lookup("customerid", "Potential customer", &["account", "contact"]).recommended(),
        money("estimatedvalue", "Est. revenue"),
        money("budgetamount", "Budget amount"),
        date("estimatedclosedate", "Est. close date"),
        whole("closeprobability", "Probability", 0, 100),
        decimal("discountpercentage", "Discount (%)", 0, 100),
        choice(
            "purchasetimeframe",
            "Purchase timeframe",
            &[
                (0, "Immediate"),
                (1, "This Quarter"),
                (2, "Next Quarter"),
                (3, "This Year"),
                (4, "Unknown"),
            ],
        ),
        yes_no("decisionmaker", "Decision maker?"),
        memo("currentsituation", "Current situation"),
        memo("customerneed", "Customer need"),
        memo("proposedsolution", "Proposed solution"),
        memo("description", "Description"),
        money("actualvalue", "Actual revenue").read_only(),
        date("actualclosedate", "Actual close date").read_only(),
        lookup("originatingleadid", "Originating lead", &["lead"]).read_only(),
        text("activestageid", "Active stage", 100).read_only(),
    ];
    attributes.extend(system(
        &[(0, "Open"), (1, "Won"), (2, "Lost")],
        &[
            (1, "In Progress", 0, true),
            (2, "On Hold", 0, false),
            (3, "Won", 1, true),
            (4, "Canceled", 2, true),
            (5, "Out-Sold", 2, false),
        ],
    ));
    let mut e = entity(
        "opportunity",
        "Opportunity",
        "Opportunities",
        "name",
        attributes,
    );
    e.quick_find = quick_find(&["name", "customerid"]);
    e.forms = vec![main_form(vec![
        tab(
            "summary",
            "Summary",
            &[
                (
                    "info",
                    "Opportunity information",
                    &[
                        "name",
                        "customerid",
                        "purchasetimeframe",
                        "budgetamount",
                        "decisionmaker",
                    ],
                ),
                (
                    "forecast",
                    "Forecast",
                    &[
                        "estimatedvalue",
                        "estimatedclosedate",
                        "closeprobability",
                        "discountpercentage",
                    ],
                ),
            ],
        ),
        tab(
            "details",
            "Details",
            &[
                (
                    "needs",
                    "Needs",
                    &[
                        "currentsituation",
                        "customerneed",
                        "proposedsolution",
                        "description",
                    ],
                ),
                (
                    "close",
                    "Close",
                    &[
                        "actualvalue",
                        "actualclosedate",
                        "originatingleadid",
                        "ownerid",
                    ],
                ),
            ],
        ),
    ])];
    let columns = [
        "name",
        "customerid",
        "estimatedvalue",
        "estimatedclosedate",
        "closeprobability",
        "ownerid",
    ];
    e.views = vec![
        default(view(
            "opportunity-my-open",
            "My Open Opportunities",
            &columns,
            Some(MY_ACTIVE),
            &["estimatedclosedate"],
        )),
        view(
            "opportunity-open",
            "Open Opportunities",
            &columns,
            Some(ACTIVE),
            &["estimatedclosedate"],
        ),
        view(
            "opportunity-closing-soon",
            "Opportunities Closing in the Next 30 Days",
            &columns,
            Some("statecode eq 0 and estimatedclosedate next-x-days 30"),
            &["estimatedclosedate", "-estimatedvalue"],
        ),
        view(
            "opportunity-won",
            "Won Opportunities",
            &["name", "customerid", "actualvalue", "actualclosedate"],
            Some("statecode eq 1"),
            &["-actualclosedate"],
        ),
    ];
    e
}

/// The activity recorded when an opportunity is closed as won or lost.
pub(super) fn opportunityclose() -> EntityDef {
    let mut attributes = vec![
        text("subject", "Subject", 200).required(),
        lookup("opportunityid", "Opportunity", &["opportunity"])
            .required()
            .read_only(),
        money("actualrevenue", "Actual revenue"),
        date_time("actualend", "Closed on"),
        text("competitor", "Competitor", 100),
        memo("description", "Description"),
    ];
    attributes.extend(system(&CLOSE_STATES, &CLOSE_STATUSES));
    let mut e = entity(
        "opportunityclose",
        "Opportunity Close",
        "Opportunity Close Activities",
        "subject",
        attributes,
    );
    e.quick_find = quick_find(&["subject", "competitor"]);
    e.forms = vec![main_form(vec![tab(
        "general",
        "General",
        &[(
            "close",
            "Close",
            &[
                "subject",
                "opportunityid",
                "actualrevenue",
                "actualend",
                "competitor",
                "description",
            ],
        )],
    )])];
    let columns = ["subject", "opportunityid", "actualrevenue", "actualend"];
    e.views = vec![
        default(view(
            "opportunityclose-all",
            "Opportunity Close Activities",
            &columns,
            None,
            &["-actualend"],
        )),
        view(
            "opportunityclose-recent",
            "Closed in the Last 30 Days",
            &columns,
            Some("actualend last-x-days 30"),
            &["-actualend"],
        ),
    ];
    e
}
