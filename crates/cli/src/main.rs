//! `outpost`: the field client on the command line — every core function as a subcommand,
//! human output by default and `--json` for scripts — and `outpost bridge`, which serves the
//! field app's UI to a plain browser over the same core.
//!
//! Exit codes: 0 done; 2 bad usage; 3 not signed in, refused credentials, session ended or
//! offline data wiped by the server; 4 server unreachable (offline work is kept); 5 invalid
//! input, no such record, or an action the user may not take or the record's state refuses;
//! 6 a metadata update waits for `outpost metadata-accept`; 1 anything else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use outpost_core::api::{RecordListArgs, RecordUpdateArgs, SignInArgs};
use outpost_core::{ApiError, Client, ClientConfig, ErrorCode};
use outpost_store::OsKeychain;

/// The keychain service under which database keys are kept.
const KEYCHAIN_SERVICE: &str = "dev.outpost.field";

#[derive(Debug, Parser)]
#[command(name = "outpost", version, about = "Outpost field client")]
struct Cli {
    /// Folder of the local database [default: the OS data folder/outpost].
    #[arg(long, global = true, env = "OUTPOST_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in to a server and download your offline data.
    Login {
        /// Server address, e.g. http://127.0.0.1:8640.
        #[arg(long, env = "OUTPOST_SERVER_URL")]
        server: String,
        /// User name.
        #[arg(long)]
        user: String,
        /// Password — avoid: a command line is visible to other users of the machine
        /// (`ps`); set OUTPOST_PASSWORD, or let it be read from standard input.
        #[arg(long)]
        password: Option<String>,
        /// Allow a plain http:// server that is not on this machine (a test server): the
        /// password and data cross the network unencrypted.
        #[arg(long)]
        allow_http: bool,
    },
    /// Who is signed in and how sync stands.
    Status,
    /// Send your offline work and fetch the server's changes.
    Sync,
    /// List the records of an entity.
    List {
        /// Entity logical name, e.g. account.
        entity: String,
    },
    /// Change fields of a record: `outpost update account ID name=Contoso city=Lyon`.
    Update {
        /// Entity logical name.
        entity: String,
        /// Record id.
        id: String,
        /// `field=value` pairs; `field=` clears the field.
        #[arg(required = true)]
        fields: Vec<String>,
    },
    /// Serve the field app's UI to a browser on loopback, over this client.
    Bridge {
        /// Address to listen on (loopback only; port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The built UI folder.
        #[arg(long, default_value = "ui/dist")]
        ui: PathBuf,
        /// Server offered on the sign-in screen.
        #[arg(long, env = "OUTPOST_SERVER_URL")]
        server: Option<String>,
        /// Seconds before the first reachability check after the server was lost (then
        /// doubling, up to 12 times as long); offline work replays on reconnect.
        #[arg(long, default_value_t = 5)]
        probe_every: u64,
    },
    /// Every other core function, by name (`outpost commands` lists them), with
    /// `key=value` arguments; dotted keys nest (`fields.name=Contoso`), values that read
    /// as JSON (numbers, true, [..]) are taken as such: `outpost record-get entity=account id=…`.
    #[command(external_subcommand)]
    Call(Vec<String>),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::NotSignedIn | ErrorCode::Unauthorized | ErrorCode::Wiped => 3,
                ErrorCode::ServerUnreachable => 4,
                ErrorCode::InvalidInput
                | ErrorCode::NotFound
                | ErrorCode::Forbidden
                | ErrorCode::Refused => 5,
                ErrorCode::MetadataPending => 6,
                _ => 1,
            })
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: ErrorCode::Internal,
        message: e.to_string(),
    }
}

async fn run(cli: Cli) -> Result<(), ApiError> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => dirs::data_dir()
            .ok_or_else(|| internal("this OS has no data folder; pass --data-dir"))?
            .join("outpost"),
    };
    let default_server_url = match &cli.command {
        Command::Bridge { server, .. } => server.clone(),
        _ => None,
    };
    let client = Arc::new(
        Client::open(ClientConfig {
            data_dir,
            keys: Arc::new(OsKeychain::new(KEYCHAIN_SERVICE)),
            default_server_url,
            notifier: None,
            env: Default::default(),
            installer: None,
        })
        .map_err(ApiError::from)?,
    );
    let json = cli.json;
    let print = |value: &dyn erased::Show| {
        if json {
            println!("{}", value.json());
        } else {
            println!("{}", value.text());
        }
    };
    match cli.command {
        Command::Login {
            server,
            user,
            password,
            allow_http,
        } => {
            let password = match (password, std::env::var("OUTPOST_PASSWORD")) {
                (Some(p), _) => {
                    eprintln!(
                        "warning: a password on the command line is visible to other users of this machine (ps) and kept in shell history; set OUTPOST_PASSWORD or type it when asked"
                    );
                    p
                }
                (None, Ok(p)) if !p.is_empty() => p,
                (None, _) => read_password()?,
            };
            let status = client
                .session_sign_in(SignInArgs {
                    server_url: server,
                    username: user,
                    password,
                    download: None,
                    allow_http: Some(allow_http),
                })
                .await?;
            print(&status);
        }
        Command::Status => print(&client.session_status().await?),
        Command::Sync => print(&client.sync_now().await?),
        Command::List { entity } => print(&client.record_list(RecordListArgs { entity }).await?),
        Command::Update { entity, id, fields } => {
            let mut changes = RecordUpdateArgs {
                entity,
                id,
                fields: Default::default(),
            };
            for pair in fields {
                let (name, value) = pair.split_once('=').ok_or_else(|| ApiError {
                    code: ErrorCode::InvalidInput,
                    message: format!("`{pair}` is not field=value"),
                })?;
                let value = (!value.is_empty()).then(|| value.to_owned());
                changes.fields.insert(name.to_owned(), value);
            }
            print(&client.record_update(changes).await?);
        }
        Command::Call(words) => {
            let (name, pairs) = words.split_first().ok_or_else(|| usage("name a command"))?;
            let name = name.replace('-', "_");
            if name == "commands" {
                for (command, help) in outpost_core::commands::COMMANDS {
                    println!("{:<28} {help}", command.replace('_', "-"));
                }
                return Ok(());
            }
            let value = outpost_core::commands::dispatch(&client, &name, call_args(pairs)?).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&value).map_err(internal)?
                );
            } else {
                println!("{}", human(&value, 0).trim_end());
            }
        }
        Command::Bridge {
            listen,
            ui,
            probe_every,
            ..
        } => {
            if !ui.join("index.html").exists() {
                return Err(ApiError {
                    code: ErrorCode::InvalidInput,
                    message: format!(
                        "no built UI in {} (run `npm --prefix ui run build`)",
                        ui.display()
                    ),
                });
            }
            let first = probe_every.max(1) * 1000;
            let background =
                tokio::spawn(Arc::clone(&client).run_scheduler(outpost_core::SyncTiming {
                    probe_initial_ms: first,
                    probe_max_ms: (first * 12).min(300_000),
                    ..outpost_core::SyncTiming::default()
                }));
            outpost_core::bridge::serve(
                client,
                &ui,
                listen,
                |addr, key| println!("outpost bridge listening on {}", key.url(addr)),
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await
            .map_err(internal)?;
            background.abort();
        }
    }
    Ok(())
}

fn usage(message: impl Into<String>) -> ApiError {
    ApiError {
        code: ErrorCode::InvalidInput,
        message: message.into(),
    }
}

/// `key=value` pairs as a JSON object; `a.b=v` nests, JSON-looking values are JSON.
fn call_args(pairs: &[String]) -> Result<serde_json::Value, ApiError> {
    let mut root = serde_json::Map::new();
    for pair in pairs {
        let (key, text) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("`{pair}` is not key=value")))?;
        let value = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(|v| !v.is_string())
            .unwrap_or_else(|| serde_json::Value::String(text.to_owned()));
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut map = &mut root;
        for part in parts {
            map = map
                .entry(part.to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()))
                .as_object_mut()
                .ok_or_else(|| usage(format!("`{key}` nests under a value")))?;
        }
        map.insert(last.to_owned(), value);
    }
    Ok(serde_json::Value::Object(root))
}

/// A JSON answer as indented `key: value` lines for a person.
fn human(value: &serde_json::Value, depth: usize) -> String {
    use serde_json::Value;
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) if map.is_empty() => format!("{pad}(none)\n"),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Object(m) if !m.is_empty() => format!("{pad}{k}:\n{}", human(v, depth + 1)),
                Value::Array(a) if !a.is_empty() => format!("{pad}{k}:\n{}", human(v, depth + 1)),
                _ => format!("{pad}{k}: {}\n", human(v, 0).trim_end()),
            })
            .collect(),
        Value::Array(items) if items.is_empty() => format!("{pad}(none)\n"),
        Value::Array(items) => items
            .iter()
            .map(|v| format!("{pad}-\n{}", human(v, depth + 1)))
            .collect(),
        Value::Null => format!("{pad}-\n"),
        Value::String(text) => format!("{pad}{text}\n"),
        other => format!("{pad}{other}\n"),
    }
}

fn read_password() -> Result<String, ApiError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(internal)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Text and JSON forms of what a command prints.
mod erased {
    use outpost_core::api::{RecordRow, SessionStatus, SignedOutReason, SyncReport};

    pub trait Show {
        fn json(&self) -> String;
        fn text(&self) -> String;
    }

    fn to_json(v: &impl serde::Serialize) -> String {
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    impl Show for SessionStatus {
        fn json(&self) -> String {
            to_json(self)
        }
        fn text(&self) -> String {
            if !self.signed_in {
                return match self.signed_out_reason {
                    Some(SignedOutReason::SessionEnded) => {
                        "signed out: the server ended the session; sign in again (offline work is kept)"
                            .to_owned()
                    }
                    Some(SignedOutReason::WipedSealed) => {
                        "signed out: the server asked this device to delete its offline data, and it did; what had not reached the server is kept sealed: sign in again, then `outpost recovery-list`"
                            .to_owned()
                    }
                    Some(SignedOutReason::DeviceLost) => {
                        "signed out: an administrator reported this device lost; your data here is deleted"
                            .to_owned()
                    }
                    Some(SignedOutReason::Wiped) => {
                        "signed out: the server asked this device to delete its offline data, and it did"
                            .to_owned()
                    }
                    Some(SignedOutReason::StoreLocked) => {
                        "not signed in: the last user's data here cannot be opened (its key is missing from the keychain); it stays on the device"
                            .to_owned()
                    }
                    None => "not signed in".to_owned(),
                };
            }
            format!(
                "signed in as {} at {}\n{}; {} change(s) waiting; last sync: {}",
                self.username.as_deref().unwrap_or("?"),
                self.server_url.as_deref().unwrap_or("?"),
                if self.online { "online" } else { "offline" },
                self.pending_ops,
                self.last_sync_at.as_deref().unwrap_or("never"),
            )
        }
    }

    impl Show for SyncReport {
        fn json(&self) -> String {
            to_json(self)
        }
        fn text(&self) -> String {
            format!(
                "synced: {} sent, {} received, {} conflict(s), {} error(s)",
                self.pushed, self.pulled, self.conflicts, self.errors
            )
        }
    }

    impl Show for RecordRow {
        fn json(&self) -> String {
            to_json(self)
        }
        fn text(&self) -> String {
            let fields: Vec<String> = self
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("")))
                .collect();
            format!(
                "{}{}  {}",
                self.id,
                if self.pending { " *" } else { "" },
                fields.join("  ")
            )
        }
    }

    impl Show for Vec<RecordRow> {
        fn json(&self) -> String {
            to_json(self)
        }
        fn text(&self) -> String {
            self.iter().map(Show::text).collect::<Vec<_>>().join("\n")
        }
    }
}
