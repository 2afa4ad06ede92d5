//! The Outpost field app's executable; everything lives in the library.

// Without this a console window opens beside the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // What a release of this build must say (`cargo xtask bundle` writes it beside the
    // packages): printed before any window or store is opened.
    if std::env::args().nth(1).as_deref() == Some("--release-manifest") {
        println!("{}", outpost_core::release_manifest());
        return;
    }
    outpost_app::run();
}
