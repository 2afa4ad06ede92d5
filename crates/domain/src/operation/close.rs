//! Opportunity close as won or lost, and case resolve (S13, C5). Each records a completed
//! close activity (`opportunityclose`, `incidentresolution`) with the caller's id and
//! closes the record; a record that is not open cannot close again.

use super::outcome::{Applied, OpError};
use super::record::{Run, field, fit, reference, require_open, require_status_in, set, set_state};
use super::storage::RecordStorage;
use crate::value::Fields;

/// Opportunity state: won.
pub(super) const WON: i32 = 1;
/// Opportunity state: lost.
pub(super) const LOST: i32 = 2;
/// Case state: resolved.
pub(super) const RESOLVED: i32 = 1;
/// State of a close activity once recorded: completed.
const COMPLETED: i32 = 1;

/// How an opportunity closes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome<'a> {
    /// Won, for this revenue (the estimated revenue when `None`).
    Won {
        /// Actual revenue, money text.
        actual_revenue: Option<&'a str>,
    },
    /// Lost, with a status reason of the Lost state, maybe to a competitor.
    Lost {
        /// Status reason (4 Canceled, 5 Out-Sold).
        status: i32,
        /// Who won instead.
        competitor: Option<&'a str>,
    },
}

fn text(fields: &mut Fields, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        set(fields, name, value);
    }
}

/// Closes the opportunity `id`, recording the close activity `close_id`. The
/// opportunity's actual revenue, actual close date (today) and probability (100 or 0)
/// are set.
pub(super) fn close_opportunity<S: RecordStorage>(
    mut run: Run<'_, S>,
    (id, close_id): (&str, &str),
    outcome: Outcome<'_>,
    description: Option<&str>,
) -> Result<Applied, OpError> {
    let def = run.def("opportunity")?;
    let close_def = run.def("opportunityclose")?;
    if let Outcome::Lost { status, .. } = outcome {
        require_status_in(def, status, LOST)?;
    }
    let mut opportunity = run.load("opportunity", id)?;
    require_open(def, id, &opportunity, "closed")?;
    let name = field(&opportunity, "name").unwrap_or_default().to_owned();
    let mut given = Fields::new();
    set(&mut given, "opportunityid", reference("opportunity", id));
    set(&mut given, "actualend", run.now());
    text(&mut given, "description", description);
    let (state, status, probability) = match outcome {
        Outcome::Won { actual_revenue } => {
            let revenue = actual_revenue.or_else(|| field(&opportunity, "estimatedvalue"));
            text(&mut given, "actualrevenue", revenue);
            set(
                &mut given,
                "subject",
                fit(close_def, "subject", &format!("Won: {name}")),
            );
            (WON, None, "100")
        }
        Outcome::Lost { status, competitor } => {
            set(&mut given, "actualrevenue", "0");
            text(&mut given, "competitor", competitor);
            set(
                &mut given,
                "subject",
                fit(close_def, "subject", &format!("Lost: {name}")),
            );
            (LOST, Some(status), "0")
        }
    };
    let mut close = run.new_record(close_def, &given)?;
    set_state(close_def, &mut close, COMPLETED, None);
    run.ensure_absent("opportunityclose", close_id)?;
    opportunity.insert(
        "actualvalue".to_owned(),
        field(&close, "actualrevenue").map(str::to_owned),
    );
    set(&mut opportunity, "actualclosedate", run.today());
    set(&mut opportunity, "closeprobability", probability);
    set_state(def, &mut opportunity, state, status);
    run.insert("opportunityclose", close_id, &close)?;
    run.write(def, id, opportunity)?;
    Ok(run.done())
}

/// What a case resolution records.
pub(super) struct Resolution<'a> {
    /// The resolution record's id.
    pub(super) id: &'a str,
    /// Status reason of the Resolved state (5 Problem Solved, 1000 Information Provided).
    pub(super) status: i32,
    /// What solved it.
    pub(super) subject: &'a str,
    /// Time spent on the case, in minutes.
    pub(super) time_spent_minutes: Option<u32>,
}

/// Resolves the case `id`, recording the resolution.
pub(super) fn resolve_case<S: RecordStorage>(
    mut run: Run<'_, S>,
    id: &str,
    resolution: &Resolution<'_>,
) -> Result<Applied, OpError> {
    let def = run.def("incident")?;
    let resolution_def = run.def("incidentresolution")?;
    require_status_in(def, resolution.status, RESOLVED)?;
    let mut case = run.load("incident", id)?;
    require_open(def, id, &case, "resolved")?;
    let mut given = Fields::new();
    set(&mut given, "subject", resolution.subject);
    set(&mut given, "incidentid", reference("incident", id));
    set(&mut given, "actualend", run.now());
    if let Some(minutes) = resolution.time_spent_minutes {
        set(&mut given, "timespent", minutes.to_string());
    }
    let mut record = run.new_record(resolution_def, &given)?;
    set_state(resolution_def, &mut record, COMPLETED, None);
    run.ensure_absent("incidentresolution", resolution.id)?;
    set_state(def, &mut case, RESOLVED, Some(resolution.status));
    run.insert("incidentresolution", resolution.id, &record)?;
    run.write(def, id, case)?;
    Ok(run.done())
}
