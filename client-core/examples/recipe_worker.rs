//! A process that uses the lock or election recipe, for the interop and
//! kill -9 tests in `tests/python/test_recipes_interop.py`.
//!
//! ```text
//! recipe_worker lock  HOSTS LOCK_PATH COUNTER_PATH TASKS ITERATIONS
//! recipe_worker elect HOSTS ELECTION_PATH LOG_PATH ID SESSION_MS
//! ```
//!
//! `lock`: TASKS tasks (one session, a `Lock` handle each) each increment
//! the decimal counter in COUNTER_PATH ITERATIONS times under the lock, by
//! an unversioned read-modify-write (so only mutual exclusion keeps the
//! count exact); prints `done` and exits.
//!
//! `elect`: a candidate with id ID. While leader it appends a record
//! `EPOCH:ID` to LOG_PATH every 50 ms as a persistent sequential node,
//! fenced by a check on its election node in the same multi; it prints
//! `leader EPOCH` when elected. Runs until killed or stdin closes.

use std::time::Duration;

use corral_client::recipes::leader_election::LeaderElection;
use corral_client::recipes::lock::Lock;
use corral_client::{Client, CreateOptions, Op};
use tokio::io::AsyncReadExt;

fn usage() -> ! {
    eprintln!(
        "usage: recipe_worker lock HOSTS LOCK_PATH COUNTER_PATH TASKS ITERATIONS\n       \
         recipe_worker elect HOSTS ELECTION_PATH LOG_PATH ID SESSION_MS"
    );
    std::process::exit(2)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 6 {
        usage();
    }
    match args[0].as_str() {
        "lock" => {
            lock(
                &args[1],
                &args[2],
                &args[3],
                parse(&args[4]),
                parse(&args[5]),
            )
            .await
        }
        "elect" => elect(&args[1], &args[2], &args[3], &args[4], parse(&args[5])).await,
        _ => usage(),
    }
}

fn parse(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| usage())
}

async fn lock(hosts: &str, lock_path: &str, counter: &str, tasks: u64, iterations: u64) {
    let client = Client::builder(hosts)
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .expect("connect");
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let client = client.clone();
        let (lock_path, counter) = (lock_path.to_owned(), counter.to_owned());
        handles.push(tokio::spawn(async move {
            let lock = Lock::new(&client, &lock_path).with_data("corral");
            for _ in 0..iterations {
                lock.acquire().await.expect("acquire");
                let (data, _) = client.get_data(&counter).await.expect("get counter");
                let n: u64 = String::from_utf8_lossy(&data)
                    .trim()
                    .parse()
                    .expect("counter");
                client
                    .set_data(&counter, (n + 1).to_string().as_bytes(), None)
                    .await
                    .expect("set counter");
                lock.release().await.expect("release");
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    client.close().await;
    println!("done");
}

async fn elect(hosts: &str, path: &str, log: &str, id: &str, session_ms: u64) {
    let client = Client::builder(hosts)
        .session_timeout(Duration::from_millis(session_ms))
        .connect()
        .await
        .expect("connect");
    let log = log.to_owned();
    let me = id.to_owned();
    let election = LeaderElection::new(&client, path, id).start(move |leadership| {
        let (log, me) = (log.clone(), me.clone());
        async move {
            println!("leader {}", leadership.epoch());
            let record = format!("{}:{me}", leadership.epoch());
            let prefix = format!("{log}/rec-");
            loop {
                let ops = vec![
                    leadership.check_op(),
                    Op::create(prefix.clone(), record.clone(), CreateOptions::sequential()),
                ];
                if let Err(e) = leadership.client().multi(ops).await {
                    eprintln!("record not written: {e}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Until the parent closes our stdin (or kills us).
    let mut buf = [0u8; 64];
    let mut stdin = tokio::io::stdin();
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    let _ = election.stop().await;
    client.close().await;
}
