use super::*;
use crate::metadata::AttributeKind;

#[test]
fn canonical_text_reads_back_as_the_same_value() {
    let kinds = [
        (AttributeKind::BigInt, "-9223372036854775808"),
        (
            AttributeKind::Money {
                precision: 4,
                min: Decimal::MIN,
                max: Decimal::MAX,
            },
            "12345678901234567890.1234",
        ),
        (AttributeKind::DateTime, "1999-12-31T23:59:59Z"),
        (AttributeKind::DateOnly, "0001-01-01"),
        (AttributeKind::Owner, "systemuser:u1"),
    ];
    for (kind, text) in kinds {
        let value = Value::parse(&kind, Some(text)).expect("valid");
        assert_eq!(
            value.to_text().as_deref(),
            Some(text),
            "{kind:?} keeps its exact text"
        );
    }
}

#[test]
fn values_of_one_type_order_naturally_and_null_first() {
    let kind = AttributeKind::Decimal {
        precision: 2,
        min: Decimal::MIN,
        max: Decimal::MAX,
    };
    let v = |t: &str| Value::parse(&kind, Some(t)).expect("valid");
    assert!(v("9.5") < v("10"), "numbers compare as numbers, not text");
    assert!(Value::Null < v("-1"), "null sorts first");
    assert_eq!(
        Value::Text("a".into()).partial_cmp(&Value::Int(1)),
        None,
        "different types do not compare"
    );
}
