//! The checker: resolves an untyped [`Filter`] or [`Query`] against an entity's metadata.
//! Every field must exist (or be `id`), every literal must read as its field's kind and is
//! turned into the field's column value once, and every operator, function, shortcut and
//! date function must apply to its field's kind.

use rust_decimal::Decimal;

use super::column::{Scaled, scaled};
use super::{
    CompareOp, DateFunction, FieldName, Filter, Literal, OwnerShortcut, Part, Problem, Query,
    QueryError, SqlParam, TextFunction,
};
use crate::metadata::{AttributeKind, EntityDef, SortDir};
use crate::value::{format_date, format_datetime, parse_ref};

/// A field resolved against an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    /// Logical name, or `id`.
    pub(super) name: String,
    /// Its kind; `id` reads as unbounded text.
    pub(super) kind: AttributeKind,
    /// Whether it is the record id rather than an attribute.
    pub(super) is_id: bool,
}

/// A checked filter node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// `column op value`; `value` is a column value, never null.
    Compare {
        column: Column,
        op: CompareOp,
        value: SqlParam,
    },
    /// `eq null` (`is_null`) or `ne null`.
    Null {
        column: Column,
        is_null: bool,
    },
    /// A text function; `needle` is the argument with ASCII letters lowercased.
    Text {
        column: Column,
        function: TextFunction,
        needle: String,
    },
    /// An owner shortcut.
    Shortcut {
        column: Column,
        shortcut: OwnerShortcut,
    },
    /// A date function; `date_only` says whether the column holds dates or date-times.
    Date {
        column: Column,
        function: DateFunction,
        date_only: bool,
    },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// A filter checked against an entity: ready to evaluate in memory
/// ([`CheckedFilter::matches`]) or to compile to SQL ([`CheckedFilter::to_sql`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFilter {
    pub(super) root: Node,
}

/// A query checked against an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedQuery {
    pub(super) select: Option<Vec<Column>>,
    pub(super) filter: Option<CheckedFilter>,
    pub(super) order: Vec<(Column, SortDir)>,
    pub(super) top: Option<u32>,
}

impl CheckedQuery {
    /// The selected fields, or `None` for every field.
    pub fn select(&self) -> Option<Vec<&str>> {
        self.select
            .as_ref()
            .map(|s| s.iter().map(|c| c.name.as_str()).collect())
    }

    /// The filter, if any.
    pub fn filter(&self) -> Option<&CheckedFilter> {
        self.filter.as_ref()
    }

    /// The sort keys as given (the `id` tie-break is not listed).
    pub fn order(&self) -> Vec<(&str, SortDir)> {
        self.order
            .iter()
            .map(|(c, d)| (c.name.as_str(), *d))
            .collect()
    }

    /// `$top`.
    pub fn top(&self) -> Option<u32> {
        self.top
    }
}

impl Filter {
    /// Checks the filter against `entity`.
    ///
    /// # Errors
    /// [`QueryError`] at the first field, literal, operator or function that does not fit:
    /// [`Problem::UnknownField`], [`Problem::InvalidValue`] or [`Problem::NotApplicable`].
    pub fn check(&self, entity: &EntityDef) -> Result<CheckedFilter, QueryError> {
        Ok(CheckedFilter {
            root: node(self, entity)?,
        })
    }
}

impl Query {
    /// Checks every option against `entity`.
    ///
    /// # Errors
    /// As [`Filter::check`], and [`Problem::UnknownField`] or [`Problem::Repeated`] for
    /// `$select` and `$orderby`.
    pub fn check(&self, entity: &EntityDef) -> Result<CheckedQuery, QueryError> {
        let select = self
            .select
            .as_ref()
            .map(|fields| {
                let columns = fields
                    .iter()
                    .map(|f| column(entity, f, Part::Select))
                    .collect::<Result<Vec<_>, _>>()?;
                no_repeats(fields, Part::Select)?;
                Ok::<_, QueryError>(columns)
            })
            .transpose()?;
        let filter = self.filter.as_ref().map(|f| f.check(entity)).transpose()?;
        let order = self
            .order_by
            .iter()
            .map(|(f, dir)| Ok((column(entity, f, Part::OrderBy)?, *dir)))
            .collect::<Result<Vec<_>, QueryError>>()?;
        let keys: Vec<FieldName> = self.order_by.iter().map(|(f, _)| f.clone()).collect();
        no_repeats(&keys, Part::OrderBy)?;
        Ok(CheckedQuery {
            select,
            filter,
            order,
            top: self.top,
        })
    }
}

fn no_repeats(fields: &[FieldName], part: Part) -> Result<(), QueryError> {
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(QueryError {
                part,
                at: f.at,
                problem: Problem::Repeated {
                    field: f.name.clone(),
                },
            });
        }
    }
    Ok(())
}

fn column(entity: &EntityDef, field: &FieldName, part: Part) -> Result<Column, QueryError> {
    if field.name == "id" {
        return Ok(Column {
            name: "id".to_owned(),
            kind: AttributeKind::Text { max_len: u32::MAX },
            is_id: true,
        });
    }
    let attribute = entity.attribute(&field.name).map_err(|_| QueryError {
        part,
        at: field.at,
        problem: Problem::UnknownField {
            field: field.name.clone(),
            entity: entity.name.clone(),
        },
    })?;
    Ok(Column {
        name: attribute.name.clone(),
        kind: attribute.kind.clone(),
        is_id: false,
    })
}

fn not_applicable(column: &Column, operator: &str, at: usize) -> QueryError {
    QueryError {
        part: Part::Filter,
        at,
        problem: Problem::NotApplicable {
            operator: operator.to_owned(),
            field: column.name.clone(),
            kind: kind_name(column),
        },
    }
}

fn node(filter: &Filter, entity: &EntityDef) -> Result<Node, QueryError> {
    Ok(match filter {
        Filter::Compare {
            field,
            op,
            op_at,
            value,
            value_at,
        } => {
            let column = column(entity, field, Part::Filter)?;
            let invalid = |expected: String| QueryError {
                part: Part::Filter,
                at: *value_at,
                problem: Problem::InvalidValue {
                    field: column.name.clone(),
                    literal: value.to_string(),
                    expected,
                },
            };
            if *value == Literal::Null {
                return match op {
                    CompareOp::Eq | CompareOp::Ne => Ok(Node::Null {
                        is_null: *op == CompareOp::Eq,
                        column,
                    }),
                    _ => Err(invalid(format!(
                        "a value (null compares only with eq and ne, not {})",
                        op.keyword()
                    ))),
                };
            }
            if op.is_ordering()
                && matches!(
                    column.kind,
                    AttributeKind::Lookup { .. } | AttributeKind::Owner | AttributeKind::Bool
                )
            {
                return Err(not_applicable(&column, op.keyword(), *op_at));
            }
            let value = literal(&column.kind, value).map_err(invalid)?;
            Node::Compare {
                column,
                op: *op,
                value,
            }
        }
        Filter::Text {
            function,
            at,
            field,
            arg,
        } => {
            let column = column(entity, field, Part::Filter)?;
            if !matches!(
                column.kind,
                AttributeKind::Text { .. } | AttributeKind::Memo { .. }
            ) {
                return Err(not_applicable(&column, function.keyword(), *at));
            }
            Node::Text {
                column,
                function: *function,
                needle: arg.to_ascii_lowercase(),
            }
        }
        Filter::Shortcut {
            field,
            shortcut,
            at,
        } => {
            let column = column(entity, field, Part::Filter)?;
            let applies = column
                .kind
                .targets()
                .is_some_and(|t| t.iter().any(|t| t == shortcut.target()));
            if !applies {
                return Err(not_applicable(&column, shortcut.keyword(), *at));
            }
            Node::Shortcut {
                column,
                shortcut: *shortcut,
            }
        }
        Filter::Date {
            field,
            function,
            at,
        } => {
            let column = column(entity, field, Part::Filter)?;
            let date_only = match column.kind {
                AttributeKind::DateTime => false,
                AttributeKind::DateOnly => true,
                _ => return Err(not_applicable(&column, function.keyword(), *at)),
            };
            Node::Date {
                column,
                function: *function,
                date_only,
            }
        }
        Filter::Not(inner) => Node::Not(Box::new(node(inner, entity)?)),
        Filter::And(terms) => Node::And(
            terms
                .iter()
                .map(|t| node(t, entity))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Or(terms) => Node::Or(
            terms
                .iter()
                .map(|t| node(t, entity))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Reads a non-null literal as `kind` and gives its column value, or what `kind` expects.
fn literal(kind: &AttributeKind, literal: &Literal) -> Result<SqlParam, String> {
    use AttributeKind as K;
    let whole = |d: &Decimal| {
        (d.scale() == 0)
            .then(|| i64::try_from(d.mantissa()).ok())
            .flatten()
    };
    match (kind, literal) {
        (K::Text { .. } | K::Memo { .. }, Literal::Text(s)) => Ok(SqlParam::Text(s.clone())),
        (K::Text { .. } | K::Memo { .. }, _) => Err("a text in quotes".to_owned()),
        (K::WholeNumber { .. } | K::BigInt, Literal::Number(d)) if whole(d).is_some() => {
            Ok(SqlParam::Int(whole(d).expect("checked by the guard")))
        }
        (K::WholeNumber { .. } | K::BigInt, _) => Err("a whole number".to_owned()),
        (K::Decimal { precision, .. } | K::Money { precision, .. }, Literal::Number(d)) => {
            match scaled(*d, *precision) {
                Ok(n) => Ok(SqlParam::Int(n)),
                Err(Scaled::TooPrecise) => {
                    Err(format!("a number with at most {precision} decimal places"))
                }
                Err(Scaled::OutOfRange) => Err(format!(
                    "a number whose value times 10^{precision} fits in 64 bits"
                )),
            }
        }
        (K::Decimal { .. } | K::Money { .. }, _) => Err("a number".to_owned()),
        (K::Bool, Literal::Bool(b)) => Ok(SqlParam::Int(i64::from(*b))),
        (K::Bool, _) => Err("true or false".to_owned()),
        (K::DateTime, Literal::DateTime(t)) if t.nanosecond() == 0 => {
            Ok(SqlParam::Text(format_datetime(*t)))
        }
        (K::DateTime, Literal::Date(d)) => {
            Ok(SqlParam::Text(format_datetime(d.midnight().assume_utc())))
        }
        (K::DateTime, _) => {
            Err("a date-time in whole seconds such as 2026-11-28T10:00:00Z".to_owned())
        }
        (K::DateOnly, Literal::Date(d)) => Ok(SqlParam::Text(format_date(*d))),
        (K::DateOnly, _) => Err("a date such as 2026-11-28".to_owned()),
        (K::Choice { .. } | K::State { .. } | K::Status { .. }, _) => option(
            literal,
            &kind.options().map(|(value, _)| value).collect::<Vec<_>>(),
        ),
        (K::Lookup { .. } | K::Owner, _) => {
            let targets = kind.targets().unwrap_or_default();
            let reference = match literal {
                Literal::Text(s) => parse_ref(s, &targets).ok(),
                _ => None,
            };
            match reference {
                Some(r) if targets.contains(&r.entity) => Ok(SqlParam::Text(r.to_string())),
                _ => Err(format!(
                    "a reference in quotes such as '{}:<id>' (to {})",
                    targets.first().map_or("entity", String::as_str),
                    targets.join(" or ")
                )),
            }
        }
    }
}

fn option(literal: &Literal, values: &[i32]) -> Result<SqlParam, String> {
    let value = match literal {
        Literal::Number(d) if d.scale() == 0 => i32::try_from(d.mantissa()).ok(),
        _ => None,
    };
    match value {
        Some(v) if values.contains(&v) => Ok(SqlParam::Int(i64::from(v))),
        _ => Err(format!(
            "one of the option numbers {}",
            values
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The kind of a column, for a person.
fn kind_name(column: &Column) -> &'static str {
    use AttributeKind as K;
    if column.is_id {
        return "the record id";
    }
    match column.kind {
        K::Text { .. } => "a text field",
        K::Memo { .. } => "a memo field",
        K::WholeNumber { .. } => "a whole number field",
        K::BigInt => "a big integer field",
        K::Decimal { .. } => "a decimal field",
        K::Money { .. } => "a money field",
        K::Bool => "a yes/no field",
        K::DateTime => "a date-time field",
        K::DateOnly => "a date-only field",
        K::Choice { .. } => "a choice field",
        K::Lookup { .. } => "a lookup field",
        K::Owner => "an owner field",
        K::State { .. } => "a state field",
        K::Status { .. } => "a status field",
    }
}

#[cfg(test)]
mod tests;
