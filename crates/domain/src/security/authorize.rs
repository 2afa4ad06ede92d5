//! The security check before an operation is applied (S2, S3, B4), written once: the
//! server runs it when an operation arrives (pushed or online), the device before it
//! queues one, so a change the server would refuse is not queued and one it allows is
//! not refused offline.
//!
//! Each side answers the facts from what it has ([`SecurityFacts`]): the server from its
//! tables; the device from its store, which may not hold a record an operation links to
//! (a lead's account outside the device's scope). What a side cannot know is
//! [`Known::Unknown`], and the checks that need it are left to the server, which always
//! knows.

use crate::metadata::{AttributeKind, EntityDef, Metadata};
use crate::operation::{Operation, StorageFailure};
use crate::security::{FieldAction, Principal, Privilege, RecordFacts, USER_ENTITY};
use crate::value::{EntityRef, Fields};

/// What one side knows of a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known<T> {
    /// It is this.
    Is(T),
    /// It does not exist.
    Missing,
    /// This side cannot tell (the device does not hold it): the server decides.
    Unknown,
}

/// The facts [`authorize`] needs, from the side that runs it.
pub trait SecurityFacts {
    /// The record's current fields.
    ///
    /// # Errors
    /// The storage failed.
    fn record(&mut self, def: &EntityDef, id: &str) -> Result<Known<Fields>, StorageFailure>;

    /// The business unit of an owner (`systemuser:…` or `team:…`).
    ///
    /// # Errors
    /// The storage failed.
    fn owner_unit(&mut self, owner: &EntityRef) -> Result<Known<String>, StorageFailure>;
}

/// What kind of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The record does not exist, or the user may not read it (the same answer: whether
    /// it exists is itself something they may not learn).
    NotFound,
    /// The user may not do this.
    Forbidden,
    /// The operation names something that does not exist or may not be linked to.
    Invalid,
}

/// Why one field is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldReason {
    /// Field security forbids it.
    Secured,
    /// The lookup points at a record that does not exist or may not be linked to.
    LookupTarget,
}

/// One field's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRefusal {
    /// The attribute.
    pub field: String,
    /// Why.
    pub reason: FieldReason,
    /// What a person reads.
    pub message: String,
}

/// Why an operation may not be applied; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What kind.
    pub kind: RefusalKind,
    /// What a person reads.
    pub message: String,
    /// Per-field reasons, for field security and lookups.
    pub fields: Vec<FieldRefusal>,
}

impl Refused {
    fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn fields_denied(fields: Vec<String>, action: &str) -> Self {
        Self {
            kind: RefusalKind::Forbidden,
            message: format!(
                "field security forbids you to {action}: {}",
                fields.join(", ")
            ),
            fields: fields
                .into_iter()
                .map(|field| FieldRefusal {
                    field,
                    reason: FieldReason::Secured,
                    message: format!("you may not {action} this field"),
                })
                .collect(),
        }
    }

    fn invalid(fields: Vec<FieldRefusal>) -> Self {
        Self {
            kind: RefusalKind::Invalid,
            message: fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            fields,
        }
    }
}

/// Links a command's new records copy from its target (qualify: the lead's account and
/// contact; convert: the activity's regarding record).
const COPIED_LINKS: [&str; 3] = ["parentaccountid", "parentcontactid", "regardingobjectid"];

/// Whether `principal` may apply `op`: `None`, or why not. Checks, in order:
/// - a create: the owner exists, the user may create for that owner (its business unit),
///   may set the fields (field security) and link to each lookup target;
/// - anything else but an unfollow: the record is readable (else *not found*), the user
///   holds the operation's privilege on it (with the manager hierarchy), may read every
///   field the operation compares and set every field it changes, links only where they
///   may, assigns only to an owner that exists; a command that copies the target's links
///   onto new records may link to each of them;
/// - the records a command creates: the user may create them as their own.
///
/// A target that does not exist passes: the domain's `apply` reports it in its own
/// words (and knows follow semantics).
///
/// # Errors
/// The side's storage failed.
pub fn authorize(
    principal: &Principal,
    metadata: &Metadata,
    op: &Operation,
    facts: &mut dyn SecurityFacts,
) -> Result<Option<Refused>, StorageFailure> {
    let (entity, id) = op.target();
    let Ok(def) = metadata.entity(entity) else {
        return Ok(Some(Refused::new(
            RefusalKind::Invalid,
            format!("unknown entity `{entity}`"),
        )));
    };
    let me = EntityRef {
        entity: USER_ENTITY.to_owned(),
        id: principal.user_id().to_owned(),
    };
    match op {
        Operation::Create { fields, .. } => {
            if let Some(refused) = create_checks(principal, metadata, def, fields, &me, facts)? {
                return Ok(Some(refused));
            }
        }
        // Unfollowing only ever ends the user's own follow, so it needs no access to the
        // record and answers alike whether it exists, is readable or is gone.
        Operation::Unfollow { .. } => return Ok(None),
        _ => {
            let Known::Is(current) = facts.record(def, id)? else {
                return Ok(None);
            };
            if let Some(refused) = record_checks(principal, metadata, def, op, &current, facts)? {
                return Ok(Some(refused));
            }
        }
    }
    if !matches!(op, Operation::Create { .. }) {
        for created in op.creates() {
            let Ok(created_def) = metadata.entity(&created.entity) else {
                continue;
            };
            if !principal.can_create(created_def, &me, principal.business_unit()) {
                return Ok(Some(Refused::new(
                    RefusalKind::Forbidden,
                    format!(
                        "you may not create the {} this command makes",
                        created.entity
                    ),
                )));
            }
        }
    }
    Ok(None)
}

fn create_checks(
    principal: &Principal,
    metadata: &Metadata,
    def: &EntityDef,
    fields: &Fields,
    me: &EntityRef,
    facts: &mut dyn SecurityFacts,
) -> Result<Option<Refused>, StorageFailure> {
    let owner = match fields.get("ownerid").cloned().flatten() {
        Some(text) => parse_ref(&text),
        None => Some(me.clone()),
    };
    let unit = match &owner {
        Some(owner) if owner == me => Known::Is(principal.business_unit().to_owned()),
        Some(owner) => facts.owner_unit(owner)?,
        None => Known::Missing,
    };
    match (unit, owner) {
        (Known::Is(unit), Some(owner)) => {
            if !principal.can_create(def, &owner, &unit) {
                return Ok(Some(Refused::new(
                    RefusalKind::Forbidden,
                    format!("you may not create {} records for this owner", def.name),
                )));
            }
        }
        (Known::Unknown, _) => {}
        (_, owner) => {
            let owner = owner.map_or_else(
                || fields.get("ownerid").cloned().flatten().unwrap_or_default(),
                |o| o.to_string(),
            );
            return Ok(Some(Refused {
                kind: RefusalKind::Invalid,
                message: format!("owner {owner} does not exist"),
                fields: vec![FieldRefusal {
                    field: "ownerid".to_owned(),
                    reason: FieldReason::LookupTarget,
                    message: format!("{owner} does not exist"),
                }],
            }));
        }
    }
    let denied = principal.fields_denied(def, fields, FieldAction::Create);
    if !denied.is_empty() {
        return Ok(Some(Refused::fields_denied(denied, "set")));
    }
    lookups_check(principal, metadata, def, fields, facts)
}

fn record_checks(
    principal: &Principal,
    metadata: &Metadata,
    def: &EntityDef,
    op: &Operation,
    current: &Fields,
    facts: &mut dyn SecurityFacts,
) -> Result<Option<Refused>, StorageFailure> {
    let entity = &def.name;
    let record = RecordFacts::from_fields(current);
    if !principal.can(def, Privilege::Read, &record) {
        return Ok(Some(Refused::new(
            RefusalKind::NotFound,
            format!("record not found: {entity} {}", op.target().1),
        )));
    }
    let needed = op.target_privilege();
    if !principal.can(def, needed, &record) {
        return Ok(Some(Refused::new(
            RefusalKind::Forbidden,
            format!("you lack the {needed:?} privilege on this {entity}"),
        )));
    }
    match op {
        // A before-image is compared with the server's values, which a conflict reports:
        // it may name only fields the user may read.
        Operation::Delete { before, .. } => {
            let unreadable = principal.fields_denied(def, before, FieldAction::Read);
            if !unreadable.is_empty() {
                return Ok(Some(Refused::fields_denied(unreadable, "read")));
            }
        }
        Operation::Update {
            changes, before, ..
        } => {
            let touched: Fields = changes
                .iter()
                .chain(before)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let unreadable = principal.fields_denied(def, &touched, FieldAction::Read);
            if !unreadable.is_empty() {
                return Ok(Some(Refused::fields_denied(unreadable, "read")));
            }
            let denied = principal.fields_denied(def, changes, FieldAction::Update);
            if !denied.is_empty() {
                return Ok(Some(Refused::fields_denied(denied, "change")));
            }
            return lookups_check(principal, metadata, def, changes, facts);
        }
        Operation::Assign { owner, .. } if facts.owner_unit(owner)? == Known::Missing => {
            return Ok(Some(Refused::new(
                RefusalKind::Invalid,
                format!("owner {owner} does not exist"),
            )));
        }
        Operation::LeadQualify { .. } | Operation::ActivityConvertToOpportunity { .. } => {
            let links: Fields = current
                .iter()
                .filter(|(name, _)| COPIED_LINKS.contains(&name.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Some(refused) = lookups_check(principal, metadata, def, &links, facts)? {
                return Ok(Some(refused));
            }
            if matches!(op, Operation::ActivityConvertToOpportunity { .. }) {
                return regarding_customer_check(principal, metadata, current, facts);
            }
        }
        _ => {}
    }
    Ok(None)
}

/// Each lookup among `fields` must point at a record that exists, that the user may read
/// and link to (AppendTo). A target this side does not hold is the server's to judge.
fn lookups_check(
    principal: &Principal,
    metadata: &Metadata,
    def: &EntityDef,
    fields: &Fields,
    facts: &mut dyn SecurityFacts,
) -> Result<Option<Refused>, StorageFailure> {
    let mut bad = Vec::new();
    for (name, value) in fields {
        let Some(value) = value else { continue };
        let Some(attr) = def.attributes.iter().find(|a| a.name == *name) else {
            continue;
        };
        if !matches!(attr.kind, AttributeKind::Lookup { .. }) {
            continue;
        }
        let Some(target) = parse_ref(value) else {
            continue; // not a reference: validation reports it with its own code
        };
        if !may_link(principal, metadata, &target, facts)? {
            bad.push(unlinkable(name, value));
        }
    }
    Ok((!bad.is_empty()).then(|| Refused::invalid(bad)))
}

/// Whether the user may point a lookup at `target`: it exists, and they may read it and
/// link to it (AppendTo). An entity the metadata does not know is validation's to report;
/// a record this side does not hold, the server's.
fn may_link(
    principal: &Principal,
    metadata: &Metadata,
    target: &EntityRef,
    facts: &mut dyn SecurityFacts,
) -> Result<bool, StorageFailure> {
    let Ok(target_def) = metadata.entity(&target.entity) else {
        return Ok(true);
    };
    Ok(match facts.record(target_def, &target.id)? {
        Known::Is(target_fields) => {
            let f = RecordFacts::from_fields(&target_fields);
            principal.can(target_def, Privilege::Read, &f)
                && principal.can(target_def, Privilege::AppendTo, &f)
        }
        Known::Missing => false,
        Known::Unknown => true,
    })
}

fn unlinkable(field: &str, value: &str) -> FieldRefusal {
    FieldRefusal {
        field: field.to_owned(),
        reason: FieldReason::LookupTarget,
        message: format!("{value} does not exist or you may not link to it"),
    }
}

/// Converting an activity regarding a lead, an opportunity or a case gives the new
/// opportunity that record's customer (its first of `customerid`, `parentaccountid`,
/// `parentcontactid`, as the domain's convert reads them): the user must be allowed to
/// link to that customer, as if they had set it themselves.
fn regarding_customer_check(
    principal: &Principal,
    metadata: &Metadata,
    activity: &Fields,
    facts: &mut dyn SecurityFacts,
) -> Result<Option<Refused>, StorageFailure> {
    let Some(regarding) = activity
        .get("regardingobjectid")
        .cloned()
        .flatten()
        .and_then(|r| parse_ref(&r))
        .filter(|r| r.entity != "account" && r.entity != "contact")
    else {
        return Ok(None);
    };
    let Ok(regarding_def) = metadata.entity(&regarding.entity) else {
        return Ok(None);
    };
    let Known::Is(fields) = facts.record(regarding_def, &regarding.id)? else {
        return Ok(None);
    };
    let Some(customer) = ["customerid", "parentaccountid", "parentcontactid"]
        .iter()
        .find_map(|name| fields.get(*name).cloned().flatten())
    else {
        return Ok(None);
    };
    let Some(target) = parse_ref(&customer) else {
        return Ok(None);
    };
    if may_link(principal, metadata, &target, facts)? {
        return Ok(None);
    }
    Ok(Some(Refused::invalid(vec![unlinkable(
        "customerid",
        &customer,
    )])))
}

/// `entity:id` as a reference.
pub fn parse_ref(text: &str) -> Option<EntityRef> {
    let (entity, id) = text.split_once(':')?;
    Some(EntityRef {
        entity: entity.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::demo::{demo_org, metadata};

    /// One side's facts: the server knows every record and owner (what it lacks is
    /// missing); the device holds some (what it lacks it cannot tell).
    struct Side {
        records: BTreeMap<(String, String), Fields>,
        units: BTreeMap<String, String>,
        server: bool,
    }

    impl Side {
        fn lacking(&self) -> Known<Fields> {
            if self.server {
                Known::Missing
            } else {
                Known::Unknown
            }
        }
    }

    impl SecurityFacts for Side {
        fn record(&mut self, def: &EntityDef, id: &str) -> Result<Known<Fields>, StorageFailure> {
            Ok(self
                .records
                .get(&(def.name.clone(), id.to_owned()))
                .cloned()
                .map_or_else(|| self.lacking(), Known::Is))
        }

        fn owner_unit(&mut self, owner: &EntityRef) -> Result<Known<String>, StorageFailure> {
            Ok(match self.units.get(&owner.to_string()) {
                Some(unit) => Known::Is(unit.clone()),
                None if self.server => Known::Missing,
                None => Known::Unknown,
            })
        }
    }

    fn owned(user: &crate::demo::DemoUser, more: &[(&str, &str)]) -> Fields {
        let mut fields = Fields::from([
            (
                "ownerid".to_owned(),
                Some(format!("systemuser:{}", user.id)),
            ),
            (
                "owningbusinessunit".to_owned(),
                Some(format!("businessunit:{}", user.business_unit)),
            ),
        ]);
        for (k, v) in more {
            fields.insert((*k).to_owned(), Some((*v).to_owned()));
        }
        fields
    }

    /// A convert of fiona's task regarding her lead, whose account belongs to someone
    /// whose records she may not link to: the server refuses what the opportunity would
    /// copy; a device that holds the account refuses alike; one that does not leaves it
    /// to the server. With her own account as the lead's, both let it go.
    #[test]
    fn converting_an_activity_checks_the_customer_it_copies_from_what_it_regards() {
        let metadata = metadata();
        let org = demo_org(1);
        let security = org.security(&metadata).expect("security");
        let fiona = org.user("fiona").expect("fiona");
        let principal = security.principal(&fiona.id).expect("principal");
        let account = metadata.entity("account").expect("account");
        let foreign = org
            .users
            .iter()
            .find(|u| {
                !principal.can(
                    account,
                    Privilege::AppendTo,
                    &RecordFacts::from_fields(&owned(u, &[])),
                )
            })
            .expect("someone whose accounts fiona may not link to");
        let convert = Operation::ActivityConvertToOpportunity {
            entity: "task".to_owned(),
            id: "t1".to_owned(),
            opportunity_id: "o1".to_owned(),
        };
        for (lead_account, owner, allowed) in
            [("a-foreign", foreign, false), ("a-mine", fiona, true)]
        {
            for (server, holds_account) in [(true, true), (false, true), (false, false)] {
                let mut side = Side {
                    records: BTreeMap::from([
                        (
                            ("task".to_owned(), "t1".to_owned()),
                            owned(fiona, &[("regardingobjectid", "lead:l1")]),
                        ),
                        (
                            ("lead".to_owned(), "l1".to_owned()),
                            owned(
                                fiona,
                                &[("parentaccountid", &format!("account:{lead_account}"))],
                            ),
                        ),
                    ]),
                    units: BTreeMap::new(),
                    server,
                };
                if holds_account {
                    side.records.insert(
                        ("account".to_owned(), lead_account.to_owned()),
                        owned(owner, &[]),
                    );
                }
                let refused = authorize(&principal, &metadata, &convert, &mut side).expect("facts");
                let expect_refused = !allowed && holds_account;
                assert_eq!(
                    refused
                        .as_ref()
                        .map(|r| (r.kind, r.fields[0].field.as_str())),
                    expect_refused.then_some((RefusalKind::Invalid, "customerid")),
                    "{lead_account}, server {server}, holds the account {holds_account}: {refused:?}"
                );
            }
        }
    }

    /// The manager hierarchy's write rule, and a create for an owner: where both sides
    /// know the facts they answer alike; an owner the device does not know is the
    /// server's to judge, and one that does not exist is refused there.
    #[test]
    fn the_device_and_the_server_answer_alike_where_both_know_the_facts() {
        let metadata = metadata();
        let org = demo_org(1);
        let security = org.security(&metadata).expect("security");
        let fiona = org.user("fiona").expect("fiona");
        let manager = org
            .users
            .iter()
            .find(|u| Some(&u.id) == fiona.manager.as_ref())
            .expect("fiona's manager");
        let regional = security
            .principal(
                manager
                    .manager
                    .as_ref()
                    .expect("whom the manager reports to"),
            )
            .expect("principal");
        let edit = |id: &str| Operation::Update {
            entity: "account".to_owned(),
            id: id.to_owned(),
            changes: Fields::from([("name".to_owned(), Some("Renamed".to_owned()))]),
            before: Fields::new(),
        };
        for server in [true, false] {
            let mut side = Side {
                records: BTreeMap::from([
                    (
                        ("account".to_owned(), "report".to_owned()),
                        owned(manager, &[]),
                    ),
                    (
                        ("account".to_owned(), "two-down".to_owned()),
                        owned(fiona, &[]),
                    ),
                ]),
                units: BTreeMap::new(),
                server,
            };
            assert_eq!(
                authorize(&regional, &metadata, &edit("report"), &mut side).expect("facts"),
                None,
                "a direct report's record may be written (server {server})"
            );
            let two_down = authorize(&regional, &metadata, &edit("two-down"), &mut side)
                .expect("facts")
                .map(|r| r.kind);
            assert_eq!(
                two_down,
                if regional.can(
                    metadata.entity("account").expect("account"),
                    Privilege::Write,
                    &RecordFacts::from_fields(&owned(fiona, &[]))
                ) {
                    None
                } else {
                    Some(RefusalKind::Forbidden)
                },
                "a report's report only as deep as the write rule goes (server {server})"
            );
            let create = Operation::Create {
                entity: "account".to_owned(),
                id: "new".to_owned(),
                fields: Fields::from([
                    ("name".to_owned(), Some("New".to_owned())),
                    ("ownerid".to_owned(), Some("systemuser:nobody".to_owned())),
                ]),
            };
            let principal = security.principal(&fiona.id).expect("principal");
            let refused = authorize(&principal, &metadata, &create, &mut side)
                .expect("facts")
                .map(|r| r.kind);
            assert_eq!(
                refused,
                server.then_some(RefusalKind::Invalid),
                "an owner that does not exist (server {server})"
            );
        }
    }
}
