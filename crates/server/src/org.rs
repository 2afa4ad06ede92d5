//! The org as one value ([`Org`]): metadata, security facts, settings, per-entity offline
//! settings, profiles and assignments — everything a request needs besides records. It is
//! read from the database and cached per `config_version`, which every admin change bumps,
//! so several server processes on one PostgreSQL see each other's changes at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use outpost_domain::metadata::Metadata;
use outpost_domain::query::EvalContext;
use outpost_domain::security::{Depth, OrgSecurity, Principal, Privilege};
use outpost_protocol::UserAccess;
use outpost_protocol::admin::{EntityOffline, OrgSettings, ProfileDef};

use crate::db::{Conn, int, opt_string, string, text};

/// Setting keys.
pub mod key {
    /// The metadata JSON.
    pub const METADATA: &str = "metadata";
    /// The security facts JSON.
    pub const SECURITY: &str = "security";
    /// Bumped by every change to what this module loads.
    pub const CONFIG_VERSION: &str = "config_version";
    /// Org settings JSON.
    pub const SETTINGS: &str = "settings";
    /// The org's identity, made once when its database is created: devices key their
    /// local data by it, never by the spelling of the server's address.
    pub const ORG_ID: &str = "org_id";
    /// The org's recovery key pair (hex, X25519), made once: devices seal the work a wipe
    /// cannot send to the public half, so an administrator can open it with the secret
    /// half (`outpost_protocol::recovery`).
    pub const RECOVERY_SECRET: &str = "recovery_secret_key";
    /// See [`RECOVERY_SECRET`].
    pub const RECOVERY_PUBLIC: &str = "recovery_public_key";
}

/// A fingerprint of what a user may do: pull pages carry it, so a device learns that its
/// cached access is stale (a role, team, field-security or hierarchy change) and fetches
/// `/metadata` again at once.
pub fn access_key(access: &UserAccess) -> String {
    use sha2::Digest as _;
    let json = if outpost_domain::mutant::active(outpost_domain::mutant::Mutant::FieldSecurityStale)
    {
        // A re-introduced bug (the simulation's mutants): field security is left out.
        let mut stale = access.clone();
        stale.secured_fields.clear();
        serde_json::to_vec(&stale).unwrap_or_default()
    } else {
        serde_json::to_vec(access).unwrap_or_default()
    };
    hex::encode(&sha2::Sha256::digest(&json)[..16])
}

/// The org's secret recovery key.
///
/// # Errors
/// A database error, or a stored key that is not 32 bytes of hex.
pub fn recovery_secret(conn: &mut dyn Conn) -> anyhow::Result<[u8; 32]> {
    let hex_key = setting(conn, key::RECOVERY_SECRET)?.context("the org has no recovery key")?;
    hex::decode(hex_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .context("the org's recovery key is not 32 bytes")
}

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    /// Id.
    pub id: String,
    /// The draft.
    pub draft: ProfileDef,
    /// The published content.
    pub published: Option<ProfileDef>,
    /// Publish count.
    pub version: u64,
}

/// Everything about the org but its records.
#[derive(Debug, Clone)]
pub struct Org {
    /// See [`key::ORG_ID`].
    pub id: String,
    /// The public recovery key, base64 (see [`key::RECOVERY_SECRET`]).
    pub recovery_public_key: String,
    /// See [`key::CONFIG_VERSION`].
    pub config_version: i64,
    /// Metadata.
    pub metadata: Arc<Metadata>,
    /// Security facts.
    pub security: OrgSecurity,
    /// Settings.
    pub settings: OrgSettings,
    /// Offline settings by entity.
    pub offline: BTreeMap<String, EntityOffline>,
    /// Profiles by id.
    pub profiles: BTreeMap<String, StoredProfile>,
    /// `systemuser:<id>` / `team:<id>` → profile id.
    pub assignments: BTreeMap<String, String>,
}

/// The defaults of a new org.
pub fn default_settings() -> OrgSettings {
    OrgSettings {
        provisioned: false,
        conflict_detection: true,
        budget_bytes: 512 * 1024 * 1024,
        min_app_version: String::new(),
        update_public_key: String::new(),
    }
}

/// A setting's value.
///
/// # Errors
/// A database error.
pub fn setting(conn: &mut dyn Conn, name: &str) -> anyhow::Result<Option<String>> {
    conn.query_opt("SELECT value FROM setting WHERE key = $1", &[text(name)])?
        .map(|row| string(&row[0]))
        .transpose()
}

/// Sets a setting.
///
/// # Errors
/// A database error.
pub fn setting_set(conn: &mut dyn Conn, name: &str, value: &str) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO setting (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[text(name), text(value)],
    )?;
    Ok(())
}

/// The current config version (0 before the org exists).
///
/// # Errors
/// A database error.
pub fn config_version(conn: &mut dyn Conn) -> anyhow::Result<i64> {
    Ok(setting(conn, key::CONFIG_VERSION)?
        .map(|v| v.parse::<i64>())
        .transpose()?
        .unwrap_or(0))
}

/// Marks the org's configuration changed (every cache reloads).
///
/// # Errors
/// A database error.
pub fn bump_config(conn: &mut dyn Conn) -> anyhow::Result<()> {
    let next = config_version(conn)? + 1;
    setting_set(conn, key::CONFIG_VERSION, &next.to_string())
}

impl Org {
    /// Reads the org.
    ///
    /// # Errors
    /// A database error, or an org that was never set up.
    pub fn load(conn: &mut dyn Conn) -> anyhow::Result<Self> {
        let config_version = config_version(conn)?;
        let id = setting(conn, key::ORG_ID)?.context("the org has no id")?;
        let recovery_public_key = setting(conn, key::RECOVERY_PUBLIC)?
            .and_then(|k| hex::decode(k).ok())
            .map(|k| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, k))
            .unwrap_or_default();
        let metadata: Metadata = serde_json::from_str(
            &setting(conn, key::METADATA)?.context("the org has no metadata yet")?,
        )
        .context("reading the stored metadata")?;
        let security: OrgSecurity = serde_json::from_str(
            &setting(conn, key::SECURITY)?.context("the org has no security facts yet")?,
        )
        .context("reading the stored security facts")?;
        let settings = setting(conn, key::SETTINGS)?
            .map(|s| serde_json::from_str(&s))
            .transpose()?
            .unwrap_or_else(default_settings);
        let mut offline = BTreeMap::new();
        for row in conn.query("SELECT entity, enabled, filter FROM offline_entity", &[])? {
            let entity = string(&row[0])?;
            offline.insert(
                entity.clone(),
                EntityOffline {
                    entity,
                    enabled: int(&row[1])? != 0,
                    filter: opt_string(&row[2])?,
                },
            );
        }
        let mut profiles = BTreeMap::new();
        for row in conn.query("SELECT id, draft, published, version FROM profile", &[])? {
            let id = string(&row[0])?;
            profiles.insert(
                id.clone(),
                StoredProfile {
                    id,
                    draft: serde_json::from_str(&string(&row[1])?)?,
                    published: opt_string(&row[2])?
                        .map(|p| serde_json::from_str(&p))
                        .transpose()?,
                    version: u64::try_from(int(&row[3])?)?,
                },
            );
        }
        let mut assignments = BTreeMap::new();
        for row in conn.query("SELECT principal, profile_id FROM profile_assignment", &[])? {
            assignments.insert(string(&row[0])?, string(&row[1])?);
        }
        Ok(Self {
            id,
            recovery_public_key,
            config_version,
            metadata: Arc::new(metadata),
            security,
            settings,
            offline,
            profiles,
            assignments,
        })
    }

    /// What `user_id` may do, as a device caches it (`/metadata`): privileges by entity,
    /// secured fields, teams, business unit and the manager hierarchy below them.
    pub fn user_access(
        &self,
        principal: &Principal,
        user_id: &str,
        now: time::OffsetDateTime,
    ) -> UserAccess {
        let mut privileges = BTreeMap::new();
        let mut secured_fields = BTreeMap::new();
        for def in &self.metadata.entities {
            let depths: BTreeMap<Privilege, Depth> = Privilege::ALL
                .iter()
                .map(|p| (*p, principal.depth(def, *p)))
                .filter(|(_, d)| *d != Depth::None)
                .collect();
            if !depths.is_empty() {
                privileges.insert(def.name.clone(), depths);
            }
            let secured = principal.secured_fields(def);
            if !secured.is_empty() {
                secured_fields.insert(def.name.clone(), secured);
            }
        }
        UserAccess {
            user_id: user_id.to_owned(),
            business_unit_id: principal.business_unit().to_owned(),
            team_ids: principal.teams().iter().cloned().collect(),
            hierarchy_user_ids: self.eval_context(principal, now).hierarchy_user_ids,
            privileges,
            secured_fields,
            principal: Some(principal.clone()),
        }
    }

    /// The user's security principal.
    ///
    /// # Errors
    /// When the user is unknown to security.
    pub fn principal(&self, user_id: &str) -> anyhow::Result<Principal> {
        self.security
            .principal(user_id)
            .map_err(|e| anyhow::anyhow!("security facts of user {user_id}: {e}"))
    }

    /// The id of the profile assigned to the user: one assigned to the user, else one
    /// assigned to a team of theirs (the first by team id), published or not.
    pub fn assigned_profile_id(&self, user_id: &str) -> Option<&String> {
        let direct = self.assignments.get(&format!("systemuser:{user_id}"));
        let via_team = || {
            self.security
                .teams
                .iter()
                .filter(|(_, t)| t.members.contains(user_id))
                .find_map(|(id, _)| self.assignments.get(&format!("team:{id}")))
        };
        direct.or_else(via_team)
    }

    /// The published profile that applies to the user ([`Org::assigned_profile_id`]).
    pub fn profile_for(&self, user_id: &str) -> Option<&StoredProfile> {
        self.assigned_profile_id(user_id)
            .and_then(|id| self.profiles.get(id))
            .filter(|p| p.published.is_some())
    }

    /// What the query language's owner shortcuts and date functions resolve against for
    /// the user, now.
    pub fn eval_context(&self, principal: &Principal, now: time::OffsetDateTime) -> EvalContext {
        let mut hierarchy: Vec<String> = vec![principal.user_id().to_owned()];
        hierarchy.extend(all_reports(&self.security, principal.user_id()));
        EvalContext {
            user_id: principal.user_id().to_owned(),
            team_ids: principal.teams().iter().cloned().collect(),
            hierarchy_user_ids: hierarchy,
            business_unit_id: principal.business_unit().to_owned(),
            now,
        }
    }
}

/// Everyone below `user_id` in the manager chain (any depth), for `eq-useroruserhierarchy`.
fn all_reports(security: &OrgSecurity, user_id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut frontier = vec![user_id.to_owned()];
    while let Some(boss) = frontier.pop() {
        for (id, user) in &security.users {
            if user.manager.as_deref() == Some(boss.as_str()) && !out.contains(id) && id != user_id
            {
                out.push(id.clone());
                frontier.push(id.clone());
            }
        }
    }
    out
}
