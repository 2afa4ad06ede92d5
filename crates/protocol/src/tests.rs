use super::*;

#[test]
fn op_results_carry_a_status_tag() {
    let applied = serde_json::to_value(OpResult::Applied { row_version: 7 }).expect("json");
    assert_eq!(
        applied,
        serde_json::json!({"status": "applied", "row_version": 7}),
        "the wire form of an applied outcome is fixed by docs/PROTOCOL.md"
    );
}

#[test]
fn a_push_with_an_unknown_field_is_refused() {
    let err = serde_json::from_str::<PushRequest>(r#"{"ops": [], "force": true}"#)
        .expect_err("unknown fields must not be silently dropped");
    assert!(
        err.to_string().contains("force"),
        "the error names the field: {err}"
    );
}
