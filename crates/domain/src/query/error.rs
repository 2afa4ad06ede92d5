//! Query errors: which option, which byte, and what is wrong there, as values a caller
//! can branch on (highlight the position, list the fields, offer the expected token).

#[cfg(doc)]
use super::{MAX_DEPTH, MAX_LITERAL_LEN, MAX_NODES, MAX_TEXT_LEN, Query};

/// Which system query option an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `$select`
    Select,
    /// `$filter`
    Filter,
    /// `$orderby`
    OrderBy,
    /// `$top`
    Top,
}

impl Part {
    /// The option's name, e.g. `$orderby`.
    pub fn option(self) -> &'static str {
        match self {
            Self::Select => "$select",
            Self::Filter => "$filter",
            Self::OrderBy => "$orderby",
            Self::Top => "$top",
        }
    }
}

/// Why a query is refused: where, and what is wrong there.
///
/// Displayed as `at 14: expected a value, found ')'` for a filter, and with the option in
/// front for the others: `$orderby at 5: expected 'asc', 'desc', ',' or the end, found 'up'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}at {at}: {problem}", match part { Part::Filter => String::new(), other => format!("{} ", other.option()) })]
pub struct QueryError {
    /// The option the error is in.
    pub part: Part,
    /// Byte offset within that option's text (for [`Query::for_view`] columns and sort
    /// keys, their index).
    pub at: usize,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a query, so that a caller can say it or act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The text does not follow the syntax.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What would have fitted, for a person.
        expected: &'static str,
        /// What was there, for a person (`')'`, `the end`, `the text 'x'`).
        found: String,
    },
    /// Parentheses and `not` nest deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The option's text is longer than [`MAX_TEXT_LEN`] bytes.
    #[error("longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The filter has more than [`MAX_NODES`] conditions and operators.
    #[error("more than {max} conditions and operators")]
    TooManyNodes {
        /// The limit.
        max: usize,
    },
    /// A quoted text is longer than [`MAX_LITERAL_LEN`] bytes.
    #[error("a text longer than {max} bytes")]
    LiteralTooLong {
        /// The limit.
        max: usize,
    },
    /// A quoted text holds the NUL character, which SQL cannot carry as the query does
    /// (SQLite's `LIKE` stops at it; PostgreSQL's text cannot hold it), so the device and
    /// the server would answer differently.
    #[error("a text may not contain the NUL character")]
    NulInText,
    /// The field is not an attribute of the entity (nor `id`).
    #[error("`{field}` is not a field of `{entity}`")]
    UnknownField {
        /// The name written.
        field: String,
        /// The entity.
        entity: String,
    },
    /// A field appears twice in `$select` or `$orderby`.
    #[error("`{field}` appears twice")]
    Repeated {
        /// The field.
        field: String,
    },
    /// The literal is not a value of the field's kind.
    #[error("{literal} is not a value of `{field}`: expected {expected}")]
    InvalidValue {
        /// The field.
        field: String,
        /// The literal as a person would write it.
        literal: String,
        /// What the field takes.
        expected: String,
    },
    /// The operator, function or shortcut does not apply to the field's kind.
    #[error("`{operator}` does not apply to `{field}`, {kind}")]
    NotApplicable {
        /// The operator, function or shortcut.
        operator: String,
        /// The field.
        field: String,
        /// The field's kind, for a person (`a money field`).
        kind: &'static str,
    },
}
