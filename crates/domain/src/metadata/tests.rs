use super::*;

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
