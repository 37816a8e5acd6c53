//! Every watch event type, persistent and recursive watches, callbacks, and
//! the re-registration of 10,000 watches after a reconnect, against
//! corral-server and ZooKeeper.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{
    AddWatchMode, Client, CreateOptions, Error, EventType, KeeperState, SessionState, WatchedEvent,
    WatcherType,
};
use futures::{FutureExt, StreamExt};
use support::{within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(10);

fn ev(t: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type: t,
        state: KeeperState::SyncConnected,
        path: path.to_string(),
    }
}

async fn event_types(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let c = Client::connect(&server.hosts()).await.unwrap();
    let other = Client::connect(&server.hosts()).await.unwrap();
    let d = CreateOptions::default();
    c.create("/w", b"", &d).await.unwrap();

    // NodeCreated through an exist watch
    let (stat, w) = c.exists_w("/w/a").await.unwrap();
    assert!(stat.is_none());
    c.check_watches("/w/a", WatcherType::Data).await.unwrap();
    other.create("/w/a", b"1", &d).await.unwrap();
    assert_eq!(
        within(WAIT, "created", w).await,
        ev(EventType::NodeCreated, "/w/a")
    );

    // NodeDataChanged, once: a second change does not fire it again
    let (_, _, w) = c.get_data_w("/w/a").await.unwrap();
    let (_, w_exists) = c.exists_w("/w/a").await.unwrap();
    other.set_data("/w/a", b"2", None).await.unwrap();
    assert_eq!(
        within(WAIT, "changed", w).await,
        ev(EventType::NodeDataChanged, "/w/a")
    );
    assert_eq!(
        within(WAIT, "changed (exists)", w_exists).await,
        ev(EventType::NodeDataChanged, "/w/a")
    );
    let (_, _, w) = c.get_data_w("/w/a").await.unwrap();
    other.set_data("/w/a", b"3", None).await.unwrap();
    other.set_data("/w/a", b"4", None).await.unwrap();
    assert_eq!(
        within(WAIT, "changed", w).await.event_type,
        EventType::NodeDataChanged
    );
    assert_eq!(
        c.check_watches("/w/a", WatcherType::Data).await,
        Err(Error::NoWatcher)
    );

    // NodeChildrenChanged
    let (kids, _, w) = c.get_children_w("/w").await.unwrap();
    assert_eq!(kids, vec!["a".to_string()]);
    c.check_watches("/w", WatcherType::Children).await.unwrap();
    other.create("/w/b", b"", &d).await.unwrap();
    assert_eq!(
        within(WAIT, "children", w).await,
        ev(EventType::NodeChildrenChanged, "/w")
    );

    // NodeDeleted: data, exist and child watches on the node
    let (_, _, wd) = c.get_data_w("/w/b").await.unwrap();
    let (_, we) = c.exists_w("/w/b").await.unwrap();
    let (_, _, wc) = c.get_children_w("/w/b").await.unwrap();
    other.delete("/w/b", None).await.unwrap();
    for w in [wd, we, wc] {
        assert_eq!(
            within(WAIT, "deleted", w).await,
            ev(EventType::NodeDeleted, "/w/b")
        );
    }

    // callbacks
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tx2 = tx.clone();
    c.get_data_cb("/w/a", move |e| tx.send(e).unwrap())
        .await
        .unwrap();
    c.get_children_cb("/w/a", move |e| tx2.send(e).unwrap())
        .await
        .unwrap();
    other.create("/w/a/x", b"", &d).await.unwrap();
    other.set_data("/w/a", b"5", None).await.unwrap();
    let e1 = within(WAIT, "cb", rx.recv()).await.unwrap();
    let e2 = within(WAIT, "cb", rx.recv()).await.unwrap();
    assert_eq!(e1, ev(EventType::NodeChildrenChanged, "/w/a"));
    assert_eq!(e2, ev(EventType::NodeDataChanged, "/w/a"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    assert_eq!(
        c.exists_cb("/w/cb", move |e| tx.send(e).unwrap()).await,
        Ok(None)
    );
    other.create("/w/cb", b"", &d).await.unwrap();
    assert_eq!(
        within(WAIT, "cb", rx.recv()).await.unwrap(),
        ev(EventType::NodeCreated, "/w/cb")
    );

    // DataWatchRemoved / ChildWatchRemoved
    let (_, _, wd) = c.get_data_w("/w/a").await.unwrap();
    let (_, _, wc) = c.get_children_w("/w/a").await.unwrap();
    c.remove_watches("/w/a", WatcherType::Data).await.unwrap();
    assert_eq!(
        within(WAIT, "removed", wd).await,
        ev(EventType::DataWatchRemoved, "/w/a")
    );
    c.check_watches("/w/a", WatcherType::Children)
        .await
        .unwrap();
    c.remove_watches("/w/a", WatcherType::Children)
        .await
        .unwrap();
    assert_eq!(
        within(WAIT, "removed", wc).await,
        ev(EventType::ChildWatchRemoved, "/w/a")
    );
    assert_eq!(
        c.remove_watches("/w/a", WatcherType::Any).await,
        Err(Error::NoWatcher)
    );
    let (_, _, wd) = c.get_data_w("/w/a").await.unwrap();
    c.remove_watches("/w/a", WatcherType::Any).await.unwrap();
    assert_eq!(
        within(WAIT, "removed", wd).await.event_type,
        EventType::DataWatchRemoved
    );

    // persistent: every data and child event on the node, until removed
    let mut p = c.add_watch("/w/p", AddWatchMode::Persistent).await.unwrap();
    assert_eq!(p.path(), "/w/p");
    other.create("/w/p", b"", &d).await.unwrap();
    other.set_data("/w/p", b"1", None).await.unwrap();
    other.set_data("/w/p", b"2", None).await.unwrap();
    other.create("/w/p/kid", b"", &d).await.unwrap();
    other.create("/w/p/kid/grandkid", b"", &d).await.unwrap();
    other.delete("/w/p/kid/grandkid", None).await.unwrap();
    other.delete("/w/p/kid", None).await.unwrap();
    let expect = [
        ev(EventType::NodeCreated, "/w/p"),
        ev(EventType::NodeDataChanged, "/w/p"),
        ev(EventType::NodeDataChanged, "/w/p"),
        ev(EventType::NodeChildrenChanged, "/w/p"),
        ev(EventType::NodeChildrenChanged, "/w/p"),
    ];
    for e in expect {
        assert_eq!(within(WAIT, "persistent", p.next()).await, Some(e));
    }

    // recursive: the subtree, without child events
    let mut r = c
        .add_watch("/w/r", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    other.create("/w/r", b"", &d).await.unwrap();
    other.create("/w/r/a", b"", &d).await.unwrap();
    other.create("/w/r/a/b", b"", &d).await.unwrap();
    other.set_data("/w/r/a/b", b"x", None).await.unwrap();
    other.delete("/w/r/a/b", None).await.unwrap();
    let expect = [
        ev(EventType::NodeCreated, "/w/r"),
        ev(EventType::NodeCreated, "/w/r/a"),
        ev(EventType::NodeCreated, "/w/r/a/b"),
        ev(EventType::NodeDataChanged, "/w/r/a/b"),
        ev(EventType::NodeDeleted, "/w/r/a/b"),
    ];
    for e in expect {
        assert_eq!(within(WAIT, "recursive", r.next()).await, Some(e));
    }

    // PersistentWatchRemoved ends the stream
    p.remove().await.unwrap();
    other.set_data("/w/p", b"3", None).await.unwrap();
    r.remove().await.unwrap();
    let mut r2 = c
        .add_watch("/w/r", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    other.set_data("/w/r/a", b"y", None).await.unwrap();
    assert_eq!(
        within(WAIT, "recursive again", r2.next()).await,
        Some(ev(EventType::NodeDataChanged, "/w/r/a"))
    );
    assert_eq!(
        c.check_watches("/w/p", WatcherType::Any).await,
        Err(Error::NoWatcher)
    );

    // the session's end reaches every watcher
    let (_, _, w) = c.get_data_w("/w/a").await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.exists_cb("/w/never", move |e| tx.send(e).unwrap())
        .await
        .unwrap();
    c.close().await;
    assert_eq!(
        within(WAIT, "closed", w).await,
        WatchedEvent::session(KeeperState::Closed)
    );
    assert_eq!(
        within(WAIT, "closed cb", rx.recv()).await.unwrap(),
        WatchedEvent::session(KeeperState::Closed)
    );
    assert_eq!(
        within(WAIT, "closed stream", r2.next()).await,
        Some(WatchedEvent::session(KeeperState::Closed))
    );
    assert_eq!(within(WAIT, "stream end", r2.next()).await, None);
    other.close().await;
}

/// 10,000 watches re-registered after a reconnect (SetWatches2 in 128 KB
/// batches), without the server closing the connection; changes made while
/// disconnected fire exactly once.
async fn many_watches_after_reconnect(kind: Kind) {
    support::init_tracing();
    const N: usize = 10_000;
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let c = Client::builder(&proxy.hosts())
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .unwrap();
    let other = Client::connect(&server.hosts()).await.unwrap();
    let d = CreateOptions::default();
    c.create("/big", b"", &d).await.unwrap();
    c.create("/big/data", b"", &d).await.unwrap();
    c.create("/big/kids", b"", &d).await.unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let s2 = states.clone();
    c.add_listener(move |s| s2.lock().unwrap().push(s));

    // N exist watches on paths long enough to need several batches
    let paths: Vec<String> = (0..N)
        .map(|i| format!("/big/a-rather-long-node-name-to-fill-the-batches-{i:05}"))
        .collect();
    let mut watches = Vec::with_capacity(N);
    for chunk in paths.chunks(1000) {
        let results = futures::future::join_all(chunk.iter().map(|p| c.exists_w(p))).await;
        for r in results {
            let (stat, w) = r.unwrap();
            assert!(stat.is_none());
            watches.push(w);
        }
    }
    let (_, _, data_watch) = c.get_data_w("/big/data").await.unwrap();
    let (_, _, child_watch) = c.get_children_w("/big/kids").await.unwrap();
    let mut persistent = c
        .add_watch("/big/data", AddWatchMode::Persistent)
        .await
        .unwrap();

    // disconnect; change things meanwhile
    proxy.cut();
    support::wait_state(&c, SessionState::Suspended, WAIT).await;
    other.create(&paths[17], b"", &d).await.unwrap();
    other.create(&paths[N - 1], b"", &d).await.unwrap();
    other.set_data("/big/data", b"changed", None).await.unwrap();
    other.create("/big/kids/k", b"", &d).await.unwrap();
    proxy.restore();
    support::wait_state(&c, SessionState::Reconnected, WAIT).await;

    // missed changes fire once, after the reconnect
    let w_last = watches.pop().unwrap();
    let w17 = watches.remove(17);
    assert_eq!(
        within(WAIT, "missed create", w17).await,
        ev(EventType::NodeCreated, &paths[17])
    );
    assert_eq!(
        within(WAIT, "missed create", w_last).await,
        ev(EventType::NodeCreated, &paths[N - 1])
    );
    assert_eq!(
        within(WAIT, "missed data change", data_watch).await,
        ev(EventType::NodeDataChanged, "/big/data")
    );
    assert_eq!(
        within(WAIT, "missed child change", child_watch).await,
        ev(EventType::NodeChildrenChanged, "/big/kids")
    );
    // the other watches are still registered on the server and fire now
    c.check_watches(&paths[5000], WatcherType::Data)
        .await
        .unwrap();
    other.create(&paths[5000], b"", &d).await.unwrap();
    other.set_data("/big/data", b"again", None).await.unwrap();
    let w5000 = watches.remove(5000 - 1);
    assert_eq!(
        within(WAIT, "after reconnect", w5000).await,
        ev(EventType::NodeCreated, &paths[5000])
    );
    // the persistent watch survived (its catch-up is not required by
    // ZooKeeper; the change after the reconnect must arrive)
    let mut got_again = false;
    while let Some(e) = within(WAIT, "persistent", persistent.next()).await {
        assert_eq!(e, ev(EventType::NodeDataChanged, "/big/data"));
        if c.get_data("/big/data").await.unwrap().0 == b"again" {
            got_again = true;
            break;
        }
    }
    assert!(got_again);
    // nothing else fired (each watch once), and the connection stayed up
    for w in watches.iter_mut().take(100) {
        assert!(w.now_or_never().is_none());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.state(), SessionState::Reconnected);
    assert_eq!(
        *states.lock().unwrap(),
        vec![SessionState::Suspended, SessionState::Reconnected]
    );
    c.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_types_corral() {
    event_types(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_types_zookeeper() {
    event_types(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watches_after_reconnect_corral() {
    many_watches_after_reconnect(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watches_after_reconnect_zookeeper() {
    many_watches_after_reconnect(Kind::ZooKeeper).await;
}
