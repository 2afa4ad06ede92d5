//! Pull: the initial sweep, delta pulls that carry only changes, removals for every way a
//! record leaves scope, acknowledged pages, follows, entity filters and provisioning —
//! each checked against the in-memory scope model.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::oracle::{all_records, assert_holds_scope};
use crate::{
    Backend, Device, assert_refused, call, harness, login, push, put_offline_entity, put_setting,
    str, user_id,
};

crate::contract!(
    initial_pull_sends_exactly_the_scope_then_nothing,
    the_servers_page_cap_bounds_pages_whatever_the_device_asks,
    delta_pull_sends_changes_and_removals_only,
    a_lost_page_is_sent_again_and_an_unknown_checkpoint_resets,
    follows_bring_records_and_unfollow_takes_them_away,
    entity_filters_and_provisioning_bound_every_device,
    records_age_out_of_a_date_window,
    field_security_changes_reach_every_record_a_device_holds,
    a_record_a_device_created_and_that_left_its_scope_before_it_pulled_is_removed,
    entities_a_device_asks_again_for_are_sent_whole,
    a_record_a_device_created_before_its_first_pull_and_out_of_scope_is_removed,
    a_record_a_command_made_of_an_entity_the_device_does_not_take_leaves_it,
    a_record_a_device_made_that_a_resolution_applied_leaves_when_out_of_scope,
    pages_asked_ahead_wait_until_stored_and_a_device_that_dies_loses_nothing,
);

/// Ids of `entity` records owned by `username`, in id order.
pub(crate) async fn owned(h: &crate::Harness, entity: &str, username: &str) -> Vec<String> {
    let owner = format!("systemuser:{}", user_id(h, username));
    all_records(h)
        .await
        .remove(entity)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, f)| f.get("ownerid").cloned().flatten().as_deref() == Some(owner.as_str()))
        .map(|(id, _)| id)
        .collect()
}

fn ids(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| format!("{}:{}", str(&r["entity"]), str(&r["id"])))
        .collect()
}

/// The device made `entity`/`id` itself, as a device does before it pushes.
fn made_here(device: &mut Device, entity: &str, id: &str) {
    device.held.insert(
        (entity.to_owned(), id.to_owned()),
        (0, "local".to_owned(), outpost_domain::Fields::new()),
    );
}

/// The administrator gives account `id` to themselves: out of fiona's scope.
async fn account_to_admin(h: &crate::Harness, id: &str) {
    let admin = login(&h.app, "admin", "console").await;
    let assign = call(
        &h.app,
        "POST",
        "/api/v1/operations",
        &admin,
        Some(json!({"kind": "assign", "entity": "account", "id": id,
                    "owner": {"entity": "systemuser", "id": user_id(h, "admin")}})),
    )
    .await;
    assert_eq!(assign.status, StatusCode::OK, "{}", assign.body);
}

/// Syncs `device` until nothing more comes; what its pages removed (`entity:id`).
async fn removed_by_sync(h: &crate::Harness, device: &mut Device) -> Vec<String> {
    let pages = device.sync(&h.app, 1000).await;
    pages.iter().flat_map(|p| ids(p, "removed")).collect()
}

async fn initial_pull_sends_exactly_the_scope_then_nothing(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    let pages = device.sync(&h.app, 25).await;
    assert!(
        pages.len() > 2,
        "a page holds at most 25 records: {} pages",
        pages.len()
    );
    let remaining: Vec<u64> = pages
        .iter()
        .map(|p| p["remaining"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        remaining[0] > 0 && remaining.last() == Some(&0),
        "progress counts down: {remaining:?}"
    );
    assert!(remaining.windows(2).all(|w| w[0] >= w[1]), "{remaining:?}");
    assert!(
        pages
            .iter()
            .all(|p| p["profile_version"] == 1 && p["wipe"] == false)
    );
    assert_holds_scope(&h, "fiona", &device, "after the initial sync").await;
    let reasons: std::collections::BTreeSet<&str> =
        device.held.values().map(|(_, r, _)| r.as_str()).collect();
    assert!(
        reasons.contains("profile") && reasons.iter().any(|r| r.starts_with("related:")),
        "{reasons:?}"
    );
    // Nothing changed: the next pull is empty and keeps the checkpoint.
    let checkpoint = device.checkpoint;
    let page = device.pull_page(&h.app, 25).await;
    assert_eq!(
        (ids(&page, "records").len(), ids(&page, "removed").len()),
        (0, 0),
        "{page}"
    );
    assert_eq!(device.checkpoint, checkpoint);
    // Pages travel compressed when the device asks for it.
    let req = axum::http::Request::get(format!(
        "/api/v1/sync/pull?checkpoint={checkpoint}&limit=25"
    ))
    .header(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {}", device.token),
    )
    .header(axum::http::header::ACCEPT_ENCODING, "gzip")
    .body(axum::body::Body::empty())
    .expect("request");
    let zipped = crate::send(&h.app, req).await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(
        zipped
            .headers
            .get(axum::http::header::CONTENT_ENCODING)
            .map(axum::http::HeaderValue::as_bytes),
        Some(&b"gzip"[..])
    );
}

async fn the_servers_page_cap_bounds_pages_whatever_the_device_asks(backend: Backend) {
    let h = harness(backend).await;
    let capped =
        outpost_server::app(outpost_server::AppState::new(h.db.clone()).with_pull_page(10));
    let mut device = Device::new(&capped, "fiona", "tablet").await;
    let pages = device.sync(&capped, 1_000).await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| ids(p, "records").len() + ids(p, "removed").len())
        .collect();
    assert!(
        sizes.len() > 2 && sizes.iter().all(|&n| n <= 10),
        "asked for 1000, the server sends at most 10 a page: {sizes:?}"
    );
    assert!(
        pages.iter().rev().skip(1).all(|p| p["has_more"] == true),
        "every page but the last says more follows"
    );
    assert_holds_scope(&h, "fiona", &device, "after a sync in pages of 10").await;
    // The device's own limit is still checked before the cap.
    let refused = call(
        &capped,
        "GET",
        "/api/v1/sync/pull?checkpoint=0&limit=5001",
        &device.token,
        None,
    )
    .await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a limit over 5000",
    );
}

async fn delta_pull_sends_changes_and_removals_only(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 500).await;
    let admin = login(&h.app, "admin", "console").await;
    let accounts = owned(&h, "account", "fiona").await;
    assert!(
        accounts.len() >= 3,
        "fiona owns some accounts: {accounts:?}"
    );

    // An edit on the server: exactly that record comes down.
    let edit = call(
        &h.app,
        "PATCH",
        &format!("/api/v1/records/account/{}", accounts[0]),
        &admin,
        Some(json!({"changes": {"telephone1": "+1 555 0100"}})),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    let pages = device.sync(&h.app, 500).await;
    let sent: Vec<String> = pages.iter().flat_map(|p| ids(p, "records")).collect();
    assert_eq!(
        sent,
        vec![format!("account:{}", accounts[0])],
        "only the change travels"
    );
    assert!(pages.iter().all(|p| ids(p, "removed").is_empty()));
    let held = &device.held[&("account".to_owned(), accounts[0].clone())];
    assert_eq!(held.2["telephone1"].as_deref(), Some("+1 555 0100"));
    assert_holds_scope(&h, "fiona", &device, "after an edit").await;

    // Reassigned to someone fiona cannot see: it leaves, with what only it brought.
    let admin_id = user_id(&h, "admin");
    let assign = call(
        &h.app,
        "POST",
        "/api/v1/operations",
        &admin,
        Some(
            json!({"kind": "assign", "entity": "account", "id": accounts[1],
                    "owner": {"entity": "systemuser", "id": admin_id}}),
        ),
    )
    .await;
    assert_eq!(assign.status, StatusCode::OK, "{}", assign.body);
    let pages = device.sync(&h.app, 500).await;
    let removed: Vec<String> = pages.iter().flat_map(|p| ids(p, "removed")).collect();
    assert!(
        removed.contains(&format!("account:{}", accounts[1])),
        "{removed:?}"
    );
    assert_holds_scope(&h, "fiona", &device, "after a reassignment").await;

    // Deleted on the server: removed.
    let gone = call(
        &h.app,
        "DELETE",
        &format!("/api/v1/records/account/{}", accounts[2]),
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let pages = device.sync(&h.app, 500).await;
    let removed: Vec<String> = pages.iter().flat_map(|p| ids(p, "removed")).collect();
    assert!(
        removed.contains(&format!("account:{}", accounts[2])),
        "{removed:?}"
    );
    assert_holds_scope(&h, "fiona", &device, "after a delete").await;

    // Created for fiona on the server: it arrives.
    let fiona_id = user_id(&h, "fiona");
    let created = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &admin,
        Some(json!({"fields": {"name": "Northwind Outpost", "ownerid": format!("systemuser:{fiona_id}")}})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let pages = device.sync(&h.app, 500).await;
    let sent: Vec<String> = pages.iter().flat_map(|p| ids(p, "records")).collect();
    assert_eq!(sent, vec![format!("account:{}", str(&created.body["id"]))]);
    assert_holds_scope(&h, "fiona", &device, "after a create").await;
}

async fn a_lost_page_is_sent_again_and_an_unknown_checkpoint_resets(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.pull_page(&h.app, 10).await;
    let acked = device.checkpoint;
    let page2 = device.pull_page(&h.app, 10).await;
    // The answer was lost: the device asks again with the checkpoint it had.
    device.checkpoint = acked;
    for key in ["records", "removed"] {
        for id in ids(&page2, key) {
            let (entity, id) = id.split_once(':').expect("entity:id");
            device.held.remove(&(entity.to_owned(), id.to_owned()));
        }
    }
    let again = device.pull_page(&h.app, 10).await;
    assert_eq!(
        ids(&again, "records"),
        ids(&page2, "records"),
        "the same page, again"
    );
    device.sync(&h.app, 10).await;
    assert_holds_scope(&h, "fiona", &device, "after a lost page").await;

    // A checkpoint the server never issued: the device is told to start over.
    device.checkpoint = 987_654;
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(page["reset"], true, "{page}");
    device.sync(&h.app, 1000).await;
    assert_holds_scope(&h, "fiona", &device, "after a reset").await;

    // Checkpoint 0 is a device that holds nothing (reinstalled): everything again.
    let mut fresh = Device::new(&h.app, "fiona", "tablet").await;
    fresh.sync(&h.app, 1000).await;
    assert_eq!(fresh.held.len(), device.held.len());
    assert_holds_scope(&h, "fiona", &fresh, "after starting from 0").await;
}

async fn follows_bring_records_and_unfollow_takes_them_away(backend: Backend) {
    let h = harness(backend).await;
    let fiona = h.org.user("fiona").expect("fiona").clone();
    let manager = h
        .org
        .users
        .iter()
        .find(|u| Some(&u.id) == fiona.manager.as_ref())
        .expect("fiona has a manager")
        .username
        .clone();
    let mut device = Device::new(&h.app, &manager, "manager-tablet").await;
    device.sync(&h.app, 1000).await;
    let candidate = owned(&h, "account", "fiona")
        .await
        .into_iter()
        .find(|id| {
            !device
                .held
                .contains_key(&("account".to_owned(), id.clone()))
        })
        .expect("an account of fiona's the manager does not hold");
    let op = |kind: &str, op_id: &str| {
        json!({"op_id": op_id, "base_version": null,
               "op": {"kind": kind, "entity": "account", "id": candidate}})
    };
    let out = push(&h, &device.token, vec![op("follow", "f1")]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    device.sync(&h.app, 1000).await;
    let held = device.held.get(&("account".to_owned(), candidate.clone()));
    assert_eq!(
        held.map(|h| h.1.as_str()),
        Some("follow"),
        "following brings it offline"
    );
    assert_holds_scope(&h, &manager, &device, "after a follow").await;
    let out = push(&h, &device.token, vec![op("unfollow", "f2")]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    device.sync(&h.app, 1000).await;
    assert!(
        !device
            .held
            .contains_key(&("account".to_owned(), candidate.clone())),
        "unfollowing takes it away"
    );
    assert_holds_scope(&h, &manager, &device, "after an unfollow").await;
    // A followed record is a relationship rule's source too: an opportunity brings its
    // customer account along.
    let opportunity = owned(&h, "opportunity", "fiona")
        .await
        .into_iter()
        .find(|id| {
            !device
                .held
                .contains_key(&("opportunity".to_owned(), id.clone()))
        })
        .expect("an opportunity of fiona's the manager does not hold");
    let follow = json!({"op_id": "f4", "base_version": null,
                        "op": {"kind": "follow", "entity": "opportunity", "id": opportunity}});
    let out = push(&h, &device.token, vec![follow]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    device.sync(&h.app, 1000).await;
    assert!(
        device
            .held
            .contains_key(&("opportunity".to_owned(), opportunity))
    );
    assert_holds_scope(&h, &manager, &device, "after following an opportunity").await;
    // Following what you may not read is "not found", and brings nothing.
    let theirs = crate::oracle::readable_ids(&h, "fiona", "account", false).await;
    {
        let hidden = theirs.first().expect("an account fiona may not read");
        let follow = json!({"op_id": "f3", "base_version": null,
                            "op": {"kind": "follow", "entity": "account", "id": hidden}});
        let fiona_device = login(&h.app, "fiona", "fiona-tablet").await;
        let out = push(&h, &fiona_device, vec![follow]).await;
        assert_eq!(out[0]["code"], "not_found", "{out:?}");
    }
}

async fn entity_filters_and_provisioning_bound_every_device(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let admin = login(&h.app, "admin", "console").await;
    let bad = put_offline_entity(
        &h,
        &admin,
        "account",
        json!({"enabled": true, "filter": "name eq"}),
    )
    .await;
    assert_refused(
        &bad,
        StatusCode::BAD_REQUEST,
        "bad_filter",
        "a broken filter",
    );
    let narrow = put_offline_entity(
        &h,
        &admin,
        "account",
        json!({"enabled": true, "filter": "name eq 'Nothing Is Called This'"}),
    )
    .await;
    assert_eq!(narrow.status, StatusCode::OK, "{}", narrow.body);
    device.sync(&h.app, 1000).await;
    assert!(
        !device.held.keys().any(|(e, _)| e == "account"),
        "no account passes the org filter"
    );
    assert_holds_scope(&h, "fiona", &device, "after narrowing the account filter").await;

    put_setting(&h, &admin, "provisioned", json!(false)).await;
    let page = device.pull_page(&h.app, 100).await;
    assert_eq!(
        page["wipe"], true,
        "deprovisioning wipes every device at its next contact"
    );
    put_setting(&h, &admin, "provisioned", json!(true)).await;
    let mut again = Device::new(&h.app, "fiona", "tablet").await;
    again.sync(&h.app, 1000).await;
    assert!(!again.held.is_empty());
    assert_holds_scope(&h, "fiona", &again, "after provisioning again").await;
}

async fn records_age_out_of_a_date_window(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let activities = |device: &Device| {
        device
            .held
            .keys()
            .filter(|(e, _)| ["task", "phonecall", "appointment"].contains(&e.as_str()))
            .count()
    };
    assert!(activities(&device) > 0, "fiona holds recent activities");
    let accounts = device.held.keys().filter(|(e, _)| e == "account").count();
    // A year and a half later, with nothing changed: the org filter on activities
    // (modified in the last 365 days) lets none through any more.
    let later = outpost_server::now() + time::Duration::days(550);
    let caller = outpost_server::auth::Caller {
        user_id: user_id(&h, "fiona"),
        device_id: "tablet".to_owned(),
        is_admin: false,
    };
    let org = std::sync::Arc::new(h.db.tx(outpost_server::org::Org::load).await.expect("org"));
    'pull: {
        for _ in 0..100 {
            let request = outpost_protocol::PullRequest {
                checkpoint: device.checkpoint,
                limit: 1000,
                resend: String::new(),
                ahead: None,
            };
            let (org, caller) = (org.clone(), caller.clone());
            let page =
                h.db.tx(move |c| outpost_server::pull::pull(c, &org, &caller, request, later))
                    .await
                    .expect("pull");
            let more = page.has_more;
            device.apply(serde_json::to_value(page).expect("json"));
            if !more {
                break 'pull;
            }
        }
        panic!("the pull never ended");
    }
    assert_eq!(
        activities(&device),
        0,
        "every activity aged out and was removed"
    );
    assert_eq!(
        device.held.keys().filter(|(e, _)| e == "account").count(),
        accounts,
        "what has no date window stays"
    );
}

/// The accounts `device` holds: id → revenue.
fn held_revenue(device: &Device) -> std::collections::BTreeMap<String, Option<String>> {
    device
        .held
        .iter()
        .filter(|((e, _), _)| e == "account")
        .map(|((_, id), (_, _, fields))| (id.clone(), fields.get("revenue").cloned().flatten()))
        .collect()
}

/// The account ids a sync's pages sent.
fn accounts_sent(pages: &[Value]) -> std::collections::BTreeSet<String> {
    pages
        .iter()
        .flat_map(|p| ids(p, "records"))
        .filter_map(|id| id.strip_prefix("account:").map(str::to_owned))
        .collect()
}

async fn field_security_changes_reach_every_record_a_device_holds(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let before = held_revenue(&device);
    assert!(
        before.values().filter(|r| r.is_some()).count() > 1,
        "fiona holds accounts with their revenue: {before:?}"
    );

    // The administrator secures account.revenue (no field profile grants it to fiona).
    let admin = login(&h.app, "admin", "console").await;
    let mut metadata = call(&h.app, "GET", "/api/v1/metadata", &admin, None)
        .await
        .body["metadata"]
        .clone();
    let account = metadata["entities"]
        .as_array_mut()
        .and_then(|e| e.iter_mut().find(|e| e["name"] == "account"))
        .expect("account");
    let revenue = account["attributes"]
        .as_array_mut()
        .and_then(|a| a.iter_mut().find(|a| a["name"] == "revenue"))
        .expect("account.revenue");
    revenue["secured"] = json!(true);
    let put = call(
        &h.app,
        "PUT",
        "/api/v1/admin/metadata",
        &admin,
        Some(metadata),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "securing revenue: {}", put.body);

    let pages = device.sync(&h.app, 1000).await;
    let held: std::collections::BTreeSet<String> = before.keys().cloned().collect();
    assert_eq!(
        accounts_sent(&pages),
        held,
        "every account the device holds is sent again ({} of them), not only changed ones",
        held.len()
    );
    let after = held_revenue(&device);
    assert!(
        after.values().all(Option::is_none),
        "no account on the device keeps its revenue once it is secured: {after:?}"
    );
    assert_holds_scope(&h, "fiona", &device, "after securing revenue").await;
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(
        (ids(&page, "records").len(), ids(&page, "removed").len()),
        (0, 0),
        "with nothing changed since, the next pull sends nothing: {page}"
    );

    // A field security profile that lets fiona read revenue: every held account comes
    // back with it.
    let fiona_id = user_id(&h, "fiona");
    h.db.write(move |c| {
        use outpost_domain::security::{FieldPermission, FieldSecurityProfile, OrgSecurity};
        use outpost_server::org::{bump_config, key, setting, setting_set};
        let text = setting(c, key::SECURITY)?.expect("security facts");
        let mut security: OrgSecurity = serde_json::from_str(&text)?;
        let readers = FieldSecurityProfile::default().allow(
            "account",
            "revenue",
            FieldPermission {
                read: true,
                create: false,
                update: false,
            },
        );
        security
            .field_profiles
            .insert("revenue-readers".to_owned(), readers);
        security
            .users
            .get_mut(&fiona_id)
            .expect("fiona's security facts")
            .field_profiles
            .insert("revenue-readers".to_owned());
        setting_set(c, key::SECURITY, &serde_json::to_string(&security)?)?;
        bump_config(c)
    })
    .await
    .expect("fiona joins a field profile");
    let pages = device.sync(&h.app, 1000).await;
    assert_eq!(
        accounts_sent(&pages),
        held,
        "a field newly readable is sent for every account the device holds"
    );
    assert_eq!(
        held_revenue(&device),
        before,
        "every held account has its revenue back"
    );
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(
        (ids(&page, "records").len(), ids(&page, "removed").len()),
        (0, 0),
        "and then nothing again: {page}"
    );
}

/// A device holds what it created as soon as the server applies it: when the record leaves
/// the device's scope before the device pulls it back (reassigned, here), the next pull
/// removes it — and so for a second device of the user that resends the same operation
/// (work moved between stores, ADR 0011). Without this the device kept its own copy,
/// never refreshed and never removed (found by the simulation, seed 330).
async fn a_record_a_device_created_and_that_left_its_scope_before_it_pulled_is_removed(
    backend: Backend,
) {
    let h = harness(backend).await;
    let mut tablet = Device::new(&h.app, "fiona", "tablet").await;
    tablet.sync(&h.app, 500).await;
    let mut laptop = Device::new(&h.app, "fiona", "laptop").await;
    laptop.sync(&h.app, 500).await;
    let id = "0190e000-0000-7000-8000-0000000c4ea7";
    let create = json!({"op_id": "c1", "base_version": null, "op": {"kind": "create",
        "entity": "account", "id": id, "fields": {"name": "Made Offline Ltd"}}});
    let out = push(&h, &tablet.token, vec![create.clone()]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    // The same operation again, from the user's other device: answered, not applied twice.
    let again = push(&h, &laptop.token, vec![create]).await;
    assert_eq!(again[0], out[0]);
    // Each device applied it locally, as a device does before it pushes.
    for device in [&mut tablet, &mut laptop] {
        made_here(device, "account", id);
    }
    account_to_admin(&h, id).await;
    for (name, device) in [("tablet", &mut tablet), ("laptop", &mut laptop)] {
        let pages = device.sync(&h.app, 500).await;
        let removed: Vec<String> = pages.iter().flat_map(|p| ids(p, "removed")).collect();
        assert!(
            removed.contains(&format!("account:{id}")),
            "{name}: {removed:?}"
        );
        assert_holds_scope(&h, "fiona", device, name).await;
    }
}

/// A device that forgot field values on its own (an access answer said the user may no
/// longer read them, and the grant came back before the device pulled again) names the
/// entities in `resend`: each record of them in scope comes again whole, though the
/// server's own record of what the user may read never changed (found by the simulation,
/// seed 356). Names not in the profile are passed over; an overlong list is refused.
async fn entities_a_device_asks_again_for_are_sent_whole(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let held: std::collections::BTreeSet<String> = held_revenue(&device).keys().cloned().collect();
    assert!(held.len() > 1, "fiona holds accounts: {held:?}");

    let ask = |checkpoint: u64, resend: &str| {
        format!("/api/v1/sync/pull?checkpoint={checkpoint}&limit=1000&resend={resend}")
    };
    let page = call(
        &h.app,
        "GET",
        &ask(device.checkpoint, "account,nosuchentity"),
        &device.token,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = device.apply(page.body);
    let mut pages = vec![page];
    pages.extend(device.sync(&h.app, 1000).await);
    assert_eq!(
        accounts_sent(&pages),
        held,
        "every held account comes again"
    );
    assert_holds_scope(&h, "fiona", &device, "after asking again").await;
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(
        ids(&page, "records").len(),
        0,
        "asked once, sent once: {page}"
    );

    let overlong = "account,".repeat(1000);
    let refused = call(
        &h.app,
        "GET",
        &ask(device.checkpoint, &overlong),
        &device.token,
        None,
    )
    .await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid",
        "an overlong resend",
    );
}

/// A device that never pulled yet (checkpoint 0: a new store, or one a wipe emptied whose
/// sealed work was put back) pushes a record it made offline that its scope does not
/// take (given away here before the pull): its first pull must remove it. The first pull
/// forgot everything the server knew the device held, what it had just pushed too, and
/// sends no reset, so the device kept its own copy forever (found by the simulation,
/// seed 15 of `sim-coverage`).
async fn a_record_a_device_created_before_its_first_pull_and_out_of_scope_is_removed(
    backend: Backend,
) {
    let h = harness(backend).await;
    let mut tablet = Device::new(&h.app, "fiona", "tablet").await;
    let id = "0190e000-0000-7000-8000-0000000c4ea8";
    let create = json!({"op_id": "c1", "base_version": null, "op": {"kind": "create",
        "entity": "account", "id": id, "fields": {"name": "Made Before Pulling Ltd"}}});
    let out = push(&h, &tablet.token, vec![create]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    made_here(&mut tablet, "account", id);
    account_to_admin(&h, id).await;
    assert_eq!(tablet.checkpoint, 0, "the tablet never pulled");
    let pages = tablet.sync(&h.app, 500).await;
    let removed: Vec<String> = pages.iter().flat_map(|p| ids(p, "removed")).collect();
    assert!(removed.contains(&format!("account:{id}")), "{removed:?}");
    assert_holds_scope(&h, "fiona", &tablet, "after the first pull").await;
}

/// A command the device ran offline made a record of an entity its profile does not take
/// (an opportunity close, under a profile without that entity or a rule that reaches it):
/// once the server applied it, the next delta pull removes it. A delta only walks the
/// profile's entities and what their rules reach, so before `Pager::pushed_recheck` the
/// device kept its copy until some sweep.
async fn a_record_a_command_made_of_an_entity_the_device_does_not_take_leaves_it(backend: Backend) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let mine = json!({"kind": "other", "mine": true});
    let item = |entity: &str, data: &Value| json!({"entity": entity, "data": data, "relationships": [], "sync_interval_minutes": 15});
    let all = json!({"kind": "all"});
    let profile = json!({"name": "No closes", "items": [
        item("opportunity", &mine), item("systemuser", &all), item("team", &all),
        item("businessunit", &all),
    ]});
    let created = call(
        &h.app,
        "POST",
        "/api/v1/admin/profiles",
        &admin,
        Some(profile),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let profile_id = str(&created.body["id"]);
    let path = |tail: &str| format!("/api/v1/admin/profiles/{profile_id}/{tail}");
    let fiona_id = user_id(&h, "fiona");
    let assigned = call(
        &h.app,
        "PUT",
        &path("assignments"),
        &admin,
        Some(json!({"users": [fiona_id]})),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let published = call(&h.app, "POST", &path("publish"), &admin, Some(json!({}))).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);

    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let opportunity = device
        .held
        .keys()
        .find(|(e, _)| e == "opportunity")
        .map(|(_, id)| id.clone())
        .expect("fiona holds an opportunity of her own");
    let close_id = "0190e000-0000-7000-8000-0000000c4ec1";
    let won = json!({"op_id": "w1", "base_version": null, "op": {
        "kind": "opportunity_close_won", "id": opportunity, "close_id": close_id}});
    let out = push(&h, &device.token, vec![won]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    // The device made the close record itself when the user ran the command.
    made_here(&mut device, "opportunityclose", close_id);
    let removed = removed_by_sync(&h, &mut device).await;
    assert!(
        removed.contains(&format!("opportunityclose:{close_id}")),
        "{removed:?}"
    );
    assert_holds_scope(&h, "fiona", &device, "after the command").await;
    let page = device.pull_page(&h.app, 1000).await;
    assert_eq!(ids(&page, "removed").len(), 0, "removed once: {page}");
}

/// Replaces fiona's security roles with `roles` (config changes: devices sweep); the
/// roles she had.
async fn fiona_roles(
    h: &crate::Harness,
    roles: std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    let fiona_id = user_id(h, "fiona");
    h.db.write(move |c| {
        use outpost_domain::security::OrgSecurity;
        use outpost_server::org::{bump_config, key, setting, setting_set};
        let text = setting(c, key::SECURITY)?.expect("security facts");
        let mut security: OrgSecurity = serde_json::from_str(&text)?;
        let user = security
            .users
            .get_mut(&fiona_id)
            .expect("fiona's security facts");
        let had = std::mem::replace(&mut user.roles, roles);
        setting_set(c, key::SECURITY, &serde_json::to_string(&security)?)?;
        bump_config(c)?;
        Ok(had)
    })
    .await
    .expect("fiona's roles change")
}

/// A create the server refused (fiona had no role then) that her resolution applied
/// later: the device made the record when she did, so the server holds it as the device's
/// from then on, as for a create it applied at once — and removes it when it is out of
/// scope before the device pulled it back (given away, here).
async fn a_record_a_device_made_that_a_resolution_applied_leaves_when_out_of_scope(
    backend: Backend,
) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    device.sync(&h.app, 1000).await;
    let roles = fiona_roles(&h, std::collections::BTreeSet::new()).await;
    let id = "0190e000-0000-7000-8000-0000000c4ec2";
    let create = json!({"op_id": "c1", "base_version": null, "op": {"kind": "create",
        "entity": "account", "id": id, "fields": {"name": "Made Without A Role"}}});
    let out = push(&h, &device.token, vec![create]).await;
    assert_eq!(out[0]["status"], "error", "{out:?}");
    made_here(&mut device, "account", id);
    fiona_roles(&h, roles).await;
    let applied = call(
        &h.app,
        "POST",
        "/api/v1/sync/ops/c1/resolve",
        &device.token,
        Some(json!({"action": "apply"})),
    )
    .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    account_to_admin(&h, id).await;
    let removed = removed_by_sync(&h, &mut device).await;
    assert!(removed.contains(&format!("account:{id}")), "{removed:?}");
    assert_holds_scope(&h, "fiona", &device, "after the resolution").await;
}

/// A pull with the stored `checkpoint` and, maybe, a page received and not yet stored
/// (`ahead`): the raw answer, not applied.
async fn pull_ahead(app: &axum::Router, device: &Device, ahead: Option<u64>, limit: u32) -> Value {
    let ahead = ahead.map(|a| format!("&ahead={a}")).unwrap_or_default();
    let uri = format!(
        "/api/v1/sync/pull?checkpoint={}&limit={limit}{ahead}",
        device.checkpoint
    );
    let answer = call(app, "GET", &uri, &device.token, None).await;
    assert_eq!(answer.status, StatusCode::OK, "pull: {}", answer.body);
    answer.body
}

fn checkpoint_of(page: &Value) -> u64 {
    page["checkpoint"].as_u64().expect("checkpoint")
}

async fn pages_asked_ahead_wait_until_stored_and_a_device_that_dies_loses_nothing(
    backend: Backend,
) {
    let h = harness(backend).await;
    // A device that asks for each page while it stores the one before (ADR 0016).
    let mut device = Device::new(&h.app, "fiona", "tablet").await;
    let mut waiting = pull_ahead(&h.app, &device, None, 10).await;
    let mut asked_ahead = 0;
    for _ in 0..1_000 {
        let next = if waiting["has_more"] == true {
            Some(pull_ahead(&h.app, &device, Some(checkpoint_of(&waiting)), 10).await)
        } else {
            None
        };
        device.apply(waiting);
        let Some(next) = next else { break };
        assert_ne!(
            next["ahead_refused"], true,
            "a sweep's page is sent ahead: {next}"
        );
        asked_ahead += 1;
        waiting = next;
    }
    assert!(asked_ahead > 2, "the sweep took several pages asked ahead");
    assert_holds_scope(&h, "fiona", &device, "after a sweep asked ahead").await;
    // The last page ended the sweep: a page after it is a delta's, never computed ahead;
    // the device asks again once it stored the page, and holds what it must.
    let stored = device.checkpoint;
    let refused = pull_ahead(&h.app, &device, Some(stored), 10).await;
    assert_eq!(refused["ahead_refused"], true, "{refused}");
    assert!(ids(&refused, "records").is_empty() && ids(&refused, "removed").is_empty());
    let nothing = device.pull_page(&h.app, 10).await;
    assert!(ids(&nothing, "records").is_empty(), "{nothing}");

    // Another device dies while it stores a page it asked past: it stored neither, so it
    // asks again from the page before, and gets the same page again, then all of it.
    let mut other = Device::new(&h.app, "fiona", "phone").await;
    other.pull_page(&h.app, 10).await;
    let stored = other.checkpoint;
    let page = pull_ahead(&h.app, &other, None, 10).await;
    let ahead = pull_ahead(&h.app, &other, Some(checkpoint_of(&page)), 10).await;
    assert_ne!(ahead["ahead_refused"], true, "{ahead}");
    assert_eq!(other.checkpoint, stored);
    let again = other.pull_page(&h.app, 10).await;
    assert_eq!(
        ids(&again, "records"),
        ids(&page, "records"),
        "the unstored page again"
    );
    // It receives the next page, asks past it, stores it and dies before it stores the
    // one after: the page it stored is held, the one after is computed again, the same.
    let page = pull_ahead(&h.app, &other, None, 10).await;
    let ahead = pull_ahead(&h.app, &other, Some(checkpoint_of(&page)), 10).await;
    assert_ne!(ahead["ahead_refused"], true, "{ahead}");
    other.apply(page);
    let next = other.pull_page(&h.app, 10).await;
    assert_eq!(
        ids(&next, "records"),
        ids(&ahead, "records"),
        "the page it did not store, again"
    );
    other.sync(&h.app, 10).await;
    assert_holds_scope(&h, "fiona", &other, "after dying between pages asked ahead").await;
    assert_eq!(other.held.len(), device.held.len());
}
