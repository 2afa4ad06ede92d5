//! What the signed-in user may do offline. The server sends the user's own security
//! principal with its metadata (cached in the encrypted store), and the device decides with
//! the domain's `Principal` — the very code the server runs before it applies an operation:
//! privilege depths against the record's owner and business unit (with the unit tree),
//! the manager hierarchy, and field security. So a forbidden action is neither offered nor
//! queued, and an allowed one is not refused offline; the server checks again on arrival.

use outpost_domain::metadata::EntityDef;
use outpost_domain::operation::StorageFailure;
use outpost_domain::security::{
    Known, Principal, Privilege, RecordFacts, RefusalKind, SecurityFacts, authorize, parse_ref,
};
use outpost_domain::value::EntityRef;
use outpost_domain::{Fields, Operation};
use outpost_protocol::UserAccess;
use outpost_store::{Store, StoreError};

use crate::CoreError;
use crate::api::Allowed;

/// The cached access of one user, with the principal it decides by (made once).
#[derive(Debug, Clone)]
pub(crate) struct Access(pub(crate) UserAccess, Principal);

impl Access {
    /// The access the server sent. The principal is the server's, or — from a server
    /// before it sent one — one made of the depths and field permissions it did send (no
    /// unit below the user's, no reports: deeper depths and the hierarchy grant nothing
    /// offline then).
    pub(crate) fn new(access: UserAccess) -> Self {
        let ignore_hierarchy =
            outpost_domain::mutant::active(outpost_domain::mutant::Mutant::DeviceIgnoresHierarchy);
        let principal = match &access.principal {
            // A re-introduced bug (the simulation's mutants) takes the fallback: it knows
            // nothing of the manager hierarchy.
            Some(principal) if !ignore_hierarchy => principal.clone(),
            _ => Principal::from_depths(
                &access.user_id,
                &access.business_unit_id,
                access.team_ids.iter().cloned(),
                access.privileges.clone(),
                access.secured_fields.clone(),
            ),
        };
        Self(access, principal)
    }

    fn principal(&self) -> &Principal {
        &self.1
    }

    /// The user's depth for `privilege` on `def`.
    pub(crate) fn depth(
        &self,
        def: &EntityDef,
        privilege: Privilege,
    ) -> outpost_domain::security::Depth {
        self.principal().depth(def, privilege)
    }

    /// Whether the user may use `privilege` on a record of `def` with these fields
    /// (`None`: a new record of their own).
    pub(crate) fn can(
        &self,
        def: &EntityDef,
        privilege: Privilege,
        fields: Option<&Fields>,
    ) -> bool {
        let principal = self.principal();
        match fields {
            Some(fields) => principal.can(def, privilege, &RecordFacts::from_fields(fields)),
            None => principal.can_create(
                def,
                &EntityRef {
                    entity: "systemuser".to_owned(),
                    id: self.0.user_id.clone(),
                },
                principal.business_unit(),
            ),
        }
    }

    /// What the form offers for a record.
    pub(crate) fn allowed(&self, def: &EntityDef, fields: &Fields) -> Allowed {
        let principal = self.principal();
        let facts = RecordFacts::from_fields(fields);
        Allowed {
            write: principal.can(def, Privilege::Write, &facts),
            delete: principal.can(def, Privilege::Delete, &facts),
            assign: principal.can(def, Privilege::Assign, &facts),
            append_to: principal.can(def, Privilege::AppendTo, &facts),
        }
    }

    /// The domain's check before an operation is applied — the one the server runs on
    /// arrival — with what the device holds: `Ok` when the user may go on, else the
    /// refusal as the error the user sees. What the device does not hold (a lookup target
    /// outside its scope, another user's business unit) is the server's to judge.
    pub(crate) fn authorize(&self, store: &Store, op: &Operation) -> Result<(), CoreError> {
        let refused = authorize(
            self.principal(),
            store.metadata(),
            op,
            &mut StoreFacts(store),
        )
        .map_err(|e| CoreError::Other(anyhow::anyhow!(e.0)))?;
        let Some(refused) = refused else {
            return Ok(());
        };
        Err(match refused.kind {
            // The server answers "not found" so as not to tell that a record exists; here
            // the record is on the device, so the user is told what stops them.
            RefusalKind::NotFound => {
                let (entity, _) = op.target();
                CoreError::Forbidden(format!(
                    "your security role does not let you read this {entity}"
                ))
            }
            RefusalKind::Forbidden => CoreError::Forbidden(refused.message),
            RefusalKind::Invalid => CoreError::Invalid(refused.message),
        })
    }
}

/// The device's facts for the domain's check: what its store holds; anything else it
/// cannot tell.
struct StoreFacts<'a>(&'a Store);

impl StoreFacts<'_> {
    fn held(&self, entity: &str, id: &str) -> Result<Option<Fields>, StorageFailure> {
        match self.0.record_fields(entity, id) {
            Ok(fields) => Ok(fields),
            Err(StoreError::NotFound { .. } | StoreError::Invalid(_)) => Ok(None),
            Err(e) => Err(StorageFailure(e.to_string())),
        }
    }
}

impl SecurityFacts for StoreFacts<'_> {
    fn record(&mut self, def: &EntityDef, id: &str) -> Result<Known<Fields>, StorageFailure> {
        Ok(self.held(&def.name, id)?.map_or(Known::Unknown, Known::Is))
    }

    fn owner_unit(&mut self, owner: &EntityRef) -> Result<Known<String>, StorageFailure> {
        let unit = self
            .held(&owner.entity, &owner.id)?
            .and_then(|fields| fields.get("businessunitid").cloned().flatten())
            .and_then(|unit| parse_ref(&unit))
            .map(|unit| unit.id);
        Ok(unit.map_or(Known::Unknown, Known::Is))
    }
}

#[cfg(test)]
mod tests {
    use outpost_domain::Fields;
    use outpost_domain::demo::{Job, demo_org, metadata};
    use outpost_domain::metadata::{EntityDef, Metadata};
    use outpost_domain::security::{FieldAction, Privilege};
    use outpost_protocol::UserAccess;

    use super::Access;

    /// The demo org's access of `user`, as the server sends it (with or without the
    /// principal).
    fn access_of(metadata: &Metadata, user: &str, principal: bool) -> Access {
        let org = demo_org(1);
        let security = org.security(metadata).expect("the demo's security");
        let p = security.principal(user).expect("a principal");
        let mut privileges = std::collections::BTreeMap::new();
        let mut secured_fields = std::collections::BTreeMap::new();
        for def in &metadata.entities {
            let depths: std::collections::BTreeMap<_, _> = Privilege::ALL
                .iter()
                .map(|x| (*x, p.depth(def, *x)))
                .filter(|(_, d)| *d != outpost_domain::security::Depth::None)
                .collect();
            if !depths.is_empty() {
                privileges.insert(def.name.clone(), depths);
            }
            let secured = p.secured_fields(def);
            if !secured.is_empty() {
                secured_fields.insert(def.name.clone(), secured);
            }
        }
        Access::new(UserAccess {
            user_id: user.to_owned(),
            business_unit_id: p.business_unit().to_owned(),
            team_ids: p.teams().iter().cloned().collect(),
            hierarchy_user_ids: p.reports().keys().cloned().collect(),
            privileges,
            secured_fields,
            principal: principal.then_some(p),
        })
    }

    fn owned_by(user: &str, unit: &str) -> Fields {
        Fields::from([
            ("ownerid".to_owned(), Some(format!("systemuser:{user}"))),
            (
                "owningbusinessunit".to_owned(),
                Some(format!("businessunit:{unit}")),
            ),
        ])
    }

    fn account(metadata: &Metadata) -> &EntityDef {
        metadata.entity("account").expect("account")
    }

    #[test]
    fn a_manager_may_edit_a_reports_record_offline_as_the_server_allows() {
        let metadata = metadata();
        let org = demo_org(1);
        // Fiona's manager reports to a regional manager, whose business unit is above
        // theirs: business-unit depth does not reach the report's record, the hierarchy's
        // write rule (direct reports) does.
        let fiona = org.user("fiona").expect("fiona");
        let report = org
            .users
            .iter()
            .find(|u| Some(&u.id) == fiona.manager.as_ref())
            .expect("fiona's manager");
        let regional = report.manager.clone().expect("who they report to");
        let theirs = owned_by(&report.id, &report.business_unit);
        let with = access_of(&metadata, &regional, true);
        assert!(
            with.can(account(&metadata), Privilege::Write, Some(&theirs)),
            "the hierarchy's write rule holds on the device"
        );
        // What devices did before the principal travelled: the hierarchy was ignored.
        let without = access_of(&metadata, &regional, false);
        assert!(!without.can(account(&metadata), Privilege::Write, Some(&theirs)));
    }

    #[test]
    fn a_rep_may_edit_their_own_records_and_not_a_colleagues() {
        let metadata = metadata();
        let org = demo_org(1);
        let fiona = org.user("fiona").expect("fiona");
        let colleague = org
            .users
            .iter()
            .find(|u| {
                u.job == Job::SalesRep && u.id != fiona.id && u.business_unit == fiona.business_unit
            })
            .expect("a colleague in her unit");
        let a = access_of(&metadata, &fiona.id, true);
        let def = account(&metadata);
        assert!(a.can(
            def,
            Privilege::Write,
            Some(&owned_by(&fiona.id, &fiona.business_unit))
        ));
        assert_eq!(
            a.can(
                def,
                Privilege::Write,
                Some(&owned_by(&colleague.id, &colleague.business_unit))
            ),
            demo_org(1)
                .security(&metadata)
                .expect("security")
                .principal(&fiona.id)
                .expect("principal")
                .can(
                    def,
                    Privilege::Write,
                    &outpost_domain::security::RecordFacts::from_fields(&owned_by(
                        &colleague.id,
                        &colleague.business_unit
                    ))
                ),
            "the device answers what the server answers"
        );
        assert!(a.can(def, Privilege::Create, None));
        let allowed = a.allowed(def, &owned_by(&fiona.id, &fiona.business_unit));
        assert!(allowed.write);
    }

    #[test]
    fn secured_fields_are_refused_by_what_the_user_may_do_with_them() {
        let metadata = metadata();
        let org = demo_org(1);
        let fiona = org.user("fiona").expect("fiona");
        let a = access_of(&metadata, &fiona.id, true);
        let change = Fields::from([
            ("creditlimit".to_owned(), Some("5".to_owned())),
            ("name".to_owned(), Some("n".to_owned())),
        ]);
        assert_eq!(
            a.principal()
                .fields_denied(account(&metadata), &change, FieldAction::Update),
            vec!["creditlimit".to_owned()],
            "fiona has no field profile that lets her set the credit limit"
        );
        let admin = org.user("admin").expect("the admin");
        let b = access_of(&metadata, &admin.id, true);
        assert!(
            b.principal()
                .fields_denied(account(&metadata), &change, FieldAction::Update)
                .is_empty()
        );
    }
}
