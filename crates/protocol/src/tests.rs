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

#[test]
fn each_wire_code_travels_as_its_text_and_reads_back() {
    for &code in WireCode::ALL {
        let json = serde_json::to_value(code).expect("json");
        assert_eq!(json, code.as_str(), "serde and as_str agree on {code:?}");
        assert_eq!(
            WireCode::parse(code.as_str()),
            Some(code),
            "{code:?} parses back"
        );
    }
    let texts: std::collections::BTreeSet<&str> =
        WireCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        texts.len(),
        WireCode::ALL.len(),
        "no two codes share a text"
    );
}

#[test]
fn an_error_with_a_code_from_a_newer_server_still_decodes() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"code": "quota_exceeded", "message": "too many"}"#)
            .expect("an unknown code is still an error body");
    assert_eq!(
        (body.code.as_str(), body.wire_code()),
        ("quota_exceeded", None)
    );
    let known = ErrorBody::new(WireCode::NameTaken, "taken", Vec::new());
    let json = serde_json::to_string(&known).expect("json");
    let back: ErrorBody = serde_json::from_str(&json).expect("decode");
    assert_eq!(back.wire_code(), Some(WireCode::NameTaken), "{json}");
}

/// The codes `docs/PROTOCOL.md`'s error table lists: the backticked names in the first
/// column of the table headed `| code | status |`, in order.
fn documented_codes(doc: &str) -> Vec<String> {
    let mut lines = doc
        .lines()
        .skip_while(|line| !line.starts_with("| code | status |"))
        .skip(2); // the header and its `|---|` rule
    let mut codes = Vec::new();
    for line in lines.by_ref().take_while(|line| line.starts_with('|')) {
        let first = line.split('|').nth(1).unwrap_or_default();
        codes.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    codes
}

#[test]
fn the_protocol_document_lists_exactly_the_wire_codes_once_each() {
    let doc = include_str!("../../../docs/PROTOCOL.md");
    let listed = documented_codes(doc);
    let mut seen = std::collections::BTreeSet::new();
    for code in &listed {
        assert!(
            seen.insert(code.as_str()),
            "docs/PROTOCOL.md lists `{code}` twice"
        );
        assert!(
            WireCode::parse(code).is_some(),
            "docs/PROTOCOL.md lists `{code}`, which is no WireCode"
        );
    }
    for code in WireCode::ALL {
        assert!(
            seen.contains(code.as_str()),
            "docs/PROTOCOL.md's error table lacks `{code}`"
        );
    }
}

#[test]
fn the_table_reader_finds_every_code_of_a_row() {
    let doc = "text\n| code | status |\n|---|---|\n| `a` | 1 |\n| `b` / `c` | 2 |\n\n| `d` | 3 |\n";
    assert_eq!(
        documented_codes(doc),
        ["a", "b", "c"],
        "one table, every cell"
    );
}
