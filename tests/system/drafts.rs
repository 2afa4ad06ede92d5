//! Offline drafts mode (C17) against a real server process, through a loopback proxy
//! that takes the device offline: a user opens records of a drafts module that are not in
//! their offline profile online, reads them offline from the recently used, makes drafts offline
//! (checked as the server checks them, lookups only to records the device holds), and
//! saves each once when back online — even when the first save's answer was lost; a save
//! the server refuses keeps the draft, with the server's reason and its kind.

use outpost_core::CoreError;
use outpost_core::api::{
    ApiError, DraftKey, DraftUpdateArgs, ErrorCode, RecentListArgs, RecordCreateArgs,
};
use outpost_domain::Fields;
use outpost_store::StoreError;
use outpost_testkit::ServerProcess;
use outpost_testkit::proxy::{Fault, FaultProxy};
use outpost_tests::{Device, demo_accounts, fiona_accounts, fiona_owner, key};

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

#[tokio::test]
async fn drafts_are_made_offline_and_saved_once_online_and_recent_records_read_offline()
-> anyhow::Result<()> {
    let server = ServerProcess::start()?;
    let proxy = FaultProxy::start(server.addr())?;
    let device = Device::signed_in(&proxy.url()).await?;
    let client = &device.client;

    // Accounts of colleagues, not in the user's offline profile: the first one the
    // server lets the user read is opened online; another one never is.
    let owner = fiona_owner();
    let mut seen = None;
    let mut unseen = None;
    for (id, name, _) in demo_accounts().into_iter().filter(|(_, _, o)| *o != owner) {
        if client.record_get(key("account", &id)).await.is_ok() {
            continue;
        }
        if seen.is_none() {
            if let Ok(opened) = client.recent_open(key("account", &id)).await {
                seen = Some((id, name, opened));
            }
        } else if unseen.is_none() {
            unseen = Some(id);
        }
    }
    let (Some((seen_id, seen_name, opened)), Some(unseen_id)) = (seen, unseen) else {
        anyhow::bail!("the demo org has readable accounts outside the profile");
    };
    assert_eq!(opened.reason.as_deref(), Some("recent"));
    assert_eq!(
        opened.fields.get("name").cloned().flatten(),
        Some(seen_name)
    );
    // A record the device syncs opens from the local database, online or not.
    let (mine, _) = &fiona_accounts()[0];
    let local = client.recent_open(key("account", mine)).await?;
    assert_eq!(local.reason.as_deref(), Some("profile"));

    // Offline: the record opened before is read from the encrypted cache, another is not.
    proxy.set(Fault::Refuse);
    let again = client.recent_open(key("account", &seen_id)).await?;
    assert_eq!(again.fields, opened.fields);
    let missing = client.recent_open(key("account", &unseen_id)).await;
    assert!(
        matches!(missing, Err(CoreError::Store(StoreError::NotFound { .. }))),
        "{missing:?}"
    );
    let recent = client.recent_list(RecentListArgs::default()).await?;
    assert_eq!(
        recent.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [seen_id.as_str()]
    );

    // Drafts are checked on the device as the server would check them.
    let parent = format!("account:{seen_id}");
    let draft = client
        .draft_create(RecordCreateArgs {
            entity: "account".into(),
            fields: fields(&[("name", "Drafted offline"), ("parentaccountid", &parent)]),
        })
        .await?;
    for (entity, bad, why) in [
        (
            "account",
            fields(&[
                ("name", "Points at an unseen account"),
                ("parentaccountid", &format!("account:{unseen_id}")),
            ]),
            "a lookup to a record the device does not hold",
        ),
        ("account", fields(&[("telephone1", "555")]), "no name"),
        (
            "incident",
            fields(&[("title", "Not a drafts entity")]),
            "an entity of no drafts module",
        ),
    ] {
        let refused = client
            .draft_create(RecordCreateArgs {
                entity: entity.into(),
                fields: bad,
            })
            .await;
        let code = refused.map_err(|e| ApiError::from(e).code);
        assert_eq!(
            code.as_ref().err(),
            Some(&ErrorCode::InvalidInput),
            "{why}: {code:?}"
        );
    }
    let save = || {
        client.draft_save(DraftKey {
            id: draft.id.clone(),
        })
    };
    let offline = save().await;
    assert!(
        matches!(offline, Err(CoreError::Unreachable(_))),
        "{offline:?}"
    );
    assert_eq!(client.draft_list().await?.len(), 1, "kept while offline");

    // The server creates it but the answer is lost; the user goes on editing the draft;
    // saving again finds the record there and brings it the later edit (it was dropped
    // with the draft before: found by the simulation's drafts).
    proxy.set(Fault::ResetAfterRequest);
    let lost = save().await;
    assert!(matches!(lost, Err(CoreError::Unreachable(_))), "{lost:?}");
    assert_eq!(client.draft_list().await?.len(), 1);
    proxy.set(Fault::Refuse);
    client
        .draft_update(DraftUpdateArgs {
            id: draft.id.clone(),
            fields: fields(&[("name", "Drafted offline, renamed after")]),
        })
        .await?;
    proxy.set(Fault::Pass);
    let saved = save().await?;
    assert_eq!(saved.id, draft.id, "the record keeps the draft's id");
    assert!(client.draft_list().await?.is_empty());

    // Another device of the same user reads it from the server, once, under that id.
    let other = Device::signed_in(&server.url()).await?;
    let there = other.client.recent_open(key("account", &draft.id)).await?;
    assert_eq!(
        there.fields.get("name").cloned().flatten().as_deref(),
        Some("Drafted offline, renamed after"),
        "with the edit made after the save whose answer was lost"
    );
    assert_eq!(
        there.fields.get("parentaccountid").cloned().flatten(),
        Some(parent)
    );

    // A save the server refuses keeps the draft with the server's reason, and the UI
    // learns what kind of refusal it is: here a lookup to an account deleted meanwhile
    // from the user's other device.
    let doomed = format!("account:{mine}");
    let pointing = client
        .draft_create(RecordCreateArgs {
            entity: "account".into(),
            fields: fields(&[
                ("name", "Points at a deleted account"),
                ("parentaccountid", &doomed),
            ]),
        })
        .await?;
    other.client.record_delete(key("account", mine)).await?;
    other.client.sync_now().await?;
    let refused = client
        .draft_save(DraftKey {
            id: pointing.id.clone(),
        })
        .await
        .map_err(ApiError::from);
    let Err(refused) = refused else {
        anyhow::bail!("the server refuses a lookup to a deleted account: {refused:?}");
    };
    assert_eq!(refused.code, ErrorCode::InvalidInput, "{refused:?}");
    assert!(
        refused.message.contains("parentaccountid"),
        "the server's own words, naming the field: {refused:?}"
    );
    let kept = client.draft_list().await?;
    assert_eq!(
        kept.iter().map(|d| d.error.clone()).collect::<Vec<_>>(),
        [Some(refused.message)],
        "the draft stays, with that reason"
    );
    Ok(())
}
