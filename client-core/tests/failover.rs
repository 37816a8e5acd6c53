//! Failover on a 3-node ZooKeeper ensemble: the server the client is on is
//! killed with SIGKILL; the client moves to another server with the same
//! session, its ephemerals and its watches, and a change made by another
//! client while it was disconnected fires its watch once.
//!
//! The client reaches the servers through proxies so that the test controls
//! the outage: new connections are refused until the other client's
//! changes are in.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{
    AddWatchMode, Client, CreateOptions, EventType, KeeperState, RetryPolicy, SessionState,
    WatchedEvent,
};
use futures::StreamExt;
use support::{within, Ensemble, Proxy};

const WAIT: Duration = Duration::from_secs(20);

fn ev(t: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type: t,
        state: KeeperState::SyncConnected,
        path: path.to_string(),
    }
}

/// `on`: "leader" or "follower", the kind of server the client starts on
/// (and that is killed).
async fn failover(on: &str) {
    support::init_tracing();
    let mut ensemble = Ensemble::start(&["maxSessionTimeout=30000"]);
    let mut proxies = Vec::new();
    for s in &ensemble.servers {
        proxies.push(Proxy::start(s.port).await);
    }
    // the chosen server first, the others after
    let first = ensemble
        .servers
        .iter()
        .position(|s| s.mode() == on)
        .unwrap_or_else(|| panic!("no {on} in the ensemble"));
    let mut order: Vec<usize> = vec![first];
    order.extend((0..3).filter(|i| *i != first));
    let hosts = order
        .iter()
        .map(|i| proxies[*i].hosts())
        .collect::<Vec<_>>()
        .join(",");
    let policy = RetryPolicy::exponential(Duration::from_millis(50), Duration::from_secs(1), 30);
    let c = Client::builder(&hosts)
        .shuffle_hosts(false)
        .session_timeout(Duration::from_secs(10))
        .retry(policy.clone())
        .connect()
        .await
        .unwrap();
    let other = Client::builder(&ensemble.hosts())
        .session_timeout(Duration::from_secs(10))
        .retry(policy.clone())
        .connect()
        .await
        .unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let s = states.clone();
    c.add_listener(move |st| s.lock().unwrap().push(st));

    let d = CreateOptions::default();
    c.create("/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    c.create("/data", b"0", &d).await.unwrap();
    let (_, stat, data_watch) = c.get_data_w("/data").await.unwrap();
    let (_, exist_watch) = c.exists_w("/later").await.unwrap();
    let mut persistent = c
        .add_watch("/data", AddWatchMode::Persistent)
        .await
        .unwrap();
    let session = c.session_id();

    // which server is the client on?
    let host = c.connected_host().unwrap();
    let victim = proxies.iter().position(|p| p.hosts() == host).unwrap();
    assert_eq!(victim, first);
    tracing::info!(victim, mode = %ensemble.servers[victim].mode(), "killing the client's server");
    for p in &proxies {
        p.refuse();
    }
    ensemble.servers[victim].kill9();
    support::wait_state(&c, SessionState::Suspended, WAIT).await;

    // changes while the client is away (the ensemble may be electing)
    let v = stat.version;
    corral_client::retry(&policy, || other.set_data("/data", b"1", Some(v)))
        .await
        .unwrap();
    corral_client::retry(&policy, || async {
        match other.create("/later", b"", &d).await {
            Err(corral_client::Error::NodeExists) => Ok(String::new()),
            r => r,
        }
    })
    .await
    .unwrap();
    for p in &proxies {
        p.restore();
    }

    // the client is back on another server, with the same session
    support::wait_state(&c, SessionState::Reconnected, WAIT).await;
    assert_eq!(c.session_id(), session);
    assert_ne!(c.connected_host().unwrap(), host);
    assert_eq!(
        within(WAIT, "data watch", data_watch).await,
        ev(EventType::NodeDataChanged, "/data")
    );
    assert_eq!(
        within(WAIT, "exist watch", exist_watch).await,
        ev(EventType::NodeCreated, "/later")
    );
    // its ephemeral survived
    let st = other.exists("/eph").await.unwrap().expect("ephemeral kept");
    assert_eq!(st.ephemeral_owner, session);
    assert_eq!(
        c.get_ephemerals("/").await.unwrap(),
        vec!["/eph".to_string()]
    );
    // the persistent watch still works; the one-shot ones fired only once
    let (_, _, w2) = c.get_data_w("/data").await.unwrap();
    other.set_data("/data", b"2", None).await.unwrap();
    assert_eq!(
        within(WAIT, "second data watch", w2).await,
        ev(EventType::NodeDataChanged, "/data")
    );
    // The persistent watch got both changes, each once: the one made while
    // disconnected (the catch-up notification of the re-registered data
    // watch is routed to it too) and the one after. Notifications come
    // before the reply that follows them, so both are queued by now.
    let mut events = Vec::new();
    while let Ok(e) = tokio::time::timeout(Duration::from_millis(300), persistent.next()).await {
        events.push(e.unwrap());
    }
    assert_eq!(
        events,
        vec![ev(EventType::NodeDataChanged, "/data"); 2],
        "states {:?}",
        states.lock().unwrap()
    );
    assert_eq!(
        *states.lock().unwrap(),
        vec![SessionState::Suspended, SessionState::Reconnected]
    );

    // closing removes the ephemeral everywhere
    c.close().await;
    assert_eq!(other.exists("/eph").await, Ok(None));
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_from_a_follower() {
    failover("follower").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_from_the_leader() {
    failover("leader").await;
}
