//! The `watch` workload: watch fan-out. `--sessions` watchers each set a
//! one-shot watch on [`WATCH_PATH`]; one more session changes it; the time
//! from sending the change until every watcher has its notification is one
//! `watch` sample (per-watcher times are the `notify` samples). Then the
//! watchers set their watches again and the next round starts, until the
//! run ends. Uses the corral client, so it works against any
//! ZooKeeper-protocol server.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use corral_client::{Client, CreateOptions, Error};
use futures::future::{join_all, try_join_all};

use super::stats::Stats;
use super::workload::Op;
use super::{BenchArgs, SESSION_TIMEOUT_MS};

/// The znode every watcher watches.
pub const WATCH_PATH: &str = "/bench-watch";

/// A round whose notifications take longer than this fails the run.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

async fn connect(server: &str) -> Result<Client> {
    Client::builder(server)
        .session_timeout(Duration::from_millis(SESSION_TIMEOUT_MS as u64))
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {server}"))
}

/// Rounds of one change seen by every watcher, for the warmup and
/// `--duration`.
pub async fn measure(args: &BenchArgs) -> Result<Stats> {
    if args.count.is_some() || args.parents > 0 {
        bail!("--count and --parents are for --workload create");
    }
    let writer = connect(&args.server).await?;
    match writer
        .create(WATCH_PATH, b"", &CreateOptions::default())
        .await
    {
        Ok(_) | Err(Error::NodeExists) => {}
        Err(e) => bail!("setup: {WATCH_PATH}: {e}"),
    }
    let watchers = try_join_all((0..args.sessions).map(|_| connect(&args.server))).await?;
    let value = vec![b'x'; args.value_size as usize];
    let duration = args.time_limit().unwrap_or(super::DEFAULT_DURATION);
    let measure_from = Instant::now() + args.warmup;
    let end = measure_from + duration;
    let mut stats = Stats::default();
    while Instant::now() < end {
        let armed = try_join_all(watchers.iter().map(|w| w.exists_w(WATCH_PATH)))
            .await
            .context("setting the watches")?;
        let sent = Instant::now();
        writer
            .set_data(WATCH_PATH, &value, None)
            .await
            .context("changing the watched znode")?;
        let notified = join_all(armed.into_iter().map(|(_, watch)| async move {
            watch.await;
            sent.elapsed()
        }));
        let times = tokio::time::timeout(ROUND_TIMEOUT, notified)
            .await
            .context("not every watcher was notified within 30 s")?;
        if sent < measure_from {
            continue;
        }
        let all = times.iter().max().copied().unwrap_or_default();
        stats.record(Op::Watch, all.as_micros() as u64, 0);
        for t in times {
            stats.record_only(Op::Notify, t.as_micros() as u64);
        }
        stats.last_reply = Some(Instant::now());
    }
    stats.window = duration;
    for w in watchers {
        w.close().await;
    }
    writer.close().await;
    Ok(stats)
}
