//! Desktop-session tests: the real OS keychain (gnome-keyring over the Secret Service), the
//! `outpost` CLI using it, the app's desktop notifications through a real notification
//! daemon, its session-lock watcher against a fake logind on the bus, and the real Tauri
//! app driven through tauri-driver and WebKitWebDriver under Xvfb. `cargo xtask test` runs
//! this target inside `xvfb-run` + `dbus-run-session` with an unlocked gnome-keyring and
//! dunst.

mod app;
mod cli;
mod keychain;
mod kill;
mod lock;
mod notification;
mod window;
