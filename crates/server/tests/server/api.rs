use super::*;

#[tokio::test]
async fn health_answers_without_a_token() {
    let (app, _) = demo();
    let (status, body) = send(&app, get("/api/v1/health", None)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn a_wrong_password_or_user_is_refused_with_one_code() {
    let (app, _) = demo();
    for user in [seed::FIELD_USER, "nobody"] {
        let body = json!({"username": user, "password": "wrong", "device_id": "d1"});
        let (status, body) = send(&app, post("/api/v1/auth/login", None, body.to_string())).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "user {user} must be refused"
        );
        assert_eq!(
            body["code"], "bad_credentials",
            "no hint which part was wrong"
        );
    }
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_work_as_bearer() {
    let (app, db) = demo();
    let token = login(&app, "d1").await;
    let found = db
        .blocking(|s| s.caller_by_token_hash(&token))
        .expect("lock")
        .expect("query");
    assert!(found.is_none(), "the plain token must not be a stored key");
    let hashed = db
        .blocking(|s| s.caller_by_token_hash(&outpost_server::auth::token_hash(&token)))
        .expect("lock")
        .expect("query");
    assert_eq!(
        hashed.map(|c| c.device_id),
        Some("d1".to_owned()),
        "the hash is"
    );
    let (status, _) = send(
        &app,
        get("/api/v1/sync/pull?checkpoint=0&limit=10", Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the token opens the sync API");
}

#[tokio::test]
async fn sync_needs_a_valid_token() {
    let (app, _) = demo();
    for token in [None, Some("forged")] {
        let (status, body) =
            send(&app, get("/api/v1/sync/pull?checkpoint=0&limit=10", token)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "token {token:?} must be refused"
        );
        assert_eq!(body["code"], "unauthorized");
    }
}

#[tokio::test]
async fn pull_pages_through_every_account_in_row_version_order() {
    let (app, _) = demo();
    let token = login(&app, "d1").await;
    let (mut checkpoint, mut seen, mut pages) = (0u64, Vec::new(), 0);
    loop {
        let uri = format!("/api/v1/sync/pull?checkpoint={checkpoint}&limit=5");
        let (status, body) = send(&app, get(&uri, Some(&token))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        for r in body["records"].as_array().expect("records") {
            let v = r["row_version"].as_u64().expect("row version");
            assert!(v > checkpoint, "every record is after the checkpoint");
            seen.push(r["fields"]["name"].as_str().expect("name").to_owned());
        }
        checkpoint = body["checkpoint"].as_u64().expect("checkpoint");
        if !body["has_more"].as_bool().expect("has_more") {
            break;
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(
        seen.len(),
        12,
        "all demo accounts arrive exactly once: {seen:?}"
    );
    assert_eq!(pages, 3, "12 records in pages of 5");
    let (_, body) = send(
        &app,
        get(
            &format!("/api/v1/sync/pull?checkpoint={checkpoint}&limit=5"),
            Some(&token),
        ),
    )
    .await;
    assert_eq!(
        body["records"],
        json!([]),
        "a delta with no changes is empty"
    );
}

fn rename(op_id: &str, id: &str, from: &str, to: &str) -> Value {
    json!({"op_id": op_id, "base_version": 1, "op": {
        "kind": "update", "entity": "account", "id": id,
        "changes": {"name": to}, "before": {"name": from}}})
}

const FIRST: &str = "00000000-0000-7000-8000-000000001000";

#[tokio::test]
async fn a_resent_push_batch_is_applied_once() {
    let (app, db) = demo();
    let token = login(&app, "d1").await;
    let batch =
        json!({"ops": [rename("op-1", FIRST, "Adventure Works", "Adventure Works Cycles")]});
    let (status, first) = send(
        &app,
        post("/api/v1/sync/push", Some(&token), batch.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["outcomes"][0]["result"]["status"], "applied");
    let (_, version) = db
        .blocking(|s| s.account_get(FIRST))
        .expect("lock")
        .expect("query")
        .expect("exists");
    let (_, again) = send(
        &app,
        post("/api/v1/sync/push", Some(&token), batch.to_string()),
    )
    .await;
    assert_eq!(again, first, "a resent op gets the stored outcome");
    let (fields, version_after) = db
        .blocking(|s| s.account_get(FIRST))
        .expect("lock")
        .expect("query")
        .expect("exists");
    assert_eq!(version_after, version, "the resend must not write again");
    assert_eq!(fields["name"].as_deref(), Some("Adventure Works Cycles"));
    assert_eq!(
        db.blocking(|s| s.applied_op_count())
            .expect("lock")
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn the_same_op_id_from_another_device_is_its_own_op() {
    let (app, _) = demo();
    let a = login(&app, "device-a").await;
    let b = login(&app, "device-b").await;
    let op_a = json!({"ops": [rename("op-1", FIRST, "Adventure Works", "A")]});
    let (_, first) = send(&app, post("/api/v1/sync/push", Some(&a), op_a.to_string())).await;
    assert_eq!(first["outcomes"][0]["result"]["status"], "applied");
    // Device b reuses the id: it must not receive device a's stored outcome.
    let op_b = json!({"ops": [rename("op-1", FIRST, "Adventure Works", "B")]});
    let (_, second) = send(&app, post("/api/v1/sync/push", Some(&b), op_b.to_string())).await;
    assert_eq!(
        second["outcomes"][0]["result"]["status"], "conflict",
        "b's before-image is stale: {second}"
    );
}

#[tokio::test]
async fn edits_to_the_same_field_conflict_with_the_server_value() {
    let (app, _) = demo();
    let token = login(&app, "d1").await;
    let batch = json!({"ops": [
        rename("op-1", FIRST, "Adventure Works", "Server side"),
        rename("op-2", FIRST, "Adventure Works", "Device side"),
    ]});
    let (_, body) = send(
        &app,
        post("/api/v1/sync/push", Some(&token), batch.to_string()),
    )
    .await;
    assert_eq!(body["outcomes"][0]["result"]["status"], "applied");
    let conflict = &body["outcomes"][1]["result"];
    assert_eq!(conflict["status"], "conflict", "{body}");
    assert_eq!(conflict["fields"][0]["field"], "name");
    assert_eq!(
        conflict["fields"][0]["server"], "Server side",
        "the server value comes back"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let (app, db) = demo();
    let token = login(&app, "d1").await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/api/v1/sync/push", Some(&token), "{not json"),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            post(
                "/api/v1/sync/push",
                Some(&token),
                r#"{"ops": [], "extra": 1}"#,
            ),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            post(
                "/api/v1/sync/push",
                Some(&token),
                vec![b' '; outpost_server::MAX_BODY_BYTES + 10],
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            get("/api/v1/sync/pull?checkpoint=abc&limit=5", Some(&token)),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            get("/api/v1/sync/pull?checkpoint=0&limit=0", Some(&token)),
            StatusCode::BAD_REQUEST,
            "invalid",
        ),
        (
            post("/api/v1/auth/login", None, r#"{"username": "x"}"#),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ];
    for (req, want_status, want_code) in cases {
        let uri = req.uri().to_string();
        let (status, body) = send(&app, req).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (want_status, Some(want_code)),
            "{uri}: {body}"
        );
    }
    let batch = json!({"ops": [
        rename("op-1", FIRST, "Adventure Works", ""),
        rename("op-2", "no-such-id", "x", "y"),
    ]});
    let (_, body) = send(
        &app,
        post("/api/v1/sync/push", Some(&token), batch.to_string()),
    )
    .await;
    assert_eq!(body["outcomes"][0]["result"]["code"], "invalid", "{body}");
    assert_eq!(body["outcomes"][1]["result"]["code"], "not_found", "{body}");
    let (fields, _) = db
        .blocking(|s| s.account_get(FIRST))
        .expect("lock")
        .expect("query")
        .expect("exists");
    assert_eq!(
        fields["name"].as_deref(),
        Some("Adventure Works"),
        "nothing changed"
    );
}
