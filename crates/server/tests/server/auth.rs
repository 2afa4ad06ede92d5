//! Sign-in, tokens (hashed, refreshed, revoked, expired), rate limiting, and the
//! metadata a device builds itself from.

use axum::http::StatusCode;
use outpost_server::auth::token_hash;
use outpost_server::db::{int, text};
use serde_json::json;

use crate::{
    Answer, Backend, PASSWORD, assert_refused, call, harness, login, login_full, put_setting,
    request, send, try_login,
};

crate::contract!(
    login_refresh_logout_and_hashed_tokens,
    expired_tokens_and_rate_limiting,
    every_endpoint_but_health_and_login_needs_a_token,
    metadata_tells_the_device_its_access_and_profile,
    revoking_a_device_is_one_users_and_a_wipe_order_reaches_it,
    a_refresh_retried_after_a_lost_answer_keeps_the_session,
    a_used_refresh_token_past_its_grace_or_its_successors_use_ends_the_session,
    nobody_can_lock_an_account_out_from_another_address,
    password_checks_run_a_bounded_few_at_a_time,
    sign_ins_dropped_while_they_wait_for_a_password_check_leave_no_trace_in_the_queue,
    behind_a_trusted_proxy_failures_count_against_the_forwarded_client_address,
    health_answers_without_the_database,
    an_app_older_than_the_org_allows_is_told_to_update_and_newer_ones_go_on,
);

async fn token_rows(h: &crate::Harness, key: &str) -> i64 {
    let key = key.to_owned();
    h.db.tx(move |c| {
        int(&c.query_value(
            "SELECT count(*) FROM auth_token WHERE token_hash = $1",
            &[text(&key)],
        )?)
    })
    .await
    .expect("query")
}

async fn refresh(h: &crate::Harness, refresh_token: &str) -> Answer {
    send(
        &h.app,
        request(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh_token})),
        ),
    )
    .await
}

/// The status of a metadata request with `token`: whether the token is honoured.
async fn metadata_status(h: &crate::Harness, token: &str) -> StatusCode {
    call(&h.app, "GET", "/api/v1/metadata", token, None)
        .await
        .status
}

async fn login_refresh_logout_and_hashed_tokens(backend: Backend) {
    let h = harness(backend).await;
    let health = send(&h.app, request("GET", "/api/v1/health", None, None)).await;
    assert_eq!(
        (health.status, &health.body["status"]),
        (StatusCode::OK, &json!("ok"))
    );
    let org_id = crate::str(&health.body["org_id"]);
    assert!(!org_id.is_empty(), "the server says which org it is");
    for user in ["fiona", "nobody"] {
        let a = try_login(&h.app, user, "wrong", "d1").await;
        assert_refused(
            &a,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            &format!("{user}: no hint which part was wrong"),
        );
    }
    let tokens = login_full(&h.app, "fiona", "d1").await;
    assert_eq!(
        crate::str(&tokens["org_id"]),
        org_id,
        "and sign-in names the same org"
    );
    let access = crate::str(&tokens["access_token"]);
    let refresh_token = crate::str(&tokens["refresh_token"]);
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(
        token_rows(&h, &access).await,
        0,
        "the plain token is never stored"
    );
    assert_eq!(token_rows(&h, &token_hash(&access)).await, 1, "its hash is");
    assert_eq!(token_rows(&h, &token_hash(&refresh_token)).await, 1);
    assert_eq!(metadata_status(&h, &access).await, StatusCode::OK);

    // Refresh rotates: the new pair works, the old refresh token does not.
    let renewed = refresh(&h, &refresh_token).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let access2 = crate::str(&renewed.body["access_token"]);
    assert_ne!(access2, access);
    assert_eq!(metadata_status(&h, &access2).await, StatusCode::OK);
    // A used refresh token coming back means it was copied: the device is revoked.
    let reused = refresh(&h, &refresh_token).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let revoked = call(&h.app, "GET", "/api/v1/metadata", &access2, None).await;
    assert_refused(
        &revoked,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "every token of the device is revoked",
    );

    // Sign-out revokes the device's tokens; another device of the user is unaffected.
    let d2 = login(&h.app, "fiona", "d2").await;
    let d3 = login(&h.app, "fiona", "d3").await;
    let out = call(&h.app, "POST", "/api/v1/auth/logout", &d2, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(metadata_status(&h, &d2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(metadata_status(&h, &d3).await, StatusCode::OK);
    // Device ids are the clients' choice: another user's sign-out on "the same" device id
    // is theirs alone.
    let mine = login(&h.app, "fiona", "shared").await;
    let theirs = login(&h.app, "admin", "shared").await;
    assert_eq!(
        call(&h.app, "POST", "/api/v1/auth/logout", &theirs, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(metadata_status(&h, &mine).await, StatusCode::OK);
    // An administrator revokes a lost tablet.
    let admin = login(&h.app, "admin", "console").await;
    let lost = call(
        &h.app,
        "POST",
        "/api/v1/admin/devices/d3/revoke",
        &admin,
        Some(json!({"user": "fiona"})),
    )
    .await;
    assert_eq!(lost.status, StatusCode::NO_CONTENT, "{}", lost.body);
    assert_eq!(metadata_status(&h, &d3).await, StatusCode::UNAUTHORIZED);
}

async fn revoke(h: &crate::Harness, admin: &str, device: &str, body: serde_json::Value) -> Answer {
    call(
        &h.app,
        "POST",
        &format!("/api/v1/admin/devices/{device}/revoke"),
        admin,
        Some(body),
    )
    .await
}

async fn revoking_a_device_is_one_users_and_a_wipe_order_reaches_it(backend: Backend) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    // Device ids are the clients' choice: two users on "the same" device id.
    let fiona_shared = login(&h.app, "fiona", "shared").await;
    let admin_shared = login(&h.app, "admin", "shared").await;
    let fiona_other = login(&h.app, "fiona", "other").await;
    let fiona_id = crate::user_id(&h, "fiona");
    for (what, body, status) in [
        ("no user named", json!({}), StatusCode::BAD_REQUEST),
        (
            "an unknown user",
            json!({"user": "nobody"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let a = revoke(&h, &admin, "shared", body).await;
        assert_eq!(a.status, status, "revoking for {what}: {}", a.body);
    }
    assert_eq!(
        metadata_status(&h, &fiona_shared).await,
        StatusCode::OK,
        "a refused revocation revokes nothing"
    );
    let a = revoke(&h, &admin, "shared", json!({"user": "fiona"})).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let revoked = call(&h.app, "GET", "/api/v1/metadata", &fiona_shared, None).await;
    assert_refused(
        &revoked,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "fiona's tokens on the revoked device (a revoke without wipe)",
    );
    assert_eq!(
        metadata_status(&h, &admin_shared).await,
        StatusCode::OK,
        "another user's tokens on the same device id keep working"
    );
    assert_eq!(
        metadata_status(&h, &fiona_other).await,
        StatusCode::OK,
        "fiona's other device keeps working"
    );

    // A lost tablet: revoked with a wipe order, by user id this time.
    let lost = login_full(&h.app, "fiona", "lost").await;
    let (access, refresh_token) = (
        crate::str(&lost["access_token"]),
        crate::str(&lost["refresh_token"]),
    );
    let a = revoke(&h, &admin, "lost", json!({"user": fiona_id, "wipe": true})).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    for _ in 0..2 {
        let on_access = call(
            &h.app,
            "GET",
            "/api/v1/sync/pull?checkpoint=0&limit=1",
            &access,
            None,
        )
        .await;
        assert_refused(
            &on_access,
            StatusCode::UNAUTHORIZED,
            "device_wipe",
            "the lost device presenting its access token is told to wipe (every time)",
        );
        let on_refresh = refresh(&h, &refresh_token).await;
        assert_refused(
            &on_refresh,
            StatusCode::UNAUTHORIZED,
            "device_wipe",
            "the lost device presenting its refresh token is told to wipe",
        );
    }
    assert_eq!(
        metadata_status(&h, &fiona_other).await,
        StatusCode::OK,
        "the wipe order is for that device only"
    );
    // Whoever holds the lost device and the password cannot sign in on it again and so
    // cancel the order: the sign-in is told to wipe too — after the password is checked,
    // so a wrong one learns nothing of the order.
    let guessed = try_login(&h.app, "fiona", "wrong", "lost").await;
    assert_refused(
        &guessed,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "a wrong password on the lost device",
    );
    for _ in 0..2 {
        let again = try_login(&h.app, "fiona", PASSWORD, "lost").await;
        assert_refused(
            &again,
            StatusCode::UNAUTHORIZED,
            "device_wipe",
            "the right password on the lost device id is told to wipe, not given tokens",
        );
    }
    let on_access = call(&h.app, "GET", "/api/v1/metadata", &access, None).await;
    assert_refused(
        &on_access,
        StatusCode::UNAUTHORIZED,
        "device_wipe",
        "the order stands after those sign-ins",
    );
    // After wiping, the app makes a new store, with a new device id: that signs in.
    let fresh = login(&h.app, "fiona", "lost-wiped-new-store").await;
    assert_eq!(metadata_status(&h, &fresh).await, StatusCode::OK);
    let admin_there = login(&h.app, "admin", "lost").await;
    assert_eq!(
        metadata_status(&h, &admin_there).await,
        StatusCode::OK,
        "the order is fiona's: another user on the same device id signs in"
    );
}

async fn expired_tokens_and_rate_limiting(backend: Backend) {
    let h = harness(backend).await;
    let access = login(&h.app, "fiona", "d1").await;
    let hash = token_hash(&access);
    h.db.tx(move |c| {
        c.execute(
            "UPDATE auth_token SET expires_at = 0 WHERE token_hash = $1",
            &[text(&hash)],
        )
    })
    .await
    .expect("expire");
    let expired = call(
        &h.app,
        "GET",
        "/api/v1/sync/pull?checkpoint=0&limit=10",
        &access,
        None,
    )
    .await;
    assert_refused(
        &expired,
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "an expired token says so, so the device refreshes instead of signing out",
    );
    // Guesses sent all at once cannot slip under the limit together: each is counted
    // before its password is checked (here all at one instant, as a burst is).
    let now = outpost_server::now().unix_timestamp();
    let burst =
        h.db.write(move |c| {
            (0..8)
                .map(|_| outpost_server::auth::login_attempt(c, "admin", "192.0.2.1", now))
                .collect::<anyhow::Result<Vec<Option<i64>>>>()
        })
        .await
        .expect("attempts counted");
    let waits: Vec<bool> = burst.iter().map(Option::is_some).collect();
    assert_eq!(
        waits,
        [false, false, false, false, false, true, true, true],
        "five tries pass, the rest of the burst waits"
    );
}

async fn every_endpoint_but_health_and_login_needs_a_token(backend: Backend) {
    let h = harness(backend).await;
    let endpoints = [
        ("GET", "/api/v1/metadata"),
        ("GET", "/api/v1/sync/pull?checkpoint=0&limit=1"),
        ("POST", "/api/v1/sync/push"),
        ("GET", "/api/v1/sync/errors"),
        ("POST", "/api/v1/sync/errors/x/resolve"),
        ("POST", "/api/v1/operations"),
        ("GET", "/api/v1/records/account"),
        ("GET", "/api/v1/records/account/x"),
        ("PATCH", "/api/v1/records/account/x"),
        ("DELETE", "/api/v1/records/account/x"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/admin/users"),
        ("GET", "/api/v1/admin/profiles"),
        ("PUT", "/api/v1/admin/settings"),
    ];
    for (method, uri) in endpoints {
        for token in [None, Some("forged")] {
            let a = send(&h.app, request(method, uri, token, Some(json!({})))).await;
            assert_refused(
                &a,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                &format!("{method} {uri} with {token:?}"),
            );
        }
    }
}

async fn metadata_tells_the_device_its_access_and_profile(backend: Backend) {
    let h = harness(backend).await;
    let fiona = login(&h.app, "fiona", "d1").await;
    let a = call(&h.app, "GET", "/api/v1/metadata", &fiona, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let md = outpost_domain::demo::metadata();
    assert_eq!(a.body["metadata"]["version"], md.version);
    assert_eq!(a.body["access"]["user_id"], crate::user_id(&h, "fiona"));
    assert_eq!(
        a.body["access"]["privileges"]["account"]["read"], "business_unit",
        "{}",
        a.body["access"]
    );
    assert_eq!(a.body["access"]["privileges"]["account"]["write"], "user");
    assert_eq!(
        a.body["access"]["secured_fields"]["account"]["creditlimit"]["read"], false,
        "fiona has no finance profile"
    );
    assert_eq!(a.body["profile"]["name"], "Field Sales");
    assert_eq!(a.body["profile"]["version"], 1);
    let admin = login(&h.app, "admin", "d2").await;
    let a = call(&h.app, "GET", "/api/v1/metadata", &admin, None).await;
    assert_eq!(
        a.body["profile"],
        json!(null),
        "the administrator has no offline profile"
    );
    assert_eq!(
        a.body["access"]["secured_fields"]["account"]["creditlimit"]["read"],
        true
    );
}

#[tokio::test]
async fn the_admin_command_revokes_one_users_device_with_a_wipe_order() {
    let tmp = tempfile::tempdir().expect("a temp folder");
    let db = outpost_server::Db::open_folder(tmp.path())
        .await
        .expect("the database opens");
    let options = outpost_server::seed::DemoOptions {
        seed: crate::SEED,
        records: 10,
        password: PASSWORD.to_owned(),
    };
    outpost_server::seed::load_demo_if_empty(&db, &options)
        .await
        .expect("the demo loads");
    let org = outpost_domain::demo::demo_org(crate::SEED);
    let ids: Vec<String> = ["fiona", "admin"]
        .iter()
        .map(|u| org.user(u).expect("a demo user").id.clone())
        .collect();
    let issued = ids.clone();
    db.tx(move |c| {
        for user in &issued {
            outpost_server::auth::issue_tokens(c, user, "tablet", outpost_server::now())?;
        }
        Ok(())
    })
    .await
    .expect("tokens issued");
    drop(db);
    crate::admin_command(
        tmp.path(),
        &["revoke-device", "--user", "fiona", "--wipe", "tablet"],
    );
    let db = outpost_server::Db::open_folder(tmp.path())
        .await
        .expect("the database opens again");
    let states = db
        .tx(move |c| {
            let mut out = Vec::new();
            for user in &ids {
                let row = c.query_value(
                    "SELECT sum(revoked) * 10 + sum(wipe) FROM auth_token WHERE user_id = $1",
                    &[text(user)],
                )?;
                out.push(int(&row)?);
            }
            Ok(out)
        })
        .await
        .expect("token states read");
    assert_eq!(
        states,
        vec![22, 0],
        "fiona's two tokens on the tablet are revoked with a wipe order; admin's on the same device id are untouched"
    );
    drop(db);
    let listed = crate::admin_command(tmp.path(), &["devices", "--user", "fiona"]);
    assert_eq!(
        listed.as_array().map(|l| l
            .iter()
            .map(|d| (
                d["device_id"].clone(),
                d["signed_in"].clone(),
                d["wipe_ordered"].clone()
            ))
            .collect::<Vec<_>>()),
        Some(vec![(json!("tablet"), json!(false), json!(true))]),
        "the command lists fiona's one device, revoked with a wipe order: {listed}"
    );
}

/// Signs in on `device` and refreshes once: (the first refresh token, the pair it bought
/// as (access, refresh)).
async fn refreshed_once(h: &crate::Harness, device: &str) -> (String, (String, String)) {
    let first = login_full(&h.app, "fiona", device).await;
    let token = crate::str(&first["refresh_token"]);
    let bought = refresh(h, &token).await;
    assert_eq!(
        bought.status,
        StatusCode::OK,
        "the first refresh: {}",
        bought.body
    );
    let pair = (
        crate::str(&bought.body["access_token"]),
        crate::str(&bought.body["refresh_token"]),
    );
    (token, pair)
}

async fn a_refresh_retried_after_a_lost_answer_keeps_the_session(backend: Backend) {
    let h = harness(backend).await;
    // The answer to the first refresh is lost: the device never sees that pair.
    let (token, (lost_access, _)) = refreshed_once(&h, "d1").await;
    let retried = refresh(&h, &token).await;
    assert_eq!(
        retried.status,
        StatusCode::OK,
        "the same refresh token again, within the grace and with its pair unused, buys a new pair: {}",
        retried.body
    );
    let access = crate::str(&retried.body["access_token"]);
    assert_eq!(
        metadata_status(&h, &access).await,
        StatusCode::OK,
        "the new pair works"
    );
    assert_eq!(
        metadata_status(&h, &lost_access).await,
        StatusCode::UNAUTHORIZED,
        "the pair whose answer was lost is revoked"
    );
    let next = refresh(&h, &crate::str(&retried.body["refresh_token"])).await;
    assert_eq!(
        next.status,
        StatusCode::OK,
        "the session goes on: {}",
        next.body
    );
}

async fn a_used_refresh_token_past_its_grace_or_its_successors_use_ends_the_session(
    backend: Backend,
) {
    let h = harness(backend).await;
    // The pair it bought was used: someone else has the token.
    let (token, (access, _)) = refreshed_once(&h, "d1").await;
    assert_eq!(metadata_status(&h, &access).await, StatusCode::OK);
    let again = refresh(&h, &token).await;
    assert_refused(
        &again,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a used refresh token whose pair was used since",
    );
    assert_eq!(
        metadata_status(&h, &access).await,
        StatusCode::UNAUTHORIZED,
        "theft: every token of the device is revoked"
    );
    // Past the grace, even with the pair unused.
    let (token, (access, _)) = refreshed_once(&h, "d2").await;
    let hash = token_hash(&token);
    let grace = outpost_server::auth::REFRESH_RETRY_GRACE;
    h.db.tx(move |c| {
        c.execute(
            "UPDATE auth_token SET used_at = used_at - $1 WHERE token_hash = $2",
            &[outpost_server::db::int_param(grace + 1), text(&hash)],
        )
    })
    .await
    .expect("the first use moved back past the grace");
    let late = refresh(&h, &token).await;
    assert_refused(
        &late,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a used refresh token past the grace",
    );
    assert_eq!(
        metadata_status(&h, &access).await,
        StatusCode::UNAUTHORIZED,
        "theft: the unused pair is revoked with the device"
    );
}

/// Asks to sign `username` in from the client address `from`.
async fn login_from(app: &axum::Router, from: &str, username: &str, password: &str) -> Answer {
    login_forwarded(app, from, None, username, password).await
}

/// Asks to sign `username` in from the socket peer `from`, with an `X-Forwarded-For`
/// header when `forwarded_for` is given.
async fn login_forwarded(
    app: &axum::Router,
    from: &str,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> Answer {
    let mut req = request(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password, "device_id": "d1"})),
    );
    let addr: std::net::SocketAddr = from.parse().expect("a socket address");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    if let Some(chain) = forwarded_for {
        req.headers_mut()
            .insert("x-forwarded-for", chain.parse().expect("a header value"));
    }
    send(app, req).await
}

const ATTACKER: &str = "203.0.113.7:40000";
const OFFICE: &str = "198.51.100.20:50000";
const SPRAYER: &str = "[2001:db8:7:7::1]:443";

/// A router whose sign-in limits read a clock the test moves by hand, and the handle
/// that moves it (seconds from the start).
fn frozen(h: &crate::Harness) -> (axum::Router, std::sync::Arc<std::sync::atomic::AtomicI64>) {
    use std::sync::atomic::{AtomicI64, Ordering};
    let start = outpost_server::now();
    let offset = std::sync::Arc::new(AtomicI64::new(0));
    let seconds = std::sync::Arc::clone(&offset);
    let clock: outpost_server::Clock = std::sync::Arc::new(move || {
        start + time::Duration::seconds(seconds.load(Ordering::SeqCst))
    });
    let app = outpost_server::app(outpost_server::AppState::new(h.db.clone()).with_clock(clock));
    (app, offset)
}

/// The `Retry-After` of a 429, in seconds.
#[track_caller]
fn retry_after(a: &Answer) -> i64 {
    assert_refused(
        a,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "a try that must wait",
    );
    a.headers[axum::http::header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

async fn failures(h: &crate::Harness, username: &str, address: &str) -> i64 {
    let (username, address) = (username.to_owned(), address.to_owned());
    h.db.tx(move |c| {
        int(&c.query_value(
            "SELECT count(*) FROM login_failure WHERE username = $1 AND address = $2",
            &[text(&username), text(&address)],
        )?)
    })
    .await
    .expect("failures counted")
}

async fn nobody_can_lock_an_account_out_from_another_address(backend: Backend) {
    use outpost_server::auth::{MAX_ADDRESS_FAILURES, MAX_FAILURES, MAX_GLOBAL_FAILURES};
    use std::sync::atomic::Ordering;
    let h = harness(backend).await;
    let (app, clock) = frozen(&h);
    for _ in 0..MAX_FAILURES {
        let a = login_from(&app, ATTACKER, "admin", "guess").await;
        assert_refused(
            &a,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "a wrong guess",
        );
    }
    // The back-off grows with every failure past the allowance: 1 s, 2 s, 4 s.
    let mut waits = Vec::new();
    for _ in 0..3 {
        let wait = retry_after(&login_from(&app, ATTACKER, "admin", "guess").await);
        waits.push(wait);
        let right = login_from(&app, ATTACKER, "admin", PASSWORD).await;
        assert_eq!(
            right.status,
            StatusCode::TOO_MANY_REQUESTS,
            "from the guessing address even the right password waits"
        );
        let office = login_from(&app, OFFICE, "admin", PASSWORD).await;
        assert_eq!(
            office.status,
            StatusCode::OK,
            "the right password from an address with no failures signs in while another address guesses: {}",
            office.body
        );
        clock.fetch_add(wait, Ordering::SeqCst);
        let a = login_from(&app, ATTACKER, "admin", "guess").await;
        assert_refused(
            &a,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "a guess after the wait",
        );
    }
    assert_eq!(waits, [1, 2, 4], "the back-off doubles");

    // A success clears only that (user, address).
    for from in [OFFICE, SPRAYER] {
        for _ in 0..3 {
            login_from(&app, from, "fiona", "guess").await;
        }
    }
    let signed_in = login_from(&app, OFFICE, "fiona", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(
        (
            failures(&h, "fiona", "198.51.100.20").await,
            failures(&h, "fiona", "2001:db8:7:7::/64").await
        ),
        (0, 3),
        "fiona's failures from the office are forgotten, those from elsewhere are not"
    );

    // Spraying: one address trying many user names waits too, whatever the next name.
    for i in 3..MAX_ADDRESS_FAILURES {
        let a = login_from(&app, SPRAYER, &format!("user{i}"), "Summer2026!").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let another_v6 = "[2001:db8:7:7:ffff::2]:443";
    let sprayed = login_from(&app, another_v6, "someone-else", "Summer2026!").await;
    assert_eq!(
        retry_after(&sprayed),
        1,
        "another address of the same IPv6 /64 counts as the same sprayer"
    );
    let office = login_from(&app, OFFICE, "someone-else", "x").await;
    assert_refused(
        &office,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "a clean address is not held back",
    );

    // The server-wide cap: past it, every address with failures waits the longest, and an
    // address with none still signs in.
    let now = clock.load(Ordering::SeqCst) + outpost_server::now().unix_timestamp();
    h.db.write(move |c| {
        for chunk in 0..MAX_GLOBAL_FAILURES / 100 {
            let rows: Vec<String> = (0..100)
                .map(|i| format!("('u', '10.{chunk}.0.{i}', {now})"))
                .collect();
            c.execute(
                &format!(
                    "INSERT INTO login_failure (username, address, at) VALUES {}",
                    rows.join(", ")
                ),
                &[],
            )?;
        }
        Ok(())
    })
    .await
    .expect("failures from many addresses");
    let first = login_from(&app, "192.0.2.55:1", "fiona", "guess").await;
    assert_refused(
        &first,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "a first failure is only counted",
    );
    let second = login_from(&app, "192.0.2.55:1", "fiona", "guess").await;
    assert_eq!(
        retry_after(&second),
        outpost_server::auth::MAX_BACKOFF,
        "past the server-wide cap an address with a failure waits the longest"
    );
    let clean = login_from(&app, "192.0.2.56:1", "fiona", PASSWORD).await;
    assert_eq!(
        clean.status,
        StatusCode::OK,
        "past the server-wide cap an address with no failure still signs in: {}",
        clean.body
    );
}

/// A password check that holds a slot until released.
struct SlotHeld {
    release: std::sync::mpsc::Sender<()>,
    holder: tokio::task::JoinHandle<anyhow::Result<Result<(), outpost_server::password::Busy>>>,
}

impl SlotHeld {
    /// Takes a slot of `checks` (waits until its check runs).
    async fn take(checks: &outpost_server::password::PasswordChecks) -> Self {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let checks = checks.clone();
        let holder = tokio::spawn(async move {
            checks
                .run(move |_| {
                    started.send(()).expect("the test waits");
                    hold.recv().expect("the test releases the slot");
                })
                .await
        });
        tokio::task::spawn_blocking(move || running.recv().expect("the slot is taken"))
            .await
            .expect("waited");
        Self { release, holder }
    }

    /// Lets the check end, and waits until it has.
    async fn release(self) {
        self.release.send(()).expect("release");
        self.holder
            .await
            .expect("joined")
            .expect("ran")
            .expect("admitted");
    }
}

async fn password_checks_run_a_bounded_few_at_a_time(backend: Backend) {
    use outpost_server::password::PasswordChecks;
    let h = harness(backend).await;
    let checks = PasswordChecks::new(2, 64);
    let app = outpost_server::app(
        outpost_server::AppState::new(h.db.clone()).with_password_checks(checks.clone()),
    );
    let tries: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                login_from(
                    &app,
                    &format!("10.1.0.{i}:1"),
                    &format!("nobody-{i}"),
                    "guess",
                )
                .await
                .status
            })
        })
        .collect();
    for t in tries {
        assert_eq!(
            t.await.expect("a sign-in task"),
            StatusCode::UNAUTHORIZED,
            "an unknown name is checked like a wrong password"
        );
    }
    assert!(
        (1..=2).contains(&checks.peak()),
        "24 sign-ins at once ran at most 2 password checks at a time: {}",
        checks.peak()
    );

    // With every slot taken and the queue full, a sign-in is answered busy at once.
    let full = PasswordChecks::new(1, 0);
    let app = outpost_server::app(
        outpost_server::AppState::new(h.db.clone()).with_password_checks(full.clone()),
    );
    let held = SlotHeld::take(&full).await;
    let busy = login_from(&app, OFFICE, "fiona", PASSWORD).await;
    assert_refused(
        &busy,
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "a sign-in past the queue",
    );
    assert_eq!(
        busy.headers[axum::http::header::RETRY_AFTER],
        "1",
        "busy says when to try again"
    );
    held.release().await;
    let signed_in = login_from(&app, OFFICE, "fiona", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "then it signs in: {}",
        signed_in.body
    );
}

async fn sign_ins_dropped_while_they_wait_for_a_password_check_leave_no_trace_in_the_queue(
    backend: Backend,
) {
    use outpost_server::password::PasswordChecks;
    let h = harness(backend).await;
    let checks = PasswordChecks::new(1, 3);
    let app = outpost_server::app(
        outpost_server::AppState::new(h.db.clone()).with_password_checks(checks.clone()),
    );
    let held = SlotHeld::take(&checks).await;
    // Clients that close their connection while their sign-in waits: the server drops
    // the request. Many more of them than the queue holds.
    for round in 0..8 {
        let waiting: Vec<_> = (0..3)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    login_from(&app, &format!("10.3.{round}.{i}:1"), "fiona", "guess").await
                })
            })
            .collect();
        assert!(
            crate::eventually(|| checks.admitted() == 4).await,
            "round {round}: three sign-ins wait behind the running check ({} admitted)",
            checks.admitted()
        );
        for w in &waiting {
            w.abort();
        }
        for w in waiting {
            assert!(
                w.await.is_err_and(|e| e.is_cancelled()),
                "round {round}: a waiting sign-in is dropped"
            );
        }
        assert_eq!(
            checks.admitted(),
            1,
            "round {round}: dropped sign-ins leave the queue"
        );
    }
    held.release().await;
    assert_eq!(checks.admitted(), 0, "no check is left admitted");
    let signed_in = login_from(&app, OFFICE, "fiona", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "a later sign-in is served, not answered busy: {}",
        signed_in.body
    );
}

async fn behind_a_trusted_proxy_failures_count_against_the_forwarded_client_address(
    backend: Backend,
) {
    use outpost_server::auth::MAX_FAILURES;
    let h = harness(backend).await;
    let trusted = ["10.0.0.0/8", "192.0.2.9"]
        .into_iter()
        .map(outpost_server::TrustedProxies::range)
        .collect::<Result<_, _>>()
        .expect("trusted ranges parse");
    // A frozen clock: the back-off is still running however slowly the guesses go.
    let start = outpost_server::now();
    let clock: outpost_server::Clock = std::sync::Arc::new(move || start);
    let app = outpost_server::app(
        outpost_server::AppState::new(h.db.clone())
            .with_trusted_proxies(trusted)
            .with_clock(clock),
    );
    const PROXY: &str = "10.0.0.5:44000";
    // The attacker's request crossed two of the org's proxies; the attacker wrote a
    // fake first entry themselves.
    let attacker = "198.51.100.20, 203.0.113.7, 10.9.9.9";
    for _ in 0..MAX_FAILURES {
        let a = login_forwarded(&app, PROXY, Some(attacker), "admin", "guess").await;
        assert_refused(
            &a,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "a wrong guess through the proxy",
        );
    }
    let held = login_forwarded(&app, PROXY, Some(attacker), "admin", PASSWORD).await;
    assert_eq!(
        held.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client waits, whatever it wrote before its own address: {}",
        held.body
    );
    assert_eq!(
        (
            failures(&h, "admin", "203.0.113.7").await,
            failures(&h, "admin", "10.0.0.5").await,
            failures(&h, "admin", "198.51.100.20").await,
        ),
        (MAX_FAILURES, 0, 0),
        "the failures count against the rightmost address no trusted proxy owns: not the \
         proxy's, not the one the client made up"
    );
    let office = login_forwarded(
        &app,
        "192.0.2.9:1",
        Some("198.51.100.20"),
        "admin",
        PASSWORD,
    )
    .await;
    assert_eq!(
        office.status,
        StatusCode::OK,
        "another client behind the same proxies signs in: {}",
        office.body
    );

    // A peer that is not a trusted proxy cannot choose its address with the header.
    let spoofer = "198.51.100.77:5000";
    for i in 0..MAX_FAILURES {
        let forged = format!("203.0.113.{}", 100 + i);
        let a = login_forwarded(&app, spoofer, Some(&forged), "fiona", "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    assert_eq!(
        failures(&h, "fiona", "198.51.100.77").await,
        MAX_FAILURES,
        "an untrusted peer's X-Forwarded-For is ignored: its failures are its own"
    );
    let spoofed = login_forwarded(&app, spoofer, Some("203.0.113.200"), "fiona", "guess").await;
    assert_eq!(
        spoofed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "and a new forged address does not escape the back-off: {}",
        spoofed.body
    );
}

/// A health probe (every few seconds, from every load balancer and device) costs no
/// database work: it answers even while a transaction holds the settings it would read.
async fn health_answers_without_the_database(backend: Backend) {
    /// A generous bound on an answer that needs no database.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
    let h = harness(backend).await;
    let first = send(&h.app, request("GET", "/api/v1/health", None, None)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let org_id = crate::str(&first.body["org_id"]);
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let db = h.db.clone();
    let holder = tokio::spawn(async move {
        db.write(move |c| {
            if backend == Backend::Postgres {
                c.execute("LOCK TABLE setting IN ACCESS EXCLUSIVE MODE", &[])?;
            }
            held.send(()).expect("the test waits");
            hold.recv().expect("the test releases the database");
            Ok(())
        })
        .await
    });
    tokio::task::spawn_blocking(move || holding.recv().expect("the database is held"))
        .await
        .expect("waited");
    let probe = tokio::time::timeout(
        WAIT,
        send(&h.app, request("GET", "/api/v1/health", None, None)),
    )
    .await;
    release.send(()).expect("release");
    holder
        .await
        .expect("joined")
        .expect("the holding transaction");
    let probe =
        probe.unwrap_or_else(|_| panic!("health still waited for the database after {WAIT:?}"));
    assert_eq!(
        (probe.status, crate::str(&probe.body["org_id"])),
        (StatusCode::OK, org_id),
        "health answers ok with the org's id: {}",
        probe.body
    );
}

/// A request as field app `version` (speaking `protocol`) sends it.
fn as_app(
    version: &str,
    protocol: &str,
    mut req: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    let headers = req.headers_mut();
    headers.insert(
        outpost_protocol::APP_VERSION_HEADER,
        version.parse().expect("a header value"),
    );
    headers.insert(
        outpost_protocol::PROTOCOL_HEADER,
        protocol.parse().expect("a header value"),
    );
    req
}

/// The org's minimum app version (C23, S19): an older field app is answered 426
/// `update_required` with a message that says which version it needs — at sign-in and on
/// every call but the health probe — while newer apps, and requests that are not the field
/// app's, go on. A protocol the server no longer speaks is refused the same way.
async fn an_app_older_than_the_org_allows_is_told_to_update_and_newer_ones_go_on(backend: Backend) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let token = login(&h.app, "fiona", "tablet").await;
    let bad = call(&h.app, "GET", "/api/v1/admin/settings", &admin, None).await;
    let mut settings = bad.body;
    settings["min_app_version"] = json!("soon");
    let refused = call(
        &h.app,
        "PUT",
        "/api/v1/admin/settings",
        &admin,
        Some(settings),
    )
    .await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a minimum that is no version",
    );
    put_setting(&h, &admin, "min_app_version", json!("1.2.0")).await;

    let sign_in = |version: &str| {
        let body = json!({"username": "fiona", "password": PASSWORD, "device_id": "tablet"});
        as_app(
            version,
            "1",
            request("POST", "/api/v1/auth/login", None, Some(body)),
        )
    };
    // Signing in stays open to an older app: it needs a session to fetch its update.
    for version in ["1.1.9", "1.2.0", "1.10.0", "2.0.0-beta.1"] {
        let answer = send(&h.app, sign_in(version)).await;
        assert_eq!(answer.status, StatusCode::OK, "{version}: {}", answer.body);
    }
    let pull = "/api/v1/sync/pull?checkpoint=0&limit=10";
    // A pull with `token` as app `version` speaking `protocol`.
    let pull_as = |version: &str, protocol: &str, token: &str| {
        send(
            &h.app,
            as_app(version, protocol, request("GET", pull, Some(token), None)),
        )
    };
    let refused = pull_as("1.1.9", "1", &token).await;
    assert_refused(
        &refused,
        StatusCode::UPGRADE_REQUIRED,
        "update_required",
        "an older app's pull",
    );
    let message = refused.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1.1.9") && message.contains("1.2.0"),
        "the message says which version it is and which it needs: {message}"
    );
    let garbled = pull_as("one", "1", &token).await;
    assert_refused(
        &garbled,
        StatusCode::UPGRADE_REQUIRED,
        "update_required",
        "a version that does not read",
    );
    let health = send(
        &h.app,
        as_app("1.1.9", "1", request("GET", "/api/v1/health", None, None)),
    )
    .await;
    assert_eq!(health.status, StatusCode::OK, "the probe still answers");
    let unnamed = call(&h.app, "GET", pull, &token, None).await;
    assert_eq!(
        unnamed.status,
        StatusCode::OK,
        "a request that names no app passes"
    );
    let protocol = pull_as("1.2.0", "0", &token).await;
    assert_refused(
        &protocol,
        StatusCode::UPGRADE_REQUIRED,
        "update_required",
        "an older protocol",
    );

    // A wipe order reaches a lost device however old its app: it is not told to update.
    let lost = login(&h.app, "fiona", "lost").await;
    let fiona_id = crate::user_id(&h, "fiona");
    let a = revoke(&h, &admin, "lost", json!({"user": fiona_id, "wipe": true})).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let wiped = pull_as("1.1.9", "1", &lost).await;
    assert_refused(
        &wiped,
        StatusCode::UNAUTHORIZED,
        "device_wipe",
        "an old lost device",
    );

    put_setting(&h, &admin, "min_app_version", json!("")).await;
    let any = pull_as("0.0.1", "1", &token).await;
    assert_eq!(
        any.status,
        StatusCode::OK,
        "no minimum: any app: {}",
        any.body
    );
}
