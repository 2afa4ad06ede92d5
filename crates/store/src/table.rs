//! One module per table (or family of tables), each owning its SQL.

pub mod drafts;
pub mod follow;
pub mod metadata;
pub mod outbox;
pub mod records;
pub mod state;
