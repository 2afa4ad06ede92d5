//! Desktop notifications (C19): background sync's [`Notification`]s shown by the OS through
//! notify-rust (`org.freedesktop.Notifications` over D-Bus on Linux, the notification centre
//! on macOS and Windows). The core only calls the [`Notifier`] it is given.

use std::sync::Arc;

use outpost_core::{Notification, Notifier};

/// The application name the desktop shows with each notification.
pub const APP_NAME: &str = "Outpost";

/// The summary line and the body the desktop shows for `notification`.
pub fn text(notification: &Notification) -> (String, String) {
    match *notification {
        Notification::SyncIssues { conflicts, errors } => {
            let body = match (conflicts, errors) {
                (0, 0) => "The last sync had problems. See Sync errors in Outpost.".to_owned(),
                (c, 0) => format!(
                    "{} with the server's version. Choose what to keep in Sync errors.",
                    count(c, "change conflicts", "changes conflict")
                ),
                (0, e) => format!(
                    "The server refused {}. See Sync errors in Outpost.",
                    count(e, "change", "changes")
                ),
                (c, e) => format!(
                    "{} and {} wait in Sync errors.",
                    count(c, "conflict", "conflicts"),
                    count(e, "error", "errors")
                ),
            };
            ("Sync needs your attention".to_owned(), body)
        }
        Notification::MetadataWaiting { version } => (
            "An update of your organization's setup is waiting".to_owned(),
            format!("Open Outpost and accept update {version}. Sync is paused until you do."),
        ),
    }
}

fn count(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Shows `notification` now; blocks until the notification service has answered.
///
/// # Errors
/// When there is no notification service (a headless machine) or it refused the call.
pub fn show(notification: &Notification) -> Result<(), notify_rust::error::Error> {
    let (summary, body) = text(notification);
    notify_rust::Notification::new()
        .appname(APP_NAME)
        .summary(&summary)
        .body(&body)
        .show()?;
    Ok(())
}

/// The client's [`Notifier`] in the app: each notification is shown from a thread of its
/// own, so background sync never waits for the desktop, and a failure is logged, never
/// fatal.
pub fn desktop() -> Notifier {
    Arc::new(|notification: &Notification| {
        let notification = notification.clone();
        let shown = std::thread::Builder::new()
            .name("notification".into())
            .spawn(move || {
                if let Err(e) = show(&notification) {
                    tracing::warn!(error = %e, ?notification, "the desktop notification was not shown");
                }
            });
        if let Err(e) = shown {
            tracing::warn!(error = %e, "no thread to show a desktop notification");
        }
    })
}

#[cfg(test)]
mod tests;
