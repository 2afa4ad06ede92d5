//! What the signed-in user may do offline, from the privileges and field permissions the
//! server sent with its metadata (cached in the encrypted store). The device checks what
//! it can know — the privilege's depth against the record's owner and business unit, and
//! field security — so a forbidden action is neither offered nor queued; the server
//! checks everything again when the change arrives (it knows the business-unit tree and
//! the manager hierarchy, which the device does not hold).

use outpost_domain::Fields;
use outpost_domain::security::{Depth, Privilege, RecordFacts, TEAM_ENTITY, USER_ENTITY};
use outpost_protocol::UserAccess;

use crate::api::Allowed;

/// The cached access of one user.
#[derive(Debug, Clone)]
pub(crate) struct Access(pub(crate) UserAccess);

impl Access {
    /// The depth of `privilege` on `entity` (none when not granted).
    pub(crate) fn depth(&self, entity: &str, privilege: Privilege) -> Depth {
        self.0
            .privileges
            .get(entity)
            .and_then(|p| p.get(&privilege))
            .copied()
            .unwrap_or(Depth::None)
    }

    /// Whether the user may use `privilege` on a record with these fields (`None`: a new
    /// record), as the server's `Principal::can` decides for the depths the device can
    /// judge: user depth needs the user or one of their teams as owner; business-unit
    /// depth that, or the user's unit; deeper depths are left to the server.
    pub(crate) fn can(&self, entity: &str, privilege: Privilege, fields: Option<&Fields>) -> bool {
        let depth = self.depth(entity, privilege);
        let Some(fields) = fields else {
            return depth != Depth::None;
        };
        let facts = RecordFacts::from_fields(fields);
        let owns = match facts.owner.entity.as_str() {
            USER_ENTITY => facts.owner.id == self.0.user_id,
            TEAM_ENTITY => self.0.team_ids.contains(&facts.owner.id),
            // An organization-owned entity has no owner: any depth covers it.
            _ => !fields.contains_key("ownerid"),
        };
        match depth {
            Depth::None => false,
            Depth::User => owns,
            Depth::BusinessUnit => {
                owns || facts.owning_business_unit.is_empty()
                    || facts.owning_business_unit == self.0.business_unit_id
            }
            Depth::ParentChild | Depth::Organization => true,
        }
    }

    /// What the form offers for a record.
    pub(crate) fn allowed(&self, entity: &str, fields: &Fields) -> Allowed {
        Allowed {
            write: self.can(entity, Privilege::Write, Some(fields)),
            delete: self.can(entity, Privilege::Delete, Some(fields)),
            assign: self.can(entity, Privilege::Assign, Some(fields)),
            append_to: self.can(entity, Privilege::AppendTo, Some(fields)),
        }
    }

    /// The secured fields among `fields` the user may not set (`creating`: on a new
    /// record; otherwise on an existing one).
    pub(crate) fn fields_refused(
        &self,
        entity: &str,
        fields: &Fields,
        creating: bool,
    ) -> Vec<String> {
        let Some(secured) = self.0.secured_fields.get(entity) else {
            return Vec::new();
        };
        fields
            .keys()
            .filter(|name| {
                secured
                    .get(*name)
                    .is_some_and(|p| if creating { !p.create } else { !p.update })
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use outpost_domain::Fields;
    use outpost_domain::security::{Depth, FieldPermission, Privilege};
    use outpost_protocol::UserAccess;

    use super::Access;

    fn access() -> Access {
        let mut privileges = BTreeMap::new();
        privileges.insert(
            "account".to_owned(),
            BTreeMap::from([
                (Privilege::Read, Depth::BusinessUnit),
                (Privilege::Write, Depth::User),
                (Privilege::Create, Depth::User),
            ]),
        );
        privileges.insert(
            "contact".to_owned(),
            BTreeMap::from([
                (Privilege::Write, Depth::BusinessUnit),
                (Privilege::Delete, Depth::Organization),
            ]),
        );
        Access(UserAccess {
            user_id: "me".into(),
            business_unit_id: "bu-1".into(),
            team_ids: vec!["team-1".into()],
            hierarchy_user_ids: Vec::new(),
            privileges,
            secured_fields: BTreeMap::from([(
                "account".to_owned(),
                BTreeMap::from([
                    (
                        "creditlimit".to_owned(),
                        FieldPermission {
                            read: true,
                            create: true,
                            update: false,
                        },
                    ),
                    (
                        "secret".to_owned(),
                        FieldPermission {
                            read: false,
                            create: false,
                            update: false,
                        },
                    ),
                ]),
            )]),
        })
    }

    /// A record as the store holds it (`owningbusinessunit` is a reference).
    fn record(owner: &str, unit: &str) -> Fields {
        Fields::from([
            ("ownerid".to_owned(), Some(owner.to_owned())),
            (
                "owningbusinessunit".to_owned(),
                Some(format!("businessunit:{unit}")),
            ),
        ])
    }

    #[test]
    fn user_depth_needs_the_user_or_their_team_as_owner() {
        let a = access();
        assert!(a.can(
            "account",
            Privilege::Write,
            Some(&record("systemuser:me", "bu-1"))
        ));
        assert!(a.can(
            "account",
            Privilege::Write,
            Some(&record("team:team-1", "bu-1"))
        ));
        assert!(!a.can(
            "account",
            Privilege::Write,
            Some(&record("systemuser:other", "bu-1"))
        ));
        assert!(!a.can(
            "account",
            Privilege::Write,
            Some(&record("team:team-2", "bu-1"))
        ));
    }

    #[test]
    fn business_unit_depth_needs_the_users_unit_and_deeper_depths_are_left_to_the_server() {
        let a = access();
        assert!(a.can(
            "contact",
            Privilege::Write,
            Some(&record("systemuser:other", "bu-1"))
        ));
        assert!(!a.can(
            "contact",
            Privilege::Write,
            Some(&record("systemuser:other", "bu-2"))
        ));
        assert!(
            a.can(
                "contact",
                Privilege::Write,
                Some(&record("systemuser:me", "bu-2"))
            ),
            "what the user owns is within business-unit depth wherever it is"
        );
        assert!(a.can(
            "contact",
            Privilege::Delete,
            Some(&record("systemuser:x", "bu-9"))
        ));
    }

    #[test]
    fn a_privilege_not_granted_is_refused_and_creating_needs_any_depth() {
        let a = access();
        assert!(!a.can(
            "account",
            Privilege::Delete,
            Some(&record("systemuser:me", "bu-1"))
        ));
        assert!(
            !a.can("lead", Privilege::Read, None),
            "no privilege on the entity at all"
        );
        assert!(a.can("account", Privilege::Create, None));
        assert!(!a.can("contact", Privilege::Create, None));
        let allowed = a.allowed("account", &record("systemuser:me", "bu-1"));
        assert!(allowed.write && !allowed.delete && !allowed.assign);
    }

    #[test]
    fn secured_fields_are_refused_by_what_the_user_may_do_with_them() {
        let a = access();
        let change = Fields::from([
            ("creditlimit".to_owned(), Some("5".to_owned())),
            ("name".to_owned(), Some("n".to_owned())),
        ]);
        assert_eq!(
            a.fields_refused("account", &change, false),
            vec!["creditlimit".to_owned()]
        );
        assert!(
            a.fields_refused("account", &change, true).is_empty(),
            "may set it on create"
        );
        let secret = Fields::from([("secret".to_owned(), Some("s".to_owned()))]);
        assert_eq!(
            a.fields_refused("account", &secret, true),
            vec!["secret".to_owned()]
        );
    }
}
