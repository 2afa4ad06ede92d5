//! One sync run: send the resolutions the user made on the device, push the outbox in
//! order, then pull every page after the checkpoint.
//!
//! Pushing keeps B2: when an operation fails, the queued operations about the same record
//! or about a record it created are held back (parked) for this run and every later one
//! until the error is resolved; a batch never carries two operations about the same
//! record, so nothing the server applies can depend on an answer the device has not seen.
//!
//! The checkpoint is the server's opaque page token: the engine only sends back the one
//! of the last stored page. A page for a newer metadata than the device's is not stored:
//! the engine asks for the metadata first, then for the same page again. A `wipe` page
//! ends the run (and the session) with a wipe.

use std::collections::BTreeSet;

use outpost_domain::EntityRef;

use outpost_protocol::{
    OpOutcome, OpResult, PullRequest, PullResponse, PushOp, PushRequest, PushResponse,
    ResolutionAction,
};
use serde::{Deserialize, Serialize};

/// What the driver tells the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", content = "data", rename_all = "snake_case")]
pub enum Input {
    /// Start a run with the operations waiting in the outbox (in order) and the stored
    /// pull checkpoint.
    Start {
        /// Resolutions made on the device, to send first: `(op id, action)`.
        #[serde(default)]
        resolutions: Vec<(String, ResolutionAction)>,
        /// Pending operations that are not parked, oldest first.
        pending: Vec<PushOp>,
        /// The checkpoint of the last stored page.
        checkpoint: u64,
        /// The version of the metadata the device's tables are made from (0: none yet).
        metadata_version: u64,
    },
    /// The driver fetched and applied the metadata asked for by
    /// [`Output::FetchMetadata`].
    MetadataApplied {
        /// The version the device now has.
        version: u64,
        /// The stored checkpoint after the migration (0 when it must pull everything).
        checkpoint: u64,
    },
    /// The server answered the last resolution: `None` when it took it (or it was already
    /// resolved there), else the refusal (the sync error stays open).
    Resolved(Option<OpResult>),
    /// The server answered the last push.
    Pushed(PushResponse),
    /// The server answered the last pull.
    Pulled(PullResponse),
    /// The last request failed before an answer arrived (unreachable, reset, timeout).
    TransportFailed {
        /// What the transport said.
        reason: String,
    },
    /// The server refused the token.
    Unauthorized,
}

/// What the engine asks the driver to do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "output", content = "data", rename_all = "snake_case")]
pub enum Output {
    /// Send this resolution and feed back [`Input::Resolved`].
    Resolve {
        /// The failed operation.
        op_id: String,
        /// Apply or discard.
        action: ResolutionAction,
    },
    /// Record the server's answer to a resolution.
    StoreResolution {
        /// The failed operation.
        op_id: String,
        /// `None`: done; else the refusal.
        refused: Option<OpResult>,
    },
    /// Send this push and feed back [`Input::Pushed`].
    Push(PushRequest),
    /// Send this pull and feed back [`Input::Pulled`].
    Pull(PullRequest),
    /// Record these outcomes in the outbox (applied ops leave it, refused ones stay).
    StoreOutcomes(Vec<OpOutcome>),
    /// Store this page (server layer, rebase, checkpoint) in one transaction.
    StorePage(PullResponse),
    /// Fetch the org metadata, migrate the store to it, and feed back
    /// [`Input::MetadataApplied`]; the page that asked for it was not stored.
    FetchMetadata {
        /// The version the server's page was computed for.
        version: u64,
    },
    /// Delete the offline data and its key and end the session; the run then fails with
    /// [`FailReason::Wiped`].
    Wipe,
    /// The run ended well.
    Finished(SyncSummary),
    /// The run ended early; whatever was stored before stays stored.
    Failed(FailReason),
}

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FailReason {
    /// The server could not be reached; try again later.
    Unreachable {
        /// What the transport said.
        detail: String,
    },
    /// The token was refused; the user must sign in again.
    Unauthorized,
    /// The server asked the device to delete its offline data.
    Wiped,
    /// The server answered something the protocol does not allow.
    Protocol {
        /// What was wrong.
        detail: String,
    },
}

/// What a finished run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Operations the server applied.
    pub pushed: u32,
    /// Records received.
    pub pulled: u32,
    /// Records removed.
    pub removed: u32,
    /// Operations refused as conflicts.
    pub conflicts: u32,
    /// Operations refused for another reason.
    pub errors: u32,
    /// Operations held back behind a failed one (B2).
    pub parked: u32,
    /// Resolutions the server took.
    pub resolved: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    Resolving {
        op_id: String,
    },
    Pushing {
        /// Each operation of the push in flight, with the records it is about.
        in_flight: Vec<(String, Vec<EntityRef>)>,
    },
    Pulling,
    /// Waiting for the metadata of `version` before asking for the page again.
    Migrating {
        version: u64,
    },
    Done,
}

/// The engine for one run. Create one per run; it ends in `Finished` or `Failed`.
#[derive(Debug, Clone)]
pub struct Engine {
    phase: Phase,
    resolutions: std::collections::VecDeque<(String, ResolutionAction)>,
    queue: std::collections::VecDeque<PushOp>,
    /// Records held by a failed operation of this run (B2).
    blocked: BTreeSet<EntityRef>,
    checkpoint: u64,
    metadata_version: u64,
    push_batch: usize,
    page_size: u32,
    summary: SyncSummary,
}

impl Engine {
    /// An engine that pushes at most `push_batch` operations per request and pulls pages
    /// of `page_size` records.
    pub fn new(push_batch: usize, page_size: u32) -> Self {
        Self {
            phase: Phase::Idle,
            resolutions: std::collections::VecDeque::new(),
            queue: std::collections::VecDeque::new(),
            blocked: BTreeSet::new(),
            checkpoint: 0,
            metadata_version: 0,
            push_batch: push_batch.max(1),
            page_size: page_size.max(1),
            summary: SyncSummary::default(),
        }
    }

    /// Whether the run has ended.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Feeds one input; returns what to do next, in order.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        match (std::mem::replace(&mut self.phase, Phase::Done), input) {
            (
                Phase::Idle,
                Input::Start {
                    resolutions,
                    pending,
                    checkpoint,
                    metadata_version,
                },
            ) => {
                self.resolutions = resolutions.into();
                self.queue = pending.into();
                self.checkpoint = checkpoint;
                self.metadata_version = metadata_version;
                self.next_step()
            }
            (Phase::Resolving { op_id }, Input::Resolved(refused)) => {
                if refused.is_none() {
                    self.summary.resolved += 1;
                }
                let mut out = vec![Output::StoreResolution { op_id, refused }];
                out.extend(self.next_step());
                out
            }
            (Phase::Pushing { in_flight }, Input::Pushed(res)) => {
                let answered = res.outcomes.iter().map(|o| o.op_id.as_str());
                if !answered.eq(in_flight.iter().map(|(id, _)| id.as_str())) {
                    return self.fail(FailReason::Protocol {
                        detail: format!(
                            "push answered {} outcomes for {} ops, or out of order",
                            res.outcomes.len(),
                            in_flight.len()
                        ),
                    });
                }
                for outcome in &res.outcomes {
                    match outcome.result {
                        OpResult::Applied { .. } => self.summary.pushed += 1,
                        OpResult::Conflict { .. } => self.summary.conflicts += 1,
                        OpResult::Error { .. } => self.summary.errors += 1,
                    }
                }
                // Outcomes come in the order of `in_flight` (checked above).
                let failed: Vec<EntityRef> = res
                    .outcomes
                    .iter()
                    .zip(in_flight)
                    .filter(|(o, _)| !matches!(o.result, OpResult::Applied { .. }))
                    .flat_map(|(_, (_, keys))| keys)
                    .collect();
                if !failed.is_empty() {
                    self.park(failed);
                }
                let mut out = vec![Output::StoreOutcomes(res.outcomes)];
                out.extend(self.next_step());
                out
            }
            (Phase::Pulling, Input::Pulled(page)) if page.ahead_refused => {
                // Only an answer to a request ahead is refused so, and the driver never
                // hands one over: it is not a page.
                self.fail(FailReason::Protocol {
                    detail: "a refused ahead answer is not a page".into(),
                })
            }
            (Phase::Pulling, Input::Pulled(page)) => {
                if page.wipe {
                    self.phase = Phase::Done;
                    return vec![Output::Wipe, Output::Failed(FailReason::Wiped)];
                }
                if page.metadata_version > self.metadata_version {
                    self.phase = Phase::Migrating {
                        version: page.metadata_version,
                    };
                    return vec![Output::FetchMetadata {
                        version: page.metadata_version,
                    }];
                }
                self.checkpoint = page.checkpoint;
                self.summary.pulled += u32::try_from(page.records.len()).unwrap_or(u32::MAX);
                self.summary.removed += u32::try_from(page.removed.len()).unwrap_or(u32::MAX);
                let more = page.has_more;
                let mut out = vec![Output::StorePage(page)];
                if more {
                    out.push(self.pull());
                } else {
                    out.push(Output::Finished(self.summary));
                }
                out
            }
            (
                Phase::Migrating { version: wanted },
                Input::MetadataApplied {
                    version,
                    checkpoint,
                },
            ) => {
                if version < wanted {
                    // Asking again would loop: the server's pages and its metadata disagree.
                    return self.fail(FailReason::Protocol {
                        detail: format!(
                            "pages are for metadata version {wanted}, but the server's metadata is version {version}"
                        ),
                    });
                }
                self.metadata_version = version;
                self.checkpoint = checkpoint;
                vec![self.pull()]
            }
            (
                Phase::Resolving { .. }
                | Phase::Pushing { .. }
                | Phase::Pulling
                | Phase::Migrating { .. },
                Input::TransportFailed { reason },
            ) => self.fail(FailReason::Unreachable { detail: reason }),
            (
                Phase::Resolving { .. }
                | Phase::Pushing { .. }
                | Phase::Pulling
                | Phase::Migrating { .. },
                Input::Unauthorized,
            ) => self.fail(FailReason::Unauthorized),
            (phase, input) => self.fail(FailReason::Protocol {
                detail: format!("unexpected {input:?} while {phase:?}"),
            }),
        }
    }

    /// The next resolution, else the next push, else the first pull.
    fn next_step(&mut self) -> Vec<Output> {
        if let Some((op_id, action)) = self.resolutions.pop_front() {
            self.phase = Phase::Resolving {
                op_id: op_id.clone(),
            };
            return vec![Output::Resolve { op_id, action }];
        }
        if self.queue.is_empty() {
            return vec![self.pull()];
        }
        // A batch ends before the first operation about a record already in it.
        let mut seen = BTreeSet::new();
        let mut ops = Vec::new();
        let mut in_flight = Vec::new();
        while let Some(next) = self.queue.front() {
            let keys = keys_of(next);
            if ops.len() == self.push_batch || keys.iter().any(|k| seen.contains(k)) {
                break;
            }
            seen.extend(keys.iter().cloned());
            in_flight.push((next.op_id.clone(), keys));
            ops.extend(self.queue.pop_front());
        }
        self.phase = Phase::Pushing { in_flight };
        vec![Output::Push(PushRequest { ops })]
    }

    /// Holds back every queued operation about a record a failed one (whose records are
    /// `failed`) or one held back is about, in one ordered pass (B2).
    fn park(&mut self, failed: Vec<EntityRef>) {
        self.blocked.extend(failed);
        let mut kept = std::collections::VecDeque::new();
        for op in self.queue.drain(..) {
            let keys = keys_of(&op);
            if keys.iter().any(|k| self.blocked.contains(k)) {
                self.blocked.extend(keys);
                self.summary.parked += 1;
            } else {
                kept.push_back(op);
            }
        }
        self.queue = kept;
    }

    fn pull(&mut self) -> Output {
        self.phase = Phase::Pulling;
        // What the device asks to be sent again is the driver's to add: it is the store's
        // state at the moment the request goes (`Store::resend_ask`).
        Output::Pull(PullRequest {
            checkpoint: self.checkpoint,
            limit: self.page_size,
            resend: String::new(),
            ahead: None,
        })
    }

    fn fail(&mut self, reason: FailReason) -> Vec<Output> {
        self.phase = Phase::Done;
        vec![Output::Failed(reason)]
    }
}

/// The records a pushed operation is about ([`outpost_domain::Operation::about`]).
fn keys_of(op: &PushOp) -> Vec<EntityRef> {
    op.op.about()
}
