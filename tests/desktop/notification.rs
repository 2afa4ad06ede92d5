//! Desktop notifications (C19) reach the session's real notification service: the app's
//! notifier is called as background sync calls it, and the `Notify` call seen on the bus
//! (through `dbus-monitor`) carries the app name, summary and body the app chose.
//! `cargo xtask test` runs dunst, a real notification daemon, in the session.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use outpost_app::notification::{self, APP_NAME};
use outpost_core::Notification;

/// `dbus-monitor` watching every `Notify` call on the session bus.
pub(crate) struct NotifyMonitor {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl NotifyMonitor {
    pub(crate) fn start() -> anyhow::Result<Self> {
        let mut child = Command::new("dbus-monitor")
            .args([
                "--session",
                "type=method_call,interface=org.freedesktop.Notifications,member=Notify",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-monitor")?;
        let out = child.stdout.take().context("dbus-monitor's output")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut monitor = Self {
            child,
            lines,
            seen: String::new(),
        };
        // Once it is a monitor, the bus takes its name back: from then on it sees every call.
        monitor
            .wait_for(&["member=NameLost"])
            .context("dbus-monitor did not become a monitor")?;
        monitor.seen.clear();
        Ok(monitor)
    }

    /// Waits (bounded) until everything seen contains every one of `needles`.
    pub(crate) fn wait_for(&mut self, needles: &[&str]) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !needles.iter().all(|n| self.seen.contains(n)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => bail!(
                    "the bus never carried {needles:?}; dbus-monitor saw:\n{}",
                    self.seen
                ),
            }
        }
        Ok(())
    }
}

impl Drop for NotifyMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines `dbus-monitor` prints for a `Notify` call's app name, summary and body.
fn notify_lines(notification: &Notification) -> [String; 3] {
    let (summary, body) = notification::text(notification);
    [APP_NAME, &summary, &body].map(|s| format!("string \"{s}\""))
}

#[test]
fn background_sync_notifications_reach_the_desktop_notification_service() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let mut monitor = NotifyMonitor::start()?;

    // The notifier the client is given: it shows from a thread of its own.
    let issues = Notification::SyncIssues {
        conflicts: 2,
        errors: 1,
    };
    notification::desktop()(&issues);
    let lines = notify_lines(&issues);
    monitor.wait_for(&lines.each_ref().map(String::as_str))?;
    assert!(
        monitor
            .seen
            .contains("string \"2 conflicts and 1 error wait in Sync errors.\""),
        "the body counts the new conflicts and errors:\n{}",
        monitor.seen
    );

    // Shown directly: Ok means the notification service answered the call.
    let waiting = Notification::MetadataWaiting { version: 7 };
    notification::show(&waiting).context("the notification service answers Notify")?;
    let lines = notify_lines(&waiting);
    monitor.wait_for(&lines.each_ref().map(String::as_str))?;
    Ok(())
}
