//! Arbitrary bytes as the query string of `GET /api/v1/sync/pull` from a signed-in field
//! user, through the real router over a demo org in SQLite: every query is answered with
//! a success or a 4xx `{code, message}`, never a 5xx or a panic.

#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use outpost_fuzz::{Renewed, SignedIn, assert_answered, runtime, send};

/// A pull writes what the device was sent (its acknowledged pages); a fresh org every so
/// many inputs.
static WORLD: Mutex<Renewed<SignedIn>> = Mutex::new(Renewed::new(5_000));

fuzz_target!(|data: &[u8]| {
    // A URI carries only some bytes as they are; the rest are percent-encoded, as a client
    // would send them, so every input reaches the query parser rather than the URI's.
    let mut uri = String::from("/api/v1/sync/pull?");
    for &b in data {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    // What no client could put on the wire (a URI the HTTP library refuses) never
    // reaches a server.
    if axum::http::Uri::try_from(uri.as_str()).is_err() {
        return;
    }
    let rt = runtime();
    let world = WORLD
        .lock()
        .expect("one fuzzing thread")
        .get(|| rt.block_on(SignedIn::new()));
    let req = world.request("GET", &uri, Vec::new());
    let (status, body) = rt.block_on(send(&world.app, req));
    assert_answered(status, &body);
});
