//! `corral-server`: run a standalone ZooKeeper-compatible server, or
//! (`corral-server import`) move an Apache ZooKeeper data directory into
//! Corral's.

use clap::{Parser, Subcommand};
use corral_server::import::ImportArgs;
use corral_server::{ServerArgs, ServerConfig};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: the server allocates and
/// frees many small objects per request next to a tree of millions of
/// long-lived ones, which fragments glibc's heap (measured: a quarter of
/// the server's CPU time went to malloc/free under a create load).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "corral-server",
    version,
    about = "A ZooKeeper-compatible server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
    /// Log lines as human-readable text or as one JSON object each
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import an Apache ZooKeeper data directory (its snapshot.* and log.*
    /// files) into Corral's data directory; stop ZooKeeper first
    Import(ImportArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,openraft=warn")),
        );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
    match cli.command {
        Some(Command::Import(args)) => {
            let summary = corral_server::import::run(&args.options()?)?;
            println!("{summary}");
            Ok(())
        }
        None => serve(cli.server),
    }
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let config = ServerConfig::load(&args)?;
        let addr = std::net::SocketAddr::new(config.client_address, config.client_port);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let server = corral_server::Server::start(config).await?;
        corral_server::admin::start(server.clone()).await;
        server.serve(listener, shutdown_signal()).await
    });
    // Blocking work still running (a snapshot, a log write the disk keeps
    // refusing) must not keep the process alive once the server has stopped.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
