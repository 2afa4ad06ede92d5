//! The org server the benchmarks sync with: the demo org with N records in a child process
//! (the benchmark binary itself with `--serve N`), so figures and peak memory are the
//! client's alone. The user is the demo administrator under a profile that takes every
//! record of every entity (`seed::profile_everything_for_admin`). Also what the benches
//! measure on it: the view of an entity with the most rows.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

use outpost_core::Client;
use outpost_core::api::{RecordListArgs, ViewPageArgs};
use outpost_server::db::Location;
use outpost_server::seed::{DemoOptions, load_demo_if_empty};
use outpost_server::{AppState, Db, app};

/// Every demo user's password.
pub const PASSWORD: &str = "bench";

/// `--serve N`: the org server with N demo records, printing its URL, until killed.
pub async fn serve(records: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&Location::Sqlite(dir.path().join("org.sqlite3"))).await?;
    load_demo_if_empty(
        &db,
        &DemoOptions {
            seed: 1,
            records,
            password: PASSWORD.to_owned(),
        },
    )
    .await?;
    db.write(|c| outpost_server::seed::profile_everything_for_admin(c))
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    // The server's own accept loop, as `outpost-server serve` runs it.
    outpost_server::serve::serve(
        listener,
        app(AppState::new(db)),
        outpost_server::serve::Limits::default(),
        std::future::pending(),
    )
    .await?;
    Ok(())
}

/// The server in its child process.
pub struct Server {
    child: Child,
    /// Its base URL.
    pub url: String,
}

impl Server {
    /// Starts this binary with `--serve records` and waits for its URL.
    pub fn start(records: u64) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg(records.to_string())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().to_owned();
        let server = Self { child, url };
        anyhow::ensure!(
            server.url.starts_with("http://"),
            "the server did not start: {line}"
        );
        Ok(server)
    }

    #[allow(dead_code, reason = "the client bench's, not the UI bench's")]
    /// Starts its peak-memory count afresh (Linux: `clear_refs` 5 resets VmHWM).
    pub fn peak_rss_reset(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    #[allow(dead_code, reason = "the client bench's, not the UI bench's")]
    /// Its peak resident memory since [`Server::peak_rss_reset`] (Linux), in MB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        vm_hwm_mb(&format!("/proc/{}/status", self.child.id()))
    }

    /// Stops it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `VmHWM` of a `/proc/<pid>/status` file, in MB.
#[allow(dead_code, reason = "the client bench's, not the UI bench's")]
pub fn vm_hwm_mb(status: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The view of `entity` on the device that shows the most rows (the first of equals):
/// (id, name, rows); none when the entity has no view.
pub async fn largest_view(
    client: &Client,
    entity: &str,
) -> anyhow::Result<Option<(String, String, u64)>> {
    let mut best: Option<(String, String, u64)> = None;
    for view in client
        .view_list(RecordListArgs {
            entity: entity.into(),
        })
        .await?
    {
        let page = client
            .view_page(ViewPageArgs {
                entity: entity.into(),
                view_id: Some(view.id.clone()),
                search: None,
                after: None,
                limit: Some(1),
                order_by: None,
            })
            .await?;
        let rows = page.total.unwrap_or(0);
        if best.as_ref().is_none_or(|(_, _, n)| rows > *n) {
            best = Some((view.id, view.name, rows));
        }
    }
    Ok(best)
}
