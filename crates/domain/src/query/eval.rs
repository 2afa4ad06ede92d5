//! In-memory evaluation and sorting, in SQL's three-valued logic, over the same column
//! values the compiled SQL compares (see [`column_value`](super::column_value)); and the
//! context that owner shortcuts and date functions resolve against, shared with the SQL
//! compiler so both read the same references and the same date bounds.

use std::cmp::Ordering;

use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::TextFunction;
use super::check::{Column, Node};
use super::column::column_value;
use super::{CheckedFilter, CheckedQuery, CompareOp, DateFunction, OwnerShortcut, SqlParam};
use crate::metadata::SortDir;
use crate::value::{Fields, format_date, format_datetime};

/// Who is asking and when: what owner shortcuts and date functions resolve against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalContext {
    /// The current user's id (`eq-userid` is `systemuser:<user_id>`).
    pub user_id: String,
    /// The ids of the teams the user is a member of (`eq-userteams`).
    pub team_ids: Vec<String>,
    /// The user and everyone below them in the manager chain (`eq-useroruserhierarchy`;
    /// the user counts even when missing here).
    pub hierarchy_user_ids: Vec<String>,
    /// The user's business unit id (`eq-businessid`).
    pub business_unit_id: String,
    /// The current time; its offset says where days begin for date functions.
    pub now: OffsetDateTime,
}

impl EvalContext {
    /// The references a shortcut stands for, in order and without repeats.
    pub(super) fn references(&self, shortcut: OwnerShortcut) -> Vec<String> {
        let ids: Vec<&str> = match shortcut {
            OwnerShortcut::UserId => vec![&self.user_id],
            OwnerShortcut::UserTeams => self.team_ids.iter().map(String::as_str).collect(),
            OwnerShortcut::UserOrUserHierarchy => std::iter::once(self.user_id.as_str())
                .chain(self.hierarchy_user_ids.iter().map(String::as_str))
                .collect(),
            OwnerShortcut::BusinessId => vec![&self.business_unit_id],
        };
        let mut references: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let reference = format!("{}:{id}", shortcut.target());
            if !references.contains(&reference) {
                references.push(reference);
            }
        }
        references
    }
}

/// The inclusive range of column values a date function accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bounds {
    /// The smallest accepted value, or `None` for no lower bound.
    pub(super) low: Option<String>,
    /// The largest accepted value.
    pub(super) high: String,
}

/// The bounds of a date function at `now`, as canonical text, clamped to the years
/// 0000–9999 that canonical values can have.
pub(super) fn date_bounds(function: DateFunction, date_only: bool, now: OffsetDateTime) -> Bounds {
    const UNIX_EPOCH_DAY: i64 = 2_440_588;
    const DAY: i64 = 86_400;
    let today = i64::from(now.date().to_julian_day());
    // Whole days as Julian day numbers; `None` bounds are "no lower bound".
    let (low, high) = match function {
        DateFunction::Today => (Some(today), today),
        DateFunction::LastXDays(n) => (Some(today - i64::from(n)), today),
        DateFunction::NextXDays(n) => (Some(today), today + i64::from(n)),
        DateFunction::OlderXDays(n) => (None, today - i64::from(n) - 1),
    };
    if date_only {
        let first = i64::from(date!(0000 - 01 - 01).to_julian_day());
        let last = i64::from(date!(9999 - 12 - 31).to_julian_day());
        let text = |day: i64| {
            let day = i32::try_from(day.clamp(first, last)).expect("clamped to valid days");
            format_date(time::Date::from_julian_day(day).expect("clamped to valid days"))
        };
        return Bounds {
            low: low.map(text),
            high: text(high),
        };
    }
    let offset = i64::from(now.offset().whole_seconds());
    let midnight = |day: i64| (day - UNIX_EPOCH_DAY) * DAY - offset;
    let now_s = now.unix_timestamp();
    let (low, high) = match function {
        DateFunction::Today | DateFunction::OlderXDays(_) => {
            (low.map(midnight), midnight(high + 1) - 1)
        }
        DateFunction::LastXDays(_) => (low.map(midnight), now_s),
        DateFunction::NextXDays(_) => (Some(now_s), midnight(high + 1) - 1),
    };
    let first = datetime!(0000-01-01 0:00 UTC).unix_timestamp();
    let last = datetime!(9999-12-31 23:59:59 UTC).unix_timestamp();
    let text = |t: i64| {
        format_datetime(
            OffsetDateTime::from_unix_timestamp(t.clamp(first, last))
                .expect("clamped to valid times"),
        )
    };
    Bounds {
        low: low.map(text),
        high: text(high),
    }
}

/// A column's value in a record: `id` is the record id; a missing field, or one whose
/// text is not a value of its kind, is null.
pub(super) fn read(column: &Column, id: &str, fields: &Fields) -> SqlParam {
    if column.is_id {
        return SqlParam::Text(id.to_owned());
    }
    let text = fields.get(&column.name).and_then(|v| v.as_deref());
    column_value(&column.kind, text).unwrap_or(SqlParam::Null)
}

/// Orders two column values as SQLite and PostgreSQL (`COLLATE "C"`) do: null first,
/// integers numerically, text by bytes.
fn order(a: &SqlParam, b: &SqlParam) -> Ordering {
    match (a, b) {
        (SqlParam::Null, SqlParam::Null) => Ordering::Equal,
        (SqlParam::Null, _) => Ordering::Less,
        (_, SqlParam::Null) => Ordering::Greater,
        (SqlParam::Int(a), SqlParam::Int(b)) => a.cmp(b),
        (SqlParam::Text(a), SqlParam::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        // A kind stores one type, so a column never mixes them; integers first as in SQLite.
        (SqlParam::Int(_), SqlParam::Text(_)) => Ordering::Less,
        (SqlParam::Text(_), SqlParam::Int(_)) => Ordering::Greater,
    }
}

impl CheckedFilter {
    /// Whether the record with `id` and `fields` matches: only a *true* result matches,
    /// an unknown one (a comparison with null) does not.
    pub fn matches(&self, id: &str, fields: &Fields, ctx: &EvalContext) -> bool {
        eval(&self.root, id, fields, ctx) == Some(true)
    }
}

/// Three-valued evaluation: `None` is unknown.
fn eval(node: &Node, id: &str, fields: &Fields, ctx: &EvalContext) -> Option<bool> {
    match node {
        Node::Compare { column, op, value } => {
            let found = read(column, id, fields);
            if found == SqlParam::Null {
                return None;
            }
            let ordering = order(&found, value);
            Some(match op {
                CompareOp::Eq => ordering.is_eq(),
                CompareOp::Ne => ordering.is_ne(),
                CompareOp::Gt => ordering.is_gt(),
                CompareOp::Ge => ordering.is_ge(),
                CompareOp::Lt => ordering.is_lt(),
                CompareOp::Le => ordering.is_le(),
            })
        }
        Node::Null { column, is_null } => {
            Some((read(column, id, fields) == SqlParam::Null) == *is_null)
        }
        Node::Text {
            column,
            function,
            needle,
        } => {
            let SqlParam::Text(found) = read(column, id, fields) else {
                return None;
            };
            let found = found.to_ascii_lowercase();
            Some(match function {
                TextFunction::Contains => found.contains(needle.as_str()),
                TextFunction::StartsWith => found.starts_with(needle.as_str()),
                TextFunction::EndsWith => found.ends_with(needle.as_str()),
            })
        }
        Node::Shortcut { column, shortcut } => {
            let SqlParam::Text(found) = read(column, id, fields) else {
                return None;
            };
            Some(ctx.references(*shortcut).contains(&found))
        }
        Node::Date {
            column,
            function,
            date_only,
        } => {
            let SqlParam::Text(found) = read(column, id, fields) else {
                return None;
            };
            let bounds = date_bounds(*function, *date_only, ctx.now);
            let above = bounds.low.is_none_or(|low| found.as_str() >= low.as_str());
            Some(above && found.as_str() <= bounds.high.as_str())
        }
        Node::Not(inner) => eval(inner, id, fields, ctx).map(|b| !b),
        Node::And(terms) => {
            let mut result = Some(true);
            for term in terms {
                match eval(term, id, fields, ctx) {
                    Some(false) => return Some(false),
                    None => result = None,
                    Some(true) => {}
                }
            }
            result
        }
        Node::Or(terms) => {
            let mut result = Some(false);
            for term in terms {
                match eval(term, id, fields, ctx) {
                    Some(true) => return Some(true),
                    None => result = None,
                    Some(false) => {}
                }
            }
            result
        }
    }
}

impl CheckedQuery {
    /// How two records compare under `$orderby`: each key in turn, null first ascending
    /// and last descending, then `id` ascending. The same order as
    /// [`CheckedQuery::order_by_sql`] gives.
    pub fn compare(&self, a: (&str, &Fields), b: (&str, &Fields)) -> Ordering {
        for (column, dir) in &self.order {
            let ordering = order(&read(column, a.0, a.1), &read(column, b.0, b.1));
            let ordering = match dir {
                SortDir::Asc => ordering,
                SortDir::Desc => ordering.reverse(),
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        a.0.as_bytes().cmp(b.0.as_bytes())
    }

    /// Runs the query in memory: the records that match the filter, sorted, at most
    /// `$top` of them. `record` gives each item's id and fields.
    pub fn run<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        record: impl Fn(&T) -> (&str, &Fields),
        ctx: &EvalContext,
    ) -> Vec<T> {
        let mut kept: Vec<T> = items
            .into_iter()
            .filter(|item| {
                let (id, fields) = record(item);
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(id, fields, ctx))
            })
            .collect();
        kept.sort_by(|a, b| self.compare(record(a), record(b)));
        if let Some(top) = self.top {
            kept.truncate(usize::try_from(top).unwrap_or(usize::MAX));
        }
        kept
    }
}

#[cfg(test)]
mod tests;
