//! TreeCache: matches the server's tree after 1,000 random changes, after
//! a reconnection (changes made while cut off), and after a session
//! expiry (a new session, changes made meanwhile); in both watch modes
//! (persistent recursive and one-shot), against corral-server and
//! ZooKeeper. The event stream, replayed, gives the same tree.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral_client::recipes::tree_cache::{
    ChildData, TreeCache, TreeCacheEvent, TreeCacheEvents, WatchMode,
};
use corral_client::{Client, CreateOptions, Error};
use futures::{FutureExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(30);
const MODES: [WatchMode; 2] = [WatchMode::Recursive, WatchMode::OneShot];

/// What must match: data, version, czxid, mzxid by path.
type Tree = BTreeMap<String, (Vec<u8>, i32, i64, i64)>;

fn entry(n: &ChildData) -> (Vec<u8>, i32, i64, i64) {
    (n.data.clone(), n.stat.version, n.stat.czxid, n.stat.mzxid)
}

async fn connect(hosts: &str, session: Duration) -> Client {
    Client::builder(hosts)
        .session_timeout(session)
        .connect()
        .await
        .unwrap()
}

/// The server's subtree at `root`.
async fn server_tree(c: &Client, root: &str) -> Tree {
    let mut out = Tree::new();
    let mut todo = vec![root.to_owned()];
    while let Some(p) = todo.pop() {
        let Ok((data, stat)) = c.get_data(&p).await else {
            continue;
        };
        out.insert(p.clone(), (data, stat.version, stat.czxid, stat.mzxid));
        for child in c.get_children(&p).await.unwrap_or_default() {
            todo.push(format!("{p}/{child}"));
        }
    }
    out
}

fn cache_tree(cache: &TreeCache) -> Tree {
    cache
        .snapshot()
        .values()
        .map(|n| (n.path.clone(), entry(n)))
        .collect()
}

/// Applies a node event to `replay`, checking it makes sense there.
fn apply_event(replay: &mut Tree, ev: &TreeCacheEvent) {
    match ev {
        TreeCacheEvent::NodeAdded(n) => {
            assert!(
                replay.insert(n.path.clone(), entry(n)).is_none(),
                "added twice: {}",
                n.path
            );
        }
        TreeCacheEvent::NodeUpdated(n) => {
            assert!(
                replay.insert(n.path.clone(), entry(n)).is_some(),
                "update of an unknown node: {}",
                n.path
            );
        }
        TreeCacheEvent::NodeRemoved(n) => {
            assert!(
                replay.remove(&n.path).is_some(),
                "removed twice: {}",
                n.path
            );
        }
        _ => {}
    }
}

/// Applies the events to `replay` until one matches `stop`.
async fn events_until(
    events: &mut TreeCacheEvents,
    replay: &mut Tree,
    what: &str,
    stop: impl Fn(&TreeCacheEvent) -> bool,
) {
    within(WAIT, what, async {
        loop {
            let ev = events.next().await.expect("the event stream ended");
            apply_event(replay, &ev);
            if stop(&ev) {
                return;
            }
        }
    })
    .await
}

/// Waits until the cache equals `expected` (the server's tree, which no
/// longer changes), then until the events replayed give the same tree. The
/// cache may lag the server (it re-reads after each notification), so
/// this polls the local copies; nothing is read from the server.
async fn converge(
    cache: &TreeCache,
    events: &mut TreeCacheEvents,
    replay: &mut Tree,
    expected: &Tree,
    what: &str,
) {
    let ok = support::wait_until(WAIT, || async { cache_tree(cache) == *expected }).await;
    if !ok {
        assert_eq!(
            cache_tree(cache),
            *expected,
            "{what}: the cache did not converge"
        );
    }
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        while let Some(Some(ev)) = events.next().now_or_never() {
            apply_event(replay, &ev);
        }
        if replay == expected {
            return;
        }
        if std::time::Instant::now() > deadline {
            assert_eq!(
                replay, expected,
                "{what}: the events do not replay to the tree"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` random creates, sets and deletes in the subtree (depth <= 3) by one
/// writer.
async fn random_changes(c: &Client, root: &str, n: usize, rng: &mut StdRng) {
    let mut nodes: BTreeSet<String> = server_tree(c, root).await.into_keys().collect();
    nodes.remove(root);
    for _ in 0..n {
        let pick = |rng: &mut StdRng, nodes: &BTreeSet<String>| {
            if nodes.is_empty() {
                return None;
            }
            nodes.iter().nth(rng.gen_range(0..nodes.len())).cloned()
        };
        match rng.gen_range(0..10) {
            0..=3 => {
                let parent = match pick(rng, &nodes) {
                    Some(p) if p.matches('/').count() - root.matches('/').count() < 3 => p,
                    _ => root.to_owned(),
                };
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let path = format!("{parent}/n{}", NEXT.fetch_add(1, Ordering::Relaxed));
                let data = format!("v{}", rng.gen::<u16>());
                c.create(&path, data.as_bytes(), &CreateOptions::default())
                    .await
                    .unwrap();
                nodes.insert(path);
            }
            4..=6 => {
                if let Some(p) = pick(rng, &nodes) {
                    let data = format!("v{}", rng.gen::<u16>());
                    c.set_data(&p, data.as_bytes(), None).await.unwrap();
                }
            }
            _ => {
                if let Some(p) = pick(rng, &nodes) {
                    match c.delete(&p, None).await {
                        Ok(()) => {
                            nodes.remove(&p);
                        }
                        Err(Error::NotEmpty) => {}
                        Err(e) => panic!("delete {p}: {e}"),
                    }
                }
            }
        }
    }
}

fn rng() -> StdRng {
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("random seed {seed}");
    StdRng::seed_from_u64(seed)
}

async fn start(client: Client, root: &str, mode: WatchMode) -> (TreeCache, TreeCacheEvents, Tree) {
    let (cache, mut events) = TreeCache::builder(client, root)
        .watch_mode(mode)
        .start()
        .await
        .unwrap();
    let mut replay = Tree::new();
    events_until(&mut events, &mut replay, "initialized", |ev| {
        *ev == TreeCacheEvent::Initialized
    })
    .await;
    (cache, events, replay)
}

async fn thousand_changes(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let writer = connect(&server.hosts(), Duration::from_secs(10)).await;
    let mut rng = rng();
    for mode in MODES {
        let root = format!("/tc-{mode:?}");
        writer
            .create(&root, b"root", &CreateOptions::default())
            .await
            .unwrap();
        random_changes(&writer, &root, 30, &mut rng).await;
        let reader = connect(&server.hosts(), Duration::from_secs(10)).await;
        let (cache, mut events, mut replay) = start(reader.clone(), &root, mode).await;
        assert_eq!(
            cache_tree(&cache),
            server_tree(&writer, &root).await,
            "{mode:?} initial"
        );
        assert_eq!(replay, cache_tree(&cache));

        random_changes(&writer, &root, 1000, &mut rng).await;
        let expected = server_tree(&writer, &root).await;
        converge(
            &cache,
            &mut events,
            &mut replay,
            &expected,
            &format!("{mode:?} 1000 changes"),
        )
        .await;
        let children = cache.children(&root).unwrap();
        let mut on_server = writer.get_children(&root).await.unwrap();
        on_server.sort();
        assert_eq!(children, on_server);

        // The root deleted and created again.
        for p in expected.keys().rev() {
            writer.delete(p, None).await.unwrap();
        }
        events_until(
            &mut events,
            &mut replay,
            "root removed",
            |ev| matches!(ev, TreeCacheEvent::NodeRemoved(n) if n.path == root),
        )
        .await;
        assert!(cache.is_empty(), "{:?}", cache.snapshot().keys());
        writer
            .create(&root, b"again", &CreateOptions::default())
            .await
            .unwrap();
        writer
            .create(&format!("{root}/child"), b"", &CreateOptions::default())
            .await
            .unwrap();
        let expected = server_tree(&writer, &root).await;
        converge(
            &cache,
            &mut events,
            &mut replay,
            &expected,
            &format!("{mode:?} root back"),
        )
        .await;
        cache.close().await;
        assert_eq!(within(WAIT, "end of events", events.next()).await, None);
        reader.close().await;
    }

    // max_depth(1): the root and its children only.
    writer
        .create("/depth", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/depth/a", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/depth/a/b", b"", &CreateOptions::default())
        .await
        .unwrap();
    let (cache, _events) = TreeCache::builder(writer.clone(), "/depth")
        .max_depth(1)
        .start()
        .await
        .unwrap();
    assert_eq!(
        cache.snapshot().into_keys().collect::<Vec<_>>(),
        vec!["/depth".to_string(), "/depth/a".to_string()]
    );
    cache.close().await;
    writer.close().await;
}

async fn reconnect(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let writer = connect(&server.hosts(), Duration::from_secs(10)).await;
    let mut rng = rng();
    for mode in MODES {
        let root = format!("/rc-{mode:?}");
        writer
            .create(&root, b"", &CreateOptions::default())
            .await
            .unwrap();
        random_changes(&writer, &root, 100, &mut rng).await;
        let proxy = Proxy::start(server.port).await;
        let reader = connect(&proxy.hosts(), Duration::from_secs(10)).await;
        let (cache, mut events, mut replay) = start(reader.clone(), &root, mode).await;

        proxy.cut();
        events_until(&mut events, &mut replay, "suspended", |ev| {
            *ev == TreeCacheEvent::ConnectionSuspended
        })
        .await;
        random_changes(&writer, &root, 300, &mut rng).await;
        let expected = server_tree(&writer, &root).await;
        proxy.restore();
        events_until(&mut events, &mut replay, "reconnected", |ev| {
            *ev == TreeCacheEvent::ConnectionReconnected
        })
        .await;
        assert_eq!(cache_tree(&cache), expected, "{mode:?} after reconnect");
        assert_eq!(replay, expected, "{mode:?} events replayed");

        // Still watching.
        random_changes(&writer, &root, 200, &mut rng).await;
        let expected = server_tree(&writer, &root).await;
        converge(
            &cache,
            &mut events,
            &mut replay,
            &expected,
            &format!("{mode:?} then"),
        )
        .await;
        cache.close().await;
        reader.close().await;
    }
    writer.close().await;
}

async fn expiry(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let writer = connect(&server.hosts(), Duration::from_secs(10)).await;
    let mut rng = rng();
    for mode in MODES {
        let root = format!("/ex-{mode:?}");
        writer
            .create(&root, b"", &CreateOptions::default())
            .await
            .unwrap();
        random_changes(&writer, &root, 100, &mut rng).await;
        let proxy = Proxy::start(server.port).await;
        let builder = Client::builder(&proxy.hosts()).session_timeout(Duration::from_millis(1500));
        let reader = builder.clone().connect().await.unwrap();
        // Marks the first session: gone once the server expired it.
        let marker = format!("/marker-{mode:?}");
        reader
            .create(&marker, b"", &CreateOptions::ephemeral())
            .await
            .unwrap();
        let (cache, mut events) = TreeCache::builder(reader.clone(), &root)
            .watch_mode(mode)
            .renew_sessions(builder)
            .start()
            .await
            .unwrap();
        let mut replay = Tree::new();
        events_until(&mut events, &mut replay, "initialized", |ev| {
            *ev == TreeCacheEvent::Initialized
        })
        .await;

        proxy.cut();
        events_until(&mut events, &mut replay, "suspended", |ev| {
            *ev == TreeCacheEvent::ConnectionSuspended
        })
        .await;
        random_changes(&writer, &root, 300, &mut rng).await;
        events_until(&mut events, &mut replay, "lost", |ev| {
            *ev == TreeCacheEvent::ConnectionLost
        })
        .await;
        // The server expires the old session too: the new one starts from
        // scratch (no watch of the old session can help).
        let gone = support::wait_until(WAIT, || async {
            writer.exists(&marker).await.unwrap().is_none()
        })
        .await;
        assert!(gone, "the first session did not expire");
        random_changes(&writer, &root, 100, &mut rng).await;
        let expected = server_tree(&writer, &root).await;
        proxy.restore();
        events_until(&mut events, &mut replay, "reconnected", |ev| {
            *ev == TreeCacheEvent::ConnectionReconnected
        })
        .await;
        assert_eq!(cache_tree(&cache), expected, "{mode:?} after expiry");
        assert_eq!(replay, expected, "{mode:?} events replayed");

        random_changes(&writer, &root, 200, &mut rng).await;
        let expected = server_tree(&writer, &root).await;
        converge(
            &cache,
            &mut events,
            &mut replay,
            &expected,
            &format!("{mode:?} then"),
        )
        .await;
        cache.close().await;
        reader.close().await;
    }
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_changes_corral() {
    thousand_changes(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_changes_zookeeper() {
    thousand_changes(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_corral() {
    reconnect(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_zookeeper() {
    reconnect(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_corral() {
    expiry(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_zookeeper() {
    expiry(Kind::ZooKeeper).await;
}
