//! Entity metadata: which entities exist and which fields they have.

use serde::{Deserialize, Serialize};

use crate::value::Fields;

/// One attribute of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Logical name, also the column name in every store.
    pub name: String,
    /// What a person sees.
    pub label: String,
    /// A create must give it and an update may not clear it.
    pub required: bool,
    /// Maximum length in characters.
    pub max_len: usize,
    /// Whether a user may change it (the owner is changed by assign, not by update).
    pub updatable: bool,
}

/// One entity (record type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityDef {
    /// Logical name, e.g. `account`.
    pub name: String,
    /// Plural display name, e.g. `Accounts`.
    pub label: String,
    /// The field a grid sorts by and a lookup shows.
    pub primary_field: String,
    /// Attributes, in form order.
    pub fields: Vec<FieldDef>,
}

/// The metadata of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Bumped by every change.
    pub version: u64,
    /// Entities by logical name.
    pub entities: Vec<EntityDef>,
}

/// Why a record or a change does not fit the metadata. Each names the field and a code.
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
    /// The value is longer than the field allows.
    #[error("`{field}` is longer than {max} characters")]
    TooLong {
        /// The field.
        field: String,
        /// The maximum length.
        max: usize,
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
            | Self::ReadOnly { field } => Some(field),
        }
    }
}

impl Metadata {
    /// The entity named `name`.
    pub fn entity(&self, name: &str) -> Result<&EntityDef, ValidationError> {
        self.entities
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| ValidationError::UnknownEntity {
                entity: name.to_owned(),
            })
    }

    /// The metadata of the walking skeleton: one `account` entity.
    pub fn skeleton() -> Self {
        let field = |name: &str, label: &str, required, max_len, updatable| FieldDef {
            name: name.to_owned(),
            label: label.to_owned(),
            required,
            max_len,
            updatable,
        };
        Self {
            version: 1,
            entities: vec![EntityDef {
                name: "account".to_owned(),
                label: "Accounts".to_owned(),
                primary_field: "name".to_owned(),
                fields: vec![
                    field("name", "Account name", true, 160, true),
                    field("city", "City", false, 80, true),
                    field("revenue", "Annual revenue", false, 32, true),
                    field("owner", "Owner", false, 100, false),
                ],
            }],
        }
    }
}

impl EntityDef {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Result<&FieldDef, ValidationError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| ValidationError::UnknownField {
                field: name.to_owned(),
            })
    }

    /// Checks a partial update: every field exists, may be updated, fits, and required
    /// fields are not cleared. Returns every problem, in field order.
    pub fn validate_update(&self, changes: &Fields) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        for (name, value) in changes {
            let def = match self.field(name) {
                Ok(def) => def,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if !def.updatable {
                errors.push(ValidationError::ReadOnly {
                    field: name.clone(),
                });
                continue;
            }
            let text = value.as_deref().unwrap_or("");
            if def.required && text.trim().is_empty() {
                errors.push(ValidationError::Required {
                    field: name.clone(),
                });
            } else if text.chars().count() > def.max_len {
                errors.push(ValidationError::TooLong {
                    field: name.clone(),
                    max: def.max_len,
                });
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests;
