//! `outpost-server`: serves the org over HTTP. With no flags it keeps its data in the
//! user's data folder on embedded SQLite and loads the demo org on first start.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use outpost_protocol::admin::{Assignments, EntityOffline, ProfileDef, RevokeDeviceRequest};
use outpost_protocol::release::{ReleaseManifest, ReleaseSet};
use outpost_server::auth::Caller;
use outpost_server::db::{Location, string};
use outpost_server::{AppState, Db, admin, app, now, seed};

/// The Outpost org server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Folder for the embedded database and the demo credentials [default: the OS data
    /// folder/outpost-server]. On Unix it is made 0700 and its files 0600, existing ones
    /// included: only the server's OS user may read them.
    #[arg(long, env = "OUTPOST_SERVER_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL instead of the embedded database (`postgres://user@host:port/db`).
    /// Several server processes may share one.
    #[arg(long, env = "OUTPOST_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// What to do (default: serve).
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "OUTPOST_SERVER_LISTEN", default_value = "127.0.0.1:8640")]
    listen: SocketAddr,
    /// Password of every demo user when the demo org is loaded [default: a random one,
    /// printed and written to demo-credentials.txt in the data folder].
    #[arg(long, env = "OUTPOST_DEMO_PASSWORD")]
    demo_password: Option<String>,
    /// Seed of the demo org generated into an empty database.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Business records of the demo org generated into an empty database.
    #[arg(long, default_value_t = 2_000)]
    records: u64,
    /// Most records one pull page carries, whatever size devices ask for (1 to 5000):
    /// smaller pages hold less memory per request and show devices finer download
    /// progress.
    #[arg(long, env = "OUTPOST_MAX_PULL_PAGE", default_value_t = outpost_server::routes::MAX_PULL_PAGE,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(outpost_server::routes::MAX_PULL_PAGE)))]
    max_pull_page: u32,
    /// Password checks run at once [default: the machine's cores, at least 2]. Each holds
    /// 19 MiB while the server runs; more sign-ins wait (up to 32 per check), then are
    /// answered 503 `busy`.
    #[arg(long, env = "OUTPOST_PASSWORD_CHECKS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    password_checks: Option<u16>,
    /// Seconds a client has to send a request's headers (and an idle kept-alive connection
    /// stays open): a half-sent request is closed after it.
    #[arg(long, env = "OUTPOST_HEADER_READ_TIMEOUT",
          default_value_t = outpost_server::serve::HEADER_READ_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// Seconds a client has to send a request's body once the server starts reading it,
    /// plus one second for every KiB it sent (a body arriving at 8 kbit/s or faster is
    /// never cut): a body trickled slower is not answered and its connection is closed.
    #[arg(long, env = "OUTPOST_BODY_READ_TIMEOUT",
          default_value_t = outpost_server::serve::BODY_READ_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_read_timeout: u64,
    /// Connections open at once; past it the server stops accepting until one closes
    /// (keep it below the process's open-file limit).
    #[arg(long, env = "OUTPOST_MAX_CONNECTIONS",
          default_value_t = outpost_server::serve::MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// A reverse proxy in front of the server, as an address range (`10.0.0.0/8`) or one
    /// address; repeatable (the variable: comma-separated). A request whose socket peer is
    /// in a range counts, for sign-in limits, against the client its `X-Forwarded-For`
    /// names: the rightmost address there that is not itself in a range. Each such proxy
    /// must append the address it heard from to `X-Forwarded-For` (nginx:
    /// `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`). Other peers'
    /// headers are ignored. Without it, every client behind a proxy shares its address.
    #[arg(long = "trusted-proxy", env = "OUTPOST_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = outpost_server::TrustedProxies::range)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline administration of the org (S6–S9); prints JSON.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Switches offline on for the org.
    Provision,
    /// Switches offline off: every device wipes its offline data at its next contact.
    Deprovision,
    /// Lists every entity's offline settings.
    Entities,
    /// Sets an entity's offline settings.
    Entity {
        /// Entity logical name.
        entity: String,
        /// Disable it (default: enable).
        #[arg(long)]
        disable: bool,
        /// The org filter in the query language (`""` admits every record).
        #[arg(long)]
        filter: Option<String>,
    },
    /// Lists the profiles.
    Profiles,
    /// Creates a draft profile from a JSON file (a `ProfileDef`).
    ProfileCreate {
        /// The JSON file.
        file: PathBuf,
    },
    /// Replaces a profile's draft from a JSON file.
    ProfileUpdate {
        /// Profile id.
        id: String,
        /// The JSON file.
        file: PathBuf,
    },
    /// Lists what stops a profile's draft from being published.
    Validate {
        /// Profile id.
        id: String,
    },
    /// Reports what a profile's draft would send each assigned user.
    DryRun {
        /// Profile id.
        id: String,
    },
    /// Publishes a profile's draft.
    Publish {
        /// Profile id.
        id: String,
        /// Even over the per-user budget.
        #[arg(long)]
        force: bool,
    },
    /// Assigns a profile to users and teams (replacing its assignments).
    Assign {
        /// Profile id.
        id: String,
        /// User name or id (repeatable).
        #[arg(long = "user")]
        users: Vec<String>,
        /// Team id (repeatable).
        #[arg(long = "team")]
        teams: Vec<String>,
    },
    /// Lists sync errors of every user.
    SyncErrors {
        /// Also resolved ones.
        #[arg(long)]
        all: bool,
    },
    /// Resolves a sync error: `apply` the offline change or `discard` it.
    Resolve {
        /// Sync error id.
        id: String,
        /// `apply` or `discard`.
        action: String,
    },
    /// Revokes one user's tokens on a device (a lost tablet).
    RevokeDevice {
        /// Device id.
        id: String,
        /// The user, by user name or id (device ids are the clients' choice: another
        /// user's session on the same id is untouched).
        #[arg(long)]
        user: String,
        /// The device is lost: when it next presents any of the user's tokens it is told
        /// to delete that user's offline data.
        #[arg(long)]
        wipe: bool,
    },
    /// Lists the devices users signed in on (to find a lost one to revoke): each user's
    /// device id, when it last signed in, pulled and pushed, whether it is still signed
    /// in and whether it has a wipe order.
    Devices {
        /// Only this user's, by user name or id.
        #[arg(long)]
        user: Option<String>,
    },
    /// Lists the users.
    Users,
    /// Shows the org settings, or changes those named.
    Settings {
        /// The oldest field app version that may sync (`major.minor.patch`; `""` for any).
        #[arg(long)]
        min_app_version: Option<String>,
        /// The org's update public key: the `.pub` file `tauri signer generate` wrote (or
        /// `cargo xtask update-key` for development). Uploaded packages must be signed with
        /// its secret half.
        #[arg(long)]
        update_public_key: Option<PathBuf>,
    },
    /// Lists the app releases and their packages.
    Releases,
    /// Uploads a signed package of the field app (creating its release, with its notes).
    ReleaseUpload {
        /// The package (`.deb`, `.rpm`, the NSIS `-setup.exe`).
        package: PathBuf,
        /// `{os}-{arch}-{installer}`, as Tauri's updater names it: `linux-x86_64-deb`,
        /// `linux-x86_64-rpm`, `windows-x86_64-nsis`, `darwin-aarch64-app`, …
        #[arg(long)]
        platform: String,
        /// The signature `tauri signer sign --app-version` wrote (default: the package's
        /// name with `.sig` added).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// What `cargo xtask bundle` wrote beside the packages (`outpost-release.json`):
        /// the version and the device database formats the build opens.
        #[arg(long)]
        manifest: PathBuf,
        /// A file with the release notes the user reads before saying yes (kept as they
        /// are when omitted and the release exists).
        #[arg(long)]
        notes: Option<PathBuf>,
    },
    /// Withdraws a release: no device is offered it any more.
    ReleaseDelete {
        /// Its version.
        version: String,
    },
    /// Opens a recovery file of this org that a device kept when a wipe could not send a
    /// user's work, and prints the work it holds (JSON). The work is what the device
    /// wrote, not signed by the user: confirm it with them before acting on it.
    RecoveryOpen {
        /// The `.outpost-recovery` file.
        file: PathBuf,
    },
}

fn data_dir(args: &Args) -> anyhow::Result<PathBuf> {
    Ok(match &args.data_dir {
        Some(dir) => dir.clone(),
        None => dirs::data_dir()
            .context("this OS has no data folder; pass --data-dir")?
            .join("outpost-server"),
    })
}

async fn open(args: &Args) -> anyhow::Result<Db> {
    match &args.database_url {
        Some(url) => Db::open(&Location::Postgres(url.clone())).await,
        None => Db::open_folder(&data_dir(args)?).await,
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read_profile(file: &std::path::Path) -> anyhow::Result<ProfileDef> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a profile", file.display()))
}

/// An admin function's answer as JSON; a refusal becomes an error naming its code.
fn out<T: serde::Serialize>(
    result: Result<T, outpost_server::ApiError>,
) -> anyhow::Result<serde_json::Value> {
    match result {
        Ok(value) => Ok(serde_json::to_value(value)?),
        Err(e) => {
            let detail = match &e {
                outpost_server::ApiError::Invalid { fields, .. } => fields
                    .iter()
                    .map(|f| format!("\n  {} {}: {}", f.code, f.field, f.message))
                    .collect(),
                _ => String::new(),
            };
            anyhow::bail!("{e}{detail}")
        }
    }
}

/// The org's first administrator: whom the CLI acts as (it runs on the database itself).
fn first_admin(c: &mut dyn outpost_server::db::Conn) -> anyhow::Result<String> {
    c.query_opt(
        "SELECT id FROM org_user WHERE is_admin = 1 ORDER BY id",
        &[],
    )?
    .map(|r| string(&r[0]))
    .transpose()?
    .context("the org has no administrator")
}

/// Runs one admin command in one transaction, printing its JSON answer.
#[allow(clippy::too_many_lines)] // one arm per subcommand
async fn run_admin(db: &Db, command: AdminCommand) -> anyhow::Result<()> {
    let stamp = outpost_domain::value::format_datetime(now());
    let answer: serde_json::Value = db
        .write(move |c| match command {
            AdminCommand::Provision => out(admin::provision(c, true)),
            AdminCommand::Deprovision => out(admin::provision(c, false)),
            AdminCommand::Entities => out(admin::entities(c)),
            AdminCommand::Entity {
                entity,
                disable,
                filter,
            } => {
                let settings = EntityOffline {
                    entity: entity.clone(),
                    enabled: !disable,
                    filter,
                };
                out(admin::entity_set(c, &entity, &settings))
            }
            AdminCommand::Profiles => out(admin::profiles(c)),
            AdminCommand::ProfileCreate { file } => {
                out(admin::profile_create(c, &read_profile(&file)?, &stamp))
            }
            AdminCommand::ProfileUpdate { id, file } => {
                out(admin::profile_update(c, &id, &read_profile(&file)?, &stamp))
            }
            AdminCommand::Validate { id } => out(admin::validate_draft(c, &id)),
            AdminCommand::DryRun { id } => out(admin::dry_run_draft(c, &id, now())),
            AdminCommand::Publish { id, force } => out(admin::publish(c, &id, force, now())),
            AdminCommand::Assign { id, users, teams } => {
                let ids: Result<Vec<String>, _> =
                    users.iter().map(|u| admin::user_id_of(c, u)).collect();
                out(ids.and_then(|ids| admin::assign(c, &id, &Assignments { users: ids, teams })))
            }
            AdminCommand::SyncErrors { all } => {
                out(Ok(outpost_server::push::errors_list(c, None, all)?))
            }
            AdminCommand::Resolve { id, action } => {
                let apply = match action.as_str() {
                    "apply" => true,
                    "discard" => false,
                    other => anyhow::bail!("`{other}` is not apply or discard"),
                };
                let org = outpost_server::org::Org::load(c)?;
                let admin_id = first_admin(c)?;
                let caller = Caller {
                    user_id: admin_id,
                    device_id: "outpost-server-admin".to_owned(),
                    is_admin: true,
                };
                out(outpost_server::push::resolve(
                    c,
                    &org,
                    &caller,
                    &id,
                    apply,
                    now(),
                ))
            }
            AdminCommand::RevokeDevice { id, user, wipe } => {
                let request = RevokeDeviceRequest { user, wipe };
                out(admin::device_revoke(c, &id, &request)
                    .map(|n| serde_json::json!({"revoked": n, "wipe": wipe})))
            }
            AdminCommand::Devices { user } => {
                out(admin::devices(c, user.as_deref(), now().unix_timestamp()))
            }
            AdminCommand::Users => out(admin::users(c)),
            AdminCommand::Settings {
                min_app_version,
                update_public_key,
            } => {
                let mut settings = admin::settings(c)?;
                if min_app_version.is_none() && update_public_key.is_none() {
                    return out(Ok(settings));
                }
                if let Some(min) = min_app_version {
                    settings.min_app_version = min;
                }
                if let Some(file) = update_public_key {
                    settings.update_public_key = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?
                        .trim()
                        .to_owned();
                }
                out(admin::settings_set(c, &settings))
            }
            AdminCommand::Releases => out(outpost_server::releases::releases(c)),
            AdminCommand::ReleaseUpload {
                package,
                platform,
                signature,
                manifest,
                notes,
            } => {
                let read = |file: &std::path::Path| {
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
                };
                let manifest: ReleaseManifest = serde_json::from_slice(&read(&manifest)?)
                    .with_context(|| format!("{} is not a release manifest", manifest.display()))?;
                let signature = signature.unwrap_or_else(|| {
                    let mut name = package.clone().into_os_string();
                    name.push(".sig");
                    PathBuf::from(name)
                });
                let signature = String::from_utf8(read(&signature)?)
                    .with_context(|| format!("{} is not a signature", signature.display()))?;
                let bytes = read(&package)?;
                let admin_id = first_admin(c)?;
                let existing = outpost_server::releases::releases(c)?
                    .into_iter()
                    .find(|r| r.version == manifest.version);
                let notes = match (notes, existing) {
                    (Some(file), _) => String::from_utf8(read(&file)?)
                        .with_context(|| format!("{} is not text", file.display()))?,
                    (None, Some(release)) => release.notes,
                    (None, None) => String::new(),
                };
                let set = ReleaseSet {
                    notes,
                    store_format: manifest.store_format,
                    min_store_format: manifest.min_store_format,
                };
                out(outpost_server::releases::release_set(
                    c,
                    &manifest.version,
                    &set,
                    &admin_id,
                    &stamp,
                )
                .and_then(|_| {
                    let org = outpost_server::org::Org::load(c)?;
                    outpost_server::releases::package_put(
                        c,
                        &org,
                        &manifest.version,
                        &platform,
                        &signature,
                        &bytes,
                        &admin_id,
                        &stamp,
                    )
                }))
            }
            AdminCommand::ReleaseDelete { version } => {
                out(outpost_server::releases::release_delete(c, &version)
                    .map(|()| serde_json::json!({ "deleted": version })))
            }
            AdminCommand::RecoveryOpen { file } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let sealed: outpost_protocol::recovery::RecoveryFile = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a recovery file", file.display()))?;
                out(admin::recovery_open(c, &sealed))
            }
        })
        .await?;
    print_json(&answer)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "outpost_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = Args::parse();
    let db = open(&args).await?;
    if let Some(Command::Admin(command)) = args.command.take() {
        return run_admin(&db, command).await;
    }
    let data_dir = data_dir(&args)?;
    outpost_server::private::dir_create(&data_dir)?;
    let credentials = data_dir.join("demo-credentials.txt");
    let password = args
        .demo_password
        .clone()
        .unwrap_or_else(outpost_server::password::demo_password);
    let options = seed::DemoOptions {
        seed: args.seed,
        records: args.records,
        password: password.clone(),
    };
    if seed::load_demo_if_empty(&db, &options).await? {
        let text = format!(
            "admin user: {} / {password}\nfield user: {} / {password}\n",
            outpost_domain::demo::ADMIN_USERNAME,
            outpost_domain::demo::FIELD_USERNAME
        );
        outpost_server::private::write(&credentials, &text)?;
        println!(
            "loaded the demo org (seed {}, {} records)",
            args.seed, args.records
        );
    }
    if let Ok(text) = std::fs::read_to_string(&credentials) {
        print!("{text}");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    // Tests and `cargo xtask run` read this line to find the port.
    println!(
        "outpost-server listening on http://{}",
        listener.local_addr()?
    );
    println!("data folder: {}", data_dir.display());
    let checks = args.password_checks.map_or_else(
        outpost_server::password::PasswordChecks::for_this_machine,
        |n| {
            let n = usize::from(n);
            outpost_server::password::PasswordChecks::new(
                n,
                n * outpost_server::password::QUEUE_PER_SLOT,
            )
        },
    );
    let state = AppState::new(db)
        .with_pull_page(args.max_pull_page)
        .with_password_checks(checks)
        .with_trusted_proxies(args.trusted_proxies.iter().copied().collect());
    let limits = outpost_server::serve::Limits {
        header_read: std::time::Duration::from_secs(args.header_read_timeout),
        body_read: std::time::Duration::from_secs(args.body_read_timeout),
        max_connections: args.max_connections,
    };
    outpost_server::serve::serve(listener, app(state), limits, shutdown())
        .await
        .context("serving")?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
