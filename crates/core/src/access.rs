//! What the signed-in user may do offline, from the privileges and field permissions the
//! server sent with its metadata (cached in the encrypted store). The device checks what
//! it can know — the privilege's depth against the record's owner and business unit, and
//! field security — so a forbidden action is neither offered nor queued; the server
//! checks everything again when the change arrives (it knows the business-unit tree and
//! the manager hierarchy, which the device does not hold).

use outpost_domain::security::{Depth, Privilege};
use outpost_domain::{EntityRef, Fields};
use outpost_protocol::UserAccess;

use crate::api::Allowed;

/// The cached access of one user.
#[derive(Debug, Clone)]
pub(crate) struct Access(pub(crate) UserAccess);

fn owner_of(fields: &Fields) -> Option<EntityRef> {
    let text = fields.get("ownerid")?.as_deref()?;
    let (entity, id) = text.split_once(':')?;
    Some(EntityRef {
        entity: entity.to_owned(),
        id: id.to_owned(),
    })
}

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
    /// record). User depth needs the user or one of their teams as owner; business-unit
    /// depth the user's unit; deeper depths are left to the server.
    pub(crate) fn can(&self, entity: &str, privilege: Privilege, fields: Option<&Fields>) -> bool {
        let depth = self.depth(entity, privilege);
        let Some(fields) = fields else {
            return depth != Depth::None;
        };
        match depth {
            Depth::None => false,
            Depth::User => match owner_of(fields) {
                Some(owner) if owner.entity == "systemuser" => owner.id == self.0.user_id,
                Some(owner) if owner.entity == "team" => self.0.team_ids.contains(&owner.id),
                // An organization-owned entity has no owner: user depth covers it.
                None => !fields.contains_key("ownerid"),
                Some(_) => false,
            },
            Depth::BusinessUnit => match fields.get("owningbusinessunit").cloned().flatten() {
                Some(unit) => unit == self.0.business_unit_id,
                None => true,
            },
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
