//! The simulation's own checks, in CI: a seed replays exactly, a bounded set of seeds
//! holds every invariant, and every mutant is caught within a bounded number of seeds.
//! `cargo xtask sim` runs the long versions.

use outpost_sim::{Mutant, Options, run};

/// Seeds each check may use (each takes a few seconds in a debug build).
const SEEDS: u64 = 6;
const MUTANT_SEEDS: u64 = 20;

#[test]
fn one_seed_replays_to_the_same_trace() {
    let first = run(7, Options::default()).expect("the run");
    let again = run(7, Options::default()).expect("the run again");
    assert_eq!(first.trace, again.trace, "the same seed, the same trace");
    assert_eq!(first.trace_hash, again.trace_hash);
}

#[test]
fn every_invariant_holds_across_seeds_with_the_full_fault_mix() {
    for seed in 1..=SEEDS {
        let report = run(seed, Options::default()).expect("the run");
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:#?}\nreplay: cargo xtask sim --seed {seed} --trace",
            report.violations
        );
        assert!(report.ops > 0, "seed {seed}: users did something");
    }
}

/// Runs seeds with `mutant` on until one finds a violation.
fn caught(mutant: Mutant) {
    let options = Options {
        mutant: Some(mutant),
        ..Options::default()
    };
    let found = (1..=MUTANT_SEEDS)
        .find(|seed| !run(*seed, options).expect("the run").violations.is_empty());
    assert!(
        found.is_some(),
        "mutant {} survived {MUTANT_SEEDS} seeds",
        mutant.name()
    );
}

macro_rules! mutants {
    ($($test:ident: $mutant:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                caught(Mutant::$mutant);
            }
        )*
    };
}

mutants! {
    mutant_sign_in_other_user_wipes_is_caught: SignInOtherUserWipes,
    mutant_server_spelling_wipes_is_caught: ServerSpellingWipes,
    mutant_wipe_drops_unsent_is_caught: WipeDropsUnsent,
    mutant_field_security_stale_is_caught: FieldSecurityStale,
    mutant_double_apply_is_caught: DoubleApply,
    mutant_pull_skips_late_commit_is_caught: PullSkipsLateCommit,
    mutant_device_ignores_hierarchy_is_caught: DeviceIgnoresHierarchy,
}

/// Found by the simulation: a user signed in again after a server-ordered wipe into an
/// older store of theirs (its keychain entry had come back), with another device id than
/// the sealed file's, and could not restore it. A user's recovery file now restores into
/// any of their stores (the server knows ops by user and op id).
#[test]
fn seed_27_work_sealed_under_another_device_id_is_restored() {
    let report = run(27, Options::default()).expect("the run");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

/// Found by the simulation: a record a user made offline was applied by the server and
/// reassigned away before the device pulled it back; the server did not count it as held
/// by the device, so the device kept its own copy for good. A pushed create now counts as
/// held, and the next pull refreshes or removes it.
#[test]
fn seed_330_a_record_made_offline_that_left_scope_before_it_came_back_is_removed() {
    let report = run(330, Options::default()).expect("the run");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

/// Found by the simulation: a user's read of a secured field was taken away and given
/// back between two pulls of a device that saw the first change in an access answer; the
/// device forgot the values, the server never knew, and they never came back. The device
/// now names what it forgot in its next pull request.
#[test]
fn seed_356_values_forgotten_on_the_device_come_back_with_the_grant() {
    let report = run(356, Options::default()).expect("the run");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

/// Found by the simulation: a device's disk filled up while the domain applied an edit to
/// the local layer, and the user was told "corrupt local data" (the data was sound). The
/// store's own error now reaches the user: the disk is full.
#[test]
fn seed_7_a_full_disk_during_an_edit_is_told_as_a_full_disk() {
    let report = run(7, Options::default()).expect("the run");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

/// Found by the simulation: a store a server-ordered wipe emptied got its sealed work back
/// and pushed a record made offline before its first pull; that pull (checkpoint 0)
/// forgot that the device held it, and the record, outside the user's profile filter,
/// stayed on the device forever. The first pull now keeps what the device pushed.
#[test]
fn seed_9_a_record_pushed_before_the_first_pull_and_out_of_scope_is_removed() {
    let report = run(9, Options::default()).expect("the run");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}
