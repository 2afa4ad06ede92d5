//! What the fuzz targets share: one runtime and one small demo org per process, since a
//! target runs millions of inputs and each must cost the code under test, not its setup.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use outpost_server::seed::{self, DemoOptions};
use outpost_server::{AppState, Db, app};
use tower::ServiceExt as _;

/// Every demo user's password.
pub const PASSWORD: &str = "fuzz-password";
/// The demo generator's seed: the same org in every process, so a saved input replays
/// against the records it was found with.
pub const SEED: u64 = 7;
/// Business records in the demo org: enough for every entity to have some, few enough to
/// load in well under a second.
pub const RECORDS: u64 = 1_500;
/// A demo field user (a sales rep with the *Field Sales* profile).
pub const FIELD_USER: &str = "fiona";

/// The runtime every target drives its async code on: one thread, as libFuzzer's own.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// A fresh in-memory org database with the demo org loaded.
pub async fn demo_db() -> Db {
    let db = Db::open(&outpost_server::db::Location::SqliteMemory)
        .await
        .expect("an in-memory database opens");
    let options = DemoOptions {
        seed: SEED,
        records: RECORDS,
        password: PASSWORD.to_owned(),
    };
    assert!(
        seed::load_demo_if_empty(&db, &options)
            .await
            .expect("the demo org loads"),
        "a fresh database gets the demo org"
    );
    db
}

/// The real router over a fresh demo org, and an access token of [`FIELD_USER`] on one
/// device.
#[derive(Clone)]
pub struct SignedIn {
    /// `outpost_server::app` over the demo org.
    pub app: Router,
    /// `Authorization: Bearer` of the field user.
    pub token: String,
}

impl SignedIn {
    /// Loads the demo org and signs the field user in through the router.
    pub async fn new() -> Self {
        let app = app(AppState::new(demo_db().await));
        let login = serde_json::json!({
            "username": FIELD_USER,
            "password": PASSWORD,
            "device_id": "fuzz-device",
        });
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(login.to_string()))
            .expect("a login request");
        let (status, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::OK, "the field user signs in: {body}");
        let token = serde_json::from_str::<serde_json::Value>(&body).expect("a JSON answer")
            ["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned();
        Self { app, token }
    }

    /// A request of the signed-in field user, from a socket peer on loopback (the
    /// sign-in limits read it, as behind a real listener).
    pub fn request(&self, method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("a request with a valid method, path and headers");
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40_000));
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        req
    }
}

/// Sends `req` through `app`; the status and the body as text.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res: Response<Body> = app
        .clone()
        .oneshot(req)
        .await
        .expect("the router's service never fails");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("the answer's body reads");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Prints `what` to stderr when `OUTPOST_FUZZ_SHOW` is set: replaying saved inputs with
/// it (`target/…/release/server_push seeds/server_push/*`) shows what each one met.
pub fn show(what: impl std::fmt::Display) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("OUTPOST_FUZZ_SHOW").is_some()) {
        eprintln!("{what}");
    }
}

/// The server's contract for any request: a success, or a 4xx whose body is the JSON
/// error `{code, message}`; a 5xx is the server failing on what a client sent.
///
/// # Panics
/// When the answer breaks that contract (the fuzzer's finding).
pub fn assert_answered(status: StatusCode, body: &str) {
    show(format_args!("{status} {body}"));
    if status.is_success() {
        return;
    }
    assert!(
        status.is_client_error(),
        "the server failed on a client's input: {status} {body}"
    );
    let error: serde_json::Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("a {status} whose body is not JSON ({e}): {body}"));
    assert!(
        error["code"].is_string() && error["message"].is_string(),
        "a {status} whose body is not {{code, message}}: {body}"
    );
}

/// A value built on first use and built again after every `every` uses: what the inputs
/// write (records, stored outcomes) piles up in it, and building it again bounds both its
/// memory and how far the world an input meets drifts from a fresh one, where a saved
/// input is replayed.
pub struct Renewed<T> {
    every: u32,
    uses: u32,
    value: Option<T>,
}

impl<T: Clone> Renewed<T> {
    /// Nothing built yet.
    pub const fn new(every: u32) -> Self {
        Self {
            every,
            uses: 0,
            value: None,
        }
    }

    /// The value, built by `make` the first time and after every `every` uses.
    pub fn get(&mut self, make: impl FnOnce() -> T) -> T {
        if self.uses.is_multiple_of(self.every.max(1)) {
            self.value = None;
        }
        self.uses = self.uses.wrapping_add(1);
        self.value.get_or_insert_with(make).clone()
    }
}
