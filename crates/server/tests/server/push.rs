//! Push: each operation once per (user, op id), field-level conflicts (B1) with the org
//! switch, refusals that change nothing and become sync errors (S14) with both ways to
//! resolve them, and commands with their server semantics (S13).

use axum::http::StatusCode;
use outpost_server::db::{int, text};
use serde_json::{Value, json};

use crate::oracle::all_records;
use crate::pull::owned;
use crate::{
    Answer, Backend, Device, assert_refused, call, find_by, harness, login, push, put_setting, str,
    user_id,
};

crate::contract!(
    secured_values_never_come_back_in_a_conflict,
    a_resent_push_is_applied_once_whichever_of_the_users_devices_sends_it,
    conflicts_are_per_field_and_detection_can_be_off,
    refused_ops_change_nothing_and_become_sync_errors,
    commands_run_with_server_semantics,
    every_id_an_operation_carries_is_bounded,
);

fn update(op_id: &str, id: &str, field: &str, before: Option<&str>, after: &str) -> Value {
    json!({"op_id": op_id, "base_version": null, "op": {"kind": "update", "entity": "account",
           "id": id, "changes": {field: after}, "before": {field: before}}})
}

async fn resolve(h: &crate::Harness, token: &str, id: &str, action: &str) -> Answer {
    call(
        &h.app,
        "POST",
        &format!("/api/v1/sync/errors/{id}/resolve"),
        token,
        Some(json!({"action": action})),
    )
    .await
}

async fn field(h: &crate::Harness, entity: &str, id: &str, name: &str) -> Option<String> {
    all_records(h).await[entity][id]
        .get(name)
        .cloned()
        .flatten()
}

async fn count(h: &crate::Harness, sql: &'static str) -> i64 {
    h.db.tx(move |c| int(&c.query_value(sql, &[])?))
        .await
        .expect("count")
}

async fn a_resent_push_is_applied_once_whichever_of_the_users_devices_sends_it(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let id = owned(&h, "account", "fiona").await[0].clone();
    let name = field(&h, "account", &id, "name").await;
    let batch = vec![update("op-1", &id, "name", name.as_deref(), "Renamed once")];
    let first = push(&h, &fiona, batch.clone()).await;
    assert_eq!(first[0]["status"], "applied", "{first:?}");
    let version = first[0]["row_version"].clone();
    let resent = push(&h, &fiona, batch).await;
    assert_eq!(resent, first, "a resent op answers its stored outcome");
    assert_eq!(
        count(&h, "SELECT count(*) FROM applied_op").await,
        1,
        "applied once"
    );
    let row_version =
        h.db.tx({
            let id = id.clone();
            move |c| {
                int(&c.query_value("SELECT _version FROM e_account WHERE id = $1", &[text(&id)])?)
            }
        })
        .await
        .expect("version");
    assert_eq!(json!(row_version), version, "the resend wrote nothing");
    // The same op from another of fiona's devices (her work moved there from a store
    // whose key came back) is the same op: answered, never applied again.
    let other = login(&h.app, "fiona", "d2").await;
    let moved = push(
        &h,
        &other,
        vec![update("op-1", &id, "name", name.as_deref(), "Renamed once")],
    )
    .await;
    assert_eq!(
        moved, first,
        "another device of the same user gets the stored outcome"
    );
    assert_eq!(count(&h, "SELECT count(*) FROM applied_op").await, 1);
    // The same op id from another user (who even picked the same device id) is theirs.
    let admin = login(&h.app, "admin", "d1").await;
    let phone = field(&h, "account", &id, "telephone1").await;
    let admins = push(
        &h,
        &admin,
        vec![update(
            "op-1",
            &id,
            "telephone1",
            phone.as_deref(),
            "+1 555 0200",
        )],
    )
    .await;
    assert_eq!(admins[0]["status"], "applied", "{admins:?}");
    assert_eq!(count(&h, "SELECT count(*) FROM applied_op").await, 2);
    assert_eq!(
        field(&h, "account", &id, "name").await.as_deref(),
        Some("Renamed once")
    );
}

async fn conflicts_are_per_field_and_detection_can_be_off(backend: Backend) {
    let h = harness(backend).await;
    let id = owned(&h, "account", "fiona").await[0].clone();
    let name = field(&h, "account", &id, "name").await;
    let phone = field(&h, "account", &id, "telephone1").await;
    let d1 = login(&h.app, "fiona", "d1").await;
    let d2 = login(&h.app, "fiona", "d2").await;
    assert_eq!(
        push(
            &h,
            &d1,
            vec![update("a", &id, "name", name.as_deref(), "From d1")]
        )
        .await[0]["status"],
        "applied"
    );
    // Another field, edited from the same before-image: merges.
    let merged = push(
        &h,
        &d2,
        vec![update(
            "b",
            &id,
            "telephone1",
            phone.as_deref(),
            "+44 20 0000",
        )],
    )
    .await;
    assert_eq!(merged[0]["status"], "applied", "{merged:?}");
    // The same field: a conflict naming it, with the server's value; nothing written.
    let conflict = push(
        &h,
        &d2,
        vec![update("c", &id, "name", name.as_deref(), "From d2")],
    )
    .await;
    assert_eq!(conflict[0]["status"], "conflict", "{conflict:?}");
    assert_eq!(conflict[0]["fields"][0]["field"], "name");
    assert_eq!(conflict[0]["fields"][0]["server"], "From d1");
    assert_eq!(conflict[0]["fields"][0]["mine"], "From d2");
    assert_eq!(
        field(&h, "account", &id, "name").await.as_deref(),
        Some("From d1")
    );
    assert_eq!(
        field(&h, "account", &id, "telephone1").await.as_deref(),
        Some("+44 20 0000")
    );
    let errors = call(&h.app, "GET", "/api/v1/sync/errors", &d2, None)
        .await
        .body;
    assert_eq!(errors[0]["code"], "conflict");
    assert_eq!(errors[0]["op_id"], "c");
    assert_eq!(errors[0]["conflicts"][0]["server"], "From d1", "{errors}");
    // The org turns detection off: the device wins.
    let admin = login(&h.app, "admin", "console").await;
    put_setting(&h, &admin, "conflict_detection", json!(false)).await;
    let wins = push(
        &h,
        &d2,
        vec![update("d", &id, "name", name.as_deref(), "From d2")],
    )
    .await;
    assert_eq!(wins[0]["status"], "applied", "{wins:?}");
    assert_eq!(
        field(&h, "account", &id, "name").await.as_deref(),
        Some("From d2")
    );
}

async fn refused_ops_change_nothing_and_become_sync_errors(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "d1").await;
    device.sync(&h.app, 1000).await;
    let mine = owned(&h, "account", "fiona").await;
    let hidden = crate::oracle::readable_ids(&h, "fiona", "account", false).await;
    let hidden = hidden
        .first()
        .expect("an account fiona may not read")
        .clone();
    let before = all_records(&h).await;
    let ops = vec![
        update("e1", &hidden, "name", None, "Mine now"),
        update("e2", &mine[0], "creditlimit", None, "1000000"),
        update("e3", &mine[0], "name", None, ""),
        json!({"op_id": "e4", "base_version": null, "op": {"kind": "create", "entity": "contact",
               "id": "0190e000-0000-7000-8000-00000000c0de",
               "fields": {"lastname": "Nobody", "parentcustomerid": format!("account:{hidden}")}}}),
        json!({"op_id": "e5", "base_version": null, "op": {"kind": "delete", "entity": "account",
               "id": "0190e000-0000-7000-8000-000000000404", "before": {}}}),
    ];
    let out = push(&h, &device.token, ops).await;
    let codes: Vec<String> = out.iter().map(|o| str(&o["code"])).collect();
    assert_eq!(
        codes,
        ["not_found", "forbidden", "invalid", "invalid", "not_found"],
        "{out:?}"
    );
    assert_eq!(out[1]["fields"][0]["field"], "creditlimit");
    assert_eq!(out[2]["fields"][0]["field"], "name");
    assert_eq!(out[2]["fields"][0]["code"], "required");
    assert_eq!(out[3]["fields"][0]["code"], "lookup_target");
    assert_eq!(
        all_records(&h).await,
        before,
        "nothing changed, nothing leaked"
    );
    let errors = call(&h.app, "GET", "/api/v1/sync/errors", &device.token, None)
        .await
        .body;
    assert_eq!(errors.as_array().map(Vec::len), Some(5), "{errors}");
    let by_op = |op: &str| str(&find_by(&errors, "op_id", op)["id"]);
    // Someone else may not resolve fiona's errors; an administrator may.
    let other = h
        .org
        .users
        .iter()
        .find(|u| u.username != "fiona" && u.username != "admin")
        .expect("a user");
    let stranger = login(&h.app, &other.username, "d9").await;
    let denied = resolve(&h, &stranger, &by_op("e5"), "discard").await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    let discarded = resolve(&h, &device.token, &by_op("e5"), "discard").await;
    assert_eq!(discarded.body["state"], "discarded", "{}", discarded.body);
    // Applying again what still cannot be applied keeps the error open.
    let retry = resolve(&h, &device.token, &by_op("e3"), "apply").await;
    assert_eq!(retry.status, StatusCode::BAD_REQUEST, "{}", retry.body);
    // A conflict resolved on the server by applying the offline change.
    let id = mine[0].clone();
    let name = field(&h, "account", &id, "name").await;
    let admin = login(&h.app, "admin", "console").await;
    call(
        &h.app,
        "PATCH",
        &format!("/api/v1/records/account/{id}"),
        &admin,
        Some(json!({"changes": {"name": "Admin's"}})),
    )
    .await;
    let c = push(
        &h,
        &device.token,
        vec![update("e6", &id, "name", name.as_deref(), "Fiona's")],
    )
    .await;
    assert_eq!(c[0]["status"], "conflict");
    let all = call(&h.app, "GET", "/api/v1/admin/sync-errors", &admin, None)
        .await
        .body;
    // Admins see every error.
    let e6 = find_by(&all, "op_id", "e6");
    let applied = resolve(&h, &admin, &str(&e6["id"]), "apply").await;
    assert_eq!(applied.body["state"], "applied", "{}", applied.body);
    assert_eq!(
        field(&h, "account", &id, "name").await.as_deref(),
        Some("Fiona's")
    );
    // The device learns of both resolutions at its next pull.
    let pages = device.sync(&h.app, 1000).await;
    let resolutions: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["resolutions"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        resolutions.contains(&json!({"op_id": "e5", "action": "discard"})),
        "{resolutions:?}"
    );
    assert!(
        resolutions.contains(&json!({"op_id": "e6", "action": "apply"})),
        "{resolutions:?}"
    );
    let again = device.pull_page(&h.app, 1000).await;
    assert_eq!(again["resolutions"], json!([]), "told once");
}

async fn commands_run_with_server_semantics(backend: Backend) {
    let h = harness(backend).await;
    let mut device = Device::new(&h.app, "fiona", "d1").await;
    device.sync(&h.app, 1000).await;
    let records = all_records(&h).await;
    let fiona = format!("systemuser:{}", user_id(&h, "fiona"));
    let accounts = crate::oracle::readable_ids(&h, "fiona", "account", true).await;
    let contacts = crate::oracle::readable_ids(&h, "fiona", "contact", true).await;
    let usable = |f: &outpost_domain::Fields| {
        let link = |name: &str, ids: &[String], entity: &str| {
            f.get(name).cloned().flatten().is_none_or(|v| {
                v.strip_prefix(&format!("{entity}:"))
                    .is_some_and(|id| ids.iter().any(|i| i == id))
            })
        };
        link("parentaccountid", &accounts, "account")
            && link("parentcontactid", &contacts, "contact")
    };
    // An open lead of fiona's that links to an account or contact she may not see.
    let (lead, lead_fields) = records["lead"]
        .iter()
        .find(|(_, f)| {
            f.get("ownerid").cloned().flatten().as_deref() == Some(fiona.as_str())
                && f.get("statecode").cloned().flatten().as_deref() == Some("0")
                && !usable(f)
        })
        .expect("an open lead of fiona's linked to a record she may not see");
    let lead = lead.clone();
    // Qualifying it would link new records to that account or contact: refused.
    let op = json!({"op_id": "q0", "base_version": null, "op": {"kind": "lead_qualify",
        "lead_id": lead, "opportunity_id": "0190e000-0000-7000-8000-00000000e900"}});
    let out = push(&h, &device.token, vec![op]).await;
    assert_eq!(out[0]["fields"][0]["code"], "lookup_target", "{out:?}");
    // Without those links, it qualifies.
    let before = |name: &str| lead_fields.get(name).cloned().flatten();
    let unlink = json!({"op_id": "q00", "base_version": null, "op": {"kind": "update", "entity": "lead",
        "id": lead, "changes": {"parentaccountid": null, "parentcontactid": null},
        "before": {"parentaccountid": before("parentaccountid"), "parentcontactid": before("parentcontactid")}}});
    assert_eq!(
        push(&h, &device.token, vec![unlink]).await[0]["status"],
        "applied"
    );
    let ids = [
        "0190e000-0000-7000-8000-0000000acc01",
        "0190e000-0000-7000-8000-0000000c0401",
        "0190e000-0000-7000-8000-00000000e901",
    ];
    let op = json!({"op_id": "q1", "base_version": null, "op": {"kind": "lead_qualify", "lead_id": lead,
        "account_id": ids[0], "contact_id": ids[1], "opportunity_id": ids[2]}});
    let out = push(&h, &device.token, vec![op]).await;
    assert_eq!(out[0]["status"], "applied", "{out:?}");
    let after = all_records(&h).await;
    assert!(
        after["account"].contains_key(ids[0])
            && after["contact"].contains_key(ids[1])
            && after["opportunity"].contains_key(ids[2]),
        "created with the device's ids"
    );
    assert_eq!(
        after["lead"][&lead]["statecode"].as_deref(),
        Some("1"),
        "the lead is qualified"
    );
    device.sync(&h.app, 1000).await;
    for (entity, id) in [
        ("account", ids[0]),
        ("contact", ids[1]),
        ("opportunity", ids[2]),
    ] {
        assert!(
            device
                .held
                .contains_key(&(entity.to_owned(), id.to_owned())),
            "{entity} {id} comes back to the device"
        );
    }
    crate::oracle::assert_holds_scope(&h, "fiona", &device, "after qualifying").await;
}

async fn secured_values_never_come_back_in_a_conflict(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let id = owned(&h, "account", "fiona").await[0].clone();
    // A before-image naming a field fiona may not read would make the conflict answer
    // carry the server's value: refused, with the field named.
    let probes = vec![
        json!({"op_id": "s1", "base_version": null, "op": {"kind": "delete", "entity": "account",
               "id": id, "before": {"creditlimit": "0"}}}),
        json!({"op_id": "s2", "base_version": null, "op": {"kind": "update", "entity": "account",
               "id": id, "changes": {"telephone1": "+1"}, "before": {"creditlimit": "0"}}}),
    ];
    for result in push(&h, &fiona, probes).await {
        assert_eq!(result["code"], "forbidden", "{result}");
        assert_eq!(result["fields"][0]["field"], "creditlimit");
        assert!(
            !result.to_string().contains("server"),
            "no server value: {result}"
        );
    }
    let errors = call(&h.app, "GET", "/api/v1/sync/errors", &fiona, None)
        .await
        .body;
    assert!(
        errors
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["conflicts"] == json!([]))),
        "{errors}"
    );
    assert!(
        all_records(&h).await["account"].contains_key(&id),
        "nothing was deleted"
    );
}

/// The field errors of a refusal: (field, code).
fn field_errors(body: &Value) -> Vec<(String, String)> {
    body["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| (str(&e["field"]), str(&e["code"])))
                .collect()
        })
        .unwrap_or_default()
}

async fn every_id_an_operation_carries_is_bounded(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let long = "x".repeat(10_000);
    let longest = "y".repeat(outpost_domain::value::MAX_ID_LEN);
    let account = owned(&h, "account", "fiona").await[0].clone();
    let lead = owned(&h, "lead", "fiona").await[0].clone();
    let too_long = |field: &str| vec![(field.to_owned(), "too_long".to_owned())];

    let create = |op_id: &str, id: &str| {
        json!({"op_id": op_id, "base_version": null, "op": {"kind": "create",
               "entity": "account", "id": id, "fields": {"name": "Long Id Ltd"}}})
    };
    let ops = vec![
        create("i1", &long),
        create("i2", &longest),
        update(
            "i3",
            &account,
            "parentaccountid",
            None,
            &format!("account:{long}"),
        ),
        json!({"op_id": "i4", "base_version": null, "op": {"kind": "lead_qualify",
               "lead_id": lead, "account_id": long}}),
        json!({"op_id": "i5", "base_version": null, "op": {"kind": "follow",
               "entity": "account", "id": long}}),
    ];
    let out = push(&h, &fiona, ops).await;
    assert_eq!(
        field_errors(&out[0]),
        too_long("id"),
        "a pushed create with a 10,000-character id is refused on its id: {}",
        out[0]
    );
    assert_eq!(
        out[1]["status"], "applied",
        "an id of exactly the longest length is taken: {}",
        out[1]
    );
    assert_eq!(
        field_errors(&out[2]),
        too_long("parentaccountid"),
        "a lookup to a 10,000-character id is refused on that field: {}",
        out[2]
    );
    assert_eq!(
        field_errors(&out[3]),
        too_long("account_id"),
        "a command creating a record with a 10,000-character id is refused on it: {}",
        out[3]
    );
    assert_eq!(
        field_errors(&out[4]),
        too_long("id"),
        "a follow of a 10,000-character id is refused on its id: {}",
        out[4]
    );
    assert!(
        out.iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .all(|(_, o)| o["status"] == "error" && o["code"] == "invalid"),
        "every refusal is an op outcome `invalid`, never a failed push: {out:?}"
    );

    for (uri, body) in [
        (
            "/api/v1/operations",
            json!({"kind": "create", "entity": "account", "id": long, "fields": {"name": "L"}}),
        ),
        (
            "/api/v1/records/account",
            json!({"id": long, "fields": {"name": "L"}}),
        ),
    ] {
        let a = call(&h.app, "POST", uri, &fiona, Some(body)).await;
        assert_refused(&a, StatusCode::BAD_REQUEST, "invalid", uri);
        assert_eq!(
            field_errors(&a.body),
            too_long("id"),
            "POST {uri} names the id as too long"
        );
    }

    let a = call(
        &h.app,
        "POST",
        "/api/v1/sync/push",
        &fiona,
        Some(json!({"ops": [create(&long, "0190e000-0000-7000-8000-0000000000a1")]})),
    )
    .await;
    assert_refused(
        &a,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a push with a 10,000-character op id",
    );
    assert_eq!(field_errors(&a.body), too_long("ops[0].op_id"));
    assert!(
        a.body.to_string().len() < 1_000,
        "the refusal does not echo the op id back: {} bytes",
        a.body.to_string().len()
    );
}
