//! The business process flows of the demo org: the opportunity sales process and the
//! phone-to-case process. A record's active stage lives in its `activestageid`.

use crate::metadata::{FlowStage, FlowStep, ProcessFlow};

/// Id of the opportunity sales process.
pub const OPPORTUNITY_SALES_PROCESS: &str = "opportunity-sales-process";
/// Id of the phone-to-case process.
pub const PHONE_TO_CASE_PROCESS: &str = "phone-to-case-process";

/// A stage: (id, name, steps as (attribute, required)).
type Stage<'a> = (&'a str, &'a str, &'a [(&'a str, bool)]);

fn flow(id: &str, name: &str, entity: &str, stages: &[Stage<'_>]) -> ProcessFlow {
    ProcessFlow {
        id: id.to_owned(),
        name: name.to_owned(),
        entity: entity.to_owned(),
        stages: stages
            .iter()
            .map(|(id, name, steps)| FlowStage {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                steps: steps
                    .iter()
                    .map(|(attribute, required)| FlowStep {
                        attribute: (*attribute).to_owned(),
                        required: *required,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Both flows.
pub(super) fn flows() -> Vec<ProcessFlow> {
    vec![
        flow(
            OPPORTUNITY_SALES_PROCESS,
            "Opportunity Sales Process",
            "opportunity",
            &[
                (
                    "sales-qualify",
                    "Qualify",
                    &[
                        ("customerid", true),
                        ("estimatedvalue", true),
                        ("purchasetimeframe", false),
                        ("budgetamount", false),
                    ],
                ),
                (
                    "sales-develop",
                    "Develop",
                    &[
                        ("estimatedclosedate", true),
                        ("customerneed", false),
                        ("currentsituation", false),
                    ],
                ),
                (
                    "sales-propose",
                    "Propose",
                    &[
                        ("closeprobability", true),
                        ("proposedsolution", false),
                        ("decisionmaker", false),
                    ],
                ),
                (
                    "sales-close",
                    "Close",
                    &[("discountpercentage", false), ("description", false)],
                ),
            ],
        ),
        flow(
            PHONE_TO_CASE_PROCESS,
            "Phone to Case Process",
            "incident",
            &[
                (
                    "case-identify",
                    "Identify",
                    &[
                        ("customerid", true),
                        ("title", true),
                        ("primarycontactid", false),
                    ],
                ),
                (
                    "case-research",
                    "Research",
                    &[
                        ("casetypecode", true),
                        ("prioritycode", false),
                        ("description", false),
                    ],
                ),
                ("case-resolve", "Resolve", &[("followupby", false)]),
            ],
        ),
    ]
}
