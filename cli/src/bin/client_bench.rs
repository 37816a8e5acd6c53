//! `client-bench`: one client library, one session, many requests in flight.
//!
//! Compares Rust ZooKeeper client libraries under the same load: one client
//! (one session, one TCP connection) shared by `--in-flight` tasks, each
//! issuing its next request as soon as its previous one is answered, so that
//! `--in-flight` requests are always pipelined on the connection. The load is
//! `--read-pct`% getData and the rest setData (unconditional) of
//! `--value-size`-byte values on `--znodes` znodes under `--root`, picked at
//! random; setup creates the znodes (or resets their data) first.
//!
//! Drivers: `corral` (`corral_client::Client`) and `zookeeper-client` (the
//! crates.io crate of that name). Only requests sent after `--warmup` and
//! answered before its end plus `--duration` count. Prints one JSON object
//! (same shape as `tests/bench/kazoo_bench.py`).
//!
//! Used by `tests/bench/client_bench.sh` (the "Client libraries" comparison
//! of `make bench`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

/// Latencies above this (µs) are recorded as this.
const MAX_LATENCY_US: u64 = 60_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DriverKind {
    /// corral-client (this workspace's client core).
    Corral,
    /// The zookeeper-client crate (crates.io).
    ZookeeperClient,
}

impl DriverKind {
    fn name(self) -> &'static str {
        match self {
            DriverKind::Corral => "corral-client",
            DriverKind::ZookeeperClient => "zookeeper-client",
        }
    }
}

/// Benchmark one ZooKeeper client library: one session, pipelined requests.
#[derive(Debug, Parser)]
#[command(name = "client-bench", version)]
struct Args {
    /// The client library to drive.
    #[arg(long, value_enum)]
    driver: DriverKind,
    /// host:port of the server.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// Requests kept in flight (tasks sharing the one client).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    in_flight: u64,
    /// Znodes under --root.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    znodes: u64,
    /// Bytes per value (setup and setData).
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Percentage of getData; the rest is setData.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=100))]
    read_pct: u32,
    /// Measured time, e.g. 10s, 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring starts (not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Parent znode of the benchmark znodes.
    #[arg(long, default_value = "/client-bench")]
    root: String,
    /// Skip the setup (the znodes already exist).
    #[arg(long)]
    no_setup: bool,
    /// Run on tokio's current-thread runtime (default: the multi-thread
    /// runtime, as `#[tokio::main]` gives).
    #[arg(long)]
    current_thread: bool,
    /// Worker threads of the multi-thread runtime (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("bad duration '{s}'"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in '{s}' (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// One client library behind a common face. Both are cheap-clone handles
/// to one session.
#[derive(Clone)]
enum Driver {
    Corral(corral_client::Client),
    Zk(zookeeper_client::Client),
}

impl Driver {
    async fn connect(kind: DriverKind, server: &str) -> Result<Driver> {
        Ok(match kind {
            DriverKind::Corral => Driver::Corral(
                corral_client::Client::builder(server)
                    .session_timeout(Duration::from_secs(30))
                    .connect()
                    .await
                    .context("corral-client connect")?,
            ),
            DriverKind::ZookeeperClient => Driver::Zk(
                zookeeper_client::Client::connector()
                    .with_session_timeout(Duration::from_secs(30))
                    .connect(server)
                    .await
                    .context("zookeeper-client connect")?,
            ),
        })
    }

    async fn get(&self, path: &str) -> std::result::Result<usize, String> {
        match self {
            Driver::Corral(c) => c
                .get_data(path)
                .await
                .map(|(d, _)| d.len())
                .map_err(|e| e.to_string()),
            Driver::Zk(c) => c
                .get_data(path)
                .await
                .map(|(d, _)| d.len())
                .map_err(|e| e.to_string()),
        }
    }

    async fn set(&self, path: &str, data: &[u8]) -> std::result::Result<(), String> {
        match self {
            Driver::Corral(c) => c
                .set_data(path, data, None)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Driver::Zk(c) => c
                .set_data(path, data, None)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// Creates `path` with `data`; true if it was created, false if it
    /// already existed.
    async fn create(&self, path: &str, data: &[u8]) -> Result<bool> {
        match self {
            Driver::Corral(c) => {
                match c
                    .create(path, data, &corral_client::CreateOptions::default())
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(corral_client::Error::NodeExists) => Ok(false),
                    Err(e) => Err(e).with_context(|| format!("create {path}")),
                }
            }
            Driver::Zk(c) => {
                let opts = zookeeper_client::CreateMode::Persistent
                    .with_acls(zookeeper_client::Acls::anyone_all());
                match c.create(path, data, &opts).await {
                    Ok(_) => Ok(true),
                    Err(zookeeper_client::Error::NodeExists) => Ok(false),
                    Err(e) => Err(e).with_context(|| format!("create {path}")),
                }
            }
        }
    }

    async fn close(self) {
        match self {
            Driver::Corral(c) => c.close().await,
            Driver::Zk(c) => drop(c),
        }
    }
}

/// xorshift64*: a per-task generator, no shared state.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// What one task measured.
struct TaskStats {
    latency_us: Histogram<u64>,
    gets: u64,
    sets: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Creates the znodes (pipelined: `in_flight` tasks), resetting the data of
/// those that exist.
async fn setup(driver: &Driver, paths: &Arc<Vec<String>>, root: &str, value: &[u8]) -> Result<()> {
    driver.create(root, b"").await?;
    let tasks = 64.min(paths.len());
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let driver = driver.clone();
        let paths = paths.clone();
        let value = value.to_vec();
        set.spawn(async move {
            for path in paths.iter().skip(t).step_by(tasks) {
                if !driver.create(path, &value).await? {
                    driver
                        .set(path, &value)
                        .await
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("setData {path}"))?;
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("setup task")??;
    }
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    if !args.root.starts_with('/') || args.root.len() < 2 || args.root.ends_with('/') {
        bail!("--root must be an absolute znode path other than /");
    }
    let driver = Driver::connect(args.driver, &args.server).await?;
    let paths: Arc<Vec<String>> = Arc::new(
        (0..args.znodes)
            .map(|i| format!("{}/n{i:07}", args.root))
            .collect(),
    );
    let value = vec![b'x'; args.value_size];
    if !args.no_setup {
        setup(&driver, &paths, &args.root, &value).await?;
    }

    let start = Instant::now();
    let measure_from = start + args.warmup;
    let end = measure_from + args.duration;
    let mut set = JoinSet::new();
    for t in 0..args.in_flight {
        let driver = driver.clone();
        let paths = paths.clone();
        let value = value.clone();
        let read_pct = u64::from(args.read_pct);
        set.spawn(async move {
            let mut rng = Rng::new(t + 1);
            let mut st = TaskStats {
                latency_us: histogram(),
                gets: 0,
                sets: 0,
                errors: 0,
                first_error: None,
            };
            loop {
                let path = &paths[rng.below(paths.len() as u64) as usize];
                let is_get = rng.below(100) < read_pct;
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let r = if is_get {
                    driver.get(path).await.map(drop)
                } else {
                    driver.set(path, &value).await
                };
                let done = Instant::now();
                if sent < measure_from || done > end {
                    continue;
                }
                let us = done.duration_since(sent).as_micros() as u64;
                st.latency_us.saturating_record(us.clamp(1, MAX_LATENCY_US));
                if is_get {
                    st.gets += 1;
                } else {
                    st.sets += 1;
                }
                if let Err(e) = r {
                    st.errors += 1;
                    st.first_error.get_or_insert(e);
                }
            }
            st
        });
    }
    let mut all = histogram();
    let (mut gets, mut sets, mut errors) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    while let Some(r) = set.join_next().await {
        let st = r.context("benchmark task")?;
        all.add(&st.latency_us).expect("same histogram bounds");
        gets += st.gets;
        sets += st.sets;
        errors += st.errors;
        if first_error.is_none() {
            first_error = st.first_error;
        }
    }
    driver.close().await;

    let runtime = if args.current_thread {
        "tokio current-thread".to_string()
    } else {
        format!(
            "tokio multi-thread, {} workers",
            tokio::runtime::Handle::current().metrics().num_workers()
        )
    };
    let ops = all.len();
    let secs = args.duration.as_secs_f64();
    let error_json = match &first_error {
        Some(e) => format!("\"{}\"", e.replace('\\', "\\\\").replace('"', "\\\"")),
        None => "null".to_string(),
    };
    println!(
        "{{\"driver\": \"{}\", \"runtime\": \"{}\", \"server\": \"{}\", \"in_flight\": {}, \"znodes\": {}, \
         \"value_size\": {}, \"read_pct\": {}, \"duration_s\": {:.3}, \"ops\": {}, \
         \"gets\": {}, \"sets\": {}, \"ops_per_sec\": {:.1}, \"p50_us\": {}, \"p90_us\": {}, \
         \"p99_us\": {}, \"p999_us\": {}, \"max_us\": {}, \"errors\": {}, \"first_error\": {}}}",
        args.driver.name(),
        runtime,
        args.server,
        args.in_flight,
        args.znodes,
        args.value_size,
        args.read_pct,
        secs,
        ops,
        gets,
        sets,
        ops as f64 / secs,
        all.value_at_quantile(0.50),
        all.value_at_quantile(0.90),
        all.value_at_quantile(0.99),
        all.value_at_quantile(0.999),
        all.max(),
        errors,
        error_json,
    );
    if ops == 0 {
        bail!("no request was answered in the measured window");
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    let mut builder = if args.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if args.threads > 0 {
            b.worker_threads(args.threads);
        }
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("client-bench: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("client-bench: {e:#}");
        std::process::exit(1);
    }
}
