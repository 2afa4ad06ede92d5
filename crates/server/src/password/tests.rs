use std::sync::mpsc;

use super::*;

#[test]
fn a_password_matches_its_own_hash_only_checked_in_reused_memory() {
    let phc = hash_password("correct horse").expect("hashed");
    let mut memory = Vec::new();
    assert!(
        verify_in("correct horse", &phc, &mut memory),
        "the right password matches"
    );
    let area = memory.len();
    assert!(area > 0, "the check's memory is kept for the next one");
    assert!(
        !verify_in("wrong", &phc, &mut memory),
        "a wrong password does not"
    );
    assert_eq!(memory.len(), area, "and reuses it, no more");
    assert!(
        !verify_in("correct horse", "not a hash", &mut memory),
        "nor does junk"
    );
    assert!(
        !verify_in("anything", &UNKNOWN_USER_HASH, &mut memory),
        "nothing matches the unknown user's hash"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_at_once_and_a_slot_frees_for_the_next() {
    let checks = PasswordChecks::new(1, 0);
    let (hold, release) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel::<()>();
    let holder = {
        let checks = checks.clone();
        tokio::spawn(async move {
            checks
                .run(move |_| {
                    started.send(()).expect("the test waits");
                    release.recv().expect("the test releases the slot");
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || running.recv().expect("the slot is taken"))
        .await
        .expect("waited");
    let refused = checks.run(|_| ()).await.expect("no failure");
    assert_eq!(
        refused,
        Err(Busy),
        "with the one slot taken and no queue: busy"
    );
    hold.send(()).expect("release");
    holder
        .await
        .expect("joined")
        .expect("ran")
        .expect("admitted");
    let next = checks.run(|_| 7).await.expect("no failure");
    assert_eq!(next, Ok(7), "the freed slot takes the next check");
}

#[test]
fn a_demo_password_carries_at_least_128_random_bits_in_one_word() {
    outpost_testkit::assert_strong_password(demo_password);
}
