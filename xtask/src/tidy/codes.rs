//! Wire error codes are written once, in `outpost_protocol::WireCode`: anywhere else a
//! code is a `WireCode` variant, never its text. This finds the text used where a code is
//! built or compared (`code: "…"`, `== "…"`, `!= "…"`, a match arm `"…" =>` or `| "…"`)
//! outside the protocol crate and outside tests, which may spell the wire on purpose.
//! Other vocabularies that share a word (a field's `forbidden`, a profile problem's
//! `bad_filter`) pass as long as they are not built in one of those shapes.

use std::path::Path;

/// Where the codes are declared: one `Variant = "text",` line each.
pub const DECLARED_IN: &str = "crates/protocol/src/code.rs";

/// The codes' texts, read from their declaration.
pub fn declared(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let (variant, text) = line.trim().split_once(" = \"")?;
            let text = text.strip_suffix("\",")?;
            let is_variant = variant.chars().next()?.is_ascii_uppercase()
                && variant.chars().all(|c| c.is_ascii_alphanumeric());
            let is_code =
                !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            (is_variant && is_code).then(|| text.to_owned())
        })
        .collect()
}

/// Whether `rel` (relative to the workspace root) is checked: not the declaration's crate,
/// not a test, not this checker.
pub fn checked(rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let first = parts.first().map(String::as_str);
    let in_tests = parts.iter().any(|p| p == "tests" || p == "tests.rs");
    !(in_tests
        || matches!(first, Some("tests" | "xtask" | "fuzz"))
        || rel.starts_with("crates/protocol")
        || rel.starts_with("crates/testkit"))
}

/// The problems of one file's text: each line that spells a code, until an inline test
/// module starts.
pub fn problems(rel: &str, text: &str, codes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim();
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        if code == "#[cfg(test)]" && next.starts_with("mod ") && next.ends_with('{') {
            break;
        }
        for text in codes {
            let quoted = format!("\"{text}\"");
            let shapes = [
                format!("code: {quoted}"),
                format!("== {quoted}"),
                format!("!= {quoted}"),
                format!("{quoted} =>"),
                format!("| {quoted}"),
            ];
            if shapes.iter().any(|s| code.contains(s.as_str())) {
                out.push(format!(
                    "{rel}:{}: the wire code {quoted} is spelled out; use outpost_protocol::WireCode",
                    i + 1
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_codes_and_nothing_else() {
        let source = "wire_codes! {\n    /// 404.\n    NotFound = \"not_found\",\n    Busy = \"busy\",\n}\nconst X: &str = \"y\";\nlet Other = \"x y\",\n";
        assert_eq!(declared(source), ["not_found", "busy"]);
    }

    #[test]
    fn flags_a_spelled_code_where_one_is_built_or_compared_only() {
        let codes = vec!["not_found".to_owned(), "forbidden".to_owned()];
        let text = "let a = ApiError::Conflict { code: \"not_found\", message };\n\
                    if code == \"not_found\" {}\n\
                    match c { \"forbidden\" => 1, _ => 2 }\n\
                    problem(\"forbidden\", e, m);\n\
                    let label = \"not_found\";\n\
                    #[cfg(test)]\nmod tests {\n    x(code: \"forbidden\");\n}\n";
        let found = problems("f.rs", text, &codes);
        assert_eq!(
            found
                .iter()
                .map(|p| p.split(':').nth(1).unwrap_or(""))
                .collect::<Vec<_>>(),
            ["1", "2", "3"],
            "{found:?}"
        );
    }

    #[test]
    fn tests_and_the_protocol_crate_are_not_checked() {
        assert!(checked(Path::new("crates/server/src/ops.rs")));
        assert!(checked(Path::new("src-tauri/src/lib.rs")));
        assert!(!checked(Path::new("crates/protocol/src/lib.rs")));
        assert!(!checked(Path::new("crates/core/src/client/tests.rs")));
        assert!(!checked(Path::new("crates/server/tests/server/push.rs")));
        assert!(!checked(Path::new("tests/system/drafts.rs")));
    }
}
