//! Fuzzes the query parser with arbitrary text: it must never panic, every error must
//! point inside the text at a character boundary, and whatever parses must check,
//! evaluate and compile to SQL without panicking either.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_domain::metadata::{AttributeDef, AttributeKind, ChoiceOption, EntityDef, Ownership};
use outpost_domain::query::{Dialect, EvalContext, QueryText, parse_filter, parse_query};
use outpost_domain::{Fields, metadata::Requirement};

fn entity() -> EntityDef {
    let attr = |name: &str, kind: AttributeKind| AttributeDef {
        name: name.to_owned(),
        label: name.to_owned(),
        kind,
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    };
    EntityDef {
        name: "account".to_owned(),
        label: "Account".to_owned(),
        plural: "Accounts".to_owned(),
        ownership: Ownership::User,
        primary_field: "a".to_owned(),
        attributes: vec![
            attr("a", AttributeKind::Text { max_len: 100 }),
            attr("n", AttributeKind::WholeNumber { min: 0, max: 10 }),
            attr(
                "m",
                AttributeKind::Money {
                    precision: 2,
                    min: 0.into(),
                    max: 1_000_000.into(),
                },
            ),
            attr("b", AttributeKind::Bool),
            attr("d", AttributeKind::DateTime),
            attr("e", AttributeKind::DateOnly),
            attr(
                "c",
                AttributeKind::Choice {
                    options: vec![ChoiceOption {
                        value: 1,
                        label: "one".to_owned(),
                    }],
                },
            ),
            attr("ownerid", AttributeKind::Owner),
            attr(
                "l",
                AttributeKind::Lookup {
                    targets: vec!["businessunit".to_owned()],
                },
            ),
        ],
        quick_find: vec![],
        forms: vec![],
        views: vec![],
    }
}

fn assert_points_inside(text: &str, at: usize) {
    assert!(
        at <= text.len() && text.is_char_boundary(at),
        "an error position should be a character boundary within the text"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = EvalContext {
        user_id: "u1".to_owned(),
        team_ids: vec![],
        hierarchy_user_ids: vec!["u2".to_owned()],
        business_unit_id: "bu1".to_owned(),
        now: time::macros::datetime!(2026-11-28 10:30:15 +01:00),
    };
    match parse_filter(text) {
        Err(e) => {
            assert_points_inside(text, e.at);
            let _ = e.to_string();
        }
        Ok(filter) => {
            if let Ok(checked) = filter.check(&entity()) {
                let mut record = Fields::new();
                record.insert("a".to_owned(), Some(text.to_owned()));
                record.insert("d".to_owned(), Some("2026-11-28T10:00:00Z".to_owned()));
                let _ = checked.matches("r1", &record, &ctx);
                for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                    let fragment = checked.to_sql(dialect, &|f| format!("\"{f}\""), &ctx, 1);
                    let placeholders = match dialect {
                        Dialect::Sqlite => fragment.sql.matches('?').count(),
                        Dialect::Postgres => fragment.sql.matches('$').count(),
                    };
                    assert_eq!(
                        placeholders,
                        fragment.params.len(),
                        "every parameter should have one placeholder and no value reach the SQL"
                    );
                }
            }
        }
    }
    for part in [
        QueryText { select: Some(text), ..QueryText::default() },
        QueryText { order_by: Some(text), ..QueryText::default() },
        QueryText { top: Some(text), ..QueryText::default() },
    ] {
        if let Err(e) = parse_query(part) {
            assert_points_inside(text, e.at);
        }
    }
});
