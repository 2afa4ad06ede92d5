//! Validation of records and partial updates against metadata. Every error names the
//! field and carries a machine-readable code.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{AttributeDef, AttributeKind, EntityDef};
use crate::value::{Fields, Value};

/// Why a record or a change does not fit the metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ValidationError {
    /// The entity does not exist.
    #[error("unknown entity `{entity}`")]
    UnknownEntity {
        /// The name that was given.
        entity: String,
    },
    /// The field does not exist on the entity.
    #[error("unknown field `{field}`")]
    UnknownField {
        /// The name that was given.
        field: String,
    },
    /// A required field is missing or empty.
    #[error("`{field}` is required")]
    Required {
        /// The field.
        field: String,
    },
    /// The text is longer than the field allows.
    #[error("`{field}` is longer than {max} characters")]
    TooLong {
        /// The field.
        field: String,
        /// The maximum length.
        max: usize,
    },
    /// The number is outside the field's range.
    #[error("`{field}` must be between {min} and {max}")]
    OutOfRange {
        /// The field.
        field: String,
        /// Smallest allowed, as text.
        min: String,
        /// Largest allowed, as text.
        max: String,
    },
    /// The number has more decimal places than the field keeps.
    #[error("`{field}` allows at most {max} decimal places")]
    Precision {
        /// The field.
        field: String,
        /// Decimal places allowed.
        max: u32,
    },
    /// The text is not a value of the field's type.
    #[error("`{field}` must be {expected}")]
    BadFormat {
        /// The field.
        field: String,
        /// What was expected, for a person.
        expected: String,
    },
    /// The number is not one of the field's options.
    #[error("`{field}` has no option {value}")]
    BadChoice {
        /// The field.
        field: String,
        /// The number given.
        value: i32,
    },
    /// The lookup points at an entity it may not point at.
    #[error("`{field}` cannot point at `{entity}`")]
    LookupTarget {
        /// The field.
        field: String,
        /// The entity given.
        entity: String,
    },
    /// The field cannot be changed by an update.
    #[error("`{field}` cannot be updated")]
    ReadOnly {
        /// The field.
        field: String,
    },
}

impl ValidationError {
    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::UnknownEntity { .. } => None,
            Self::UnknownField { field }
            | Self::Required { field }
            | Self::TooLong { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::Precision { field, .. }
            | Self::BadFormat { field, .. }
            | Self::BadChoice { field, .. }
            | Self::LookupTarget { field, .. }
            | Self::ReadOnly { field } => Some(field),
        }
    }

    /// The machine-readable code (`required`, `too_long`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownEntity { .. } => "unknown_entity",
            Self::UnknownField { .. } => "unknown_field",
            Self::Required { .. } => "required",
            Self::TooLong { .. } => "too_long",
            Self::OutOfRange { .. } => "out_of_range",
            Self::Precision { .. } => "precision",
            Self::BadFormat { .. } => "bad_format",
            Self::BadChoice { .. } => "bad_choice",
            Self::LookupTarget { .. } => "lookup_target",
            Self::ReadOnly { .. } => "read_only",
        }
    }
}

fn range_check(
    field: &str,
    value: Decimal,
    min: Decimal,
    max: Decimal,
) -> Result<(), ValidationError> {
    if value < min || value > max {
        return Err(ValidationError::OutOfRange {
            field: field.to_owned(),
            min: min.to_string(),
            max: max.to_string(),
        });
    }
    Ok(())
}

impl AttributeDef {
    /// Checks one value and returns its canonical text. Null passes here; requiredness is
    /// the record's concern.
    pub fn check(&self, text: Option<&str>) -> Result<Option<String>, ValidationError> {
        let field = || self.name.clone();
        let value = Value::parse(&self.kind, text).map_err(|e| ValidationError::BadFormat {
            field: field(),
            expected: e.expected.to_owned(),
        })?;
        match (&self.kind, &value) {
            (_, Value::Null) => {}
            (AttributeKind::Text { .. } | AttributeKind::Memo { .. }, Value::Text(s))
                if s.contains('\0') =>
            {
                // PostgreSQL's text cannot hold it and SQLite's text functions stop at it.
                return Err(ValidationError::BadFormat {
                    field: field(),
                    expected: "text without the NUL character".to_owned(),
                });
            }
            (AttributeKind::Text { max_len } | AttributeKind::Memo { max_len }, Value::Text(s)) => {
                let max = *max_len as usize;
                if s.chars().count() > max {
                    return Err(ValidationError::TooLong {
                        field: field(),
                        max,
                    });
                }
            }
            (AttributeKind::WholeNumber { min, max }, Value::Int(n)) => {
                range_check(
                    &self.name,
                    Decimal::from(*n),
                    Decimal::from(*min),
                    Decimal::from(*max),
                )?;
            }
            (
                AttributeKind::Decimal {
                    precision,
                    min,
                    max,
                }
                | AttributeKind::Money {
                    precision,
                    min,
                    max,
                },
                Value::Decimal(d),
            ) => {
                if d.normalize().scale() > *precision {
                    return Err(ValidationError::Precision {
                        field: field(),
                        max: *precision,
                    });
                }
                range_check(&self.name, *d, *min, *max)?;
            }
            (
                kind @ (AttributeKind::Choice { .. }
                | AttributeKind::State { .. }
                | AttributeKind::Status { .. }),
                Value::Choice(n),
            ) if kind.option_label(*n).is_none() => {
                return Err(ValidationError::BadChoice {
                    field: field(),
                    value: *n,
                });
            }
            (kind @ (AttributeKind::Lookup { .. } | AttributeKind::Owner), Value::Ref(r))
                if !kind.targets().unwrap_or_default().contains(&r.entity) =>
            {
                return Err(ValidationError::LookupTarget {
                    field: field(),
                    entity: r.entity.clone(),
                });
            }
            _ => {}
        }
        Ok(value.into_canonical(&self.kind))
    }
}

fn is_blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

impl EntityDef {
    /// Checks a partial update: every field exists, may be updated, fits its type, and
    /// required fields are not cleared. Returns every problem, in field-name order.
    pub fn validate_update(&self, changes: &Fields) -> Vec<ValidationError> {
        match self.canonical_update(changes) {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        }
    }

    /// [`EntityDef::validate_update`], returning the changes in canonical text.
    pub fn canonical_update(&self, changes: &Fields) -> Result<Fields, Vec<ValidationError>> {
        self.canonical(changes, false)
    }

    /// Checks a new record: every given field as in an update (read-only fields may be set
    /// at creation), and every required field present.
    pub fn canonical_create(&self, fields: &Fields) -> Result<Fields, Vec<ValidationError>> {
        self.canonical(fields, true)
    }

    fn canonical(&self, fields: &Fields, create: bool) -> Result<Fields, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let mut out = Fields::new();
        for (name, text) in fields {
            let def = match self.attribute(name) {
                Ok(def) => def,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if !create && !def.updatable {
                errors.push(ValidationError::ReadOnly {
                    field: name.clone(),
                });
                continue;
            }
            if def.required() && is_blank(text.as_deref()) {
                errors.push(ValidationError::Required {
                    field: name.clone(),
                });
                continue;
            }
            match def.check(text.as_deref()) {
                Ok(canonical) => {
                    out.insert(name.clone(), canonical);
                }
                Err(e) => errors.push(e),
            }
        }
        if create {
            for def in self.attributes.iter().filter(|a| a.required()) {
                if !fields.contains_key(&def.name) {
                    errors.push(ValidationError::Required {
                        field: def.name.clone(),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
