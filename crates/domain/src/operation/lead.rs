//! Lead qualify and disqualify (S13, C5).
//!
//! Qualify creates the records the person chose, from the lead's fields, with the ids the
//! caller picked, links them both ways (each new record's `originatingleadid`; the lead's
//! `qualifyingopportunityid`, `parentaccountid`, `parentcontactid`; the contact's
//! company, the account's primary contact, the opportunity's customer) and marks the lead
//! Qualified (state 1, status 3). Disqualify marks it Disqualified (state 2) with a status
//! reason of that state, unless an opportunity already came from it. Both need an open
//! lead; afterwards the lead is read-only.

use super::outcome::{Applied, OpError};
use super::record::{
    Run, blank, field, invalid_state, reference, require_open, require_status_in, set, set_state,
};
use super::storage::RecordStorage;
use crate::metadata::ValidationError;
use crate::value::Fields;

/// Lead state: qualified.
pub(super) const QUALIFIED: i32 = 1;
/// Lead state: disqualified.
pub(super) const DISQUALIFIED: i32 = 2;

/// The ids of the records a qualify creates; `None` skips that record.
pub(super) struct Chosen<'a> {
    pub(super) account: Option<&'a str>,
    pub(super) contact: Option<&'a str>,
    pub(super) opportunity: Option<&'a str>,
}

/// The lead fields `pairs` (lead field, new record field) that have a value.
fn copy(lead: &Fields, pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .filter_map(|(from, to)| field(lead, from).map(|v| ((*to).to_owned(), Some(v.to_owned()))))
        .collect()
}

fn required(field: &str) -> OpError {
    OpError::Invalid(vec![ValidationError::Required {
        field: field.to_owned(),
    }])
}

/// Qualifies the lead, creating the chosen records.
pub(super) fn qualify<S: RecordStorage>(
    mut run: Run<'_, S>,
    lead_id: &str,
    chosen: &Chosen<'_>,
) -> Result<Applied, OpError> {
    let lead_def = run.def("lead")?;
    let mut lead = run.load("lead", lead_id)?;
    require_open(lead_def, lead_id, &lead, "qualified")?;
    let origin = reference("lead", lead_id);
    let mut new = Vec::new();
    if let Some(id) = chosen.account {
        if blank(&lead, "companyname") {
            return Err(required("companyname"));
        }
        let mut given = copy(
            &lead,
            &[
                ("companyname", "name"),
                ("telephone1", "telephone1"),
                ("emailaddress1", "emailaddress1"),
                ("address1_city", "address1_city"),
            ],
        );
        set(&mut given, "originatingleadid", origin.clone());
        if let Some(contact) = chosen.contact {
            set(
                &mut given,
                "primarycontactid",
                reference("contact", contact),
            );
        }
        new.push(("account", id, given));
    }
    if let Some(id) = chosen.contact {
        if blank(&lead, "lastname") {
            return Err(required("lastname"));
        }
        let mut given = copy(
            &lead,
            &[
                ("firstname", "firstname"),
                ("lastname", "lastname"),
                ("jobtitle", "jobtitle"),
                ("emailaddress1", "emailaddress1"),
                ("telephone1", "telephone1"),
                ("address1_city", "address1_city"),
            ],
        );
        set(&mut given, "originatingleadid", origin.clone());
        if let Some(account) = chosen.account {
            set(
                &mut given,
                "parentcustomerid",
                reference("account", account),
            );
        } else if let Some(account) = field(&lead, "parentaccountid") {
            set(&mut given, "parentcustomerid", account);
        }
        new.push(("contact", id, given));
    }
    if let Some(id) = chosen.opportunity {
        let mut given = copy(
            &lead,
            &[
                ("subject", "name"),
                ("estimatedvalue", "estimatedvalue"),
                ("estimatedclosedate", "estimatedclosedate"),
                ("description", "description"),
            ],
        );
        set(&mut given, "originatingleadid", origin);
        let customer = chosen
            .account
            .map(|a| reference("account", a))
            .or_else(|| chosen.contact.map(|c| reference("contact", c)))
            .or_else(|| field(&lead, "parentaccountid").map(str::to_owned))
            .or_else(|| field(&lead, "parentcontactid").map(str::to_owned));
        if let Some(customer) = customer {
            set(&mut given, "customerid", customer);
        }
        new.push(("opportunity", id, given));
    }
    // Check every new record before writing any.
    let mut built = Vec::new();
    for (entity, id, given) in &new {
        let def = run.def(entity)?;
        built.push((*entity, *id, run.new_record(def, given)?));
    }
    for (entity, id, _) in &built {
        run.ensure_absent(entity, id)?;
    }
    for (entity, id, fields) in &built {
        run.insert(entity, id, fields)?;
    }
    for (entity, attribute) in [
        ("account", "parentaccountid"),
        ("contact", "parentcontactid"),
        ("opportunity", "qualifyingopportunityid"),
    ] {
        if let Some((_, id, _)) = built.iter().find(|(e, _, _)| *e == entity) {
            set(&mut lead, attribute, reference(entity, id));
        }
    }
    set_state(lead_def, &mut lead, QUALIFIED, None);
    run.write(lead_def, lead_id, lead)?;
    Ok(run.done())
}

/// Disqualifies the lead with a status reason of the Disqualified state.
pub(super) fn disqualify<S: RecordStorage>(
    mut run: Run<'_, S>,
    lead_id: &str,
    status: i32,
) -> Result<Applied, OpError> {
    let def = run.def("lead")?;
    require_status_in(def, status, DISQUALIFIED)?;
    let mut lead = run.load("lead", lead_id)?;
    if let Some(opportunity) = field(&lead, "qualifyingopportunityid") {
        return Err(invalid_state(
            "lead",
            lead_id,
            format!("opportunity {opportunity} came from it, so it cannot be disqualified"),
        ));
    }
    require_open(def, lead_id, &lead, "disqualified")?;
    set_state(def, &mut lead, DISQUALIFIED, Some(status));
    run.write(def, lead_id, lead)?;
    Ok(run.done())
}
