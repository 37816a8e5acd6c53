//! Machinery shared by the contender-based recipes (lock, read/write lock,
//! semaphore, leader latch, leader election):
//!
//! - contender names and their order: `<anything><marker><sequence>`, where
//!   the marker is Curator's (`-lock-`, `__READ__`, `__WRIT__`, `-latch-`)
//!   or kazoo's (`__lock__`, `__rlock__`), ordered by the numeric sequence
//!   suffix only (it may be negative after the parent's counter overflowed);
//! - protected sequential creates (`_c_<uuid>-<name><seq>`, as Curator's
//!   `withProtection()`): after a ConnectionLoss the node is found again by
//!   its uuid prefix instead of being created twice;
//! - a guard that deletes an abandoned node in the background;
//! - deletes and reads retried through connection losses;
//! - a small state notifier whose subscribers see every transition.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;

use crate::{Client, CreateMode, CreateOptions, Error, ListenerId, Result, SessionState, Watch};

/// Markers of exclusive contenders: Curator's mutex (`-lock-`) and write
/// lock (`__WRIT__`), kazoo's `Lock` / `WriteLock` (`__lock__`).
pub(crate) const EXCLUSIVE_MARKERS: &[&str] = &["-lock-", "__lock__", "__WRIT__"];
/// Markers of shared contenders: Curator's read lock (`__READ__`), kazoo's
/// `ReadLock` (`__rlock__`).
pub(crate) const SHARED_MARKERS: &[&str] = &["__READ__", "__rlock__"];
/// Curator's `LeaderLatch` marker.
pub(crate) const LATCH_MARKERS: &[&str] = &["-latch-"];

/// Width of ZooKeeper's sequence suffix (`%010d`; a negative number is a
/// `-` and nine digits).
const SEQ_WIDTH: usize = 10;

/// The numeric sequence suffix of a sequential node name, if it has one.
pub(crate) fn sequence(name: &str) -> Option<i64> {
    if name.len() < SEQ_WIDTH || !name.is_char_boundary(name.len() - SEQ_WIDTH) {
        return None;
    }
    let suffix = &name[name.len() - SEQ_WIDTH..];
    let digits = suffix.strip_prefix('-').unwrap_or(suffix);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    suffix.parse().ok()
}

/// Whether `name` is `<anything><marker><sequence>` for one of `markers`
/// (also the unprotected form `lock-<sequence>` for a marker `-lock-`).
fn has_marker(name: &str, markers: &[&str]) -> bool {
    let head = &name[..name.len() - SEQ_WIDTH];
    markers
        .iter()
        .any(|m| head.ends_with(m) || (m.starts_with('-') && head == &m[1..]))
}

/// One contender: a child of the recipe's node, with its sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contender {
    pub name: String,
    pub seq: i64,
    /// A shared (read) contender rather than an exclusive one.
    pub shared: bool,
}

/// The children that are contenders (exclusive or shared lock nodes, or
/// those with one of `markers` if given), in sequence order (name breaks
/// ties).
pub(crate) fn sorted_contenders(children: &[String], markers: Option<&[&str]>) -> Vec<Contender> {
    let mut out: Vec<Contender> = children
        .iter()
        .filter_map(|name| {
            let seq = sequence(name)?;
            let shared = match markers {
                Some(m) => {
                    if !has_marker(name, m) {
                        return None;
                    }
                    false
                }
                None if has_marker(name, EXCLUSIVE_MARKERS) => false,
                None if has_marker(name, SHARED_MARKERS) => true,
                None => return None,
            };
            Some(Contender {
                name: name.clone(),
                seq,
                shared,
            })
        })
        .collect();
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.name.cmp(&b.name)));
    out
}

/// `dir/name` (`dir` may be `/`).
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Runs `f` again after errors that may pass (connection loss, timeouts),
/// with a short backoff, until it succeeds or fails otherwise. A lost
/// session ends it (SessionExpired is not retryable).
pub(crate) async fn retry_loss<T, F, Fut>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(10);
    loop {
        match f().await {
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "recipe: retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            r => return r,
        }
    }
}

/// Whether an error means the session is over (its ephemerals are gone or
/// going).
pub(crate) fn is_session_end(e: &Error) -> bool {
    matches!(e, Error::SessionExpired | Error::Closed | Error::AuthFailed)
}

/// Deletes `path`, retrying through connection losses until the node is
/// gone (deleted, or already absent) or the session has ended (an
/// ephemeral goes with its session). Other errors are returned.
pub(crate) async fn delete_until_gone(client: &Client, path: &str) -> Result<()> {
    match retry_loss(|| client.delete(path, None)).await {
        Ok(()) | Err(Error::NoNode) => Ok(()),
        Err(e) if is_session_end(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A getData watch on `path` (Curator and kazoo watch the predecessor with
/// getData, not exists, so that no watch is left on a node that is already
/// gone). `None` if the node no longer exists: re-check at once.
pub(crate) async fn watch_node(client: &Client, path: &str) -> Result<Option<Watch>> {
    match retry_loss(|| client.get_data_w(path)).await {
        Ok((_, _, w)) => Ok(Some(w)),
        Err(Error::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `path`'s missing ancestors and `path` itself as container nodes
/// (as Curator's `creatingParentContainersIfNeeded`): the server removes
/// them once their last child is gone.
pub(crate) async fn ensure_containers(client: &Client, path: &str) -> Result<()> {
    let mut at = 0;
    while let Some(i) = path[at + 1..].find('/').map(|i| i + at + 1) {
        ensure_one(client, &path[..i]).await?;
        at = i;
    }
    if path != "/" {
        ensure_one(client, path).await?;
    }
    Ok(())
}

async fn ensure_one(client: &Client, path: &str) -> Result<()> {
    if retry_loss(|| client.exists(path)).await?.is_some() {
        return Ok(());
    }
    let opts = CreateOptions::container();
    match retry_loss(|| client.create(path, b"", &opts)).await {
        Ok(_) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The name of a protected sequential node before the server adds its
/// sequence: `_c_<uuid>-<name>`, under `dir`. A fresh uuid for every
/// create attempt, so a background cleanup of an abandoned attempt never
/// touches a later one.
#[derive(Debug, Clone)]
pub(crate) struct Protected {
    pub dir: String,
    pub prefix: String,
}

impl Protected {
    pub fn new(dir: &str, name: &str) -> Protected {
        Protected {
            dir: dir.to_owned(),
            prefix: format!("_c_{}-{name}", uuid::Uuid::new_v4()),
        }
    }

    /// Our node among `dir`'s children, by its uuid prefix.
    async fn find(&self, client: &Client) -> Result<Option<String>> {
        match retry_loss(|| client.get_children(&self.dir)).await {
            Ok(children) => Ok(children.into_iter().find(|c| c.starts_with(&self.prefix))),
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// An ephemeral node being created or waited on by an acquire that has not
/// finished. If the guard is dropped while armed (the acquire failed, timed
/// out or was cancelled), the node is deleted in a background task — found
/// by its prefix if the create's outcome was never seen.
pub(crate) struct NodeGuard {
    client: Client,
    protected: Protected,
    name: Option<String>,
    armed: bool,
    cleanups: Option<Cleanups>,
}

/// Where a dropped [`NodeGuard`] leaves its cleanup task, for an owner
/// that must wait until abandoned nodes are gone.
pub(crate) type Cleanups = Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// Waits for the cleanup tasks left in `cleanups` so far.
pub(crate) async fn settle(cleanups: &Cleanups) {
    let tasks: Vec<_> = cleanups.lock().unwrap().drain(..).collect();
    for t in tasks {
        let _ = t.await;
    }
}

impl NodeGuard {
    pub fn new(client: &Client, protected: Protected) -> NodeGuard {
        NodeGuard {
            client: client.clone(),
            protected,
            name: None,
            armed: true,
            cleanups: None,
        }
    }

    /// Leaves the cleanup task (if dropped while armed) in `cleanups`.
    pub fn with_cleanups(mut self, cleanups: &Cleanups) -> NodeGuard {
        self.cleanups = Some(cleanups.clone());
        self
    }

    /// Creates the protected ephemeral sequential node (creating missing
    /// parents as containers); returns its name (without the directory).
    ///
    /// After a connection loss the create may have been applied: the node
    /// is looked for by its prefix before creating again. A node found that
    /// another session owns (ours was lost meanwhile) is deleted and the
    /// create retried; with this client a lost session is final, so the
    /// retry fails with SessionExpired.
    pub async fn create(&mut self, data: &[u8]) -> Result<String> {
        let client = self.client.clone();
        let p = &self.protected;
        let path = join(&p.dir, &p.prefix);
        let opts = CreateOptions::new(CreateMode::EphemeralSequential);
        let mut maybe_created = false;
        let mut delay = Duration::from_millis(10);
        loop {
            if maybe_created {
                if let Some(name) = p.find(&client).await? {
                    let full = join(&p.dir, &name);
                    match retry_loss(|| client.exists(&full)).await? {
                        Some(stat) if stat.ephemeral_owner == client.session_id() => {
                            tracing::debug!(node = %full, "recipe: found our node after a lost reply");
                            self.name = Some(name.clone());
                            return Ok(name);
                        }
                        Some(_) => {
                            tracing::debug!(node = %full, "recipe: discarding a node of another session");
                            delete_until_gone(&client, &full).await?;
                        }
                        None => {}
                    }
                }
                maybe_created = false;
            }
            match client.create(&path, data, &opts).await {
                Ok(created) => {
                    let name = created.rsplit('/').next().unwrap_or_default().to_owned();
                    self.name = Some(name.clone());
                    return Ok(name);
                }
                Err(Error::NoNode) => ensure_containers(&client, &p.dir).await?,
                Err(e) if e.is_retryable() => {
                    maybe_created = true;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Keeps the node: the caller now owns it. Returns its name.
    pub fn disarm(mut self) -> String {
        self.armed = false;
        self.name.take().expect("disarm after create")
    }
}

impl Drop for NodeGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // no runtime: the ephemeral goes with the session
        };
        let client = self.client.clone();
        let protected = self.protected.clone();
        let name = self.name.take();
        let task = rt.spawn(async move {
            let name = match name {
                Some(n) => Some(n),
                None => {
                    // The create may still be in flight: a sync orders our
                    // listing after it on the server.
                    let _ = retry_loss(|| client.sync(&protected.dir)).await;
                    protected.find(&client).await.ok().flatten()
                }
            };
            if let Some(name) = name {
                let path = join(&protected.dir, &name);
                tracing::debug!(node = %path, "recipe: deleting an abandoned node");
                if let Err(e) = delete_until_gone(&client, &path).await {
                    tracing::warn!(node = %path, error = %e, "recipe: could not delete an abandoned node");
                }
            }
        });
        if let Some(c) = &self.cleanups {
            let mut c = c.lock().unwrap();
            c.retain(|t| !t.is_finished());
            c.push(task);
        }
    }
}

/// Session state transitions of a client as a channel, in order (a
/// listener, removed when this is dropped).
pub(crate) struct SessionEvents {
    client: Client,
    id: ListenerId,
    pub rx: mpsc::UnboundedReceiver<SessionState>,
}

impl SessionEvents {
    pub fn new(client: &Client) -> SessionEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = client.add_listener(move |s| {
            let _ = tx.send(s);
        });
        SessionEvents {
            client: client.clone(),
            id,
            rx,
        }
    }
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        self.client.remove_listener(self.id);
    }
}

/// A value whose every change is sent to each subscriber (a subscriber
/// sees every transition, unlike a `watch` channel).
pub(crate) struct Notifier<T> {
    inner: Mutex<(T, Vec<mpsc::UnboundedSender<T>>)>,
}

impl<T: Copy + PartialEq + Send + 'static> Notifier<T> {
    pub fn new(value: T) -> Notifier<T> {
        Notifier {
            inner: Mutex::new((value, Vec::new())),
        }
    }

    pub fn get(&self) -> T {
        self.inner.lock().unwrap().0
    }

    /// Sets the value; tells the subscribers if it changed.
    pub fn set(&self, value: T) -> bool {
        self.update(|_| Some(value))
    }

    /// Sets the value to `f(current)` unless `f` returns `None`, atomically
    /// with respect to other updates; tells the subscribers if it changed.
    pub fn update(&self, f: impl FnOnce(T) -> Option<T>) -> bool {
        let mut g = self.inner.lock().unwrap();
        match f(g.0) {
            Some(v) if v != g.0 => {
                g.0 = v;
                g.1.retain(|tx| tx.send(v).is_ok());
                true
            }
            _ => false,
        }
    }

    /// Every value set from now on.
    pub fn subscribe(&self) -> BoxStream<'static, T> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.lock().unwrap().1.push(tx);
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
            .boxed()
    }
}

/// Runs `f` with the value behind `weak` if it is still alive.
pub(crate) fn with_weak<T>(weak: &Weak<T>, f: impl FnOnce(Arc<T>)) {
    if let Some(v) = weak.upgrade() {
        f(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Contender]) -> Vec<&str> {
        v.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn sequences() {
        assert_eq!(sequence("lock-0000000042"), Some(42));
        assert_eq!(sequence("x-lock--000000007"), Some(-7));
        assert_eq!(sequence("x__lock__-000000007"), Some(-7));
        assert_eq!(sequence("lock-00000x0042"), None);
        assert_eq!(sequence("short"), None);
        assert_eq!(sequence("leases"), None);
    }

    #[test]
    fn contenders_of_every_client_by_number() {
        let children: Vec<String> = [
            "_c_0e2d-lock-0000000003",
            "abcdef__lock__0000000001",
            "abcdef__rlock__0000000002",
            "_c_1f3e-__READ__0000000005",
            "_c_aaaa-__WRIT__0000000004",
            "lock-0000000000",
            "_c_bbbb-lock--000000001",
            "leases",
            "something-0000000009",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = sorted_contenders(&children, None);
        assert_eq!(
            names(&c),
            [
                "_c_bbbb-lock--000000001",
                "lock-0000000000",
                "abcdef__lock__0000000001",
                "abcdef__rlock__0000000002",
                "_c_0e2d-lock-0000000003",
                "_c_aaaa-__WRIT__0000000004",
                "_c_1f3e-__READ__0000000005",
            ]
        );
        assert_eq!(
            c.iter().map(|c| c.shared).collect::<Vec<_>>(),
            [false, false, false, true, false, false, true]
        );
        let latch = sorted_contenders(
            &[
                "_c_x-latch-0000000002".into(),
                "_c_y-latch-0000000001".into(),
            ],
            Some(LATCH_MARKERS),
        );
        assert_eq!(
            names(&latch),
            ["_c_y-latch-0000000001", "_c_x-latch-0000000002"]
        );
    }

    #[test]
    fn protected_names() {
        let p = Protected::new("/a/b", "lock-");
        assert!(p.prefix.starts_with("_c_") && p.prefix.ends_with("-lock-"));
        assert_eq!(p.prefix.len(), "_c_".len() + 36 + "-lock-".len());
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }
}
