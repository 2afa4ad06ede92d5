//! The demo org (S1–S4, DESIGN §7): the domain's deterministic generator loaded into an
//! empty database — business units, users, teams, roles, metadata, `records` records —
//! with offline provisioned, every entity offline-enabled, and two published profiles
//! (*Field Sales* for sales reps and managers, *Field Service* for technicians).

use outpost_domain::demo::{self, DemoData, Job};
use outpost_protocol::admin::{ItemData, OrgSettings, ProfileDef, ProfileItem, RelationshipRule};

use crate::db::{Conn, int, int_param, sync_entity_tables, text};
use crate::org::{self, bump_config, key, setting_set};
use crate::records::write_many;
use crate::{Db, new_id};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Generator seed (the same seed gives the same org).
    pub seed: u64,
    /// Business records to generate.
    pub records: u64,
    /// Every demo user's password.
    pub password: String,
}

fn mine() -> ItemData {
    ItemData::Other {
        mine: true,
        my_team: false,
        my_business_unit: false,
        custom: None,
    }
}

fn item(entity: &str, data: ItemData, rules: &[(&str, &str)]) -> ProfileItem {
    ProfileItem {
        entity: entity.to_owned(),
        data,
        relationships: rules
            .iter()
            .map(|(e, a)| RelationshipRule {
                entity: (*e).to_owned(),
                attribute: (*a).to_owned(),
            })
            .collect(),
        sync_interval_minutes: 15,
    }
}

fn reference_items() -> Vec<ProfileItem> {
    ["systemuser", "team", "businessunit"]
        .iter()
        .map(|e| item(e, ItemData::All, &[]))
        .collect()
}

/// The demo's *Field Sales* profile.
pub fn field_sales() -> ProfileDef {
    let mut items = vec![
        item("account", mine(), &[("contact", "parentcustomerid")]),
        item("contact", mine(), &[]),
        item("lead", mine(), &[]),
        item(
            "opportunity",
            mine(),
            &[
                ("account", "customerid"),
                ("opportunityclose", "opportunityid"),
            ],
        ),
        item("opportunityclose", ItemData::RelatedOnly, &[]),
        item("task", mine(), &[]),
        item("phonecall", mine(), &[]),
        item("appointment", mine(), &[]),
    ];
    items.extend(reference_items());
    ProfileDef {
        name: "Field Sales".to_owned(),
        description: "A sales rep's own accounts, contacts, leads, opportunities and activities"
            .to_owned(),
        items,
    }
}

/// The demo's *Field Service* profile.
pub fn field_service() -> ProfileDef {
    let mut items = vec![
        item(
            "incident",
            mine(),
            &[
                ("account", "customerid"),
                ("contact", "customerid"),
                ("incidentresolution", "incidentid"),
            ],
        ),
        item("account", ItemData::RelatedOnly, &[]),
        item("contact", ItemData::RelatedOnly, &[]),
        item("incidentresolution", ItemData::RelatedOnly, &[]),
        item("task", mine(), &[]),
        item("phonecall", mine(), &[]),
        item("appointment", mine(), &[]),
    ];
    items.extend(reference_items());
    ProfileDef {
        name: "Field Service".to_owned(),
        description: "A technician's cases with their customers, and their activities".to_owned(),
        items,
    }
}

/// Loads the demo org when the database has no user yet; whether it did.
///
/// # Errors
/// A database error, or a generator inconsistency.
pub async fn load_demo_if_empty(db: &Db, options: &DemoOptions) -> anyhow::Result<bool> {
    let password = options.password.clone();
    let hash =
        tokio::task::spawn_blocking(move || crate::password::hash_password(&password)).await??;
    let options = options.clone();
    // Checked inside the writing transaction: server processes starting together on one
    // PostgreSQL take turns, and only the first one loads.
    db.write(move |conn| {
        if int(&conn.query_value("SELECT count(*) FROM org_user", &[])?)? != 0 {
            return Ok(false);
        }
        load_demo(conn, &options, &hash)?;
        Ok(true)
    })
    .await
}

fn load_demo(conn: &mut dyn Conn, options: &DemoOptions, hash: &str) -> anyhow::Result<()> {
    let metadata = demo::metadata();
    let org = demo::demo_org(options.seed);
    let security = org
        .security(&metadata)
        .map_err(|e| anyhow::anyhow!("demo security: {e}"))?;
    setting_set(conn, key::METADATA, &serde_json::to_string(&metadata)?)?;
    setting_set(conn, key::SECURITY, &serde_json::to_string(&security)?)?;
    let settings = OrgSettings {
        provisioned: true,
        ..org::default_settings()
    };
    setting_set(conn, key::SETTINGS, &serde_json::to_string(&settings)?)?;
    sync_entity_tables(conn, &metadata)?;
    for user in &org.users {
        conn.execute(
            "INSERT INTO org_user (id, username, display_name, password_hash, is_admin)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                text(&user.id),
                text(&user.username),
                text(&user.full_name),
                text(hash),
                int_param(i64::from(user.job == Job::Admin)),
            ],
        )?;
    }
    let data = DemoData::new(&metadata, &org, options.seed, options.records, crate::now());
    let mut batch: Vec<(String, outpost_domain::Fields, i64)> = Vec::new();
    let mut entity = String::new();
    let flush = |conn: &mut dyn Conn,
                 entity: &str,
                 batch: &mut Vec<(String, outpost_domain::Fields, i64)>|
     -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = i64::try_from(batch.len())?;
        let last = conn.next_versions(n)?;
        for (i, row) in batch.iter_mut().enumerate() {
            row.2 = last - n + 1 + i64::try_from(i)?;
        }
        write_many(conn, metadata.entity(entity)?, &security, batch)?;
        batch.clear();
        Ok(())
    };
    for record in data.records() {
        if record.entity != entity || batch.len() >= 2_000 {
            flush(conn, &entity, &mut batch)?;
            entity.clone_from(&record.entity);
        }
        batch.push((record.id, record.fields, 0));
    }
    flush(conn, &entity, &mut batch)?;
    for def in &metadata.entities {
        let filter = match def.name.as_str() {
            "task" | "phonecall" | "appointment" => "modifiedon last-x-days 365",
            _ => "",
        };
        conn.execute(
            "INSERT INTO offline_entity (entity, enabled, filter) VALUES ($1, 1, $2)",
            &[text(&def.name), text(filter)],
        )?;
    }
    let now = outpost_domain::value::format_datetime(crate::now());
    for (profile, jobs) in [
        (field_sales(), &[Job::SalesRep, Job::Manager][..]),
        (field_service(), &[Job::Technician][..]),
    ] {
        let id = new_id();
        let json = serde_json::to_string(&profile)?;
        conn.execute(
            "INSERT INTO profile (id, name, draft, published, version, modified_on)
             VALUES ($1, $2, $3, $3, 1, $4)",
            &[text(&id), text(&profile.name), text(json), text(&now)],
        )?;
        for user in org.users.iter().filter(|u| jobs.contains(&u.job)) {
            conn.execute(
                "INSERT INTO profile_assignment (principal, profile_id) VALUES ($1, $2)",
                &[text(format!("systemuser:{}", user.id)), text(&id)],
            )?;
        }
    }
    bump_config(conn)?;
    Ok(())
}

/// Makes every record of every entity offline and publishes a profile taking all of them
/// (`Everything`) for the demo administrator: the whole org is their scope. For
/// benchmarks, which measure the biggest scope a device can have.
///
/// # Errors
/// When the org is not loaded or an admin step refuses.
pub fn profile_everything_for_admin(c: &mut dyn crate::db::Conn) -> anyhow::Result<()> {
    use outpost_protocol::admin::{Assignments, EntityOffline, ItemData, ProfileDef, ProfileItem};

    use crate::admin;
    let org = crate::org::Org::load(c)?;
    let everything = ProfileDef {
        name: "Everything".to_owned(),
        description: String::new(),
        items: org
            .metadata
            .entities
            .iter()
            .map(|e| ProfileItem {
                entity: e.name.clone(),
                data: ItemData::All,
                relationships: Vec::new(),
                sync_interval_minutes: 15,
            })
            .collect(),
    };
    for entity in &org.metadata.entities {
        let all = EntityOffline {
            entity: entity.name.clone(),
            enabled: true,
            filter: Some(String::new()),
        };
        admin::entity_set(c, &entity.name, &all).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let now = outpost_domain::value::format_datetime(crate::now());
    let info = admin::profile_create(c, &everything, &now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin_id = org
        .security
        .users
        .iter()
        .find(|(_, u)| u.roles.contains(outpost_domain::demo::role::ADMIN))
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    admin::assign(
        c,
        &info.id,
        &Assignments {
            users: vec![admin_id],
            teams: Vec::new(),
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    admin::publish(c, &info.id, true, crate::now()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
