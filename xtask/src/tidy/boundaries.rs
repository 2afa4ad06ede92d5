//! Two boundaries of issue 14's "one rule in one place", checked on the text:
//!
//! - **One path deletes unsent work.** A user's store (with whatever it holds that has not
//!   reached the server) is deleted only by `Account::wipe` in `client/accounts.rs`, which
//!   takes a `Deletion` reason and checks it; nothing else may call the store's own
//!   `destroy` or `wipe_unopened`.
//! - **The shells reach the keychain only through the core.** The Tauri shell and the CLI
//!   hand an `OsKeychain` to the core and never use the `KeyStore` trait or `keyring`
//!   themselves.
//! - **Store work in the core runs off the async executor.** The client's store lock is
//!   taken by `Client::with_guard` alone (client.rs), which runs what it guards through
//!   `off_executor` (ADR 0013); nothing else takes it.

use std::path::Path;

/// Where the store's deleting functions may be called (their definitions, and the one
/// path).
const DELETES: &[&str] = &["crates/store/src/", "crates/core/src/client/accounts.rs"];

/// The store's functions that delete a store's files and key.
const DELETING: &[&str] = &[".destroy(", "wipe_unopened("];

/// The shells.
const SHELLS: &[&str] = &["src-tauri/", "crates/cli/"];

/// Where the client's store lock may be taken (in `Client::with_guard`).
const STORE_LOCKED_IN: &str = "crates/core/src/client.rs";

/// Taking the client's store lock.
const STORE_LOCKING: &[&str] = &["store_lock()", ".store.lock()"];

/// What `rel` (a path from the workspace root, `/`-separated) breaks in `text`.
pub fn problems(rel: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if rel.starts_with("xtask/") {
        return out; // this checker names what it looks for
    }
    let test_file =
        Path::new(rel).file_name().is_some_and(|n| n == "tests.rs") || rel.contains("/tests/");
    for (i, line) in code_lines(text) {
        if !DELETES.iter().any(|d| rel.starts_with(d)) && !test_file {
            for call in DELETING {
                if line.contains(call) {
                    out.push(format!(
                        "{rel}:{}: `{call}` deletes a store and what it holds unsent; only `Account::wipe` (client/accounts.rs, with a `Deletion` reason) may",
                        i + 1
                    ));
                }
            }
        }
        if rel != STORE_LOCKED_IN && STORE_LOCKING.iter().any(|c| line.contains(c)) {
            out.push(format!(
                "{rel}:{}: the store's lock is taken only by `Client::with_guard`, which keeps its blocking off the async executor",
                i + 1
            ));
        }
        if SHELLS.iter().any(|s| rel.starts_with(s))
            && (line.contains("keyring::") || names_keystore_trait(line))
        {
            out.push(format!(
                "{rel}:{}: the shells reach the keychain only through the core (hand it an OsKeychain, never use KeyStore or keyring)",
                i + 1
            ));
        }
    }
    out
}

/// Lines with their index, comments left out.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

/// Whether `line` names the `KeyStore` trait itself (not `MemoryKeyStore`).
fn names_keystore_trait(line: &str) -> bool {
    line.match_indices("KeyStore").any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::problems;

    #[test]
    fn only_the_one_path_deletes_a_store() {
        let call = "    store.destroy(keys, &id)?;";
        assert!(problems("crates/core/src/client/accounts.rs", call).is_empty());
        assert!(problems("crates/store/src/open.rs", call).is_empty());
        assert_eq!(problems("crates/core/src/client/sync.rs", call).len(), 1);
        assert_eq!(
            problems("src-tauri/src/lib.rs", "Store::wipe_unopened(&p, k, i)").len(),
            1
        );
        assert!(
            problems("crates/core/src/client/tests.rs", call).is_empty(),
            "tests may"
        );
    }

    #[test]
    fn only_with_guard_takes_the_store_lock() {
        let take = "        let guard = self.store_lock()?;";
        assert!(problems("crates/core/src/client.rs", take).is_empty());
        assert_eq!(problems("crates/core/src/client/sync.rs", take).len(), 1);
        assert_eq!(
            problems("crates/core/src/client/records.rs", "self.store.lock()").len(),
            1
        );
    }

    #[test]
    fn the_shells_do_not_touch_the_keychain_themselves() {
        assert!(
            problems(
                "src-tauri/src/lib.rs",
                "keys: Arc::new(OsKeychain::new(S)),"
            )
            .is_empty()
        );
        assert!(problems("src-tauri/src/x.rs", "use outpost_store::MemoryKeyStore;").is_empty());
        assert_eq!(
            problems("src-tauri/src/x.rs", "use outpost_store::KeyStore as _;").len(),
            1
        );
        assert_eq!(
            problems(
                "crates/cli/src/main.rs",
                "let e = keyring::Entry::new(a, b);"
            )
            .len(),
            1
        );
        assert!(problems("crates/core/src/client.rs", "use outpost_store::KeyStore;").is_empty());
    }
}
