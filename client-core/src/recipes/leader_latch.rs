//! Leader latch with Curator's `LeaderLatch` layout: each participant is an
//! ephemeral sequential child `_c_<uuid>-latch-<seq>` of the latch path,
//! holding the participant's id; the lowest sequence is the leader. Every
//! other participant watches only its predecessor (getData watch) and looks
//! at the children again on every event.
//!
//! Leadership is reported as [`LatchState`] transitions: `NotLeader` as soon
//! as the connection is lost (Suspended: we may no longer be leader), again
//! `Leader` after a reconnection that finds our node still first, and
//! `Closed` when the latch is closed or the session ends.
//!
//! ```no_run
//! # async fn demo(client: corral_client::Client) -> corral_client::Result<()> {
//! use corral_client::recipes::leader_latch::LeaderLatch;
//! let latch = LeaderLatch::new(&client, "/app/leader", "worker-1");
//! latch.start().await?;
//! if latch.await_leadership(None).await? {
//!     // lead, while `latch.has_leadership()`
//! }
//! latch.close().await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::contenders::{
    delete_until_gone, join, retry_loss, sorted_contenders, watch_node, NodeGuard, Notifier,
    Protected, SessionEvents, LATCH_MARKERS,
};
use crate::{Client, Error, Result, SessionState};

/// A participant's view of its leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LatchState {
    /// Not started, waiting, or unsure (connection lost).
    NotLeader,
    /// Our node is first and the session is connected.
    Leader,
    /// Closed by [`LeaderLatch::close`], or the session ended: final.
    Closed,
}

/// One participant of a latch (see [`LeaderLatch::participants`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The participant's id (its node's data).
    pub id: String,
    /// Its node's name.
    pub node: String,
    pub is_leader: bool,
}

/// A leader latch participant. See the module docs. Dropping it without
/// [`LeaderLatch::close`] deletes its node in the background.
pub struct LeaderLatch {
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

struct Shared {
    client: Client,
    dir: String,
    id: String,
    state: Notifier<LatchState>,
    node: Mutex<Option<String>>,
}

impl LeaderLatch {
    /// A participant with `id` in the latch at `path`; nothing is sent
    /// until [`LeaderLatch::start`].
    pub fn new(client: &Client, path: &str, id: &str) -> LeaderLatch {
        LeaderLatch {
            shared: Arc::new(Shared {
                client: client.clone(),
                dir: path.to_owned(),
                id: id.to_owned(),
                state: Notifier::new(LatchState::NotLeader),
                node: Mutex::new(None),
            }),
            running: Mutex::new(None),
        }
    }

    /// Joins the latch: creates our node (with missing parents, as
    /// containers), then follows the leadership in a background task.
    /// BadArguments if already started.
    pub async fn start(&self) -> Result<()> {
        if self.running.lock().unwrap().is_some() || self.state() == LatchState::Closed {
            return Err(Error::BadArguments("latch already started".into()));
        }
        let events = SessionEvents::new(&self.shared.client);
        let mut guard = NodeGuard::new(
            &self.shared.client,
            Protected::new(&self.shared.dir, "latch-"),
        );
        let name = guard.create(self.shared.id.as_bytes()).await?;
        *self.shared.node.lock().unwrap() = Some(guard.disarm());
        tracing::debug!(path = %self.shared.dir, node = %name, "latch: joined");
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(self.shared.clone(), events, stop_rx));
        *self.running.lock().unwrap() = Some(Running { stop, task });
        Ok(())
    }

    /// Whether we are the leader now (and connected).
    pub fn has_leadership(&self) -> bool {
        self.state() == LatchState::Leader
    }

    pub fn state(&self) -> LatchState {
        self.shared.state.get()
    }

    /// Every [`LatchState`] transition from now on, in order ("is leader" /
    /// "not leader" as Curator's `LeaderLatchListener` has them).
    pub fn events(&self) -> BoxStream<'static, LatchState> {
        self.shared.state.subscribe()
    }

    /// Waits until we are the leader: `Ok(true)`, or `Ok(false)` when
    /// `timeout` passes first. Error::Closed if the latch is or gets closed
    /// (SessionExpired if that was the session ending).
    pub async fn await_leadership(&self, timeout: Option<Duration>) -> Result<bool> {
        let mut events = self.events();
        let wait = async {
            let mut s = self.state();
            loop {
                match s {
                    LatchState::Leader => return Ok(true),
                    LatchState::Closed => {
                        return Err(match self.shared.client.state() {
                            SessionState::Lost => Error::SessionExpired,
                            _ => Error::Closed,
                        })
                    }
                    LatchState::NotLeader => {}
                }
                s = events.next().await.unwrap_or(LatchState::Closed);
            }
        };
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait).await.unwrap_or(Ok(false)),
        }
    }

    /// Our node's path, once started.
    pub fn node(&self) -> Option<String> {
        let n = self.shared.node.lock().unwrap();
        n.as_ref().map(|n| join(&self.shared.dir, n))
    }

    /// The participants in order; the first is the leader.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        let c = &self.shared.client;
        let children = match retry_loss(|| c.get_children(&self.shared.dir)).await {
            Ok(ch) => ch,
            Err(Error::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for ct in sorted_contenders(&children, Some(LATCH_MARKERS)) {
            let path = join(&self.shared.dir, &ct.name);
            let id = match retry_loss(|| c.get_data(&path)).await {
                Ok((data, _)) => String::from_utf8_lossy(&data).into_owned(),
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            out.push(Participant {
                id,
                node: ct.name,
                is_leader: false,
            });
        }
        if let Some(first) = out.first_mut() {
            first.is_leader = true;
        }
        Ok(out)
    }

    /// The current leader, if any.
    pub async fn leader(&self) -> Result<Option<Participant>> {
        Ok(self.participants().await?.into_iter().next())
    }

    /// Leaves the latch: stops following, deletes our node (retrying
    /// through connection losses until it is gone or the session has
    /// ended), and reports `Closed` (after `NotLeader` if we led).
    pub async fn close(&self) -> Result<()> {
        let running = self.running.lock().unwrap().take();
        if let Some(r) = running {
            let _ = r.stop.send(());
            let _ = r.task.await;
        }
        let node = self.shared.node.lock().unwrap().take();
        if let Some(node) = node {
            delete_until_gone(&self.shared.client, &join(&self.shared.dir, &node)).await?;
        }
        self.shared.state.set(LatchState::NotLeader);
        self.shared.state.set(LatchState::Closed);
        Ok(())
    }
}

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        if let Some(r) = self.running.get_mut().unwrap().take() {
            r.task.abort();
        }
        let node = self.shared.node.lock().unwrap().take();
        if let (Some(node), Ok(rt)) = (node, tokio::runtime::Handle::try_current()) {
            let client = self.shared.client.clone();
            let path = join(&self.shared.dir, &node);
            rt.spawn(async move {
                let _ = delete_until_gone(&client, &path).await;
            });
        }
    }
}

/// What a look at the children found.
enum Check {
    Leader,
    /// Waiting: an event on this watch means look again (`None`: at once).
    Wait(Option<crate::Watch>),
    /// Our node is gone (deleted by someone): join again.
    Missing,
}

impl Shared {
    async fn check(&self, name: &str) -> Result<Check> {
        let children = retry_loss(|| self.client.get_children(&self.dir)).await?;
        let contenders = sorted_contenders(&children, Some(LATCH_MARKERS));
        match contenders.iter().position(|c| c.name == name) {
            None => Ok(Check::Missing),
            Some(0) => Ok(Check::Leader),
            Some(i) => {
                let pred = join(&self.dir, &contenders[i - 1].name);
                Ok(Check::Wait(watch_node(&self.client, &pred).await?))
            }
        }
    }

    /// Leader only if the session is connected at this moment (the
    /// listener sets NotLeader on the next loss, atomically with this).
    fn set_leader(&self) {
        let connected = self.client.state().is_connected();
        self.state
            .update(|s| (s == LatchState::NotLeader && connected).then_some(LatchState::Leader));
    }

    fn set_not_leader(&self) {
        self.state
            .update(|s| (s == LatchState::Leader).then_some(LatchState::NotLeader));
    }
}

/// The background task: follows the leadership until stopped or the
/// session ends.
async fn run(shared: Arc<Shared>, mut events: SessionEvents, mut stop: oneshot::Receiver<()>) {
    // Tell at once: a loss of connection ends our certainty of leading.
    let weak = Arc::downgrade(&shared);
    let client = shared.client.clone();
    let listener = client.add_listener(move |s| {
        if let Some(sh) = weak.upgrade() {
            if !s.is_connected() {
                sh.set_not_leader();
            }
        }
    });
    let mut backoff = Duration::from_millis(10);
    'outer: loop {
        let Some(name) = shared.node.lock().unwrap().clone() else {
            break;
        };
        let watch = match shared.check(&name).await {
            Ok(Check::Leader) => {
                shared.set_leader();
                None
            }
            Ok(Check::Wait(w)) => {
                shared.set_not_leader();
                match w {
                    Some(w) => Some(w),
                    None => continue,
                }
            }
            Ok(Check::Missing) => {
                shared.set_not_leader();
                tracing::warn!(path = %shared.dir, node = %name, "latch: our node disappeared; joining again");
                let mut guard =
                    NodeGuard::new(&shared.client, Protected::new(&shared.dir, "latch-"));
                match guard.create(shared.id.as_bytes()).await {
                    Ok(_) => *shared.node.lock().unwrap() = Some(guard.disarm()),
                    Err(e) if super::contenders::is_session_end(&e) => break,
                    Err(e) => tracing::warn!(error = %e, "latch: could not join again"),
                }
                continue;
            }
            Err(e) if super::contenders::is_session_end(&e) => break,
            Err(e) => {
                tracing::warn!(path = %shared.dir, error = %e, "latch: could not check leadership");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(10);
        let watch = async {
            match watch {
                Some(w) => {
                    w.await;
                }
                None => futures::future::pending::<()>().await,
            }
        };
        tokio::pin!(watch);
        loop {
            tokio::select! {
                _ = &mut stop => break 'outer,
                _ = &mut watch => continue 'outer,
                ev = events.rx.recv() => match ev {
                    Some(s) if s.is_terminal() => break 'outer,
                    Some(s) if s.is_connected() => continue 'outer,
                    Some(_) => shared.set_not_leader(), // Suspended: wait for the next state
                    None => break 'outer,
                },
            }
        }
    }
    client.remove_listener(listener);
    shared.set_not_leader();
    if client.state().is_terminal() {
        shared.state.set(LatchState::Closed);
    }
}
