//! Session expiry: the server is frozen (SIGSTOP) for longer than the
//! session timeout. Lost is reported, every watcher is told, the next call
//! fails with SessionExpired, and a new client starts cleanly.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{
    AddWatchMode, Client, CreateOptions, Error, KeeperState, SessionState, WatchedEvent,
};
use futures::StreamExt;
use support::{within, Kind, Server};

const WAIT: Duration = Duration::from_secs(10);

async fn expiry(kind: Kind) {
    support::init_tracing();
    let mut server = Server::start(kind);
    let c = Client::builder(&server.hosts())
        .session_timeout(Duration::from_millis(1200))
        .connect()
        .await
        .unwrap();
    assert_eq!(c.session_timeout(), Duration::from_millis(1200));
    let states = Arc::new(Mutex::new(Vec::new()));
    let s = states.clone();
    c.add_listener(move |st| s.lock().unwrap().push(st));
    let stream = c.state_changes();
    c.create("/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, watch) = c.get_data_w("/eph").await.unwrap();
    let mut persistent = c
        .add_watch("/", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let (id, passwd) = (c.session_id(), c.session_password());

    server.pause();
    support::wait_state(&c, SessionState::Lost, WAIT).await;
    assert_eq!(c.exists("/").await, Err(Error::SessionExpired));
    assert_eq!(c.get_data("/eph").await, Err(Error::SessionExpired));
    assert_eq!(
        within(WAIT, "one-shot watch", watch).await,
        WatchedEvent::session(KeeperState::Expired)
    );
    assert_eq!(
        within(WAIT, "persistent watch", persistent.next()).await,
        Some(WatchedEvent::session(KeeperState::Expired))
    );
    assert_eq!(within(WAIT, "end", persistent.next()).await, None);
    support::wait_until(WAIT, || async { states.lock().unwrap().len() >= 2 }).await;
    assert_eq!(
        *states.lock().unwrap(),
        vec![SessionState::Suspended, SessionState::Lost]
    );
    // the stream ends after the terminal state
    let seen: Vec<SessionState> = within(WAIT, "state stream", stream.collect()).await;
    assert_eq!(seen.last(), Some(&SessionState::Lost));
    server.resume();

    // a new client starts cleanly; the server expires the old session
    let fresh = Client::connect(&server.hosts()).await.unwrap();
    assert_ne!(fresh.session_id(), id);
    let gone = support::wait_until(WAIT, || async { fresh.exists("/eph").await == Ok(None) }).await;
    assert!(gone, "the expired session's ephemeral is still there");
    let resumed = Client::builder(&server.hosts())
        .saved_session(id, passwd)
        .connect()
        .await;
    assert_eq!(resumed.unwrap_err(), Error::SessionExpired);
    fresh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_corral() {
    expiry(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_zookeeper() {
    expiry(Kind::ZooKeeper).await;
}
