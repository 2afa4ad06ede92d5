//! A state-machine test of the outbox and the rebase against a model: random sequences of
//! offline edits, server-side edits arriving in pulls, pushes whose answers arrive, and
//! pushes whose answers are lost (so the same operations are sent again). After every
//! step the device must show exactly the server's record with its own pending changes on
//! top (nothing typed is lost to a pull), keep its pending operations in the order they
//! were made, and never send an answered operation again; the model server applies an op
//! id once, as the real one does.

use std::collections::{BTreeMap, BTreeSet};

use outpost_domain::{Fields, Operation};
use outpost_protocol::{OpOutcome, OpResult, PullResponse, RecordPayload};
use proptest::prelude::*;

use super::{CITY, edit, fresh, pull};

const IDS: [&str; 3] = ["a0", "a1", "a2"];
const FIELDS: [&str; 2] = ["name", CITY];
const VALUES: [&str; 3] = ["x", "y", "z"];

#[derive(Debug, Clone)]
enum Step {
    /// The user changes a field offline.
    Edit {
        record: usize,
        field: usize,
        value: usize,
    },
    /// Someone changes a field on the server; the next pull brings it.
    ServerEdit {
        record: usize,
        field: usize,
        value: usize,
    },
    /// The device pushes up to `n` operations and hears the answers.
    Push { n: u32 },
    /// The device pushes up to `n` operations; the server applies them, the answer is lost.
    PushLost { n: u32 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..2usize, 0..3usize)
            .prop_map(|(record, field, value)| Step::Edit { record, field, value }),
        2 => (0..3usize, 0..2usize, 0..3usize)
            .prop_map(|(record, field, value)| Step::ServerEdit { record, field, value }),
        2 => (1..4u32).prop_map(|n| Step::Push { n }),
        1 => (1..4u32).prop_map(|n| Step::PushLost { n }),
    ]
}

/// The model server: each record's fields and version, and the op ids it applied.
#[derive(Default)]
struct Server {
    records: BTreeMap<String, (Fields, u64)>,
    applied: BTreeSet<String>,
    version: u64,
    checkpoint: u64,
}

impl Server {
    fn set(&mut self, id: &str, field: &str, value: &str) {
        self.version += 1;
        let version = self.version;
        let (fields, v) = self.records.entry(id.to_owned()).or_default();
        fields.insert(field.to_owned(), Some(value.to_owned()));
        *v = version;
    }

    /// A pull page with these records as the server has them now.
    fn page(&mut self, ids: &[String]) -> PullResponse {
        self.checkpoint += 1;
        PullResponse {
            records: ids
                .iter()
                .map(|id| {
                    let (fields, version) = self.records[id].clone();
                    RecordPayload {
                        entity: "account".into(),
                        id: id.clone(),
                        row_version: version,
                        fields,
                        reason: "profile".into(),
                    }
                })
                .collect(),
            checkpoint: self.checkpoint,
            metadata_version: 1,
            ..PullResponse::default()
        }
    }

    /// Applies a pushed op once (client wins); a resent op id is answered, not re-applied.
    fn push(&mut self, op_id: &str, op: &Operation) -> String {
        let Operation::Update { id, changes, .. } = op else {
            panic!("the model only makes updates");
        };
        if self.applied.insert(op_id.to_owned()) {
            for (field, value) in changes {
                self.set(id, field, value.as_deref().unwrap_or_default());
            }
        }
        id.clone()
    }
}

/// The model's pending op: op id, record, field, value.
type Pending = (String, String, String, String);

fn check_shown(store: &crate::Store, pending: &[Pending]) -> Result<(), TestCaseError> {
    let kept: Vec<String> = store
        .outbox_entries()
        .expect("entries")
        .into_iter()
        .map(|e| e.op_id)
        .collect();
    let model: Vec<String> = pending.iter().map(|(op_id, ..)| op_id.clone()).collect();
    prop_assert_eq!(kept, model, "order kept, nothing lost or added");
    for id in IDS {
        let shown = store.record_get("account", id).expect("record").fields;
        let (server, _) = store
            .record_get_server("account", id)
            .expect("server layer")
            .expect("pulled");
        for field in FIELDS {
            let mine = pending
                .iter()
                .rev()
                .find(|(_, r, f, _)| r == id && f == field)
                .map(|(.., v)| v.clone());
            let expected = mine.or_else(|| server.get(field).cloned().flatten());
            prop_assert_eq!(
                shown.get(field).cloned().flatten(),
                expected,
                "{}.{}: the server layer with the pending changes on top",
                id,
                field
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn the_outbox_keeps_order_loses_nothing_and_resends_apply_once(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let (_dir, _keys, mut store) = fresh();
        let mut server = Server::default();
        for id in IDS {
            server.set(id, "name", "start");
        }
        let all: Vec<String> = IDS.iter().map(|s| (*s).to_owned()).collect();
        pull(&mut store, server.page(&all));
        let mut pending: Vec<Pending> = Vec::new();
        let mut answered: BTreeSet<String> = BTreeSet::new();
        let mut next_op = 0;
        for step in steps {
            match step {
                Step::Edit { record, field, value } => {
                    let (id, field, value) = (IDS[record], FIELDS[field], VALUES[value]);
                    let shown = store
                        .record_get("account", id)
                        .expect("record")
                        .fields
                        .get(field)
                        .cloned()
                        .flatten();
                    next_op += 1;
                    let op_id = format!("op-{next_op:03}");
                    let change = Fields::from([(field.to_owned(), Some(value.to_owned()))]);
                    edit(&mut store, id, change, &op_id);
                    if shown.as_deref() != Some(value) {
                        pending.push((op_id, id.to_owned(), field.to_owned(), value.to_owned()));
                    }
                }
                Step::ServerEdit { record, field, value } => {
                    let (id, field, value) = (IDS[record], FIELDS[field], VALUES[value]);
                    server.set(id, field, value);
                    let page = server.page(&[id.to_owned()]);
                    pull(&mut store, page);
                }
                Step::Push { n } | Step::PushLost { n } => {
                    let sent = store.outbox_pending(n).expect("pending");
                    for entry in &sent {
                        prop_assert!(
                            !answered.contains(&entry.op_id),
                            "{} was answered already but sent again",
                            entry.op_id
                        );
                    }
                    let touched: BTreeSet<String> =
                        sent.iter().map(|e| server.push(&e.op_id, &e.op)).collect();
                    if matches!(step, Step::Push { .. }) {
                        let outcomes: Vec<OpOutcome> = sent
                            .iter()
                            .map(|e| OpOutcome {
                                op_id: e.op_id.clone(),
                                result: OpResult::Applied { row_version: server.version },
                            })
                            .collect();
                        store.outbox_resolve(&outcomes).expect("answers");
                        answered.extend(sent.iter().map(|e| e.op_id.clone()));
                        pending.retain(|(op_id, ..)| !answered.contains(op_id));
                        let page = server.page(&touched.into_iter().collect::<Vec<_>>());
                        pull(&mut store, page);
                    }
                }
            }
            check_shown(&store, &pending)?;
        }
        // Everything answered at last: the device shows exactly what the server holds.
        let sent = store.outbox_pending(u32::MAX).expect("pending");
        let touched: BTreeSet<String> = sent.iter().map(|e| server.push(&e.op_id, &e.op)).collect();
        let outcomes: Vec<OpOutcome> = sent
            .iter()
            .map(|e| OpOutcome { op_id: e.op_id.clone(), result: OpResult::Applied { row_version: 0 } })
            .collect();
        store.outbox_resolve(&outcomes).expect("answers");
        let page = server.page(&touched.into_iter().collect::<Vec<_>>());
        pull(&mut store, page);
        prop_assert_eq!(store.outbox_count().expect("count"), 0);
        for id in IDS {
            let shown = store.record_get("account", id).expect("record").fields;
            for field in FIELDS {
                prop_assert_eq!(
                    shown.get(field).cloned().flatten(),
                    server.records[id].0.get(field).cloned().flatten()
                );
            }
        }
    }
}
