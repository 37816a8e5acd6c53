//! `corral bench`: a load generator speaking the ZooKeeper protocol directly
//! (corral-protocol over tokio TCP, no client library).
//!
//! A setup session creates the znodes; then `--sessions` sessions each keep
//! `--in-flight` pipelined requests outstanding for `--warmup` + `--duration`.
//! Only requests sent after the warmup and answered before the end count.
//! Error replies are counted, not fatal; a lost connection is fatal.
//!
//! `--count N` (create workload) ends the run after exactly N successful
//! creates instead, e.g. to load a tree of a given size; `--parents P`
//! spreads the creates over P parents.
//!
//! `--workload watch` measures watch fan-out instead ([`watch`]): N
//! watchers, one change, the time until all are notified.
//!
//! A progress bar goes to stderr while the run goes (when it is a
//! terminal); `--plot out.svg` draws the latency percentiles.

mod conn;
#[cfg(test)]
mod fake_server;
mod plot;
mod progress;
mod report;
mod session;
mod setup;
mod stats;
mod watch;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use conn::Conn;
use session::{Budget, Plan, Session};
use stats::Stats;
use workload::Mix;

/// Session timeout asked for by every benchmark session.
const SESSION_TIMEOUT_MS: i32 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// `--read-pct`% getData, the rest setData, on random znodes under /bench.
    Mixed,
    /// Persistent sequential creates under /bench-create (or under
    /// `--parents` children of it).
    Create,
    /// Watch fan-out: `--sessions` watchers on /bench-watch, one setData,
    /// the time until every watcher is notified (then again).
    Watch,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Mixed => "mixed",
            Workload::Create => "create",
            Workload::Watch => "watch",
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
    /// Measured time, e.g. 10s, 500ms, 1m [default: 10s]. With --count: a
    /// time limit (none by default), the run fails if it is reached first.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Load before measuring starts (not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    pub workload: Workload,
    /// Create workload: stop after exactly this many successful creates
    /// (warmup included; failed creates are retried) instead of after
    /// --duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Create workload: spread the creates uniformly over this many parents
    /// /bench-create/p000, p001... (0: directly under /bench-create).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub parents: u64,
    /// Client worker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Seed of the per-session random generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the latency percentiles as an SVG chart to this file.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<std::path::PathBuf>,
}

/// `--duration` when a timed run does not give it.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

impl BenchArgs {
    /// How long the run sends requests after the warmup: `None` for a
    /// `--count` run without `--duration`.
    pub fn time_limit(&self) -> Option<Duration> {
        match (self.duration, self.count) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_DURATION),
        }
    }
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
    let bar = progress::start(&args);
    let stats = measure(&args).await;
    progress::finish(&bar);
    let stats = stats?;
    if let Some(path) = &args.plot {
        plot::write_svg(path, &args, &stats)?;
    }
    if args.json {
        println!("{}", report::json(&args, &stats));
    } else {
        print!("{}", report::text(&args, &stats));
    }
    Ok(())
}

/// Setup, then the timed run; the merged statistics of every session.
pub async fn measure(args: &BenchArgs) -> Result<Stats> {
    if args.time_limit().is_some_and(|d| d.is_zero()) {
        bail!("--duration must be more than zero");
    }
    if args.workload == Workload::Watch {
        return watch::measure(args).await;
    }
    if args.workload != Workload::Create && (args.count.is_some() || args.parents > 0) {
        bail!("--count and --parents are for --workload create");
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
            setup::create_root(&mut setup_conn, args.parents as usize).await?;
            Mix::create(args.value_size as usize, args.parents as usize)
        }
        Workload::Watch => unreachable!("measured by watch::measure"),
    };
    setup_conn.close(i32::MAX).await;
    let mix = Arc::new(mix);

    let conns = connect_all(&server, args.sessions as usize).await?;
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let plan = Plan {
        measure_from,
        end: args.time_limit().map(|d| measure_from + d),
    };
    let budget = args.count.map(|n| Arc::new(Budget::new(n)));
    let mut tasks = Vec::with_capacity(conns.len());
    for (i, conn) in conns.into_iter().enumerate() {
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        let session = Session::new(
            i,
            conn,
            mix.clone(),
            args.in_flight as usize,
            seed,
            budget.clone(),
        );
        tasks.push(tokio::spawn(session.run(plan)));
    }
    let mut stats = Stats::default();
    for task in tasks {
        let s = task.await.context("a session task panicked")??;
        stats.merge(&s);
    }
    stats.window = match (args.count, args.time_limit()) {
        // A count run is measured until its last reply.
        (Some(_), _) => stats.last_reply.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(measure_from)
        }),
        (None, limit) => limit.unwrap_or_default(),
    };
    if let Some(n) = args.count {
        if stats.created != n {
            bail!(
                "the --duration limit ended the run after {} of {n} creates",
                stats.created
            );
        }
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
    async fn count_stops_after_exactly_n_creates() {
        let server = fake_server::start(Options::default()).await;
        let mut args = args(
            &server,
            &["--workload", "create", "--count", "1000", "--parents", "7"],
        );
        args.duration = None;
        args.in_flight = 33;
        let stats = measure(&args).await.unwrap();
        assert_eq!(stats.created, 1000);
        // The fake server's zxids count every write of the connection,
        // setup included, and its create paths end with the zxid.
        let (zxid, path) = stats.last_create.clone().unwrap();
        assert!(path.starts_with("/bench-create/p00"), "{path}");
        assert!(path.ends_with(&format!("{zxid:010}")), "{path}");
        let json = report::json(&args, &stats);
        assert!(json.contains("\"count\":1000,\"created\":1000"), "{json}");
        assert!(
            json.contains(&format!("\"last_path\":\"{path}\"")),
            "{json}"
        );
    }

    #[tokio::test]
    async fn count_retries_failed_creates() {
        let server = fake_server::start(Options {
            fail_create_every: Some(3),
            ..Options::default()
        })
        .await;
        let mut args = args(&server, &["--workload", "create", "--count", "500"]);
        args.warmup = Duration::ZERO;
        let stats = measure(&args).await.unwrap();
        assert_eq!(stats.created, 500);
        let failed = stats.error_total();
        assert!(failed >= 200, "{failed}");
    }

    #[tokio::test]
    async fn count_fails_at_the_time_limit() {
        let server = fake_server::start(Options {
            fail_create_every: Some(1),
            ..Options::default()
        })
        .await;
        let create = args(&server, &["--workload", "create", "--count", "10"]);
        let err = measure(&create).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("after 0 of 10 creates"),
            "{err:#}"
        );
        let mixed = args(&server, &["--count", "10"]);
        let err = measure(&mixed).await.unwrap_err();
        assert!(format!("{err:#}").contains("--workload create"), "{err:#}");
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
