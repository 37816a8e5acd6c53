//! `corral`: the command-line tool of Corral.

mod bench;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "corral", version, about = "Corral command-line tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load-test a ZooKeeper-protocol server (corral-server or Apache ZooKeeper).
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    match &cli.command {
        Command::Bench(args) if args.threads > 0 => {
            builder.worker_threads(args.threads);
        }
        Command::Bench(_) => {}
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corral: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) => bench::run(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("corral: {e:#}");
        std::process::exit(1);
    }
}
