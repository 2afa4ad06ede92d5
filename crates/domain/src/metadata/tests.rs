use super::*;
use crate::Fields;

fn changes(pairs: &[(&str, Option<&str>)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

#[test]
fn an_update_that_fits_has_no_errors() {
    let md = Metadata::skeleton();
    let account = md.entity("account").expect("the skeleton has accounts");
    let errors = account.validate_update(&changes(&[("name", Some("Contoso")), ("city", None)]));
    assert!(
        errors.is_empty(),
        "a valid update must pass, got {errors:?}"
    );
}

#[test]
fn each_problem_is_reported_with_its_field_and_code() {
    let md = Metadata::skeleton();
    let account = md.entity("account").expect("the skeleton has accounts");
    let long = "x".repeat(81);
    let errors = account.validate_update(&changes(&[
        ("city", Some(&long)),
        ("name", Some("  ")),
        ("nope", Some("1")),
        ("owner", Some("someone")),
    ]));
    assert_eq!(
        errors,
        vec![
            ValidationError::TooLong {
                field: "city".into(),
                max: 80
            },
            ValidationError::Required {
                field: "name".into()
            },
            ValidationError::UnknownField {
                field: "nope".into()
            },
            ValidationError::ReadOnly {
                field: "owner".into()
            },
        ],
        "every invalid field must be named, in field order"
    );
    let json = serde_json::to_value(&errors[1]).expect("serialisable");
    assert_eq!(json["code"], "required", "the code is machine-readable");
}

#[test]
fn unknown_entities_are_refused() {
    let md = Metadata::skeleton();
    assert_eq!(
        md.entity("spaceship").map(|e| e.name.clone()),
        Err(ValidationError::UnknownEntity {
            entity: "spaceship".into()
        })
    );
}

fn attr(kind: AttributeKind) -> AttributeDef {
    AttributeDef {
        name: "f".into(),
        label: "F".into(),
        kind,
        requirement: Requirement::Optional,
        updatable: true,
        secured: false,
    }
}

fn dec(text: &str) -> rust_decimal::Decimal {
    text.parse().expect("decimal literal")
}

/// A kind, an input, and the canonical output or the error code expected.
type Case<'a> = (
    AttributeKind,
    Option<&'a str>,
    Result<Option<&'a str>, &'a str>,
);

/// Each attribute kind accepts its canonical and lenient forms, spells them canonically,
/// and refuses everything else with the right code.
#[test]
fn every_attribute_kind_checks_and_canonicalises_its_values() {
    let money = AttributeKind::Money {
        precision: 2,
        min: dec("0"),
        max: dec("1000000"),
    };
    let choice = AttributeKind::Choice {
        options: vec![
            ChoiceOption {
                value: 1,
                label: "A".into(),
            },
            ChoiceOption {
                value: 2,
                label: "B".into(),
            },
        ],
    };
    let lookup = AttributeKind::Lookup {
        targets: vec!["account".into()],
    };
    let cases: Vec<Case<'_>> = vec![
        (
            AttributeKind::Text { max_len: 3 },
            Some("abc"),
            Ok(Some("abc")),
        ),
        (
            AttributeKind::Text { max_len: 3 },
            Some("abcd"),
            Err("too_long"),
        ),
        (AttributeKind::Text { max_len: 3 }, None, Ok(None)),
        (
            AttributeKind::WholeNumber { min: 0, max: 10 },
            Some("7"),
            Ok(Some("7")),
        ),
        (
            AttributeKind::WholeNumber { min: 0, max: 10 },
            Some("11"),
            Err("out_of_range"),
        ),
        (
            AttributeKind::WholeNumber { min: 0, max: 10 },
            Some("7.5"),
            Err("bad_format"),
        ),
        (
            AttributeKind::BigInt,
            Some("9007199254740993"),
            Ok(Some("9007199254740993")),
        ),
        (money.clone(), Some("12.5"), Ok(Some("12.50"))),
        (money.clone(), Some("12.505"), Err("precision")),
        (money.clone(), Some("-1"), Err("out_of_range")),
        (money, Some("ten"), Err("bad_format")),
        (AttributeKind::Bool, Some("1"), Ok(Some("true"))),
        (AttributeKind::Bool, Some("yes"), Err("bad_format")),
        (
            AttributeKind::DateTime,
            Some("2026-11-28T12:00:00+02:00"),
            Ok(Some("2026-11-28T10:00:00Z")),
        ),
        (
            AttributeKind::DateTime,
            Some("2026-11-28"),
            Err("bad_format"),
        ),
        (
            AttributeKind::DateOnly,
            Some("2026-02-28"),
            Ok(Some("2026-02-28")),
        ),
        (
            AttributeKind::DateOnly,
            Some("2026-02-30"),
            Err("bad_format"),
        ),
        (choice.clone(), Some("2"), Ok(Some("2"))),
        (choice, Some("3"), Err("bad_choice")),
        (lookup.clone(), Some("a1"), Ok(Some("account:a1"))),
        (lookup.clone(), Some("account:a1"), Ok(Some("account:a1"))),
        (lookup, Some("contact:c1"), Err("lookup_target")),
        (AttributeKind::Owner, Some("team:t1"), Ok(Some("team:t1"))),
        (
            AttributeKind::Owner,
            Some("account:a1"),
            Err("lookup_target"),
        ),
    ];
    for (kind, input, want) in cases {
        let got = attr(kind.clone()).check(input);
        match (&got, &want) {
            (Ok(out), Ok(expected)) => assert_eq!(out.as_deref(), *expected, "{kind:?} {input:?}"),
            (Err(e), Err(code)) => assert_eq!(e.code(), *code, "{kind:?} {input:?}: {e}"),
            _ => panic!("{kind:?} {input:?}: got {got:?}, wanted {want:?}"),
        }
    }
}

#[test]
fn a_create_needs_every_required_field_and_may_set_read_only_ones() {
    let md = Metadata::skeleton();
    let account = md.entity("account").expect("the skeleton has accounts");
    let errors = account
        .canonical_create(&changes(&[("city", Some("Lyon"))]))
        .expect_err("name is required");
    assert_eq!(
        errors,
        vec![ValidationError::Required {
            field: "name".into()
        }]
    );
    let ok = account
        .canonical_create(&changes(&[
            ("name", Some("A")),
            ("owner", Some("Fiona")),
            ("revenue", Some("5")),
        ]))
        .expect("valid");
    assert_eq!(
        ok["revenue"].as_deref(),
        Some("5.00"),
        "money is spelled at its precision"
    );
}

#[test]
fn the_fingerprint_changes_with_the_content_and_only_with_it() {
    let a = Metadata::skeleton();
    let mut b = a.clone();
    b.version = 99;
    assert_eq!(
        a.fingerprint(),
        b.fingerprint(),
        "the version number is not content"
    );
    b.entities[0].label = "Company".into();
    assert_ne!(a.fingerprint(), b.fingerprint(), "any content change shows");
}
