//! Views, search and operations on the local layer, over the demo org's generated data.

use outpost_domain::demo::{self, DemoData};
use outpost_domain::query::{CheckedQuery, EvalContext, QueryText, parse_query};
use outpost_domain::{Fields, Operation};
use outpost_protocol::{PullResponse, RecordPayload};

use super::{ctx, edit, fresh, pull};
use crate::{MemoryKeyStore, Resolve, Store};

/// `filter` and `order` as a checked query over the demo account entity.
fn account_query(store: &Store, filter: Option<&str>, order: Option<&str>) -> CheckedQuery {
    let def = store.metadata().entity("account").expect("accounts");
    parse_query(QueryText {
        filter,
        order_by: order,
        ..QueryText::default()
    })
    .and_then(|q| q.check(def))
    .expect("query")
}

/// A store holding the demo org's accounts and leads (about 300 records).
fn demo_store() -> (tempfile::TempDir, MemoryKeyStore, Store) {
    let (dir, keys, mut store) = fresh();
    let metadata = demo::metadata();
    let org = demo::demo_org(1);
    let data = DemoData::new(&metadata, &org, 1, 600, time::OffsetDateTime::UNIX_EPOCH);
    let records: Vec<RecordPayload> = data
        .records()
        .filter(|r| r.entity == "account" || r.entity == "lead" || r.entity == "systemuser")
        .map(|r| RecordPayload {
            entity: r.entity,
            id: r.id,
            row_version: 1,
            fields: r.fields,
            reason: "profile".into(),
        })
        .collect();
    assert!(
        records.len() > 100,
        "enough records to page: {}",
        records.len()
    );
    pull(
        &mut store,
        PullResponse {
            records,
            checkpoint: 1,
            metadata_version: 1,
            ..PullResponse::default()
        },
    );
    (dir, keys, store)
}

fn eval() -> EvalContext {
    EvalContext {
        user_id: "u1".into(),
        team_ids: vec![],
        hierarchy_user_ids: vec![],
        business_unit_id: "bu1".into(),
        now: time::macros::datetime!(2026-11-28 10:00 UTC),
    }
}

#[test]
fn keyset_pages_cover_the_view_in_order_without_repeats_or_gaps() {
    let (_dir, _keys, store) = demo_store();
    for (filter, order) in [
        (None, "address1_city desc,revenue"),
        (Some("revenue gt 100000"), "revenue desc"),
        (None, "name"),
        (
            Some("statecode eq 0"),
            "numberofemployees,address1_city desc",
        ),
    ] {
        let query = account_query(&store, filter, Some(order));
        let all = store.record_list("account").expect("all");
        let expected: Vec<String> = query
            .run(all, |r| (r.id.as_str(), &r.fields), &eval())
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut got = Vec::new();
        let mut after = None;
        let mut total = None;
        for _ in 0..200 {
            let page = store
                .view_page("account", &query, None, after.as_deref(), 7, &eval())
                .expect("page");
            if total.is_none() {
                total = page.total;
            }
            got.extend(page.rows.into_iter().map(|r| r.id));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(
            got, expected,
            "{filter:?} / {order}: SQL pages = the in-memory order"
        );
        assert_eq!(total, Some(expected.len() as u64));
    }
    let query = account_query(&store, None, None);
    let bad = store.view_page("account", &query, None, Some("[1,2,3,4]"), 7, &eval());
    assert!(matches!(bad, Err(crate::StoreError::Invalid(_))), "{bad:?}");
}

#[test]
fn search_finds_words_by_prefix_across_entities_and_follows_edits() {
    let (_dir, _keys, mut store) = demo_store();
    let account = store.record_list("account").expect("accounts").remove(0);
    let name = account.fields["name"].clone().expect("a name");
    let word: String = name
        .split_whitespace()
        .next()
        .expect("a word")
        .chars()
        .take(4)
        .collect();
    let hits = store
        .search(&["account".into()], &word.to_lowercase(), 50)
        .expect("search");
    assert!(
        hits.iter().any(|h| h.record.id == account.id),
        "a prefix finds {name}"
    );
    assert!(
        hits.iter().all(|h| h.record.entity == "account"),
        "categorized: one entity"
    );

    edit(
        &mut store,
        &account.id,
        Fields::from([("name".to_owned(), Some("Zyxwv Quarry".to_owned()))]),
        "op-1",
    );
    let across = store
        .search(&["lead".into(), "account".into()], "zyxw", 10)
        .expect("search");
    assert_eq!(across.len(), 1, "the index follows the edit at once");
    assert_eq!(across[0].record.id, account.id);
    assert!(across[0].record.pending);
    let old = store
        .search(&["account".into()], &name, 50)
        .expect("search");
    assert!(
        old.iter().all(|h| h.record.id != account.id),
        "the old name no longer finds it"
    );
    assert!(
        store
            .search(&["account".into()], "  \"*) OR ", 5)
            .expect("odd text is words")
            .is_empty()
    );
}

/// Found by the `bridge_args` fuzz target (`fuzz/crashers/bridge_args/`): `view_page`
/// with `{"entity":"account","search":"me\u0000"}` failed as an internal error, because
/// FTS5 reads a quoted word only up to a NUL ("unterminated string").
#[test]
fn a_search_holding_a_nul_finds_by_the_words_around_it() {
    let (_dir, _keys, mut store) = demo_store();
    let account = store.record_list("account").expect("accounts").remove(0);
    edit(
        &mut store,
        &account.id,
        Fields::from([("name".to_owned(), Some("Zyxwv Quarry".to_owned()))]),
        "op-1",
    );
    let ids = |text: &str| -> Vec<String> {
        store
            .search(&["account".into()], text, 50)
            .expect("a search")
            .into_iter()
            .map(|h| h.record.id)
            .collect()
    };
    assert_eq!(ids("me\u{0}"), ids("me"), "a NUL parts words like a space");
    let hits = store
        .search(&["account".into()], "zyx\u{0}qua\u{7}", 5)
        .expect("control characters part words");
    assert_eq!(
        hits.iter()
            .map(|h| h.record.id.as_str())
            .collect::<Vec<_>>(),
        [account.id.as_str()]
    );
    let query = account_query(&store, None, None);
    let total = |text: &str| {
        store
            .view_page("account", &query, Some(text), None, 7, &eval())
            .expect("a view searched")
            .total
    };
    assert_eq!(total("me\u{0}"), total("me"), "the view searches the same");
    assert!(
        store
            .search(&["account".into()], "\u{0}", 5)
            .is_ok_and(|hits| hits.is_empty()),
        "a NUL alone is no word"
    );
}

#[test]
fn a_qualify_offline_creates_records_that_survive_a_pull_of_the_lead_and_take_server_undoes_it() {
    let (dir, keys, mut store) = demo_store();
    let lead = store
        .record_list("lead")
        .expect("leads")
        .into_iter()
        .find(|l| {
            l.fields.get("statecode").cloned().flatten().as_deref() == Some("0")
                && l.fields.get("companyname").cloned().flatten().is_some()
                && l.fields.get("lastname").cloned().flatten().is_some()
        })
        .expect("an open lead");
    let op = Operation::LeadQualify {
        lead_id: lead.id.clone(),
        account_id: Some("acc-new".into()),
        contact_id: Some("con-new".into()),
        opportunity_id: None,
    };
    let effects = store.op_apply(&ctx(), "op-q", op).expect("qualify");
    assert_eq!(effects.created.len(), 2);
    edit(
        &mut store,
        "acc-new",
        Fields::from([("name".to_owned(), Some("Renamed offline".to_owned()))]),
        "op-r",
    );
    assert!(
        store
            .record_get("contact", "con-new")
            .expect("contact")
            .pending
    );

    // The server changes the lead: the rebase re-applies the qualify and the later edit
    // of the account it made, in order.
    let mut fields = store
        .record_get_server("lead", &lead.id)
        .expect("read")
        .expect("pulled")
        .0;
    fields.insert("subject".into(), Some("Changed on the server".into()));
    pull(
        &mut store,
        PullResponse {
            records: vec![RecordPayload {
                entity: "lead".into(),
                id: lead.id.clone(),
                row_version: 2,
                fields,
                reason: "profile".into(),
            }],
            checkpoint: 2,
            metadata_version: 1,
            ..PullResponse::default()
        },
    );
    let shown = store.record_get("lead", &lead.id).expect("lead");
    assert_eq!(
        shown.fields["statecode"].as_deref(),
        Some("1"),
        "still qualified here"
    );
    assert_eq!(
        shown.fields["subject"].as_deref(),
        Some("Changed on the server")
    );
    assert_eq!(
        store
            .record_get("account", "acc-new")
            .expect("account")
            .fields["name"]
            .as_deref(),
        Some("Renamed offline"),
        "the later edit of a created record is not lost to the rebase"
    );

    // The server refuses the qualify; taking the server's side removes what it made and
    // drops the edit parked behind it from view (it stays queued, parked).
    store
        .outbox_resolve(&[outpost_protocol::OpOutcome {
            op_id: "op-q".into(),
            result: outpost_protocol::OpResult::Error {
                code: "invalid_state".into(),
                message: "already qualified".into(),
                fields: vec![],
            },
        }])
        .expect("refused");
    let entries = store.outbox_entries().expect("entries");
    assert_eq!(entries[1].parked_behind.as_deref(), Some("op-q"), "B2");
    assert!(store.outbox_pending(10).expect("ready").is_empty());
    store
        .sync_error_resolve(&ctx(), "op-q", Resolve::TakeServer)
        .expect("take server");
    assert_eq!(
        store.record_get("lead", &lead.id).expect("lead").fields["statecode"].as_deref(),
        Some("0"),
        "the lead is the server's again"
    );
    assert!(
        store.record_get("contact", "con-new").is_err(),
        "the contact it made is gone"
    );
    assert_eq!(
        store.resolutions_outgoing().expect("queued"),
        vec![(
            "op-q".to_owned(),
            outpost_protocol::ResolutionAction::Discard
        )]
    );
    // The qualify left the log, but the list still says it was taken from the server,
    // after a restart too, until the server has the resolution.
    let waiting = vec![crate::WaitingResolution {
        op_id: "op-q".into(),
        entity: "lead".into(),
        record_id: lead.id.clone(),
        kind: "lead_qualify".into(),
        choice: crate::Choice::TakeServer,
    }];
    assert_eq!(store.resolutions_waiting().expect("waiting"), waiting);
    drop(store);
    let mut store = super::reopen(&dir, &keys);
    assert_eq!(store.resolutions_waiting().expect("waiting"), waiting);
    store
        .resolution_sent("op-q", crate::ResolutionSent::Done)
        .expect("sent");
    assert!(store.resolutions_waiting().expect("waiting").is_empty());
}

/// The steps SQLite's planner takes for `sql`.
fn plan(store: &Store, sql: &str, params: &[rusqlite::types::Value]) -> Vec<String> {
    store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("prepare")
        .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("plan rows")
}

#[test]
fn a_view_counts_through_its_filter_index_and_pages_through_its_order_index() {
    let (_dir, _keys, store) = demo_store();
    let def = store
        .metadata()
        .entity("account")
        .expect("accounts")
        .clone();
    let query = account_query(&store, Some("statecode eq 0"), Some("name"));
    let first = crate::view::view_sql(&def, &query, None, None, 50, &eval()).expect("sql");
    let (count, params) = first.count.as_ref().expect("the first page counts");
    let counting = plan(&store, count, params);
    assert!(
        counting
            .iter()
            .any(|s| s.contains("COVERING INDEX account_by_statecode")),
        "{counting:?}"
    );
    let page = store
        .view_page("account", &query, None, None, 10, &eval())
        .expect("page");
    assert!(page.next.is_some(), "the view has a second page");
    let next =
        crate::view::view_sql(&def, &query, None, page.next.as_deref(), 10, &eval()).expect("sql");
    for sql in [&first, &next] {
        let paging = plan(&store, &sql.page, &sql.params);
        assert!(
            paging.iter().any(|s| s.contains("INDEX account_by_name"))
                && !paging.iter().any(|s| s.contains("TEMP B-TREE")),
            "a page walks the name index and stops at its end, sorting nothing: {paging:?}"
        );
    }
    // In an order no index holds, the filter's index narrows the rows to sort.
    let by_revenue = account_query(&store, Some("statecode eq 0"), Some("revenue desc"));
    let sql = crate::view::view_sql(&def, &by_revenue, None, None, 10, &eval()).expect("sql");
    let paging = plan(&store, &sql.page, &sql.params);
    assert!(
        paging
            .iter()
            .any(|s| s.contains("INDEX account_by_statecode")),
        "{paging:?}"
    );
}
