//! Activity commands (S13, C5): mark complete, and convert to an opportunity. An
//! activity is an entity with a `regardingobjectid` (task, phone call, appointment).

use super::outcome::{Applied, OpError};
use super::record::{
    Run, blank, field, fit, invalid_state, ref_of, reference, require_open, set, set_state,
};
use super::storage::RecordStorage;
use crate::metadata::EntityDef;
use crate::value::Fields;

/// Activity state: completed.
const COMPLETED: i32 = 1;

fn activity_def<'a, S: RecordStorage>(
    run: &Run<'a, S>,
    entity: &str,
    id: &str,
) -> Result<&'a EntityDef, OpError> {
    let def = run.def(entity)?;
    if def.attribute("regardingobjectid").is_err() {
        return Err(invalid_state(
            entity,
            id,
            format!("{} is not an activity", def.label),
        ));
    }
    Ok(def)
}

/// Completes the activity: state 1 with the state's default status (task 5, phone call
/// 2 Made, appointment 3), and `actualend` now unless already set.
fn complete(run: &Run<'_, impl RecordStorage>, def: &EntityDef, fields: &mut Fields) {
    set_state(def, fields, COMPLETED, None);
    if def.attribute("actualend").is_ok() && blank(fields, "actualend") {
        set(fields, "actualend", run.now());
    }
}

/// Marks the open activity complete.
pub(super) fn mark_complete<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
) -> Result<Applied, OpError> {
    let def = activity_def(&run, entity, id)?;
    let mut fields = run.load(entity, id)?;
    require_open(def, id, &fields, "completed")?;
    complete(&run, def, &mut fields);
    run.write(def, id, fields)?;
    Ok(run.done())
}

/// Creates the opportunity `opportunity_id` from the open activity: named after its
/// subject, with its description, for the customer it is regarding (an account or
/// contact directly; a lead's existing account or contact, and the lead as origin; an
/// opportunity's or case's customer, when the storage holds them). The activity is then
/// regarding the new opportunity, and completed.
pub(super) fn convert_to_opportunity<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    opportunity_id: &str,
) -> Result<Applied, OpError> {
    let def = activity_def(&run, entity, id)?;
    let opportunity_def = run.def("opportunity")?;
    let mut activity = run.load(entity, id)?;
    require_open(def, id, &activity, "converted")?;
    let mut given = Fields::new();
    let subject = field(&activity, "subject").unwrap_or_default();
    set(&mut given, "name", fit(opportunity_def, "name", subject));
    if let Some(description) = field(&activity, "description") {
        set(&mut given, "description", description);
    }
    let customer = match ref_of(&activity, "regardingobjectid") {
        Some(r) if r.entity == "account" || r.entity == "contact" => Some(r.to_string()),
        Some(r) => {
            let regarding = run.find(&r.entity, &r.id)?.unwrap_or_default();
            if r.entity == "lead" {
                set(&mut given, "originatingleadid", r.to_string());
            }
            ["customerid", "parentaccountid", "parentcontactid"]
                .iter()
                .find_map(|name| field(&regarding, name).map(str::to_owned))
        }
        None => None,
    };
    if let Some(customer) = customer {
        set(&mut given, "customerid", customer);
    }
    let opportunity = run.new_record(opportunity_def, &given)?;
    run.ensure_absent("opportunity", opportunity_id)?;
    set(
        &mut activity,
        "regardingobjectid",
        reference("opportunity", opportunity_id),
    );
    complete(&run, def, &mut activity);
    run.insert("opportunity", opportunity_id, &opportunity)?;
    run.write(def, id, activity)?;
    Ok(run.done())
}
