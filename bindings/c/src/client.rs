//! The client handle: connect, close, free, session information, auth,
//! error messages and the event queue calls.

use std::ffi::c_char;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::corral_client::Client;
use tokio::runtime::Runtime;

use crate::errors::{
    self, copy_out, corral_result, describe, invalid, FfiError, FfiResult, LastError,
};
use crate::events::{corral_event, keeper_state, EventQueue, Polled};
use crate::ffi::{boundary, bytes_arg, out_arg, str_arg};

/// A connected ZooKeeper session (opaque). Created by
/// `corral_client_connect`, freed by `corral_client_free`.
///
/// Every call on a client may be made from any thread, concurrently with
/// other calls on the same client, except `corral_client_free`, which must
/// be the last call on it.
pub struct corral_client {
    /// Runs the session's tasks (one worker thread); blocking calls wait on
    /// it. Dropped last, after the client.
    rt: Runtime,
    pub(crate) client: Client,
    pub(crate) events: Arc<EventQueue>,
    pub(crate) last: LastError,
}

impl corral_client {
    /// Runs a client future to completion on the calling (foreign) thread.
    pub(crate) fn run<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Runs `f` with the runtime as the current one (for drops that spawn).
    pub(crate) fn in_runtime<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self.rt.enter();
        f()
    }
}

impl Drop for corral_client {
    /// Closes the session (a no-op if already closed) before the runtime
    /// goes. Runs on the thread of the last `corral_client_free` or
    /// `corral_lock_release`, never on a runtime thread.
    fn drop(&mut self) {
        self.rt.block_on(self.client.close());
    }
}

/// Runs `f` on the client behind `client` inside the panic boundary; the
/// error message goes to the client's last error.
///
/// # Safety
/// `client` must be NULL or a live pointer from `corral_client_connect`.
pub(crate) unsafe fn with_client<F>(client: *const corral_client, f: F) -> corral_result
where
    F: FnOnce(&corral_client) -> FfiResult,
{
    let c = client.as_ref();
    boundary(c.map(|c| &c.last), || match c {
        Some(c) => f(c),
        None => invalid("client is NULL"),
    })
}

/// The shared handle behind a client pointer, for objects (locks) that
/// must keep the client alive.
///
/// # Safety
/// `client` must be a live, non-NULL pointer from `corral_client_connect`.
pub(crate) unsafe fn client_arc(client: *const corral_client) -> Arc<corral_client> {
    Arc::increment_strong_count(client);
    Arc::from_raw(client)
}

fn runtime() -> FfiResult<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("corral")
        .enable_all()
        .build()
        .map_err(|e| FfiError::System(format!("cannot start the runtime: {e}")))
}

/// Connects to `hosts` (`"host:port[,host:port...][/chroot]"`) with a
/// session timeout of `session_timeout_ms`, which also bounds the time
/// spent connecting (CORRAL_ETIMEOUT). On success `*client_out` is the new
/// client and its first event (`CORRAL_SESSION_EVENT`,
/// `CORRAL_CONNECTED_STATE`) is queued; on failure it is NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_client_connect(
    hosts: *const c_char,
    session_timeout_ms: i32,
    client_out: *mut *mut corral_client,
) -> corral_result {
    boundary(None, || {
        let out = out_arg(client_out, "client_out")?;
        *out = std::ptr::null_mut();
        let hosts = str_arg(hosts, "hosts")?;
        if session_timeout_ms <= 0 {
            return invalid(format!("session timeout {session_timeout_ms} ms"));
        }
        let timeout = Duration::from_millis(session_timeout_ms as u64);
        let rt = runtime()?;
        let events =
            Arc::new(EventQueue::new().map_err(|e| FfiError::System(format!("event queue: {e}")))?);
        let client = rt.block_on(
            Client::builder(hosts)
                .session_timeout(timeout)
                .connect_timeout(timeout)
                .connect(),
        )?;
        let queue = events.clone();
        client.add_listener(move |s| queue.push_state(s));
        events.push_state(client.state());
        let handle = Arc::new(corral_client {
            rt,
            client,
            events,
            last: LastError::default(),
        });
        *out = Arc::into_raw(handle).cast_mut();
        Ok(())
    })
}

/// Closes the session (its ephemeral nodes go at once) but keeps the
/// handle: later calls fail with CORRAL_ECLOSED; queued events can still be
/// polled, the last one being the `CORRAL_CLOSED_STATE` session event.
/// Idempotent. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_client_close(client: *mut corral_client) -> corral_result {
    with_client(client, |c| {
        c.run(c.client.close());
        c.events.wait_ended(Duration::from_secs(1));
        Ok(())
    })
}

/// Closes the session if still open and frees the client (a lock still
/// held keeps the connection until it is released). Accepts NULL. Must be
/// the last call on `client`, and not be concurrent with another call on
/// it.
#[no_mangle]
pub unsafe extern "C" fn corral_client_free(client: *mut corral_client) {
    crate::ffi::boundary_void(|| {
        if client.is_null() {
            return;
        }
        drop(Arc::from_raw(client.cast_const()));
    })
}

/// Writes the current session state (a `CORRAL_*_STATE`) to `*state`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_client_state(
    client: *const corral_client,
    state: *mut i32,
) -> corral_result {
    with_client(client, |c| {
        *out_arg(state, "state")? = keeper_state(c.client.state()) as i32;
        Ok(())
    })
}

/// Writes the session id to `*session_id`, the session timeout the server
/// granted (ms) to `*timeout_ms`, and copies the session password into
/// `passwd` (at most `passwd_cap` bytes; its length goes to `*passwd_len`).
/// Any out-param may be NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_client_session(
    client: *const corral_client,
    session_id: *mut i64,
    timeout_ms: *mut i32,
    passwd: *mut u8,
    passwd_cap: usize,
    passwd_len: *mut usize,
) -> corral_result {
    with_client(client, |c| {
        crate::ffi::write_opt(session_id, c.client.session_id());
        let t = c.client.session_timeout().as_millis();
        crate::ffi::write_opt(timeout_ms, i32::try_from(t).unwrap_or(i32::MAX));
        let pw = c.client.session_password();
        if !passwd.is_null() {
            let n = pw.len().min(passwd_cap);
            std::ptr::copy_nonoverlapping(pw.as_ptr(), passwd, n);
        }
        crate::ffi::write_opt(passwd_len, pw.len());
        Ok(())
    })
}

/// Adds credentials to the session, e.g. scheme `"digest"` with
/// `"user:password"`. They are sent again on every reconnection. Rejected
/// credentials fail with CORRAL_ZAUTHFAILED and end the session.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_add_auth(
    client: *const corral_client,
    scheme: *const c_char,
    cert: *const u8,
    cert_len: usize,
) -> corral_result {
    with_client(client, |c| {
        let scheme = str_arg(scheme, "scheme")?;
        let cert = bytes_arg(cert, cert_len, "cert")?;
        c.run(c.client.add_auth(scheme, cert))?;
        Ok(())
    })
}

/// Takes the oldest queued event into `*event` (free it with
/// `corral_event_free`). Waits up to `timeout_ms` ms for one (0: do not
/// wait; negative: wait for ever). Returns CORRAL_OK with an event,
/// CORRAL_ETIMEOUT if none came, or, once the session has ended and its
/// last event was taken, CORRAL_ECLOSED (closed), CORRAL_ZSESSIONEXPIRED or
/// CORRAL_ZAUTHFAILED. Thread-safe; each event goes to one caller.
#[no_mangle]
pub unsafe extern "C" fn corral_poll_event(
    client: *const corral_client,
    timeout_ms: i32,
    event: *mut corral_event,
) -> corral_result {
    with_client(client, |c| {
        let out = out_arg(event, "event")?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match c.events.poll(timeout) {
            Polled::Event(e) => {
                *out = e.into_c();
                Ok(())
            }
            Polled::TimedOut => Err(FfiError::Timeout("no event".into())),
            Polled::Ended(code) => Err(FfiError::Ended(code)),
        }
    })
}

/// Writes to `*fd` a file descriptor that is readable (poll(2), select(2),
/// epoll) exactly while events are queued. Do not read from it or close
/// it: take events with `corral_poll_event`. Valid until
/// `corral_client_free`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_event_fd(
    client: *const corral_client,
    fd: *mut i32,
) -> corral_result {
    with_client(client, |c| {
        *out_arg(fd, "fd")? = c.events.fd();
        Ok(())
    })
}

/// A static, NUL-terminated description of a result code (never NULL).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn corral_strerror(code: corral_result) -> *const c_char {
    describe(code).as_ptr().cast::<c_char>()
}

/// Copies the detailed message of the last failed call on `client` (or,
/// with `client` NULL, of the last failed call on the calling thread, e.g.
/// `corral_client_connect`) into `buf`: at most `cap - 1` bytes and a NUL.
/// The full length goes to `*len` (may be NULL). `buf` may be NULL with
/// `cap` 0 to ask for the length. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn corral_last_error(
    client: *const corral_client,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> corral_result {
    let c = client.as_ref();
    boundary(None, || {
        let msg = match c {
            Some(c) => c.last.get(),
            None => errors::thread_last(),
        };
        copy_out(msg.as_bytes(), buf, cap, len);
        Ok(())
    })
}
