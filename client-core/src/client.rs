//! `Client`, its builder, and the session-level methods (state, listeners,
//! close). The ZooKeeper operations are in `ops.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use corral_protocol::{Decode, Reader, Request};
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use crate::connect_string::{validate_path, Chroot, ConnectString};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::session::{Command, Config, RawReply, SessionTask, Shared};
use crate::state::{
    spawn_dispatcher, state_stream, ListenerId, Listeners, SessionState, StatePublisher,
};
use crate::watches::WatchReg;

/// A handle to one ZooKeeper session. Cheap to clone: every clone talks to
/// the same background task, which owns the connection. The session is
/// closed by [`Client::close`], or when the last handle (and the last
/// [`crate::PersistentWatch`] being removed) is dropped.
///
/// Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub cmd_tx: mpsc::UnboundedSender<Command>,
    pub state_rx: watch::Receiver<SessionState>,
    pub shared: Arc<Shared>,
    pub listeners: Arc<Listeners>,
    pub chroot: Chroot,
    pub retry: RetryPolicy,
    pub request_timeout: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &format_args!("0x{:x}", self.session_id()))
            .field("state", &self.state())
            .field("host", &self.connected_host())
            .finish()
    }
}

/// Configures and connects a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    hosts: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    read_only: bool,
    shuffle: bool,
    auths: Vec<(String, Vec<u8>)>,
    saved_session: Option<(i64, Vec<u8>)>,
    retry: RetryPolicy,
    request_timeout: Option<Duration>,
}

impl ClientBuilder {
    /// Requested session timeout `T` (the server clamps it to its
    /// `minSessionTimeout..maxSessionTimeout`). Default 10 s. The client
    /// pings after `T/3` of idleness, drops a connection after `2T/3` without
    /// a byte from the server, and reports the session Lost after being
    /// Suspended for `T`.
    pub fn session_timeout(mut self, t: Duration) -> Self {
        self.session_timeout = t;
        self
    }

    /// How long [`ClientBuilder::connect`] tries (all hosts, with backoff)
    /// to get the first session before failing with [`Error::Timeout`]; it
    /// also bounds each reconnection attempt. Default 15 s.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Credentials sent on every connection before anything else, e.g.
    /// `auth("digest", b"user:password")`. May be called several times.
    pub fn auth(mut self, scheme: &str, auth: &[u8]) -> Self {
        self.auths.push((scheme.to_owned(), auth.to_vec()));
        self
    }

    /// Accept read-only servers (a partitioned ensemble member started with
    /// `readonlymode.enabled`); the state is then [`SessionState::ReadOnly`].
    /// Meanwhile the other hosts are asked `isro` in the background, and
    /// the client moves to the first read-write one. A session a read-only
    /// server granted is that server's alone: on a read-write server the
    /// client gets a new session ([`SessionState::Connected`]). A session
    /// granted read-write cannot move to a read-only server (ZooKeeper
    /// refuses it too): while only read-only servers answer it stays
    /// `Suspended`, then is `Lost` after the session timeout.
    pub fn read_only(mut self, allowed: bool) -> Self {
        self.read_only = allowed;
        self
    }

    /// Resume an existing session (from [`Client::session_id`] and
    /// [`Client::session_password`]) instead of creating one. If it has
    /// expired, `connect` fails with [`Error::SessionExpired`].
    pub fn saved_session(mut self, session_id: i64, password: impl Into<Vec<u8>>) -> Self {
        self.saved_session = Some((session_id, password.into()));
        self
    }

    /// The policy for operations that are safe to retry (see
    /// [module@crate::retry]). Default: [`RetryPolicy::None`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Fail a request with [`Error::Timeout`] if no reply came within `t`
    /// (it may still be applied). Default: none; a request then waits at
    /// most until its connection is declared lost (2T/3), or, when sent
    /// while Suspended, until reconnection or session loss.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = Some(t);
        self
    }

    /// Shuffle the hosts before trying them (default true, as ZooKeeper
    /// clients do). False tries them in the order given.
    pub fn shuffle_hosts(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Starts the session task and waits for the first session (and the
    /// replies to the builder's credentials).
    pub async fn connect(self) -> Result<Client> {
        let cs = ConnectString::parse(&self.hosts)?;
        if self.session_timeout.is_zero() || self.session_timeout.as_millis() > i32::MAX as u128 {
            return Err(Error::BadArguments("invalid session timeout".into()));
        }
        if let Some((_, p)) = &self.saved_session {
            if p.is_empty() {
                return Err(Error::BadArguments("empty session password".into()));
            }
        }
        let chroot = Chroot::new(cs.chroot.clone());
        let cfg = Config {
            hosts: cs.hosts,
            chroot: chroot.clone(),
            session_timeout: self.session_timeout,
            connect_timeout: self.connect_timeout,
            read_only: self.read_only,
            shuffle: self.shuffle,
            auths: self.auths,
            saved_session: self.saved_session,
        };
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let jobs = spawn_dispatcher();
        let listeners = Arc::new(Listeners::default());
        let (publisher, state_rx) =
            StatePublisher::new(SessionState::Connected, listeners.clone(), jobs.clone());
        let shared = Arc::new(Shared::default());
        let task = SessionTask::new(cfg, cmd_rx, publisher, shared.clone(), jobs);
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(task.run(ready_tx));
        ready_rx.await.unwrap_or(Err(Error::Closed))?;
        Ok(Client {
            inner: Arc::new(Inner {
                cmd_tx,
                state_rx,
                shared,
                listeners,
                chroot,
                retry: self.retry,
                request_timeout: self.request_timeout,
            }),
        })
    }
}

impl Client {
    /// Connects with the defaults (see [`ClientBuilder`]) to a connect
    /// string `host:port[,host:port...][/chroot]`.
    pub async fn connect(hosts: &str) -> Result<Client> {
        Client::builder(hosts).connect().await
    }

    pub fn builder(hosts: &str) -> ClientBuilder {
        ClientBuilder {
            hosts: hosts.to_owned(),
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            read_only: false,
            shuffle: true,
            auths: Vec::new(),
            saved_session: None,
            retry: RetryPolicy::None,
            request_timeout: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        *self.inner.state_rx.borrow()
    }

    /// The states from now on (see [`SessionState`]); ends after a terminal
    /// state. A slow consumer sees the latest state only: use
    /// [`Client::add_listener`] to see every transition.
    pub fn state_changes(&self) -> BoxStream<'static, SessionState> {
        let mut rx = self.inner.state_rx.clone();
        rx.mark_unchanged();
        state_stream(rx).boxed()
    }

    /// Calls `f` on every state transition, in order, on the client's
    /// dispatcher task (shared with watch callbacks: keep it short, never
    /// block).
    pub fn add_listener(&self, f: impl Fn(SessionState) + Send + Sync + 'static) -> ListenerId {
        self.inner.listeners.add(Arc::new(f))
    }

    /// Returns whether the listener was registered.
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.inner.listeners.remove(id)
    }

    /// The session id (stable across reconnections).
    pub fn session_id(&self) -> i64 {
        self.inner.shared.session_id.load(Ordering::SeqCst)
    }

    /// The session password, to resume the session elsewhere with
    /// [`ClientBuilder::saved_session`].
    pub fn session_password(&self) -> Vec<u8> {
        self.inner.shared.passwd.lock().unwrap().clone()
    }

    /// The session timeout the server granted.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.shared.timeout_ms.load(Ordering::SeqCst))
    }

    /// The largest zxid seen in a reply.
    pub fn last_zxid(&self) -> i64 {
        self.inner.shared.last_zxid.load(Ordering::SeqCst)
    }

    /// The `host:port` of the server of the current (or last) connection.
    pub fn connected_host(&self) -> Option<String> {
        self.inner.shared.host.lock().unwrap().clone()
    }

    /// The chroot of the connect string, if any.
    pub fn chroot(&self) -> Option<&str> {
        self.inner.chroot.as_deref()
    }

    /// Closes the session: sends closeSession (its ephemerals go at once),
    /// waits briefly for the reply, and ends the task. Afterwards every call
    /// fails with [`Error::Closed`] (or SessionExpired / AuthFailed if the
    /// session had already ended that way). Idempotent.
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.inner.cmd_tx.send(Command::Close { done }).is_ok() {
            let _ = rx.await;
        }
    }

    // ---- plumbing for ops.rs --------------------------------------------

    /// The error for a request the task can no longer answer.
    pub(crate) fn terminal_error(&self) -> Error {
        match self.state() {
            SessionState::Lost => Error::SessionExpired,
            SessionState::AuthFailed => Error::AuthFailed,
            SessionState::Closed => Error::Closed,
            _ => Error::ConnectionLoss,
        }
    }

    /// Validates a client path and adds the chroot.
    pub(crate) fn server_path(&self, path: &str, sequential: bool) -> Result<String> {
        validate_path(path, sequential)?;
        Ok(self.inner.chroot.prepend(path))
    }

    pub(crate) fn client_path(&self, server_path: &str) -> String {
        self.inner.chroot.strip(server_path)
    }

    /// Sends a request to the task and waits for its raw reply.
    pub(crate) async fn call_raw(&self, req: Request, watch: Option<WatchReg>) -> Result<RawReply> {
        let span = tracing::debug_span!("request", op = req.op_code().name(), path = req.path());
        async move {
            let (reply, rx) = oneshot::channel();
            if self
                .inner
                .cmd_tx
                .send(Command::Request { req, watch, reply })
                .is_err()
            {
                return Err(self.terminal_error());
            }
            let wait = async {
                match rx.await {
                    Ok(r) => r,
                    Err(_) => Err(self.terminal_error()),
                }
            };
            let r = match self.inner.request_timeout {
                Some(t) => tokio::time::timeout(t, wait)
                    .await
                    .unwrap_or(Err(Error::Timeout)),
                None => wait.await,
            };
            if let Err(e) = &r {
                tracing::debug!(error = %e, "request failed");
            }
            r
        }
        .instrument(span)
        .await
    }

    /// Like `call_raw`, with a non-zero error code turned into an error.
    pub(crate) async fn call(&self, req: Request, watch: Option<WatchReg>) -> Result<Vec<u8>> {
        let r = self.call_raw(req, watch).await?;
        if r.err != 0 {
            return Err(Error::from_code(r.err));
        }
        Ok(r.body)
    }

    /// Sends an auth packet and waits for its reply.
    pub(crate) async fn call_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Auth {
            scheme: scheme.to_owned(),
            auth: auth.to_vec(),
            reply,
        };
        if self.inner.cmd_tx.send(cmd).is_err() {
            return Err(self.terminal_error());
        }
        rx.await.unwrap_or_else(|_| Err(self.terminal_error()))
    }

    /// Runs `f` under the client's retry policy.
    pub(crate) async fn retrying<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.inner.retry.run(f).await
    }

    pub(crate) fn state_rx(&self) -> watch::Receiver<SessionState> {
        self.inner.state_rx.clone()
    }
}

/// Decodes a reply body (trailing bytes ignored, as ZooKeeper does).
pub(crate) fn decode<T: Decode>(body: &[u8]) -> Result<T> {
    T::decode(&mut Reader::new(body)).map_err(|e| {
        tracing::warn!(error = %e, "could not decode a reply");
        Error::MarshallingError
    })
}
