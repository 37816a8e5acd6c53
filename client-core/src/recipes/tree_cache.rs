//! `TreeCache`: a local mirror of a subtree (path, data, stat of every
//! node), kept current by watches, with its changes as a stream of
//! [`TreeCacheEvent`]s (Curator's `TreeCache` / `CuratorCache`).
//!
//! How it stays current:
//!
//! - [`WatchMode::Recursive`]: one persistent recursive watch (`addWatch`)
//!   on the root. Every NodeCreated / NodeDataChanged re-reads that node;
//!   NodeDeleted drops it and its descendants.
//! - [`WatchMode::OneShot`]: a data watch and a child watch on every
//!   cached node (an exist watch on a missing root), set again each time
//!   one fires — for servers older than 3.6.
//! - [`WatchMode::Auto`] (default) uses `Recursive`, and `OneShot` if the
//!   server does not know `addWatch`.
//!
//! Every read is sent after the notification that caused it, so the cache
//! converges to the server's tree once changes stop. It may lag behind the
//! server while changes pour in (notifications are handled one at a time),
//! and a re-read may already show a later state than its notification:
//! the events describe how the *cache* changed, in order — replayed, they
//! give the cache's content — not every intermediate server state. After a reconnection
//! the whole subtree is read again and compared with the cache (changes
//! missed while disconnected come out as ordinary events), because the
//! server does not replay what a persistent watch missed.
//!
//! Sessions: on `Suspended` the cache keeps its content and emits
//! [`TreeCacheEvent::ConnectionSuspended`]; on `Reconnected` it resyncs and
//! emits [`TreeCacheEvent::ConnectionReconnected`]. On `Lost` it emits
//! [`TreeCacheEvent::ConnectionLost`]; then, if
//! [`TreeCacheBuilder::renew_sessions`] gave it a way to connect, it opens
//! a new session (retrying with backoff), resyncs, and emits
//! `ConnectionReconnected`; otherwise it stops (its content stays as last
//! seen, and the event stream ends).
//!
//! A node's `stat` is the one read with its data: `version`, `mzxid` and
//! the data are exact, but `num_children`, `cversion` and `pzxid` are not
//! refreshed when only the children change — use [`TreeCache::children`].

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::barrier::join_path;
use crate::types::{AddWatchMode, EventType, Stat, WatchedEvent};
use crate::{Client, ClientBuilder, Error, ListenerId, PersistentWatch, Result, SessionState};

/// How the cache watches the server; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchMode {
    #[default]
    Auto,
    Recursive,
    OneShot,
}

/// One cached node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildData {
    pub path: String,
    pub stat: Stat,
    pub data: Vec<u8>,
}

/// A change of the cache or of its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeCacheEvent {
    NodeAdded(ChildData),
    NodeUpdated(ChildData),
    /// The node as it was last cached.
    NodeRemoved(ChildData),
    /// The first full load is done (after its `NodeAdded`s).
    Initialized,
    ConnectionSuspended,
    /// Connected again (same session, or a renewed one) and resynced: the
    /// changes missed meanwhile came as events before this one.
    ConnectionReconnected,
    /// The session was lost. Without session renewal, the last event.
    ConnectionLost,
}

/// Configures a [`TreeCache`]; see [`TreeCache::builder`].
#[derive(Debug)]
pub struct TreeCacheBuilder {
    client: Client,
    root: String,
    max_depth: Option<usize>,
    mode: WatchMode,
    renew: Option<ClientBuilder>,
}

impl TreeCacheBuilder {
    /// Cache only nodes at most `depth` levels below the root (0 = the
    /// root alone). Default: unlimited.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = Some(depth);
        self
    }

    pub fn watch_mode(mut self, mode: WatchMode) -> Self {
        self.mode = mode;
        self
    }

    /// After the session is lost, connect a new one with `builder` (the
    /// cache owns that client) and carry on. Without it, the cache stops
    /// at session loss.
    pub fn renew_sessions(mut self, builder: ClientBuilder) -> Self {
        self.renew = Some(builder);
        self
    }

    /// Loads the subtree, then keeps it current in a background task.
    /// Returns once the first load is done (its `NodeAdded` events and
    /// `Initialized` are already in the stream).
    pub async fn start(self) -> Result<(TreeCache, TreeCacheEvents)> {
        crate::validate_path(&self.root, false)?;
        let shared = Arc::new(Mutex::new(BTreeMap::new()));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (close_tx, close_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let worker = Worker::new(self, shared.clone(), events_tx);
        let task = tokio::spawn(worker.run(close_rx, ready_tx));
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::Closed),
        }
        let cache = TreeCache {
            nodes: shared,
            close_tx: Some(close_tx),
            task: Some(task),
        };
        Ok((cache, TreeCacheEvents { rx: events_rx }))
    }
}

/// A local mirror of a subtree; see the module docs. Dropping it stops the
/// background task (like [`TreeCache::close`], without waiting).
///
/// ```no_run
/// # use corral_client::{Client, recipes::tree_cache::{TreeCache, TreeCacheEvent}};
/// # use futures::StreamExt;
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let (cache, mut events) = TreeCache::builder(client, "/app/config").start().await?;
/// println!("{:?}", cache.get("/app/config/db").map(|n| n.data));
/// while let Some(ev) = events.next().await {
///     if let TreeCacheEvent::NodeUpdated(node) = ev { println!("{} changed", node.path) }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TreeCache {
    nodes: Arc<Mutex<BTreeMap<String, ChildData>>>,
    close_tx: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TreeCache {
    /// A cache of the subtree at `path` (which need not exist yet).
    pub fn builder(client: Client, path: &str) -> TreeCacheBuilder {
        TreeCacheBuilder {
            client,
            root: path.to_owned(),
            max_depth: None,
            mode: WatchMode::Auto,
            renew: None,
        }
    }

    /// The cached node at `path`.
    pub fn get(&self, path: &str) -> Option<ChildData> {
        self.nodes.lock().unwrap().get(path).cloned()
    }

    /// The names of the cached children of `path`, sorted; `None` if
    /// `path` is not cached.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        let nodes = self.nodes.lock().unwrap();
        nodes.get(path)?;
        Some(
            nodes
                .range(subtree_start(path)..)
                .take_while(|(p, _)| in_subtree(p, path))
                .filter(|(p, _)| p.as_str() != path)
                .filter_map(|(p, _)| {
                    let rest = relative(p, path);
                    (!rest.contains('/')).then(|| rest.to_owned())
                })
                .collect(),
        )
    }

    /// Every cached node, by path.
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.nodes.lock().unwrap().clone()
    }

    /// The number of cached nodes.
    pub fn len(&self) -> usize {
        self.nodes.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the cache and waits for its task: removes its recursive watch
    /// from the server (on ZooKeeper 3.6–3.8 this removes every watch of
    /// the session on the root path, see [`Client::remove_watches`]). The
    /// event stream ends.
    pub async fn close(mut self) {
        drop(self.close_tx.take());
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        // Dropping `close_tx` tells the task to stop.
        drop(self.close_tx.take());
    }
}

/// The cache's events; ends when the cache stops. Events are buffered
/// without bound until read; drop the stream if you do not read it.
#[derive(Debug)]
pub struct TreeCacheEvents {
    rx: mpsc::UnboundedReceiver<TreeCacheEvent>,
}

impl Stream for TreeCacheEvents {
    type Item = TreeCacheEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TreeCacheEvent>> {
        self.rx.poll_recv(cx)
    }
}

// ---- the background task -------------------------------------------------

/// Which one-shot watch an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Child,
    Exists,
}

/// Paths with a one-shot watch pending on the server (one-shot mode), so
/// that a re-read does not register a second watcher for the same event.
#[derive(Default)]
struct Pending {
    data: HashSet<String>,
    child: HashSet<String>,
    exists: HashSet<String>,
}

struct Worker {
    client: Client,
    root: String,
    max_depth: Option<usize>,
    mode: WatchMode,
    renew: Option<ClientBuilder>,
    nodes: Arc<Mutex<BTreeMap<String, ChildData>>>,
    events: mpsc::UnboundedSender<TreeCacheEvent>,
    /// Bumped with each new session; events of older sessions are ignored.
    generation: u64,
    states_tx: mpsc::UnboundedSender<(u64, SessionState)>,
    states: mpsc::UnboundedReceiver<(u64, SessionState)>,
    listener: Option<ListenerId>,
    oneshot_tx: mpsc::UnboundedSender<(u64, Kind, WatchedEvent)>,
    oneshot_rx: mpsc::UnboundedReceiver<(u64, Kind, WatchedEvent)>,
    recursive: Option<PersistentWatch>,
    pending: Mutex<Pending>,
    /// A re-read failed: resync when connected.
    dirty: bool,
}

/// One node read: its data and its children's paths; `None` if missing.
type NodeRead = Option<(ChildData, Vec<String>)>;

/// What to do after a session state change.
enum Next {
    Continue,
    Stop,
}

impl Worker {
    fn new(
        b: TreeCacheBuilder,
        nodes: Arc<Mutex<BTreeMap<String, ChildData>>>,
        events: mpsc::UnboundedSender<TreeCacheEvent>,
    ) -> Worker {
        let (states_tx, states) = mpsc::unbounded_channel();
        let (oneshot_tx, oneshot_rx) = mpsc::unbounded_channel();
        Worker {
            client: b.client,
            root: b.root,
            max_depth: b.max_depth,
            mode: b.mode,
            renew: b.renew,
            nodes,
            events,
            generation: 0,
            states_tx,
            states,
            listener: None,
            oneshot_tx,
            oneshot_rx,
            recursive: None,
            pending: Mutex::new(Pending::default()),
            dirty: false,
        }
    }

    async fn run(mut self, mut close: oneshot::Receiver<()>, ready: oneshot::Sender<Result<()>>) {
        self.listen();
        if let Err(e) = self.setup().await {
            let _ = ready.send(Err(e));
            self.shutdown().await;
            return;
        }
        self.emit(TreeCacheEvent::Initialized);
        let _ = ready.send(Ok(()));
        loop {
            let retry = self.dirty && self.client.state().is_connected();
            tokio::select! {
                biased;
                _ = &mut close => break,
                Some((generation, state)) = self.states.recv() => {
                    if generation != self.generation {
                        continue;
                    }
                    let next = tokio::select! {
                        _ = &mut close => Next::Stop,
                        next = self.on_state(state) => next,
                    };
                    if let Next::Stop = next {
                        break;
                    }
                }
                ev = next_event(&mut self.recursive) => match ev {
                    Some(ev) if !ev.is_session_event() => self.on_recursive_event(ev).await,
                    // Session over: the state listener tells us.
                    _ => self.recursive = None,
                },
                Some((generation, kind, ev)) = self.oneshot_rx.recv() => {
                    if generation == self.generation && !ev.is_session_event() {
                        self.on_oneshot_event(kind, ev).await;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(200)), if retry => {
                    if self.resync(&self.root.clone()).await.is_ok() {
                        self.dirty = false;
                    }
                }
            }
        }
        self.shutdown().await;
    }

    /// Resolves the watch mode, adds the recursive watch, loads the tree.
    async fn setup(&mut self) -> Result<()> {
        if self.mode != WatchMode::OneShot {
            match self
                .client
                .add_watch(&self.root, AddWatchMode::PersistentRecursive)
                .await
            {
                Ok(w) => {
                    self.recursive = Some(w);
                    self.mode = WatchMode::Recursive;
                }
                Err(
                    Error::Unimplemented
                    | Error::MarshallingError
                    | Error::BadArguments(_)
                    | Error::Unknown(_),
                ) if self.mode == WatchMode::Auto => {
                    tracing::info!(root = %self.root, "no addWatch on this server: one-shot watches");
                    self.mode = WatchMode::OneShot;
                }
                Err(e) => return Err(e),
            }
        }
        self.resync(&self.root.clone()).await
    }

    fn listen(&mut self) {
        let tx = self.states_tx.clone();
        let generation = self.generation;
        self.listener = Some(self.client.add_listener(move |s| {
            let _ = tx.send((generation, s));
        }));
    }

    async fn shutdown(&mut self) {
        if let Some(id) = self.listener.take() {
            self.client.remove_listener(id);
        }
        if let Some(w) = self.recursive.take() {
            if self.client.state().is_connected() {
                let _ = tokio::time::timeout(Duration::from_secs(5), w.remove()).await;
            }
        }
    }

    fn emit(&self, ev: TreeCacheEvent) {
        let _ = self.events.send(ev);
    }

    async fn on_state(&mut self, state: SessionState) -> Next {
        match state {
            SessionState::Suspended => self.emit(TreeCacheEvent::ConnectionSuspended),
            SessionState::Reconnected => {
                self.dirty = self.resync(&self.root.clone()).await.is_err();
                self.emit(TreeCacheEvent::ConnectionReconnected);
            }
            SessionState::Lost => {
                self.emit(TreeCacheEvent::ConnectionLost);
                if self.renew.is_none() {
                    return Next::Stop;
                }
                self.renew_session().await;
                self.dirty = self.setup().await.is_err();
                self.emit(TreeCacheEvent::ConnectionReconnected);
            }
            SessionState::Closed | SessionState::AuthFailed => return Next::Stop,
            SessionState::Connected | SessionState::ReadOnly => {}
        }
        Next::Continue
    }

    /// Connects a new session with the renewal builder, retrying with
    /// backoff (the caller cancels this by dropping it on close).
    async fn renew_session(&mut self) {
        let builder = self.renew.clone().expect("renewal configured");
        let client = connect_with_backoff(&builder).await;
        if let Some(id) = self.listener.take() {
            self.client.remove_listener(id);
        }
        self.client = client;
        self.generation += 1;
        self.recursive = None;
        *self.pending.lock().unwrap() = Pending::default();
        self.listen();
    }

    // ---- events ------------------------------------------------------------

    async fn on_recursive_event(&mut self, ev: WatchedEvent) {
        let r = match ev.event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => self.refresh(&ev.path).await,
            EventType::NodeDeleted => {
                self.remove_subtree(&ev.path);
                Ok(())
            }
            _ => Ok(()),
        };
        self.note(r);
    }

    async fn on_oneshot_event(&mut self, kind: Kind, ev: WatchedEvent) {
        tracing::trace!(?kind, event = ?ev.event_type, path = %ev.path, "tree cache: watch fired");
        let path = ev.path.clone();
        {
            let mut p = self.pending.lock().unwrap();
            match kind {
                Kind::Data => p.data.remove(&path),
                Kind::Child => p.child.remove(&path),
                Kind::Exists => p.exists.remove(&path),
            };
        }
        let r = match ev.event_type {
            EventType::NodeDeleted => {
                self.remove_subtree(&path);
                if path == self.root {
                    // Learn when it comes back.
                    self.resync(&path).await
                } else {
                    Ok(())
                }
            }
            EventType::NodeDataChanged => self.refresh(&path).await,
            EventType::NodeCreated => self.resync(&path).await,
            EventType::NodeChildrenChanged => self.refresh_children(&path).await,
            _ => Ok(()),
        };
        self.note(r);
    }

    /// A failed re-read leaves the cache possibly behind: resync later.
    fn note(&mut self, r: Result<()>) {
        if let Err(e) = r {
            tracing::debug!(error = %e, root = %self.root, "tree cache: re-read failed; will resync");
            self.dirty = true;
        }
    }

    /// Re-reads one node's data (and, if its parent is not cached, the
    /// parent's first, so that the cache stays a tree).
    async fn refresh(&mut self, path: &str) -> Result<()> {
        let Some(depth) = self.depth(path) else {
            return Ok(());
        };
        if path != self.root {
            let parent = super::barrier::split_path(path).0.to_owned();
            if !self.nodes.lock().unwrap().contains_key(&parent) {
                return Box::pin(self.resync(&parent)).await;
            }
        }
        match self.read_node(path, depth, false).await? {
            Some((data, _)) => self.upsert(data),
            None => self.remove_subtree(path),
        }
        Ok(())
    }

    /// Re-lists a node's children (one-shot mode): loads new ones, drops
    /// vanished ones.
    async fn refresh_children(&mut self, path: &str) -> Result<()> {
        let Some(depth) = self.depth(path) else {
            return Ok(());
        };
        if !self.nodes.lock().unwrap().contains_key(path) {
            return Ok(());
        }
        let Some(listed) = self.read_children(path, depth).await? else {
            self.remove_subtree(path);
            return Ok(());
        };
        let cached: Vec<String> = {
            let nodes = self.nodes.lock().unwrap();
            nodes
                .range(subtree_start(path)..)
                .take_while(|(p, _)| in_subtree(p, path))
                .filter(|(p, _)| p.as_str() != path && !relative(p, path).contains('/'))
                .map(|(p, _)| p.clone())
                .collect()
        };
        for child in &cached {
            if !listed.contains(child) {
                self.remove_subtree(child);
            }
        }
        for child in listed {
            if !cached.contains(&child) {
                self.resync(&child).await?;
            }
        }
        Ok(())
    }

    // ---- reading -----------------------------------------------------------

    /// Reads the subtree at `start` from the server and makes the cache
    /// match it there, emitting the differences.
    async fn resync(&mut self, start: &str) -> Result<()> {
        let Some(start_depth) = self.depth(start) else {
            return Ok(());
        };
        let mut fresh: BTreeMap<String, ChildData> = BTreeMap::new();
        let mut level = vec![start.to_owned()];
        let mut depth = start_depth;
        while !level.is_empty() {
            let this = &*self;
            let results: Vec<Result<NodeRead>> = futures::stream::iter(std::mem::take(&mut level))
                .map(|p: String| async move { this.read_node(&p, depth, true).await })
                .buffered(32)
                .collect()
                .await;
            let mut next = Vec::new();
            for r in results {
                if let Some((node, children)) = r? {
                    next.extend(children);
                    fresh.insert(node.path.clone(), node);
                }
            }
            level = next;
            depth += 1;
        }
        self.apply(start, fresh);
        Ok(())
    }

    /// One node: its data and (if `with_children` and within the depth)
    /// its children's paths. `None` if it does not exist. In one-shot mode
    /// sets the watches that are not already pending.
    async fn read_node(&self, path: &str, depth: usize, with_children: bool) -> Result<NodeRead> {
        let oneshot = self.mode == WatchMode::OneShot;
        let watch_data = oneshot && !self.pending.lock().unwrap().data.contains(path);
        let read = if watch_data {
            self.client
                .get_data_cb(path, self.callback(Kind::Data))
                .await
        } else {
            self.client.get_data(path).await
        };
        let (data, stat) = match read {
            Ok(r) => r,
            Err(Error::NoNode) => {
                if oneshot && path == self.root {
                    self.watch_root_creation().await?;
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if watch_data {
            self.pending.lock().unwrap().data.insert(path.to_owned());
        }
        let node = ChildData {
            path: path.to_owned(),
            stat,
            data,
        };
        let children = if with_children {
            self.read_children(path, depth).await?.unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Some((node, children)))
    }

    /// The paths of a node's children, if it is above the depth limit
    /// (empty otherwise); `None` if it does not exist.
    async fn read_children(&self, path: &str, depth: usize) -> Result<Option<Vec<String>>> {
        if self.max_depth.is_some_and(|m| depth >= m) {
            return Ok(Some(Vec::new()));
        }
        let watch =
            self.mode == WatchMode::OneShot && !self.pending.lock().unwrap().child.contains(path);
        let read = if watch {
            self.client
                .get_children_cb(path, self.callback(Kind::Child))
                .await
                .map(|(c, _)| c)
        } else {
            self.client.get_children(path).await
        };
        match read {
            Ok(names) => {
                if watch {
                    self.pending.lock().unwrap().child.insert(path.to_owned());
                }
                Ok(Some(names.iter().map(|n| join_path(path, n)).collect()))
            }
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One-shot mode: an exist watch on the missing root.
    async fn watch_root_creation(&self) -> Result<()> {
        if self.pending.lock().unwrap().exists.contains(&self.root) {
            return Ok(());
        }
        let stat = self
            .client
            .exists_cb(&self.root, self.callback(Kind::Exists))
            .await?;
        match stat {
            None => {
                self.pending
                    .lock()
                    .unwrap()
                    .exists
                    .insert(self.root.clone());
            }
            Some(_) => {
                // Created meanwhile: the exist watch became a data watch.
                // Load the root as if its creation had been notified.
                self.pending.lock().unwrap().data.insert(self.root.clone());
                let created = WatchedEvent {
                    event_type: EventType::NodeCreated,
                    state: crate::types::KeeperState::SyncConnected,
                    path: self.root.clone(),
                };
                let _ = self
                    .oneshot_tx
                    .send((self.generation, Kind::Exists, created));
            }
        }
        Ok(())
    }

    fn callback(&self, kind: Kind) -> impl FnOnce(WatchedEvent) + Send + 'static {
        let tx = self.oneshot_tx.clone();
        let generation = self.generation;
        move |ev| {
            let _ = tx.send((generation, kind, ev));
        }
    }

    // ---- the cache ---------------------------------------------------------

    /// The depth of `path` below the root, if it is in the cached range.
    fn depth(&self, path: &str) -> Option<usize> {
        if !in_subtree(path, &self.root) {
            return None;
        }
        let rest = relative(path, &self.root);
        let d = if rest.is_empty() {
            0
        } else {
            rest.split('/').count()
        };
        match self.max_depth {
            Some(m) if d > m => None,
            _ => Some(d),
        }
    }

    fn upsert(&self, node: ChildData) {
        let old = self
            .nodes
            .lock()
            .unwrap()
            .insert(node.path.clone(), node.clone());
        match old {
            None => self.emit(TreeCacheEvent::NodeAdded(node)),
            Some(old) if changed(&old, &node) => self.emit(TreeCacheEvent::NodeUpdated(node)),
            Some(_) => {}
        }
    }

    fn remove_subtree(&self, path: &str) {
        let removed: Vec<ChildData> = {
            let mut nodes = self.nodes.lock().unwrap();
            let paths: Vec<String> = nodes
                .range(path.to_owned()..)
                .take_while(|(p, _)| p.starts_with(path))
                .filter(|(p, _)| in_subtree(p, path))
                .map(|(p, _)| p.clone())
                .collect();
            paths.iter().filter_map(|p| nodes.remove(p)).collect()
        };
        emit_removed(&self.events, removed);
    }

    /// Makes the cache equal to `fresh` within the subtree at `start`.
    fn apply(&self, start: &str, fresh: BTreeMap<String, ChildData>) {
        let gone: Vec<ChildData> = {
            let mut nodes = self.nodes.lock().unwrap();
            let stale: Vec<String> = nodes
                .range(start.to_owned()..)
                .take_while(|(p, _)| p.starts_with(start))
                .filter(|(p, _)| in_subtree(p, start) && !fresh.contains_key(*p))
                .map(|(p, _)| p.clone())
                .collect();
            stale.iter().filter_map(|p| nodes.remove(p)).collect()
        };
        emit_removed(&self.events, gone);
        // Parents before children: a BTreeMap of paths is in that order.
        for node in fresh.into_values() {
            self.upsert(node);
        }
    }
}

/// Connects a new session with `builder`, retrying with backoff (200 ms
/// doubling to 5 s) until it succeeds; cancel by dropping the future.
pub(crate) async fn connect_with_backoff(builder: &ClientBuilder) -> Client {
    let mut delay = Duration::from_millis(200);
    loop {
        match builder.clone().connect().await {
            Ok(c) => return c,
            Err(e) => {
                tracing::warn!(error = %e, "recipe: a new session failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Emits removals children first.
fn emit_removed(events: &mpsc::UnboundedSender<TreeCacheEvent>, mut removed: Vec<ChildData>) {
    removed.sort_by_key(|n| std::cmp::Reverse(n.path.matches('/').count()));
    for node in removed {
        let _ = events.send(TreeCacheEvent::NodeRemoved(node));
    }
}

/// The next event of the recursive watch, or never if there is none.
async fn next_event(w: &mut Option<PersistentWatch>) -> Option<WatchedEvent> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

fn changed(old: &ChildData, new: &ChildData) -> bool {
    old.stat.czxid != new.stat.czxid || old.stat.mzxid != new.stat.mzxid || old.data != new.data
}

/// Whether `path` is `root` or below it.
fn in_subtree(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// `path` relative to `root` (no leading slash; empty for the root).
fn relative<'a>(path: &'a str, root: &str) -> &'a str {
    if root == "/" {
        &path[1..]
    } else {
        path[root.len()..].trim_start_matches('/')
    }
}

/// The first key of `path`'s strict descendants in a map of paths.
fn subtree_start(path: &str) -> String {
    if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_paths() {
        assert!(in_subtree("/a/b", "/a"));
        assert!(in_subtree("/a", "/a"));
        assert!(!in_subtree("/ab", "/a"));
        assert!(in_subtree("/x", "/"));
        assert_eq!(relative("/a/b/c", "/a"), "b/c");
        assert_eq!(relative("/a", "/a"), "");
        assert_eq!(relative("/a/b", "/"), "a/b");
    }
}
