//! Metadata (S4): what entities exist, their attributes, relationships, forms, views,
//! quick-find columns, business process flows, the sitemap and app modules. The device
//! and the server read the same metadata; every change bumps its version.

mod validate;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use validate::ValidationError;

/// Who owns an entity's records.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// Owned by a user or a team, within a business unit; privilege depths apply.
    User,
    /// Owned by the organization; only organization depth (or none) applies.
    Organization,
}

/// One option of a choice.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// Stored number.
    pub value: i32,
    /// What a person sees.
    pub label: String,
}

/// One status reason, belonging to a state.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOption {
    /// Stored number.
    pub value: i32,
    /// What a person sees.
    pub label: String,
    /// The state this status reason belongs to.
    pub state: i32,
    /// Whether it is the state's default status reason.
    #[serde(default)]
    pub default: bool,
}

/// The type of an attribute, with its constraints.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttributeKind {
    /// Single-line text.
    Text {
        /// Maximum length in characters.
        max_len: u32,
    },
    /// Multi-line text.
    Memo {
        /// Maximum length in characters.
        max_len: u32,
    },
    /// 32-bit whole number within a range.
    WholeNumber {
        /// Smallest allowed.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        min: i64,
        /// Largest allowed.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        max: i64,
    },
    /// 64-bit whole number (text in JSON).
    BigInt,
    /// Exact decimal number.
    Decimal {
        /// Decimal places.
        precision: u32,
        /// Smallest allowed.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        min: Decimal,
        /// Largest allowed.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        max: Decimal,
    },
    /// Money, exact.
    Money {
        /// Decimal places.
        precision: u32,
        /// Smallest allowed.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        min: Decimal,
        /// Largest allowed.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        max: Decimal,
    },
    /// Yes / no.
    Bool,
    /// A point in time.
    DateTime,
    /// A calendar date, no time, no zone.
    DateOnly,
    /// One of a set of options.
    Choice {
        /// The options.
        options: Vec<ChoiceOption>,
    },
    /// A reference to a record of one of the target entities.
    Lookup {
        /// Entities it may point to.
        targets: Vec<String>,
    },
    /// The owner: a user (`systemuser`) or a team (`team`).
    Owner,
    /// The record's state (`statecode`).
    State {
        /// The states.
        options: Vec<ChoiceOption>,
    },
    /// The record's status reason (`statuscode`), each tied to a state.
    Status {
        /// The status reasons.
        options: Vec<StatusOption>,
    },
}

impl AttributeKind {
    /// Decimal places of decimals and money.
    pub fn precision(&self) -> Option<u32> {
        match self {
            Self::Decimal { precision, .. } | Self::Money { precision, .. } => Some(*precision),
            _ => None,
        }
    }

    /// The `(value, label)` options of a choice, state or status reason (none for any
    /// other kind). Borrowed, not collected: it runs for every choice of every record the
    /// device indexes.
    pub fn options(&self) -> impl Iterator<Item = (i32, &str)> {
        let (choices, statuses): (&[ChoiceOption], &[StatusOption]) = match self {
            Self::Choice { options } | Self::State { options } => (options, &[]),
            Self::Status { options } => (&[], options),
            _ => (&[], &[]),
        };
        choices
            .iter()
            .map(|o| (o.value, o.label.as_str()))
            .chain(statuses.iter().map(|o| (o.value, o.label.as_str())))
    }

    /// The label of option `value` of a choice, state or status reason.
    pub fn option_label(&self, value: i32) -> Option<&str> {
        self.options()
            .find(|(v, _)| *v == value)
            .map(|(_, label)| label)
    }

    /// The entities a lookup or owner may point to.
    pub fn targets(&self) -> Option<Vec<String>> {
        match self {
            Self::Lookup { targets } => Some(targets.clone()),
            Self::Owner => Some(vec!["systemuser".to_owned(), "team".to_owned()]),
            _ => None,
        }
    }
}

/// How much a form insists on a value.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Optional.
    #[default]
    Optional,
    /// Shown as recommended; not enforced.
    Recommended,
    /// A create must give it; an update may not clear it.
    Required,
}

/// One attribute of an entity.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeDef {
    /// Logical name, also the column name in every store.
    pub name: String,
    /// What a person sees.
    pub label: String,
    /// Type and constraints.
    pub kind: AttributeKind,
    /// Requiredness.
    #[serde(default)]
    pub requirement: Requirement,
    /// Whether an update may set it (owner, state and status change through operations).
    #[serde(default = "yes")]
    pub updatable: bool,
    /// Whether field security profiles govern it (B4).
    #[serde(default)]
    pub secured: bool,
}

fn yes() -> bool {
    true
}

impl AttributeDef {
    /// Whether a value must be present.
    pub fn required(&self) -> bool {
        self.requirement == Requirement::Required
    }
}

/// A 1:N relationship: each `referencing_entity` record points through
/// `referencing_attribute` at one `referenced_entity` record.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// Schema name, e.g. `account_primary_contact`.
    pub name: String,
    /// The "one" side.
    pub referenced_entity: String,
    /// The "many" side.
    pub referencing_entity: String,
    /// The lookup on the many side.
    pub referencing_attribute: String,
}

/// A form section: fields in order.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSection {
    /// Section name.
    pub name: String,
    /// What a person sees.
    pub label: String,
    /// Attribute names in order.
    pub fields: Vec<String>,
}

/// A form tab.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormTab {
    /// Tab name.
    pub name: String,
    /// What a person sees.
    pub label: String,
    /// Sections in order.
    pub sections: Vec<FormSection>,
}

/// A main form.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    /// Form name.
    pub name: String,
    /// Tabs in order.
    pub tabs: Vec<FormTab>,
}

/// Sort direction.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A system view: columns, a filter in the query language, a sort.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<String>,
    /// `$filter` text in the query language (B7), if any.
    pub filter: Option<String>,
    /// Sort keys in order.
    pub order: Vec<(String, SortDir)>,
    /// Whether it is the entity's default view.
    #[serde(default)]
    pub default: bool,
}

/// An entity (record type).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityDef {
    /// Logical name, e.g. `account`.
    pub name: String,
    /// Singular display name.
    pub label: String,
    /// Plural display name.
    pub plural: String,
    /// Who owns its records.
    pub ownership: Ownership,
    /// The attribute a grid sorts by and a lookup shows.
    pub primary_field: String,
    /// Attributes, in form order. Every record also has an `id`.
    pub attributes: Vec<AttributeDef>,
    /// Columns that quick find searches.
    #[serde(default)]
    pub quick_find: Vec<String>,
    /// Main forms.
    #[serde(default)]
    pub forms: Vec<Form>,
    /// System views.
    #[serde(default)]
    pub views: Vec<View>,
}

/// A step of a business process flow stage: an attribute to fill.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStep {
    /// The attribute.
    pub attribute: String,
    /// Whether leaving the stage forward needs it filled.
    pub required: bool,
}

/// A stage of a business process flow.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStage {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<FlowStep>,
}

/// A single-entity business process flow.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessFlow {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub name: String,
    /// The entity it runs on.
    pub entity: String,
    /// Stages in order.
    pub stages: Vec<FlowStage>,
}

/// A sitemap subarea: one entity's grid.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubArea {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub label: String,
    /// The entity it opens.
    pub entity: String,
}

/// A sitemap group.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitemapGroup {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub label: String,
    /// Subareas in order.
    pub subareas: Vec<SubArea>,
}

/// A sitemap area.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitemapArea {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub label: String,
    /// Groups in order.
    pub groups: Vec<SitemapGroup>,
}

/// How an app module works offline.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineMode {
    /// The profile's data is synced to the device (C1–C16).
    Sync,
    /// Recently used records are cached; new records are drafts saved when online (C17).
    Drafts,
}

/// An app module: a named app with its own sitemap.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppModule {
    /// Stable id.
    pub id: String,
    /// What a person sees.
    pub name: String,
    /// Its navigation.
    pub sitemap: Vec<SitemapArea>,
    /// Entities it uses.
    pub entities: Vec<String>,
    /// Offline mode, or `None` when it is online-only.
    pub offline: Option<OfflineMode>,
}

/// The metadata of an org.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Bumped by every change; see [`Metadata::fingerprint`] for a content check.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    /// Entities.
    pub entities: Vec<EntityDef>,
    /// 1:N relationships.
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// Business process flows.
    #[serde(default)]
    pub flows: Vec<ProcessFlow>,
    /// App modules.
    #[serde(default)]
    pub app_modules: Vec<AppModule>,
}

impl Metadata {
    /// Whether `entity` has `attribute` (`id` always exists).
    fn has_attribute(&self, entity: &str, attribute: &str) -> bool {
        self.entity(entity)
            .is_ok_and(|e| attribute == "id" || e.attribute(attribute).is_ok())
    }

    /// Every name the metadata mentions that does not resolve, each with where it is
    /// mentioned (form sections, view columns and sorts, quick find, lookups,
    /// relationships, flow steps, app modules): one list, so a refusal shows them all.
    pub fn dangling_references(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let mut attr = |entity: &str, attribute: &str, place: String| {
            if !self.has_attribute(entity, attribute) {
                missing.push(format!("{place}: {entity}.{attribute}"));
            }
        };
        for e in &self.entities {
            attr(&e.name, &e.primary_field, "primary field".into());
            for a in &e.attributes {
                for target in a.kind.targets().unwrap_or_default() {
                    attr(
                        &target,
                        "id",
                        format!("lookup target of {}.{}", e.name, a.name),
                    );
                }
            }
            for form in &e.forms {
                for section in form.tabs.iter().flat_map(|t| &t.sections) {
                    for field in &section.fields {
                        attr(&e.name, field, format!("form section {}", section.name));
                    }
                }
            }
            for view in &e.views {
                for column in &view.columns {
                    attr(&e.name, column, format!("view {} column", view.id));
                }
                for (field, _) in &view.order {
                    attr(&e.name, field, format!("view {} sort", view.id));
                }
            }
            for column in &e.quick_find {
                attr(&e.name, column, "quick find".into());
            }
        }
        for r in &self.relationships {
            attr(
                &r.referenced_entity,
                "id",
                format!("relationship {}", r.name),
            );
            attr(
                &r.referencing_entity,
                &r.referencing_attribute,
                format!("relationship {}", r.name),
            );
        }
        for flow in &self.flows {
            for step in flow.stages.iter().flat_map(|s| &s.steps) {
                attr(&flow.entity, &step.attribute, format!("flow {}", flow.id));
            }
        }
        for app in &self.app_modules {
            let subareas = app
                .sitemap
                .iter()
                .flat_map(|a| &a.groups)
                .flat_map(|g| &g.subareas);
            for entity in subareas
                .map(|s| &s.entity)
                .chain(&app.entities)
                .collect::<std::collections::BTreeSet<_>>()
            {
                attr(entity, "id", format!("app module {}", app.id));
            }
        }
        missing
    }

    /// The entity named `name`.
    pub fn entity(&self, name: &str) -> Result<&EntityDef, ValidationError> {
        self.entities
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| ValidationError::UnknownEntity {
                entity: name.to_owned(),
            })
    }

    /// A stable 64-bit hash of the content (not the version): two metadata with the same
    /// fingerprint are the same. FNV-1a over the canonical JSON, so it never changes
    /// between builds or platforms.
    pub fn fingerprint(&self) -> u64 {
        let json = serde_json::to_vec(&(
            &self.entities,
            &self.relationships,
            &self.flows,
            &self.app_modules,
        ))
        .unwrap_or_default();
        json.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The flows that run on `entity`.
    pub fn flows_for<'a>(&'a self, entity: &'a str) -> impl Iterator<Item = &'a ProcessFlow> + 'a {
        self.flows.iter().filter(move |f| f.entity == entity)
    }

    /// The metadata of the walking skeleton: one `account` entity whose owner is shown
    /// by name. Replaced by the demo org's metadata when the server moves to it.
    pub fn skeleton() -> Self {
        let text = |name: &str, label: &str, max_len, requirement, updatable| AttributeDef {
            name: name.to_owned(),
            label: label.to_owned(),
            kind: AttributeKind::Text { max_len },
            requirement,
            updatable,
            secured: false,
        };
        Self {
            version: 1,
            entities: vec![EntityDef {
                name: "account".to_owned(),
                label: "Account".to_owned(),
                plural: "Accounts".to_owned(),
                ownership: Ownership::User,
                primary_field: "name".to_owned(),
                attributes: vec![
                    text("name", "Account name", 160, Requirement::Required, true),
                    text("city", "City", 80, Requirement::Optional, true),
                    AttributeDef {
                        name: "revenue".to_owned(),
                        label: "Annual revenue".to_owned(),
                        kind: AttributeKind::Money {
                            precision: 2,
                            min: Decimal::ZERO,
                            max: Decimal::from(1_000_000_000_000_i64),
                        },
                        requirement: Requirement::Optional,
                        updatable: true,
                        secured: false,
                    },
                    text("owner", "Owner", 100, Requirement::Optional, false),
                ],
                quick_find: vec!["name".to_owned(), "city".to_owned()],
                forms: vec![],
                views: vec![],
            }],
            relationships: vec![],
            flows: vec![],
            app_modules: vec![],
        }
    }
}

impl EntityDef {
    /// The attribute named `name`.
    pub fn attribute(&self, name: &str) -> Result<&AttributeDef, ValidationError> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| ValidationError::UnknownField {
                field: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests;
