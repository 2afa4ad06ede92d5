//! `outpost-server`: serves the org over HTTP. With no flags it keeps its data in the
//! user's data folder on embedded SQLite and loads the demo org on first start.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use outpost_server::{AppState, Db, app, seed};

/// The Outpost org server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Folder for the org database and logs [default: the OS data folder/outpost-server].
    #[arg(long, env = "OUTPOST_SERVER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "OUTPOST_SERVER_LISTEN", default_value = "127.0.0.1:8640")]
    listen: SocketAddr,
    /// Password of every demo user when the demo org is loaded [default: a random one,
    /// printed and written to demo-credentials.txt in the data folder].
    #[arg(long, env = "OUTPOST_DEMO_PASSWORD")]
    demo_password: Option<String>,
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
    let args = Args::parse();
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => dirs::data_dir()
            .context("this OS has no data folder; pass --data-dir")?
            .join("outpost-server"),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let db = Db::open(&data_dir.join("org.db"))?;
    let credentials = data_dir.join("demo-credentials.txt");
    let password = args
        .demo_password
        .unwrap_or_else(|| outpost_server::auth::new_token()[..16].to_owned());
    if db.blocking(|s| seed::seed_demo(s, &password))?? {
        let text = format!(
            "admin user: {} / {password}\nfield user: {} / {password}\n",
            seed::ADMIN_USER,
            seed::FIELD_USER
        );
        write_private(&credentials, &text)?;
        println!("loaded the demo org");
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
    axum::serve(listener, app(AppState::new(db)))
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")?;
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
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
