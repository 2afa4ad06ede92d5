//! Field values of a record.
//!
//! The skeleton carries every value as text (`None` = null); money and 64-bit integers are
//! exact decimal strings so that no JSON number ever loses precision on its way to the UI.

use std::collections::BTreeMap;

/// A record's fields by logical name. Ordered, so serialisation is deterministic.
pub type Fields = BTreeMap<String, Option<String>>;
