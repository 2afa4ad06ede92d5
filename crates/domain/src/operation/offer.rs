//! What a record offers (C5): the commands that apply to it in its state, each with the
//! status reasons it may close the record with — the same rules [`super::Operation::apply`]
//! enforces, so a form shows exactly the commands that would be accepted.

use super::close::{LOST, RESOLVED, WON};
use super::lead::{DISQUALIFIED, QUALIFIED};
use super::record::is_open;
use crate::metadata::{AttributeKind, EntityDef, StatusOption};
use crate::value::Fields;

/// A command a record offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The command, as the API names it (`lead_qualify`, `opportunity_close_lost`, …).
    pub command: &'static str,
    /// The status reasons the command may close the record with (empty when it does not
    /// close it with a chosen reason).
    pub statuses: Vec<StatusOption>,
}

/// Whether `def` is an activity (it has a `regardingobjectid`): activities can be marked
/// complete and converted to an opportunity.
pub fn is_activity(def: &EntityDef) -> bool {
    def.attribute("regardingobjectid").is_ok()
}

/// The status reasons of `state` of `def`.
fn statuses(def: &EntityDef, state: i32) -> Vec<StatusOption> {
    def.attribute("statuscode")
        .ok()
        .and_then(|a| match &a.kind {
            AttributeKind::Status { options } => Some(options.clone()),
            _ => None,
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.state == state)
        .collect()
}

/// The commands a record of `def` with `fields` offers: none when it is closed.
pub fn offers(def: &EntityDef, fields: &Fields) -> Vec<Offer> {
    if !is_open(def, fields) {
        return Vec::new();
    }
    let offer = |command, state: Option<i32>| Offer {
        command,
        statuses: state.map(|s| statuses(def, s)).unwrap_or_default(),
    };
    let mut out = match def.name.as_str() {
        "lead" => vec![
            offer("lead_qualify", Some(QUALIFIED)),
            offer("lead_disqualify", Some(DISQUALIFIED)),
        ],
        "opportunity" => vec![
            offer("opportunity_close_won", Some(WON)),
            offer("opportunity_close_lost", Some(LOST)),
        ],
        "incident" => vec![offer("case_resolve", Some(RESOLVED))],
        _ => Vec::new(),
    };
    if is_activity(def) {
        out.push(offer("activity_mark_complete", None));
        out.push(offer("activity_convert_to_opportunity", None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    fn fields(state: &str) -> Fields {
        Fields::from([("statecode".to_owned(), Some(state.to_owned()))])
    }

    #[test]
    fn open_records_offer_their_entitys_commands_with_the_reasons_they_close_with() {
        let md = demo::metadata();
        let names = |entity: &str, state: &str| -> Vec<&'static str> {
            let def = md.entity(entity).expect("entity");
            offers(def, &fields(state))
                .iter()
                .map(|o| o.command)
                .collect()
        };
        assert_eq!(names("lead", "0"), ["lead_qualify", "lead_disqualify"]);
        assert_eq!(
            names("opportunity", "0"),
            ["opportunity_close_won", "opportunity_close_lost"]
        );
        assert_eq!(names("incident", "0"), ["case_resolve"]);
        assert_eq!(
            names("task", "0"),
            ["activity_mark_complete", "activity_convert_to_opportunity"]
        );
        assert_eq!(names("account", "0"), Vec::<&str>::new());
        assert!(
            names("lead", "1").is_empty(),
            "a qualified lead offers nothing"
        );
        assert!(
            !names("appointment", "3").is_empty(),
            "a scheduled appointment is open"
        );
        let lead = md.entity("lead").expect("lead");
        let disqualify = offers(lead, &fields("0"))
            .into_iter()
            .find(|o| o.command == "lead_disqualify")
            .expect("disqualify");
        assert!(!disqualify.statuses.is_empty());
        assert!(disqualify.statuses.iter().all(|s| s.state == DISQUALIFIED));
    }
}
