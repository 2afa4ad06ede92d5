use outpost_core::Notification;

use super::text;

fn body(notification: Notification) -> String {
    text(&notification).1
}

#[test]
fn sync_issues_say_how_many_conflicts_and_errors_wait() {
    let both = Notification::SyncIssues {
        conflicts: 2,
        errors: 1,
    };
    assert_eq!(
        text(&both),
        (
            "Sync needs your attention".to_owned(),
            "2 conflicts and 1 error wait in Sync errors.".to_owned()
        ),
        "conflicts and errors are both counted"
    );
    assert_eq!(
        body(Notification::SyncIssues {
            conflicts: 1,
            errors: 0
        }),
        "1 change conflicts with the server's version. Choose what to keep in Sync errors.",
        "a lone conflict is singular"
    );
    assert_eq!(
        body(Notification::SyncIssues {
            conflicts: 0,
            errors: 3
        }),
        "The server refused 3 changes. See Sync errors in Outpost.",
        "errors alone say the server refused them"
    );
}

#[test]
fn a_waiting_metadata_update_names_its_version() {
    let (summary, body) = text(&Notification::MetadataWaiting { version: 7 });
    assert_eq!(
        summary, "An update of your organization's setup is waiting",
        "the summary says an update waits"
    );
    assert!(
        body.contains("accept update 7"),
        "the body names the version to accept: {body}"
    );
}
