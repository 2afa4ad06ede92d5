//! The query language (B7, DESIGN §8): one OData-style subset for view filters, profile
//! custom filters, org entity filters and the scripting API, parsed once here, checked
//! against an entity's metadata, then either evaluated in memory or compiled to
//! parameterized SQL for SQLite and PostgreSQL. Both paths give the same answer; a property
//! test holds them equal on a real SQLite.
//!
//! # Syntax
//! - `$filter`: `field eq|ne|gt|ge|lt|le literal`; `field eq null` / `field ne null` are null
//!   checks; `and`, `or`, `not` and parentheses, `not` binding tighter than `and`, and `and`
//!   tighter than `or`; `contains(field,'x')`, `startswith(field,'x')`, `endswith(field,'x')`;
//!   owner shortcuts `field eq-userid`, `eq-userteams`, `eq-useroruserhierarchy`,
//!   `eq-businessid`; date functions `field last-x-days N`, `next-x-days N`,
//!   `older-x-days N` (N from 1 to 36500) and `field today`.
//! - Literals: `'text'` (`''` is a quote; never the NUL character, which SQL cannot carry
//!   as memory does — SQLite's `LIKE` stops at it, PostgreSQL's text cannot hold it — so a
//!   text holding it is refused rather than answered two ways; record values are refused
//!   it by validation too), numbers `12`, `-3.5`, `true`, `false`, `null`,
//!   dates `2026-11-28`, date-times `2026-11-28T10:00:00Z` (any offset, whole seconds). A
//!   lookup or owner compares with `'entity:id'`, or `'id'` when the lookup has one target.
//! - `$select`: `field, field`; `$orderby`: `field [asc|desc], …`; `$top`: a whole number ≥ 1.
//! - Field names are attribute logical names (lowercase letters, digits, `_`) or `id`;
//!   keywords and operators are lowercase; `and`, `or` and `not` cannot be field names.
//! - Size: an option's text is at most [`MAX_TEXT_LEN`] bytes, a quoted text at most
//!   [`MAX_LITERAL_LEN`], a filter at most [`MAX_NODES`] conditions and operators nested at
//!   most [`MAX_DEPTH`] deep — far above any real view, and within what both SQL engines
//!   take.
//!
//! # API
//! [`parse_filter`] and [`parse_query`] give an untyped [`Filter`] / [`Query`] whose nodes
//! carry byte positions; [`Filter::check`] and [`Query::check`] resolve them against an
//! [`EntityDef`](crate::metadata::EntityDef) into a [`CheckedFilter`] / [`CheckedQuery`],
//! which [`CheckedFilter::matches`] evaluates in memory (given the record's id, which
//! [`Fields`](crate::Fields) do not hold, and its fields) and [`CheckedFilter::to_sql`],
//! [`CheckedQuery::to_sql`] and [`CheckedQuery::order_by_sql`] compile to SQL;
//! [`CheckedQuery::run`] and [`CheckedQuery::compare`] filter and sort in memory. Owner
//! shortcuts and date functions resolve against an [`EvalContext`] (the user, their teams
//! and hierarchy, their business unit, and `now`). Every error is a [`QueryError`] with the
//! byte position and what was expected: `at 14: expected a value, found ')'`.
//!
//! # Semantics
//! - SQL three-valued logic everywhere: a comparison, function, shortcut or date function on
//!   a null field is *unknown*, `not unknown` is unknown, and only *true* matches. So
//!   `name ne 'x'` does not match a record whose name is null; `eq null` / `ne null` are
//!   `IS NULL` / `IS NOT NULL` and never unknown.
//! - `eq` on text is exact (case-sensitive, byte for byte). `contains`, `startswith` and
//!   `endswith` ignore the case of ASCII letters only (`A`–`Z`), in memory and in SQL alike:
//!   SQLite's `LIKE` folds exactly ASCII; PostgreSQL folds the column with
//!   `translate(…, 'A…Z', 'a…z')` because its `lower`/`ILIKE` follow the locale. The pattern
//!   escapes `%`, `_` and `\` and is always a bound parameter. (SQLite's
//!   `case_sensitive_like` must stay off, and PostgreSQL's `standard_conforming_strings`
//!   on, as they are by default.)
//! - Text ordering is by bytes of UTF-8 (SQLite `BINARY`, PostgreSQL `COLLATE "C"`), the
//!   order of Rust's `str`. Ordering comparisons apply to every kind but lookups, owners and
//!   yes/no.
//! - Shortcuts apply to a lookup or owner whose targets include the entity they name:
//!   `eq-userid` and `eq-useroruserhierarchy` (`systemuser:<id>`; the hierarchy always includes
//!   the user), `eq-userteams` (`team:<id>`, none when the user is in no team) and
//!   `eq-businessid` (`businessunit:<id>`).
//! - Date functions count calendar days in the offset of [`EvalContext::now`] (pass `now`
//!   in the user's offset to get their days), with `now` truncated to whole seconds:
//!   `today` is today from midnight to midnight; `last-x-days N` is from midnight N days ago
//!   up to now; `next-x-days N` is from now to the end of the Nth day from today;
//!   `older-x-days N` is before midnight N days ago (so with `last-x-days N` it covers every
//!   past moment). On a date-only field the same days apply to the date.
//! - Ordering puts null first ascending and last descending (SQLite's rule; PostgreSQL gets
//!   explicit `NULLS FIRST` / `NULLS LAST`), then breaks ties by `id` ascending so that paging
//!   and the in-memory sort agree.
//!
//! # Typed column storage
//! The device and the server keep one typed column per attribute, written with
//! [`column_value`] and declared with [`column_type`]; the compiled SQL relies on it:
//! - text, memo, `id`, date-time, date-only, lookup and owner: `TEXT` (PostgreSQL
//!   `TEXT COLLATE "C"`) in canonical form. Canonical dates and UTC date-times with seconds
//!   have one width, so text order is time order.
//! - whole number, big integer, choice, state and status: `INTEGER` (PostgreSQL `BIGINT`).
//! - yes/no: `INTEGER` 0 or 1 (PostgreSQL `BIGINT`).
//! - decimal and money: `INTEGER` (PostgreSQL `BIGINT`) holding the value times
//!   10^precision, which compares exactly and numerically on both engines and uses indexes.
//!   The attribute's range times 10^precision must fit in 64 bits (money up to
//!   ±922 337 203 685 477 with 4 decimals does); a value or literal outside it is refused,
//!   and so is a literal with more decimals than the attribute keeps. Changing an
//!   attribute's precision means rewriting its column.
//!
//! Values are never spliced into SQL text: every literal, context value, date bound, pattern
//! and `LIMIT` is a [`SqlParam`] bound at a placeholder (`?N` for SQLite, `$N` for
//! PostgreSQL, numbered from the caller's start). Column names come from the caller's
//! `column` function, which quotes them.

mod check;
mod column;
mod error;
mod eval;
mod lex;
mod parse;
mod sql;

use std::fmt;

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use crate::metadata::{SortDir, View};

pub use check::{CheckedFilter, CheckedQuery};
pub use column::{ColumnError, column_text, column_type, column_value};
pub use error::{Part, Problem, QueryError};
pub use eval::EvalContext;
pub use sql::{Dialect, SqlFragment, SqlParam};

/// The deepest nesting of parentheses and `not` a filter may have, so that parsing,
/// checking and evaluation never exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// The longest text of one query option (`$filter`, `$select`, `$orderby`), in bytes. A
/// real view's filter is a few hundred bytes; a profile filter listing ids a few thousand.
pub const MAX_TEXT_LEN: usize = 32 * 1024;

/// The most nodes a filter may have: conditions, and every `and`, `or` and `not` joining
/// them (an `or` of 10 conditions is 11). A real view has a dozen. The bound keeps the SQL
/// within what both engines take: SQLite parses an `or` chain of N terms into an
/// expression N deep and refuses one deeper than 1,000, and every condition binds one or
/// two parameters.
pub const MAX_NODES: usize = 512;

/// The longest quoted text in a filter, in bytes (the longest memo field is 4,000
/// characters of mostly one byte each).
pub const MAX_LITERAL_LEN: usize = 4 * 1024;

/// The largest `N` of `last-x-days N` and its siblings (about a century).
pub const MAX_DAYS: u32 = 36_500;

/// A field name as written, with its byte position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldName {
    /// The logical name.
    pub name: String,
    /// Byte offset in the text it was read from.
    pub at: usize,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The keyword as written in a filter.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Whether it orders (`gt`, `ge`, `lt`, `le`) rather than tests equality.
    pub fn is_ordering(self) -> bool {
        !matches!(self, Self::Eq | Self::Ne)
    }
}

/// A text function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFunction {
    /// `contains(field,'x')`
    Contains,
    /// `startswith(field,'x')`
    StartsWith,
    /// `endswith(field,'x')`
    EndsWith,
}

impl TextFunction {
    /// The function name as written in a filter.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Contains => "contains",
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
        }
    }
}

/// An owner shortcut: compares a reference with the current user's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerShortcut {
    /// `eq-userid`: the current user.
    UserId,
    /// `eq-userteams`: one of the user's teams.
    UserTeams,
    /// `eq-useroruserhierarchy`: the user or anyone below them in the manager chain.
    UserOrUserHierarchy,
    /// `eq-businessid`: the user's business unit.
    BusinessId,
}

impl OwnerShortcut {
    /// The keyword as written in a filter.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::UserId => "eq-userid",
            Self::UserTeams => "eq-userteams",
            Self::UserOrUserHierarchy => "eq-useroruserhierarchy",
            Self::BusinessId => "eq-businessid",
        }
    }

    /// The entity whose references it produces.
    pub fn target(self) -> &'static str {
        match self {
            Self::UserId | Self::UserOrUserHierarchy => "systemuser",
            Self::UserTeams => "team",
            Self::BusinessId => "businessunit",
        }
    }
}

/// A date function, relative to [`EvalContext::now`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFunction {
    /// `last-x-days N`: from midnight N days ago up to now.
    LastXDays(u32),
    /// `next-x-days N`: from now to the end of the Nth day from today.
    NextXDays(u32),
    /// `older-x-days N`: before midnight N days ago.
    OlderXDays(u32),
    /// `today`: from today's midnight to the next.
    Today,
}

impl DateFunction {
    /// The keyword as written in a filter (without its number).
    pub fn keyword(self) -> &'static str {
        match self {
            Self::LastXDays(_) => "last-x-days",
            Self::NextXDays(_) => "next-x-days",
            Self::OlderXDays(_) => "older-x-days",
            Self::Today => "today",
        }
    }
}

/// A literal as written, before it is read as a field's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `null`
    Null,
    /// `'text'`, quotes removed and `''` unescaped.
    Text(String),
    /// `12`, `-3.5`, exact.
    Number(Decimal),
    /// `true` or `false`.
    Bool(bool),
    /// `2026-11-28`
    Date(Date),
    /// `2026-11-28T10:00:00Z`, in UTC.
    DateTime(OffsetDateTime),
}

/// An untyped filter expression, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `field op literal`.
    Compare {
        /// The field.
        field: FieldName,
        /// The operator.
        op: CompareOp,
        /// Byte offset of the operator.
        op_at: usize,
        /// The literal.
        value: Literal,
        /// Byte offset of the literal.
        value_at: usize,
    },
    /// `contains(field,'x')` and its siblings.
    Text {
        /// The function.
        function: TextFunction,
        /// Byte offset of the function name.
        at: usize,
        /// The field.
        field: FieldName,
        /// The text looked for.
        arg: String,
    },
    /// `field eq-userid` and its siblings.
    Shortcut {
        /// The field.
        field: FieldName,
        /// The shortcut.
        shortcut: OwnerShortcut,
        /// Byte offset of the shortcut.
        at: usize,
    },
    /// `field last-x-days N` and its siblings.
    Date {
        /// The field.
        field: FieldName,
        /// The function.
        function: DateFunction,
        /// Byte offset of the function.
        at: usize,
    },
    /// `not …`
    Not(Box<Filter>),
    /// `… and …`, two or more.
    And(Vec<Filter>),
    /// `… or …`, two or more.
    Or(Vec<Filter>),
}

impl Filter {
    /// The fields every match equals something on (`field eq literal` and the owner
    /// shortcuts, alone or in a top-level `and`): the columns an index narrows the
    /// filter by, so counting a view reads an index instead of every row.
    pub fn equality_fields(&self) -> Vec<&str> {
        match self {
            Self::Compare {
                field,
                op: CompareOp::Eq,
                value,
                ..
            } if *value != Literal::Null => vec![field.name.as_str()],
            Self::Shortcut { field, .. } => vec![field.name.as_str()],
            Self::And(parts) => parts.iter().flat_map(Self::equality_fields).collect(),
            _ => Vec::new(),
        }
    }
}

/// An untyped query: the four system query options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// `$select`; `None` is every field.
    pub select: Option<Vec<FieldName>>,
    /// `$filter`; `None` matches every record.
    pub filter: Option<Filter>,
    /// `$orderby`, in order.
    pub order_by: Vec<(FieldName, SortDir)>,
    /// `$top`.
    pub top: Option<u32>,
}

/// The text of each system query option, as a caller received it (`None` when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryText<'a> {
    /// `$select`
    pub select: Option<&'a str>,
    /// `$filter`
    pub filter: Option<&'a str>,
    /// `$orderby`
    pub order_by: Option<&'a str>,
    /// `$top`
    pub top: Option<&'a str>,
}

/// Parses a `$filter` text into an untyped expression.
///
/// # Errors
/// [`QueryError`] with the byte position of the first token that does not fit and what
/// was expected there.
pub fn parse_filter(text: &str) -> Result<Filter, QueryError> {
    parse::filter(text)
}

/// Parses the system query options into an untyped query.
///
/// # Errors
/// [`QueryError`] naming the option ([`Part`]) and the byte position within it.
pub fn parse_query(text: QueryText<'_>) -> Result<Query, QueryError> {
    Ok(Query {
        select: text.select.map(parse::select).transpose()?,
        filter: text.filter.map(parse::filter).transpose()?,
        order_by: text
            .order_by
            .map(parse::order_by)
            .transpose()?
            .unwrap_or_default(),
        top: text.top.map(parse::top).transpose()?,
    })
}

impl Query {
    /// The query of a system view: its columns, filter and sort. Errors in the sort carry
    /// the index of the key as their position.
    ///
    /// # Errors
    /// [`QueryError`] when the filter does not parse or a column or sort key is not a
    /// field name.
    pub fn for_view(view: &View) -> Result<Self, QueryError> {
        let name = |part: Part, at: usize, name: &str| {
            parse::field_name(name)
                .then(|| FieldName {
                    name: name.to_owned(),
                    at,
                })
                .ok_or_else(|| QueryError {
                    part,
                    at,
                    problem: Problem::Expected {
                        expected: "a field name",
                        found: lex::describe_word(name),
                    },
                })
        };
        Ok(Self {
            select: Some(
                view.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| name(Part::Select, i, c))
                    .collect::<Result<_, _>>()?,
            ),
            filter: view.filter.as_deref().map(parse::filter).transpose()?,
            order_by: view
                .order
                .iter()
                .enumerate()
                .map(|(i, (c, dir))| Ok((name(Part::OrderBy, i, c)?, *dir)))
                .collect::<Result<_, QueryError>>()?,
            top: None,
        })
    }
}

impl fmt::Display for Literal {
    /// The literal as it would be written in a filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Self::Number(d) => write!(f, "{d}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Date(d) => f.write_str(&crate::value::format_date(*d)),
            Self::DateTime(t) => f.write_str(&crate::value::format_datetime(*t)),
        }
    }
}

#[cfg(test)]
mod tests;
