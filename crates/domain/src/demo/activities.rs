//! The activities of the demo org: task, phone call and appointment. They share a subject,
//! a schedule, a duration, a priority and the record they are regarding.

use super::build::{
    AttrExt, Status, choice, date_time, default, entity, lookup, main_form, memo, quick_find,
    system, tab, text, view, whole, yes_no,
};
use super::{ACTIVE, MY_ACTIVE};
use crate::metadata::{AttributeDef, EntityDef};

/// Entities an activity can be regarding.
const REGARDING: [&str; 5] = ["account", "contact", "lead", "opportunity", "incident"];

fn common() -> Vec<AttributeDef> {
    vec![
        text("subject", "Subject", 200).required(),
        lookup("regardingobjectid", "Regarding", &REGARDING),
        choice(
            "prioritycode",
            "Priority",
            &[(0, "Low"), (1, "Normal"), (2, "High")],
        ),
        date_time("scheduledstart", "Start date"),
        date_time("scheduledend", "Due date"),
        date_time("actualend", "Actual end"),
        whole("actualdurationminutes", "Duration (minutes)", 0, 1_000_000),
        memo("description", "Description"),
    ]
}

/// An activity entity: the common attributes, `extra` and the system ones; a form whose
/// details section lists `extra`; the two activity views.
fn activity(
    name: &str,
    label: &str,
    plural: &str,
    extra: Vec<AttributeDef>,
    states: &[(i32, &str)],
    statuses: &[Status<'_>],
) -> EntityDef {
    let extra_names: Vec<String> = extra.iter().map(|a| a.name.clone()).collect();
    let extra_refs: Vec<&str> = extra_names.iter().map(String::as_str).collect();
    let mut attributes = common();
    attributes.extend(extra);
    attributes.extend(system(states, statuses));
    let mut e = entity(name, label, plural, "subject", attributes);
    // The due date too, so "2026-12-03" finds what is due that day (B5).
    e.quick_find = quick_find(&["subject", "description", "scheduledend"]);
    e.forms = vec![main_form(vec![
        tab(
            "general",
            "General",
            &[
                (
                    "activity",
                    label,
                    &["subject", "regardingobjectid", "prioritycode", "ownerid"],
                ),
                (
                    "schedule",
                    "Schedule",
                    &[
                        "scheduledstart",
                        "scheduledend",
                        "actualend",
                        "actualdurationminutes",
                    ],
                ),
            ],
        ),
        tab(
            "details",
            "Details",
            &[
                ("details", "Details", &extra_refs),
                ("description", "Description", &["description"]),
            ],
        ),
    ])];
    let columns = [
        "subject",
        "regardingobjectid",
        "prioritycode",
        "scheduledend",
        "statuscode",
    ];
    e.views = vec![
        default(view(
            &format!("{name}-my-open"),
            &format!("My Open {plural}"),
            &columns,
            Some(MY_ACTIVE),
            &["scheduledend"],
        )),
        view(
            &format!("{name}-due-last-7-days"),
            &format!("{plural} Due in the Last 7 Days"),
            &columns,
            Some("scheduledend last-x-days 7"),
            &["-scheduledend"],
        ),
        view(
            &format!("{name}-open"),
            &format!("Open {plural}"),
            &columns,
            Some(ACTIVE),
            &["scheduledend"],
        ),
    ];
    e
}

/// To-dos.
pub(super) fn task() -> EntityDef {
    activity(
        "task",
        "Task",
        "Tasks",
        vec![whole("percentcomplete", "Percent complete", 0, 100)],
        &[(0, "Open"), (1, "Completed"), (2, "Canceled")],
        &[
            (2, "Not Started", 0, true),
            (3, "In Progress", 0, false),
            (4, "Waiting on someone else", 0, false),
            (7, "Deferred", 0, false),
            (5, "Completed", 1, true),
            (6, "Canceled", 2, true),
        ],
    )
}

/// Phone calls, made or received.
pub(super) fn phonecall() -> EntityDef {
    activity(
        "phonecall",
        "Phone Call",
        "Phone Calls",
        vec![
            text("phonenumber", "Phone number", 200),
            yes_no("directioncode", "Outgoing"),
        ],
        &[(0, "Open"), (1, "Completed"), (2, "Canceled")],
        &[
            (1, "Open", 0, true),
            (2, "Made", 1, true),
            (4, "Received", 1, false),
            (3, "Canceled", 2, true),
        ],
    )
}

/// Meetings. Scheduled (state 3) counts as open, like Open (state 0).
pub(super) fn appointment() -> EntityDef {
    activity(
        "appointment",
        "Appointment",
        "Appointments",
        vec![
            text("location", "Location", 200),
            yes_no("isalldayevent", "All day event"),
        ],
        &[
            (0, "Open"),
            (1, "Completed"),
            (2, "Canceled"),
            (3, "Scheduled"),
        ],
        &[
            (1, "Free", 0, true),
            (2, "Tentative", 0, false),
            (3, "Completed", 1, true),
            (4, "Canceled", 2, true),
            (5, "Busy", 3, true),
            (6, "Out of Office", 3, false),
        ],
    )
}
