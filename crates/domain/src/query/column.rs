//! Typed column storage: how an attribute's canonical text is kept in a typed SQL column on
//! the device and the server (see the layout in the [`query`](super) module doc). Compiled
//! SQL relies on it, and in-memory evaluation compares the same column values, which is
//! what keeps the two equal.

use rust_decimal::Decimal;

use super::{Dialect, SqlParam};
use crate::metadata::AttributeKind;
use crate::value::{ParseError, Value};

/// Why a field's text cannot be stored in its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    /// The text is not a value of the attribute's kind.
    #[error(transparent)]
    NotAValue(#[from] ParseError),
    /// A decimal or money value has more decimal places than the attribute keeps.
    #[error("`{text}` has more than {precision} decimal places")]
    TooPrecise {
        /// The text.
        text: String,
        /// Decimal places the attribute keeps.
        precision: u32,
    },
    /// A decimal or money value times 10^precision does not fit in 64 bits.
    #[error("`{text}` times 10^{precision} does not fit in a 64-bit column")]
    OutOfRange {
        /// The text.
        text: String,
        /// Decimal places the attribute keeps.
        precision: u32,
    },
    /// A column value of the wrong type for the attribute (reading back).
    #[error("a {found} column value cannot hold this attribute")]
    WrongType {
        /// `integer` or `text`.
        found: &'static str,
    },
}

/// Whether a kind is stored as text (otherwise as a 64-bit integer).
pub(super) fn stores_text(kind: &AttributeKind) -> bool {
    use AttributeKind as K;
    matches!(
        kind,
        K::Text { .. } | K::Memo { .. } | K::DateTime | K::DateOnly | K::Lookup { .. } | K::Owner
    )
}

/// The SQL column type of an attribute (and of `id`, which is text).
pub fn column_type(kind: &AttributeKind, dialect: Dialect) -> &'static str {
    match (stores_text(kind), dialect) {
        (true, Dialect::Sqlite) => "TEXT",
        (true, Dialect::Postgres) => "TEXT COLLATE \"C\"",
        (false, Dialect::Sqlite) => "INTEGER",
        (false, Dialect::Postgres) => "BIGINT",
    }
}

/// The column value of a field's text (`None` is null).
///
/// # Errors
/// [`ColumnError`] when the text is not a value of `kind` or a decimal does not fit its
/// column.
pub fn column_value(kind: &AttributeKind, text: Option<&str>) -> Result<SqlParam, ColumnError> {
    Ok(match Value::parse(kind, text)? {
        Value::Null => SqlParam::Null,
        Value::Int(n) => SqlParam::Int(n),
        Value::Choice(n) => SqlParam::Int(i64::from(n)),
        Value::Bool(b) => SqlParam::Int(i64::from(b)),
        Value::Decimal(d) => {
            let precision = kind.precision().unwrap_or(0);
            let text = || text.unwrap_or_default().to_owned();
            SqlParam::Int(scaled(d, precision).map_err(|e| match e {
                Scaled::TooPrecise => ColumnError::TooPrecise {
                    text: text(),
                    precision,
                },
                Scaled::OutOfRange => ColumnError::OutOfRange {
                    text: text(),
                    precision,
                },
            })?)
        }
        value @ (Value::Text(_) | Value::DateTime(_) | Value::Date(_) | Value::Ref(_)) => {
            SqlParam::Text(value.to_text().expect("only null has no text"))
        }
    })
}

/// The canonical text of a column value read back (`None` is null): the inverse of
/// [`column_value`].
///
/// # Errors
/// [`ColumnError`] when the value is of the wrong type or not a value of `kind`.
pub fn column_text(kind: &AttributeKind, value: &SqlParam) -> Result<Option<String>, ColumnError> {
    match (value, kind.precision()) {
        (SqlParam::Null, _) => Ok(None),
        (SqlParam::Int(_), _) if stores_text(kind) => {
            Err(ColumnError::WrongType { found: "integer" })
        }
        (SqlParam::Text(_), _) if !stores_text(kind) => {
            Err(ColumnError::WrongType { found: "text" })
        }
        (SqlParam::Int(n), Some(precision)) => Decimal::try_new(*n, precision)
            .map(|d| Some(d.to_string()))
            .map_err(|_| ColumnError::OutOfRange {
                text: n.to_string(),
                precision,
            }),
        (SqlParam::Int(n), None) => {
            let text = match kind {
                AttributeKind::Bool => (*n != 0).to_string(),
                _ => n.to_string(),
            };
            Ok(Value::canonical(kind, Some(&text))?)
        }
        (SqlParam::Text(s), _) => Ok(Value::canonical(kind, Some(s))?),
    }
}

/// Why a decimal has no scaled column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scaled {
    /// More decimal places than the precision (after dropping trailing zeros).
    TooPrecise,
    /// The scaled value does not fit in 64 bits.
    OutOfRange,
}

/// `d` times 10^`precision`, exactly.
pub(super) fn scaled(d: Decimal, precision: u32) -> Result<i64, Scaled> {
    let d = d.normalize();
    let shift = precision.checked_sub(d.scale()).ok_or(Scaled::TooPrecise)?;
    10_i128
        .checked_pow(shift)
        .and_then(|factor| d.mantissa().checked_mul(factor))
        .and_then(|n| i64::try_from(n).ok())
        .ok_or(Scaled::OutOfRange)
}

#[cfg(test)]
mod tests;
