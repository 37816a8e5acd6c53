//! Lock, ReadWriteLock and Semaphore recipes against corral-server and
//! ZooKeeper: mutual exclusion under contention, re-entrancy, timeouts,
//! cancellation, read/write semantics, the semaphore's bound, loss
//! reporting to the holder, release under connection loss, and a create
//! whose reply is lost.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::recipes::lock::{Lock, LockState};
use corral_client::recipes::rwlock::ReadWriteLock;
use corral_client::recipes::semaphore::Semaphore;
use corral_client::{Client, CreateOptions, Error, SessionState};
use futures::StreamExt;
use support::{wait_until, within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(20);
/// How long a contender that must not get the lock is given to (wrongly)
/// get it.
const SHORT: Duration = Duration::from_millis(300);

async fn connect(hosts: &str, timeout: Duration) -> Client {
    Client::builder(hosts)
        .session_timeout(timeout)
        .connect()
        .await
        .unwrap()
}

async fn counter(c: &Client, path: &str) -> u64 {
    let (d, _) = c.get_data(path).await.unwrap();
    String::from_utf8(d).unwrap().parse().unwrap()
}

/// 20 tasks over 4 sessions increment a znode counter 50 times each by an
/// unversioned read-modify-write under the lock: the count is exact, and
/// no two tasks are ever inside at once.
async fn mutual_exclusion(hosts: &str) {
    let clients: Vec<Client> =
        futures::future::join_all((0..4).map(|_| connect(hosts, Duration::from_secs(4)))).await;
    clients[0]
        .create("/counter", b"0", &CreateOptions::default())
        .await
        .unwrap();
    let inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..20 {
        let client = clients[t % 4].clone();
        let inside = inside.clone();
        tasks.push(tokio::spawn(async move {
            let lock = Lock::new(&client, "/locks/mutex");
            for _ in 0..50 {
                lock.acquire().await.unwrap();
                assert!(lock.is_acquired());
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                let n = counter(&client, "/counter").await;
                client
                    .set_data("/counter", (n + 1).to_string().as_bytes(), None)
                    .await
                    .unwrap();
                inside.fetch_sub(1, Ordering::SeqCst);
                lock.release().await.unwrap();
            }
        }));
    }
    for t in tasks {
        within(Duration::from_secs(240), "contending tasks", t)
            .await
            .unwrap();
    }
    assert_eq!(counter(&clients[0], "/counter").await, 1000);
    let left = Lock::new(&clients[0], "/locks/mutex")
        .contenders()
        .await
        .unwrap();
    assert!(left.is_empty(), "nodes left behind: {left:?}");
    for c in clients {
        c.close().await;
    }
}

/// Re-entrancy, try/timeout acquisition (abandoned nodes cleaned up),
/// release errors, and cancellation of a waiting acquire.
async fn reentrancy_timeouts_cancellation(hosts: &str) {
    let c1 = connect(hosts, Duration::from_secs(4)).await;
    let c2 = connect(hosts, Duration::from_secs(4)).await;
    let a = Lock::new(&c1, "/re").with_data("a");
    let b = Arc::new(Lock::new(&c2, "/re").with_data("b"));

    a.acquire().await.unwrap();
    let node = a.node().unwrap();
    a.acquire().await.unwrap();
    assert_eq!(
        a.node().unwrap(),
        node,
        "a re-entrant acquire makes no node"
    );
    assert_eq!(a.state(), LockState::Acquired);
    assert!(
        node.starts_with("/re/_c_") && node.contains("-lock-"),
        "{node}"
    );
    let (data, _) = c1.get_data(&node).await.unwrap();
    assert_eq!(data, b"a");

    assert!(!b.acquire_timeout(SHORT).await.unwrap());
    assert!(!b.try_acquire().await.unwrap());
    assert_eq!(b.state(), LockState::Released);
    a.release().await.unwrap();
    assert!(a.is_acquired(), "one hold left");
    assert!(!b.acquire_timeout(SHORT).await.unwrap());
    // The timed-out attempts leave nothing behind.
    let only_a = wait_until(WAIT, || async {
        a.contenders().await.unwrap() == [node.trim_start_matches("/re/")]
    })
    .await;
    assert!(only_a, "abandoned nodes: {:?}", a.contenders().await);

    // Cancelling a waiting acquire deletes its node.
    let b2 = b.clone();
    let waiting = tokio::spawn(async move { b2.acquire().await });
    assert!(wait_until(WAIT, || async { a.contenders().await.unwrap().len() == 2 }).await);
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert!(wait_until(WAIT, || async { a.contenders().await.unwrap().len() == 1 }).await);

    a.release().await.unwrap();
    assert_eq!(a.state(), LockState::Released);
    assert!(a.node().is_none());
    assert!(matches!(a.release().await, Err(Error::BadArguments(_))));
    assert!(b.acquire_timeout(WAIT).await.unwrap());
    assert_eq!(b.contenders().await.unwrap().len(), 1);
    // A dropped holder's node goes in the background.
    drop(b);
    assert!(a.acquire_timeout(WAIT).await.unwrap());
    a.release().await.unwrap();
    c1.close().await;
    c2.close().await;
}

/// Readers share, a writer excludes readers and writers, a reader queued
/// after a writer waits for it, and a writer may downgrade to a reader.
async fn read_write(hosts: &str) {
    let c1 = connect(hosts, Duration::from_secs(4)).await;
    let c2 = connect(hosts, Duration::from_secs(4)).await;
    let c3 = connect(hosts, Duration::from_secs(4)).await;
    let r1 = ReadWriteLock::new(&c1, "/rw");
    let r2 = ReadWriteLock::new(&c2, "/rw");
    let w = Arc::new(ReadWriteLock::new(&c3, "/rw"));

    assert!(r1.read_lock().acquire_timeout(WAIT).await.unwrap());
    assert!(
        r2.read_lock().acquire_timeout(WAIT).await.unwrap(),
        "readers share"
    );
    assert!(
        !w.write_lock().acquire_timeout(SHORT).await.unwrap(),
        "a writer waits for readers"
    );
    // The timed-out attempt's node is deleted in the background: let it go
    // first, so the three contenders below are the readers and the new writer.
    w.write_lock().settle().await;

    let got_write = Arc::new(AtomicBool::new(false));
    let (w2, flag) = (w.clone(), got_write.clone());
    let writer = tokio::spawn(async move {
        w2.write_lock().acquire().await.unwrap();
        flag.store(true, Ordering::SeqCst);
    });
    assert!(
        wait_until(WAIT, || async {
            r1.read_lock().contenders().await.unwrap().len() == 3
        })
        .await
    );
    let names = r1.read_lock().contenders().await.unwrap();
    assert!(
        names[0].contains("__READ__") && names[2].contains("__WRIT__"),
        "{names:?}"
    );
    let late_reader = ReadWriteLock::new(&c1, "/rw");
    assert!(
        !late_reader
            .read_lock()
            .acquire_timeout(SHORT)
            .await
            .unwrap(),
        "a reader queued after a writer waits for it"
    );
    r1.read_lock().release().await.unwrap();
    assert!(!got_write.load(Ordering::SeqCst), "one reader still holds");
    r2.read_lock().release().await.unwrap();
    within(WAIT, "writer", writer).await.unwrap();
    assert!(w.write_lock().is_acquired());
    assert!(
        !r1.read_lock().acquire_timeout(SHORT).await.unwrap(),
        "the writer excludes readers"
    );

    // Downgrade: read while writing, then let the write go.
    assert!(w.read_lock().acquire_timeout(WAIT).await.unwrap());
    w.write_lock().release().await.unwrap();
    assert!(
        r1.read_lock().acquire_timeout(WAIT).await.unwrap(),
        "shares with the downgraded reader"
    );
    assert!(!r2.write_lock().acquire_timeout(SHORT).await.unwrap());
    w.read_lock().release().await.unwrap();
    r1.read_lock().release().await.unwrap();
    assert!(r2.write_lock().acquire_timeout(WAIT).await.unwrap());
    r2.write_lock().release().await.unwrap();
    for c in [c1, c2, c3] {
        c.close().await;
    }
}

/// With 3 leases and 9 contenders over 3 sessions no more than 3 are ever
/// held at once; a timed-out acquire leaves no lease node.
async fn semaphore(hosts: &str) {
    let clients: Vec<Client> =
        futures::future::join_all((0..3).map(|_| connect(hosts, Duration::from_secs(4)))).await;
    let holders = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..9 {
        let client = clients[t % 3].clone();
        let (holders, max_seen) = (holders.clone(), max_seen.clone());
        tasks.push(tokio::spawn(async move {
            let sem = Semaphore::new(&client, "/sem", 3);
            for _ in 0..8 {
                let lease = sem.acquire().await.unwrap();
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                assert!(now <= 3, "{now} leases granted");
                tokio::time::sleep(Duration::from_millis(10)).await; // hold it a moment
                holders.fetch_sub(1, Ordering::SeqCst);
                lease.release().await.unwrap();
            }
        }));
    }
    for t in tasks {
        within(Duration::from_secs(120), "semaphore tasks", t)
            .await
            .unwrap();
    }
    let max = max_seen.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&max),
        "at most 3 leases, and more than 1: {max}"
    );

    let sem = Semaphore::new(&clients[0], "/sem", 3);
    let mut leases = Vec::new();
    for _ in 0..3 {
        leases.push(
            sem.acquire_timeout(WAIT)
                .await
                .unwrap()
                .expect("a free lease"),
        );
    }
    assert!(leases[0].node().starts_with("/sem/leases/_c_"));
    let other = Semaphore::new(&clients[1], "/sem", 3);
    assert!(other.acquire_timeout(SHORT).await.unwrap().is_none());
    assert!(
        wait_until(WAIT, || async {
            sem.lease_nodes().await.unwrap().len() == 3
        })
        .await
    );
    leases.pop().unwrap().release().await.unwrap();
    let l = other
        .acquire_timeout(WAIT)
        .await
        .unwrap()
        .expect("a lease was returned");
    l.release().await.unwrap();
    for l in leases {
        l.release().await.unwrap();
    }
    assert!(sem.lease_nodes().await.unwrap().is_empty());
    for c in clients {
        c.close().await;
    }
}

async fn lock_suite(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let hosts = server.hosts();
    let t = std::time::Instant::now();
    mutual_exclusion(&hosts).await;
    eprintln!("{kind:?}: mutual exclusion in {:?}", t.elapsed());
    reentrancy_timeouts_cancellation(&hosts).await;
    read_write(&hosts).await;
    semaphore(&hosts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_suite_corral() {
    lock_suite(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_suite_zookeeper() {
    lock_suite(Kind::ZooKeeper).await;
}

/// The holder is told Suspended when the connection goes and Acquired when
/// it comes back; release under connection loss keeps saying "held" until
/// the node is deleted; Lost when the session expires, after which another
/// session gets the lock.
async fn loss_reporting(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let c = connect(&proxy.hosts(), Duration::from_millis(2000)).await;
    let other = connect(&server.hosts(), Duration::from_secs(4)).await;
    let lock = Arc::new(Lock::new(&c, "/held"));
    lock.acquire().await.unwrap();
    let node = lock.node().unwrap();
    let mut events = lock.events();

    proxy.cut();
    assert_eq!(
        within(WAIT, "Suspended", events.next()).await,
        Some(LockState::Suspended)
    );
    assert!(!lock.is_acquired());
    proxy.restore();
    assert_eq!(
        within(WAIT, "Acquired", events.next()).await,
        Some(LockState::Acquired)
    );

    // Release while disconnected: not released until the delete lands.
    proxy.cut();
    assert_eq!(
        within(WAIT, "Suspended", events.next()).await,
        Some(LockState::Suspended)
    );
    let l2 = lock.clone();
    let mut release = tokio::spawn(async move { l2.release().await });
    assert!(
        tokio::time::timeout(SHORT, &mut release).await.is_err(),
        "released while cut off"
    );
    assert!(other.exists(&node).await.unwrap().is_some());
    assert_eq!(lock.state(), LockState::Suspended);
    proxy.restore();
    within(WAIT, "release", release).await.unwrap().unwrap();
    assert_eq!(other.exists(&node).await.unwrap(), None);
    assert_eq!(lock.state(), LockState::Released);
    // Acquired may show between (if the reconnection check ran before the
    // delete); Lost must not.
    let mut seen = Vec::new();
    while seen.last() != Some(&LockState::Released) {
        seen.push(within(WAIT, "Released", events.next()).await.unwrap());
    }
    assert!(!seen.contains(&LockState::Lost), "{seen:?}");

    // Session expiry: Suspended, then Lost; the lock goes to another session.
    lock.acquire().await.unwrap();
    assert_eq!(
        within(WAIT, "Acquired", events.next()).await,
        Some(LockState::Acquired)
    );
    proxy.cut();
    assert_eq!(
        within(WAIT, "Suspended", events.next()).await,
        Some(LockState::Suspended)
    );
    assert_eq!(
        within(WAIT, "Lost", events.next()).await,
        Some(LockState::Lost)
    );
    assert_eq!(c.state(), SessionState::Lost);
    let next = Lock::new(&other, "/held");
    assert!(
        next.acquire_timeout(WAIT).await.unwrap(),
        "the lost lock is free again"
    );
    lock.release().await.unwrap();
    assert_eq!(lock.state(), LockState::Released);
    assert_eq!(lock.acquire().await, Err(Error::SessionExpired));
    next.release().await.unwrap();
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_reporting_corral() {
    loss_reporting(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_reporting_zookeeper() {
    loss_reporting(Kind::ZooKeeper).await;
}

/// A proxy that can drop the server's replies while still forwarding the
/// client's requests (`mute`), so that a create is applied but its reply
/// lost; `cut_and_unmute` then closes the connections and lets the client
/// reconnect.
struct MuteProxy {
    port: u16,
    mute: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MuteProxy {
    async fn start(target: u16) -> MuteProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mute = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (m, cs) = (mute.clone(), conns.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let m = m.clone();
                cs.lock().unwrap().push(tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(n @ 1..) = cr.read(&mut buf).await {
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(n @ 1..) = sr.read(&mut buf).await {
                            if !m.load(Ordering::SeqCst) && cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! { _ = up => {}, _ = down => {} }
                }));
            }
        });
        MuteProxy {
            port,
            mute,
            conns,
            task,
        }
    }

    fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn mute(&self) {
        self.mute.store(true, Ordering::SeqCst);
    }

    fn cut_and_unmute(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
        self.mute.store(false, Ordering::SeqCst);
    }
}

impl Drop for MuteProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_and_unmute();
    }
}

/// A create whose reply is lost: the contender finds its node by its uuid
/// prefix instead of making a second one, and an acquire abandoned while
/// the reply is missing still has its node deleted; either way no orphan
/// contender blocks the lock afterwards.
async fn lost_create_reply(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = MuteProxy::start(server.port).await;
    let c = connect(&proxy.hosts(), Duration::from_secs(4)).await;
    let other = connect(&server.hosts(), Duration::from_secs(4)).await;
    other
        .create("/orphan", b"", &CreateOptions::default())
        .await
        .unwrap();
    let holder = Lock::new(&other, "/orphan");
    let contenders = || async { holder.contenders().await.unwrap() };
    holder.acquire().await.unwrap();

    // 1. The acquire goes on after the lost reply, with its one node.
    let lock = Arc::new(Lock::new(&c, "/orphan"));
    proxy.mute();
    let l2 = lock.clone();
    let acquiring = tokio::spawn(async move { l2.acquire().await });
    assert!(wait_until(WAIT, || async { contenders().await.len() == 2 }).await);
    proxy.cut_and_unmute();
    support::wait_state(&c, SessionState::Reconnected, WAIT).await;
    holder.release().await.unwrap();
    within(WAIT, "acquire after a lost reply", acquiring)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contenders().await.len(), 1, "one node for one acquire");
    lock.release().await.unwrap();
    assert!(contenders().await.is_empty());
    assert!(
        holder.try_acquire().await.unwrap(),
        "no orphan blocks the lock"
    );

    // 2. The acquire is abandoned while the reply is missing.
    let abandoned = Arc::new(Lock::new(&c, "/orphan"));
    proxy.mute();
    let l3 = abandoned.clone();
    let acquiring = tokio::spawn(async move { l3.acquire().await });
    assert!(wait_until(WAIT, || async { contenders().await.len() == 2 }).await);
    acquiring.abort();
    proxy.cut_and_unmute();
    assert!(
        wait_until(WAIT, || async { contenders().await.len() == 1 }).await,
        "the abandoned node stays: {:?}",
        contenders().await
    );
    assert!(
        c.state().is_connected(),
        "cleaned up by the live session, not by expiry"
    );
    holder.release().await.unwrap();
    let fresh = Lock::new(&other, "/orphan");
    assert!(
        fresh.try_acquire().await.unwrap(),
        "no orphan blocks the lock"
    );
    fresh.release().await.unwrap();
    c.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_reply_corral() {
    lost_create_reply(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_reply_zookeeper() {
    lost_create_reply(Kind::ZooKeeper).await;
}
