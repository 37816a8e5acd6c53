//! A distributed read/write lock with Curator's `InterProcessReadWriteLock`
//! layout: readers are `_c_<uuid>-__READ__<seq>` and writers
//! `_c_<uuid>-__WRIT__<seq>` children of one path, in one queue.
//!
//! - A reader holds the lock when no writer is queued before it, so readers
//!   share it; it watches the nearest writer before it.
//! - A writer holds the lock when it is first in the queue (readers and
//!   writers alike), so it excludes everyone; it watches its predecessor.
//! - Order is the queue's: a reader arriving after a waiting writer waits
//!   for that writer (no writer starvation).
//! - The write side may also take the read side while it holds the write
//!   lock (and then release the write lock: a downgrade), as Curator allows.
//!
//! kazoo's `ReadLock` (`__rlock__`) and `WriteLock` (`__lock__`) nodes on
//! the same path are honoured in the same way.
//!
//! Both sides are [`Lock`]s: re-entrant per handle, with the same
//! timeouts, cancellation and loss reporting.

use super::lock::{Kind, Lock};
use crate::Client;

/// A read/write lock on a znode path. See the module docs.
pub struct ReadWriteLock {
    read: Lock,
    write: Lock,
}

impl ReadWriteLock {
    /// A read/write lock on `path`; nothing is sent until a side is
    /// acquired.
    pub fn new(client: &Client, path: &str) -> ReadWriteLock {
        ReadWriteLock::with_data(client, path, Vec::new())
    }

    /// With `data` in our contender nodes (see [`Lock::with_data`]).
    pub fn with_data(client: &Client, path: &str, data: impl Into<Vec<u8>>) -> ReadWriteLock {
        let data = data.into();
        let write = Lock::with_kind(client, path, Kind::Exclusive("__WRIT__"), None)
            .with_data(data.clone());
        let read =
            Lock::with_kind(client, path, Kind::Shared("__READ__"), Some(&write)).with_data(data);
        ReadWriteLock { read, write }
    }

    /// The shared side.
    pub fn read_lock(&self) -> &Lock {
        &self.read
    }

    /// The exclusive side.
    pub fn write_lock(&self) -> &Lock {
        &self.write
    }
}
