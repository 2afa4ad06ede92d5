//! API tests: the real router driven in-process with `oneshot`, over a real SQLite
//! database seeded with the demo org.

mod api;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use outpost_server::{AppState, Db, app, seed};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const PASSWORD: &str = "correct horse";

/// A router over a fresh demo org, and its database for inspection.
fn demo() -> (Router, Db) {
    let db = Db::open_in_memory().expect("in-memory database");
    db.blocking(|s| seed::seed_demo(s, PASSWORD))
        .expect("lock")
        .expect("seeding");
    (app(AppState::new(db.clone())), db)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.expect("router never fails");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

fn post(uri: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(body.into()).expect("request")
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(Body::empty()).expect("request")
}

async fn login(app: &Router, device: &str) -> String {
    let body = json!({"username": seed::FIELD_USER, "password": PASSWORD, "device_id": device});
    let (status, body) = send(app, post("/api/v1/auth/login", None, body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "demo field user signs in: {body}");
    body["access_token"]
        .as_str()
        .expect("a token in the answer")
        .to_owned()
}
