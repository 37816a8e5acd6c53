//! A distributed, re-entrant mutex with Curator's `InterProcessMutex`
//! layout: each contender is an ephemeral sequential child
//! `_c_<uuid>-lock-<seq>` of the lock's path; the lowest sequence holds the
//! lock; every waiter watches only its predecessor.
//!
//! Contenders written by Curator (`-lock-`, read/write `__READ__` /
//! `__WRIT__`) and kazoo (`__lock__`, `__rlock__`) on the same path are
//! honoured, so a corral holder excludes a Curator or kazoo holder (kazoo
//! must be told about our nodes: `extra_lock_patterns=["-lock-"]`).
//!
//! ```no_run
//! # async fn demo(client: corral_client::Client) -> corral_client::Result<()> {
//! use corral_client::recipes::lock::Lock;
//! let lock = Lock::new(&client, "/app/locks/job-42");
//! lock.acquire().await?;
//! // ... critical section; watch `lock.events()` or `lock.state()` if the
//! // work is long: the lock may be lost with the session.
//! lock.release().await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::stream::BoxStream;

use super::contenders::{
    self, delete_until_gone, join, retry_loss, sorted_contenders, watch_node, Cleanups, NodeGuard,
    Notifier, Protected,
};
use crate::{Client, Error, ListenerId, Result, SessionState};

/// What a [`Lock`] handle knows about its ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockState {
    /// Not held (never acquired, or released).
    Released,
    /// Held: our node is the first contender, and the session is connected.
    Acquired,
    /// Held, but the connection is down: the lock may have been lost (if
    /// the session expires before the client reconnects). Back to
    /// `Acquired` after a reconnection that finds our node, `Lost`
    /// otherwise. Stop acting on the lock's behalf until then.
    Suspended,
    /// The lock was lost (the session ended, or our node is gone): another
    /// contender may hold it now. [`Lock::release`] clears this state.
    Lost,
}

/// Which contenders block a lock node and what its node is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Blocked by every earlier contender: a mutex (`lock-`) or a write
    /// lock (`__WRIT__`).
    Exclusive(&'static str),
    /// Blocked only by earlier exclusive contenders: a read lock.
    Shared(&'static str),
}

impl Kind {
    fn node_name(self) -> &'static str {
        match self {
            Kind::Exclusive(n) | Kind::Shared(n) => n,
        }
    }
}

/// A distributed re-entrant mutex on a znode path. See the module docs.
///
/// Re-entrancy is per handle: `acquire` on a handle that holds the lock
/// only counts, and the lock is released by as many `release` calls. Tasks
/// that must exclude each other need a handle each (they may share one
/// [`Client`]). Dropping a handle that holds the lock deletes its node in
/// the background.
pub struct Lock {
    core: Arc<Core>,
}

pub(crate) struct Core {
    client: Client,
    dir: String,
    kind: Kind,
    data: Vec<u8>,
    /// For the read side of a read/write lock: the write side, whose node
    /// does not block us while we hold it (a writer may also read).
    sibling: Option<Arc<Core>>,
    /// Serialises acquire/release on this handle.
    op: tokio::sync::Mutex<()>,
    held: Mutex<Held>,
    state: Notifier<LockState>,
    /// Background deletions of nodes of abandoned acquires.
    cleanups: Cleanups,
}

#[derive(Default)]
struct Held {
    count: u32,
    /// Our node's name while held.
    node: Option<String>,
    listener: Option<ListenerId>,
    /// A release is deleting our node: its absence is not a loss.
    releasing: bool,
    /// Bumped on every session transition, so that a late reconnection
    /// check does not overwrite a newer state.
    epoch: u64,
}

impl Lock {
    /// A mutex on `path` (created, with its parents, as container nodes on
    /// first use). Nothing is sent until [`Lock::acquire`].
    pub fn new(client: &Client, path: &str) -> Lock {
        Lock::with_kind(client, path, Kind::Exclusive("lock-"), None)
    }

    pub(crate) fn with_kind(
        client: &Client,
        path: &str,
        kind: Kind,
        sibling: Option<&Lock>,
    ) -> Lock {
        Lock {
            core: Arc::new(Core {
                client: client.clone(),
                dir: path.to_owned(),
                kind,
                data: Vec::new(),
                sibling: sibling.map(|l| l.core.clone()),
                op: tokio::sync::Mutex::new(()),
                held: Mutex::new(Held::default()),
                state: Notifier::new(LockState::Released),
                cleanups: Cleanups::default(),
            }),
        }
    }

    /// The data of our contender node (Curator writes the host's address,
    /// kazoo the identifier); empty by default. Call before the first
    /// acquire.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Lock {
        Arc::get_mut(&mut self.core)
            .expect("with_data before the lock is used")
            .data = data.into();
        self
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        &self.core.dir
    }

    /// Waits until the lock is held (or, if this handle holds it already,
    /// counts one more hold). Errors: the session ended (SessionExpired,
    /// Closed), or a server error other than a connection loss (those are
    /// retried). On error, timeout or cancellation (dropping the future) no
    /// node is left behind: a node already created is deleted in the
    /// background.
    pub async fn acquire(&self) -> Result<()> {
        self.core.acquire().await
    }

    /// [`Lock::acquire`] with a deadline: `Ok(false)` if the lock was not
    /// acquired within `timeout` (our node is then deleted in the
    /// background).
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        match tokio::time::timeout(timeout, self.acquire()).await {
            Ok(r) => r.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Takes the lock only if no other contender is queued or holding:
    /// [`Lock::acquire_timeout`] with a zero wait beyond the round trips.
    pub async fn try_acquire(&self) -> Result<bool> {
        self.core.acquire_now().await
    }

    /// Releases one hold; the last one deletes our node. Under connection
    /// loss the delete is retried until the node is gone or the session has
    /// ended (then the node is gone with it): until then the handle still
    /// says it holds the lock. BadArguments if this handle does not hold it.
    /// After [`LockState::Lost`] this just clears the state.
    pub async fn release(&self) -> Result<()> {
        self.core.release().await
    }

    /// Whether this handle holds the lock and is connected
    /// ([`LockState::Acquired`]).
    pub fn is_acquired(&self) -> bool {
        self.core.state.get() == LockState::Acquired
    }

    /// The current [`LockState`].
    pub fn state(&self) -> LockState {
        self.core.state.get()
    }

    /// Every [`LockState`] transition from now on, in order. `Suspended`
    /// and `Lost` are sent as soon as the client sees the connection or the
    /// session go.
    pub fn events(&self) -> BoxStream<'static, LockState> {
        self.core.state.subscribe()
    }

    /// Waits until the nodes of this handle's abandoned acquires (timed
    /// out, cancelled or failed) have been deleted.
    pub async fn settle(&self) {
        contenders::settle(&self.core.cleanups).await
    }

    /// Our node's path while held.
    pub fn node(&self) -> Option<String> {
        let h = self.core.held.lock().unwrap();
        h.node.as_ref().map(|n| join(&self.core.dir, n))
    }

    /// The contender nodes on the path (of every client), in queue order;
    /// the first holds the lock (for a read lock, every reader before the
    /// first writer).
    pub async fn contenders(&self) -> Result<Vec<String>> {
        let c = &self.core.client;
        match retry_loss(|| c.get_children(&self.core.dir)).await {
            Ok(children) => Ok(sorted_contenders(&children, None)
                .into_iter()
                .map(|c| c.name)
                .collect()),
            Err(Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let node = {
            let mut h = self.core.held.lock().unwrap();
            if let Some(id) = h.listener.take() {
                self.core.client.remove_listener(id);
            }
            h.count = 0;
            h.node.take()
        };
        if let (Some(node), Ok(rt)) = (node, tokio::runtime::Handle::try_current()) {
            let client = self.core.client.clone();
            let path = join(&self.core.dir, &node);
            rt.spawn(async move {
                if let Err(e) = delete_until_gone(&client, &path).await {
                    tracing::warn!(node = %path, error = %e, "lock: could not delete a dropped lock's node");
                }
            });
        }
    }
}

/// What the first step of an acquisition found.
enum Turn {
    /// We are at the front.
    Ours,
    /// We must wait for this node to go.
    Wait(String),
}

impl Core {
    /// Counts one more hold if this handle holds the lock. A lost lock is
    /// forgotten (and then acquired anew).
    fn reenter(&self) -> bool {
        let mut h = self.held.lock().unwrap();
        if h.count == 0 {
            return false;
        }
        match self.state.get() {
            LockState::Acquired | LockState::Suspended => {
                h.count += 1;
                true
            }
            _ => {
                h.count = 0;
                h.node = None;
                false
            }
        }
    }

    async fn acquire(self: &Arc<Self>) -> Result<()> {
        let _op = self.op.lock().await;
        if self.reenter() {
            return Ok(());
        }
        self.ensure_listener();
        let mut guard = self.guard();
        let name = guard.create(&self.data).await?;
        loop {
            match self.turn(&name).await? {
                Turn::Ours => break,
                Turn::Wait(pred) => {
                    if let Some(w) = watch_node(&self.client, &join(&self.dir, &pred)).await? {
                        // Any event (deletion, change, session end): look again.
                        w.await;
                    }
                }
            }
        }
        self.now_held(guard.disarm());
        Ok(())
    }

    async fn acquire_now(self: &Arc<Self>) -> Result<bool> {
        let _op = self.op.lock().await;
        if self.reenter() {
            return Ok(true);
        }
        self.ensure_listener();
        let mut guard = self.guard();
        let name = guard.create(&self.data).await?;
        match self.turn(&name).await? {
            Turn::Ours => {
                self.now_held(guard.disarm());
                Ok(true)
            }
            Turn::Wait(_) => {
                let path = join(&self.dir, &guard.disarm());
                delete_until_gone(&self.client, &path).await?;
                Ok(false)
            }
        }
    }

    fn guard(&self) -> NodeGuard {
        NodeGuard::new(
            &self.client,
            Protected::new(&self.dir, self.kind.node_name()),
        )
        .with_cleanups(&self.cleanups)
    }

    /// Lists the contenders and finds who, if anyone, we wait for: for an
    /// exclusive node the contender just before it; for a shared node the
    /// last exclusive contender before it.
    async fn turn(&self, name: &str) -> Result<Turn> {
        let children = retry_loss(|| self.client.get_children(&self.dir)).await?;
        let contenders = sorted_contenders(&children, None);
        let Some(me) = contenders.iter().position(|c| c.name == name) else {
            // Our node is gone (deleted by someone else, or the session
            // ended): never proceed without it.
            tracing::warn!(path = %self.dir, node = name, "lock: our contender node disappeared");
            return Err(Error::NoNode);
        };
        let sibling = self
            .sibling
            .as_ref()
            .and_then(|s| s.held.lock().unwrap().node.clone());
        let blocker = contenders[..me].iter().rev().find(|c| {
            Some(&c.name) != sibling.as_ref()
                && match self.kind {
                    Kind::Exclusive(_) => true,
                    Kind::Shared(_) => !c.shared,
                }
        });
        Ok(match blocker {
            None => Turn::Ours,
            Some(c) => Turn::Wait(c.name.clone()),
        })
    }

    fn now_held(&self, name: String) {
        {
            let mut h = self.held.lock().unwrap();
            h.count = 1;
            h.node = Some(name);
        }
        // The connection may have gone between our last reply and now: the
        // listener only acts on a held lock, so look at the state ourselves.
        let session = self.client.state();
        self.state.set(if session.is_terminal() {
            LockState::Lost
        } else if session.is_connected() {
            LockState::Acquired
        } else {
            LockState::Suspended
        });
    }

    async fn release(&self) -> Result<()> {
        if self.held.lock().unwrap().count == 0 {
            return Err(Error::BadArguments(format!(
                "lock {} is not held",
                self.dir
            )));
        }
        let _op = self.op.lock().await;
        let node = {
            let mut h = self.held.lock().unwrap();
            match h.count {
                0 => {
                    return Err(Error::BadArguments(format!(
                        "lock {} is not held",
                        self.dir
                    )))
                }
                1 => h.node.clone(),
                _ => {
                    h.count -= 1;
                    return Ok(());
                }
            }
        };
        if let Some(node) = node {
            if self.state.get() != LockState::Lost {
                self.held.lock().unwrap().releasing = true;
                let deleted = delete_until_gone(&self.client, &join(&self.dir, &node)).await;
                self.held.lock().unwrap().releasing = false;
                deleted?;
            }
        }
        {
            let mut h = self.held.lock().unwrap();
            h.count = 0;
            h.node = None;
        }
        self.state.set(LockState::Released);
        Ok(())
    }

    /// Registers (once) the session listener that reports Suspended / Lost
    /// to the holder at once, and checks our node after a reconnection.
    fn ensure_listener(self: &Arc<Self>) {
        let mut h = self.held.lock().unwrap();
        if h.listener.is_some() {
            return;
        }
        let weak = Arc::downgrade(self);
        h.listener = Some(
            self.client
                .add_listener(move |s| contenders::with_weak(&weak, |core| core.on_session(s))),
        );
    }

    fn on_session(self: Arc<Self>, s: SessionState) {
        let (epoch, node) = {
            let mut h = self.held.lock().unwrap();
            h.epoch += 1;
            (h.epoch, h.node.clone())
        };
        let Some(node) = node else { return };
        let held = |st: LockState| matches!(st, LockState::Acquired | LockState::Suspended);
        match s {
            SessionState::Suspended => {
                self.state
                    .update(|st| (st == LockState::Acquired).then_some(LockState::Suspended));
            }
            SessionState::Lost | SessionState::Closed | SessionState::AuthFailed => {
                self.state.update(|st| held(st).then_some(LockState::Lost));
            }
            SessionState::Connected | SessionState::Reconnected | SessionState::ReadOnly => {
                if self.state.get() != LockState::Suspended {
                    return;
                }
                // Same session, so our ephemeral should still be there; make
                // sure (someone may have deleted it).
                let weak: Weak<Core> = Arc::downgrade(&self);
                tokio::spawn(async move {
                    let Some(core) = weak.upgrade() else { return };
                    let path = join(&core.dir, &node);
                    let found = core.client.exists(&path).await;
                    let session = core.client.session_id();
                    {
                        let h = core.held.lock().unwrap();
                        if h.epoch != epoch || h.releasing {
                            return; // a newer transition, or the release, decides
                        }
                    }
                    let next = match found {
                        Ok(Some(stat)) if stat.ephemeral_owner == session => LockState::Acquired,
                        Ok(_) => LockState::Lost,
                        Err(_) => return, // the next transition will tell
                    };
                    core.state
                        .update(|st| (st == LockState::Suspended).then_some(next));
                });
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if let Some(id) = self.held.get_mut().unwrap().listener.take() {
            self.client.remove_listener(id);
        }
    }
}
