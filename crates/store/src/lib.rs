//! `outpost-store` is the field app's local database: one SQLCipher file per signed-in
//! user, keyed with a random 256-bit key that lives in the OS keychain (ADR 0001).
//!
//! It holds records in two layers (DESIGN §3): the *server layer* (`srv_<entity>`, each
//! record as the server last sent it) and the *local layer* (`<entity>`, what the user
//! sees: the server layer with the pending outbox operations re-applied). A pull writes
//! the server layer and rebases; a user's change writes the local layer and appends to the
//! outbox in the same transaction, so nothing typed is lost to a crash or a pull.
//!
//! Its tables come from the org metadata the server sent, which it keeps inside the
//! encrypted file (so it opens offline) and migrates in place when a newer one arrives.
//!
//! This is the only client crate that knows SQL. It must never know about HTTP, the sync
//! schedule, or the UI.

mod error;
mod key;
mod layer;
mod local;
mod migrate;
mod open;
mod pull;
pub mod table;
mod unsent;
mod view;

pub use error::StoreError;
pub use key::{DatabaseKey, KeyStore, MemoryKeyStore, OsKeychain};
pub use local::{LocalRecord, Resolve};
pub use migrate::{FORMAT, MIN_FORMAT};
pub use open::{MetadataChange, PAGE_CACHE_KIB, Store};
pub use table::drafts::{Draft, RECENT_MAX, RecentRecord};
pub use table::outbox::{Choice, EntryState, OutboxEntry, ResolutionSent, WaitingResolution};
pub use unsent::{Unsent, UnsentDraft, UnsentEntry, UnsentResolution, UnsentWork};
pub use view::{SearchHit, ViewPage};

#[cfg(test)]
mod tests;
