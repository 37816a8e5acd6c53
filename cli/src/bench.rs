//! `corral bench`: a load generator speaking the ZooKeeper protocol directly
//! (corral-protocol over tokio TCP, no client library).
//!
//! A setup session creates the znodes; then `--sessions` sessions each keep
//! `--in-flight` pipelined requests outstanding for `--warmup` + `--duration`.
//! Only requests sent after the warmup and answered before the end count.
//! Error replies are counted, not fatal; a lost connection is fatal.

mod conn;
#[cfg(test)]
mod fake_server;
mod report;
mod session;
mod setup;
mod stats;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use conn::Conn;
use session::{Plan, Session};
use stats::Stats;
use workload::Mix;

/// Session timeout asked for by every benchmark session.
const SESSION_TIMEOUT_MS: i32 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// `--read-pct`% getData, the rest setData, on random znodes under /bench.
    Mixed,
    /// Persistent sequential creates under /bench-create.
    Create,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Mixed => "mixed",
            Workload::Create => "create",
        }
    }
}

/// Benchmark a ZooKeeper-protocol server (corral-server or Apache ZooKeeper).
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// host:port of the server.
    #[arg(long, default_value = "127.0.0.1:2181")]
    pub server: String,
    /// Concurrent sessions (one TCP connection each).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub sessions: u64,
    /// Requests kept outstanding per session (pipelined).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub in_flight: u64,
    /// Znodes under /bench for the mixed workload.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub znodes: u64,
    /// Bytes of data per znode (and per setData / create).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub value_size: u64,
    /// Percentage of getData in the mixed workload; the rest is setData.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub read_pct: u32,
    /// Measured time, e.g. 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before measuring starts (not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    pub workload: Workload,
    /// Client worker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Seed of the per-session random generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (try 10s, 500ms, 1m)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("unknown unit {u:?} in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs > 86_400.0 * 365.0 {
        return Err(format!("duration {s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the benchmark and prints the report.
pub async fn run(args: BenchArgs) -> Result<()> {
    let stats = measure(&args).await?;
    if args.json {
        println!("{}", report::json(&args, &stats));
    } else {
        print!("{}", report::text(&args, &stats));
    }
    Ok(())
}

/// Setup, then the timed run; the merged statistics of every session.
pub async fn measure(args: &BenchArgs) -> Result<Stats> {
    if args.duration.is_zero() {
        bail!("--duration must be more than zero");
    }
    let server = args.server.clone();
    let mut setup_conn = Conn::connect(&server, SESSION_TIMEOUT_MS).await?;
    let mix = match args.workload {
        Workload::Mixed => {
            setup::mixed(
                &mut setup_conn,
                args.znodes as usize,
                args.value_size as usize,
            )
            .await?;
            Mix::mixed(
                args.znodes as usize,
                args.value_size as usize,
                args.read_pct,
            )
        }
        Workload::Create => {
            setup::create_root(&mut setup_conn).await?;
            Mix::create(args.value_size as usize)
        }
    };
    setup_conn.close(i32::MAX).await;
    let mix = Arc::new(mix);

    let conns = connect_all(&server, args.sessions as usize).await?;
    let start = Instant::now();
    let plan = Plan {
        measure_from: start + args.warmup,
        end: start + args.warmup + args.duration,
    };
    let mut tasks = Vec::with_capacity(conns.len());
    for (i, conn) in conns.into_iter().enumerate() {
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        let session = Session::new(i, conn, mix.clone(), args.in_flight as usize, seed);
        tasks.push(tokio::spawn(session.run(plan)));
    }
    let mut stats = Stats::default();
    for task in tasks {
        let s = task.await.context("a session task panicked")??;
        stats.merge(&s);
    }
    Ok(stats)
}

/// Opens `n` sessions concurrently; the first failure is the error.
async fn connect_all(server: &str, n: usize) -> Result<Vec<Conn>> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let server = server.to_owned();
            tokio::spawn(async move { Conn::connect(&server, SESSION_TIMEOUT_MS).await })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.context("a connect task panicked")??);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::fake_server::{self, Options};
    use super::workload::Op;
    use super::*;
    use clap::Parser;
    use corral_protocol::ErrorCode;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn args(server: &str, extra: &[&str]) -> BenchArgs {
        let mut argv = vec!["bench", "--server", server, "--duration", "300ms"];
        argv.extend_from_slice(&["--warmup", "100ms", "--sessions", "3", "--znodes", "50"]);
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    #[tokio::test]
    async fn mixed_counts_reads_writes_and_errors() {
        let server = fake_server::start(Options {
            fail_set_data: true,
            notify_every: Some(7),
            ..Options::default()
        })
        .await;
        let args = args(&server, &["--read-pct", "80", "--in-flight", "4"]);
        let stats = measure(&args).await.unwrap();
        let reads = stats.by_op[Op::Read.index()].len();
        let writes = stats.by_op[Op::Write.index()].len();
        assert!(reads > 100 && writes > 10, "{reads} {writes}");
        assert_eq!(stats.ops(), reads + writes);
        assert_eq!(stats.errors.get(&ErrorCode::NoNode.code()), Some(&writes));
        let json = report::json(&args, &stats);
        assert!(json.contains("\"NONODE\":"), "{json}");
        assert!(json.contains("\"getData\":{\"ops\":"), "{json}");
        assert!(report::text(&args, &stats).contains("errors:"));
    }

    #[tokio::test]
    async fn create_workload_runs() {
        let server = fake_server::start(Options::default()).await;
        let args = args(&server, &["--workload", "create", "--json"]);
        let stats = measure(&args).await.unwrap();
        assert!(stats.by_op[Op::Create.index()].len() > 100);
        assert_eq!(stats.ops(), stats.by_op[Op::Create.index()].len());
        assert_eq!(stats.error_total(), 0);
    }

    #[tokio::test]
    async fn lost_connection_is_fatal() {
        // Survives setup (1 + 50 creates) but not the run.
        let server = fake_server::start(Options {
            die_after: Some(200),
            ..Options::default()
        })
        .await;
        let err = measure(&args(&server, &[])).await.unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("session "), "{msg}");
        assert!(
            msg.contains("closed the connection") || msg.contains("lost"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn setup_checks_what_it_wrote() {
        let server = fake_server::start(Options {
            lose_data: true,
            ..Options::default()
        })
        .await;
        let err = measure(&args(&server, &[])).await.unwrap_err();
        assert!(format!("{err:#}").contains("read back 0 bytes"), "{err:#}");
    }

    #[tokio::test]
    async fn refused_connection_is_fatal() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = measure(&args(&addr, &[])).await.unwrap_err();
        assert!(format!("{err:#}").contains("cannot connect"), "{err:#}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
