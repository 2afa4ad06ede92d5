//! Generates the Tauri context (config, capabilities, embedded `ui/dist`), and builds in
//! the org's update public key.

use std::path::Path;

/// The development key `cargo xtask update-key` writes (see `xtask/src/bundle.rs`).
const DEV_KEY: &str = "../.tools/update-key/outpost.key.pub";

fn main() {
    update_key();
    tauri_build::build();
}

/// The org's update public key the app trusts: `OUTPOST_UPDATE_PUBKEY` (what an org
/// building its own release sets: the content of its `.pub` file), else the development
/// key, else none (the app then offers no updates).
fn update_key() {
    println!("cargo:rerun-if-env-changed=OUTPOST_UPDATE_PUBKEY");
    let dev = Path::new(DEV_KEY);
    // A missing file would rerun this script at every build; its folder's parent says
    // when it appears.
    if dev.exists() {
        println!("cargo:rerun-if-changed={DEV_KEY}");
    } else if Path::new("../.tools").exists() {
        println!("cargo:rerun-if-changed=../.tools");
    }
    let key = std::env::var("OUTPOST_UPDATE_PUBKEY")
        .ok()
        .or_else(|| std::fs::read_to_string(dev).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=OUTPOST_UPDATE_PUBKEY_BUILT={}", key.trim());
}
