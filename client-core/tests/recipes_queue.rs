//! Queue: FIFO and priorities; 3 producers and 3 consumers with one
//! consumer killed (its connection cut until its session expires) while it
//! holds an item — every item is consumed exactly once. Against
//! corral-server and ZooKeeper.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::recipes::queue::Queue;
use corral_client::{Client, Error, SessionState};
use support::{within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(30);
const PRODUCERS: usize = 3;
const PER_PRODUCER: usize = 40;

async fn connect(hosts: &str, session: Duration) -> Client {
    Client::builder(hosts)
        .session_timeout(session)
        .connect()
        .await
        .unwrap()
}

async fn fifo_and_priorities(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let c = connect(&server.hosts(), Duration::from_secs(10)).await;
    let q = Queue::new(c.clone(), "/app/q");
    assert_eq!(q.count().await.unwrap(), 0);
    assert_eq!(q.take(Duration::from_millis(100)).await.unwrap(), None);
    for i in 0..5 {
        let name = q.put(format!("item-{i}").as_bytes()).await.unwrap();
        assert!(name.starts_with("entry-100-"), "{name}");
    }
    q.put_with_priority(b"urgent", 1).await.unwrap();
    q.put_all(&[&b"last-a"[..], &b"last-b"[..]], 500)
        .await
        .unwrap();
    assert!(matches!(
        q.put_with_priority(b"x", 1000).await,
        Err(Error::BadArguments(_))
    ));
    assert_eq!(q.count().await.unwrap(), 8);
    // kazoo's layout: entries/ and taken/
    let entries = c.get_children("/app/q/entries").await.unwrap();
    assert_eq!(entries.len(), 8);

    // A locked item is skipped by others; released (or dropped), it is
    // taken again.
    let first = q.take_locked(WAIT).await.unwrap().unwrap();
    assert_eq!(first.data(), b"urgent");
    let lock = c
        .get_data(&format!("/app/q/taken/{}", first.name()))
        .await
        .unwrap();
    assert_eq!(lock.1.ephemeral_owner, c.session_id());
    assert!(first.holds_lock().await.unwrap());
    let other = Queue::new(c.clone(), "/app/q");
    let second = other.take_locked(WAIT).await.unwrap().unwrap();
    assert_eq!(second.data(), b"item-0");
    first.release().await.unwrap();
    let second_lock = format!("/app/q/taken/{}", second.name());
    drop(second); // released in the background
    let released = support::wait_until(WAIT, || async {
        c.exists(&second_lock).await.unwrap().is_none()
    })
    .await;
    assert!(released, "a dropped item is released");
    let mut order = Vec::new();
    while let Some(data) = q.take(Duration::from_millis(500)).await.unwrap() {
        order.push(String::from_utf8(data).unwrap());
    }
    assert_eq!(
        order,
        ["urgent", "item-0", "item-1", "item-2", "item-3", "item-4", "last-a", "last-b"]
    );
    assert_eq!(q.count().await.unwrap(), 0);
    assert!(c.get_children("/app/q/taken").await.unwrap().is_empty());
    c.close().await;
}

async fn exactly_once(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let path = "/app/jobs";
    // item -> how many times it was consumed
    let consumed: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let total = PRODUCERS * PER_PRODUCER;

    // The consumer that dies: it takes an item, then loses its connection
    // for longer than its session timeout.
    let victim = connect(&proxy.hosts(), Duration::from_millis(1500)).await;
    let victim_q = Queue::new(victim.clone(), path);
    let victim_task = tokio::spawn(async move { victim_q.take_locked(WAIT).await });

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let c = connect(&server.hosts(), Duration::from_secs(10)).await;
        producers.push(tokio::spawn(async move {
            let q = Queue::new(c.clone(), path);
            for i in 0..PER_PRODUCER {
                q.put(format!("p{p}-{i}").as_bytes()).await.unwrap();
            }
            c.close().await;
        }));
    }
    let held = within(WAIT, "victim take", victim_task)
        .await
        .unwrap()
        .unwrap()
        .expect("the victim got an item");
    let held_name = String::from_utf8(held.data().to_vec()).unwrap();

    let mut consumers = Vec::new();
    for _ in 0..2 {
        let c = connect(&server.hosts(), Duration::from_secs(10)).await;
        let consumed = consumed.clone();
        consumers.push(tokio::spawn(async move {
            let q = Queue::new(c.clone(), path);
            loop {
                if consumed.lock().unwrap().len() == total {
                    break;
                }
                let Some(item) = q.take_locked(Duration::from_millis(200)).await.unwrap() else {
                    continue;
                };
                let name = String::from_utf8(item.data().to_vec()).unwrap();
                item.consume().await.unwrap();
                *consumed.lock().unwrap().entry(name).or_default() += 1;
            }
            c.close().await;
        }));
    }

    // Kill the victim while it holds its item.
    proxy.cut();
    support::wait_state(&victim, SessionState::Lost, WAIT).await;
    assert_eq!(held.consume().await, Err(Error::SessionExpired));

    for p in producers {
        within(WAIT, "producer", p).await.unwrap();
    }
    for c in consumers {
        within(WAIT * 2, "consumer", c).await.unwrap();
    }
    let consumed = consumed.lock().unwrap().clone();
    assert_eq!(consumed.len(), total, "every item consumed");
    let twice: Vec<_> = consumed.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "consumed more than once: {twice:?}");
    assert_eq!(consumed.get(&held_name), Some(&1), "the victim's item");
    for p in 0..PRODUCERS {
        for i in 0..PER_PRODUCER {
            assert!(consumed.contains_key(&format!("p{p}-{i}")));
        }
    }
    let check = connect(&server.hosts(), Duration::from_secs(10)).await;
    assert!(check
        .get_children("/app/jobs/entries")
        .await
        .unwrap()
        .is_empty());
    assert!(check
        .get_children("/app/jobs/taken")
        .await
        .unwrap()
        .is_empty());
    check.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_corral() {
    fifo_and_priorities(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_zookeeper() {
    fifo_and_priorities(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_corral() {
    exactly_once(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_zookeeper() {
    exactly_once(Kind::ZooKeeper).await;
}
