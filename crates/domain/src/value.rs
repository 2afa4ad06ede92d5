//! Field values.
//!
//! A record's fields travel and are stored as **canonical text** ([`Fields`]: `None` is
//! null); the attribute's kind says how to read them, and [`Value`] is that typed reading.
//! Text keeps every number exact on its way through JSON and JavaScript (money and 64-bit
//! integers never become floats) and gives each value exactly one spelling, so comparing
//! before-images and server values is comparing strings (ADR 0005).
//!
//! Canonical forms: whole and big numbers `-42`; decimal and money `1250000.50` (no
//! exponent, trailing zeros kept to the attribute's precision); yes/no `true`/`false`;
//! date-time RFC 3339 in UTC with seconds `2026-11-28T10:00:00Z`; date-only `2026-11-28`;
//! choice, state and status the option's number `3`; lookup and owner `entity:id`.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::metadata::AttributeKind;

/// A record's fields by logical name, as canonical text. Ordered, so serialisation is
/// deterministic.
pub type Fields = BTreeMap<String, Option<String>>;

/// A reference to a record: the target of a lookup or an owner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    /// Entity logical name, e.g. `account` or `systemuser`.
    pub entity: String,
    /// Record id.
    pub id: String,
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.entity, self.id)
    }
}

/// A typed field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No value.
    Null,
    /// Text and memo.
    Text(String),
    /// Whole and big (64-bit) numbers.
    Int(i64),
    /// Decimal numbers and money, exact.
    Decimal(Decimal),
    /// Yes / no.
    Bool(bool),
    /// A point in time (UTC).
    DateTime(OffsetDateTime),
    /// A calendar date with no time and no zone.
    Date(Date),
    /// The number of a choice, state or status option.
    Choice(i32),
    /// A lookup or owner.
    Ref(EntityRef),
}

/// Why a text is not a value of a kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not {expected}")]
pub struct ParseError {
    /// The text.
    pub text: String,
    /// What was expected, for a person.
    pub expected: &'static str,
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

fn bad(text: &str, expected: &'static str) -> ParseError {
    ParseError {
        text: text.to_owned(),
        expected,
    }
}

/// Parses a date-only value `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, ParseError> {
    Date::parse(text, DATE_FORMAT).map_err(|_| bad(text, "a date (YYYY-MM-DD)"))
}

/// Parses an RFC 3339 date-time (any offset), returned in UTC.
pub fn parse_datetime(text: &str) -> Result<OffsetDateTime, ParseError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| bad(text, "a date-time (RFC 3339, e.g. 2026-11-28T10:00:00Z)"))
}

/// The longest id a record may have, in characters (a UUID has 36). Every id an operation
/// carries is bounded by it ([`crate::Operation::ids_check`]), on the device and the server.
pub const MAX_ID_LEN: usize = 64;

/// Parses a lookup `entity:id` (or a bare id when the lookup has one target).
pub fn parse_ref(text: &str, targets: &[String]) -> Result<EntityRef, ParseError> {
    match text.split_once(':') {
        Some((entity, id)) if !entity.is_empty() && !id.is_empty() => Ok(EntityRef {
            entity: entity.to_owned(),
            id: id.to_owned(),
        }),
        None if targets.len() == 1 && !text.is_empty() => Ok(EntityRef {
            entity: targets[0].clone(),
            id: text.to_owned(),
        }),
        _ => Err(bad(text, "a reference (entity:id)")),
    }
}

impl Value {
    /// Reads canonical (or lenient) text as a value of `kind`. `None` is null.
    pub fn parse(kind: &AttributeKind, text: Option<&str>) -> Result<Self, ParseError> {
        let Some(text) = text else {
            return Ok(Self::Null);
        };
        Ok(match kind {
            AttributeKind::Text { .. } | AttributeKind::Memo { .. } => Self::Text(text.to_owned()),
            AttributeKind::WholeNumber { .. } | AttributeKind::BigInt => Self::Int(
                text.trim()
                    .parse()
                    .map_err(|_| bad(text, "a whole number"))?,
            ),
            AttributeKind::Decimal { .. } | AttributeKind::Money { .. } => Self::Decimal(
                text.trim()
                    .parse::<Decimal>()
                    .map_err(|_| bad(text, "a decimal number"))?,
            ),
            AttributeKind::Bool => match text {
                "true" | "1" => Self::Bool(true),
                "false" | "0" => Self::Bool(false),
                _ => return Err(bad(text, "true or false")),
            },
            AttributeKind::DateTime => Self::DateTime(parse_datetime(text)?),
            AttributeKind::DateOnly => Self::Date(parse_date(text)?),
            AttributeKind::Choice { .. }
            | AttributeKind::State { .. }
            | AttributeKind::Status { .. } => Self::Choice(
                text.trim()
                    .parse()
                    .map_err(|_| bad(text, "an option number"))?,
            ),
            AttributeKind::Lookup { targets } => Self::Ref(parse_ref(text, targets)?),
            AttributeKind::Owner => Self::Ref(parse_ref(text, &[])?),
        })
    }

    /// The canonical text (`None` for null). `Value::parse(k, v.to_text())` gives `v` back.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Self::Null => return None,
            Self::Text(s) => s.clone(),
            Self::Int(n) => n.to_string(),
            Self::Decimal(d) => d.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::DateTime(t) => format_datetime(*t),
            Self::Date(d) => format_date(*d),
            Self::Choice(n) => n.to_string(),
            Self::Ref(r) => r.to_string(),
        })
    }

    /// Reads `text` as `kind` and spells it canonically: decimals at the attribute's
    /// precision, date-times in UTC. Two texts that mean the same value become equal.
    pub fn canonical(
        kind: &AttributeKind,
        text: Option<&str>,
    ) -> Result<Option<String>, ParseError> {
        Ok(Self::parse(kind, text)?.into_canonical(kind))
    }

    /// The canonical text of a value read as `kind` (see [`Value::canonical`]).
    pub fn into_canonical(mut self, kind: &AttributeKind) -> Option<String> {
        // More decimals than the precision is a validation error, not rounded away here.
        if let (Self::Decimal(d), Some(precision)) = (&mut self, kind.precision())
            && d.scale() < precision
        {
            d.rescale(precision);
        }
        self.to_text()
    }
}

/// A date-time in canonical form: UTC, seconds, `Z`.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A date in canonical form `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl PartialOrd for Value {
    /// Values of the same variant compare naturally; null sorts before everything and
    /// different variants do not compare.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        use Value::{Bool, Choice, Date as D, DateTime, Decimal as Dec, Int, Null, Ref, Text};
        match (self, other) {
            (Null, Null) => Some(std::cmp::Ordering::Equal),
            (Null, _) => Some(std::cmp::Ordering::Less),
            (_, Null) => Some(std::cmp::Ordering::Greater),
            (Text(a), Text(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Dec(a), Dec(b)) => Some(a.cmp(b)),
            (Int(a), Dec(b)) => Some(rust_decimal::Decimal::from(*a).cmp(b)),
            (Dec(a), Int(b)) => Some(a.cmp(&rust_decimal::Decimal::from(*b))),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (DateTime(a), DateTime(b)) => Some(a.cmp(b)),
            (D(a), D(b)) => Some(a.cmp(b)),
            (Choice(a), Choice(b)) => Some(a.cmp(b)),
            (Ref(a), Ref(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
