//! Golden transcripts of the sync engine: each scenario feeds a script of inputs and the
//! whole exchange (`>` input, `<` output, one JSON value per line) must equal the file in
//! `transcripts/`. Run with `UPDATE_TRANSCRIPTS=1` to rewrite the files, then review the diff.
//! The scheduler's tests are in `scheduler.rs`.

mod scheduler;

use std::path::PathBuf;

use outpost_domain::{FieldConflict, Fields, Operation};
use outpost_protocol::{OpOutcome, OpResult, PullResponse, PushOp, PushResponse, RecordPayload};
use outpost_sync::{Engine, Input, Output};

/// Runs `script` through a fresh engine and compares the transcript with the golden file.
/// Each script entry answers the engine's last request; `None` ends the script.
fn check(
    name: &str,
    engine: Engine,
    start: Input,
    mut answer: impl FnMut(&Output) -> Option<Input>,
) {
    let mut engine = engine;
    let mut transcript = String::new();
    let mut input = Some(start);
    let mut steps = 0;
    while let Some(i) = input.take() {
        steps += 1;
        assert!(steps < 100, "the scenario must end");
        transcript.push_str(&format!("> {}\n", serde_json::to_string(&i).expect("json")));
        for out in engine.handle(i) {
            transcript.push_str(&format!(
                "< {}\n",
                serde_json::to_string(&out).expect("json")
            ));
            if let Some(next) = answer(&out) {
                assert!(input.is_none(), "the engine asks for one request at a time");
                input = Some(next);
            }
        }
    }
    assert!(
        engine.is_done(),
        "every scenario ends with Finished or Failed"
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/sync/transcripts/{name}.txt"));
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        std::fs::write(&path, &transcript).expect("write transcript");
        return;
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}: run with UPDATE_TRANSCRIPTS=1", path.display()));
    assert_eq!(
        transcript, golden,
        "transcript {name} changed; if intended, rerun with UPDATE_TRANSCRIPTS=1 and review"
    );
}

fn rename(op_id: &str, id: &str, to: &str) -> PushOp {
    let one = |v: &str| Fields::from([("name".to_owned(), Some(v.to_owned()))]);
    PushOp {
        op_id: op_id.into(),
        base_version: Some(1),
        op: Operation::Update {
            entity: "account".into(),
            id: id.into(),
            changes: one(to),
            before: one("Old"),
        },
    }
}

fn page(ids: &[&str], first_version: u64, has_more: bool) -> PullResponse {
    let records: Vec<RecordPayload> = ids
        .iter()
        .zip(first_version..)
        .map(|(id, v)| RecordPayload {
            entity: "account".into(),
            id: (*id).into(),
            row_version: v,
            fields: Fields::from([("name".to_owned(), Some(format!("Account {id}")))]),
            reason: "profile".into(),
        })
        .collect();
    PullResponse {
        checkpoint: first_version + ids.len() as u64 - 1,
        records,
        removed: vec![],
        has_more,
        metadata_version: 1,
        ..PullResponse::default()
    }
}

/// A run with no resolutions to send, `pending` ops and `checkpoint`, on metadata 1.
fn start(pending: Vec<PushOp>, checkpoint: u64) -> Input {
    Input::Start {
        resolutions: vec![],
        pending,
        checkpoint,
        metadata_version: 1,
    }
}

/// Answers every op applied at `row_version` except `failing`, which conflicts on `name`
/// (the device's value `mine`, the server's "Theirs").
fn answer_all_but(
    req: &outpost_protocol::PushRequest,
    failing: &str,
    mine: &str,
    row_version: u64,
) -> Input {
    Input::Pushed(PushResponse {
        outcomes: req
            .ops
            .iter()
            .map(|op| OpOutcome {
                op_id: op.op_id.clone(),
                result: if op.op_id == failing {
                    OpResult::Conflict {
                        fields: vec![FieldConflict {
                            field: "name".into(),
                            before: Some("Old".into()),
                            mine: Some(mine.into()),
                            server: Some("Theirs".into()),
                        }],
                    }
                } else {
                    OpResult::Applied { row_version }
                },
            })
            .collect(),
    })
}

#[test]
fn first_sync_pushes_in_order_then_pulls_every_page() {
    let mut pages = vec![page(&["a1", "a2"], 5, true), page(&["a3"], 7, false)].into_iter();
    check(
        "first_sync",
        Engine::new(2, 2),
        start(
            vec![
                rename("op-1", "a1", "One"),
                rename("op-2", "a2", "Two"),
                rename("op-3", "a1", "Three"),
            ],
            0,
        ),
        |out| match out {
            Output::Push(req) => Some(answer_all_but(req, "op-2", "Two", 4)),
            Output::Pull(_) => pages.next().map(Input::Pulled),
            _ => None,
        },
    );
}

#[test]
fn an_unreachable_server_ends_the_run_and_keeps_what_was_stored() {
    check(
        "unreachable_during_pull",
        Engine::new(10, 2),
        start(vec![], 4),
        {
            let mut answered = false;
            move |out| match out {
                Output::Pull(_) if !answered => {
                    answered = true;
                    Some(Input::Pulled(page(&["a1", "a2"], 5, true)))
                }
                Output::Pull(_) => Some(Input::TransportFailed {
                    reason: "connection refused".into(),
                }),
                _ => None,
            }
        },
    );
}

#[test]
fn a_push_answer_that_does_not_match_the_request_is_a_protocol_error() {
    check(
        "mismatched_push_answer",
        Engine::new(10, 2),
        start(vec![rename("op-1", "a1", "One")], 0),
        |out| match out {
            Output::Push(_) => Some(Input::Pushed(PushResponse { outcomes: vec![] })),
            _ => None,
        },
    );
}

#[test]
fn a_refused_token_ends_the_run() {
    check(
        "unauthorized",
        Engine::new(10, 2),
        start(vec![], 0),
        |out| matches!(out, Output::Pull(_)).then_some(Input::Unauthorized),
    );
}

#[test]
fn a_page_for_newer_metadata_is_fetched_again_after_the_migration() {
    let mut newer = page(&["a1"], 5, false);
    newer.metadata_version = 2;
    let mut pulls = 0;
    check(
        "newer_metadata",
        Engine::new(10, 2),
        start(vec![], 4),
        move |out| match out {
            Output::Pull(_) => {
                pulls += 1;
                (pulls <= 2).then(|| Input::Pulled(newer.clone()))
            }
            Output::FetchMetadata { version } => Some(Input::MetadataApplied {
                version: *version,
                checkpoint: 0,
            }),
            _ => None,
        },
    );
}

#[test]
fn metadata_older_than_the_pages_is_a_protocol_error_not_a_loop() {
    let mut newer = page(&["a1"], 5, false);
    newer.metadata_version = 3;
    check(
        "stale_metadata",
        Engine::new(10, 2),
        start(vec![], 4),
        move |out| match out {
            Output::Pull(_) => Some(Input::Pulled(newer.clone())),
            Output::FetchMetadata { .. } => Some(Input::MetadataApplied {
                version: 2,
                checkpoint: 4,
            }),
            _ => None,
        },
    );
}

#[test]
fn a_wipe_page_is_not_stored_and_ends_the_run_with_a_wipe() {
    let wipe = PullResponse {
        wipe: true,
        ..page(&["a1"], 5, true)
    };
    check("wipe", Engine::new(10, 2), start(vec![], 4), move |out| {
        matches!(out, Output::Pull(_)).then(|| Input::Pulled(wipe.clone()))
    });
}

#[test]
fn a_refused_ahead_answer_is_never_stored_as_a_page() {
    // Only the driver's request ahead is answered so, and it never hands one over; if one
    // arrived here it must end the run, not be stored with its checkpoint 0.
    let refused = PullResponse {
        ahead_refused: true,
        ..PullResponse::default()
    };
    check(
        "ahead_refused",
        Engine::new(10, 2),
        start(vec![], 4),
        move |out| matches!(out, Output::Pull(_)).then(|| Input::Pulled(refused.clone())),
    );
}

#[test]
fn a_reset_page_may_carry_any_checkpoint_because_checkpoints_are_opaque() {
    let mut pages = vec![
        PullResponse {
            reset: true,
            ..page(&["a1"], 1, true)
        },
        page(&["a2"], 2, false),
    ]
    .into_iter();
    check(
        "reset",
        Engine::new(10, 2),
        start(vec![], 900),
        move |out| match out {
            Output::Pull(_) => pages.next().map(Input::Pulled),
            _ => None,
        },
    );
}

#[test]
fn a_failed_op_parks_only_the_later_ops_on_its_record() {
    // op-1 (a1) fails; op-3 (a1 again) must not be sent, op-2 and op-4 (a2, a3) go on.
    // A batch never holds two ops on one record, so op-3 was not in op-1's batch.
    let mut pages = vec![page(&[], 1, false)].into_iter();
    check(
        "parking",
        Engine::new(10, 10),
        start(
            vec![
                rename("op-1", "a1", "One"),
                rename("op-2", "a2", "Two"),
                rename("op-3", "a1", "Three"),
                rename("op-4", "a3", "Four"),
            ],
            0,
        ),
        |out| match out {
            Output::Push(req) => Some(answer_all_but(req, "op-1", "Mine", 9)),
            Output::Pull(_) => pages.next().map(Input::Pulled),
            _ => None,
        },
    );
}

#[test]
fn resolutions_go_first_and_a_refused_one_is_stored_as_such() {
    let mut pages = vec![page(&[], 1, false)].into_iter();
    let mut answers = vec![
        Input::Resolved(None),
        Input::Resolved(Some(OpResult::Error {
            code: "invalid".into(),
            message: "name: required".into(),
            fields: vec![],
        })),
    ]
    .into_iter();
    check(
        "resolutions",
        Engine::new(10, 10),
        Input::Start {
            resolutions: vec![
                ("op-0".into(), outpost_protocol::ResolutionAction::Apply),
                ("op-00".into(), outpost_protocol::ResolutionAction::Discard),
            ],
            pending: vec![rename("op-1", "a1", "One")],
            checkpoint: 0,
            metadata_version: 1,
        },
        |out| match out {
            Output::Resolve { .. } => answers.next(),
            Output::Push(req) => Some(answer_all_but(req, "none", "Mine", 9)),
            Output::Pull(_) => pages.next().map(Input::Pulled),
            _ => None,
        },
    );
}
