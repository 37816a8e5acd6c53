//! The event queue of a client: watch notifications and session state
//! changes are pushed by the client core (on its dispatcher task) and taken
//! by the application with `corral_poll_event`. No foreign code ever runs on
//! a library thread. A socket pair makes the queue visible to poll(2):
//! its read end is readable exactly while the queue is not empty.

use std::collections::VecDeque;
use std::ffi::c_char;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::ptr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::corral_client::{KeeperState, SessionState, WatchedEvent};

use crate::errors::{corral_code, corral_result};
use crate::ffi::boundary_void;
use crate::types::c_string;

/// Event types (ZooKeeper's `Watcher.Event.EventType`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum corral_event_type {
    /// A session event: `state` tells the new session state.
    CORRAL_SESSION_EVENT = -1,
    CORRAL_CREATED_EVENT = 1,
    CORRAL_DELETED_EVENT = 2,
    CORRAL_CHANGED_EVENT = 3,
    CORRAL_CHILD_EVENT = 4,
    CORRAL_DATA_WATCH_REMOVED_EVENT = 5,
    CORRAL_CHILD_WATCH_REMOVED_EVENT = 6,
    CORRAL_PERSISTENT_WATCH_REMOVED_EVENT = 7,
}

/// Session states (ZooKeeper's `Watcher.Event.KeeperState`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum corral_state {
    /// Connection lost; the session may still be alive (the client
    /// reconnects by itself).
    CORRAL_DISCONNECTED_STATE = 0,
    CORRAL_CONNECTED_STATE = 3,
    CORRAL_AUTH_FAILED_STATE = 4,
    CORRAL_CONNECTED_READONLY_STATE = 5,
    CORRAL_CLOSED_STATE = 7,
    CORRAL_EXPIRED_SESSION_STATE = -112,
}

/// One event taken from the queue. `path` is a NUL-terminated client path
/// (chroot removed), empty for session events. Free with
/// `corral_event_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct corral_event {
    pub r#type: i32,
    pub state: i32,
    pub path: *mut c_char,
}

/// Frees the path of `event` (not the struct itself) and resets it.
/// Accepts NULL and an already freed event.
/// Thread-safe for distinct events; not concurrently on the same one.
#[no_mangle]
pub unsafe extern "C" fn corral_event_free(event: *mut corral_event) {
    boundary_void(|| {
        let Some(e) = event.as_mut() else { return };
        if !e.path.is_null() {
            drop(std::ffi::CString::from_raw(e.path));
        }
        e.path = ptr::null_mut();
    })
}

/// An event in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_type: i32,
    pub state: i32,
    pub path: String,
}

impl Event {
    pub fn into_c(self) -> corral_event {
        // Client paths never hold a NUL; if one did, the path reads empty.
        let path = c_string(self.path).unwrap_or_default();
        corral_event {
            r#type: self.event_type,
            state: self.state,
            path: path.into_raw(),
        }
    }
}

/// ZooKeeper's keeper state for a session state of the core.
pub fn keeper_state(s: SessionState) -> KeeperState {
    match s {
        SessionState::Connected | SessionState::Reconnected => KeeperState::SyncConnected,
        SessionState::Suspended => KeeperState::Disconnected,
        SessionState::ReadOnly => KeeperState::ConnectedReadOnly,
        SessionState::Lost => KeeperState::Expired,
        SessionState::AuthFailed => KeeperState::AuthFailed,
        SessionState::Closed => KeeperState::Closed,
    }
}

/// The code calls get once the session has ended this way.
fn terminal_code(s: SessionState) -> corral_result {
    match s {
        SessionState::Lost => corral_code::CORRAL_ZSESSIONEXPIRED as i32,
        SessionState::AuthFailed => corral_code::CORRAL_ZAUTHFAILED as i32,
        _ => corral_code::CORRAL_ECLOSED as i32,
    }
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// Set after the terminal session event was queued: its code.
    ended: Option<corral_result>,
}

/// The queue shared by a client handle and the callbacks it gives the core.
pub struct EventQueue {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Readable while the queue is not empty (one byte in flight).
    fd_read: UnixStream,
    fd_write: UnixStream,
}

/// What `poll` found.
pub enum Polled {
    Event(Event),
    TimedOut,
    /// The queue is empty and the session has ended: the code to return.
    Ended(corral_result),
}

impl EventQueue {
    pub fn new() -> std::io::Result<EventQueue> {
        let (fd_read, fd_write) = UnixStream::pair()?;
        fd_read.set_nonblocking(true)?;
        fd_write.set_nonblocking(true)?;
        Ok(EventQueue {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            fd_read,
            fd_write,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, event: Event) {
        let mut q = self.lock();
        if q.events.is_empty() {
            // Empty -> not empty: make the fd readable.
            let _ = (&self.fd_write).write(&[1]);
        }
        q.events.push_back(event);
        self.ready.notify_all();
    }

    /// A watch notification from the core. The core also tells every
    /// pending watch when the session ends; those session events are
    /// dropped here, as the session listener already queues one.
    pub fn push_watch(&self, e: WatchedEvent) {
        if e.is_session_event() {
            return;
        }
        self.push(Event {
            event_type: e.event_type as i32,
            state: e.state as i32,
            path: e.path,
        });
    }

    /// A session state change.
    pub fn push_state(&self, s: SessionState) {
        self.push(Event {
            event_type: corral_event_type::CORRAL_SESSION_EVENT as i32,
            state: keeper_state(s) as i32,
            path: String::new(),
        });
        if s.is_terminal() {
            let mut q = self.lock();
            q.ended.get_or_insert(terminal_code(s));
            self.ready.notify_all();
        }
    }

    /// Takes the oldest event, waiting up to `timeout` (`None`: forever).
    pub fn poll(&self, timeout: Option<Duration>) -> Polled {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut q = self.lock();
        loop {
            if let Some(ev) = q.events.pop_front() {
                if q.events.is_empty() {
                    // Not empty -> empty: consume the byte.
                    let _ = (&self.fd_read).read(&mut [0u8; 1]);
                }
                return Polled::Event(ev);
            }
            if let Some(code) = q.ended {
                return Polled::Ended(code);
            }
            q = match deadline {
                None => self.ready.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Polled::TimedOut;
                    }
                    self.ready
                        .wait_timeout(q, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Waits (at most `timeout`) until the terminal session event is queued.
    pub fn wait_ended(&self, timeout: Duration) {
        let q = self.lock();
        let _ = self
            .ready
            .wait_timeout_while(q, timeout, |q| q.ended.is_none());
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.fd_read.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(q: &EventQueue) -> bool {
        // Take the byte if there is one, and put it back.
        let mut buf = [0u8; 1];
        match (&q.fd_read).read(&mut buf) {
            Ok(1) => {
                (&q.fd_write).write_all(&buf).unwrap();
                true
            }
            _ => false,
        }
    }

    #[test]
    fn fd_is_readable_exactly_while_events_are_queued() {
        let q = EventQueue::new().unwrap();
        assert!(!readable(&q));
        assert!(matches!(q.poll(Some(Duration::ZERO)), Polled::TimedOut));
        q.push_state(SessionState::Connected);
        q.push_state(SessionState::Suspended);
        assert!(readable(&q));
        let Polled::Event(e) = q.poll(None) else {
            panic!()
        };
        assert_eq!(e.state, 3);
        assert!(readable(&q));
        let Polled::Event(e) = q.poll(None) else {
            panic!()
        };
        assert_eq!(e.state, 0);
        assert!(!readable(&q));
        q.push_state(SessionState::Closed);
        assert!(matches!(q.poll(None), Polled::Event(_)));
        assert!(matches!(
            q.poll(Some(Duration::ZERO)),
            Polled::Ended(c) if c == corral_code::CORRAL_ECLOSED as i32
        ));
    }
}
