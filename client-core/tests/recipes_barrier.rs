//! Barrier and DoubleBarrier with 5 participants (one session each),
//! against corral-server and ZooKeeper.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corral_client::recipes::barrier::Barrier;
use corral_client::recipes::double_barrier::{DoubleBarrier, READY_NODE};
use corral_client::Client;
use support::{within, Kind, Server};

const N: usize = 5;
const WAIT: Duration = Duration::from_secs(30);

async fn connect(server: &Server) -> Client {
    Client::builder(&server.hosts())
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

async fn barrier(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let admin = connect(&server).await;
    let b = Barrier::new(admin.clone(), "/app/barriers/b1");
    assert!(!b.is_set().await.unwrap());
    // Not set: wait returns at once.
    assert!(within(WAIT, "unset wait", b.wait(WAIT)).await.unwrap());
    b.set().await.unwrap();
    b.set().await.unwrap(); // idempotent
    assert!(b.is_set().await.unwrap());

    let mut clients = Vec::new();
    let mut waiters = Vec::new();
    for _ in 0..N {
        let c = connect(&server).await;
        let w = Barrier::new(c.clone(), "/app/barriers/b1");
        clients.push(c);
        waiters.push(tokio::spawn(async move { w.wait(WAIT).await }));
    }
    // Held back while set: a bounded wait times out.
    assert!(!b.wait(Duration::from_millis(300)).await.unwrap());
    assert!(waiters.iter().all(|w| !w.is_finished()));
    b.remove().await.unwrap();
    for w in waiters {
        assert!(within(WAIT, "released waiter", w).await.unwrap().unwrap());
    }
    b.remove().await.unwrap(); // idempotent
    for c in clients {
        c.close().await;
    }
    admin.close().await;
}

async fn double_barrier(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let path = "/app/double";
    let arrived = Arc::new(AtomicUsize::new(0));
    let leaving = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let c = connect(&server).await;
        let (arrived, leaving) = (arrived.clone(), leaving.clone());
        tasks.push(tokio::spawn(async move {
            // Curator's layout is not safe to reuse for back-to-back rounds
            // (a fast leaver could re-enter before `ready` is deleted): one
            // barrier path per round.
            for round in 0..2 {
                let mut b = DoubleBarrier::new(c.clone(), &format!("{path}/r{round}"), N);
                arrived.fetch_add(1, Ordering::SeqCst);
                assert!(b.enter(WAIT).await.unwrap(), "enter");
                // Nobody gets in before all N have arrived.
                assert!(arrived.load(Ordering::SeqCst) >= N * (round + 1));
                leaving.fetch_add(1, Ordering::SeqCst);
                assert!(b.leave(WAIT).await.unwrap(), "leave");
                // Nobody gets out before all N have started leaving.
                assert!(leaving.load(Ordering::SeqCst) >= N * (round + 1));
            }
            c.close().await;
        }));
    }
    for t in tasks {
        within(WAIT * 2, "participant", t).await.unwrap();
    }
    let check = connect(&server).await;
    for round in 0..2 {
        // every participant node and `ready` are gone
        let left = check
            .get_children(&format!("{path}/r{round}"))
            .await
            .unwrap();
        assert!(left.is_empty(), "nodes left behind: {left:?}");
    }

    // Alone in a barrier for two: enter times out and leaves no node.
    let mut alone = DoubleBarrier::new(check.clone(), "/app/double2", 2);
    assert!(!alone.enter(Duration::from_millis(300)).await.unwrap());
    let left = check.get_children("/app/double2").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        check
            .exists(&format!("/app/double2/{READY_NODE}"))
            .await
            .unwrap(),
        None
    );
    check.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_corral() {
    barrier(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_zookeeper() {
    barrier(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_corral() {
    double_barrier(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_zookeeper() {
    double_barrier(Kind::ZooKeeper).await;
}
