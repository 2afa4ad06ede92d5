//! The records API (S5) and bad input of every kind; metadata growing in place.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use outpost_domain::metadata::{AttributeKind, Metadata};
use outpost_server::db::{entity_table, sync_entity_tables};
use serde_json::json;

use crate::oracle::all_records;
use crate::pull::owned;
use crate::{Backend, assert_refused, call, harness, login, push, send, str};

crate::contract!(
    records_api_enforces_security_etags_and_validation,
    bad_input_gets_a_clear_error_and_changes_nothing,
    a_newer_metadata_adds_columns_in_place,
    oversized_queries_and_checkpoints_are_refused_as_bad_requests,
    the_nul_character_is_refused_wherever_it_would_reach_sql,
    whether_an_unreadable_record_exists_is_never_answered,
);

async fn records_api_enforces_security_etags_and_validation(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let admin = login(&h.app, "admin", "console").await;
    let fiona_id = crate::user_id(&h, "fiona");

    let list = call(&h.app, "GET", "/api/v1/records/account?$filter=ownerid%20eq-userid&$select=name,ownerid&$orderby=name&$top=100", &fiona, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let rows = list.body.as_array().expect("rows");
    assert_eq!(rows.len(), owned(&h, "account", "fiona").await.len());
    assert!(
        rows.iter()
            .all(|r| r["fields"]["ownerid"] == format!("systemuser:{fiona_id}"))
    );
    assert!(
        rows.iter()
            .all(|r| r["fields"].as_object().is_some_and(|f| f.len() == 2)),
        "$select"
    );
    let names: Vec<String> = rows.iter().map(|r| str(&r["fields"]["name"])).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "$orderby");
    // Without a filter, fiona still sees only what her roles let her read.
    let all = call(
        &h.app,
        "GET",
        "/api/v1/records/account?$top=5000",
        &fiona,
        None,
    )
    .await;
    let readable = crate::oracle::readable_ids(&h, "fiona", "account", true).await;
    let listed: Vec<String> = all
        .body
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| str(&r["id"]))
        .collect();
    let mut sorted_ids = listed.clone();
    sorted_ids.sort();
    assert_eq!(sorted_ids, readable, "exactly what her roles let her read");
    assert!(
        readable.len() > rows.len(),
        "her business unit's too, not only her own"
    );
    assert!(
        all.body
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["fields"].get("creditlimit").is_none()),
        "secured fields stay on the server"
    );
    for query in [
        "$filter=creditlimit%20gt%2050000",
        "$orderby=creditlimit%20desc",
    ] {
        let probe = call(
            &h.app,
            "GET",
            &format!("/api/v1/records/account?{query}"),
            &fiona,
            None,
        )
        .await;
        assert_eq!(
            (probe.status, str(&probe.body["fields"][0]["field"])),
            (StatusCode::FORBIDDEN, "creditlimit".to_owned()),
            "filtering or sorting on a hidden field would reveal it: {query}"
        );
    }
    let bad = call(
        &h.app,
        "GET",
        "/api/v1/records/account?$filter=name%20eq",
        &fiona,
        None,
    )
    .await;
    assert_refused(
        &bad,
        StatusCode::BAD_REQUEST,
        "bad_query",
        "a filter cut short",
    );
    assert!(
        str(&bad.body["message"]).contains('7') || str(&bad.body["message"]).contains("position"),
        "{}",
        bad.body
    );

    let id = str(&rows[0]["id"]);
    let got = call(
        &h.app,
        "GET",
        &format!("/api/v1/records/account/{id}"),
        &fiona,
        None,
    )
    .await;
    let etag = got.headers[header::ETAG]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(etag, format!("\"{}\"", got.body["row_version"]));
    let patch = |tag: &str, name: &str| {
        Request::patch(format!("/api/v1/records/account/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {fiona}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::IF_MATCH, tag)
            .body(Body::from(json!({"changes": {"name": name}}).to_string()))
            .expect("request")
    };
    let ok = send(&h.app, patch(&etag, "Fresh name")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_ne!(ok.headers[header::ETAG].to_str().expect("ascii"), etag);
    let stale = send(&h.app, patch(&etag, "Stale name")).await;
    assert_refused(
        &stale,
        StatusCode::PRECONDITION_FAILED,
        "stale",
        "an old ETag",
    );
    assert_eq!(
        all_records(&h).await["account"][&id]["name"].as_deref(),
        Some("Fresh name")
    );

    let hidden = crate::oracle::readable_ids(&h, "fiona", "account", false).await[0].clone();
    for method in ["GET", "PATCH", "DELETE"] {
        let a = call(
            &h.app,
            method,
            &format!("/api/v1/records/account/{hidden}"),
            &fiona,
            Some(json!({"changes": {"name": "x"}})),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{method} on a record fiona may not read answers as missing"
        );
    }
    let secured = call(
        &h.app,
        "GET",
        &format!("/api/v1/records/account/{hidden}"),
        &admin,
        None,
    )
    .await;
    assert!(
        secured.body["fields"].get("creditlimit").is_some(),
        "the finance profile reads it"
    );

    let created = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &fiona,
        Some(json!({"fields": {"name": "Tailspin Toys"}})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["fields"]["ownerid"],
        format!("systemuser:{fiona_id}")
    );
    let invalid = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &fiona,
        Some(json!({"fields": {"numberofemployees": "-5"}})),
    )
    .await;
    assert_refused(
        &invalid,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a record without a name",
    );
    let codes: Vec<(String, String)> = invalid.body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (str(&f["field"]), str(&f["code"])))
        .collect();
    assert!(
        codes.contains(&("name".to_owned(), "required".to_owned())),
        "{codes:?}"
    );
    let forbidden = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &fiona,
        Some(json!({"fields": {"name": "X", "creditlimit": "5"}})),
    )
    .await;
    assert_eq!(
        (forbidden.status, str(&forbidden.body["fields"][0]["field"])),
        (StatusCode::FORBIDDEN, "creditlimit".to_owned())
    );

    let new_id = str(&created.body["id"]);
    // Assigned away, the record is no longer fiona's to see: applied, nothing to show.
    let second = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &fiona,
        Some(json!({"fields": {"name": "Given away"}})),
    )
    .await;
    let admin_id = crate::user_id(&h, "admin");
    let given = call(
        &h.app,
        "POST",
        "/api/v1/operations",
        &fiona,
        Some(json!({"kind": "assign", "entity": "account",
        "id": str(&second.body["id"]), "owner": {"entity": "systemuser", "id": admin_id}})),
    )
    .await;
    assert_eq!(given.status, StatusCode::NO_CONTENT, "{}", given.body);
    let del = call(
        &h.app,
        "DELETE",
        &format!("/api/v1/records/account/{new_id}"),
        &fiona,
        None,
    )
    .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = call(
        &h.app,
        "GET",
        &format!("/api/v1/records/account/{new_id}"),
        &fiona,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let unknown = call(&h.app, "GET", "/api/v1/records/spaceship", &fiona, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn bad_input_gets_a_clear_error_and_changes_nothing(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let before = all_records(&h).await;
    let raw = |uri: &str, body: Body| {
        Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {fiona}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .expect("request")
    };
    let malformed = send(&h.app, raw("/api/v1/sync/push", Body::from("{\"ops\": ["))).await;
    assert_refused(
        &malformed,
        StatusCode::BAD_REQUEST,
        "malformed",
        "broken JSON",
    );
    let unknown = send(
        &h.app,
        raw(
            "/api/v1/sync/push",
            Body::from(r#"{"ops": [], "force": true}"#),
        ),
    )
    .await;
    assert_eq!(str(&unknown.body["code"]), "malformed");
    assert!(str(&unknown.body["message"]).contains("force"));
    let huge = format!(
        "{{\"ops\": [], \"pad\": \"{}\"}}",
        "x".repeat(outpost_server::MAX_BODY_BYTES + 10)
    );
    let big = send(&h.app, raw("/api/v1/sync/push", Body::from(huge))).await;
    assert_refused(
        &big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "a body over the limit",
    );
    for limit in ["0", "5001", "x"] {
        let a = call(
            &h.app,
            "GET",
            &format!("/api/v1/sync/pull?checkpoint=0&limit={limit}"),
            &fiona,
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "limit {limit}");
    }
    let long_id = "x".repeat(65);
    let a = call(
        &h.app,
        "POST",
        "/api/v1/sync/push",
        &fiona,
        Some(json!({"ops": [{"op_id": long_id, "base_version": null,
        "op": {"kind": "follow", "entity": "account", "id": "x"}}]})),
    )
    .await;
    assert_eq!(str(&a.body["code"]), "invalid");
    let out = push(
        &h,
        &fiona,
        vec![json!({"op_id": "u1", "base_version": null,
        "op": {"kind": "update", "entity": "spaceship", "id": "x", "changes": {}, "before": {}}})],
    )
    .await;
    assert_eq!(out[0]["code"], "invalid", "{out:?}");
    assert_eq!(all_records(&h).await, before, "nothing changed");
}

async fn a_newer_metadata_adds_columns_in_place(backend: Backend) {
    let h = harness(backend).await;
    let before = all_records(&h).await;
    let mut metadata: Metadata = outpost_domain::demo::metadata();
    let account = metadata
        .entities
        .iter_mut()
        .find(|e| e.name == "account")
        .expect("account");
    let mut extra = account
        .attributes
        .iter()
        .find(|a| a.name == "telephone1")
        .expect("a text attribute")
        .clone();
    extra.name = "new_territory".to_owned();
    assert!(matches!(extra.kind, AttributeKind::Text { .. }));
    account.attributes.push(extra);
    let md = metadata.clone();
    h.db.tx(move |c| sync_entity_tables(c, &md))
        .await
        .expect("migrates");
    h.db.tx(move |c| sync_entity_tables(c, &metadata))
        .await
        .expect("and again is a no-op");
    let nulls =
        h.db.tx(|c| {
            c.query(
                &format!(
                    "SELECT count(*) FROM {} WHERE new_territory IS NULL",
                    entity_table("account")
                ),
                &[],
            )
        })
        .await
        .expect("the column exists");
    assert_eq!(
        nulls[0][0],
        outpost_server::db::SqlParam::Int(i64::try_from(before["account"].len()).expect("fits"))
    );
    assert_eq!(all_records(&h).await, before, "every record kept its data");
}

/// A `$filter` as a query string value.
fn encoded(filter: &str) -> String {
    filter
        .replace('%', "%25")
        .replace('+', "%2B")
        .replace(' ', "+")
        .replace('\'', "%27")
        .replace('&', "%26")
}

async fn oversized_queries_and_checkpoints_are_refused_as_bad_requests(backend: Backend) {
    use outpost_domain::query::{MAX_LITERAL_LEN, MAX_NODES, MAX_TEXT_LEN};
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let list = |filter: String| {
        let app = h.app.clone();
        let fiona = fiona.clone();
        async move {
            let uri = format!("/api/v1/records/account?$filter={}", encoded(&filter));
            call(&app, "GET", &uri, &fiona, None).await
        }
    };
    let chain = |n: usize| {
        (0..n)
            .map(|i| format!("name eq 'n{i}'"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    // An `or` of as many conditions as a filter may hold runs on the engine.
    let largest = list(chain(MAX_NODES - 1)).await;
    assert_eq!(
        largest.status,
        StatusCode::OK,
        "a filter at the size bound runs: {}",
        largest.body
    );
    for (what, filter) in [
        ("an `or` of 1,100 conditions", chain(1_100)),
        ("one node past the bound", chain(MAX_NODES)),
        (
            "a filter text past the length bound",
            format!("name eq 'a'{}", " ".repeat(MAX_TEXT_LEN)),
        ),
        (
            "a literal past its bound",
            format!("contains(name,'{}')", "x".repeat(MAX_LITERAL_LEN + 1)),
        ),
    ] {
        let a = list(filter).await;
        assert_refused(&a, StatusCode::BAD_REQUEST, "bad_query", what);
    }
    // Past the query language, a statement the engine itself refuses as too large is
    // the request's fault too: 400, never 500.
    let too_many_params = {
        let placeholders: Vec<String> = (1..=70_000).map(|i| format!("${i}")).collect();
        format!("SELECT 1 WHERE 1 IN ({})", placeholders.join(", "))
    };
    let failure =
        h.db.tx(move |c| {
            let params = vec![outpost_server::db::SqlParam::Int(1); 70_000];
            c.query(&too_many_params, &params).map(|_| ())
        })
        .await
        .expect_err("70,000 parameters are more than either engine binds");
    crate::assert_bad_request(failure, "a statement the engine refuses for its size");
    for checkpoint in [u64::MAX, 1 << 63] {
        let a = call(
            &h.app,
            "GET",
            &format!("/api/v1/sync/pull?checkpoint={checkpoint}&limit=10"),
            &fiona,
            None,
        )
        .await;
        assert_refused(
            &a,
            StatusCode::BAD_REQUEST,
            "invalid",
            &format!("checkpoint {checkpoint}, past any the server issues"),
        );
    }
}

async fn the_nul_character_is_refused_wherever_it_would_reach_sql(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    // SQLite's LIKE stops at NUL (so this matched every row) and PostgreSQL's text cannot
    // hold it: one answer everywhere is a refusal.
    let a = call(
        &h.app,
        "GET",
        "/api/v1/records/account?$filter=contains(name,%27%00%27)",
        &fiona,
        None,
    )
    .await;
    assert_refused(
        &a,
        StatusCode::BAD_REQUEST,
        "bad_query",
        "a filter looking for NUL",
    );
    let a = call(
        &h.app,
        "POST",
        "/api/v1/records/account",
        &fiona,
        Some(json!({"fields": {"name": "Nul\u{0}Ltd"}})),
    )
    .await;
    assert_refused(&a, StatusCode::BAD_REQUEST, "invalid", "a name holding NUL");
    assert_eq!(a.body["fields"][0]["field"], "name", "{}", a.body);
    let out = push(
        &h,
        &fiona,
        vec![
            json!({"op_id": "n1", "base_version": null, "op": {"kind": "create",
                    "entity": "account", "id": "a\u{0}b", "fields": {"name": "N"}}}),
        ],
    )
    .await;
    assert_eq!(
        (str(&out[0]["code"]), str(&out[0]["fields"][0]["field"])),
        ("invalid".to_owned(), "id".to_owned()),
        "an id holding NUL is refused on its id: {}",
        out[0]
    );
    let a = call(&h.app, "GET", "/api/v1/records/account/a%00b", &fiona, None).await;
    assert!(
        a.status.is_client_error(),
        "reading an id holding NUL is the request's fault: {} {}",
        a.status,
        a.body
    );
    let a = crate::try_login(&h.app, "fiona\u{0}", crate::PASSWORD, "d1").await;
    assert!(
        a.status.is_client_error(),
        "a user name holding NUL is the request's fault: {} {}",
        a.status,
        a.body
    );
}

/// An answer with `id` written as `<id>`, to compare answers about different ids.
fn answered(a: &crate::Answer, id: &str) -> (StatusCode, String) {
    (a.status, a.body.to_string().replace(id, "<id>"))
}

async fn whether_an_unreadable_record_exists_is_never_answered(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let admin = login(&h.app, "admin", "console").await;
    let hidden = crate::oracle::readable_ids(&h, "fiona", "account", false).await[0].clone();
    let mine = owned(&h, "account", "fiona").await;
    let unknown = "0190e000-0000-7000-8000-00000000beef".to_owned();
    let deleted = mine[1].clone();
    let gone = call(
        &h.app,
        "DELETE",
        &format!("/api/v1/records/account/{deleted}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let contact = crate::oracle::readable_ids(&h, "fiona", "contact", false).await[0].clone();
    let operation = |kind: &str, id: &str| json!({"kind": kind, "entity": "account", "id": id});

    // Unfollow is idempotent whatever the id: it only ever ends the user's own follow.
    for id in [&hidden, &unknown] {
        let a = call(
            &h.app,
            "POST",
            "/api/v1/operations",
            &fiona,
            Some(operation("unfollow", id)),
        )
        .await;
        assert_eq!(
            answered(&a, id),
            (StatusCode::NO_CONTENT, "null".to_owned()),
            "unfollowing {} answers 204",
            if *id == hidden {
                "a record fiona may not read"
            } else {
                "an unknown id"
            }
        );
    }
    // Follow: an unreadable record is an unknown one.
    let follow = |id: &str| {
        call(
            &h.app,
            "POST",
            "/api/v1/operations",
            &fiona,
            Some(operation("follow", id)),
        )
    };
    let (a, b) = (follow(&hidden).await, follow(&unknown).await);
    assert_eq!(
        answered(&a, &hidden),
        answered(&b, &unknown),
        "following an unreadable record answers as following an unknown id"
    );
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // A taken id is taken: readable or not, live or deleted, in this entity or another.
    let create = |id: &str| {
        call(
            &h.app,
            "POST",
            "/api/v1/records/account",
            &fiona,
            Some(json!({"id": id, "fields": {"name": "Probe"}})),
        )
    };
    let readable = create(&mine[0]).await;
    assert_refused(
        &readable,
        StatusCode::CONFLICT,
        "already_exists",
        "an id fiona reads",
    );
    for (what, id) in [
        ("an account fiona may not read", &hidden),
        ("a deleted account", &deleted),
        ("a contact fiona may not read", &contact),
    ] {
        let a = create(id).await;
        assert_eq!(
            answered(&a, id),
            answered(&readable, &mine[0]),
            "creating with the id of {what} answers as with the id of one fiona reads"
        );
    }
    let out = push(
        &h,
        &fiona,
        [&mine[0], &hidden, &deleted, &contact]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({"op_id": format!("t{i}"), "base_version": null, "op": {"kind": "create",
                       "entity": "account", "id": id, "fields": {"name": "Probe"}}})
            })
            .chain([json!({"op_id": "u1", "base_version": null,
                           "op": operation("unfollow", &hidden)})])
            .collect(),
    )
    .await;
    let codes: Vec<String> = out
        .iter()
        .map(|o| format!("{}{}", str(&o["status"]), str(&o["code"])))
        .collect();
    assert_eq!(
        codes,
        [
            "erroralready_exists",
            "erroralready_exists",
            "erroralready_exists",
            "erroralready_exists",
            "applied"
        ],
        "pushed creates with taken ids are refused alike, and an unfollow applies: {out:?}"
    );
    let fresh = create("0190e000-0000-7000-8000-00000000f00d").await;
    assert_eq!(
        fresh.status,
        StatusCode::CREATED,
        "a fresh id is taken: {}",
        fresh.body
    );
}
