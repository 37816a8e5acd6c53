//! `corral`: the command-line tool of Corral.
//!
//! - `corral [-s HOSTS]`: an interactive shell with zkCli.sh's commands.
//! - `corral [-s HOSTS] [--json] COMMAND ARGS...`: one shell command, then
//!   exit with a code that tells "no node" from connection errors ([`exit`]).
//! - `corral tree`, `corral dump`, `corral load`: subtrees as text and JSON.
//! - `corral bench`: the load generator of `make bench`.

mod bench;
mod commands;
mod connect;
mod dump;
mod exit;
mod format;
mod shell;
mod tree;

use std::time::Duration;

use clap::{Parser, Subcommand};

use exit::Failure;

const AFTER_HELP: &str = "\
Shell commands (interactive, or one-shot as `corral -s HOST COMMAND ...`):
  ls [-s] [-w] [-R] path        get [-s] [-w] path           stat [-w] path
  set [-s] [-v version] path data
  create [-e] [-s] [-c] [-t ttl] path [data] [acl]
  delete [-v version] path      deleteall path               sync path
  getAcl [-s] path              setAcl [-s] [-v version] [-R] path acl
  addauth scheme auth           whoami                       getEphemerals [path]
  addWatch [-m mode] path       removewatches path [-c|-d|-a|-p|-r]
  getAllChildrenNumber path     history                      quit

Exit codes: 0 ok, 1 other ZooKeeper error, 2 usage, 3 no node,
4 connection error (cannot connect, connection lost, session expired, timeout).";

#[derive(Debug, Parser)]
#[command(
    name = "corral",
    version,
    about = "Corral command-line tool: a ZooKeeper shell, subtree export/import and a benchmark",
    after_help = AFTER_HELP,
    allow_external_subcommands = true
)]
struct Cli {
    /// Servers to connect to: host:port[,host:port...][/chroot]
    #[arg(short = 's', long = "server", default_value = "127.0.0.1:2181")]
    server: String,
    /// Print the result of a one-shot command as JSON
    #[arg(long)]
    json: bool,
    /// Seconds to wait for a connection and for each request
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Session timeout in milliseconds
    #[arg(long, default_value_t = 30_000)]
    session_timeout: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load-test a ZooKeeper-protocol server (corral-server or Apache ZooKeeper).
    Bench(bench::BenchArgs),
    /// Print a subtree.
    Tree(tree::TreeArgs),
    /// Export a subtree as JSON (data base64 where not UTF-8, ACLs; ephemerals skipped).
    Dump(dump::DumpArgs),
    /// Import a subtree exported by `corral dump`.
    Load(dump::LoadArgs),
    /// A shell command, run once.
    #[command(external_subcommand)]
    Shell(Vec<String>),
}

fn main() {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(Command::Bench(args)) = &cli.command {
        if args.threads > 0 {
            builder.worker_threads(args.threads);
        }
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corral: cannot start the async runtime: {e}");
            std::process::exit(exit::ERROR);
        }
    };
    let options = connect::Options {
        hosts: cli.server.clone(),
        timeout: Duration::from_secs_f64(cli.timeout.clamp(0.1, 3600.0)),
        session_timeout: Duration::from_millis(cli.session_timeout),
    };
    let code = match cli.command {
        None => shell::run(&runtime, &options),
        Some(Command::Bench(args)) => match runtime.block_on(bench::run(args)) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("corral: {e:#}");
                exit::ERROR
            }
        },
        Some(command) => runtime.block_on(one_shot(command, &options, cli.json)),
    };
    // The client's background tasks are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code);
}

/// Connects, runs one command, prints its result; the exit code.
async fn one_shot(command: Command, options: &connect::Options, json: bool) -> i32 {
    let result = async {
        let client = connect::connect(options).await?;
        let out = match command {
            Command::Tree(args) => tree::run(&client, &args, json || args.json).await,
            Command::Dump(args) => dump::dump(&client, &args).await,
            Command::Load(args) => dump::load(&client, &args).await,
            Command::Shell(words) => {
                let ctx = commands::Context::one_shot(client.clone(), json);
                commands::run(&ctx, &words).await
            }
            Command::Bench(_) => unreachable!("bench runs without a client"),
        };
        client.close().await;
        out
    }
    .await;
    match result {
        Ok(text) => {
            print!("{text}");
            exit::OK
        }
        Err(failure) => {
            failure.print(json);
            failure.code()
        }
    }
}

/// The result of a command: text to print, or why it failed.
pub type Outcome = Result<String, Failure>;
