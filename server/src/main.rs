//! `corral-server`: run a standalone ZooKeeper-compatible server.

use clap::Parser;
use corral_server::{ServerArgs, ServerConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "corral-server",
    version,
    about = "A ZooKeeper-compatible server"
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,openraft=warn")),
        )
        .init();
    let cli = Cli::parse();
    let config = ServerConfig::load(&cli.server)?;
    let addr = std::net::SocketAddr::new(config.client_address, config.client_port);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let server = corral_server::Server::start(config).await?;
    server.serve(listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
