//! Arbitrary bytes as the body of `POST /api/v1/sync/push` from a signed-in field user,
//! through the real router over a demo org in SQLite: every body is answered with a
//! success or a 4xx `{code, message}`, never a 5xx or a panic.

#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use outpost_fuzz::{Renewed, SignedIn, assert_answered, runtime, send};

/// Pushed records pile up in the org; a fresh one every so many inputs.
static WORLD: Mutex<Renewed<SignedIn>> = Mutex::new(Renewed::new(5_000));

fuzz_target!(|data: &[u8]| {
    let rt = runtime();
    let world = WORLD
        .lock()
        .expect("one fuzzing thread")
        .get(|| rt.block_on(SignedIn::new()));
    let req = world.request("POST", "/api/v1/sync/push", data.to_vec());
    let (status, body) = rt.block_on(send(&world.app, req));
    assert_answered(status, &body);
});
