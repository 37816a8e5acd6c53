//! What `Client` and `AsyncClient` share: the configuration, the current
//! session of the client core, the state listeners, the callback thread,
//! and the session lifecycle with kazoo's semantics (`start`, `stop`, and a
//! new session after an expired one, as kazoo makes). The operations are in
//! `ops.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use corral_client::{Acl, Client, ClientBuilder, SessionState};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBool;

use crate::convert::kazoo_state;
use crate::dispatch::{call_reporting, Dispatcher};
use crate::errors::closed;
use crate::runtime::{runtime, Conv, OpFuture};

/// The constructor arguments (kazoo's names).
pub struct Options {
    pub hosts: String,
    pub session_timeout: Duration,
    pub read_only: bool,
    pub randomize_hosts: bool,
    /// `(session_id, password)` to resume on the first `start()`.
    pub client_id: Option<(i64, Vec<u8>)>,
    /// Used when an operation is given no ACL (None: OPEN_ACL_UNSAFE).
    pub default_acl: Option<Vec<Acl>>,
    /// `auth_data`, then every `add_auth`: sent on every (re)connection.
    pub auth: Vec<(String, Vec<u8>)>,
}

pub struct Core {
    opts: Options,
    auth: Mutex<Vec<(String, Vec<u8>)>>,
    /// The current session (None before the first `start()` and after
    /// `close()`). Locked only to read or swap it, never across a call.
    session: Mutex<Option<Client>>,
    /// Set by `stop()`: no new session after an expiry.
    stopped: AtomicBool,
    /// Bumped for every new session: events of older ones are ignored.
    generation: AtomicU64,
    /// Serializes `start()` and the re-creation of an expired session.
    connecting: tokio::sync::Mutex<()>,
    listeners: Arc<Listeners>,
    pub dispatcher: Dispatcher,
    /// AsyncClient: callbacks run in the asyncio loop (see `corral._aio`).
    pub in_loop: bool,
    pid: u32,
}

impl Core {
    pub fn new(opts: Options, in_loop: bool) -> PyResult<Arc<Core>> {
        if let Err(e) = corral_client::ConnectString::parse(&opts.hosts) {
            return Err(Python::attach(|py| {
                crate::errors::exception(py, "ConfigurationError", format!("hosts: {e}"))
            }));
        }
        let dispatcher = Dispatcher::start()?;
        Ok(Arc::new(Core {
            auth: Mutex::new(opts.auth.clone()),
            opts,
            session: Mutex::new(None),
            stopped: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            connecting: tokio::sync::Mutex::new(()),
            listeners: Arc::new(Listeners::default()),
            dispatcher,
            in_loop,
            pid: crate::process::pid(),
        }))
    }

    /// The current session for an operation.
    pub fn session(&self, py: Python<'_>) -> PyResult<Client> {
        if crate::process::pid() != self.pid {
            return Err(closed(
                py,
                "this client was created in another process (before fork): create a new one",
            ));
        }
        match &*self.session.lock().unwrap() {
            Some(c) => Ok(c.clone()),
            None => Err(closed(py, "the client is not started: call start() first")),
        }
    }

    fn current(&self) -> Option<Client> {
        self.session.lock().unwrap().clone()
    }

    pub fn default_acl(&self) -> Vec<Acl> {
        self.opts
            .default_acl
            .clone()
            .unwrap_or_else(Acl::open_unsafe)
    }

    /// Remembers credentials added with `add_auth` for later sessions.
    pub fn remember_auth(&self, scheme: &str, auth: &[u8]) {
        let mut list = self.auth.lock().unwrap();
        if !list.iter().any(|(s, a)| s == scheme && a == auth) {
            list.push((scheme.to_owned(), auth.to_vec()));
        }
    }

    pub(crate) fn builder(&self, connect_timeout: Option<Duration>, first: bool) -> ClientBuilder {
        let mut b = Client::builder(&self.opts.hosts)
            .session_timeout(self.opts.session_timeout)
            .read_only(self.opts.read_only)
            .shuffle_hosts(self.opts.randomize_hosts);
        if let Some(t) = connect_timeout {
            b = b.connect_timeout(t);
        }
        for (scheme, auth) in self.auth.lock().unwrap().iter() {
            b = b.auth(scheme, auth);
        }
        if let (true, Some((id, passwd))) = (first, &self.opts.client_id) {
            b = b.saved_session(*id, passwd.clone());
        }
        b
    }

    /// kazoo's `start(timeout)`: connects unless a session is live.
    pub fn start(self: &Arc<Self>, py: Python<'_>, timeout: f64) -> PyResult<OpFuture> {
        if crate::process::pid() != self.pid {
            return Err(closed(py, "this client was created in another process"));
        }
        if self.in_loop {
            let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
            *self.listeners.event_loop.lock().unwrap() = Some(event_loop.unbind());
        }
        let timeout = duration(timeout)?;
        let core = self.clone();
        Ok(Box::pin(async move {
            let _guard = core.connecting.lock().await;
            core.stopped.store(false, Ordering::SeqCst);
            if let Some(c) = core.current() {
                if !c.state().is_terminal() {
                    return Ok(none());
                }
            }
            let first = core.generation.load(Ordering::SeqCst) == 0;
            let client = core.builder(Some(timeout), first).connect().await?;
            core.install(client);
            Ok(none())
        }))
    }

    /// kazoo's `stop()`: closes the session (its ephemerals go at once).
    /// When it returns, the listeners have been told LOST.
    pub fn stop(self: &Arc<Self>) -> OpFuture {
        self.finish(false)
    }

    /// kazoo's `close()`: stops, and forgets the session.
    pub fn close(self: &Arc<Self>) -> OpFuture {
        self.finish(true)
    }

    fn finish(self: &Arc<Self>, forget: bool) -> OpFuture {
        self.stopped.store(true, Ordering::SeqCst);
        let current = if forget {
            self.session.lock().unwrap().take()
        } else {
            self.current()
        };
        let core = self.clone();
        Box::pin(async move {
            if let Some(c) = current {
                c.close().await;
                core.listeners.deliver("LOST", &core.dispatcher);
                core.dispatcher.flush().await;
            }
            Ok(none())
        })
    }

    /// Makes `client` the current session and reports its state.
    fn install(self: &Arc<Self>, client: Client) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let weak = Arc::downgrade(self);
        client.add_listener(move |state| {
            if let Some(core) = weak.upgrade() {
                core.on_state(generation, state);
            }
        });
        let state = client.state();
        *self.session.lock().unwrap() = Some(client);
        self.on_state(generation, state);
    }

    /// A state of session `generation` (on the core's dispatcher task).
    fn on_state(self: &Arc<Self>, generation: u64, state: SessionState) {
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        self.listeners.deliver(kazoo_state(state), &self.dispatcher);
        if state == SessionState::Lost && !self.stopped.load(Ordering::SeqCst) {
            runtime().spawn(renew(Arc::downgrade(self), generation));
        }
    }

    // ---- properties ----------------------------------------------------

    /// kazoo's `state`: "CONNECTED", "SUSPENDED" or "LOST".
    pub fn state(&self) -> &'static str {
        self.current().map_or("LOST", |c| kazoo_state(c.state()))
    }

    /// kazoo's `connected`.
    pub fn connected(&self) -> bool {
        self.current().is_some_and(|c| c.state().is_connected())
    }

    /// kazoo's `client_id`: `(session_id, password)` while connected.
    pub fn client_id(&self) -> Option<(i64, Vec<u8>)> {
        let c = self.current()?;
        c.state()
            .is_connected()
            .then(|| (c.session_id(), c.session_password()))
    }

    pub fn chroot(&self) -> Option<String> {
        corral_client::ConnectString::parse(&self.opts.hosts)
            .ok()
            .and_then(|cs| cs.chroot)
    }

    pub fn add_listener(&self, py: Python<'_>, f: Bound<'_, PyAny>) -> PyResult<()> {
        if !f.is_callable() {
            return Err(crate::errors::exception(
                py,
                "ConfigurationError",
                "listener must be callable".into(),
            ));
        }
        self.listeners.add(&f)
    }

    pub fn remove_listener(&self, f: Bound<'_, PyAny>) -> PyResult<()> {
        self.listeners.remove(&f)
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if crate::process::pid() != self.pid {
            // Inherited through fork: its tasks live in the parent's
            // runtime, which this process does not run. Leave it alone.
            if let Some(c) = self.session.get_mut().unwrap().take() {
                std::mem::forget(c);
            }
        }
    }
}

/// After an expiry, kazoo connects again with a new session (state LOST,
/// then CONNECTED). Tries until it succeeds, `stop()` is called or the
/// client is gone.
async fn renew(core: Weak<Core>, generation: u64) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(c) = core.upgrade() else { return };
        {
            let _guard = c.connecting.lock().await;
            if c.stopped.load(Ordering::SeqCst) || c.generation.load(Ordering::SeqCst) != generation
            {
                return;
            }
            if let Ok(client) = c.builder(None, false).connect().await {
                if c.stopped.load(Ordering::SeqCst) {
                    client.close().await;
                } else {
                    c.install(client);
                }
                return;
            }
        }
        drop(c);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// State listeners (Python callables) and what they were last told.
#[derive(Default)]
struct Listeners {
    list: Mutex<Vec<Py<PyAny>>>,
    /// The last state delivered ("LOST" before the first session).
    last: Mutex<Option<&'static str>>,
    /// AsyncClient: the loop the listeners run in.
    event_loop: Mutex<Option<Py<PyAny>>>,
}

static CALL_IN_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl Listeners {
    /// The listeners, to compare or call without holding the lock (Python
    /// code may run and release the GIL meanwhile).
    fn snapshot(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        let list = self.list.lock().unwrap();
        list.iter().map(|l| l.clone_ref(py)).collect()
    }

    /// As kazoo's set of listeners: adding an equal one again is a no-op.
    fn add(&self, f: &Bound<'_, PyAny>) -> PyResult<()> {
        for l in self.snapshot(f.py()) {
            if l.bind(f.py()).eq(f)? {
                return Ok(());
            }
        }
        self.list.lock().unwrap().push(f.clone().unbind());
        Ok(())
    }

    fn remove(&self, f: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut gone = Vec::new();
        for l in self.snapshot(f.py()) {
            if l.bind(f.py()).eq(f)? {
                gone.push(l.as_ptr());
            }
        }
        self.list
            .lock()
            .unwrap()
            .retain(|l| !gone.contains(&l.as_ptr()));
        Ok(())
    }

    /// Tells the listeners about `state` unless it is the one they know.
    fn deliver(self: &Arc<Self>, state: &'static str, dispatcher: &Dispatcher) {
        // Queued under the lock, so that jobs are queued in the order of
        // the transitions (and before a later `flush`).
        let mut last = self.last.lock().unwrap();
        if *last.get_or_insert("LOST") == state {
            return;
        }
        *last = Some(state);
        let me = self.clone();
        dispatcher.send(Box::new(move |py| me.call_all(py, state)));
    }

    /// On the dispatcher thread. As kazoo, a listener returning True is
    /// removed.
    fn call_all(&self, py: Python<'_>, state: &'static str) {
        let snapshot = self.snapshot(py);
        let event_loop = self
            .event_loop
            .lock()
            .unwrap()
            .as_ref()
            .map(|l| l.clone_ref(py));
        for l in snapshot {
            let arg = Ok(pyo3::types::PyString::new(py, state).into_any().unbind());
            if let Some(lp) = &event_loop {
                if let Err(e) = CALL_IN_LOOP
                    .import(py, "corral._aio", "call_in_loop")
                    .and_then(|f| f.call1((lp, &l, state)))
                {
                    e.write_unraisable(py, Some(l.bind(py)));
                }
                continue;
            }
            if let Some(r) = call_reporting(py, &l, arg) {
                if r.bind(py).is(PyBool::new(py, true)) {
                    let _ = self.remove(l.bind(py));
                }
            }
        }
    }
}

/// A result of `None`.
pub fn none() -> Conv {
    Box::new(|py| Ok(py.None()))
}

/// Seconds (kazoo's float timeouts) as a Duration.
pub fn duration(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| pyo3::exceptions::PyValueError::new_err("invalid timeout"))
}
