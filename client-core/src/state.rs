//! Session states, published as a `tokio::sync::watch` channel and to
//! listeners, and the dispatcher task that runs user callbacks in order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::Stream;
use tokio::sync::{mpsc, watch};

/// The state of a client's session, as Curator names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// The first connection is up with a new (or resumed saved) session.
    Connected,
    /// The connection was lost; the session may still be alive. Requests
    /// in flight failed with ConnectionLoss; new requests wait for the
    /// reconnection (or fail when the session is lost).
    Suspended,
    /// Connected again with the same session after `Suspended`.
    Reconnected,
    /// Terminal: the session expired (the server said so, answered with
    /// another session, or the client was `Suspended` for longer than the
    /// session timeout). Every call fails with SessionExpired.
    Lost,
    /// Connected to a server in read-only mode (only when the builder set
    /// `read_only(true)`): reads work, writes fail with NotReadOnly. Left
    /// for `Connected` (a new session) once a read-write server is found.
    ReadOnly,
    /// Terminal: the server rejected our credentials.
    AuthFailed,
    /// Terminal: closed by [`crate::Client::close`] or by dropping every
    /// handle.
    Closed,
}

impl SessionState {
    /// Whether requests can be sent now.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            SessionState::Connected | SessionState::Reconnected | SessionState::ReadOnly
        )
    }

    /// Whether the client is finished (Lost, AuthFailed or Closed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Lost | SessionState::AuthFailed | SessionState::Closed
        )
    }
}

/// Identifies a listener for [`crate::Client::remove_listener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

type Listener = Arc<dyn Fn(SessionState) + Send + Sync>;

/// Listeners registered on a client, shared by its handles and its task.
#[derive(Default)]
pub(crate) struct Listeners {
    next: AtomicU64,
    list: Mutex<Vec<(ListenerId, Listener)>>,
}

impl Listeners {
    pub fn add(&self, f: Listener) -> ListenerId {
        let id = ListenerId(self.next.fetch_add(1, Ordering::Relaxed));
        self.list.lock().unwrap().push((id, f));
        id
    }

    pub fn remove(&self, id: ListenerId) -> bool {
        let mut list = self.list.lock().unwrap();
        let before = list.len();
        list.retain(|(i, _)| *i != id);
        list.len() != before
    }

    fn snapshot(&self) -> Vec<Listener> {
        self.list
            .lock()
            .unwrap()
            .iter()
            .map(|(_, f)| f.clone())
            .collect()
    }
}

/// A job for the dispatcher: a user callback (state listener or watch
/// callback), run in submission order on one task so that the session task
/// never runs user code.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// Starts the dispatcher task; it ends when every sender is gone.
pub(crate) fn spawn_dispatcher() -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                tracing::warn!("a listener or watch callback panicked");
            }
        }
    });
    tx
}

/// The task's side: publishes transitions to the channel and the listeners.
pub(crate) struct StatePublisher {
    tx: watch::Sender<SessionState>,
    listeners: Arc<Listeners>,
    jobs: mpsc::UnboundedSender<Job>,
}

impl StatePublisher {
    pub fn new(
        initial: SessionState,
        listeners: Arc<Listeners>,
        jobs: mpsc::UnboundedSender<Job>,
    ) -> (StatePublisher, watch::Receiver<SessionState>) {
        let (tx, rx) = watch::channel(initial);
        (
            StatePublisher {
                tx,
                listeners,
                jobs,
            },
            rx,
        )
    }

    pub fn get(&self) -> SessionState {
        *self.tx.borrow()
    }

    /// Moves to `state` (no-op if already there) and tells the listeners.
    pub fn set(&self, state: SessionState) {
        if self.get() == state {
            return;
        }
        tracing::info!(?state, "session state");
        self.tx.send_replace(state);
        let listeners = self.listeners.snapshot();
        if !listeners.is_empty() {
            let _ = self.jobs.send(Box::new(move || {
                for l in listeners {
                    l(state);
                }
            }));
        }
    }
}

/// The states a receiver sees from now on (not the current one). A stream
/// polled slowly sees the latest state only (a quick Suspended → Reconnected
/// may show as Reconnected); listeners see every transition. Ends after a
/// terminal state.
pub(crate) fn state_stream(rx: watch::Receiver<SessionState>) -> impl Stream<Item = SessionState> {
    futures::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        rx.changed().await.ok()?;
        let s = *rx.borrow_and_update();
        Some((s, (rx, s.is_terminal())))
    })
}
