//! Counter: exact under concurrent increments (5 sessions x 40), in each
//! storage format, against corral-server and ZooKeeper.

mod support;

use std::time::Duration;

use corral_client::recipes::counter::{Counter, CounterFormat};
use corral_client::Client;
use support::{within, Kind, Server};

const CLIENTS: usize = 5;
const INCREMENTS: usize = 40;
const WAIT: Duration = Duration::from_secs(60);

async fn connect(server: &Server) -> Client {
    Client::builder(&server.hosts())
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

async fn concurrent(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let formats = [
        (CounterFormat::Decimal, "/counters/kazoo"),
        (CounterFormat::SharedCount, "/counters/curator"),
        (CounterFormat::AtomicLong, "/counters/long"),
    ];
    for (format, path) in formats {
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let c = connect(&server).await;
            tasks.push(tokio::spawn(async move {
                let counter = Counter::new(c.clone(), path).with_format(format);
                let mut seen = Vec::new();
                for _ in 0..INCREMENTS {
                    seen.push(counter.add(1).await.unwrap());
                }
                c.close().await;
                seen
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(within(WAIT, "incrementer", t).await.unwrap());
        }
        // Every increment got its own value: none lost, none doubled.
        all.sort();
        let expected: Vec<i64> = (1..=(CLIENTS * INCREMENTS) as i64).collect();
        assert_eq!(all, expected, "{format:?}");

        let c = connect(&server).await;
        let counter = Counter::new(c.clone(), path).with_format(format);
        let total = (CLIENTS * INCREMENTS) as i64;
        assert_eq!(counter.get().await.unwrap(), total);
        let (raw, _) = c.get_data(path).await.unwrap();
        match format {
            CounterFormat::Decimal => assert_eq!(raw, total.to_string().as_bytes()),
            CounterFormat::SharedCount => assert_eq!(raw, (total as i32).to_be_bytes()),
            CounterFormat::AtomicLong => assert_eq!(raw, total.to_be_bytes()),
        }
        c.close().await;
    }
}

async fn set_and_compare(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let c = connect(&server).await;
    let counter = Counter::new(c.clone(), "/a/b/count").with_initial(10);
    assert_eq!(
        counter.get().await.unwrap(),
        10,
        "created with the initial value"
    );
    assert_eq!(counter.add(-15).await.unwrap(), -5);
    let (value, version) = counter.get_versioned().await.unwrap();
    assert_eq!(value, -5);
    assert!(counter.compare_and_set(version, 7).await.unwrap());
    assert!(
        !counter.compare_and_set(version, 8).await.unwrap(),
        "stale version"
    );
    assert_eq!(counter.get().await.unwrap(), 7);
    let (_, _, watch) = counter.get_w().await.unwrap();
    counter.set(100).await.unwrap();
    let ev = within(WAIT, "counter watch", watch).await;
    assert_eq!(ev.path, "/a/b/count");
    // kazoo wrote it: a decimal string
    c.set_data("/a/b/count", b"41", None).await.unwrap();
    assert_eq!(counter.add(1).await.unwrap(), 42);
    // a SharedCount reader rejects it
    let shared = Counter::new(c.clone(), "/a/b/count").with_format(CounterFormat::SharedCount);
    assert!(shared.get().await.is_err());
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_corral() {
    concurrent(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_zookeeper() {
    concurrent(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_compare_corral() {
    set_and_compare(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_compare_zookeeper() {
    set_and_compare(Kind::ZooKeeper).await;
}
