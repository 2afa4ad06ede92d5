//! The background-sync scheduler, driven the way `outpost-core` drives it: a fake clock
//! (plain milliseconds), events fed at chosen times, and `Tick` fed at each
//! `next_wakeup` in between.

use outpost_protocol::DeviceProfileItem;
use outpost_sync::{
    Action, Config, Event, Notification, Scheduler, Status, StatusState, SyncOutcome, SyncReason,
};

const SEC: u64 = 1_000;
const MIN: u64 = 60 * SEC;

/// A scheduler and the fake clock of the driver that feeds it.
struct Driver {
    s: Scheduler,
    now: u64,
}

impl Driver {
    /// The app's timings without the online check, whose probes would interleave with
    /// every other rule's actions; it has its own test, with [`Driver::with`].
    fn new() -> Self {
        Self::with(Config {
            online_check_ms: 0,
            ..Config::default()
        })
    }

    fn with(config: Config) -> Self {
        Self {
            s: Scheduler::new(config),
            now: 0,
        }
    }

    /// Feeds `event` at `at`.
    fn at(&mut self, at: u64, event: Event) -> Vec<Action> {
        assert!(at >= self.now, "the test clock must not run backwards");
        self.now = at;
        let out = self.s.handle(at, event);
        self.check_wakeup();
        out
    }

    /// A sync the user asks for at `at` that finishes a second later with `outcome`; the
    /// actions fed by the finish.
    fn run_once(&mut self, at: u64, outcome: SyncOutcome) -> Vec<Action> {
        self.at(at, Event::SyncRequested);
        self.at(at + SEC, finished(outcome))
    }

    /// Lets time run to `until` as the driver would: `Tick` at each wakeup on the way.
    /// Returns the actions with the time they were asked for.
    fn run_until(&mut self, until: u64) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        while let Some(wake) = self.s.next_wakeup() {
            if wake > until {
                break;
            }
            self.now = wake;
            out.extend(
                self.s
                    .handle(wake, Event::Tick)
                    .into_iter()
                    .map(|a| (wake, a)),
            );
            self.check_wakeup();
        }
        self.now = until;
        out
    }

    fn check_wakeup(&self) {
        if let Some(wake) = self.s.next_wakeup() {
            assert!(
                wake > self.now,
                "next_wakeup {wake} must be later than now {}",
                self.now
            );
        }
    }

    fn status(&self) -> Status {
        self.s.status()
    }
}

fn item(entity: &str, minutes: u32) -> DeviceProfileItem {
    DeviceProfileItem {
        entity: entity.into(),
        sync_interval_minutes: minutes,
    }
}

fn signed_in(items: Vec<DeviceProfileItem>, first_sync_done: bool, pending_ops: u32) -> Event {
    Event::SignedIn {
        items,
        first_sync_done,
        pending_ops,
    }
}

fn finished(outcome: SyncOutcome) -> Event {
    Event::SyncFinished { outcome }
}

fn ok() -> SyncOutcome {
    SyncOutcome::Ok {
        pulled: 3,
        conflicts: 0,
        errors: 0,
        pending: 0,
    }
}

fn reachable(yes: bool) -> Event {
    Event::ProbeResult { reachable: yes }
}

/// The actions without the status updates.
fn acts(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Status(_)))
        .collect()
}

fn timed_acts(actions: Vec<(u64, Action)>) -> Vec<(u64, Action)> {
    actions
        .into_iter()
        .filter(|(_, a)| !matches!(a, Action::Status(_)))
        .collect()
}

fn sync(reason: SyncReason) -> Action {
    Action::Sync { reason }
}

fn refresh(entities: &[&str]) -> Action {
    sync(SyncReason::Refresh {
        entities: entities.iter().map(|e| (*e).to_owned()).collect(),
    })
}

fn statuses(actions: &[Action]) -> Vec<&Status> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Status(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Signed in with account (5 min) and contact (60 min), first sync done at 1 s, idle.
fn online_session() -> Driver {
    let mut d = Driver::new();
    d.at(
        0,
        signed_in(vec![item("account", 5), item("contact", 60)], false, 0),
    );
    assert_eq!(
        acts(d.at(0, reachable(true))),
        vec![sync(SyncReason::Initial)],
        "a reachable server gets the first sync at once"
    );
    assert_eq!(acts(d.at(SEC, finished(ok()))), vec![]);
    assert_eq!(d.status().state, StatusState::Available);
    d
}

#[test]
fn sign_in_probes_then_runs_the_first_sync_when_the_server_answers() {
    let mut d = Driver::new();
    let out = d.at(0, signed_in(vec![item("account", 5)], false, 0));
    assert_eq!(
        acts(out.clone()),
        vec![Action::Probe],
        "reachability is unknown"
    );
    assert_eq!(
        statuses(&out)[0].state,
        StatusState::Initializing,
        "signed in without a first download is initializing"
    );
    let out = d.at(100, reachable(true));
    assert_eq!(acts(out.clone()), vec![sync(SyncReason::Initial)]);
    assert!(statuses(&out)[0].syncing, "the status shows the run");
    assert_eq!(
        d.s.next_wakeup(),
        None,
        "nothing to wake for while the run goes on"
    );

    let out = d.at(2 * SEC, finished(ok()));
    let status = statuses(&out)[0];
    assert_eq!(status.state, StatusState::Available);
    assert_eq!(status.last_sync_at, Some(2 * SEC));
    assert!(!status.syncing);
    assert_eq!(status.entities[0].last_sync_at, Some(2 * SEC));
    assert!(status.entities[0].available);
}

#[test]
fn an_unreachable_server_is_probed_with_doubling_backoff_up_to_the_cap_and_never_synced() {
    let mut d = Driver::new();
    assert_eq!(
        acts(d.at(0, signed_in(vec![item("account", 5)], false, 0))),
        vec![Action::Probe]
    );
    let mut probes = vec![0];
    let out = d.at(0, reachable(false));
    assert!(
        !statuses(&out)[0].online,
        "offline as soon as a probe fails"
    );
    assert_eq!(statuses(&out)[0].state, StatusState::NotAvailable);
    assert_eq!(statuses(&out)[0].next_probe_at, Some(5 * SEC));
    while d.now < 40 * MIN {
        let wake = d.s.next_wakeup().expect("offline keeps probing");
        let out = timed_acts(d.run_until(wake));
        assert_eq!(
            out,
            vec![(wake, Action::Probe)],
            "only probes while offline"
        );
        probes.push(wake);
        assert!(
            acts(d.at(wake, reachable(false))).is_empty(),
            "no sync while unreachable"
        );
    }
    let gaps: Vec<u64> = probes.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps[..9],
        [5, 10, 20, 40, 80, 160, 300, 300, 300].map(|s| s * SEC),
        "5 s doubling, capped at 5 min"
    );
    assert!(gaps.iter().all(|g| *g <= 5 * MIN));

    let wake = d.s.next_wakeup().expect("still probing");
    d.run_until(wake);
    assert_eq!(
        acts(d.at(wake, reachable(true))),
        vec![sync(SyncReason::Initial)]
    );
}

#[test]
fn reconnecting_with_pending_changes_syncs_at_once() {
    let mut d = online_session();
    assert!(acts(d.at(10 * SEC, Event::NetworkHint { up: false })).is_empty());
    assert!(
        acts(d.at(11 * SEC, Event::OutboxChanged { pending: 2 })).is_empty(),
        "no push while offline"
    );
    assert!(timed_acts(d.run_until(MIN)).is_empty());
    assert_eq!(
        acts(d.at(MIN, Event::NetworkHint { up: true })),
        vec![Action::Probe],
        "network back: probe at once"
    );
    assert_eq!(
        acts(d.at(MIN + 50, reachable(true))),
        vec![sync(SyncReason::Reconnect)],
        "reachable again with changes waiting: replay at once"
    );
}

#[test]
fn reconnecting_without_pending_changes_waits_for_what_is_due() {
    let mut d = online_session();
    d.at(10 * SEC, Event::NetworkHint { up: false });
    assert_eq!(
        acts(d.at(20 * SEC, Event::NetworkHint { up: true })),
        vec![Action::Probe]
    );
    assert!(acts(d.at(20 * SEC, reachable(true))).is_empty());
    assert_eq!(d.s.next_wakeup(), Some(SEC + 5 * MIN), "account's interval");
}

#[test]
fn a_run_that_finds_the_server_unreachable_starts_probing_and_replays_on_reconnect() {
    let mut d = online_session();
    d.at(10 * SEC, Event::OutboxChanged { pending: 1 });
    assert_eq!(
        timed_acts(d.run_until(12 * SEC)),
        vec![(12 * SEC, sync(SyncReason::Push))]
    );
    let out = d.at(13 * SEC, finished(SyncOutcome::Unreachable));
    assert!(!statuses(&out)[0].online);
    assert_eq!(d.s.next_wakeup(), Some(18 * SEC), "first probe 5 s later");
    assert_eq!(
        timed_acts(d.run_until(18 * SEC)),
        vec![(18 * SEC, Action::Probe)]
    );
    assert_eq!(
        acts(d.at(18 * SEC, reachable(true))),
        vec![sync(SyncReason::Reconnect)]
    );
}

#[test]
fn changes_within_the_debounce_become_one_push() {
    let mut d = online_session();
    for t in [10 * SEC, 10 * SEC + 500, 11 * SEC + 900] {
        assert!(
            acts(d.at(t, Event::OutboxChanged { pending: 1 })).is_empty(),
            "no push before the debounce"
        );
    }
    assert_eq!(
        d.s.next_wakeup(),
        Some(12 * SEC),
        "2 s after the first change"
    );
    assert_eq!(
        timed_acts(d.run_until(MIN)),
        vec![(12 * SEC, sync(SyncReason::Push))],
        "one push for the three changes"
    );
}

#[test]
fn a_change_during_a_run_gets_one_more_run_after_it() {
    let mut d = online_session();
    d.at(10 * SEC, Event::OutboxChanged { pending: 1 });
    assert_eq!(
        timed_acts(d.run_until(12 * SEC)),
        vec![(12 * SEC, sync(SyncReason::Push))]
    );
    assert!(acts(d.at(13 * SEC, Event::OutboxChanged { pending: 2 })).is_empty());
    assert!(acts(d.at(14 * SEC, Event::SyncRequested)).is_empty());
    assert!(
        timed_acts(d.run_until(MIN)).is_empty(),
        "never a second run while one goes on"
    );
    let out = acts(d.at(
        MIN,
        finished(SyncOutcome::Ok {
            pulled: 0,
            conflicts: 0,
            errors: 0,
            pending: 1,
        }),
    ));
    assert_eq!(out, vec![sync(SyncReason::Manual)], "exactly one more run");
    d.at(MIN + SEC, finished(ok()));
    assert!(
        timed_acts(d.run_until(2 * MIN)).is_empty(),
        "the change rode along with that run"
    );
}

#[test]
fn a_change_pushed_by_the_running_run_needs_no_second_run() {
    let mut d = online_session();
    d.at(10 * SEC, Event::SyncRequested);
    d.at(10 * SEC + 10, Event::OutboxChanged { pending: 1 });
    assert!(
        acts(d.at(11 * SEC, finished(ok()))).is_empty(),
        "outbox empty"
    );
    assert!(timed_acts(d.run_until(MIN)).is_empty());
}

#[test]
fn each_entity_is_refreshed_on_its_own_interval() {
    let mut d = online_session();
    assert_eq!(d.s.next_wakeup(), Some(SEC + 5 * MIN));
    assert_eq!(
        timed_acts(d.run_until(SEC + 5 * MIN)),
        vec![(SEC + 5 * MIN, refresh(&["account"]))],
        "the 5-minute entity is due before the 60-minute one"
    );
    d.at(SEC + 5 * MIN + 500, finished(ok()));
    assert_eq!(
        d.s.next_wakeup(),
        Some(SEC + 10 * MIN + 500),
        "the interval counts from the end of the last run"
    );
}

#[test]
fn entities_due_together_are_listed_together_and_zero_intervals_never_come_due() {
    let mut d = Driver::new();
    d.at(
        0,
        signed_in(
            vec![item("account", 15), item("manual", 0), item("contact", 15)],
            true,
            0,
        ),
    );
    assert_eq!(
        acts(d.at(0, reachable(true))),
        vec![refresh(&["account", "contact"])],
        "a stored download refreshes every entity with an interval at start"
    );
    d.at(SEC, finished(ok()));
    assert_eq!(
        timed_acts(d.run_until(20 * MIN)),
        vec![(SEC + 15 * MIN, refresh(&["account", "contact"]))]
    );
}

#[test]
fn an_entity_added_to_the_profile_is_due_at_once() {
    let mut d = online_session();
    let out = acts(d.at(
        10 * SEC,
        Event::ProfileChanged {
            items: vec![item("account", 5), item("lead", 30)],
        },
    ));
    assert_eq!(out, vec![refresh(&["lead"])]);
    d.at(11 * SEC, finished(ok()));
    let entities: Vec<String> = d.status().entities.into_iter().map(|e| e.entity).collect();
    assert_eq!(entities, ["account", "lead"], "contact left the profile");
}

#[test]
fn nothing_happens_while_locked_and_what_is_due_runs_on_unlock() {
    let mut d = online_session();
    let out = d.at(MIN, Event::Locked(true));
    assert!(statuses(&out)[0].locked);
    assert_eq!(d.s.next_wakeup(), None, "nothing to wake for while locked");
    assert!(acts(d.at(2 * MIN, Event::SyncRequested)).is_empty());
    assert!(acts(d.at(3 * MIN, Event::NetworkHint { up: false })).is_empty());
    assert!(
        acts(d.at(4 * MIN, Event::NetworkHint { up: true })).is_empty(),
        "no probe"
    );
    assert!(timed_acts(d.run_until(30 * MIN)).is_empty());
    assert_eq!(
        acts(d.at(30 * MIN, Event::Locked(false))),
        vec![Action::Probe],
        "unlocked: first find out whether the server is there"
    );
    assert_eq!(
        acts(d.at(30 * MIN, reachable(true))),
        vec![sync(SyncReason::Manual)]
    );
}

#[test]
fn unlock_runs_the_refresh_that_came_due_while_locked() {
    let mut d = online_session();
    d.at(MIN, Event::Locked(true));
    assert!(timed_acts(d.run_until(30 * MIN)).is_empty());
    assert_eq!(
        acts(d.at(30 * MIN, Event::Locked(false))),
        vec![refresh(&["account"])]
    );
}

#[test]
fn a_network_down_hint_is_offline_at_once_without_probing() {
    let mut d = online_session();
    let out = d.at(MIN, Event::NetworkHint { up: false });
    assert_eq!(
        acts(out.clone()),
        vec![],
        "no probe when the OS says there is no network"
    );
    assert!(!statuses(&out)[0].online);
    assert!(statuses(&out)[0].reasons.contains(&"No network".to_owned()));
    assert!(acts(d.at(2 * MIN, Event::OutboxChanged { pending: 1 })).is_empty());
    assert_eq!(
        d.s.next_wakeup(),
        Some(16 * MIN),
        "only the long fallback probe"
    );
    assert_eq!(
        timed_acts(d.run_until(16 * MIN)),
        vec![(16 * MIN, Action::Probe)]
    );
    d.at(16 * MIN, reachable(false));
    assert_eq!(
        d.s.next_wakeup(),
        Some(31 * MIN),
        "still the fallback while down"
    );
}

#[test]
fn sync_now_while_offline_probes_at_once_and_resets_the_backoff() {
    let mut d = Driver::new();
    d.at(0, signed_in(vec![item("account", 5)], true, 0));
    d.at(0, reachable(false));
    for _ in 0..4 {
        let wake = d.s.next_wakeup().expect("probing");
        d.run_until(wake);
        d.at(wake, reachable(false));
    }
    assert_eq!(d.s.next_wakeup(), Some(75 * SEC + 80 * SEC));
    assert_eq!(
        acts(d.at(80 * SEC, Event::SyncRequested)),
        vec![Action::Probe]
    );
    d.at(80 * SEC, reachable(false));
    assert_eq!(d.s.next_wakeup(), Some(85 * SEC), "back to 5 s");
    assert_eq!(
        timed_acts(d.run_until(85 * SEC)),
        vec![(85 * SEC, Action::Probe)]
    );
    assert_eq!(
        acts(d.at(85 * SEC, reachable(true))),
        vec![sync(SyncReason::Manual)],
        "the request is kept until the server answers"
    );
}

#[test]
fn a_waiting_metadata_update_stops_syncing_until_the_user_accepts_it() {
    let mut d = online_session();
    let out = d.run_once(10 * SEC, SyncOutcome::MetadataPending { version: 7 });
    assert_eq!(
        acts(out.clone()),
        vec![
            Action::Notify(Notification::MetadataWaiting { version: 7 }),
            Action::PromptMetadata { version: 7 },
        ]
    );
    let status = statuses(&out)[0];
    assert_eq!(status.state, StatusState::AvailableWarning);
    assert_eq!(status.metadata_pending, Some(7));
    assert_eq!(d.s.next_wakeup(), None);
    assert!(acts(d.at(20 * SEC, Event::OutboxChanged { pending: 1 })).is_empty());
    assert!(acts(d.at(21 * SEC, Event::SyncRequested)).is_empty());
    assert!(
        timed_acts(d.run_until(2 * 60 * MIN)).is_empty(),
        "no background sync while metadata waits"
    );
    assert_eq!(
        acts(d.at(2 * 60 * MIN, Event::MetadataAccepted)),
        vec![sync(SyncReason::Manual)],
        "accepting resumes at once (the earlier Sync now rides along)"
    );
    assert!(
        acts(d.at(
            2 * 60 * MIN + 1,
            finished(SyncOutcome::MetadataPending { version: 7 })
        ))
        .is_empty(),
        "one notification and one prompt per version"
    );
    let out = d.at(
        3 * 60 * MIN,
        finished(SyncOutcome::MetadataPending { version: 8 }),
    );
    assert_eq!(acts(out).len(), 2, "a newer version is announced again");
}

#[test]
fn accepting_metadata_resumes_with_its_own_reason() {
    let mut d = online_session();
    d.at(MIN, Event::Visible(false));
    d.at(SEC + 5 * MIN, Event::Tick);
    let out = d.at(
        SEC + 5 * MIN + 10,
        finished(SyncOutcome::MetadataPending { version: 3 }),
    );
    assert_eq!(
        acts(out),
        vec![Action::Notify(Notification::MetadataWaiting { version: 3 })],
        "no prompt while minimized"
    );
    assert_eq!(
        acts(d.at(10 * MIN, Event::Visible(true))),
        vec![Action::PromptMetadata { version: 3 }],
        "prompted when the window comes back"
    );
    assert_eq!(
        acts(d.at(11 * MIN, Event::MetadataAccepted)),
        vec![sync(SyncReason::MetadataAccepted)]
    );
}

#[test]
fn background_sync_goes_on_while_minimized() {
    let mut d = online_session();
    d.at(MIN, Event::Visible(false));
    assert_eq!(
        timed_acts(d.run_until(10 * MIN)),
        vec![(SEC + 5 * MIN, refresh(&["account"]))]
    );
}

#[test]
fn a_run_with_new_conflicts_or_errors_notifies_with_the_counts() {
    let mut d = online_session();
    let out = d.run_once(
        10 * SEC,
        SyncOutcome::Ok {
            pulled: 0,
            conflicts: 2,
            errors: 1,
            pending: 0,
        },
    );
    assert_eq!(
        acts(out),
        vec![Action::Notify(Notification::SyncIssues {
            conflicts: 2,
            errors: 1
        })]
    );
    assert!(
        acts(d.run_once(12 * SEC, ok())).is_empty(),
        "a clean run notifies nothing"
    );
}

#[test]
fn a_refused_token_is_an_error_and_stops_everything_until_the_next_sign_in() {
    let mut d = online_session();
    let out = d.run_once(10 * SEC, SyncOutcome::Unauthorized);
    assert_eq!(statuses(&out)[0].state, StatusState::Error);
    assert_eq!(d.s.next_wakeup(), None);
    assert!(acts(d.at(20 * SEC, Event::SyncRequested)).is_empty());
    assert!(acts(d.at(21 * SEC, Event::OutboxChanged { pending: 1 })).is_empty());
    assert!(acts(d.at(22 * SEC, Event::NetworkHint { up: true })).is_empty());
    assert!(timed_acts(d.run_until(60 * MIN)).is_empty());
    assert_eq!(
        acts(d.at(60 * MIN, signed_in(vec![item("account", 5)], true, 1))),
        vec![refresh(&["account"])],
        "signed in again: the server was reachable, so sync at once"
    );
}

#[test]
fn a_wipe_ends_the_offline_data_until_the_next_sign_in() {
    let mut d = online_session();
    let out = d.run_once(10 * SEC, SyncOutcome::Wiped);
    let status = statuses(&out)[0];
    assert_eq!(status.state, StatusState::NotAvailable);
    assert!(status.entities.iter().all(|e| !e.available));
    assert!(timed_acts(d.run_until(60 * MIN)).is_empty());
}

#[test]
fn a_failed_run_is_an_error_then_a_repair_retried_with_backoff() {
    let mut d = online_session();
    let fail = || SyncOutcome::Failed {
        message: "bad page".into(),
    };
    let out = d.run_once(10 * SEC, fail());
    assert_eq!(statuses(&out)[0].state, StatusState::Error);
    assert_eq!(
        statuses(&out)[0].reasons,
        ["Last sync failed: bad page"],
        "the reason is in the flyout"
    );
    assert_eq!(d.s.next_wakeup(), Some(41 * SEC), "30 s before a retry");
    let out = d.run_until(41 * SEC);
    assert_eq!(
        timed_acts(out.clone()),
        vec![(41 * SEC, sync(SyncReason::Retry))]
    );
    assert_eq!(
        statuses(&out.into_iter().map(|(_, a)| a).collect::<Vec<_>>())[0].state,
        StatusState::NotAvailableWarning,
        "a run after an error is a repair under way"
    );
    d.at(42 * SEC, finished(fail()));
    assert_eq!(d.s.next_wakeup(), Some(102 * SEC), "then 60 s");
    d.run_until(102 * SEC);
    let out = d.at(103 * SEC, finished(ok()));
    assert_eq!(statuses(&out)[0].state, StatusState::Available);
    assert_eq!(
        d.s.next_wakeup(),
        Some(103 * SEC + 5 * MIN),
        "back to the intervals"
    );
}

#[test]
fn a_failed_entity_is_unavailable_with_its_reason_until_it_is_fixed() {
    let mut d = online_session();
    let out = d.at(
        10 * SEC,
        Event::EntityFailed {
            entity: "contact".into(),
            message: "table migration failed".into(),
        },
    );
    let status = statuses(&out)[0];
    assert!(status.entities[0].available);
    assert!(!status.entities[1].available);
    assert_eq!(
        status.entities[1].reason.as_deref(),
        Some("table migration failed")
    );
    assert_eq!(status.reasons, ["contact: table migration failed"]);
    let out = d.at(
        11 * SEC,
        Event::EntityOk {
            entity: "contact".into(),
        },
    );
    assert!(statuses(&out)[0].entities[1].available);
}

#[test]
fn the_status_is_sent_only_when_it_changes() {
    let mut d = online_session();
    assert!(d.at(10 * SEC, Event::Tick).is_empty(), "nothing changed");
    assert!(
        d.at(11 * SEC, Event::Visible(true)).is_empty(),
        "already visible"
    );
    assert!(
        d.at(12 * SEC, Event::Visible(false)).is_empty(),
        "not in the status"
    );
    let out = d.at(13 * SEC, Event::OutboxChanged { pending: 1 });
    assert_eq!(statuses(&out).len(), 1);
    assert_eq!(statuses(&out)[0].pending_ops, 1);
    assert_eq!(statuses(&out)[0].next_sync_at, Some(15 * SEC));
    assert!(
        d.at(14 * SEC, Event::OutboxChanged { pending: 1 })
            .is_empty()
    );
}

#[test]
fn the_first_event_always_sends_a_status() {
    let mut s = Scheduler::default();
    let out = s.handle(0, Event::Tick);
    assert_eq!(statuses(&out)[0].state, StatusState::NotAvailable);
    assert_eq!(statuses(&out)[0].reasons, ["Signed out"]);
    assert_eq!(s.next_wakeup(), None, "signed out: nothing to wake for");
}

#[test]
fn signing_out_stops_everything() {
    let mut d = online_session();
    d.at(10 * SEC, Event::OutboxChanged { pending: 1 });
    let out = d.at(11 * SEC, Event::SignedOut);
    assert_eq!(statuses(&out)[0].state, StatusState::NotAvailable);
    assert_eq!(d.s.next_wakeup(), None);
    assert!(timed_acts(d.run_until(60 * MIN)).is_empty());
}

#[test]
fn actions_and_events_cross_the_boundary_as_tagged_json() {
    let action = refresh(&["account"]);
    assert_eq!(
        serde_json::to_value(&action).expect("json"),
        serde_json::json!({"action": "sync", "data": {"reason": {"kind": "refresh", "entities": ["account"]}}})
    );
    let event = finished(SyncOutcome::MetadataPending { version: 2 });
    let json = serde_json::to_value(&event).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"event": "sync_finished", "data": {"outcome": {"outcome": "metadata_pending", "version": 2}}})
    );
    assert_eq!(serde_json::from_value::<Event>(json).expect("parse"), event);
    let status = Scheduler::default().status();
    assert_eq!(
        serde_json::to_value(&status).expect("json")["state"],
        "not_available"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// What a driver may feed, with the time that passes before it.
    #[derive(Debug, Clone)]
    enum Step {
        SignIn(bool),
        SignOut,
        Probe(bool),
        Hint(bool),
        Lock(bool),
        Visible(bool),
        Change,
        SyncNow,
        Finish(u8),
        AcceptMetadata,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => any::<bool>().prop_map(Step::SignIn),
            1 => Just(Step::SignOut),
            4 => any::<bool>().prop_map(Step::Probe),
            2 => any::<bool>().prop_map(Step::Hint),
            2 => any::<bool>().prop_map(Step::Lock),
            1 => any::<bool>().prop_map(Step::Visible),
            3 => Just(Step::Change),
            2 => Just(Step::SyncNow),
            5 => (0u8..6).prop_map(Step::Finish),
            1 => Just(Step::AcceptMetadata),
        ]
    }

    /// What the driver knows from what it fed and was asked.
    #[derive(Default)]
    struct Model {
        signed_in: bool,
        locked: bool,
        known_online: bool,
        metadata_pending: bool,
        running: bool,
        probing: bool,
    }

    impl Model {
        fn check(&mut self, actions: &[Action]) {
            for action in actions {
                match action {
                    Action::Sync { .. } => {
                        assert!(!self.running, "two runs overlap");
                        assert!(self.signed_in, "a sync while signed out");
                        assert!(!self.locked, "a sync while locked");
                        assert!(self.known_online, "a sync while offline");
                        assert!(!self.metadata_pending, "a sync while metadata waits");
                        self.running = true;
                    }
                    Action::Probe => {
                        assert!(!self.probing, "a second probe before the first answered");
                        assert!(self.signed_in && !self.locked, "a probe while idle");
                        self.probing = true;
                    }
                    _ => {}
                }
            }
            let statuses: Vec<_> = actions
                .iter()
                .filter(|a| matches!(a, Action::Status(_)))
                .collect();
            assert!(statuses.len() <= 1, "one status per event at most");
            if !statuses.is_empty() {
                assert!(
                    matches!(actions.last(), Some(Action::Status(_))),
                    "the status comes last"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn no_random_sequence_breaks_the_rules(
            steps in proptest::collection::vec((0u64..400_000, step()), 1..80)
        ) {
            let mut d = Driver::new();
            let mut m = Model::default();
            for (gap, step) in steps {
                for (_, a) in d.run_until(d.now + gap) {
                    m.check(std::slice::from_ref(&a));
                }
                let now = d.now;
                let event = match step {
                    Step::SignIn(done) => {
                        m.signed_in = true;
                        m.metadata_pending = false;
                        m.running = false;
                        signed_in(vec![item("account", 5), item("contact", 60)], done, 0)
                    }
                    Step::SignOut => {
                        m.signed_in = false;
                        m.running = false;
                        m.known_online = m.known_online && m.probing;
                        Event::SignedOut
                    }
                    Step::Probe(yes) if m.probing => {
                        m.probing = false;
                        m.known_online = yes;
                        reachable(yes)
                    }
                    Step::Probe(_) => Event::Tick,
                    Step::Hint(up) => {
                        if !up {
                            m.known_online = false;
                        }
                        Event::NetworkHint { up }
                    }
                    Step::Lock(locked) => {
                        m.locked = locked;
                        Event::Locked(locked)
                    }
                    Step::Visible(v) => Event::Visible(v),
                    Step::Change => Event::OutboxChanged { pending: 1 },
                    Step::SyncNow => Event::SyncRequested,
                    Step::Finish(kind) if m.running => {
                        m.running = false;
                        let outcome = match kind {
                            0 => ok(),
                            1 => SyncOutcome::Unreachable,
                            2 => SyncOutcome::Unauthorized,
                            3 => SyncOutcome::Wiped,
                            4 => SyncOutcome::MetadataPending { version: 1 },
                            _ => SyncOutcome::Failed { message: "boom".into() },
                        };
                        match &outcome {
                            SyncOutcome::Ok { .. } | SyncOutcome::MetadataPending { .. } => {
                                m.known_online = true;
                            }
                            SyncOutcome::Unreachable => m.known_online = false,
                            SyncOutcome::Unauthorized | SyncOutcome::Wiped => {
                                m.signed_in = false;
                            }
                            SyncOutcome::Failed { .. } => {}
                        }
                        m.metadata_pending |=
                            matches!(outcome, SyncOutcome::MetadataPending { .. });
                        finished(outcome)
                    }
                    Step::Finish(_) => Event::Tick,
                    Step::AcceptMetadata => {
                        m.metadata_pending = false;
                        Event::MetadataAccepted
                    }
                };
                let out = d.at(now, event);
                m.check(&out);
                let status = d.status();
                prop_assert_eq!(status.syncing, m.running, "the status shows the run");
                prop_assert_eq!(status.locked, m.locked);
                if let Some(wake) = d.s.next_wakeup() {
                    prop_assert!(wake > d.now, "next_wakeup in the past");
                }
            }
        }
    }
}

#[test]
fn a_quiet_online_session_checks_the_server_each_minute_and_shows_offline_when_it_is_gone() {
    let mut d = Driver::with(Config::default());
    // An entity refreshed only by hand: nothing else is ever due.
    d.at(0, signed_in(vec![item("account", 0)], true, 0));
    assert_eq!(acts(d.at(0, reachable(true))), vec![]);
    assert_eq!(
        timed_acts(d.run_until(MIN)),
        vec![(MIN, Action::Probe)],
        "a minute after the last contact"
    );
    d.at(MIN + 10, reachable(true));
    assert_eq!(
        d.s.next_wakeup(),
        Some(2 * MIN + 10),
        "counted from that answer"
    );

    // A sync is contact too, and no probe runs beside a sync.
    assert_eq!(
        acts(d.at(MIN + 20, Event::SyncRequested)),
        vec![sync(SyncReason::Manual)]
    );
    assert_eq!(timed_acts(d.run_until(3 * MIN)), vec![]);
    d.at(3 * MIN, finished(ok()));
    assert_eq!(d.s.next_wakeup(), Some(4 * MIN));

    // The server goes away: the next check says so, and the status shows offline.
    assert_eq!(
        timed_acts(d.run_until(4 * MIN)),
        vec![(4 * MIN, Action::Probe)]
    );
    let out = d.at(4 * MIN + 10, reachable(false));
    assert!(
        statuses(&out).last().is_some_and(|s| !s.online),
        "offline at once: {out:?}"
    );
    assert!(!d.status().online);
}
