//! `outpost-testkit` holds what tests need to run the real parts: the server and the
//! clients as real processes on loopback, with temp folders, bounded waits, and clean
//! shutdown. Dev-only: no product crate depends on it.
//!
//! It must never contain a fake of a part a test claims to test.

pub mod proxy;

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// The password every demo user gets in tests.
pub const DEMO_PASSWORD: &str = "outpost-test-password";

/// The seed of the demo org test servers load.
pub const DEMO_SEED: u64 = 1;

/// How many business records test servers generate.
pub const DEMO_RECORDS: u64 = 2_000;

/// The folder of the workspace's built binaries (`target/debug`), found from the running
/// test executable (`target/debug/deps/<test>`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let deps = exe.parent().context("test executable has no folder")?;
    Ok(deps
        .parent()
        .context("test executable is not in target/<profile>/deps")?
        .to_owned())
}

/// A built workspace binary; a clear error when `cargo build --workspace` has not run.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        bail!(
            "{} is missing: run `cargo build --workspace` first (cargo xtask test does)",
            path.display()
        );
    }
    Ok(path)
}

/// Names the field app's binary the desktop tests drive instead of the one in
/// `target/debug`: `cargo xtask test` points it at the copy its `.deb` installed.
pub const APP_BINARY_VAR: &str = "OUTPOST_APP_BINARY";

/// The field app the desktop tests drive: the installed one named by [`APP_BINARY_VAR`]
/// when set, else the workspace build.
pub fn app_binary() -> anyhow::Result<PathBuf> {
    match std::env::var_os(APP_BINARY_VAR) {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.exists() {
                bail!(
                    "{APP_BINARY_VAR} names {}, which does not exist",
                    path.display()
                );
            }
            Ok(path)
        }
        None => binary("outpost-app"),
    }
}

/// A free loopback port (bound, read, released; the caller binds it right away).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A TCP connection to `to` from the loopback address `from` (any of 127.0.0.0/8 on
/// Linux): a client at an address of its own, as a server's per-address limits count it.
///
/// # Errors
/// When the socket cannot be bound or connected.
pub fn connect_from(
    from: std::net::Ipv4Addr,
    to: SocketAddr,
) -> std::io::Result<std::net::TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect(&to.into())?;
    Ok(socket.into())
}

/// Starts `command` and waits (at most `within`) for a stdout line starting with `prefix`;
/// returns the child and the rest of that line. Stdout keeps being drained afterwards.
pub fn spawn_until_line(
    mut command: Command,
    prefix: &str,
    within: Duration,
) -> anyhow::Result<(Child, String)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let (tx, rx) = mpsc::channel();
    let wanted = prefix.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(rest) = line.strip_prefix(&wanted) {
                let _ = tx.send(rest.trim().to_owned());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(within) {
        Ok(rest) => Ok((child, rest)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{command:?} did not print `{prefix}` within {within:?}")
        }
    }
}

/// The line `outpost-server` prints when it listens, followed by its URL.
pub const SERVER_LISTENING: &str = "outpost-server listening on ";
/// The line `outpost bridge` prints when it listens, followed by its URL.
pub const BRIDGE_LISTENING: &str = "outpost bridge listening on ";
/// The line `outpost-fault-proxy` prints once it listens: its URL, then `control <URL>`.
pub const PROXY_LISTENING: &str = "outpost-fault-proxy listening on ";

/// A child process that is killed when dropped.
pub struct Background(Child);

impl Background {
    /// Starts `command` and waits (at most `within`) for its stdout line starting with
    /// `prefix`; returns the process and the rest of that line.
    pub fn start(
        command: Command,
        prefix: &str,
        within: Duration,
    ) -> anyhow::Result<(Self, String)> {
        let (child, rest) = spawn_until_line(command, prefix, within)?;
        Ok((Self(child), rest))
    }

    /// Waits for the process to end by itself (Ctrl-C reaches it through the terminal).
    pub fn wait(mut self) {
        let _ = self.0.wait();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real `outpost-server` process on loopback with the demo org in a temp folder.
/// Killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    addr: SocketAddr,
    database_url: Option<String>,
    /// More command-line options, passed again on each restart.
    options: Vec<String>,
}

impl ServerProcess {
    /// Starts a server on a free port, with its embedded database.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_on(None)
    }

    /// Starts a server on a free port that keeps the org in the PostgreSQL at
    /// `database_url` (several may share one).
    pub fn start_on_postgres(database_url: &str) -> anyhow::Result<Self> {
        Self::start_on(Some(database_url.to_owned()))
    }

    /// Starts a server on a free port, with its embedded database and more command-line
    /// `options` (e.g. `["--max-pull-page", "20"]`).
    pub fn start_with(options: &[&str]) -> anyhow::Result<Self> {
        Self::start_on_with(None, options)
    }

    fn start_on(database_url: Option<String>) -> anyhow::Result<Self> {
        Self::start_on_with(database_url, &[])
    }

    fn start_on_with(database_url: Option<String>, options: &[&str]) -> anyhow::Result<Self> {
        let mut server = Self {
            child: None,
            data_dir: tempfile::tempdir()?,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            database_url,
            options: options.iter().map(|&o| o.to_owned()).collect(),
        };
        server.child = Some(server.spawn()?);
        Ok(server)
    }

    fn spawn(&self) -> anyhow::Result<Child> {
        let mut cmd = Command::new(binary("outpost-server")?);
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(&self.options);
        cmd.arg("--data-dir")
            .arg(self.data_dir.path())
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--demo-password")
            .arg(DEMO_PASSWORD)
            .arg("--seed")
            .arg(DEMO_SEED.to_string())
            .arg("--records")
            .arg(DEMO_RECORDS.to_string())
            .env("RUST_LOG", "warn");
        let (child, _) = spawn_until_line(cmd, SERVER_LISTENING, Duration::from_secs(30))?;
        Ok(child)
    }

    /// The address it listens on, e.g. for a proxy put in front of it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the process (as a crash or a lost network would): clients now find no server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same folder and port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.child = Some(self.spawn()?);
        Ok(())
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The process id while it runs (to read its memory from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Checks that `make` draws passwords of at least 128 random bits, each one word of
/// lowercase hex (4 bits a character; a double-click selects it whole).
///
/// # Panics
/// When it does not: two draws alike, another alphabet, or too short.
#[track_caller]
pub fn assert_strong_password(make: impl Fn() -> String) {
    let (a, b) = (make(), make());
    assert_ne!(a, b, "each password is drawn afresh");
    assert!(
        a.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "one word of lowercase hex, easy to copy: {a}"
    );
    assert!(
        a.len() * 4 >= 128,
        "{a} carries {} bits, not 128",
        a.len() * 4
    );
}

/// The median of benchmark samples (the upper of the two middle ones for an even count).
///
/// # Panics
/// When `samples` is empty.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Fails clearly unless the test runs inside the desktop session that `cargo xtask test`
/// sets up (Xvfb display, D-Bus session bus, unlocked gnome-keyring).
pub fn require_desktop_session() -> anyhow::Result<()> {
    for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
        if std::env::var_os(var).is_none() {
            bail!(
                "{var} is not set: desktop tests run inside `cargo xtask test` (Xvfb + D-Bus + gnome-keyring)"
            );
        }
    }
    Ok(())
}

/// The environment variable that points tests at one PostgreSQL cluster shared by the whole
/// run: its connection string without a database, e.g. `host=127.0.0.1 port=5432
/// user=outpost` (`cargo xtask test` starts one and sets it; see [`PgServer::start`]).
pub const SHARED_PG: &str = "OUTPOST_TEST_PG";

/// A real PostgreSQL (Debian's package) for one test, dropped with it: a database of its
/// own on the run's shared cluster when [`SHARED_PG`] is set, otherwise a whole server of
/// its own (`initdb` + `pg_ctl` in a temp folder on a free loopback port, stopped and
/// removed when dropped). `fsync` is off: this is for tests only.
pub struct PgServer {
    bin: PathBuf,
    port: u16,
    kind: PgKind,
}

enum PgKind {
    /// A cluster of its own in `dir`.
    Own {
        dir: tempfile::TempDir,
        as_postgres: bool,
    },
    /// The database `name` on the shared cluster at `server` (a connection string without
    /// a database).
    Shared { server: String, name: String },
}

impl PgServer {
    /// A fresh, empty database for one test. With [`SHARED_PG`] set it is a new database on
    /// that cluster (about 0.1 s); without it, a new cluster (about 1.5 s). As root the
    /// cluster runs as the `postgres` user (`initdb` refuses root).
    pub fn start() -> anyhow::Result<Self> {
        match shared_pg() {
            Some(server) => Self::on_shared(&server, None),
            None => Self::start_cluster(),
        }
    }

    /// A fresh copy of the database `template` on the shared cluster ([`SHARED_PG`]): for
    /// tests that all begin from the same data, made once a run. Nobody may be connected
    /// to `template` meanwhile (PostgreSQL waits up to 5 s for them to leave, then fails).
    pub fn copy_of(template: &str) -> anyhow::Result<Self> {
        let server = shared_pg().with_context(|| format!("{SHARED_PG} is not set"))?;
        Self::on_shared(&server, Some(template))
    }

    /// A new cluster of its own, whatever [`SHARED_PG`] says (what `cargo xtask test`
    /// shares among the tests).
    pub fn start_cluster() -> anyhow::Result<Self> {
        let bin = pg_bin_dir()?;
        let dir = tempfile::tempdir()?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(status.success(), "chown postgres {}", dir.path().display());
        }
        let port = free_port()?;
        let server = Self {
            bin,
            port,
            kind: PgKind::Own { dir, as_postgres },
        };
        let PgKind::Own { dir, .. } = &server.kind else {
            unreachable!("made just above")
        };
        let data = dir.path().join("data");
        server.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "outpost",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        // Room for every test of a run at once when it is the shared cluster: a server
        // process pools 16 connections.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            dir.path().display()
        );
        let log = dir.path().join("log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        )?;
        Ok(server)
    }

    /// A new database on the shared cluster at `server` (a copy of `template`, or empty),
    /// named for this process and a counter: no live test has that name, so one found is
    /// a crashed test's leftover, and goes.
    fn on_shared(server: &str, template: Option<&str>) -> anyhow::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let port = server
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("port="))
            .with_context(|| format!("{SHARED_PG}=`{server}` names no port="))?
            .parse()
            .with_context(|| format!("the port in {SHARED_PG}=`{server}`"))?;
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let pg = Self {
            bin: pg_bin_dir()?,
            port,
            kind: PgKind::Shared {
                server: server.to_owned(),
                name: name.clone(),
            },
        };
        let create = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        pg.admin(&[
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            &create,
        ])?;
        Ok(pg)
    }

    /// Runs SQL statements, one transaction each, on the shared cluster's `postgres`
    /// database (one `psql`).
    fn admin(&self, statements: &[&str]) -> anyhow::Result<()> {
        let PgKind::Shared { server, .. } = &self.kind else {
            bail!("not on a shared cluster")
        };
        let mut psql = Command::new(self.bin.join("psql"));
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(format!("{server} dbname=postgres"));
        for sql in statements {
            psql.args(["-c", sql]);
        }
        let output = psql
            .env("PGCONNECT_TIMEOUT", "30")
            .stdin(Stdio::null())
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!(
                "`{}` on the shared PostgreSQL ({server}) failed: {}",
                statements.join("; "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(program);
        let as_postgres = matches!(
            self.kind,
            PgKind::Own {
                as_postgres: true,
                ..
            }
        );
        let output = if as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .with_context(|| format!("running {}", exe.display()))?;
        if !output.status.success() {
            bail!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// The loopback port it listens on (a shared cluster's: make databases of one's own
    /// there under names no other test uses).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string for the test's database: the `postgres` database
    /// of its own cluster, or its own database on the shared one.
    pub fn url(&self) -> String {
        let database = match &self.kind {
            PgKind::Own { .. } => "postgres",
            PgKind::Shared { name, .. } => name,
        };
        format!(
            "host=127.0.0.1 port={} user=outpost dbname={database}",
            self.port
        )
    }

    /// The connection string of the server, without a database (what [`SHARED_PG`]
    /// holds).
    pub fn server(&self) -> String {
        format!("host=127.0.0.1 port={} user=outpost", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        match &self.kind {
            PgKind::Own { dir, .. } => {
                let data = dir.path().join("data");
                let _ = self.run(
                    "pg_ctl",
                    &[
                        "-D",
                        &data.to_string_lossy(),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                );
            }
            // FORCE (PostgreSQL 13+) ends the sessions a test left open (a pool still
            // closing, a server process killed a moment ago).
            PgKind::Shared { name, .. } => {
                let _ = self.admin(&[&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")]);
            }
        }
    }
}

/// The shared cluster's connection string (without a database) when [`SHARED_PG`] is set.
pub fn shared_pg() -> Option<String> {
    std::env::var(SHARED_PG)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Debian's PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`), newest version first.
fn pg_bin_dir() -> anyhow::Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| {
            format!(
                "{} is missing: cargo xtask test installs postgresql",
                root.display()
            )
        })?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .context("no PostgreSQL with initdb under /usr/lib/postgresql")
}
