//! `Client`: connecting, closing, session state (as `'state'` events and
//! getters) and the factories of the recipes. The operations are in
//! `ops.rs`.
//!
//! Process lifetime: an open client keeps Node's event loop alive (as an
//! open socket does) through one referenced threadsafe function, released
//! by `close()` or when the session ends (lost, auth failed). Listeners and
//! watch callbacks are weak, so nothing else keeps the process running.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{Client as CoreClient, SessionState as CoreState};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use crate::convert::{bytes, state_name};
use crate::emitter::{Emitter, Payload};
use crate::promise;

/// The state of a session: `'connected'` (first connection), `'suspended'`
/// (connection lost; the session may still be alive), `'reconnected'`,
/// `'lost'` (the session expired: final), `'read_only'` (connected to a
/// read-only server), `'auth_failed'` (final), `'closed'` (final).
#[napi(string_enum = "snake_case")]
pub enum SessionState {
    Connected,
    Suspended,
    Reconnected,
    Lost,
    ReadOnly,
    AuthFailed,
    Closed,
}

impl From<CoreState> for SessionState {
    fn from(s: CoreState) -> SessionState {
        match s {
            CoreState::Connected => SessionState::Connected,
            CoreState::Suspended => SessionState::Suspended,
            CoreState::Reconnected => SessionState::Reconnected,
            CoreState::Lost => SessionState::Lost,
            CoreState::ReadOnly => SessionState::ReadOnly,
            CoreState::AuthFailed => SessionState::AuthFailed,
            CoreState::Closed => SessionState::Closed,
        }
    }
}

/// Credentials sent on every connection, e.g.
/// `{ scheme: 'digest', auth: 'user:password' }`.
#[napi(object)]
pub struct AuthData {
    pub scheme: String,
    pub auth: Either<Buffer, String>,
}

/// Options of `Client.connect`. Times in milliseconds.
#[napi(object)]
#[derive(Default)]
pub struct ConnectOptions {
    /// Requested session timeout (the server may clamp it). Default 10000.
    pub session_timeout: Option<u32>,
    /// How long to try to get the first session. Default 15000.
    pub connect_timeout: Option<u32>,
    /// Fail a request with `TIMEOUT` if no reply came within this. Default:
    /// none.
    pub request_timeout: Option<u32>,
    /// Credentials (e.g. digest) sent on every connection.
    pub auth_data: Option<Vec<AuthData>>,
    /// Accept read-only servers (state `'read_only'`). Default false.
    pub read_only: Option<bool>,
    /// Try the hosts in random order (default true).
    pub shuffle_hosts: Option<bool>,
    /// Resume this session (`sessionId` and `sessionPassword` of another
    /// client) instead of creating one.
    pub session_id: Option<BigInt>,
    pub session_password: Option<Buffer>,
}

/// Keeps the event loop alive while the client is open.
type KeepAlive = Arc<Mutex<Option<ThreadsafeFunction<(), (), (), Status, false>>>>;

/// A ZooKeeper session. Create one with `Client.connect`; end it with
/// `close()`. Emits `'state'` events with a `SessionState`.
#[napi]
pub struct Client {
    pub(crate) inner: CoreClient,
    emitter: Emitter,
    keepalive: KeepAlive,
}

#[napi]
impl Client {
    /// Connects to `hosts` (`'h1:2181,h2:2181/chroot'`) and resolves once
    /// the first session is established.
    #[napi(ts_return_type = "Promise<Client>")]
    pub fn connect<'env>(
        env: &'env Env,
        hosts: String,
        options: Option<ConnectOptions>,
    ) -> Result<PromiseRaw<'env, Client>> {
        let opts = options.unwrap_or_default();
        let mut b = CoreClient::builder(&hosts);
        if let Some(t) = opts.session_timeout {
            b = b.session_timeout(Duration::from_millis(t.into()));
        }
        if let Some(t) = opts.connect_timeout {
            b = b.connect_timeout(Duration::from_millis(t.into()));
        }
        if let Some(t) = opts.request_timeout {
            b = b.request_timeout(Duration::from_millis(t.into()));
        }
        for a in opts.auth_data.unwrap_or_default() {
            b = b.auth(&a.scheme, &bytes(Some(a.auth)));
        }
        b = b.read_only(opts.read_only.unwrap_or(false));
        b = b.shuffle_hosts(opts.shuffle_hosts.unwrap_or(true));
        if let (Some(id), Some(pw)) = (opts.session_id, opts.session_password) {
            b = b.saved_session(id.get_i64().0, pw.to_vec());
        }
        let noop = env.create_function_from_closure::<(), (), _>("corralKeepAlive", |_| Ok(()))?;
        let keep = noop
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build()?;
        let keepalive: KeepAlive = Arc::new(Mutex::new(Some(keep)));
        let emitter = Emitter::default();
        let events = emitter.sender();
        let ka = keepalive.clone();
        promise::spawn(
            env,
            async move {
                let client = b.connect().await?;
                client.add_listener(move |s| {
                    events.emit("state", Payload::Str(state_name(s).to_owned()));
                    if s.is_terminal() {
                        ka.lock().unwrap().take();
                    }
                });
                Ok(client)
            },
            move |_, inner| {
                Ok(Client {
                    inner,
                    emitter,
                    keepalive,
                })
            },
        )
    }

    /// Closes the session (its ephemeral nodes go at once). Afterwards every
    /// call rejects with code `'CLOSED'`, and the client no longer keeps the
    /// process alive. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let client = self.inner.clone();
        let keepalive = self.keepalive.clone();
        promise::spawn(
            env,
            async move {
                client.close().await;
                Ok(())
            },
            move |_, ()| {
                keepalive.lock().unwrap().take();
                Ok(())
            },
        )
    }

    /// The current session state.
    #[napi(getter)]
    pub fn state(&self) -> SessionState {
        self.inner.state().into()
    }

    /// The session id (stable across reconnections).
    #[napi(getter)]
    pub fn session_id(&self) -> BigInt {
        BigInt::from(self.inner.session_id())
    }

    /// The session password, to resume the session elsewhere.
    #[napi(getter)]
    pub fn session_password(&self) -> Buffer {
        self.inner.session_password().into()
    }

    /// The session timeout the server granted, in ms.
    #[napi(getter)]
    pub fn session_timeout(&self) -> u32 {
        self.inner.session_timeout().as_millis() as u32
    }

    /// `host:port` of the current (or last) server.
    #[napi(getter)]
    pub fn connected_host(&self) -> Option<String> {
        self.inner.connected_host()
    }
}

crate::emitter_methods!(
    Client,
    "event: 'state', listener: (state: SessionState) => void",
    "event?: 'state'",
    "event: 'state'"
);

impl Client {
    pub(crate) fn core(&self) -> CoreClient {
        self.inner.clone()
    }
}
