//! Small builders that keep the demo entity definitions readable: one line per attribute,
//! one call per form, view and status table.

use rust_decimal::Decimal;

use crate::metadata::{
    AttributeDef, AttributeKind, ChoiceOption, EntityDef, Form, FormSection, FormTab, Ownership,
    Requirement, SortDir, StatusOption, View,
};

fn attr(name: &str, label: &str, kind: AttributeKind) -> AttributeDef {
    AttributeDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    }
}

/// Modifiers on an attribute, chained after its constructor.
pub(super) trait AttrExt {
    /// A create must give it; an update may not clear it.
    fn required(self) -> Self;
    /// Shown as recommended.
    fn recommended(self) -> Self;
    /// Set by the system or an operation, never by an update.
    fn read_only(self) -> Self;
    /// Governed by field security profiles.
    fn secured(self) -> Self;
}

impl AttrExt for AttributeDef {
    fn required(mut self) -> Self {
        self.requirement = Requirement::Required;
        self
    }

    fn recommended(mut self) -> Self {
        self.requirement = Requirement::Recommended;
        self
    }

    fn read_only(mut self) -> Self {
        self.updatable = false;
        self
    }

    fn secured(mut self) -> Self {
        self.secured = true;
        self
    }
}

/// Single-line text.
pub(super) fn text(name: &str, label: &str, max_len: u32) -> AttributeDef {
    attr(name, label, AttributeKind::Text { max_len })
}

/// Multi-line text of up to 2000 characters.
pub(super) fn memo(name: &str, label: &str) -> AttributeDef {
    attr(name, label, AttributeKind::Memo { max_len: 2000 })
}

/// A whole number in `min..=max`.
pub(super) fn whole(name: &str, label: &str, min: i64, max: i64) -> AttributeDef {
    attr(name, label, AttributeKind::WholeNumber { min, max })
}

/// A 64-bit whole number.
pub(super) fn big(name: &str, label: &str) -> AttributeDef {
    attr(name, label, AttributeKind::BigInt)
}

/// A decimal with two places in `min..=max`.
pub(super) fn decimal(name: &str, label: &str, min: i64, max: i64) -> AttributeDef {
    attr(
        name,
        label,
        AttributeKind::Decimal {
            precision: 2,
            min: Decimal::from(min),
            max: Decimal::from(max),
        },
    )
}

/// Money with two places, from zero to a trillion.
pub(super) fn money(name: &str, label: &str) -> AttributeDef {
    attr(
        name,
        label,
        AttributeKind::Money {
            precision: 2,
            min: Decimal::ZERO,
            max: Decimal::from(1_000_000_000_000_i64),
        },
    )
}

/// Yes / no.
pub(super) fn yes_no(name: &str, label: &str) -> AttributeDef {
    attr(name, label, AttributeKind::Bool)
}

/// A point in time.
pub(super) fn date_time(name: &str, label: &str) -> AttributeDef {
    attr(name, label, AttributeKind::DateTime)
}

/// A calendar date.
pub(super) fn date(name: &str, label: &str) -> AttributeDef {
    attr(name, label, AttributeKind::DateOnly)
}

fn options(pairs: &[(i32, &str)]) -> Vec<ChoiceOption> {
    pairs
        .iter()
        .map(|(value, label)| ChoiceOption {
            value: *value,
            label: (*label).to_owned(),
        })
        .collect()
}

/// One of `pairs` (value, label).
pub(super) fn choice(name: &str, label: &str, pairs: &[(i32, &str)]) -> AttributeDef {
    attr(
        name,
        label,
        AttributeKind::Choice {
            options: options(pairs),
        },
    )
}

/// A reference to a record of one of `targets`.
pub(super) fn lookup(name: &str, label: &str, targets: &[&str]) -> AttributeDef {
    attr(
        name,
        label,
        AttributeKind::Lookup {
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        },
    )
}

/// A status reason: (value, label, state, default for its state).
pub(super) type Status<'a> = (i32, &'a str, i32, bool);

/// The attributes every user-owned entity has: owner, owning business unit, created and
/// modified on and by, state and status. All are set by operations, never by an update,
/// except the status reason, which an update may change within the record's state.
pub(super) fn system(states: &[(i32, &str)], statuses: &[Status<'_>]) -> Vec<AttributeDef> {
    vec![
        attr("ownerid", "Owner", AttributeKind::Owner)
            .required()
            .read_only(),
        lookup(
            "owningbusinessunit",
            "Owning business unit",
            &["businessunit"],
        )
        .read_only(),
        date_time("createdon", "Created on").read_only(),
        lookup("createdby", "Created by", &["systemuser"]).read_only(),
        date_time("modifiedon", "Modified on").read_only(),
        lookup("modifiedby", "Modified by", &["systemuser"]).read_only(),
        attr(
            "statecode",
            "Status",
            AttributeKind::State {
                options: options(states),
            },
        )
        .read_only(),
        attr(
            "statuscode",
            "Status reason",
            AttributeKind::Status {
                options: statuses
                    .iter()
                    .map(|(value, label, state, default)| StatusOption {
                        value: *value,
                        label: (*label).to_owned(),
                        state: *state,
                        default: *default,
                    })
                    .collect(),
            },
        ),
    ]
}

/// States and status reasons of account and contact: active or inactive.
pub(super) const ACTIVE_STATES: [(i32, &str); 2] = [(0, "Active"), (1, "Inactive")];
/// Status reasons of [`ACTIVE_STATES`].
pub(super) const ACTIVE_STATUSES: [Status<'static>; 2] =
    [(1, "Active", 0, true), (2, "Inactive", 1, true)];

/// States of an activity that only opens and closes (the close records).
pub(super) const CLOSE_STATES: [(i32, &str); 3] = [(0, "Open"), (1, "Completed"), (2, "Canceled")];
/// Status reasons of [`CLOSE_STATES`].
pub(super) const CLOSE_STATUSES: [Status<'static>; 3] = [
    (1, "Open", 0, true),
    (2, "Completed", 1, true),
    (3, "Canceled", 2, true),
];

/// A user-owned entity with no forms, views or quick find yet.
pub(super) fn entity(
    name: &str,
    label: &str,
    plural: &str,
    primary_field: &str,
    attributes: Vec<AttributeDef>,
) -> EntityDef {
    EntityDef {
        name: name.to_owned(),
        label: label.to_owned(),
        plural: plural.to_owned(),
        ownership: Ownership::User,
        primary_field: primary_field.to_owned(),
        attributes,
        quick_find: Vec::new(),
        forms: Vec::new(),
        views: Vec::new(),
    }
}

fn names(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// The quick-find columns.
pub(super) fn quick_find(fields: &[&str]) -> Vec<String> {
    names(fields)
}

/// A form section: (name, label, fields).
pub(super) type Section<'a> = (&'a str, &'a str, &'a [&'a str]);

/// A tab of sections.
pub(super) fn tab(name: &str, label: &str, sections: &[Section<'_>]) -> FormTab {
    FormTab {
        name: name.to_owned(),
        label: label.to_owned(),
        sections: sections
            .iter()
            .map(|(name, label, fields)| FormSection {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
                fields: names(fields),
            })
            .collect(),
    }
}

/// The main form, named "Main".
pub(super) fn main_form(tabs: Vec<FormTab>) -> Form {
    Form {
        name: "Main".to_owned(),
        tabs,
    }
}

/// A system view. `order` fields sort ascending unless prefixed with `-`.
pub(super) fn view(
    id: &str,
    name: &str,
    columns: &[&str],
    filter: Option<&str>,
    order: &[&str],
) -> View {
    View {
        id: id.to_owned(),
        name: name.to_owned(),
        columns: names(columns),
        filter: filter.map(str::to_owned),
        order: order
            .iter()
            .map(|key| match key.strip_prefix('-') {
                Some(field) => (field.to_owned(), SortDir::Desc),
                None => ((*key).to_owned(), SortDir::Asc),
            })
            .collect(),
        default: false,
    }
}

/// Marks a view as its entity's default.
pub(super) fn default(mut view: View) -> View {
    view.default = true;
    view
}
