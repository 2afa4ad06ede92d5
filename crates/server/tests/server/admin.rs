//! Offline administration (S6–S9): who may use it, profile validation, publish with a
//! dry run and a budget, assignment — and what devices see of each step.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::oracle::assert_holds_scope;
use crate::{
    Answer, Backend, Device, assert_refused, call, find_by, harness, login, put_offline_entity,
    put_setting, str, user_id,
};

crate::contract!(
    admin_api_is_for_administrators,
    profiles_validate_publish_assign_and_dry_run,
    metadata_presentation_changes_bump_the_version_and_data_changes_are_refused,
    an_administrator_lists_a_users_devices_to_revoke_the_lost_one,
);

async fn metadata_presentation_changes_bump_the_version_and_data_changes_are_refused(
    backend: Backend,
) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let before = call(&h.app, "GET", "/api/v1/metadata", &fiona, None)
        .await
        .body;
    let mut next = before["metadata"].clone();
    let version = next["version"].as_u64().expect("version");
    let denied = call(
        &h.app,
        "PUT",
        "/api/v1/admin/metadata",
        &fiona,
        Some(next.clone()),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let accounts = next["entities"]
        .as_array_mut()
        .and_then(|e| e.iter_mut().find(|e| e["name"] == "account"))
        .expect("account");
    accounts["views"][0]["name"] = json!("Renamed view");
    let changed = call(
        &h.app,
        "PUT",
        "/api/v1/admin/metadata",
        &admin,
        Some(next.clone()),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let after = call(&h.app, "GET", "/api/v1/metadata", &fiona, None)
        .await
        .body;
    assert_eq!(after["metadata"]["version"].as_u64(), Some(version + 1));

    for (what, break_it) in [
        (
            "an attribute removed",
            Box::new(|m: &mut Value| {
                if let Some(a) = m["entities"][0]["attributes"].as_array_mut() {
                    a.pop();
                }
            }) as Box<dyn Fn(&mut Value)>,
        ),
        (
            "a view on a missing column",
            Box::new(|m: &mut Value| m["entities"][0]["views"][0]["columns"] = json!(["nope"])),
        ),
        (
            "a form field that does not exist",
            Box::new(|m: &mut Value| {
                m["entities"][0]["forms"][0]["tabs"][0]["sections"][0]["fields"] = json!(["nope"]);
            }),
        ),
    ] {
        let mut bad = after["metadata"].clone();
        break_it(&mut bad);
        let refused = call(&h.app, "PUT", "/api/v1/admin/metadata", &admin, Some(bad)).await;
        assert_refused(&refused, StatusCode::BAD_REQUEST, "bad_metadata", what);
    }
    let last = call(&h.app, "GET", "/api/v1/metadata", &fiona, None)
        .await
        .body;
    assert_eq!(
        last["metadata"]["version"].as_u64(),
        Some(version + 1),
        "nothing refused was kept"
    );
}

async fn admin_api_is_for_administrators(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    for (method, uri) in [
        ("GET", "/api/v1/admin/users"),
        ("GET", "/api/v1/admin/profiles"),
        ("GET", "/api/v1/admin/settings"),
        ("GET", "/api/v1/admin/offline/entities"),
        ("GET", "/api/v1/admin/sync-errors"),
        ("POST", "/api/v1/admin/devices/d1/revoke"),
        ("PUT", "/api/v1/admin/metadata"),
    ] {
        let a = call(&h.app, method, uri, &fiona, None).await;
        assert_refused(
            &a,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("{method} {uri}"),
        );
    }
    let admin = login(&h.app, "admin", "console").await;
    let users = call(&h.app, "GET", "/api/v1/admin/users", &admin, None)
        .await
        .body;
    let fiona_row = find_by(&users, "username", "fiona");
    assert_eq!(
        fiona_row["roles"],
        json!([outpost_domain::demo::role::SALESPERSON])
    );
    assert_eq!(users.as_array().map(Vec::len), Some(h.org.users.len()));
    let security = call(&h.app, "GET", "/api/v1/admin/security", &admin, None)
        .await
        .body;
    assert_eq!(
        security["business_units"]
            .as_object()
            .map(serde_json::Map::len),
        Some(h.org.business_units.len())
    );
    let entities = call(
        &h.app,
        "GET",
        "/api/v1/admin/offline/entities",
        &admin,
        None,
    )
    .await
    .body;
    assert!(
        entities
            .as_array()
            .expect("entities")
            .iter()
            .all(|e| e["enabled"] == true)
    );
}

/// Publishes profile `id` as `admin` (`force`: even over the budget); the answer.
async fn publish(h: &crate::Harness, admin: &str, id: &str, force: bool) -> Answer {
    let body = if force {
        json!({"force": true})
    } else {
        json!({})
    };
    call(
        &h.app,
        "POST",
        &format!("/api/v1/admin/profiles/{id}/publish"),
        admin,
        Some(body),
    )
    .await
}

fn item(entity: &str, data: Value, relationships: Value, interval: u32) -> Value {
    json!({"entity": entity, "data": data, "relationships": relationships, "sync_interval_minutes": interval})
}

async fn profiles_validate_publish_assign_and_dry_run(backend: Backend) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let mine = json!({"kind": "other", "mine": true});
    // Switch an entity off so the profile below trips over it.
    put_offline_entity(
        &h,
        &admin,
        "incident",
        json!({"enabled": false, "filter": ""}),
    )
    .await;
    let broken = json!({"name": "Broken", "items": [
        item("account", mine.clone(), json!([{"entity": "contact", "attribute": "parentcustomerid"}]), 15),
        item("contact", json!({"kind": "other", "custom": "lastname eq"}), json!([{"entity": "account", "attribute": "parentcustomerid"}]), 2),
        item("incident", json!({"kind": "all"}), json!([]), 15),
        item("lead", json!({"kind": "related_only"}), json!([]), 15),
        item("systemuser", json!({"kind": "other", "mine": true}), json!([]), 15),
        item("task", mine.clone(), json!([]), 15),
    ]});
    let created = call(
        &h.app,
        "POST",
        "/api/v1/admin/profiles",
        &admin,
        Some(broken),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let broken_id = str(&created.body["id"]);
    let problems = call(
        &h.app,
        "POST",
        &format!("/api/v1/admin/profiles/{broken_id}/validate"),
        &admin,
        None,
    )
    .await
    .body;
    let codes: std::collections::BTreeSet<String> = problems
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| str(&p["code"]))
        .collect();
    for code in [
        "bad_filter",
        "bad_interval",
        "circular_relationship",
        "entity_not_enabled",
        "lookup_target_not_enabled",
        "unreachable_item",
        "ownership_on_org_entity",
    ] {
        assert!(codes.contains(code), "{code} missing from {problems}");
    }
    let refused = publish(&h, &admin, &broken_id, false).await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_profile",
        "a profile with problems",
    );
    let dup = call(
        &h.app,
        "POST",
        "/api/v1/admin/profiles",
        &admin,
        Some(json!({"name": "Broken", "items": []})),
    )
    .await;
    assert_refused(
        &dup,
        StatusCode::CONFLICT,
        "name_taken",
        "a second \"Broken\"",
    );
    put_offline_entity(
        &h,
        &admin,
        "incident",
        json!({"enabled": true, "filter": ""}),
    )
    .await;

    // A small valid profile, assigned to fiona before it is published: her device wipes.
    let tiny = json!({"name": "Tiny", "items": [
        item("account", mine.clone(), json!([{"entity": "contact", "attribute": "parentcustomerid"}]), 30),
        item("contact", json!({"kind": "related_only"}), json!([]), 30),
        item("systemuser", json!({"kind": "all"}), json!([]), 60),
        item("team", json!({"kind": "all"}), json!([]), 60),
        item("businessunit", json!({"kind": "all"}), json!([]), 60),
    ]});
    let tiny_id = str(
        &call(&h.app, "POST", "/api/v1/admin/profiles", &admin, Some(tiny))
            .await
            .body["id"],
    );
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let before = device.held.len();
    let fiona_id = user_id(&h, "fiona");
    let assigned = call(
        &h.app,
        "PUT",
        &format!("/api/v1/admin/profiles/{tiny_id}/assignments"),
        &admin,
        Some(json!({"users": [fiona_id]})),
    )
    .await;
    assert_eq!(
        assigned.body["users"],
        json!([fiona_id]),
        "{}",
        assigned.body
    );
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(
        page["wipe"], true,
        "an unpublished profile sends nothing: the device wipes"
    );

    let dry = call(
        &h.app,
        "POST",
        &format!("/api/v1/admin/profiles/{tiny_id}/dry-run"),
        &admin,
        None,
    )
    .await
    .body;
    let line = &dry["users"][0];
    assert_eq!(line["username"], "fiona", "{dry}");
    assert!(line["bytes"].as_u64() > Some(0) && line["records"]["account"].as_u64() > Some(0));
    let published = publish(&h, &admin, &tiny_id, false).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(published.body["version"], 1);
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    let pages = device.sync(&h.app, 1000).await;
    assert_eq!(pages[0]["profile_version"], 1);
    assert_eq!(
        device.held.len() as u64,
        line["total_records"].as_u64().expect("a count"),
        "the dry run counted what the device gets"
    );
    assert!(
        device.held.len() < before,
        "a smaller profile, fewer records"
    );
    assert!(!device.held.keys().any(|(e, _)| e == "lead"));
    assert_holds_scope(&h, "fiona", &device, "under the new profile").await;

    // The budget: publishing more than a user may hold needs force.
    put_setting(&h, &admin, "budget_bytes", json!(100)).await;
    let over = publish(&h, &admin, &tiny_id, false).await;
    assert_refused(
        &over,
        StatusCode::CONFLICT,
        "over_budget",
        "over the budget",
    );
    let forced = publish(&h, &admin, &tiny_id, true).await;
    assert_eq!(forced.body["version"], 2, "{}", forced.body);
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(page["profile_version"], 2);
    device.sync(&h.app, 1000).await;
    assert_holds_scope(&h, "fiona", &device, "after publishing again").await;
}

async fn devices(h: &crate::Harness, token: &str, query: &str) -> Answer {
    call(
        &h.app,
        "GET",
        &format!("/api/v1/admin/devices{query}"),
        token,
        None,
    )
    .await
}

/// The listed device of `user` with `device_id`, as (pulled, pushed, signed in, wipe
/// ordered).
#[track_caller]
fn device_state(list: &Value, user: &str, device_id: &str) -> (bool, bool, bool, bool) {
    let d = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .find(|d| d["username"] == user && d["device_id"] == device_id)
        .unwrap_or_else(|| panic!("{user}'s {device_id} is listed: {list}"));
    (
        d["last_pull_on"].is_string(),
        d["last_push_on"].is_string(),
        d["signed_in"] == true,
        d["wipe_ordered"] == true,
    )
}

async fn an_administrator_lists_a_users_devices_to_revoke_the_lost_one(backend: Backend) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let mut tablet = Device::new(&h.app, "fiona", "tablet").await;
    tablet.pull_page(&h.app, 10).await;
    let op = json!({"op_id": "op-1", "base_version": null, "op": {"kind": "update",
        "entity": "account", "id": "no-such-account", "changes": {"name": "x"},
        "before": {"name": null}}});
    crate::push(&h, &tablet.token, vec![op]).await;
    let phone = login(&h.app, "fiona", "phone").await;

    let fiona = devices(&h, &admin, "?user=fiona").await;
    assert_eq!(fiona.status, StatusCode::OK, "{}", fiona.body);
    let listed: Vec<(String, String)> = fiona
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| (str(&d["user_id"]), str(&d["device_id"])))
        .collect();
    let fiona_id = user_id(&h, "fiona");
    assert_eq!(
        listed,
        [
            (fiona_id.clone(), "phone".to_owned()),
            (fiona_id, "tablet".to_owned())
        ],
        "fiona's devices, and only hers, by device id"
    );
    assert_eq!(
        device_state(&fiona.body, "fiona", "tablet"),
        (true, true, true, false),
        "the tablet pulled and pushed, and is signed in"
    );
    assert_eq!(
        device_state(&fiona.body, "fiona", "phone"),
        (false, false, true, false),
        "the phone only signed in"
    );
    let everyone = devices(&h, &admin, "").await;
    assert_eq!(
        everyone.body.as_array().map(Vec::len),
        Some(3),
        "without a user, every user's devices: {}",
        everyone.body
    );
    device_state(&everyone.body, "admin", "console");
    let unknown = devices(&h, &admin, "?user=nobody").await;
    assert_refused(
        &unknown,
        StatusCode::NOT_FOUND,
        "not_found",
        "an unknown user",
    );
    let odd = devices(&h, &admin, "?device=x").await;
    assert_refused(
        &odd,
        StatusCode::BAD_REQUEST,
        "malformed",
        "an unknown parameter",
    );
    let not_admin = devices(&h, &phone, "").await;
    assert_refused(
        &not_admin,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a user who is not an administrator",
    );

    // The phone is lost; the tablet signs out.
    let revoked = call(
        &h.app,
        "POST",
        "/api/v1/admin/devices/phone/revoke",
        &admin,
        Some(json!({"user": "fiona", "wipe": true})),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let out = call(&h.app, "POST", "/api/v1/auth/logout", &tablet.token, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
    let after = devices(&h, &admin, "?user=fiona").await;
    assert_eq!(
        device_state(&after.body, "fiona", "phone"),
        (false, false, false, true),
        "the lost phone is no longer signed in and has a wipe order"
    );
    assert_eq!(
        device_state(&after.body, "fiona", "tablet"),
        (true, true, false, false),
        "the signed-out tablet is no longer signed in, with no wipe order"
    );
}

/// An administrator opens a recovery file of this org and is told that its content is the
/// device's word, not the user's signature; a file naming another org is refused plainly
/// (even one sealed to this org's key: the header is what it claims, not proof).
#[tokio::test]
async fn recovery_open_reads_only_this_orgs_files_and_says_they_are_unsigned() {
    use outpost_protocol::recovery::{RecoveryHeader, seal};
    let tmp = tempfile::tempdir().expect("a temp folder");
    let db = outpost_server::Db::open_folder(tmp.path())
        .await
        .expect("the database opens");
    let (org_id, public) = db
        .tx(|c| {
            let setting = |c: &mut dyn outpost_server::db::Conn, key| {
                outpost_server::org::setting(c, key).map(Option::unwrap_or_default)
            };
            Ok((
                setting(c, outpost_server::org::key::ORG_ID)?,
                setting(c, outpost_server::org::key::RECOVERY_PUBLIC)?,
            ))
        })
        .await
        .expect("the org's id and recovery key");
    drop(db);
    let public: [u8; 32] = hex::decode(public)
        .ok()
        .and_then(|k| k.try_into().ok())
        .expect("a 32-byte public key");
    let file = |org: &str| {
        let header = RecoveryHeader {
            id: format!("r-{org}"),
            org_id: org.to_owned(),
            user_id: "u1".into(),
            device_id: "d1".into(),
            created_on: "2026-12-07T10:00:00Z".into(),
        };
        let sealed = seal(
            header,
            br#"{"changes":["Parkville"]}"#,
            &[9u8; 32],
            Some(&public),
        )
        .expect("sealed");
        let path = tmp.path().join(format!("{org}.outpost-recovery"));
        std::fs::write(&path, serde_json::to_string(&sealed).expect("JSON")).expect("written");
        path.to_string_lossy().into_owned()
    };

    let opened = crate::admin_command(tmp.path(), &["recovery-open", &file(&org_id)]);
    assert_eq!(
        opened["work"],
        json!({"changes": ["Parkville"]}),
        "the work is read: {opened}"
    );
    let said = str(&opened["authenticity"]);
    assert!(
        said.contains("not signed") && said.contains("device"),
        "next to the work it says it is what the device wrote, unsigned by the user: {opened}"
    );

    let other = crate::admin_command_run(tmp.path(), &["recovery-open", &file("another-org")]);
    let error = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && other.stdout.is_empty(),
        "a file naming another org is refused, nothing of it printed: {}",
        String::from_utf8_lossy(&other.stdout)
    );
    assert!(
        error.contains("another-org") && error.contains(&org_id),
        "the refusal names both orgs: {error}"
    );
}
