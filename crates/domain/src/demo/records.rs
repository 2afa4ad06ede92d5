//! The demo org's records, streamed: record *n* of an entity is computed from the seed and
//! *n* alone (ids are `demo_id(kind, n)`, lookups pick another entity's index), so any
//! number of records — 1k to 3M — is generated with memory flat in the count.
//!
//! Values follow each attribute's kind and constraints (lengths, ranges, precision,
//! options, lookup targets) with realistic text chosen by attribute name, and owners,
//! business units, dates and states that fit together. Every generated record passes the
//! metadata's validation (`EntityDef::canonical_create`).

use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

use super::people::{DemoOrg, Job, demo_id};
use super::rng::Rng;
use crate::metadata::{AttributeDef, AttributeKind, EntityDef, Metadata, Ownership};
use crate::value::{Fields, format_date, format_datetime};

#[cfg(test)]
mod tests;

/// Shares of the records per business entity, in parts per hundred.
const SHARES: &[(&str, u64)] = &[
    ("account", 10),
    ("contact", 20),
    ("lead", 10),
    ("opportunity", 10),
    ("incident", 10),
    ("task", 14),
    ("phonecall", 10),
    ("appointment", 10),
    ("opportunityclose", 3),
    ("incidentresolution", 3),
];

/// One generated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoRecord {
    /// Entity logical name.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Canonical field values.
    pub fields: Fields,
}

/// The record generator for one org, seed and size.
#[derive(Debug, Clone)]
pub struct DemoData {
    metadata: Metadata,
    org: DemoOrg,
    seed: u64,
    as_of: OffsetDateTime,
    /// (entity, id kind, count) for every business entity in the metadata.
    counts: Vec<(String, u16, u64)>,
}

const COMPANIES: &[&str] = &[
    "Adventure Works",
    "Alpine Ski House",
    "Blue Yonder Airlines",
    "City Power & Light",
    "Coho Winery",
    "Contoso Pharmaceuticals",
    "Fabrikam",
    "Fourth Coffee",
    "Litware",
    "Margie's Travel",
    "Northwind Traders",
    "Tailspin Toys",
    "Wide World Importers",
    "Woodgrove Bank",
    "Trey Research",
    "Proseware",
    "Lucerne Publishing",
    "Humongous Insurance",
    "Graphic Design Institute",
    "School of Fine Art",
];
const SUFFIXES: &[&str] = &[
    "",
    " Ltd",
    " Inc.",
    " GmbH",
    " & Co",
    " Group",
    " Partners",
    " AG",
];
const CITIES: &[&str] = &[
    "Seattle",
    "Denver",
    "Chicago",
    "Austin",
    "Boston",
    "Toronto",
    "Lyon",
    "Basel",
    "Oslo",
    "Dublin",
    "Lisbon",
    "Innsbruck",
    "Krakow",
    "Milan",
    "Porto",
    "Ghent",
];
const FIRST: &[&str] = &[
    "Alex", "Blake", "Casey", "Dana", "Eli", "Frankie", "Gabi", "Harper", "Ira", "Jules", "Kim",
    "Lou", "Morgan", "Noa", "Oakley", "Pat", "Remy", "Sam", "Toni", "Val",
];
const LAST: &[&str] = &[
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fox", "Gupta", "Hall", "Ivanova", "Jones", "Khan",
    "Lee", "Meyer", "Nguyen", "Okafor", "Park", "Quist", "Reyes", "Silva", "Tan",
];
const SUBJECTS: &[&str] = &[
    "Follow up on quote",
    "Site visit",
    "Quarterly review",
    "Install check",
    "Demo follow-up",
    "Contract renewal",
    "Service call",
    "Price negotiation",
    "Warranty question",
    "Replace faulty unit",
    "Introductory meeting",
    "Collect signed order",
];
const WORDS: &[&str] = &[
    "customer", "asked", "about", "delivery", "pricing", "the", "new", "model", "and", "a",
    "visit", "next", "week", "to", "confirm", "order", "details", "with", "team",
];
const TITLES: &[&str] = &[
    "Buyer",
    "Owner",
    "Plant Manager",
    "CFO",
    "Office Manager",
    "Technician",
    "Head of IT",
];

impl DemoData {
    /// The generator of `total` business records (split over the entities by fixed shares)
    /// for `org` and `metadata`, with dates before `as_of`.
    pub fn new(
        metadata: &Metadata,
        org: &DemoOrg,
        seed: u64,
        total: u64,
        as_of: OffsetDateTime,
    ) -> Self {
        let counts = SHARES
            .iter()
            .enumerate()
            .filter(|(_, (entity, _))| metadata.entity(entity).is_ok())
            .map(|(i, (entity, share))| {
                let kind = 0x0100 + u16::try_from(i).unwrap_or(0);
                ((*entity).to_owned(), kind, (total * share / 100).max(1))
            })
            .collect();
        Self {
            metadata: metadata.clone(),
            org: org.clone(),
            seed,
            as_of,
            counts,
        }
    }

    /// How many records of `entity` the generator makes.
    pub fn count(&self, entity: &str) -> u64 {
        self.counts
            .iter()
            .find(|(e, _, _)| e == entity)
            .map_or(0, |(_, _, n)| *n)
    }

    /// The id of record `n` of `entity`.
    pub fn id(&self, entity: &str, n: u64) -> Option<String> {
        self.counts
            .iter()
            .find(|(e, _, _)| e == entity)
            .map(|(_, kind, _)| demo_id(*kind, n))
    }

    /// Every record, lazily: the org's business units (parents first), users and teams,
    /// then the business records entity by entity.
    pub fn records(&self) -> impl Iterator<Item = DemoRecord> + '_ {
        self.org_records()
            .chain(self.counts.iter().flat_map(move |(entity, _, count)| {
                (0..*count).filter_map(move |n| self.record(entity, n))
            }))
    }

    /// The org's own records: business units, users and teams, as the organization
    /// entities of the metadata hold them.
    pub fn org_records(&self) -> impl Iterator<Item = DemoRecord> + '_ {
        let record = |entity: &str, id: &str, pairs: Vec<(&str, Option<String>)>| DemoRecord {
            entity: entity.to_owned(),
            id: id.to_owned(),
            fields: pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        };
        let units = self.org.business_units.iter().map(move |b| {
            record(
                "businessunit",
                &b.id,
                vec![
                    ("name", Some(b.name.clone())),
                    (
                        "parentbusinessunitid",
                        b.parent.as_ref().map(|p| format!("businessunit:{p}")),
                    ),
                ],
            )
        });
        let users = self.org.users.iter().map(move |u| {
            record(
                "systemuser",
                &u.id,
                vec![
                    ("fullname", Some(u.full_name.clone())),
                    (
                        "internalemailaddress",
                        Some(format!("{}@contoso.example", u.username)),
                    ),
                    (
                        "businessunitid",
                        Some(format!("businessunit:{}", u.business_unit)),
                    ),
                    (
                        "parentsystemuserid",
                        u.manager.as_ref().map(|m| format!("systemuser:{m}")),
                    ),
                ],
            )
        });
        let teams = self.org.teams.iter().map(move |t| {
            record(
                "team",
                &t.id,
                vec![
                    ("name", Some(t.name.clone())),
                    (
                        "businessunitid",
                        Some(format!("businessunit:{}", t.business_unit)),
                    ),
                ],
            )
        });
        units.chain(users).chain(teams)
    }

    /// Record `n` of `entity`, or `None` when the entity is not generated or `n` is out of range.
    pub fn record(&self, entity: &str, n: u64) -> Option<DemoRecord> {
        if n >= self.count(entity) {
            return None;
        }
        let def = self.metadata.entity(entity).ok()?;
        let kind_code = self
            .counts
            .iter()
            .find(|(e, _, _)| e == entity)
            .map_or(0, |(_, k, _)| *k);
        let mut rng = Rng::new(self.seed, &[u64::from(kind_code), n]);
        let mut fields = Fields::new();
        let owner = self.owner(&mut rng, def);
        let created = self.as_of - Duration::minutes(rng.between(60, 730 * 24 * 60));
        let modified = created + Duration::minutes(rng.between(0, 60 * 24 * 60));
        let modified = modified.min(self.as_of);
        let status = def.attributes.iter().find_map(|a| match &a.kind {
            AttributeKind::Status { options } if !options.is_empty() => {
                // Mostly open records, like a working org.
                let open: Vec<_> = options.iter().filter(|o| o.state == 0).collect();
                Some(if rng.chance(70) && !open.is_empty() {
                    (*rng.pick(&open)).clone()
                } else {
                    rng.pick(options).clone()
                })
            }
            _ => None,
        });
        for attr in &def.attributes {
            let value = match (attr.name.as_str(), &attr.kind) {
                (_, AttributeKind::Owner) => owner.as_ref().map(|(o, _)| o.clone()),
                ("owningbusinessunit", _) => {
                    owner.as_ref().map(|(_, bu)| format!("businessunit:{bu}"))
                }
                ("createdon", AttributeKind::DateTime) => Some(format_datetime(created)),
                ("modifiedon", AttributeKind::DateTime) => Some(format_datetime(modified)),
                ("createdby" | "modifiedby", AttributeKind::Lookup { .. }) => {
                    let user = self
                        .org
                        .owners()
                        .nth(rng.below(self.org.owners().count() as u64) as usize);
                    user.map(|u| format!("systemuser:{}", u.id))
                }
                (_, AttributeKind::Status { .. }) => status.as_ref().map(|s| s.value.to_string()),
                (_, AttributeKind::State { options }) => status
                    .as_ref()
                    .map(|s| s.state)
                    .or_else(|| options.first().map(|o| o.value))
                    .map(|v| v.to_string()),
                ("activestageid", _) => self.metadata.flows_for(entity).next().and_then(|flow| {
                    (!flow.stages.is_empty()).then(|| rng.pick(&flow.stages).id.clone())
                }),
                _ if !attr.required() && attr.name != def.primary_field && !rng.chance(85) => None,
                _ => self.value(&mut rng, def, attr),
            };
            if let Some(value) = value {
                fields.insert(attr.name.clone(), Some(value));
            }
        }
        Some(DemoRecord {
            entity: entity.to_owned(),
            id: demo_id(kind_code, n),
            fields,
        })
    }

    /// An owner (`systemuser:id` or `team:id`) and its business unit id, for user-owned entities.
    fn owner(&self, rng: &mut Rng, def: &EntityDef) -> Option<(String, String)> {
        if def.ownership == Ownership::Organization {
            return None;
        }
        if rng.chance(15) && !self.org.teams.is_empty() {
            let team = rng.pick(&self.org.teams);
            return Some((format!("team:{}", team.id), team.business_unit.clone()));
        }
        let owners: Vec<_> = self
            .org
            .owners()
            .filter(|u| u.job != Job::Manager || rng.chance(20))
            .collect();
        let user = if owners.is_empty() {
            self.org.users.first()?
        } else {
            *rng.pick(&owners)
        };
        Some((
            format!("systemuser:{}", user.id),
            user.business_unit.clone(),
        ))
    }

    fn reference(&self, rng: &mut Rng, targets: &[String]) -> Option<String> {
        let usable: Vec<&String> = targets
            .iter()
            .filter(|t| {
                self.count(t) > 0 || matches!(t.as_str(), "systemuser" | "team" | "businessunit")
            })
            .collect();
        if usable.is_empty() {
            return None;
        }
        let target = (*rng.pick(&usable)).clone();
        let id = match target.as_str() {
            "systemuser" => self
                .org
                .users
                .get(rng.below(self.org.users.len() as u64) as usize)?
                .id
                .clone(),
            "team" => self
                .org
                .teams
                .get(rng.below(self.org.teams.len() as u64) as usize)?
                .id
                .clone(),
            "businessunit" => self
                .org
                .business_units
                .get(rng.below(self.org.business_units.len() as u64) as usize)?
                .id
                .clone(),
            other => self.id(other, rng.below(self.count(other)))?,
        };
        Some(format!("{target}:{id}"))
    }

    fn value(&self, rng: &mut Rng, def: &EntityDef, attr: &AttributeDef) -> Option<String> {
        let text = match &attr.kind {
            AttributeKind::Text { max_len } | AttributeKind::Memo { max_len } => {
                let t = self.text(rng, def, attr);
                return Some(t.chars().take(*max_len as usize).collect());
            }
            AttributeKind::WholeNumber { min, max } => {
                let (lo, hi) = (*min.max(&0), (*max).min(min.max(&0) + 5_000));
                rng.between(lo, hi.max(lo)).to_string()
            }
            AttributeKind::BigInt => rng.between(0, 9_000_000_000_000_000).to_string(),
            AttributeKind::Decimal {
                precision,
                min,
                max,
            }
            | AttributeKind::Money {
                precision,
                min,
                max,
            } => {
                let lo = (*min).max(Decimal::ZERO);
                let hi = (*max).min(Decimal::from(5_000_000));
                let cents = rng.between(0, 1_000_000_000);
                let mut v = lo + (hi - lo) * Decimal::from(cents) / Decimal::from(1_000_000_000);
                v = v.round_dp(*precision).max(lo).min(hi);
                v.rescale(*precision);
                v.to_string()
            }
            AttributeKind::Bool => rng.chance(30).to_string(),
            AttributeKind::DateTime => format_datetime(
                self.as_of + Duration::minutes(rng.between(-180 * 24 * 60, 90 * 24 * 60)),
            ),
            AttributeKind::DateOnly => {
                let day = self.as_of + Duration::days(rng.between(-365 * 40, 180));
                format_date(day.date())
            }
            AttributeKind::Choice { options } | AttributeKind::State { options } => {
                rng.pick(options).value.to_string()
            }
            AttributeKind::Status { options } => rng.pick(options).value.to_string(),
            AttributeKind::Lookup { targets } => return self.reference(rng, targets),
            AttributeKind::Owner => return None,
        };
        Some(text)
    }

    fn text(&self, rng: &mut Rng, def: &EntityDef, attr: &AttributeDef) -> String {
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let company = format!("{}{}", rng.pick(COMPANIES), rng.pick(SUFFIXES));
        let name = attr.name.as_str();
        if matches!(attr.kind, AttributeKind::Memo { .. }) || name.contains("description") {
            let n = rng.between(6, 18);
            let words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
            return format!("{}.", words.join(" "));
        }
        match name {
            "firstname" => first.to_owned(),
            "lastname" => last.to_owned(),
            "fullname" => format!("{first} {last}"),
            "companyname" => company,
            "jobtitle" => (*rng.pick(TITLES)).to_owned(),
            "location" => format!("{} office", rng.pick(CITIES)),
            _ if name.contains("email") => format!(
                "{}.{}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            ),
            _ if name.contains("phone") => format!("+1 555 01{:02}", rng.below(100)),
            _ if name.contains("city") => (*rng.pick(CITIES)).to_owned(),
            _ if name.contains("number") => format!(
                "{}-{:06}",
                def.name.chars().take(3).collect::<String>().to_uppercase(),
                rng.below(1_000_000)
            ),
            _ if name == "subject" || name == "title" => {
                format!("{} — {}", rng.pick(SUBJECTS), rng.pick(COMPANIES))
            }
            _ if name == def.primary_field && def.name == "account" => company,
            _ if name == def.primary_field => {
                format!("{} for {}", rng.pick(SUBJECTS), rng.pick(COMPANIES))
            }
            _ => format!("{} {}", rng.pick(WORDS), rng.pick(WORDS)),
        }
    }
}
