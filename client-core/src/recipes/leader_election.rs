//! Leader election that runs a task while leader, as Curator's
//! `LeaderSelector` (and kazoo's `Election`): candidates queue on a
//! [`Lock`] at the election path (`_c_<uuid>-lock-<seq>` nodes, holding the
//! candidate's id); the holder is the leader and runs the task.
//!
//! Leadership ends, and the task's future is dropped (cancelled at its next
//! `.await`), as soon as:
//!
//! - the connection is lost (Suspended: we may no longer be leader), or the
//!   session ends (Lost);
//! - [`Election::interrupt_leadership`] or [`Election::stop`] is called.
//!
//! Then our node is deleted (retried until gone or the session has ended),
//! so the next candidate takes over. A task that returns also gives up the
//! leadership. With [`LeaderElection::auto_requeue`] the candidate then
//! queues again; otherwise the election ends for it.
//!
//! Work the task hands to other tasks should watch its [`Leadership`]
//! (`lost()`, `is_valid()`), and writes that must not land after a loss can
//! be fenced with [`Leadership::check_op`] in a `multi`.
//!
//! ```no_run
//! # async fn demo(client: corral_client::Client) -> corral_client::Result<()> {
//! use corral_client::recipes::leader_election::LeaderElection;
//! let election = LeaderElection::new(&client, "/app/election", "worker-1")
//!     .auto_requeue(true)
//!     .start(|leadership| async move {
//!         // lead until this returns or is cancelled
//!         leadership.lost().await;
//!     });
//! // ...
//! election.stop().await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;

use super::contenders::{self, Notifier};
use super::lock::{Lock, LockState};
use crate::{Client, Error, Op, Result, SessionState};

/// A candidate's view of the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElectionState {
    /// Queued (or giving up a leadership that ended).
    Candidate,
    /// Leading: the task is running.
    Leader,
    /// Out of the election: stopped, finished without requeue, or the
    /// session ended.
    Stopped,
}

/// A candidate in an election, before it starts. See the module docs.
pub struct LeaderElection {
    client: Client,
    path: String,
    id: String,
    requeue: bool,
}

/// Given to the task for one term of leadership.
#[derive(Clone)]
pub struct Leadership {
    client: Client,
    node: String,
    epoch: i64,
    lost: watch::Receiver<bool>,
}

/// A running candidate (see [`LeaderElection::start`]). Dropping it stops
/// the candidate as [`Election::stop`] does, in the background.
pub struct Election {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
}

struct Shared {
    state: Notifier<ElectionState>,
    interrupt: Notify,
}

impl LeaderElection {
    /// A candidate with `id` (the data of its node) in the election at
    /// `path`.
    pub fn new(client: &Client, path: &str, id: &str) -> LeaderElection {
        LeaderElection {
            client: client.clone(),
            path: path.to_owned(),
            id: id.to_owned(),
            requeue: false,
        }
    }

    /// Queue again after each term (default false: one term, as Curator's
    /// `LeaderSelector` without `autoRequeue()`).
    pub fn auto_requeue(mut self, requeue: bool) -> LeaderElection {
        self.requeue = requeue;
        self
    }

    /// Joins the election in a background task; `task` is run each time
    /// this candidate becomes leader.
    pub fn start<F, Fut>(self, task: F) -> Election
    where
        F: FnMut(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Notifier::new(ElectionState::Candidate),
            interrupt: Notify::new(),
        });
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(self, shared.clone(), task, stop_rx));
        Election {
            shared,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

impl Election {
    pub fn state(&self) -> ElectionState {
        self.shared.state.get()
    }

    /// Whether the task is running as leader now.
    pub fn is_leader(&self) -> bool {
        self.state() == ElectionState::Leader
    }

    /// Every [`ElectionState`] transition from now on, in order.
    pub fn events(&self) -> BoxStream<'static, ElectionState> {
        self.shared.state.subscribe()
    }

    /// Ends the current term (if leading): the task is cancelled and our
    /// node deleted; with auto-requeue the candidate queues again.
    pub fn interrupt_leadership(&self) {
        self.shared.interrupt.notify_waiters();
    }

    /// Leaves the election: cancels the task if leading, deletes our node
    /// (retried until gone or the session has ended) and waits for that.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.join_inner().await
    }

    /// Waits until the candidate leaves the election by itself: after its
    /// term without auto-requeue (Ok), or when the session ends
    /// (SessionExpired, Closed or AuthFailed).
    pub async fn join(mut self) -> Result<()> {
        self.join_inner().await
    }

    async fn join_inner(&mut self) -> Result<()> {
        match self.task.take() {
            Some(t) => t.await.unwrap_or(Err(Error::Closed)),
            None => Ok(()),
        }
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        // The background task sees the stop channel close and leaves.
        self.stop.take();
    }
}

impl Leadership {
    /// The client of the session that holds the leadership.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Our election node's path: it exists exactly while we lead.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The sequence number of our node: larger for every later leader of
    /// this election (until the parent's sequence counter overflows), so it
    /// serves as a fencing token.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// A `multi` op that fails the transaction unless our node still
    /// exists: `client.multi(vec![leadership.check_op(), write])` never
    /// applies `write` after this leadership is gone from the server.
    pub fn check_op(&self) -> Op {
        Op::check(self.node.clone(), None)
    }

    /// False once the leadership has ended.
    pub fn is_valid(&self) -> bool {
        !*self.lost.borrow()
    }

    /// Resolves when the leadership ends.
    pub async fn lost(&self) {
        let mut rx = self.lost.clone();
        let _ = rx.wait_for(|lost| *lost).await;
    }
}

/// Why a term ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Finished,
    Lost,
    Interrupted,
    Stopped,
}

async fn run<F, Fut>(
    e: LeaderElection,
    shared: Arc<Shared>,
    mut task: F,
    mut stop: oneshot::Receiver<()>,
) -> Result<()>
where
    F: FnMut(Leadership) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let result = loop {
        shared.state.set(ElectionState::Candidate);
        let lock = Lock::new(&e.client, &e.path).with_data(e.id.as_bytes());
        let mut lock_events = lock.events();
        let stopped = tokio::select! {
            r = lock.acquire() => match r {
                Ok(()) => false,
                Err(err) => break Err(err),
            },
            _ = &mut stop => true,
        };
        if stopped {
            // The dropped acquire's node is deleted in the background: wait.
            lock.settle().await;
            break Ok(());
        }
        let node = lock.node().unwrap_or_default();
        let epoch = contenders::sequence(&node).unwrap_or_default();
        let (lost_tx, lost_rx) = watch::channel(false);
        let leadership = Leadership {
            client: e.client.clone(),
            node: node.clone(),
            epoch,
            lost: lost_rx,
        };
        tracing::info!(path = %e.path, id = %e.id, epoch, "election: leader");
        shared.state.set(ElectionState::Leader);
        let term = task(leadership);
        let end = tokio::select! {
            _ = term => End::Finished,
            _ = wait_loss(&lock, &mut lock_events) => End::Lost,
            _ = shared.interrupt.notified() => End::Interrupted,
            _ = &mut stop => End::Stopped,
        };
        // The task's future is dropped: tell whatever it handed work to.
        let _ = lost_tx.send(true);
        shared.state.set(ElectionState::Candidate);
        tracing::info!(path = %e.path, id = %e.id, epoch, ?end, "election: leadership ended");
        if let Err(err) = lock.release().await {
            break Err(err);
        }
        if end == End::Stopped {
            break Ok(());
        }
        match e.client.state() {
            SessionState::Lost => break Err(Error::SessionExpired),
            SessionState::Closed => break Err(Error::Closed),
            SessionState::AuthFailed => break Err(Error::AuthFailed),
            _ if !e.requeue => break Ok(()),
            _ => {}
        }
    };
    shared.state.set(ElectionState::Stopped);
    result
}

/// Resolves when the lock is no longer held and connected.
async fn wait_loss(lock: &Lock, events: &mut BoxStream<'static, LockState>) {
    if lock.state() != LockState::Acquired {
        return;
    }
    while let Some(s) = events.next().await {
        if s != LockState::Acquired {
            return;
        }
    }
}
