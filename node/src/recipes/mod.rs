//! The core's recipes (`corral_client::recipes`) as JS classes, made by the
//! factories of `Client` (`zk.lock(path)`, ...).

pub mod barrier;
pub mod data;
pub mod leader;
pub mod lock;
pub mod tree_cache;

use napi_derive::napi;

use crate::client::Client;
use barrier::{Barrier, DoubleBarrier};
use data::{Counter, CounterOptions, Queue};
use leader::{Election, LeaderLatch};
use lock::{Lock, LockOptions, ReadWriteLock, Semaphore};
use tree_cache::{TreeCache, TreeCacheOptions};

#[napi]
impl Client {
    /// A distributed mutex on `path` (nothing is sent until `acquire`).
    #[napi]
    pub fn lock(&self, path: String, options: Option<LockOptions>) -> Lock {
        Lock::new(&self.core(), path, options)
    }

    /// A read/write lock on `path`.
    #[napi]
    pub fn read_write_lock(&self, path: String) -> ReadWriteLock {
        ReadWriteLock::new(&self.core(), path)
    }

    /// A semaphore on `path` allowing `maxLeases` leases at a time.
    #[napi]
    pub fn semaphore(&self, path: String, max_leases: u32) -> Semaphore {
        Semaphore::new(&self.core(), &path, max_leases)
    }

    /// A leader latch participant with `id` at `path` (call `start()`).
    #[napi]
    pub fn leader_latch(&self, path: String, id: String) -> LeaderLatch {
        LeaderLatch::new(&self.core(), &path, &id)
    }

    /// A candidate with `id` in the election at `path` (call `run(fn)`).
    #[napi]
    pub fn election(&self, path: String, id: String) -> Election {
        Election::new(self.core(), path, id)
    }

    /// A barrier at `path`.
    #[napi]
    pub fn barrier(&self, path: String) -> Barrier {
        Barrier::new(self.core(), &path)
    }

    /// A double barrier at `path` for `n` participants.
    #[napi]
    pub fn double_barrier(&self, path: String, n: u32) -> DoubleBarrier {
        DoubleBarrier::new(self.core(), &path, n)
    }

    /// A shared counter at `path`.
    #[napi]
    pub fn counter(&self, path: String, options: Option<CounterOptions>) -> Counter {
        Counter::new(self.core(), &path, options)
    }

    /// A distributed queue at `path`.
    #[napi]
    pub fn queue(&self, path: String) -> Queue {
        Queue::new(self.core(), &path)
    }

    /// A cache of the subtree at `path` (add `'change'` listeners, then
    /// `start()`).
    #[napi]
    pub fn tree_cache(&self, path: String, options: Option<TreeCacheOptions>) -> TreeCache {
        TreeCache::new(self.core(), path, options)
    }
}
