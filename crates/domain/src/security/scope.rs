//! An access rule compiled to a query predicate ([`Scope`]), so the server's scope
//! queries filter in SQL instead of checking rows one by one. A scope only looks at a
//! record's owner and owning business unit, which is all that record privileges depend
//! on; [`Scope::matches`] is the same predicate in memory, and it agrees with
//! [`super::Principal::can`] (a property test holds both to it).
//!
//! SQL is always parameterized: ids travel as bound parameters, never inside the text.
//! Column names come from the caller's code; they are quoted as identifiers anyway.

use std::collections::BTreeSet;

use super::principal::RecordFacts;
use crate::query::Dialect;

/// Which records of an entity a rule admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// No record.
    Nothing,
    /// Records owned by one of `owners`, or whose owning business unit is one of
    /// `business_units`. [`Scope::limited`] never makes one with both sets empty (that
    /// is [`Scope::Nothing`]); one built by hand admits nothing.
    Limited {
        /// Canonical owner texts: `systemuser:id`, `team:id`.
        owners: BTreeSet<String>,
        /// Business unit ids.
        business_units: BTreeSet<String>,
    },
}

impl Scope {
    /// A limited scope, or [`Scope::Nothing`] when both sets are empty.
    pub fn limited(owners: BTreeSet<String>, business_units: BTreeSet<String>) -> Self {
        if owners.is_empty() && business_units.is_empty() {
            Self::Nothing
        } else {
            Self::Limited {
                owners,
                business_units,
            }
        }
    }

    /// Whether the scope admits the record.
    pub fn matches(&self, record: &RecordFacts) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Limited {
                owners,
                business_units,
            } => {
                owners.contains(&record.owner.to_string())
                    || business_units.contains(&record.owning_business_unit)
            }
        }
    }

    /// The scope as a SQL boolean expression over `owner_column` (holding the canonical
    /// owner text `entity:id`) and `bu_column` (the owning business unit lookup, canonical
    /// text `businessunit:id`, as every stored value is — ADR 0005), with its
    /// parameters in order. Placeholders are numbered from `first_param` (1-based), so
    /// the expression can join a query that already binds `first_param - 1` parameters.
    /// Each set becomes one `IN (…)` list; SQLite accepts 32 766 parameters per
    /// statement and PostgreSQL 65 535, far more than one user's owners and units.
    pub fn to_sql(
        &self,
        dialect: Dialect,
        owner_column: &str,
        bu_column: &str,
        first_param: usize,
    ) -> (String, Vec<String>) {
        match self {
            Self::All => ("1 = 1".to_owned(), Vec::new()),
            Self::Nothing => ("1 = 0".to_owned(), Vec::new()),
            Self::Limited {
                owners,
                business_units,
            } => {
                let mut params = Vec::new();
                let mut terms = Vec::new();
                let units: BTreeSet<String> = business_units
                    .iter()
                    .map(|id| format!("businessunit:{id}"))
                    .collect();
                for (column, values) in [(owner_column, owners), (bu_column, &units)] {
                    if values.is_empty() {
                        continue;
                    }
                    let placeholders: Vec<String> = values
                        .iter()
                        .map(|value| {
                            params.push(value.clone());
                            dialect.placeholder(first_param + params.len() - 1)
                        })
                        .collect();
                    terms.push(format!(
                        "{} IN ({})",
                        quote_identifier(column),
                        placeholders.join(", ")
                    ));
                }
                if terms.is_empty() {
                    // Built by hand with both sets empty: it admits nothing.
                    return ("1 = 0".to_owned(), params);
                }
                (format!("({})", terms.join(" OR ")), params)
            }
        }
    }
}

/// `a.b` → `"a"."b"`, doubling any quote inside, so a column name can never end the
/// identifier early. Both SQLite and PostgreSQL read double-quoted identifiers.
fn quote_identifier(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests;
