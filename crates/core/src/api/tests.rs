use std::path::PathBuf;

use super::typescript_bindings;

/// `cargo xtask codegen` runs this with `OUTPOST_CODEGEN=write` to regenerate the file;
/// `cargo xtask codegen --check` (and every test run) fails when the file has drifted.
#[test]
fn generated_typescript_matches_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/api/bindings.ts");
    let fresh = typescript_bindings();
    if std::env::var("OUTPOST_CODEGEN").as_deref() == Ok("write") {
        std::fs::write(&path, &fresh).expect("writing bindings.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/lib/api/bindings.ts is out of date with the Rust types: run `cargo xtask codegen`"
    );
}
